"""The plan written as a scenario a planner edits: `base` = the input, the lines alone, each
commented with its demand and targets."""

from __future__ import annotations

import json
from pathlib import Path

from ..clock import format_clock
from .demand import HOUR_S
from .timetable import NICE_HEADWAYS_MIN, STAGE_GAP_S, LinePlan, Targets, waves


def plan_text(scenario, plans: list[LinePlan], targets: Targets, command: str,
              window_s: float = HOUR_S, rounds=()) -> str:
    """The plan as an editable scenario: base = the input, the lines alone, with comments
    (`rounds`: lines met, lines and buses of each run of a plan while it settled)."""
    from ..ownership import STAMP

    base = _base_reference(scenario)
    by_name = {ln.name: ln for ln in scenario.shuttles.lines}
    kept = [p for p in plans if p.periods or _needed_elsewhere(scenario, p.name)]
    dropped = [p for p in plans if p not in kept]
    planned = sum(p.buses for p in kept)
    shipped = sum(p.shipped_buses for p in plans)
    lines = [
        f"# A shuttle plan written by summit-sim ({STAMP.decode()}): {command}",
        f"# From the demand of one run of {scenario.name!r} (seed {scenario.seed}) and these "
        "targets:",
        f"#   mean wait at a stop <= {targets.max_wait_min:g} min, per line over the day and "
        "every rider who joined a stop (boarded, or gave up: counted at the wait given up "
        "after):",
        f"#     headway <= {2 * targets.max_wait_min:g} min, and extra runs whenever a full "
        f"load waits (at most one every {STAGE_GAP_S:g} s: buses staged for the waves)",
        f"#   load <= {targets.max_load:.0%}: riders per hour on the busiest leg "
        f"({_window_words(window_s)}) / (seats x runs per hour)",
        "#   buses = ceil(round trip / headway); round trip: the run's own, 90th percentile, "
        "with layovers",
        f"# Buses: {planned} at the busiest periods of {len(kept)} lines, extra buses "
        f"included (the input: "
        f"{shipped} on {len(plans)} lines). Edit freely, then: python run.py run THIS_FILE",
        *_rounds_lines(rounds),
        "",
        f"base = {json.dumps(base, ensure_ascii=False)}",
        f"name = {json.dumps(scenario.name + ' (planned lines)', ensure_ascii=False)}",
        "",
    ]
    for p in dropped:
        lines.append(f"# left out: {p.name!r}, nobody rode it in the run")
    if dropped:
        lines.append("")
    for p in kept:
        lines += _line_block(by_name[p.name], p, targets)
    return "\n".join(lines) + "\n"


def _rounds_lines(rounds) -> list[str]:
    """The header's account of how the plan settled."""
    if not rounds:
        return ["# Not yet run (--rounds 0): check it with python run.py plan ... --check"]
    out = ["# Settled: each round ran the plan, and a line short of its targets was planned "
           "again from that run's demand, merged with the plan before:"]
    out += [f"#   round {i}: {met} of {n} lines met their targets, {buses} buses"
            for i, (met, n, buses) in enumerate(rounds, 1)]
    return out


def _window_words(window_s: float) -> str:
    """How the riders per hour were counted, in words."""
    if window_s >= HOUR_S:
        return "the clock hour's count"
    return f"at the rate of the hour's busiest {window_s / 60:g} minutes"


def _needed_elsewhere(scenario, name: str) -> bool:
    """Whether another part of the scenario names the line (an evacuation takes its buses)."""
    return any(name in e.buses for e in scenario.emergency.evacuations)


def _base_reference(scenario) -> str:
    """How the plan names its base: a shipped scenario by name, else the file's full path."""
    from ..scenario import SCENARIO_DIR

    path = Path(scenario.source_path).resolve()
    if path.parent == SCENARIO_DIR.resolve():
        return path.stem
    return str(path)


def _hm(t: float) -> str:
    text = format_clock(t)
    return text[:5] if text.endswith(":00") else text


def _line_block(ln, plan: LinePlan, targets: Targets) -> list[str]:
    """One [[shuttles.lines]] table: the input line's fields with the planned periods."""
    out = [f"# {ln.name}: {plan.riders:,} riders joined its stops in the run; the input ran "
           f"{plan.shipped_buses} buses"]
    unmet = [p for p in plan.periods if not p.load_met]
    if unmet:
        out.append(f"# NOTE: above {targets.max_load:.0%} load even every "
                   f"{NICE_HEADWAYS_MIN[0]:g} min in " + ", ".join(
                       f"{_hm(p.start)}-{_hm(p.end)}" for p in unmet)
                   + ": a second line or bigger buses are needed there")
    if plan.wait_mean_min is not None:
        out.append(f"# expected stop wait mean {plan.wait_mean_min:.1f} min, p90 "
                   f"{plan.wait_p90_min:.1f} min; {plan.buses} buses")
    start, end = (plan.start, plan.end) if plan.periods else (ln.start, ln.end)
    out += ["[[shuttles.lines]]", f"name = {json.dumps(ln.name, ensure_ascii=False)}",
            "stops = [" + ", ".join(json.dumps(s, ensure_ascii=False) for s in ln.stops) + "]",
            f'start = "{_hm(start)}"', f'end = "{_hm(end)}"']
    if plan.periods:
        out.append("periods = [")
        for p in plan.periods:
            out.append(f'  {{ start = "{_hm(p.start)}", end = "{_hm(p.end)}", '
                       f"headway_min = {p.headway_min:g}, vehicles = {p.vehicles} }},  "
                       f"# {p.riders_per_hour:,.0f} riders/h, load {p.load:.0%}, round trip "
                       f"{p.round_trip_min:.0f} min")
        out.append("]")
    else:  # kept for another part of the scenario: as it was
        out += [f"headway_min = {ln.headway_min:g}", f"vehicles = {ln.vehicles}"]
    if plan.extra_runs or plan.extra_runs_back:
        out += _extra_runs_block(plan)
    return [*out, *line_vehicle_fields(ln), ""]


def line_vehicle_fields(ln) -> list[str]:
    """A line's buses and where they rest, as TOML lines: seats, wheelchair places, layover,
    depot and loop (written as the scenario had them; the plan changes none of them)."""
    out = [f"seats = {ln.seats}", f"wheelchair_places = {ln.wheelchair_places}",
           f"layover_min = {ln.layover_min:g}"]
    if ln.depot:
        out.append(f"depot = {json.dumps(ln.depot, ensure_ascii=False)}")
    if ln.loop:
        out.append("loop = true")
    return out


def _extra_runs_block(plan: LinePlan) -> list[str]:
    """The extra runs, one wave (runs less than ten minutes apart) a row, and their buses."""
    out = []
    for field_name, runs, words in (
            ("extra_runs", plan.extra_runs, "from the first stop"),
            ("extra_runs_back", plan.extra_runs_back,
             "from the last stop, the bus out in time and waiting there")):
        if not runs:
            continue
        out.append(f"{field_name} = [  # {words}")
        for w in waves(runs):
            out.append("  " + ", ".join(f'"{_hm(t)}"' for t in w)
                       + f",  # {len(w)} run{'s' if len(w) > 1 else ''} from {_hm(w[0])}")
        out.append("]")
    return [*out, f"extra_vehicles = {plan.extra_vehicles}  # buses for the extra runs"]

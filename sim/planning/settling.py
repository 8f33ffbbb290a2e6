"""Settling a plan: run it, and while a line misses its targets plan it again from that run's
demand and merge (riders choose lines by the timetable, so a plan moves its own demand)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import InputError
from .check import LineCheck, check_lines
from .demand import HOUR_S
from .scenario_file import plan_text
from .timetable import (
    LinePlan,
    PlannedPeriod,
    Targets,
    buses_for,
    extra_buses,
    join_alike,
    load_of,
    plan_lines,
    waves,
)

# judgement: a line that missed its targets is sized next for targets at most 15% tighter a
# round and never below 60% of the stated ones: more service draws riders from parallel lines,
# and a line tightened without bound can grow without end
MOST_TIGHTENING = 0.85
LEAST_SHARE = 0.6


def tightened(targets: Targets, now: Targets, check: LineCheck) -> Targets:
    """The targets to size a line for next when its run missed them: each measure it missed
    tighter by the share it missed by (a wave fills the buses in front, so the hour's load
    comes out above the load a plan sizes each run for)."""
    wait, load = now.max_wait_min, now.max_load
    if check.wait_mean_min is not None and check.wait_mean_min > targets.max_wait_min:
        wait *= max(MOST_TIGHTENING, targets.max_wait_min / check.wait_mean_min)
    if check.worst_load > targets.max_load + 1e-9:
        load *= max(MOST_TIGHTENING, targets.max_load / check.worst_load)
    return Targets(max(wait, LEAST_SHARE * targets.max_wait_min),
                   max(load, LEAST_SHARE * targets.max_load))


def merge_plans(old: list[LinePlan], new: list[LinePlan], targets: Targets) -> list[LinePlan]:
    """The plans of two runs as one that serves both demands, line by line (`merge_line`); a
    line one of them left out keeps the other's plan. Riders choose among lines by the
    timetable, so a plan sized for one run's demand draws a different demand: growing the plan
    to serve every demand seen converges where re-planning each time from the last run
    alone can swing riders between parallel lines for ever."""
    newer = {p.name: p for p in new}
    out = [merge_line(p, newer[p.name], targets) if p.name in newer else p for p in old]
    known = {p.name for p in old}
    return out + [p for p in new if p.name not in known]


def merge_line(a: LinePlan, b: LinePlan, targets: Targets) -> LinePlan:
    """One line's two plans as one: hour by hour the shorter headway (its buses for the longer
    round trip), every hour either runs; the extra runs of both, a wave of one left out
    where the other has a bigger wave at the same time. A line nobody rode in the later run
    is left out."""
    if not b.riders or not a.runs:
        return replace(b, shipped_buses=a.shipped_buses)
    if not b.runs:
        return a
    hours: dict[float, PlannedPeriod] = {}
    for p in [*_by_hour(a.periods), *_by_hour(b.periods)]:
        h = p.start // HOUR_S * HOUR_S
        q = hours.get(h)
        if q is not None:
            headway, rt = min(p.headway_min, q.headway_min), max(p.round_trip_min,
                                                                 q.round_trip_min)
            riders = max(p.riders_per_hour, q.riders_per_hour)
            load = load_of(riders, a.seats, headway)
            p = PlannedPeriod(min(p.start, q.start), max(p.end, q.end), headway,
                              buses_for(rt, headway), riders, rt, load,
                              load <= targets.max_load + 1e-9)
        hours[h] = p
    periods = join_alike([hours[h] for h in sorted(hours)])
    extras = _merge_waves(waves(a.extra_runs), waves(b.extra_runs))
    back = _merge_waves(waves(a.extra_runs_back), waves(b.extra_runs_back))
    rt, lead = max(a.round_trip_s, b.round_trip_s), max(a.back_lead_s, b.back_lead_s)
    return LinePlan(a.name, periods, a.seats, b.riders, a.shipped_buses, extras,
                    extra_buses(extras, rt, back, lead), min(a.start, b.start),
                    max(a.end, b.end), round_trip_s=rt, extra_runs_back=back, back_lead_s=lead)


def _by_hour(periods: list[PlannedPeriod]) -> list[PlannedPeriod]:
    """Periods cut at the clock hours (a merge compares plans hour by hour)."""
    out = []
    for p in periods:
        t = p.start
        while t < p.end:
            e = min(p.end, (t // HOUR_S + 1) * HOUR_S)
            out.append(replace(p, start=t, end=e))
            t = e
    return out


def _merge_waves(a: list[list[float]], b: list[list[float]]) -> list[float]:
    """Every wave of both, where two overlap (within ten minutes) the one of more runs."""
    def overlaps(x, y):
        return x[0] - 600 <= y[-1] and y[0] - 600 <= x[-1]

    kept = [w for w in a if not any(overlaps(w, v) and len(v) > len(w) for v in b)]
    kept += [w for w in b if not any(overlaps(w, v) and len(v) >= len(w) for v in a)]
    return sorted(t for w in kept for t in w)


def write_plan(scenario_name: str, out: str | Path, targets: Targets, *, overrides=(),
               seed: int | None = None, force: bool = False, command: str = "",
               window_s: float = HOUR_S, rounds: int = 1, progress: bool = False) -> dict:
    """Run the scenario, plan its lines and write the plan to `out` (a new file, or an
    earlier plan with `force`). With `rounds` > 1 the plan settles: it is run, and while a
    line misses its targets, planned again from that run's demand and merged with the plan
    before (`merge_plans`), at most `rounds` runs of plans in all. Returns a summary: the
    plan's buses and lines, each round's lines met and buses, and the check of the written
    plan when its run was the last round (else None: not yet run)."""
    from ..atomic import atomic_file
    from ..ownership import check_output_file
    from ..scenario import load_scenario

    check_output_file(out, force=force)
    scenario = load_scenario(scenario_name, list(overrides))
    if not scenario.shuttles.lines:
        raise InputError(f"scenario {scenario.name!r} has no shuttle lines to plan")
    plans = plan_lines(_run(scenario, seed, progress), targets, window_s)
    history: list[tuple[int, int, int]] = []  # (lines met, lines, buses) per round
    checks = None
    kept = plan_overrides(overrides)
    tighter: dict[str, Targets] = {}  # what each line that missed is sized for next
    for _ in range(rounds):
        text = plan_text(scenario, plans, targets, command, window_s, history)
        model = _run(_scenario_of(text, kept), seed, progress)
        checks = check_lines(model)
        history.append((sum(c.meets(targets) for c in checks), len(checks),
                        sum(p.buses for p in plans)))
        if history[-1][0] == len(checks) or len(history) == rounds:
            break
        for c in checks:
            if not c.meets(targets):
                tighter[c.name] = tightened(targets, tighter.get(c.name, targets), c)
        plans = merge_plans(plans, plan_lines(model, targets, window_s, tighter), targets)
        checks = None
    text = plan_text(scenario, plans, targets, command, window_s, history)
    with atomic_file(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    load_scenario(out)  # the plan is a valid scenario
    return {"lines": len(plans),
            "planned_lines": sum(bool(p.periods) for p in plans),
            "buses": sum(p.buses for p in plans),
            "input_buses": sum(p.shipped_buses for p in plans),
            "rounds": history, "checks": checks}


def plan_overrides(overrides) -> list[str]:
    """The `--set` values a run of the plan keeps: all but the shuttles' (the plan's lines
    replace those the input's were set on)."""
    return [o for o in overrides if not o.startswith("shuttles")]


def _run(scenario, seed: int | None, progress: bool):
    """A finished run of a scenario."""
    from ..model import SummitModel

    model = SummitModel(scenario, seed=seed)
    model.run(progress=progress)
    return model


def _scenario_of(text: str, overrides: list[str]):
    """A plan's text as a scenario (read from a file of its own in a folder of its own)."""
    import tempfile

    from ..scenario import load_scenario

    with tempfile.TemporaryDirectory(prefix="summit-plan-") as folder:
        path = Path(folder) / "plan.toml"
        path.write_text(text, encoding="utf-8")
        return load_scenario(path, overrides)

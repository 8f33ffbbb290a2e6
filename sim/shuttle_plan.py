"""A shuttle plan from the expected demand: each line's buses and headway per period, meeting a
stated maximum wait and load (`python run.py plan`).

The demand is the scenario's own, run once as it stands: every rider who joins a stop's queue
(boarded, left behind by a full bus or gave up waiting) loads the legs from that stop to where
the rider is going, so each line has, per hour, the riders on its busiest leg (the clock
hour's count, or with a shorter window the rate of the hour's busiest quarter or half hour: the
waves at shift changes and session ends). Per hour a line runs, the headway is the longest
of the usual timetable values that keeps
- the wait: headway <= 2 x the maximum wait (a rider waits half a headway on average), and
- the load: riders per hour / (seats x runs per hour) <= the maximum load,
and the buses are ceil(round trip / headway), the round trip being the run's own (out and back
at the 90th percentile of the runs of that time, plus the layovers). Hours of the same headway
and buses make one period. A line runs from its first hour with riders to its last (two idle
hours or more in between: none); a line nobody rode is left out of the plan. The plan is
written as a scenario on the input (`base`) with the lines alone, each line commented with its
demand and targets, to edit and run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from .clock import format_clock
from .errors import InputError

# headways a plan is written in, minutes (the longest that fits is taken)
NICE_HEADWAYS_MIN = (0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 10, 12, 15, 20, 30, 60)
HOUR_S = 3600.0


@dataclass(frozen=True)
class Targets:
    """What the plan must meet: the mean wait at a stop (minutes) and the load (a share)."""

    max_wait_min: float
    max_load: float


@dataclass(frozen=True)
class PlannedPeriod:
    """One period of a planned line, with the demand and round trip it was sized for."""

    start: float
    end: float
    headway_min: float
    vehicles: int
    riders_per_hour: float  # on the busiest leg (see busiest_leg_riders)
    round_trip_min: float
    load: float  # riders per hour / (seats x runs per hour)
    load_met: bool  # False when even the shortest headway cannot keep the load


def headway_for(riders_per_hour: float, seats: int, targets: Targets) -> tuple[float, bool]:
    """The longest usual headway within 2 x the maximum wait that keeps the load within the
    target, and whether it does (at the shortest usual headway it may not)."""
    limit = 2.0 * targets.max_wait_min
    if riders_per_hour > 0:
        limit = min(limit, 60.0 * seats * targets.max_load / riders_per_hour)
    fitting = [h for h in NICE_HEADWAYS_MIN if h <= limit + 1e-9]
    if fitting:
        return float(fitting[-1]), True
    return float(NICE_HEADWAYS_MIN[0]), False


def buses_for(round_trip_min: float, headway_min: float) -> int:
    """Buses to keep a headway: one departure per headway for a whole round trip."""
    return max(1, math.ceil(round_trip_min / headway_min - 1e-9))


def plan_hours(riders: dict[float, float], round_trip_min: dict[float, float], seats: int,
               targets: Targets, start: float, end: float) -> list[PlannedPeriod]:
    """A line's periods from its riders per hour and round trip (minutes) by hour start: every
    hour from the first with riders to the last (gaps of two idle hours or more left out), the
    headway and buses of each, hours alike merged. Periods lie within the line's start-end:
    riders who come before its first hour or after its last count in that hour."""
    riders = _fold_into(riders, start, end)
    busy = sorted(h for h, r in riders.items() if r > 0)
    if not busy:
        return []
    hours = [busy[0]]
    for h in busy[1:]:
        gap = h - hours[-1]
        if gap <= 2 * HOUR_S:  # one idle hour between is served at the wait's headway
            hours += [hours[-1] + HOUR_S * i for i in range(1, round(gap / HOUR_S) + 1)]
        else:
            hours.append(h)
    out: list[PlannedPeriod] = []
    for h in hours:
        a, b = max(h, start), min(h + HOUR_S, end)
        r = riders.get(h, 0.0) * HOUR_S / (b - a)  # an hour the line runs part of: its rate
        headway, met = headway_for(r, seats, targets)
        rt = round_trip_min[h]
        k = buses_for(rt, headway)
        last = out[-1] if out else None
        if last and last.end == a and (last.headway_min, last.vehicles) == (headway, k):
            r = max(r, last.riders_per_hour)
            out[-1] = PlannedPeriod(last.start, b, headway, k, r, max(rt, last.round_trip_min),
                                    _load(r, seats, headway), met and last.load_met)
        else:
            out.append(PlannedPeriod(a, b, headway, k, r, rt, _load(r, seats, headway), met))
    return out


def _fold_into(riders: dict[float, float], start: float, end: float) -> dict[float, float]:
    """Riders per hour with the hours before `start`'s hour or after `end`'s folded into
    those (the busier of each: a rate, not a sum)."""
    first, last = start // HOUR_S * HOUR_S, (end - 1e-9) // HOUR_S * HOUR_S
    out: dict[float, float] = {}
    for h, r in riders.items():
        h = min(max(h, first), last)
        out[h] = max(out.get(h, 0.0), r)
    return out


def _load(riders_per_hour: float, seats: int, headway_min: float) -> float:
    """Riders per hour over the seats the runs of an hour offer."""
    return riders_per_hour / (seats * 60.0 / headway_min)


# ---- the demand and round trips of a run ----------------------------------------------------
def busiest_leg_riders(line, window_s: float = HOUR_S) -> dict[float, float]:
    """Hour start -> riders per hour on the line's busiest leg: the clock hour's count, or the
    rate of the hour's busiest window (`window_s`, e.g. a quarter hour), from every rider who
    joined one of its stops."""
    stops = list(line.spec.stops)
    index = {s: i for i, s in enumerate(stops)}
    n = len(stops)
    counts: dict[int, np.ndarray] = {}  # window -> riders per (direction, leg)
    for stop, queue in line.queues.items():
        i = index[stop]
        for t, dest in queue.joins:
            j = index.get(dest)
            if j is None or j == i:
                continue
            q = counts.setdefault(int(t // window_s), np.zeros((2, n), int))
            if line.spec.loop:  # onwards round the loop (back to the first stop: to the end)
                q[0, i:(j if j > i else n)] += 1
            elif j > i:
                q[0, i:j] += 1
            else:
                q[1, j:i] += 1
    out: dict[float, float] = {}
    for k, legs in counts.items():
        hour = k * window_s // HOUR_S * HOUR_S
        out[hour] = max(out.get(hour, 0.0), HOUR_S / window_s * float(legs.max()))
    return out


def round_trips(line, hours) -> dict[float, float]:
    """Hour start -> the line's round trip in minutes then: the 90th percentile of the runs out
    and back beginning within half an hour of the hour, plus a layover at each end (one on a
    loop); the day's runs where that hour had none, the free-flow times where the line ran
    none."""
    spec = line.spec
    times = line.stats.run_times
    free = _free_flow_run_s(line)

    def p90(out: bool, a: float, b: float) -> float | None:
        d = [e - s for s, e, o in times if o == out and a <= s < b]
        return float(np.percentile(d, 90)) if d else None

    result = {}
    for h in hours:
        legs = []
        for out in ((True,) if spec.loop else (True, False)):
            d = p90(out, h - 1800, h + HOUR_S + 1800)
            if d is None:
                d = p90(out, -math.inf, math.inf)
            legs.append(free[out] if d is None else d)
        result[h] = (sum(legs) + spec.layover_s * len(legs)) / 60.0
    return result


def _free_flow_run_s(line) -> dict[bool, float]:
    """A run's free-flow driving time plus a base dwell per stop, each way."""
    out = {}
    for way, stops in line.run_stops_of.items():
        out[way] = sum(line.free_flow(a, b) for a, b in pairwise(stops)) \
            + line.spec.dwell_base_s * len(stops)
    return out


# ---- the whole plan -------------------------------------------------------------------------
@dataclass
class LinePlan:
    name: str
    periods: list[PlannedPeriod]
    seats: int
    riders: int  # who joined its stops in the run
    shipped_buses: int


def plan_lines(model, targets: Targets, window_s: float = HOUR_S) -> list[LinePlan]:
    """Every line's plan from a finished run of the scenario."""
    plans = []
    for line in model.summit.lines:
        riders = busiest_leg_riders(line, window_s)
        hours = [min(riders) + HOUR_S * i
                 for i in range(round((max(riders) - min(riders)) / HOUR_S) + 1)] \
            if riders else []
        periods = plan_hours(riders, round_trips(line, hours), line.spec.seats, targets,
                             line.spec.start_s, line.spec.end_s)
        joined = sum(len(q.joins) for q in line.queues.values())
        plans.append(LinePlan(line.spec.name, periods, line.spec.seats, joined, line.spec.fleet))
    return plans


def plan_text(scenario, plans: list[LinePlan], targets: Targets, command: str,
              window_s: float = HOUR_S) -> str:
    """The plan as an editable scenario: base = the input, the lines alone, with comments."""
    from .ownership import STAMP

    base = _base_reference(scenario)
    by_name = {ln.name: ln for ln in scenario.shuttles.lines}
    kept = [p for p in plans if p.periods or _needed_elsewhere(scenario, p.name)]
    dropped = [p for p in plans if p not in kept]
    planned = sum(max((x.vehicles for x in p.periods), default=0) for p in kept)
    shipped = sum(p.shipped_buses for p in plans)
    lines = [
        f"# A shuttle plan written by summit-sim ({STAMP.decode()}): {command}",
        f"# From the demand of one run of {scenario.name!r} (seed {scenario.seed}) and these "
        "targets:",
        f"#   mean wait at a stop <= {targets.max_wait_min:g} min: headway <= "
        f"{2 * targets.max_wait_min:g} min",
        f"#   load <= {targets.max_load:.0%}: riders per hour on the busiest leg "
        f"({_window_words(window_s)}) / (seats x runs per hour)",
        "#   buses = ceil(round trip / headway); round trip: the run's own, 90th percentile, "
        "with layovers",
        f"# Buses: {planned} at the busiest periods of {len(kept)} lines (the input: "
        f"{shipped} on {len(plans)} lines). Edit freely, then: python run.py run THIS_FILE",
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
    from .scenario import SCENARIO_DIR

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
    start = plan.periods[0].start if plan.periods else ln.start
    end = plan.periods[-1].end if plan.periods else ln.end
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
    out += [f"seats = {ln.seats}", f"wheelchair_places = {ln.wheelchair_places}",
            f"layover_min = {ln.layover_min:g}"]
    if ln.depot:
        out.append(f"depot = {json.dumps(ln.depot, ensure_ascii=False)}")
    if ln.loop:
        out.append("loop = true")
    return [*out, ""]


# ---- how a run of a plan meets its targets ---------------------------------------------------
@dataclass(frozen=True)
class LineCheck:
    """A line's run against the targets: the mean wait of those who boarded, and the highest
    hourly load (riders per hour on the busiest leg over the seats its departures offered)."""

    name: str
    buses: int
    runs: int
    boardings: int
    wait_mean_min: float | None
    worst_load: float
    worst_load_hour: float | None

    def meets(self, targets: Targets) -> bool:
        wait_ok = self.wait_mean_min is None or self.wait_mean_min <= targets.max_wait_min
        return wait_ok and self.worst_load <= targets.max_load + 1e-9


def check_lines(model, window_s: float = HOUR_S) -> list[LineCheck]:
    """Each line of a finished run against the plan's measures (see LineCheck)."""
    out = []
    for line in model.summit.lines:
        deps = np.asarray(line.departures)
        riders = _fold_into(busiest_leg_riders(line, window_s), deps.min(), deps.max() + 1)
        worst, when = 0.0, None
        for h, r in sorted(riders.items()):
            n = int(((deps >= h) & (deps < h + HOUR_S)).sum())  # outbound = back runs
            load = math.inf if n == 0 else r / (line.spec.seats * n)
            if load > worst:
                worst, when = load, h
        waits = line.stats.waits
        out.append(LineCheck(line.spec.name, line.spec.fleet, line.stats.runs,
                             line.stats.boardings,
                             float(np.mean(waits)) / 60 if waits else None, worst, when))
    return out


def write_plan(scenario_name: str, out: str | Path, targets: Targets, *, overrides=(),
               seed: int | None = None, force: bool = False, command: str = "",
               window_s: float = HOUR_S) -> dict:
    """Run the scenario once, plan its lines and write the plan to `out` (a new file, or an
    earlier plan with `force`); returns a summary of the plan."""
    from .atomic import atomic_file
    from .model import SummitModel
    from .ownership import check_output_file
    from .scenario import load_scenario

    check_output_file(out, force=force)
    scenario = load_scenario(scenario_name, list(overrides))
    if not scenario.shuttles.lines:
        raise InputError(f"scenario {scenario.name!r} has no shuttle lines to plan")
    model = SummitModel(scenario, seed=seed)
    model.run()
    plans = plan_lines(model, targets, window_s)
    text = plan_text(scenario, plans, targets, command, window_s)
    with atomic_file(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    load_scenario(out)  # the plan is a valid scenario
    return {"lines": len(plans),
            "planned_lines": sum(bool(p.periods) for p in plans),
            "buses": sum(max((x.vehicles for x in p.periods), default=0) for p in plans),
            "input_buses": sum(p.shipped_buses for p in plans)}

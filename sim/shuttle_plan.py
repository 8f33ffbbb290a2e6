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
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path

import numpy as np

from .clock import format_clock
from .errors import InputError

# headways a plan is written in, minutes (the longest that fits is taken)
NICE_HEADWAYS_MIN = (0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 10, 12, 15, 20, 30, 60)
HOUR_S = 3600.0
# judgement: a line that missed its targets is sized next for targets at most 15% tighter a
# round and never below 60% of the stated ones: more service draws riders from parallel lines,
# and a line tightened without bound can grow without end
MOST_TIGHTENING = 0.85
LEAST_SHARE = 0.6
# judgement: extra runs leave a stop at most every 20 s (a bay where coaches load three a
# minute: buses staged at the venue for a wave)
STAGE_GAP_S = 20.0


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
def stop_offsets(line, q: float = 50) -> dict[tuple[bool, str], float]:
    """(outbound, stop) -> seconds from a run's departure at the first stop to its bus serving
    that stop: out along the run, or (back runs) out, the layover, and back to the stop; the
    runs' `q`th percentile times, shared over the legs by their free-flow times."""
    spec = line.spec
    full = {way: _run_s(line, way, q) for way in line.run_stops_of}
    out: dict[tuple[bool, str], float] = {}
    for way, stops in line.run_stops_of.items():
        legs = [line.free_flow(a, b) + spec.dwell_base_s for a, b in pairwise(stops)]
        scale = full[way] / max(sum(legs), 1.0)
        begin = 0.0 if way else full[True] + spec.layover_s
        t = begin
        for i, stop in enumerate(stops):
            out.setdefault((way, stop), t)
            if i < len(legs):
                t += legs[i] * scale
    return out


def _run_s(line, outbound: bool, q: float) -> float:
    """A run's time one way: the `q`th percentile of the day's runs, else free flow."""
    d = [e - s for s, e, o in line.stats.run_times if o == outbound]
    return float(np.percentile(d, q)) if d else _free_flow_run_s(line)[outbound]


def rider_legs(line) -> list[tuple[bool, float, int, int]]:
    """(outbound, when a run must leave the first stop to pick the rider up, first leg, last
    leg + 1) of every rider who joined one of the line's stops, legs numbered along the run; on
    a loop a rider rides onwards (to the first stop again: to the loop's end)."""
    spec = line.spec
    offsets = stop_offsets(line)
    n = len(spec.stops)
    index = {s: i for i, s in enumerate(spec.stops)}
    out = []
    for stop, queue in line.queues.items():
        i = index[stop]
        for t, dest in queue.joins:
            j = index.get(dest)
            if j is None or j == i:
                continue
            if spec.loop:
                way, a, b = True, i, (j if j > i else n)
            elif j > i:
                way, a, b = True, i, j
            else:
                way, a, b = False, n - 1 - i, n - 1 - j
            out.append((way, t - offsets[way, stop], a, b))
    return sorted(out, key=lambda r: r[1])


def busiest_leg_riders(line, window_s: float = HOUR_S) -> dict[float, float]:
    """Hour start -> riders per hour on the line's busiest leg: the clock hour's count, or the
    rate of the hour's busiest window (`window_s`, e.g. a quarter hour), from every rider who
    joined one of its stops, by when a run must leave the first stop to pick the rider up (a
    wave leaving the venue at 16:00 loads the runs that leave the car park before)."""
    return leg_rates(rider_legs(line), len(line.spec.stops), window_s)


def leg_rates(legs, stops: int, window_s: float = HOUR_S) -> dict[float, float]:
    """Hour start -> riders per hour on the busiest leg, from riders' (outbound, time, first
    leg, last leg + 1) as rider_legs gives them."""
    n = stops + 1
    counts: dict[int, np.ndarray] = {}  # window -> riders per (direction, leg)
    for way, t, i, j in legs:
        q = counts.setdefault(int(t // window_s), np.zeros((2, n), int))
        q[int(way), i:j] += 1
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


# ---- extra runs timed to the waves ---------------------------------------------------------
def timetable_departures(periods: list[PlannedPeriod], end: float) -> list[float]:
    """The departures from the first stop of planned periods (as the line will run them)."""
    out = []
    for p in periods:
        t = p.start
        while t < p.end or (t == p.end == end):
            out.append(t)
            t += p.headway_min * 60.0
    return out


def wave_runs(frames: list[float], departures: list[float], cap: int, within_s: float,
              gap_s: float = STAGE_GAP_S) -> tuple[list[float], list[float], list[bool]]:
    """Extra departures for riders in waves, and every rider's wait: riders (by when a run
    must leave to pick them up, in order) board the departures first come first served, `cap`
    a run; whenever more wait than the departures of the next `within_s` carry, or none is
    due within `within_s` of the first waiting, one more run leaves (at most one every
    `gap_s`: buses staged at the stop load one after another). Returns the extra runs, the
    riders' waits and whether each rode an extra run (in the riders' order)."""
    extras: list[float] = []
    waits: list[float] = []
    by_extra = [False] * len(frames)
    queue: deque[int] = deque()
    deps = sorted(departures)
    i, k, now, last = 0, 0, -math.inf, -math.inf
    while i < len(frames) or queue:
        t_rider = frames[i] if i < len(frames) else math.inf
        t_dep = deps[k] if k < len(deps) else math.inf
        soon = bisect_right(deps, now + within_s) - k  # departures due within `within_s`
        t_extra = max(now, last + gap_s) if len(queue) >= cap * (soon + 1) else math.inf
        if queue and t_dep > frames[queue[0]] + within_s:  # none in time for the first
            t_extra = min(t_extra, max(now, last + gap_s, frames[queue[0]] + within_s))
        now = min(t_rider, t_dep, t_extra)
        if now == t_rider:
            queue.append(i)
            i += 1
            continue
        extra = now != t_dep
        if extra:
            extras.append(now)
            last = now
        else:
            k += 1
        for _ in range(min(cap, len(queue))):
            r = queue.popleft()
            waits.append(now - frames[r])
            by_extra[r] = extra
    return extras, waits, by_extra


def _extras(legs, deps: list[float], seats: int, targets: Targets, back_s: float):
    """Extra runs over a timetable's departures for both directions of riders: runs out from
    the first stop, then runs back from the last stop (`back_s` after a run out leaves
    there: the way back of every run out serves the riders back too, and a run back waits
    at the last stop for its wave). Returns the runs out, the runs back, the riders' waits,
    and who rode an extra run (in the order of `legs`)."""
    cap = max(1, math.floor(seats * targets.max_load))
    within = targets.max_wait_min * 60
    waits: list[float] = []
    by_extra = [False] * len(legs)
    runs: dict[bool, list[float]] = {True: [], False: []}
    for way in (True, False):
        idx = [k for k, leg in enumerate(legs) if leg[0] == way]
        if not idx:
            continue
        shift = 0.0 if way else back_s  # riders back: by when a run leaves the last stop
        more, w, ride = wave_runs([legs[k][1] + shift for k in idx],
                                  [d + shift for d in (*deps, *runs[True])], cap, within)
        runs[way] = more
        waits += w
        for k, r in zip(idx, ride, strict=True):
            by_extra[k] = r
    return runs[True], runs[False], waits, by_extra


def _quarter(t: float, up: bool = False) -> float:
    """A time rounded down (or up) to the quarter hour."""
    q = 900.0
    return (math.ceil(t / q) if up else math.floor(t / q)) * q


# ---- the whole plan -------------------------------------------------------------------------
@dataclass
class LinePlan:
    name: str
    periods: list[PlannedPeriod]
    seats: int
    riders: int  # who joined its stops in the run
    shipped_buses: int
    extra_runs: list[float] = field(default_factory=list)
    extra_vehicles: int = 0
    start: float = 0.0
    end: float = 0.0
    wait_mean_min: float | None = None  # what the plan expects, by wave_runs
    wait_p90_min: float | None = None
    round_trip_s: float = 0.0  # out and back at the 90th percentile, with layovers
    extra_runs_back: list[float] = field(default_factory=list)  # from the last stop
    back_lead_s: float = 0.0  # a run back's bus leaves the first stop this long before

    @property
    def runs(self) -> bool:
        """Whether the plan runs the line at all."""
        return bool(self.periods or self.extra_runs or self.extra_runs_back)

    @property
    def buses(self) -> int:
        """Buses at the busiest period, plus those for the extra runs."""
        return max((x.vehicles for x in self.periods), default=0) + self.extra_vehicles


def plan_lines(model, targets: Targets, window_s: float = HOUR_S,
               tighter: dict[str, Targets] | None = None) -> list[LinePlan]:
    """Every line's plan from a finished run of the scenario (a line in `tighter` sized for
    its own, tighter targets)."""
    tighter = tighter or {}
    return [plan_line(model, line, tighter.get(line.spec.name, targets), window_s)
            for line in model.summit.lines]


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


def plan_line(model, line, targets: Targets, window_s: float = HOUR_S) -> LinePlan:
    """A line's plan: the periods from its riders per hour, from a quarter hour before its
    first rider to its last, and extra runs for the waves the periods leave waiting."""
    spec = line.spec
    joined = sum(len(q.joins) for q in line.queues.values())
    legs = rider_legs(line)
    if not legs:
        return LinePlan(spec.name, [], spec.seats, joined, spec.fleet)
    start = max(model.start_s, _quarter(legs[0][1]))
    end = min(model.end_s, _quarter(legs[-1][1], up=True))
    end = max(end, start + 900.0)
    rts = round_trips(line, [h * HOUR_S for h in range(int(start // HOUR_S),
                                                      int(end // HOUR_S) + 1)])
    # first the waves: what extra runs carry over a timetable sized for the wait alone; then
    # the timetable for the riders who do not come in waves, and the extra runs over it
    wait_only = Targets(targets.max_wait_min, math.inf)
    periods = plan_hours(leg_rates(legs, len(spec.stops), window_s), rts, spec.seats,
                         wait_only, start, end)
    back_s = _run_s(line, True, 50) + spec.layover_s  # as stop_offsets puts the riders back
    *_, in_wave = _extras(legs, timetable_departures(periods, end), spec.seats, targets,
                          back_s)
    steady = [leg for leg, w in zip(legs, in_wave, strict=True) if not w]
    periods = plan_hours(leg_rates(steady, len(spec.stops), window_s), rts, spec.seats,
                         targets, start, end) if steady else periods
    extras, back, waits, _ = _extras(legs, timetable_departures(periods, end), spec.seats,
                                     targets, back_s)
    extras = sorted(round(t) for t in extras)
    back = sorted(round(t) for t in back)
    rt = sum(_run_s(line, way, 90) + spec.layover_s for way in ((True,) if spec.loop
                                                               else (True, False)))
    moments = [*extras, *back]
    if moments:
        start, end = min(start, _quarter(min(moments))), max(end, max(moments))
    lead = 0.0 if spec.loop else line.back_lead_s()
    return LinePlan(spec.name, periods, spec.seats, joined, spec.fleet, extras,
                    extra_buses(extras, rt, back, lead), start, end,
                    float(np.mean(waits)) / 60, float(np.percentile(waits, 90)) / 60, rt,
                    back, lead)


def extra_buses(out, round_trip_s: float, back=(), lead_s: float = 0.0) -> int:
    """Buses for the extra runs: the most under way at once, a round trip each; a run back
    from `lead_s` before it (out, waiting at the last stop) to its end back."""
    back_trip = lead_s + round_trip_s / 2
    spans = sorted([(t, t + round_trip_s) for t in out]
                   + [(t - lead_s, t - lead_s + max(round_trip_s, back_trip)) for t in back])
    ends: list[float] = []
    most = 0
    for a, b in spans:
        ends = [e for e in ends if e > a + 1e-9] + [b]
        most = max(most, len(ends))
    return most


# ---- settling: the plan moves the demand it was sized for -------------------------------------
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
            load = _load(riders, a.seats, headway)
            p = PlannedPeriod(min(p.start, q.start), max(p.end, q.end), headway,
                              buses_for(rt, headway), riders, rt, load,
                              load <= targets.max_load + 1e-9)
        hours[h] = p
    periods: list[PlannedPeriod] = []
    for p in (hours[h] for h in sorted(hours)):
        last = periods[-1] if periods else None
        if last and last.end == p.start and (last.headway_min, last.vehicles) == \
                (p.headway_min, p.vehicles):
            periods[-1] = replace(last, end=p.end,
                                  riders_per_hour=max(last.riders_per_hour, p.riders_per_hour),
                                  round_trip_min=max(last.round_trip_min, p.round_trip_min),
                                  load=max(last.load, p.load),
                                  load_met=last.load_met and p.load_met)
        else:
            periods.append(p)
    extras = _merge_waves(_waves(a.extra_runs), _waves(b.extra_runs))
    back = _merge_waves(_waves(a.extra_runs_back), _waves(b.extra_runs_back))
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


def _waves(runs) -> list[list[float]]:
    """Extra runs grouped in waves: runs less than ten minutes apart."""
    waves: list[list[float]] = []
    for t in sorted(runs):
        if waves and t - waves[-1][-1] < 600:
            waves[-1].append(t)
        else:
            waves.append([t])
    return waves


def _merge_waves(a: list[list[float]], b: list[list[float]]) -> list[float]:
    """Every wave of both, where two overlap (within ten minutes) the one of more runs."""
    def overlaps(x, y):
        return x[0] - 600 <= y[-1] and y[0] - 600 <= x[-1]

    kept = [w for w in a if not any(overlaps(w, v) and len(v) > len(w) for v in b)]
    kept += [w for w in b if not any(overlaps(w, v) and len(v) >= len(w) for v in a)]
    return sorted(t for w in kept for t in w)


def plan_text(scenario, plans: list[LinePlan], targets: Targets, command: str,
              window_s: float = HOUR_S, rounds=()) -> str:
    """The plan as an editable scenario: base = the input, the lines alone, with comments
    (`rounds`: lines met, lines and buses of each run of a plan while it settled)."""
    from .ownership import STAMP

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
    out += [f"seats = {ln.seats}", f"wheelchair_places = {ln.wheelchair_places}",
            f"layover_min = {ln.layover_min:g}"]
    if ln.depot:
        out.append(f"depot = {json.dumps(ln.depot, ensure_ascii=False)}")
    if ln.loop:
        out.append("loop = true")
    return [*out, ""]


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
        for w in _waves(runs):
            out.append("  " + ", ".join(f'"{_hm(t)}"' for t in w)
                       + f",  # {len(w)} run{'s' if len(w) > 1 else ''} from {_hm(w[0])}")
        out.append("]")
    return [*out, f"extra_vehicles = {plan.extra_vehicles}  # buses for the extra runs"]


# ---- how a run of a plan meets its targets ---------------------------------------------------
@dataclass(frozen=True)
class LineCheck:
    """A line's run against the targets: the mean stop wait of every rider who joined a stop
    (boarded, or gave up: at the wait given up after; the p90 beside it), and the highest
    hourly load: the riders on board where each run of the hour carried most, over the seats
    those runs offered (each way apart; runs by when they left the first stop)."""

    name: str
    buses: int
    runs: int
    boardings: int
    gave_up: int
    wait_mean_min: float | None
    wait_p90_min: float | None
    worst_load: float
    worst_load_hour: float | None

    def meets(self, targets: Targets) -> bool:
        wait_ok = self.wait_mean_min is None or self.wait_mean_min <= targets.max_wait_min
        return wait_ok and self.worst_load <= targets.max_load + 1e-9


def run_loads(line) -> list[tuple[bool, float, int]]:
    """(outbound, when it left its first stop, riders on board on its busiest leg) of every
    run in service."""
    runs: dict[int, list] = {}
    for t, run, riders, _, _, outbound in line.stats.legs:
        r = runs.get(run)
        if r is None:
            runs[run] = [outbound, t, riders]
        else:
            r[1], r[2] = min(r[1], t), max(r[2], riders)
    return [tuple(r) for r in runs.values()]


def hourly_loads(line) -> dict[tuple[bool, float], float]:
    """(outbound, hour start) -> the riders the hour's runs that way carried where each
    carried most, over the seats those runs offered."""
    riders: dict[tuple[bool, float], list[int]] = {}
    for outbound, t, n in run_loads(line):
        riders.setdefault((outbound, t // HOUR_S * HOUR_S), []).append(n)
    return {k: sum(v) / (line.spec.seats * len(v)) for k, v in riders.items()}


def check_lines(model) -> list[LineCheck]:
    """Each line of a finished run against the plan's measures (see LineCheck)."""
    out = []
    for line in model.summit.lines:
        worst, when = 0.0, None
        for (_, h), load in sorted(hourly_loads(line).items()):
            if load > worst:
                worst, when = load, h
        left = [w for q in line.queues.values() for w in q.left_waits]
        waits = np.asarray([*line.stats.waits, *left]) / 60
        mean, p90 = (float(waits.mean()), float(np.percentile(waits, 90))) if waits.size \
            else (None, None)
        out.append(LineCheck(line.spec.name, line.spec.fleet, line.stats.runs,
                             line.stats.boardings, len(left), mean, p90, worst, when))
    return out


def check_text(rows: list[LineCheck], targets: Targets) -> str:
    """A run of a plan line by line against its targets, as printed and written."""
    met = sum(r.meets(targets) for r in rows)
    out = [f"run of the plan against mean stop wait <= {targets.max_wait_min:g} min (every "
           f"rider who joined a stop, those who gave up included) and load <= "
           f"{targets.max_load:.0%}: met on {met} of {len(rows)} lines, "
           f"{sum(r.buses for r in rows)} buses",
           f"  {'line':<28}{'buses':>6}{'runs':>6}{'riders':>8}{'gave up':>8}{'wait':>7}"
           f"{'p90':>7}{'worst load':>12}  met"]
    for r in rows:
        wait = "" if r.wait_mean_min is None else f"{r.wait_mean_min:.1f}"
        p90 = "" if r.wait_p90_min is None else f"{r.wait_p90_min:.1f}"
        when = "" if r.worst_load_hour is None else f" {int(r.worst_load_hour // 3600):02d}h"
        out.append(f"  {r.name[:27]:<28}{r.buses:>6}{r.runs:>6}{r.boardings:>8}{r.gave_up:>8}"
                   f"{wait:>7}{p90:>7}{r.worst_load:>8.0%}{when:<4}  "
                   f"{'yes' if r.meets(targets) else 'NO'}")
    return "\n".join(out) + "\n"


def write_plan(scenario_name: str, out: str | Path, targets: Targets, *, overrides=(),
               seed: int | None = None, force: bool = False, command: str = "",
               window_s: float = HOUR_S, rounds: int = 1, progress: bool = False) -> dict:
    """Run the scenario, plan its lines and write the plan to `out` (a new file, or an
    earlier plan with `force`). With `rounds` > 1 the plan settles: it is run, and while a
    line misses its targets, planned again from that run's demand and merged with the plan
    before (`merge_plans`), at most `rounds` runs of plans in all. Returns a summary: the
    plan's buses and lines, each round's lines met and buses, and the check of the written
    plan when its run was the last round (else None: not yet run)."""
    from .atomic import atomic_file
    from .ownership import check_output_file
    from .scenario import load_scenario

    check_output_file(out, force=force)
    scenario = load_scenario(scenario_name, list(overrides))
    if not scenario.shuttles.lines:
        raise InputError(f"scenario {scenario.name!r} has no shuttle lines to plan")
    plans = plan_lines(_run(scenario, seed, progress), targets, window_s)
    history: list[tuple[int, int, int]] = []  # (lines met, lines, buses) per round
    checks = None
    kept = [o for o in overrides if not o.startswith("shuttles")]
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


def _run(scenario, seed: int | None, progress: bool):
    """A finished run of a scenario."""
    from .model import SummitModel

    model = SummitModel(scenario, seed=seed)
    model.run(progress=progress)
    return model


def _scenario_of(text: str, overrides: list[str]):
    """A plan's text as a scenario (read from a file of its own in a folder of its own)."""
    import tempfile

    from .scenario import load_scenario

    with tempfile.TemporaryDirectory(prefix="summit-plan-") as folder:
        path = Path(folder) / "plan.toml"
        path.write_text(text, encoding="utf-8")
        return load_scenario(path, overrides)

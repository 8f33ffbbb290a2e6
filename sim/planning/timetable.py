"""A line's timetable from its demand: the headway and buses of each period meeting a stated
maximum wait and load, and extra runs timed to the waves."""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from .demand import HOUR_S, leg_rates, rider_legs, round_trips, run_time_s

# headways a plan is written in, minutes (the longest that fits is taken)
NICE_HEADWAYS_MIN = (0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 7.5, 10, 12, 15, 20, 30, 60)
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
    riders = fold_into(riders, start, end)
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
        out.append(PlannedPeriod(a, b, headway, buses_for(rt, headway), r, rt,
                                 load_of(r, seats, headway), met))
    return join_alike(out)


def join_alike(periods: list[PlannedPeriod]) -> list[PlannedPeriod]:
    """Periods in time order with each run of adjoining ones of the same headway and buses
    made one, sized for the busiest of them."""
    out: list[PlannedPeriod] = []
    for p in periods:
        last = out[-1] if out else None
        if last and last.end == p.start and (last.headway_min, last.vehicles) == \
                (p.headway_min, p.vehicles):
            out[-1] = replace(last, end=p.end,
                              riders_per_hour=max(last.riders_per_hour, p.riders_per_hour),
                              round_trip_min=max(last.round_trip_min, p.round_trip_min),
                              load=max(last.load, p.load),
                              load_met=last.load_met and p.load_met)
        else:
            out.append(p)
    return out


def fold_into(riders: dict[float, float], start: float, end: float) -> dict[float, float]:
    """Riders per hour with the hours before `start`'s hour or after `end`'s folded into
    those (the busier of each: a rate, not a sum)."""
    first, last = start // HOUR_S * HOUR_S, (end - 1e-9) // HOUR_S * HOUR_S
    out: dict[float, float] = {}
    for h, r in riders.items():
        h = min(max(h, first), last)
        out[h] = max(out.get(h, 0.0), r)
    return out


def load_of(riders_per_hour: float, seats: int, headway_min: float) -> float:
    """Riders per hour over the seats the runs of an hour offer."""
    return riders_per_hour / (seats * 60.0 / headway_min)


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


def extra_buses(out, round_trip_s: float, back=(), lead_s: float = 0.0) -> int:
    """Buses for the extra runs: the most under way at once, a round trip each; a run back
    from `lead_s` before it (out, waiting at the last stop) to its end back."""
    back_trip = lead_s + round_trip_s / 2
    spans = sorted([(t, t + round_trip_s) for t in out]
                   + [(t - lead_s, t - lead_s + max(round_trip_s, back_trip)) for t in back])
    ends: list[float] = []  # a heap of when the buses under way are back
    most = 0
    for a, b in spans:
        while ends and ends[0] <= a + 1e-9:
            heapq.heappop(ends)
        heapq.heappush(ends, b)
        most = max(most, len(ends))
    return most


def waves(runs) -> list[list[float]]:
    """Extra runs grouped in waves: runs less than ten minutes apart."""
    waves: list[list[float]] = []
    for t in sorted(runs):
        if waves and t - waves[-1][-1] < 600:
            waves[-1].append(t)
        else:
            waves.append([t])
    return waves


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
    back_s = run_time_s(line, True, 50) + spec.layover_s  # as stop_offsets puts the riders back
    *_, in_wave = _extras(legs, timetable_departures(periods, end), spec.seats, targets,
                          back_s)
    steady = [leg for leg, w in zip(legs, in_wave, strict=True) if not w]
    periods = plan_hours(leg_rates(steady, len(spec.stops), window_s), rts, spec.seats,
                         targets, start, end) if steady else periods
    extras, back, waits, _ = _extras(legs, timetable_departures(periods, end), spec.seats,
                                     targets, back_s)
    extras = sorted(round(t) for t in extras)
    back = sorted(round(t) for t in back)
    rt = sum(run_time_s(line, way, 90) + spec.layover_s for way in ((True,) if spec.loop
                                                               else (True, False)))
    moments = [*extras, *back]
    if moments:
        start, end = min(start, _quarter(min(moments))), max(end, max(moments))
    lead = 0.0 if spec.loop else line.back_lead_s()
    return LinePlan(spec.name, periods, spec.seats, joined, spec.fleet, extras,
                    extra_buses(extras, rt, back, lead), start, end,
                    float(np.mean(waits)) / 60, float(np.percentile(waits, 90)) / 60, rt,
                    back, lead)

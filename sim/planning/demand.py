"""The demand a run of a scenario put on a shuttle line, and the line's own run times: every
rider who joined a stop placed at the time a run must leave the first stop to pick them up."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np

HOUR_S = 3600.0


def stop_offsets(line, q: float = 50) -> dict[tuple[bool, str], float]:
    """(outbound, stop) -> seconds from a run's departure at the first stop to its bus serving
    that stop: out along the run, or (back runs) out, the layover, and back to the stop; the
    runs' `q`th percentile times, shared over the legs by their free-flow times."""
    spec = line.spec
    full = {way: run_time_s(line, way, q) for way in line.run_stops_of}
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


def run_time_s(line, outbound: bool, q: float) -> float:
    """A run's time one way: the `q`th percentile of the day's runs, else free flow."""
    d = [e - s for s, e, o in line.stats.run_times if o == outbound]
    return float(np.percentile(d, q)) if d else line.free_flow_run_s(outbound)


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
            legs.append(line.free_flow_run_s(out) if d is None else d)
        result[h] = (sum(legs) + spec.layover_s * len(legs)) / 60.0
    return result

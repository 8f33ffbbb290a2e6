"""Security screening at a venue entrance: a bank of identical gates serving one FIFO queue.

Service is deterministic (3600 / throughput seconds per person), so a person's clearing time
follows from their arrival time at once: no per-second stepping and no Mesa events here. The
agent that walks a delegate to the venue calls `arrive` and schedules its own next event.
"""

from __future__ import annotations

import heapq
import math
import numbers
import operator
from bisect import bisect_right
from collections.abc import Hashable

import numpy as np

from sim.errors import InputError


def deterministic_queue_wait(arrival_rate_per_h: float, gates: int,
                             throughput_per_gate_per_h: float, duration_h: float) -> float:
    """Wait of the last arrival (minutes) of a steady stream lasting `duration_h` hours, by fluid
    queueing theory: the queue grows at lambda - mu and drains at mu."""
    mu = gates * throughput_per_gate_per_h
    if arrival_rate_per_h <= mu:
        return 0.0
    return (arrival_rate_per_h - mu) / mu * duration_h * 60.0


class ScreeningGates:
    """`gates` identical screening gates with opening hours, fed by one first-come-first-served
    queue; records each person's arrival and service start for the statistics."""

    def __init__(self, name: str, gates: int, throughput_per_gate_per_hour: float,
                 opens_s: float = 0.0, closes_s: float = math.inf) -> None:
        where = f"screening {name!r}"
        try:
            # operator.index accepts int and numpy integers but not 2.5 or "3".
            n_gates = operator.index(gates)
        except TypeError:
            n_gates = None
        if n_gates is None or isinstance(gates, bool) or n_gates < 1:
            raise InputError(f"{where}: gates = {gates!r}: must be a whole number >= 1")
        # `not x > 0` also rejects NaN, which compares false with everything.
        tput = throughput_per_gate_per_hour
        if not (isinstance(tput, numbers.Real) and tput > 0 and math.isfinite(tput)):
            raise InputError(f"{where}: throughput_per_gate_per_hour = "
                             f"{throughput_per_gate_per_hour!r}: must be a finite number > 0 "
                             "(people per gate per hour)")
        if not (isinstance(opens_s, numbers.Real) and math.isfinite(opens_s)):
            raise InputError(f"{where}: opens_s = {opens_s!r}: must be a finite time in seconds")
        if not (isinstance(closes_s, numbers.Real) and closes_s > opens_s):
            raise InputError(f"{where}: closes_s = {closes_s!r}: must be a time in seconds after "
                             f"opens_s = {opens_s!r} (math.inf for no closing time)")
        self.name = name
        self.gates = n_gates
        self.throughput_per_gate_per_hour = float(throughput_per_gate_per_hour)
        self.service_s = 3600.0 / self.throughput_per_gate_per_hour
        self.opens_s = float(opens_s)
        self.closes_s = float(closes_s)
        # (time the gate is next free, gate index): the gate index breaks ties, so with several
        # gates free the lowest-numbered one is used and runs are reproducible.
        self._free = [(self.opens_s, g) for g in range(n_gates)]
        # One entry per arrival, in arrival order. `_leave` is when the person stops waiting:
        # the service start, or for someone turned away the closing time (or their arrival, if
        # later) - they stand in the queue until the gates close and are then sent away.
        self._ids: list[Hashable] = []
        self._arrive: list[float] = []
        self._leave: list[float] = []
        self._gate: list[int] = []  # -1 for people turned away
        self._index: dict[Hashable, int] = {}
        self._turned_away: list[Hashable] = []

    def arrive(self, person_id: Hashable, t: float) -> float:
        """Put `person_id` in the queue at time `t`; return when they clear screening, or math.inf
        if their service would start at or after closing (they are then counted as turned away)."""
        if not math.isfinite(t):
            raise ValueError(f"{self.name}: arrival time of {person_id!r} is {t!r}; "
                             "it must be a finite number of seconds")
        if self._arrive and t < self._arrive[-1]:
            raise ValueError(f"{self.name}: {person_id!r} arrives at t = {t} s, before the "
                             f"previous arrival at t = {self._arrive[-1]} s; arrivals must come "
                             "in time order")
        if person_id in self._index:
            raise ValueError(f"{self.name}: {person_id!r} has already arrived")
        t = float(t)
        free_at, gate = self._free[0]
        start = max(t, free_at)  # free_at >= opens_s, so early arrivals wait for the opening
        self._index[person_id] = len(self._ids)
        self._ids.append(person_id)
        self._arrive.append(t)
        if start >= self.closes_s:
            # The gate is left as it is: nobody was screened, so no gate was used. Every later
            # arrival meets the same gates at a later time and is turned away too.
            self._leave.append(max(t, self.closes_s))
            self._gate.append(-1)
            self._turned_away.append(person_id)
            return math.inf
        done = start + self.service_s
        heapq.heapreplace(self._free, (done, gate))
        self._leave.append(start)
        self._gate.append(gate)
        return done

    @property
    def last_arrival_s(self) -> float:
        """The latest arrival time so far (-inf before anyone): callers whose arrival times come
        from two clocks (Mesa events and engine callbacks) keep the order with it."""
        return self._arrive[-1] if self._arrive else -math.inf

    # --- per person -------------------------------------------------------------------------

    def wait_s(self, person_id: Hashable) -> float:
        """Seconds from arrival to the start of service (math.inf if turned away)."""
        i = self._index[person_id]
        if self._gate[i] < 0:
            return math.inf
        return self._leave[i] - self._arrive[i]

    def start_s(self, person_id: Hashable) -> float:
        """Time the person's screening starts (math.inf if turned away)."""
        i = self._index[person_id]
        return math.inf if self._gate[i] < 0 else self._leave[i]

    def gate_for(self, person_id: Hashable) -> int | None:
        """Index (0 .. gates - 1) of the gate that screened the person; None if turned away."""
        g = self._gate[self._index[person_id]]
        return None if g < 0 else g

    # --- statistics ---------------------------------------------------------------------------

    @property
    def arrivals(self) -> int:
        """Number of people who joined the queue (served + turned away)."""
        return len(self._ids)

    @property
    def served(self) -> int:
        """Number of people screened (including those whose screening ends after closing)."""
        return len(self._ids) - len(self._turned_away)

    @property
    def turned_away(self) -> list[Hashable]:
        """Ids of the people not screened because the gates closed first, in arrival order."""
        return list(self._turned_away)

    def waits(self) -> list[float]:
        """Waits (seconds) of everyone served, in arrival order."""
        return [lv - a for a, lv, g in zip(self._arrive, self._leave, self._gate, strict=True)
                if g >= 0]

    def queue_length_at(self, t: float) -> int:
        """People waiting at time `t`: arrived by `t` and neither in service nor sent away."""
        # Both lists are sorted: arrivals by contract, and service starts because FIFO over
        # identical gates starts people in arrival order (then the turned-away, who leave at
        # closing or later). Someone whose service starts exactly at t is no longer waiting.
        return bisect_right(self._arrive, t) - bisect_right(self._leave, t)

    @property
    def max_queue(self) -> int:
        """Largest number of people waiting at any moment, exact from the recorded times."""
        if not self._arrive:
            return 0
        # The queue only grows at arrivals, so its maximum is reached at an arrival time.
        arrive = np.asarray(self._arrive)
        leave = np.asarray(self._leave)
        length = (np.searchsorted(arrive, arrive, side="right")
                  - np.searchsorted(leave, arrive, side="right"))
        return int(length.max())

    def percentile_wait_min(self, q: float) -> float:
        """The q-th percentile (0-100) of the waits of people served, in minutes; 0 if none."""
        waits = self.waits()
        if not waits:
            return 0.0
        return float(np.percentile(waits, q)) / 60.0

"""Shuttle lines: buses on a fixed line of stops, boarding riders first come, first served.

A line runs departures from its first stop every `headway_s` between `start_s` and `end_s`. Its
vehicles pull out of the depot in time for their first departure, drive each leg between stops
through the traffic engine (one engine vehicle per leg, a fixed route, the engine calls back on
arrival), dwell at each stop (a base time plus seconds per rider alighting and boarding), lay
over at the terminal, and pull in to the depot after their last run. Riders queue at stops in
arrival order; when a bus is full the rest are denied and wait for the next one.

Riders are any objects with `rider_id`, `destination` (a stop node id), `wheelchair` (bool), and
`on_board(shuttle, time)`, `on_alight(shuttle, stop, time)` and `on_denied(shuttle, time)`
methods (delegates, later). The headway schedules departures from the first stop; each is handed
to the buses in turn, and a bus still on its way starts late. On a back-and-forth line a bus
comes back from the last stop after its layover there, without a timetable of its own.

A timetable may have periods, each with its own headway and buses (the all-day headway runs
between them, if there is one), and extra runs at given times. A period's departures go in turn
to the buses that have waited longest; the line's other buses lay over at the terminal where
their last run ended (no km, no hours) until a later period or extra run needs them. An extra
run goes to the bus that has waited longest.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice, pairwise

from mesa import Agent

from sim.errors import InputError
from sim.events import event_method

# judgement: a bus staged at the far end for a run back leaves the first stop in time to
# drive out at half again the free-flow time (peak traffic, boarding) and lay over; early,
# it waits there
BACK_LEAD_FACTOR = 1.5


@dataclass(frozen=True)
class LineSpec:
    """A shuttle line as a scenario describes it (stops are node ids)."""

    name: str
    stops: tuple[str, ...]
    headway_s: float | None  # the all-day headway, outside periods (None: periods only)
    start_s: float
    end_s: float
    vehicles: int | None  # buses of the all-day timetable
    seats: int
    # no default: the scenario schema (sim/scenario.py, LineSpecModel) holds the only one
    wheelchair_places: int
    dwell_base_s: float = 10.0
    dwell_per_boarding_s: float = 3.0
    dwell_per_alighting_s: float = 2.0
    layover_s: float = 300.0
    depot: str | None = None
    loop: bool = False  # True: the last stop runs on to the first; False: runs come back
    breakdowns_per_hour: float = 0.0  # per bus in service; a spare comes from the depot
    repair_min: float = 30.0  # on a line without a depot the bus is repaired where it stands
    transfer_s: float = 120.0  # riders moving from a broken bus to its replacement
    # (start_s, end_s, headway_s, vehicles) of each timetable period, apart and within the day
    periods: tuple[tuple[float, float, float, int], ...] = ()
    extra_runs: tuple[float, ...] = ()  # departures from the first stop besides the timetable
    # departures from the last stop: the bus runs out in time and waits there (staged at a
    # venue for a session end)
    extra_runs_back: tuple[float, ...] = ()
    extra_vehicles: int = 0  # buses for the extra runs alone, beyond the timetable's

    def __post_init__(self):
        where = f"shuttle line {self.name!r}"
        if len(self.stops) < 2:
            raise InputError(f"{where}: stops has {len(self.stops)} stop(s); at least 2 needed")
        if len(set(self.stops)) != len(self.stops):
            raise InputError(f"{where}: stops repeat a stop: {list(self.stops)}")
        if (self.headway_s is None) != (self.vehicles is None) or (
                self.headway_s is None and not self.periods and not self.extra_moments):
            raise InputError(f"{where}: give headway_s and vehicles together, or periods or "
                             "extra runs")
        if self.loop and self.extra_runs_back:
            raise InputError(f"{where}: extra runs back on a loop line; a loop has no way back")
        checks = [("seats", self.seats, 0)]
        if self.headway_s is not None:
            checks += [("headway_s", self.headway_s, 0.0), ("vehicles", self.vehicles, 0)]
        for i, (_, _, h, k) in enumerate(self.periods):
            checks += [(f"periods[{i}] headway_s", h, 0.0), (f"periods[{i}] vehicles", k, 0)]
        for fld, value, low in checks:
            if not value > low:
                raise InputError(f"{where}: {fld} = {value!r}; must be > {low:g}")
        if self.wheelchair_places < 0:
            raise InputError(f"{where}: wheelchair_places = {self.wheelchair_places!r}; "
                             "must be >= 0")
        if self.end_s <= self.start_s:
            raise InputError(f"{where}: end ({self.end_s:g} s) must be after start "
                             f"({self.start_s:g} s)")

    @property
    def timetable_fleet(self) -> int:
        """Buses the timetable needs: the most of any period or the all-day timetable."""
        return max([self.vehicles or 1, *(p[3] for p in self.periods)])

    @property
    def fleet(self) -> int:
        """Buses on the line: the timetable's and those for the extra runs alone."""
        return self.timetable_fleet + self.extra_vehicles

    @property
    def extra_moments(self) -> tuple[float, ...]:
        """When the extra runs leave their stop (the first, or the last for runs back)."""
        return (*self.extra_runs, *self.extra_runs_back)

    def segments(self) -> tuple[tuple[float, float, float, int], ...]:
        """(start, end, headway, buses) of each part of the day that runs a headway, in time
        order: the periods and, between them, the all-day timetable if there is one."""
        return self._segments

    @cached_property
    def _segments(self) -> tuple[tuple[float, float, float, int], ...]:
        # worked out once: riders ask for the headway at every stop they reach
        out, t = [], self.start_s
        base = self.headway_s is not None
        for s, e, h, k in sorted(self.periods):
            if base and s > t:
                out.append((t, s, self.headway_s, self.vehicles))
            out.append((s, e, h, k))
            t = e
        if base and (t < self.end_s or not out):
            out.append((t, self.end_s, self.headway_s, self.vehicles))
        return tuple(out)

    def segment_departures(self, seg: tuple[float, float, float, int]) -> list[float]:
        """A segment's departures: every headway from its start, before its end (at its end
        too when that is the line's end)."""
        s, e, h, _ = seg
        times = [s + i * h for i in range(int((e - s) // h) + 1)]
        if e < self.end_s and times[-1] >= e:
            times.pop()
        return times

    def spans(self) -> list[tuple[float, float]]:
        """When the line runs: its segments, and each extra run as a moment."""
        return [(s, e) for s, e, _, _ in self.segments()] + [(t, t) for t in self.extra_moments]

    def headway_at(self, t: float) -> float:
        """The headway at time t: the segment's running then or next, else the last one's (0
        for a line of extra runs only)."""
        segments = self.segments()
        for _, e, h, _ in segments:
            if t < e:
                return h
        return segments[-1][2] if segments else 0.0

    def _until_service(self, at: float, headways: float) -> float:
        """Seconds from `at`: `headways` of a headway while a segment runs, else until the next
        segment or extra run (inf: none is left)."""
        dues = [max(h * headways, s - at) for s, e, h, _ in self.segments() if e >= at]
        dues += [t - at for t in self.extra_moments if t >= at]
        return min(dues, default=math.inf)

    def next_due_s(self, at: float) -> float:
        """Seconds from `at` until the next departure is due at the latest."""
        return self._until_service(at, 1.0)

    def expected_wait_s(self, at: float) -> float:
        """The wait a rider expects at `at`: half a headway, or until the service starts."""
        if not self.periods and not self.extra_moments:
            return max(self.headway_s / 2, self.start_s - at)
        return self._until_service(at, 0.5)


class StopQueue:
    """Riders waiting at one stop of one line, first come first served.

    A rider may ask to be told when it has waited too long (`join(..., patience_s=...)`): the
    queue then calls `rider.patience_over(time)` if it is still waiting by then. One timer per
    queue serves every rider (patience is the same for everyone at a stop of a line, so the
    deadlines come in joining order), instead of one Mesa event per rider.
    """

    def __init__(self, line: str, stop: str, model=None):
        self.line, self.stop = line, stop
        self.model = model
        self.waiting: deque = deque()
        self.joined: dict[int, float] = {}  # riders in the queue: when they joined
        self.joins: list[tuple[float, str]] = []  # (time, stop going to) of every rider joining
        self.left_waits: list[float] = []  # seconds waited by riders who left without boarding
        self.stats = StopStats()
        # (deadline, rider, joined) in joining order; one kernel event per queue at a time for
        # the earliest, not one per rider: thousands of riders wait at a stop on a busy day
        self._deadlines: deque = deque()
        self._timer = False

    def join(self, rider, time: float, patience_s: float | None = None) -> None:
        self.joins.append((time, rider.destination))
        self.waiting.append(rider)
        self.joined[rider.rider_id] = time
        if patience_s is not None:
            self._deadlines.append((time + patience_s, rider, time))
            if not self._timer:
                self._arm()

    def leave(self, rider) -> None:
        """The rider boarded or walked off."""
        self.joined.pop(rider.rider_id, None)

    def remove(self, rider) -> None:
        """Take a rider out of the queue (it gave up or was called away), keeping its wait."""
        self.waiting.remove(rider)
        joined = self.joined.get(rider.rider_id)
        if joined is not None and self.model is not None:
            self.left_waits.append(self.model.time - joined)
        self.leave(rider)

    def _live(self, entry) -> bool:
        return self.joined.get(entry[1].rider_id) == entry[2]

    def _arm(self) -> None:
        while self._deadlines and not self._live(self._deadlines[0]):
            self._deadlines.popleft()
        if self._deadlines:
            self._timer = True
            self.model.schedule_at_or_now(self._expire, self._deadlines[0][0])

    @event_method
    def _expire(self) -> None:
        self._timer = False
        now = self.model.time
        while self._deadlines and self._deadlines[0][0] <= now:
            entry = self._deadlines.popleft()
            if self._live(entry):
                entry[1].patience_over(now)
        self._arm()

    def __len__(self) -> int:
        return len(self.waiting)


@dataclass
class StopStats:
    """What happened at one stop of one line (stops.csv)."""

    boardings: int = 0
    alightings: int = 0
    denied_riders: set = field(default_factory=set)  # rider ids a full bus left here
    waits: list = field(default_factory=list)  # seconds from joining to boarding


@dataclass
class LineStats:
    """What happened on one line. Boardings, alightings, waits and the people a full bus left
    behind are counted at each stop (StopStats) and added up here, so a line's figures are
    always its stops' (lines.csv and stops.csv)."""

    stops: list = field(default_factory=list)  # StopStats of each stop, in the line's order
    denied: int = 0
    breakdowns: int = 0
    runs: int = 0
    km: float = 0.0
    occupancy_samples: list = field(default_factory=list)  # (time, riders on board) per leg
    # per leg in service, on arrival: (time it left the stop, the line's run number, riders on
    # board, riders who boarded at that stop, metres driven, whether the run is outbound);
    # pull-outs, pull-ins and spares driving out to a broken-down bus are not legs in service
    legs: list = field(default_factory=list)
    run_times: list = field(default_factory=list)  # (began, ended, outbound) of each run done

    @property
    def boardings(self) -> int:
        return sum(st.boardings for st in self.stops)

    @property
    def alightings(self) -> int:
        return sum(st.alightings for st in self.stops)

    @property
    def waits(self) -> list[float]:
        """Seconds from joining a stop's queue to boarding, stop by stop."""
        return [w for st in self.stops for w in st.waits]

    @property
    def denied_riders(self) -> set:
        """Rider ids a full bus of the line left at one of its stops."""
        return set().union(*(st.denied_riders for st in self.stops))


class ShuttleLine:
    """One line: its stops' queues, its buses and their schedule."""

    def __init__(self, model, spec: LineSpec):
        self.model = model
        self.spec = spec
        net = model.network
        for stop in (*spec.stops, *([spec.depot] if spec.depot else [])):
            if stop not in net.node_index:
                raise InputError(f"shuttle line {spec.name!r}: stop {stop!r} is not a node of "
                                 "the network")
        self.queues = {s: StopQueue(spec.name, s, model) for s in spec.stops}
        self._free_flow: dict[tuple[str, str], float] = {}
        self._router = None
        # per run direction: the stops in order, and at each stop the stops still ahead
        # (asked at every stop a bus serves)
        self.run_stops_of = {out: tuple(self.run_stops(out)) for out in (True, False)}
        self.stops_ahead = {out: [frozenset(stops[i + 1:]) for i in range(len(stops))]
                       for out, stops in self.run_stops_of.items()}
        self._legs: dict[tuple[str, str], tuple] = {}  # (a, b) -> (label, breakdown chance)
        self._metres: dict[tuple[int, ...], float] = {}  # sim route -> its length
        self.stats = LineStats(stops=[q.stats for q in self.queues.values()])
        self.buses = [Shuttle(model, self, i) for i in range(spec.fleet)]
        self.departures = self._hand_out_runs()
        for bus in self.buses:
            bus.start()

    def _hand_out_runs(self) -> list[float]:
        """Give every departure to a bus, in time order; returns the departures. A segment's
        runs go in turn to its number of buses, those that have waited longest when it
        begins (with one segment: bus 0, 1, 2, ...); an extra run to the bus that has waited
        longest, of the extra buses when the line has some (so the timetable keeps its own),
        a run back leaving the first stop `back_lead_s` before it. A bus late from its last
        run starts late."""
        spec = self.spec
        segments = spec.segments()
        todo = [(t, k, i) for k, seg in enumerate(segments)
                for i, t in enumerate(spec.segment_departures(seg))]
        todo += [(t, -1, 0) for t in spec.extra_runs]
        if spec.extra_runs_back:  # out in time, then it waits
            lead = self.back_lead_s()
            todo += [(t - lead, -2, t) for t in spec.extra_runs_back]
        last = [-math.inf] * len(self.buses)  # each bus's latest departure so far
        timetable = range(spec.timetable_fleet)
        extra = range(spec.timetable_fleet, spec.fleet) if spec.extra_vehicles else \
            range(len(last))
        pools: dict[int, list[int]] = {}
        for t, k, i in sorted(todo):
            busy_until = t
            if k < 0:
                b = min(extra, key=lambda j: (last[j], j))
                if k == -2:  # a run back from the last stop at i: the bus waits there for it
                    self.buses[b].back_at[len(self.buses[b].runs)] = busy_until = i
            else:
                pool = pools.get(k)
                if pool is None:
                    pool = pools[k] = sorted(timetable,
                                             key=lambda j: (last[j], j))[:segments[k][3]]
                b = pool[i % len(pool)]
            self.buses[b].runs.append(t)
            last[b] = busy_until
        return sorted(t for t, _, _ in todo)

    def free_flow_run_s(self, outbound: bool) -> float:
        """A run's free-flow driving time one way plus a base dwell at each of its stops."""
        stops = self.run_stops_of[outbound]
        return sum(self.free_flow(a, b) for a, b in pairwise(stops)) \
            + self.spec.dwell_base_s * len(stops)

    def back_lead_s(self) -> float:
        """How long before a run back from the last stop its bus leaves the first stop: the
        run out at half again its free-flow time (and dwells), and the layover; early, it
        waits at the last stop."""
        return BACK_LEAD_FACTOR * self.free_flow_run_s(True) + self.spec.layover_s

    def free_flow(self, a: str, b: str) -> float:
        """Free-flow seconds from stop a to stop b (cached: asked before every leg)."""
        key = (a, b)
        if key not in self._free_flow:
            from sim.routing import Router

            if self._router is None:
                self._router = Router(self.model.network,
                                      self.model.engine.net_free_flow("shuttle"))
            self._free_flow[key] = self._router.route(a, b).seconds
        return self._free_flow[key]

    def leg(self, a: str, b: str) -> tuple[tuple[str, str], float]:
        """The engine label of a leg from stop a to stop b, and the chance that a bus breaks
        down before it (a leg of its free-flow length); cached: asked before every leg."""
        leg = self._legs.get((a, b))
        if leg is None:
            hours = self.free_flow(a, b) / 3600.0 if self.spec.breakdowns_per_hour > 0 else 0.0
            leg = self._legs[a, b] = ((f"{self.spec.name}:{a}", b),
                                      1.0 - math.exp(-self.spec.breakdowns_per_hour * hours))
        return leg

    def route_metres(self, vehicle: int) -> float:
        """Metres of the route a leg's engine vehicle took (cached per route: buses of a line
        drive the same few routes all day)."""
        engine = self.model.engine
        key = tuple(engine.v_route[vehicle] or ())
        metres = self._metres.get(key)
        if metres is None:
            metres = self._metres[key] = engine.route_metres(vehicle)
        return metres

    def run_stops(self, outbound: bool) -> list[str]:
        """The stops one run serves, in order: out from the first stop, or back to it."""
        stops = list(self.spec.stops)
        if self.spec.loop:
            return [*stops, stops[0]]
        return stops if outbound else stops[::-1]


class Shuttle(Agent):
    """One bus of a line. Its position is the node of its last stop; legs run in the engine."""

    def __init__(self, model, line: ShuttleLine, index: int):
        super().__init__(model)
        self.line = line
        self.index = index
        self.runs: list[float] = []  # its scheduled departures from the first stop
        self.back_at: dict[int, float] = {}  # run index -> when its run back leaves, held
        self.run_no = 0  # index into runs of the next (or current) outbound run
        self.outbound = True
        self.stops: list[str] = []
        self.at = 0  # index of the current stop in self.stops
        self.riders: list = []
        self.wheelchairs = 0
        self.status = "depot"
        self.max_load = 0
        self.run_id = 0  # the line's number of the run this bus is on (1, 2, ...)
        self._leg = None  # (time it left the stop, run, riders, boarded) of the leg under way
        self._run_began = 0.0  # when the run under way began
        self._resume: tuple[str, str] | None = None  # the leg a broken-down bus goes on with

    # ---- schedule -----------------------------------------------------------------------
    def start(self) -> None:
        if not self.runs:
            return
        spec = self.line.spec
        first = spec.stops[0]
        if spec.depot and spec.depot != first:
            self.status = "pull_out"
            travel = self.line.free_flow(spec.depot, first)
            self._drive(spec.depot, first, max(self.model.time, self.runs[0] - travel))
        else:
            self.status = "layover"
            self.model.schedule_at_or_now(self._begin_run, self.runs[0])

    def _drive(self, a: str, b: str, when: float) -> None:
        label, breakdown = self.line.leg(a, b)
        # a breakdown before this leg, with the chance a leg of its free-flow length has
        if self.status == "in_service" and self.line.spec.breakdowns_per_hour > 0 \
                and self.model.rng.random() < breakdown:
            self._break_down(a, b, when)
            return
        node_index = self.model.network.node_index
        self.model.engine.add_vehicle(when, node_index[a], node_index[b], kind="shuttle",
                                      listener=self, label=label)

    def _break_down(self, a: str, b: str, when: float) -> None:
        """The bus is out at stop `a`: a spare drives out from the depot (or it is repaired
        where it stands), the riders move across, and the run goes on to `b`."""
        spec = self.line.spec
        self.line.stats.breakdowns += 1
        self.status = "broken"
        self._resume = (a, b)
        if spec.depot and spec.depot != a:
            net = self.model.network
            self.model.engine.add_vehicle(when, net.node_index[spec.depot], net.node_index[a],
                                          kind="shuttle", listener=self,
                                          label=(f"{spec.name}:spare", a))
        else:
            self.model.schedule_at_or_now(self._repaired, when + spec.repair_min * 60)

    @event_method
    def _repaired(self) -> None:
        self._resume_run(self.model.time)

    def _resume_run(self, time: float) -> None:
        a, b = self._resume
        self.status = "in_service"
        net = self.model.network
        self.model.engine.add_vehicle(time + self.line.spec.transfer_s, net.node_index[a],
                                      net.node_index[b], kind="shuttle", listener=self,
                                      label=(f"{self.line.spec.name}:{a}", b))

    @event_method
    def _begin_run(self) -> None:
        if self.retasked_by is not None:  # taken off the line (see retask)
            return
        self.stops = self.line.run_stops_of[self.outbound]
        self.at = 0
        self.status = "in_service"
        self.line.stats.runs += 1
        self.run_id = self.line.stats.runs
        self._run_began = self.model.time
        self._serve_stop(self.model.time)

    # ---- engine callbacks -----------------------------------------------------------------
    listens_to_nodes = False  # the engine tells it of arrival only (its vehicle stays fast)

    def on_node(self, vehicle: int, node: str, time: float) -> None:
        pass  # legs are stop to stop: nothing happens at junctions between

    def on_arrive(self, vehicle: int, time: float) -> None:
        metres = self.line.route_metres(vehicle)
        self.line.stats.km += metres / 1000.0
        if self.status == "in_service":
            self.line.stats.legs.append((*self._leg, metres, self.outbound))
        if self.status == "pull_out":
            self.status = "layover"
            self.model.schedule_at_or_now(self._begin_run, self.runs[0])
            return
        if self.status == "pull_in":
            self.status = "depot"
            return
        if self.status == "broken":  # the spare has reached the broken-down bus
            self._resume_run(time)
            return
        self.at += 1
        self._serve_stop(time)

    # ---- stops ------------------------------------------------------------------------------
    def _serve_stop(self, time: float) -> None:
        stop = self.stops[self.at]
        line = self.line
        spec, stats = line.spec, line.stats
        alighted = 0
        if self.riders:
            staying = []
            for rider in self.riders:
                if rider.destination == stop:
                    alighted += 1
                    self.wheelchairs -= bool(rider.wheelchair)
                    rider.on_alight(self, stop, time)
                else:
                    staying.append(rider)
            self.riders = staying
        boarded = 0
        riders = self.riders
        last = self.at == len(self.stops) - 1
        queue = line.queues[stop]
        here = queue.stats
        here.alightings += alighted
        if not last and queue.waiting:
            ahead = line.stops_ahead[self.outbound][self.at]
            seats, places = spec.seats, spec.wheelchair_places
            waiting = queue.waiting
            denied = 0
            left = []  # those looked at who stay, in order
            seen = 0
            for rider in waiting:
                if len(riders) >= seats:
                    break
                seen += 1
                if rider.destination not in ahead:
                    left.append(rider)  # waits for a bus going its way
                elif rider.wheelchair and self.wheelchairs >= places:
                    denied += 1
                    here.denied_riders.add(rider.rider_id)
                    rider.on_denied(self, time)
                    left.append(rider)
                else:
                    riders.append(rider)
                    self.wheelchairs += bool(rider.wheelchair)
                    boarded += 1
                    here.waits.append(time - queue.joined.get(rider.rider_id, time))
                    queue.leave(rider)
                    rider.on_board(self, time)
            if seen < len(waiting):  # the bus is full: the rest going its way are denied
                for rider in [r for r in islice(waiting, seen, None) if r.destination in ahead]:
                    denied += 1
                    here.denied_riders.add(rider.rider_id)
                    rider.on_denied(self, time)
            stats.denied += denied
            if boarded:
                rest = list(islice(waiting, seen, None))
                waiting.clear()
                waiting.extend(left)
                waiting.extend(rest)
        here.boardings += boarded
        if len(riders) > self.max_load:
            self.max_load = len(riders)
        stats.occupancy_samples.append((time, len(riders), spec.seats))
        dwell = spec.dwell_base_s + spec.dwell_per_boarding_s * boarded \
            + spec.dwell_per_alighting_s * alighted
        if last:
            self._end_run(time + dwell)
        else:
            self._leg = (time + dwell, self.run_id, len(riders), boarded)
            self._drive(stop, self.stops[self.at + 1], time + dwell)

    def _end_run(self, time: float) -> None:
        spec = self.line.spec
        self.line.stats.run_times.append((self._run_began, time, self.outbound))
        if self.retasked_by is not None:  # the run is over and the bus empty: hand it over
            self._hand_over(self.stops[-1], time)
            return
        if self.outbound and not spec.loop:  # come back after the layover
            self.outbound = False
            self.status = "layover"
            back = max(time + spec.layover_s, self.back_at.get(self.run_no, -math.inf))
            self.model.schedule_at_or_now(self._begin_run, back)
            return
        self.outbound = True
        self.run_no += 1
        if self.run_no < len(self.runs):
            self.status = "layover"
            nxt = max(time + spec.layover_s, self.runs[self.run_no])
            self.model.schedule_at_or_now(self._begin_run, nxt)
        elif spec.depot and spec.depot != self.stops[-1]:
            self.status = "pull_in"
            self._drive(self.stops[-1], spec.depot, time)
        else:
            self.status = "depot"

    # ---- re-tasking (a venue evacuation takes buses off their lines) -------------------------
    retasked_by = None  # who took this bus off its line (has take(bus, node, time))

    def retask(self, taker, time: float) -> bool:
        """Take this bus off its line for `taker`: at once when it stands empty at a terminal
        or its depot, else at the end of the run it is on (its riders get off first). Buses
        pulling out, pulling in or broken down are not taken (False)."""
        if self.retasked_by is not None or self.status not in ("layover", "depot",
                                                                "in_service"):
            return False
        self.retasked_by = taker
        if self.status != "in_service":
            spec = self.line.spec
            last = self.stops[-1] if self.stops else spec.stops[0]
            self._hand_over(spec.depot if self.status == "depot" and spec.depot else last, time)
        return True

    def _hand_over(self, node: str, time: float) -> None:
        self.status = "retasked"
        self.retasked_by.take(self, node, time)

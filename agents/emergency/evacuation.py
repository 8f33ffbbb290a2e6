"""A venue's evacuation: occupants out through the exits, to the assembly point, and away on
re-tasked buses (or on foot).

At the alarm the delegates in session at the venue (of the chosen roles) leave their session
(their record shows it), together with a number of other occupants who are not simulated one by
one. Each exit passes people at its throughput, one queue per exit; a person takes the exit
that gets them out first, so the building clears in about occupants / total throughput after
the walk to the exits. From the exits everyone walks to the assembly point. There, people whose
destination (a delegate's hotel, a day visitor's parked car, the safe place of the others) is
within walking distance go on foot, and the rest wait for a bus.

Buses: a number of each named shuttle line's buses are taken off their lines (a bus standing
empty at once, a bus on a run when the run ends), and reserve buses leave their depot; all drive
to the assembly point through the traffic engine. The bus at the head of the loading line boards
waiting people in arrival order, on at most `max_stops` destinations, and leaves when full, or
`fill_wait_s` after its first boarding, or when nobody else is coming. It drops people off
nearest destination first and comes back while people remain. Evacuation buses are engine
vehicles of the shuttle class, on the roads the responders use.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from sim.errors import InputError
from sim.geo import haversine_m

WALK_MS = 4.5 / 3.6  # without a summit layer: walking speed and detour factor
DETOUR = 1.3


@dataclass
class Evacuee:
    number: int
    delegate: object | None  # a Delegate, or None for one of the others
    dest: str | None  # node to take them to; None: they walk off from the assembly point
    exit: int = -1
    out_s: float = 0.0  # through the exit
    assembled_s: float = 0.0  # at the assembly point
    left_s: float | None = None  # left the assembly point, on a bus or on foot
    mode: str = ""  # bus, walk
    delivered_s: float | None = None  # at the destination


@dataclass
class EvacBus:
    """A bus working for the evacuation: a line's shuttle taken off its line, or a reserve
    bus. The engine calls it back when a leg ends."""

    evacuation: object
    name: str
    seats: int
    source: str  # the line's name, or "reserve"
    status: str = "coming"  # coming, at_assembly, driving, done
    to: str = ""  # the node it is driving to (or stands at)
    riders: list = field(default_factory=list)
    stops: list = field(default_factory=list)  # destinations still to serve on this trip
    vehicles: list = field(default_factory=list)  # engine vehicle ids
    trips: int = 0
    carried: int = 0
    peak: int = 0
    loading_since: float | None = None
    first_at_assembly_s: float | None = None
    listens_to_nodes = False

    def on_node(self, vehicle: int, node: str, time: float) -> None:
        pass

    def on_arrive(self, vehicle: int, time: float) -> None:
        self.evacuation.bus_arrived(self, time)


class Evacuation:
    """One evacuation of the scenario's `[[emergency.evacuations]]` (see the module doc)."""

    def __init__(self, layer, spec, index: int):
        self.layer = layer
        self.model = model = layer.model
        self.spec = spec
        self.index = index
        self.name = spec.name or f"{spec.venue} evacuation"
        self.net = model.network
        where = f"emergency.evacuations[{index}]"
        self.venue_node = self._node(spec.venue, f"{where}.venue")
        self.assembly = self._node(spec.assembly, f"{where}.assembly")
        self.others_to = self._node(spec.others_to, f"{where}.others_to") \
            if spec.others_to else None
        self.depot = self._node(spec.reserve_depot, f"{where}.reserve_depot") \
            if spec.reserve_depot else None
        summit = model.summit
        lines = {ln.spec.name: ln for ln in summit.lines} if summit is not None else {}
        for name in spec.buses:
            if name not in lines:
                raise InputError(f"{where}.buses: {name!r} is not a shuttle line; lines: "
                                 f"{', '.join(repr(n) for n in lines) or '(none)'}")
        self.lines = lines
        self.rates = [e.per_min / 60.0 for e in spec.exits]  # people per second
        self.walk_max_m = spec.walk_max_m if spec.walk_max_m is not None else (
            summit.spec.max_walk_m if summit is not None else 900.0)
        self.rng = np.random.default_rng(np.random.SeedSequence(
            [model.seed_used, 119, 7, index]))
        self.started = False
        self.start_s: float | None = None
        self.evacuees: list[Evacuee] = []
        self.waiting: deque[Evacuee] = deque()  # at the assembly point, in arrival order
        self.buses: list[EvacBus] = []
        self.line_up: deque[EvacBus] = deque()  # buses at the assembly point, in order
        self.retasked: dict[str, int] = {}
        self.assembled = 0
        self.area_clear_s: float | None = None
        self._due: list[tuple] = []
        self._wakes: set[float] = set()
        self._seq = itertools.count()
        self._rows: dict[str, np.ndarray] = {}
        self._router = None  # free-flow car times, made when first asked
        start = spec.at
        if spec.trigger is not None:
            inc = next((i for i in layer.incidents if i.scripted and i.name == spec.trigger),
                       None)
            start = None if inc is None else inc.call_s + spec.delay_min * 60.0
        if start is not None and layer.start_s <= start < layer.end_s:
            model.schedule_at_or_now(self.start, start)

    def _node(self, name: str, where: str) -> str:
        try:
            return self.net.resolve(name)[0]
        except InputError as exc:
            raise InputError(f"{where} = {name!r}: {exc}") from None

    # ---- distances --------------------------------------------------------------------------
    def walk_s(self, a: str, b: str) -> float:
        summit = self.model.summit
        if summit is not None:
            return summit.walk_s(a, b)
        na, nb = self.net.node(a), self.net.node(b)
        return haversine_m(na.lat, na.lon, nb.lat, nb.lon) * DETOUR / WALK_MS

    def walk_m(self, a: str, b: str) -> float:
        summit = self.model.summit
        speed = summit.spec.walk_speed_kmh / 3.6 if summit is not None else WALK_MS
        return self.walk_s(a, b) * speed

    def drive_s(self, a: str, b: str) -> float:
        """Free-flow seconds from a to b (rows cached per origin)."""
        row = self._rows.get(a)
        if row is None:
            from sim.routing import Router

            if self._router is None:
                self._router = Router(self.net, self.model.engine.net_free_flow("car"))
            row = self._rows[a] = self._router.times_from(a)[0]
        return float(row[self.net.node_index[b]])

    # ---- timed steps (one Mesa event per distinct time) ------------------------------------
    # Its own queue, not the kernel's batches: steps due at one time (or within 1e-9 s) all run
    # at the first wake-up for it, in planned order; batches would put later-planned ones after
    # other events of that time, and outputs would change.
    def _at(self, t: float, kind: str, item) -> None:
        t = max(t, self.model.time)
        heapq.heappush(self._due, (t, next(self._seq), kind, item))
        if t not in self._wakes:
            self._wakes.add(t)
            self.model.schedule_event(self._wake, at=t)

    def _wake(self) -> None:
        now = self.model.time
        self._wakes.discard(now)
        while self._due and self._due[0][0] <= now + 1e-9:
            t, _, kind, item = heapq.heappop(self._due)
            match kind:
                case "assembled":
                    self._on_assembled(item, t)
                case "walked":
                    self._on_walked(item, t)
                case "bus_here":
                    self._on_bus_here(item, t)
                case "fill_timeout":
                    self._on_fill_timeout(item, t)
                case _:
                    raise ValueError(f"unknown evacuation step {kind!r}")

    # ---- the alarm --------------------------------------------------------------------------
    def start(self) -> None:
        t = self.model.time
        spec = self.spec
        self.started, self.start_s = True, t
        people: list[Evacuee] = []
        summit = self.model.summit
        if spec.delegates and summit is not None:
            roles = set(spec.roles) if spec.roles is not None else None
            for d in summit.delegates:
                if d.state != "in_session" or d.current is None or \
                        summit.venue_nodes.get(d.current.venue) != self.venue_node:
                    continue
                if roles is not None and d.guest.role not in roles:
                    continue
                if d.evacuate(t):
                    people.append(Evacuee(0, d, d.car_at or d.hotel_node))
        people += [Evacuee(0, None, self.others_to) for _ in range(spec.others)]
        order = self.rng.permutation(len(people)).tolist()  # delegates and others mingle
        free = [t + spec.inside_min * 60.0] * len(self.rates)
        for n, k in enumerate(order):
            ev = people[k]
            ev.number = n + 1
            # the exit that gets this person out first (ties: the first listed)
            e = min(range(len(free)), key=lambda i: (free[i] + 1.0 / self.rates[i], i))
            free[e] += 1.0 / self.rates[e]
            ev.exit, ev.out_s = e, free[e]
            ev.assembled_s = ev.out_s + spec.to_assembly_min * 60.0
            self.evacuees.append(ev)
            self._at(ev.assembled_s, "assembled", ev)
        self._call_buses(t)
        if not self.evacuees:
            self.area_clear_s = t

    def _call_buses(self, t: float) -> None:
        spec = self.spec
        for name, n in spec.buses.items():
            line = self.lines[name]
            order = sorted(line.buses, key=lambda b: (b.status == "in_service", b.index))
            taken = 0
            for bus in order:
                if taken == n:
                    break
                taken += bus.retask(self, t)
            self.retasked[name] = taken
        for k in range(spec.reserve_buses):
            bus = EvacBus(self, f"reserve bus {k + 1}", spec.seats, "reserve")
            self.buses.append(bus)
            self._drive(bus, self.depot, self.assembly, t + spec.reserve_ready_min * 60.0)

    def take(self, shuttle, node: str, time: float) -> None:
        """A line's bus handed over at `node` (shuttle.retask calls back)."""
        line = shuttle.line.spec
        bus = EvacBus(self, f"{line.name} bus {shuttle.index + 1}", line.seats, line.name)
        self.buses.append(bus)
        self._drive(bus, node, self.assembly, time)

    # ---- people -----------------------------------------------------------------------------
    def _on_assembled(self, ev: Evacuee, t: float) -> None:
        self.assembled += 1
        d = ev.delegate
        if ev.dest is None or self.walk_m(self.assembly, ev.dest) <= self.walk_max_m:
            ev.left_s, ev.mode = t, "walk"
            if d is not None:
                d.evacuation_state("walking")
            walk = 0.0 if ev.dest is None else self.walk_s(self.assembly, ev.dest)
            self._at(t + walk, "walked", ev)
        else:
            if d is not None:
                d.evacuation_state("waiting")
            self.waiting.append(ev)
            self._load(t)
        self._check_clear(t)

    def _on_walked(self, ev: Evacuee, t: float) -> None:
        ev.delivered_s = t
        if ev.delegate is not None:
            ev.delegate.evacuation_reached(ev.dest)

    @property
    def all_assembled(self) -> bool:
        return self.assembled == len(self.evacuees)

    def _check_clear(self, t: float) -> None:
        if self.area_clear_s is None and self.all_assembled and not self.waiting:
            self.area_clear_s = t
            for bus in list(self.line_up):  # nobody left to take
                if not bus.riders:
                    self.line_up.remove(bus)
                    bus.status = "done"

    # ---- buses ------------------------------------------------------------------------------
    def _drive(self, bus: EvacBus, a: str, b: str, t: float) -> None:
        bus.to = b
        if a == b:
            self._at(t, "bus_here", bus)
            return
        idx = self.net.node_index
        vid = self.model.engine.add_vehicle(t, idx[a], idx[b], kind="shuttle", listener=bus,
                                            label=(f"evacuation: {bus.name}", b))
        bus.vehicles.append(vid)

    def bus_arrived(self, bus: EvacBus, t: float) -> None:
        self._on_bus_here(bus, t)

    def _on_bus_here(self, bus: EvacBus, t: float) -> None:
        if bus.to == self.assembly:
            bus.status = "at_assembly"
            if bus.first_at_assembly_s is None:
                bus.first_at_assembly_s = t
            if self.area_clear_s is not None:
                bus.status = "done"
                return
            self.line_up.append(bus)
            self._load(t)
            return
        # a drop-off: everyone for this stop gets off, then on to the next stop or back
        stop = bus.to
        off = [ev for ev in bus.riders if ev.dest == stop]
        bus.riders = [ev for ev in bus.riders if ev.dest != stop]
        for ev in off:
            ev.delivered_s = t
            if ev.delegate is not None:
                ev.delegate.evacuation_reached(stop)
        leave = t + self.spec.board_s * len(off)
        if bus.stops:
            self._drive(bus, stop, bus.stops.pop(0), leave)
        elif self.area_clear_s is None:
            self._drive(bus, stop, self.assembly, leave)
        else:
            bus.status = "done"

    def _load(self, t: float) -> None:
        """Board waiting people onto the bus at the head of the line; send it off when full,
        when it has waited long enough, or when nobody else is coming."""
        spec = self.spec
        while self.line_up:
            bus = self.line_up[0]
            dests = {ev.dest for ev in bus.riders}
            kept: deque[Evacuee] = deque()
            while self.waiting and len(bus.riders) < bus.seats:
                ev = self.waiting.popleft()
                if ev.dest not in dests and len(dests) >= spec.max_stops:
                    kept.append(ev)
                    continue
                dests.add(ev.dest)
                bus.riders.append(ev)
                ev.left_s, ev.mode = t, "bus"
                if ev.delegate is not None:
                    ev.delegate.evacuation_state("riding")
            kept.extend(self.waiting)
            self.waiting = kept
            if bus.riders and bus.loading_since is None:
                bus.loading_since = t
                self._at(t + spec.fill_wait_s, "fill_timeout", bus)
            full = len(bus.riders) >= bus.seats or (
                self.waiting and len(dests) >= spec.max_stops)
            nobody_coming = self.all_assembled
            if bus.riders and (full or nobody_coming):
                self._depart(bus, t)
                continue
            break
        self._check_clear(t)

    def _on_fill_timeout(self, bus: EvacBus, t: float) -> None:
        if bus.status == "at_assembly" and bus.riders and self.line_up and \
                self.line_up[0] is bus and bus.loading_since is not None and \
                t >= bus.loading_since + self.spec.fill_wait_s - 1e-9:
            self._depart(bus, t)
            self._load(t)

    def _depart(self, bus: EvacBus, t: float) -> None:
        self.line_up.popleft()
        leave = max(t + self.spec.board_s, bus.loading_since + self.spec.board_s *
                    len(bus.riders))
        bus.loading_since = None
        bus.trips += 1
        bus.carried += len(bus.riders)
        bus.peak = max(bus.peak, len(bus.riders))
        # nearest destination first, then the nearest to that, and so on
        left = sorted({ev.dest for ev in bus.riders})
        order, here = [], self.assembly
        while left:
            nxt = min(left, key=lambda n: (self.drive_s(here, n), n))
            order.append(nxt)
            left.remove(nxt)
            here = nxt
        bus.status = "driving"
        bus.stops = order[1:]
        self._drive(bus, self.assembly, order[0], leave)

    # ---- accounting -------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Where the evacuees are now: each in exactly one place."""
        now = self.model.time
        out = {"inside": 0, "to_assembly": 0, "at_assembly": 0, "on_bus": 0, "on_foot": 0,
               "delivered": 0, "walked_off": 0}
        waiting = {id(ev) for ev in self.waiting}
        for ev in self.evacuees:
            if ev.delivered_s is not None:
                out["walked_off" if ev.dest is None else "delivered"] += 1
            elif ev.left_s is not None:
                out["on_bus" if ev.mode == "bus" else "on_foot"] += 1
            elif id(ev) in waiting:
                out["at_assembly"] += 1
            elif ev.out_s <= now:
                out["to_assembly"] += 1
            else:
                out["inside"] += 1
        return out

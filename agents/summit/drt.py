"""Demand-responsive transport (DRT): minibuses that pick riders up where they ask to be picked
up, share rides when the detour allows, and refuse a request they cannot serve in time.

A service runs its vehicles between `start_s` and `end_s`. A request (rider, origin, destination)
at the current time goes to the vehicle whose plan takes it in with the least added vehicle time
(an insertion heuristic: every vehicle, every pickup and drop-off position in the stops it has
left). An insertion must keep, for every rider of that vehicle, the seats and wheelchair places
along the way, the pickup no later than the request time plus `max_wait_s`, and the ride within
`max_detour` times the direct time plus `detour_slack_s`; a request no vehicle can take is
rejected. The plan uses free-flow times (times `speed_factor`, so a scenario can plan with
congested times); the vehicles drive stop to stop through the traffic engine, and the plan is
re-timed from where they actually are. An accepted rider is always picked up and delivered, even
when traffic makes the vehicle later than planned: a late plan only stops the vehicle from taking
more riders it would delay further.

A vehicle visits a node once for all of its consecutive stops there (drop-offs first, then
pickups), dwells `dwell_s`, and drives on to the first stop of its plan then; once it is on its
way, requests can only go after the stop it is driving to. With nothing left to do it waits
where its last stop was, and after `end_s` it drives back to the depot.

Riders are any objects with `rider_id`, `wheelchair` (bool), and `on_board(vehicle, time)` and
`on_alight(vehicle, stop, time)` methods (delegates). The ride limit counts from the end of the
dwell at the pickup, so a rider travelling alone rides exactly the direct time as planned (the
ride times in the stats run from boarding to alighting).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import count

from mesa import Agent

from sim.errors import InputError

_EPS = 1e-6  # seconds: plans compare sums of floats


@dataclass(frozen=True)
class DrtSpec:
    """A DRT service as a scenario describes it (the depot is a node id)."""

    name: str
    vehicles: int
    seats: int
    start_s: float
    end_s: float
    depot: str
    max_wait_s: float  # latest pickup = request time + max_wait_s
    max_detour: float  # ride <= max_detour x direct time + detour_slack_s
    # no defaults: the scenario schema (sim/scenario.py, DrtSpecModel) holds the only ones
    wheelchair_places: int
    detour_slack_s: float
    dwell_s: float  # per stop visited
    speed_factor: float  # the plan's times are free-flow times times this

    def __post_init__(self):
        where = f"DRT service {self.name!r}"
        for fld, value in (("vehicles", self.vehicles), ("seats", self.seats),
                           ("max_wait_s", self.max_wait_s), ("speed_factor", self.speed_factor)):
            if not value > 0:
                raise InputError(f"{where}: {fld} = {value!r}; must be > 0")
        for fld, value in (("wheelchair_places", self.wheelchair_places),
                           ("detour_slack_s", self.detour_slack_s), ("dwell_s", self.dwell_s)):
            if not value >= 0:
                raise InputError(f"{where}: {fld} = {value!r}; must be >= 0")
        if not self.max_detour >= 1.0:
            raise InputError(f"{where}: max_detour = {self.max_detour!r}; must be >= 1.0 "
                             "(a ride cannot be shorter than the direct trip)")
        if self.end_s <= self.start_s:
            raise InputError(f"{where}: end ({self.end_s:g} s) must be after start "
                             f"({self.start_s:g} s)")


# ---- the insertion search (pure: a travel-time matrix in, a plan out) ------------------------
@dataclass(frozen=True, slots=True)
class Stop:
    """One stop of a vehicle's plan: a rider's pickup or drop-off at a node."""

    node: int
    rider: int
    pickup: bool


@dataclass(frozen=True, slots=True)
class Need:
    """What a rider of a plan is owed: a pickup by `latest_pickup_s` (riders still waiting) and a
    ride of at most `max_ride_s`; a rider already on board gives `ride_from_s`, when the ride
    began (boarding plus the dwell)."""

    wheelchair: bool
    latest_pickup_s: float
    max_ride_s: float
    ride_from_s: float | None = None


@dataclass(frozen=True, slots=True)
class Insertion:
    """A plan with a new rider in it: the stops, each stop's planned arrival, and the cost."""

    stops: tuple[Stop, ...]
    times: tuple[float, ...]
    added_s: float  # the vehicle's extra time to finish the plan
    pickup_s: float
    dropoff_s: float


def stop_times(travel, start_node: int, start_s: float, stops, dwell_s: float) -> list[float]:
    """Planned arrival at each stop. The vehicle can leave `start_node` at `start_s`; a stop at
    the node of the stop before it is served in the same visit (same arrival, one dwell)."""
    out = []
    node, t = start_node, start_s
    for i, s in enumerate(stops):
        if i == 0:
            t = start_s + travel[start_node][s.node]
        elif s.node != node:
            t = t + dwell_s + travel[node][s.node]
        node = s.node
        out.append(t)
    return out


def _after(travel, node, t, first: bool, nxt, dwell_s):
    """Arrival at `nxt` from a stop at `node` reached at `t` (or from the start if `first`)."""
    if first:
        return t + travel[node][nxt]
    if nxt == node:
        return t
    return t + dwell_s + travel[node][nxt]


def insert_request(travel, start_node: int, start_s: float, stops, needs: dict, rider: int,
                   need: Need, origin: int, destination: int, *, seats: int,
                   wheelchair_places: int, dwell_s: float, first: int = 0) -> Insertion | None:
    """The cheapest feasible way to add a rider's pickup at `origin` and drop-off at
    `destination` to a vehicle's plan, or None.

    `travel[a][b]` gives planned seconds from node a to node b; `stops` is the plan the vehicle
    has left, starting from `start_node` at `start_s`; `needs` maps every rider in `stops` to
    its Need (riders with only a drop-off in `stops` are on board). Positions before `first`
    are fixed (the stop a vehicle is driving to). Every rider's constraints are checked along
    the new plan: seats and wheelchair places, latest pickup, longest ride. A rider the plan
    already makes late (traffic) may stay as late but not get later. Cost: how much later the
    vehicle finishes its plan; ties go to the earlier pickup.
    """
    n = len(stops)
    old = stop_times(travel, start_node, start_s, stops, dwell_s)
    old_end = old[-1] + dwell_s if n else start_s
    # per rider: pickup index (None: on board), limits relaxed to the current plan's times
    pick_at: dict[int, int | None] = {}
    ride_start: dict[int, float] = {}
    pick_lim: dict[int, float] = {}
    ride_lim: dict[int, float] = {}
    seated = chairs = 0  # on board at the start
    for k, s in enumerate(stops):
        nd = needs[s.rider]
        if s.pickup:
            pick_at[s.rider] = k
            ride_start[s.rider] = old[k] + dwell_s
            pick_lim[s.rider] = max(nd.latest_pickup_s, old[k])
            continue
        if s.rider not in pick_at:
            if nd.ride_from_s is None:
                raise ValueError(f"rider {s.rider} is on board but has no ride_from_s")
            pick_at[s.rider] = None
            ride_start[s.rider] = nd.ride_from_s
            seated += 1
            chairs += bool(nd.wheelchair)
        ride_lim[s.rider] = max(nd.max_ride_s, old[k] - ride_start[s.rider])
    load0, wload0 = seated, chairs
    load, wload = [], []  # riders and wheelchairs on board after each old stop
    for s in stops:
        step = 1 if s.pickup else -1
        seated += step
        chairs += step * bool(needs[s.rider].wheelchair)
        load.append(seated)
        wload.append(chairs)
    chair = bool(need.wheelchair)

    def fits(k: int) -> bool:  # room for the new rider after old stop k (k = -1: the start)
        riders, wheel = (load0, wload0) if k < 0 else (load[k], wload[k])
        return riders + 1 <= seats and (not chair or wheel + 1 <= wheelchair_places)

    def ok(k: int, shift: float, i: int, j: int, d1: float, d2: float) -> bool:
        """Old stop k, now `shift` later, still meets its rider's limits."""
        s = stops[k]
        if s.pickup:
            return old[k] + shift <= pick_lim[s.rider] + _EPS
        p = pick_at[s.rider]
        p_shift = 0.0 if p is None or p < i else (d1 if p < j else d2)
        return old[k] - ride_start[s.rider] + shift - p_shift <= ride_lim[s.rider] + _EPS

    best = None  # (stops, added, pickup time, drop-off time)
    best_key = None
    for i in range(first, n + 1):
        # the pickup goes before old stop i
        if i == 0:
            tp = _after(travel, start_node, start_s, True, origin, dwell_s)
        else:
            tp = _after(travel, stops[i - 1].node, old[i - 1], False, origin, dwell_s)
        if not tp <= need.latest_pickup_s + _EPS:
            break  # later positions only pick up later
        if not fits(i - 1):
            continue
        ride_from = tp + dwell_s
        # old stops i.. move by d1 when only the pickup is added
        d1 = (_after(travel, origin, tp, False, stops[i].node, dwell_s) - old[i]) if i < n \
            else 0.0
        for j in range(i, n + 1):
            # the drop-off goes before old stop j; old stops i..j-1 ride along with the new rider
            if j > i:
                if not fits(j - 1) or not ok(j - 1, d1, i, j, d1, d1):
                    break  # every later drop-off position carries this stop too
                td = _after(travel, stops[j - 1].node, old[j - 1] + d1, False, destination,
                            dwell_s)
            else:
                td = _after(travel, origin, tp, False, destination, dwell_s)
            if not td - ride_from <= need.max_ride_s + _EPS:
                break  # later drop-off positions only arrive later
            if j < n:
                d2 = _after(travel, destination, td, False, stops[j].node, dwell_s) - old[j]
                if not all(ok(k, d2, i, j, d1, d2) for k in range(j, n)):
                    continue
                added = d2
            else:
                added = td + dwell_s - old_end
            key = (added, tp)
            if best_key is None or key < best_key:
                best_key = key
                new = (*stops[:i], Stop(origin, rider, True), *stops[i:j],
                       Stop(destination, rider, False), *stops[j:])
                best = (new, added, tp, td)
    if best is None:
        return None
    new, added, tp, td = best
    times = stop_times(travel, start_node, start_s, new, dwell_s)
    return Insertion(new, tuple(times), added, tp, td)


# ---- the service on the engine --------------------------------------------------------------
class _Rows:
    """Planned seconds between network nodes, a Dijkstra row per origin node when first asked
    (`rows[a][b]`); free-flow times of the vehicle class times the speed factor."""

    def __init__(self, model, speed_factor: float):
        from sim.routing import Router

        self._router = Router(model.network, weights=model.engine.net_free_flow("shuttle"))
        self._factor = speed_factor
        self._rows: dict[int, list[float]] = {}

    def __getitem__(self, a: int) -> list[float]:
        row = self._rows.get(a)
        if row is None:
            row = (self._router.times_from(int(a))[0] * self._factor).tolist()
            self._rows[a] = row
        return row


@dataclass
class Booking:
    """An accepted request."""

    key: int
    rider: object
    origin: int  # node indices
    destination: int
    requested_s: float
    latest_pickup_s: float
    max_ride_s: float
    direct_s: float
    vehicle: DrtVehicle
    boarded_s: float | None = None
    record: DrtRequest | None = None

    def need(self, dwell_s: float) -> Need:
        ride_from = None if self.boarded_s is None else self.boarded_s + dwell_s
        return Need(bool(self.rider.wheelchair), self.latest_pickup_s, self.max_ride_s, ride_from)


@dataclass
class DrtRequest:
    """One request as drt_requests.csv writes it: who asked, from where to where, when, and
    what came of it (refused, or picked up and delivered, each when it happened)."""

    rider: object
    origin: str  # node ids
    destination: str
    requested_s: float
    refused: bool = False
    boarded_s: float | None = None
    delivered_s: float | None = None


@dataclass
class DrtStats:
    requests: int = 0
    served: int = 0  # delivered
    rejected: int = 0
    boardings: int = 0
    km: float = 0.0
    vehicle_hours: float = 0.0  # pull-out to pull-in (or to the end of the run)
    occupancy_samples: list = field(default_factory=list)  # (time, riders on board, seats) per leg
    wait_s: list = field(default_factory=list)  # per boarding: boarding - request
    ride_s: list = field(default_factory=list)  # per delivery: alighting - boarding
    direct_s: list = field(default_factory=list)  # per delivery: the planned direct time


class DrtService:
    """One DRT service: its vehicles, its bookings and the insertion of new requests."""

    def __init__(self, model, spec: DrtSpec):
        self.model = model
        self.spec = spec
        net = model.network
        self.depot = self._node(spec.depot, "depot")
        self.travel = _Rows(model, spec.speed_factor)
        self.stats = DrtStats()
        self.log: list[DrtRequest] = []  # every request, in request order (drt_requests.csv)
        self.bookings: dict[int, Booking] = {}  # accepted and not yet delivered
        self._keys = count()
        self._ids = [n.id for n in net.nodes]
        self.vehicles = [DrtVehicle(model, self, i) for i in range(spec.vehicles)]

    def _node(self, node: str, what: str) -> int:
        net = self.model.network
        if node not in net.node_index:
            raise InputError(f"DRT service {self.spec.name!r}: {what} {node!r} is not a node of "
                             "the network")
        idx = net.node_index[node]
        if not self.model.engine.graph.kept[idx]:
            raise InputError(f"DRT service {self.spec.name!r}: {what} {node!r} lies inside a "
                             "road chain the engine contracts; declare it in keep_nodes")
        return idx

    def node_id(self, idx: int) -> str:
        return self._ids[idx]

    # ---- requests -------------------------------------------------------------------------
    def request(self, rider, origin: str, destination: str) -> bool:
        """Ask for a ride now from `origin` to `destination` (node ids). True: a vehicle will
        pick the rider up (`on_board`) and deliver them (`on_alight`); False: rejected (outside
        service hours, origin == destination, or no vehicle can serve it within the limits)."""
        spec = self.spec
        now = self.model.time
        o = self._node(origin, "origin")
        d = self._node(destination, "destination")
        self.stats.requests += 1
        record = DrtRequest(rider, origin, destination, now)
        self.log.append(record)
        direct = self.travel[o][d]
        if not spec.start_s <= now < spec.end_s or o == d or not math.isfinite(direct):
            self.stats.rejected += 1
            record.refused = True
            return False
        key = next(self._keys)
        need = Need(bool(rider.wheelchair), now + spec.max_wait_s,
                    spec.max_detour * direct + spec.detour_slack_s)
        best, best_key = None, None
        for v in self.vehicles:
            start = v.plan_start(now)
            if start is None:
                continue
            node, t0, first = start
            if t0 + self.travel[node][o] > need.latest_pickup_s + _EPS:
                continue  # it cannot even reach the pickup in time
            needs = {b.key: b.need(spec.dwell_s) for b in v.bookings.values()}
            ins = insert_request(self.travel, node, t0, v.stops, needs, key, need, o, d,
                                 seats=spec.seats, wheelchair_places=spec.wheelchair_places,
                                 dwell_s=spec.dwell_s, first=first)
            if ins is not None and (best_key is None or (ins.added_s, ins.pickup_s) < best_key):
                best, best_key = (v, ins), (ins.added_s, ins.pickup_s)
        if best is None:
            self.stats.rejected += 1
            record.refused = True
            return False
        v, ins = best
        booking = Booking(key, rider, o, d, now, need.latest_pickup_s, need.max_ride_s, direct, v,
                          record=record)
        self.bookings[key] = booking
        v.take(booking, ins)
        return True

    # ---- accounting -------------------------------------------------------------------------
    def open_requests(self) -> int:
        """Accepted requests not yet delivered (non-zero at the end only if the run ends while
        riders are still waiting or riding)."""
        return len(self.bookings)

    def counts(self) -> dict[str, int]:
        """requested == served + rejected + on_board + waiting_pickup, always."""
        on_board = sum(1 for b in self.bookings.values() if b.boarded_s is not None)
        return {"requested": self.stats.requests, "served": self.stats.served,
                "rejected": self.stats.rejected, "on_board": on_board,
                "waiting_pickup": len(self.bookings) - on_board}


class DrtVehicle(Agent):
    """One vehicle of a DRT service. It is idle at `node`, or driving to `node` (a leg through
    the engine, or a visit at the node it stands at) with planned arrival `eta`."""

    def __init__(self, model, service: DrtService, index: int):
        super().__init__(model)
        self.service = service
        self.index = index
        self.node = service.depot
        self.status = "depot"  # depot, idle, dwelling, driving, pull_in, done
        self.stops: list[Stop] = []
        self.bookings: dict[int, Booking] = {}  # riders waiting for it or on board
        self.on_board: set[int] = set()
        self.free_at = 0.0  # idle or dwelling: when it can leave
        self.eta = 0.0  # driving: planned arrival at self.node
        self.max_load = 0
        self._out_since: float | None = None
        spec = service.spec
        model.schedule_at_or_now(self._pull_out, spec.start_s)
        model.schedule_at_or_now(self._service_ends, spec.end_s)
        if model.end_s >= model.time:
            model.schedule_event(self._run_ends, at=model.end_s)

    # ---- planning -------------------------------------------------------------------------
    def plan_start(self, now: float) -> tuple[int, float, int] | None:
        """Where and when the plan starts, and how many stops are fixed; None: not in service."""
        if self.status in ("idle", "dwelling"):
            return self.node, max(now, self.free_at), 0
        if self.status == "driving":
            return self.node, max(now, self.eta), 1
        return None

    def take(self, booking: Booking, ins: Insertion) -> None:
        self.bookings[booking.key] = booking
        self.stops = list(ins.stops)
        if self.status == "idle":
            self._set_off(max(self.model.time, self.free_at))

    def _set_off(self, when: float) -> None:
        """Leave `self.node` at `when` for the first stop (a visit here if it is at this node)."""
        nxt = self.stops[0].node
        self.status = "driving"
        if nxt == self.node:
            self.eta = when
            self.model.schedule_at_or_now(self._visit_here, when)
            return
        self._drive(self.node, nxt, when)
        self.eta = when + self.service.travel[self.node][nxt]
        self.node = nxt

    def _drive(self, a: int, b: int, when: float) -> None:
        sv = self.service
        self.model.engine.add_vehicle(when, a, b, kind="shuttle", listener=self,
                                      label=(f"{sv.spec.name}:{sv.node_id(a)}", sv.node_id(b)))
        sv.stats.occupancy_samples.append((when, len(self.on_board), sv.spec.seats))

    # ---- service hours --------------------------------------------------------------------
    def _pull_out(self) -> None:
        self.status = "idle"
        self.node = self.service.depot
        self.free_at = self.model.time
        self._out_since = self.model.time

    def _service_ends(self) -> None:
        if self.status == "idle":
            self._pull_in(max(self.model.time, self.free_at))

    def _pull_in(self, when: float) -> None:
        depot = self.service.depot
        if self.node == depot:
            self._close(when)
            self.status = "done"
            return
        self.status = "pull_in"
        self.model.engine.add_vehicle(
            when, self.node, depot, kind="shuttle", listener=self,
            label=(f"{self.service.spec.name}:{self.service.node_id(self.node)}",
                   self.service.node_id(depot)))
        self.node = depot

    def _close(self, when: float) -> None:
        if self._out_since is not None:
            self.service.stats.vehicle_hours += max(0.0, when - self._out_since) / 3600.0
            self._out_since = None

    def _run_ends(self) -> None:
        self._close(self.model.time)  # still out when the run ends: hours up to the end

    # ---- engine callbacks -----------------------------------------------------------------
    def on_node(self, vehicle: int, node: str, time: float) -> None:
        if self.status == "driving":  # re-time the plan from where the vehicle really is
            here = self.model.network.node_index[node]
            self.eta = time + self.service.travel[here][self.node]

    def on_arrive(self, vehicle: int, time: float) -> None:
        self.service.stats.km += self.model.engine.route_metres(vehicle) / 1000.0
        if self.status == "pull_in":
            self.status = "done"
            self._close(time)
            return
        self._visit(time)

    def _visit_here(self) -> None:
        self._visit(self.model.time)

    def _leave(self) -> None:
        if self.status == "dwelling":
            self._set_off(self.model.time)

    # ---- stops ------------------------------------------------------------------------------
    def _visit(self, time: float) -> None:
        """Serve every stop at the front of the plan at this node: drop-offs, then pickups;
        then leave for the next stop after the dwell (or wait here). Riders hear of it last,
        when the vehicle's plan is consistent again (they may ask for another ride)."""
        sv = self.service
        spec, stats = sv.spec, sv.stats
        here = self.node
        k = 0
        while k < len(self.stops) and self.stops[k].node == here:
            k += 1
        visit, self.stops = self.stops[:k], self.stops[k:]
        alight, board = [], []
        for s in visit:
            if s.pickup:
                continue
            b = self.bookings.pop(s.rider)
            sv.bookings.pop(s.rider)
            self.on_board.discard(s.rider)
            stats.served += 1
            b.record.delivered_s = time
            stats.ride_s.append(time - b.boarded_s)
            stats.direct_s.append(b.direct_s)
            alight.append(b.rider)
        for s in visit:
            if not s.pickup:
                continue
            b = self.bookings[s.rider]
            b.boarded_s = b.record.boarded_s = time
            self.on_board.add(s.rider)
            stats.boardings += 1
            stats.wait_s.append(time - b.requested_s)
            board.append(b.rider)
        self.max_load = max(self.max_load, len(self.on_board))
        leave = time + spec.dwell_s
        if self.stops and leave > self.model.time:
            # the next stop is chosen when the dwell ends: requests meanwhile may come first
            self.status = "dwelling"
            self.free_at = leave
            self.model.schedule_event(self._leave, at=leave)
        elif self.stops:  # heard of the arrival late (engine advance): off at once
            self._set_off(leave)
        elif max(time, self.model.time) >= spec.end_s:  # _service_ends may have passed
            self._pull_in(leave)
        else:
            self.status = "idle"
            self.free_at = leave
        stop = sv.node_id(here)
        for rider in alight:
            rider.on_alight(self, stop, time)
        for rider in board:
            rider.on_board(self, time)

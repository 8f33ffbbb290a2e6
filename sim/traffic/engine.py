"""Event-driven mesoscopic queue model (the queue model of MATSim's QSim, done with events).

Each directed link holds a FIFO queue. A vehicle entering a link may leave no earlier than its
free-flow exit time; the link releases vehicles no faster than its flow capacity, and only into
a downstream link with free storage (spill-back). A link waiting for space joins the downstream
link's FIFO of waiters, so competing upstream links (and departures) are served in turn and none
starves. A link blocked longer than `stuck_after_s` pushes its head vehicle on regardless (a
forced move): the trip is reported `stuck` while it has not arrived, and `arrived` with its
`forced` flag once it has. Priority vehicles (emergency, motorcade) skip a share of the queue
delay and pass closures.

TrafficEngine is the facade callers use; the parts it is built of:
- vehicles.py: the vehicle classes and the vehicle records (a struct of lists);
- links.py: link state: capacity, weather, signals, closures, queues, expected times;
- guidance.py: next-link tables and fixed routes on those expected times;
- loop_reference.py: the event loop, each rule a small method (the reference); kernel.py and
  loop_compiled.py: the same rules compiled by numba over arrays (the default core);
  loop_fast.py: the reference with its common cases inlined in Python;
- traversal_log.py: the log of every traversal and the statistics computed from it.

Agents that own a vehicle pass a listener with `on_node(vehicle, node_id, time)` and
`on_arrive(vehicle, time)`; a listener whose class sets `listens_to_nodes = False` (a bus going
stop to stop) is told only of arrival, which keeps its vehicle on the fast path.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..network import RoadNetwork
from .guidance import Guidance
from .links import LinkState, SignalPlan
from .loop_compiled import CompiledLoop
from .loop_fast import FastLoop
from .loop_reference import EventLoop
from .simgraph import SimGraph
from .traversal_log import FlatTimes, TraversalLog
from .vehicle_arrays import VehicleArrays
from .vehicles import (
    ABANDONED,
    ARRIVED,
    ON_LINK,
    PLANNED,
    WAITING,
    VehicleListener,
    VehicleTable,
)

if TYPE_CHECKING:
    from .spec import TrafficSpec

CORES = ("compiled", "python", "reference")
CORE_ENV = "SUMMIT_SIM_CORE"  # names the core when the caller does not (running the suite)


def pick_core(core: str | None) -> str:
    """The event loop to run: `compiled` (kernel.py; the default), `python` (the reference
    loop with its common cases inlined) or `reference` (every event through the methods
    that state the rules). Unnamed: the SUMMIT_SIM_CORE environment variable, else compiled."""
    core = core or os.environ.get(CORE_ENV) or "compiled"
    if core not in CORES:
        raise InputError(f"traffic core {core!r} is not one of {', '.join(CORES)}")
    return core

__all__ = ["ABANDONED", "ARRIVED", "ON_LINK", "PLANNED", "WAITING", "SignalPlan",
           "TrafficEngine", "VehicleListener"]


LOOPS = {"compiled": CompiledLoop, "python": FastLoop, "reference": EventLoop}


def _part(part: str, name: str) -> property:
    """A read-only attribute of the engine that is one of its parts' (for callers that read
    engine.<name>)."""
    return property(lambda self: getattr(getattr(self, part), name),
                    doc=f"`{part}.{name}`, read through the engine.")


class TrafficEngine:
    """Moves vehicles through a RoadNetwork; see the module docstring for the rules.

    Every tuning value comes from `traffic`, the scenario's traffic section (its schema's
    defaults when not given), so the engine declares none of its own. `core` names the event
    loop (pick_core); all three give the same outputs (tests compare them)."""

    def __init__(
        self,
        net: RoadNetwork,
        traffic: TrafficSpec | None = None,
        *,
        start_s: float = 0.0,
        end_s: float = 86_400.0,
        destinations: list[int] | None = None,
        keep_nodes: set[int] | None = None,
        core: str | None = None,
    ):
        if traffic is None:
            # imported here: the scenario schema imports the vehicle classes from this package
            from .spec import TrafficSpec

            traffic = TrafficSpec()
        self.net = net
        self.start_s, self.end_s = float(start_s), float(end_s)
        self.core = pick_core(core)
        self.loop_s = 0.0  # seconds spent in run_until (a measurement, never an output)
        compiled = self.core == "compiled"
        destinations = sorted(set(destinations or []))
        self.graph = SimGraph(net, set(keep_nodes or ()) | set(destinations),
                              contract=traffic.contract_chains)
        self.links = LinkState(
            net, self.graph, start_s=self.start_s, capacity_scale=traffic.capacity_scale,
            speed_factors=traffic.speed_factors, signal_cycle_s=traffic.signal_cycle_s,
            signal_green_ratio=traffic.signal_green_ratio,
            give_way_delay_s=traffic.give_way_delay_s,
            local_junction_delay_s=traffic.local_junction_delay_s,
            emergency_queue_skip=traffic.emergency_queue_skip)
        self.vehicles = VehicleArrays() if compiled else VehicleTable()
        self.traversal_log = TraversalLog(self.links, self.vehicles, start_s=self.start_s,
                                          end_s=self.end_s)
        # junction delays from the start (no flow measured yet), then the first tables
        self.links.set_flow(self.traversal_log.flow_since_mark(self.start_s))
        self.guidance = Guidance(self.links, destinations, self.start_s, as_lists=not compiled)
        self.loop = LOOPS[self.core](
            self.links, self.vehicles, self.traversal_log, self.guidance,
            start_s=self.start_s, end_s=self.end_s, stuck_after_s=traffic.stuck_after_s,
            reroute_interval_s=traffic.reroute_interval_s,
            closure_patience_s=traffic.closure_patience_min * 60.0)
        self.loop.start()

    # ---- what callers read of the parts ---------------------------------------------------
    classes = _part("links", "classes")
    class_index = _part("links", "class_index")
    fft_base = _part("links", "fft_base")
    exit_base = _part("links", "exit_base")
    hw = _part("links", "hw")
    storage = _part("links", "storage")
    occ = _part("links", "occ")
    max_queue = _part("links", "max_queue")
    closed = _part("links", "closed")
    net_closed = _part("links", "net_closed")
    weather_speed = _part("links", "weather_speed")
    signal_plan = _part("links", "signal_plan")
    day_plan = _part("links", "day_plan")
    emergency_queue_skip = _part("links", "emergency_queue_skip")
    v_kind = _part("vehicles", "kind")
    v_cls = _part("vehicles", "cls")
    v_dest = _part("vehicles", "dest")
    v_route = _part("vehicles", "route")
    v_depart = _part("vehicles", "depart")
    v_link = _part("vehicles", "link")
    v_entry = _part("vehicles", "entry")
    v_arrive = _part("vehicles", "arrive")
    v_state = _part("vehicles", "state")
    v_forced = _part("vehicles", "forced")
    v_held_s = _part("vehicles", "held_s")
    v_held_at = _part("vehicles", "held_at")
    v_listener = _part("vehicles", "listener")
    v_label = _part("vehicles", "label")
    abandoned_at = _part("vehicles", "abandoned_at")
    now = _part("loop", "now")
    departed = _part("loop", "departed")
    arrived = _part("loop", "arrived")
    in_network = _part("loop", "in_network")
    waiting_to_enter = _part("loop", "waiting_to_enter")
    stuck_events = _part("loop", "stuck_events")
    stuck_now = _part("loop", "stuck_now")
    traversals = _part("loop", "traversals")
    timeseries = _part("loop", "timeseries")
    closure_patience_s = _part("loop", "closure_patience_s")
    reroute_interval_s = _part("loop", "reroute_interval_s")
    next_event_time = _part("loop", "next_event_time")
    bin_s = _part("traversal_log", "bin_s")

    # ---- controls ---------------------------------------------------------------------------
    def at(self, t: float, action) -> None:
        """Run `action(t)` at time t inside the engine (controls: closures, weather, ...)."""
        self.loop.at(t, action)

    def set_weather(self, speed_factor: float, capacity_factor: float) -> None:
        """Scale free-flow speeds and capacities of every link (rain, snow, fog)."""
        self.links.set_weather(speed_factor, capacity_factor)

    def set_capacity_factor(self, links, factor: float) -> None:
        """Scale the capacity and storage of network links (lane closures); 1.0 restores."""
        self.links.set_capacity_factor(links, factor)

    def set_signal_plan(self, plan: SignalPlan) -> None:
        """Run the signals on another plan from now (a control: plans by time of day): signal
        capacities, junction delays (on the flow last measured) and the guidance tables follow
        at once. Vehicles already on a link keep the exit time they were given on entry."""
        if self.links.set_signal_plan(plan):
            self.guidance.rebuild(self.now, force=True)

    def set_closed(self, links, classes, closed: bool) -> None:
        """Open or close network links for the given class names (closures nest: a link reopens
        when the last closure holding it ends)."""
        self.links.set_closed(links, classes, closed)
        self.loop.closures_changed()

    def junction_delay(self, x: np.ndarray, plan: SignalPlan | None = None) -> np.ndarray:
        """Mean delay (s) at each sim link's downstream junction (LinkState.junction_delay)."""
        return self.links.junction_delay(x, plan)

    def net_free_flow(self, class_name: str = "car") -> np.ndarray:
        """Free-flow seconds per network link for a class in clear weather (posted speeds times
        the road classes' speed factors, capped by the class's top speed)."""
        return self.links.net_free_flow(class_name)

    # ---- vehicles ---------------------------------------------------------------------------
    def _check_kept(self, node: int, what: str) -> None:
        if not self.graph.kept[node]:
            raise InputError(
                f"{what} {self.net.nodes[node].id} lies inside a road chain the engine "
                "contracts; declare it in keep_nodes when building the engine")

    def add_vehicle(
        self,
        depart_s: float,
        origin: int,
        destination: int,
        *,
        kind: str = "car",
        vehicle_class: str | None = None,
        route: list[int] | None = None,
        listener: VehicleListener | None = None,
        label: tuple[str, str] | None = None,
    ) -> int:
        """Register a vehicle; it departs at `depart_s` from node index `origin`.

        Without `route`, background classes follow the guidance tables (destination must be a
        guidance destination) and other classes get a fixed route when they set off (on the
        travel times and closures of that moment; with no open way they wait for one).
        `route` is a list of network link ids from origin to destination. Origin and destination
        must be nodes the engine keeps (declared in `keep_nodes` or destinations).
        """
        self._check_kept(origin, "origin")
        self._check_kept(destination, "destination")
        if route is not None:
            route = self.graph.route_to_sim(route)
        cls_name = vehicle_class or kind
        class_index = self.links.class_index
        if cls_name not in class_index:
            raise InputError(f"vehicle class {cls_name!r} is not one of "
                             f"{', '.join(class_index)}")
        ci = class_index[cls_name]
        cls = self.links.classes[ci]
        slot = -1
        if route is None and origin != destination and cls.background \
                and destination in self.guidance.slot_of:
            slot = self.guidance.slot_of[destination]
        # other vehicles without a route get one on the travel times of their departure
        nodes = self.net.nodes
        vid = self.vehicles.add(kind, ci, origin, destination, slot, route, float(depart_s),
                                listener, cls.priority,
                                label or (nodes[origin].id, nodes[destination].id))
        self.loop.schedule_departure(vid, max(float(depart_s), self.now))
        return vid

    def add_trips(self, depart_s, origins, destinations, kinds) -> None:
        """Bulk registration of background trips (parallel arrays): the same as add_vehicle
        per trip, without per-trip overhead."""
        dep = np.asarray(depart_s, dtype=float)
        orig = np.asarray(origins, dtype=np.int64)
        dest = np.asarray(destinations, dtype=np.int64)
        if len(dep) == 0:
            return
        kinds = list(kinds)
        class_index = self.links.class_index
        for bad in sorted(set(kinds) - set(class_index)):
            raise InputError(f"vehicle class {bad!r} is not one of {', '.join(class_index)}")
        ci = np.fromiter(map(class_index.__getitem__, kinds), dtype=np.int64, count=len(kinds))
        background = np.array([c.background for c in self.links.classes])[ci]
        guided = background & np.isin(dest, self.guidance.dest) & (orig != dest)
        kept = self.graph.kept
        if not (kept[orig].all() and kept[dest].all()):
            bad = int(orig[~kept[orig]][0]) if not kept[orig].all() \
                else int(dest[~kept[dest]][0])
            raise InputError(f"node {self.net.nodes[bad].id} lies inside a road chain the "
                             "engine contracts; declare it in keep_nodes")
        if not guided.all():  # routed one by one: rare for background demand
            for i in np.flatnonzero(~guided).tolist():
                self.add_vehicle(float(dep[i]), int(orig[i]), int(dest[i]), kind=kinds[i])
        idx = np.flatnonzero(guided)
        if not len(idx):
            return
        # as columns: the vehicle table takes arrays (a region's day has millions of trips)
        slot = np.full(self.net.n_nodes, -1, dtype=np.int64)
        slot_of = self.guidance.slot_of
        slot[np.fromiter(slot_of, dtype=np.int64)] = np.fromiter(slot_of.values(), dtype=np.int64)
        ids = np.array([n.id for n in self.net.nodes], dtype=object)
        o, d = orig[idx], dest[idx]
        every = len(idx) == len(kinds)
        vids = self.vehicles.add_guided(
            kinds if every else [kinds[i] for i in idx.tolist()], ci[idx], o, d, slot[d],
            dep[idx], list(zip(ids[o].tolist(), ids[d].tolist(), strict=True)))
        self.loop.schedule_departures(np.maximum(dep[idx], self.now).tolist(), vids)

    def redirect(self, veh: int, destination: int) -> None:
        """Send a priority vehicle (an emergency unit) to a new destination node from where it
        is: one not yet set off is routed there when it does; one on a link goes on from the
        link's end on the fastest route of the moment."""
        v = self.vehicles
        cls = v.get("cls", veh)
        if not self.links.classes[cls].priority or v.get("state", veh) == ARRIVED:
            raise ValueError(f"vehicle {veh} is not a priority vehicle on its way")
        if not self.graph.kept[destination]:
            raise InputError(f"destination {self.net.nodes[destination].id} lies inside a "
                             "road chain the engine contracts; declare it in keep_nodes")
        v.put("dest", veh, destination)
        v.label[veh] = (v.label[veh][0], self.net.nodes[destination].id)
        lk = v.get("link", veh)
        if v.get("state", veh) == ON_LINK and lk >= 0:
            rest = self.guidance.route(cls, self.links.link_to[lk], destination)
            v.set_route(veh, [lk, *(rest or [])], 0)
        else:
            v.set_route(veh, None, v.get("rpos", veh))

    def withdraw(self, veh: int) -> float | None:
        """Call off a vehicle that has not set off yet (its trip is no longer needed): it never
        departs and stays `planned`. Returns the time it was to set off, or None (and nothing
        changes) when it already has."""
        v = self.vehicles
        if v.get("state", veh) != PLANNED or v.is_withdrawn(veh):
            return None
        v.withdraw(veh)
        return max(v.get("depart", veh), self.now)

    def route_metres(self, veh: int) -> float:
        """Length of a routed vehicle's route (a leg of a shuttle line, say)."""
        route = self.vehicles.route[veh]
        return float(self.graph.length[route].sum()) if route else 0.0

    # ---- running ----------------------------------------------------------------------------
    def run_until(self, t_end: float) -> None:
        """Process every event up to and including t_end (`loop_s` adds up the time taken)."""
        t0 = time.perf_counter()
        self.loop.run(t_end)
        if t_end > self.loop.now:
            self.loop.now = t_end
        self.loop_s += time.perf_counter() - t0

    # ---- records and statistics -------------------------------------------------------------
    @property
    def log(self) -> FlatTimes:
        """Entry and exit time of every completed traversal, flat pairs; its length grows with
        each traversal (readers key caches on it). traversals_log() gives the whole record."""
        return self.traversal_log.times

    def traversals_log(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every completed traversal: sim link id, vehicle, entry time, exit time."""
        return self.traversal_log.traversals()

    def on_link_now(self) -> tuple[np.ndarray, np.ndarray]:
        """Vehicles inside a link now (entered, not yet left) and the sim link each is on."""
        return self.vehicles.on_link_now()

    def vehicle_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """Per vehicle: metres driven and free-flow seconds (clear weather, the vehicle's class)
        over the links it has entered, the one it is on included."""
        return self.traversal_log.vehicle_totals()

    def link_summary(self) -> dict[str, np.ndarray]:
        """Per network link: entries, exits, travel times, queue statistics and 15-minute bins
        (TraversalLog.link_summary)."""
        return self.traversal_log.link_summary()

    def jam_state(self) -> tuple[np.ndarray, int]:
        """Now: per network link whether its storage is full, and the vehicles standing
        (TraversalLog.jam_state)."""
        return self.traversal_log.jam_state(self.loop.standing(self.now))

    @property
    def abandoned(self) -> int:
        """Trips given up after waiting for a closure past the driver's patience."""
        return len(self.vehicles.abandoned_at)

    def held_by_closures(self) -> tuple[np.ndarray, np.ndarray]:
        """Now: the vehicles waiting off the road for a closure to end, and the network node
        index each waits at (its origin, or the end of the link it left)."""
        v = self.vehicles
        held = np.flatnonzero((np.asarray(v.held_at) >= 0.0) & (np.asarray(v.state) == WAITING))
        return held, np.asarray(v.orig, dtype=np.int64)[held]

    def vehicle_status(self, veh: int) -> str:
        """`arrived`, `abandoned`, `stuck` or `en_route` (VehicleTable.status)."""
        return self.vehicles.status(veh)

    def counts(self) -> dict[str, int]:
        """Conservation: entered = arrived + en_route + stuck + abandoned (VehicleTable.counts)."""
        return self.vehicles.counts()

"""Event-driven mesoscopic queue model (the queue model of MATSim's QSim, done with events).

Each directed link holds a FIFO queue. A vehicle entering a link may leave no earlier than its
free-flow exit time; the link releases vehicles no faster than its flow capacity, and only into
a downstream link with free storage (spill-back). A link waiting for space joins the downstream
link's FIFO of waiters, so competing upstream links (and departures) are served in turn and none
starves. A link blocked longer than `stuck_after_s` pushes its head vehicle on regardless (a
forced move): the trip is reported `stuck` while it has not arrived, and `arrived` with its
`forced` flag once it has. Priority vehicles (emergency, motorcade) skip a share of the queue
delay and pass closures.

Events: one per vehicle per link (the link's head release) plus departures, in one heap ordered
by (time, sequence number); a link's event is replaced in place by the link's next one. Vehicles
are light records held in parallel lists, not objects. Every traversal goes into a log (two flat
arrays, filled through plain lists) from which link and trip statistics are computed.

Agents that own a vehicle pass a listener with `on_node(vehicle, node_id, time)` and
`on_arrive(vehicle, time)`; a listener whose class sets `listens_to_nodes = False` (a bus going
stop to stop) is told only of arrival, which keeps its vehicle on the fast path.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
from array import array
from bisect import bisect_right
from collections import deque
from collections.abc import Mapping
from typing import NamedTuple, Protocol

import numpy as np

from ..errors import InputError
from ..network import RoadNetwork
from .guidance import Guidance
from .simgraph import SimGraph
from .vehicles import VEHICLE_CLASSES

LINK, DEPART, PRIO, STUCK, CONTROL, SAMPLE, REBUILD, FEED = range(8)
CLOSURE_REBUILD_S = 15.0  # closure changes within this window share one guidance rebuild
FEED_S = 60.0  # departures move from the pending queues to the event heap this far ahead
ARRIVE, NO_PATH, HOLD = -1, -2, -3  # HOLD: leave the link and wait off the road at its end
# vehicle states; ABANDONED: held by closures past its driver's patience, the trip was given up
PLANNED, WAITING, ON_LINK, ARRIVED, ABANDONED = range(5)
SATURATION_FLOW_VPH = 2200.0  # per lane of green at a signal (KHCM; facts doc)
DEPARTURE_BUFFER = -1  # a waiter entry meaning "vehicles waiting to enter from the origin"


class SignalPlan(NamedTuple):
    """How the signalised junctions run: a fixed-time cycle (s) with an effective green share,
    or flashing (yellow/red: drivers give way, no cycle; then cycle and green are unused)."""

    cycle_s: float
    green_ratio: float
    flashing: bool = False


class VehicleListener(Protocol):
    def on_node(self, vehicle: int, node: str, time: float) -> None: ...

    def on_arrive(self, vehicle: int, time: float) -> None: ...


class TrafficEngine:
    """Moves vehicles through a RoadNetwork; see the module docstring for the rules."""

    fast_path = True  # False runs every event through the reference methods (tests compare)

    def __init__(
        self,
        net: RoadNetwork,
        *,
        start_s: float = 0.0,
        end_s: float = 86_400.0,
        stuck_after_s: float = 600.0,
        reroute_interval_s: float = 600.0,
        emergency_queue_skip: float = 0.7,
        signal_cycle_s: float = 120.0,
        signal_green_ratio: float = 0.45,
        give_way_delay_s: float = 10.0,
        local_junction_delay_s: float = 5.0,
        bin_s: float = 900.0,
        destinations: list[int] | None = None,
        keep_nodes: set[int] | None = None,
        contract: bool = True,
        capacity_scale: float = 1.0,
        closure_patience_s: float | None = None,
        speed_factors: Mapping[str, float] | None = None,
    ):
        self.net = net
        destinations = sorted(set(destinations or []))
        self.graph = SimGraph(net, set(keep_nodes or ()) | set(destinations), contract=contract)
        L = self.graph.n_links
        self.start_s, self.end_s = float(start_s), float(end_s)
        self.now = self.start_s
        self.stuck_after_s = float(stuck_after_s)
        # a background driver whose every way on is closed waits this long for a reopening,
        # then gives the trip up (None: waits however long it takes)
        self.closure_patience_s = None if closure_patience_s is None else \
            float(closure_patience_s)
        self._held: deque[tuple[float, int]] = deque()  # (held since, vehicle), in time order
        self.abandoned_at: dict[int, float] = {}  # vehicle: when its driver gave the trip up
        self.reroute_interval_s = float(reroute_interval_s)
        self.emergency_queue_skip = float(emergency_queue_skip)
        g = self.graph
        self._last_member = np.array([c[-1] for c in g.members], dtype=np.int64)
        self.link_from = g.link_from.tolist()
        self.link_to = g.link_to.tolist()
        self.length = g.length.tolist()
        self.class_index = {name: i for i, name in enumerate(VEHICLE_CLASSES)}
        self.classes = list(VEHICLE_CLASSES.values())
        # Free-flow speed of a network link: posted speed times its road class's factor
        # (calibration; 1.0 unless given), capped by each class's own top speed. The factors
        # stand for what slows ordinary traffic below the limit (signals, turns, side friction
        # the network does not hold): priority vehicles under lights and sirens, or on roads
        # the police clear, drive at the posted speed.
        self.speed_factor = net.speed_factor_of_links(speed_factors)
        # Free-flow seconds per class and sim link in clear weather (class limits apply).
        self.fft_base = [g.free_flow(c.vmax_kmh, self._factor(c)).tolist()
                         for c in self.classes]
        self.weather_speed = 1.0
        self.weather_cap = 1.0
        # every link's flow capacity (road and signal) times this: calibration and sensitivity
        self.capacity_scale = float(capacity_scale)
        self.cap_factor = np.ones(net.n_links)  # per network link: active capacity changes
        self.hw: list[float] = [0.0] * L  # seconds between releases per PCE
        self.storage: list[float] = [0.0] * L  # PCE the link holds
        # Junction delay at the downstream end, added to the earliest exit time: Webster's
        # uniform delay at signals (refreshed from each link's recent flow when guidance is
        # rebuilt), a fixed give-way delay where a local street meets a bigger road and a
        # smaller one where local streets meet.
        # The day plan runs unless a control sets another (set_signal_plan: plans by time of
        # day, e.g. flashing at night).
        self.day_plan = SignalPlan(float(signal_cycle_s), float(signal_green_ratio))
        self.signal_plan = self.day_plan
        self.signalised, self.give_way, self.local_junction = g.junction_control()
        self.give_way_delay_s = float(give_way_delay_s)
        self.local_junction_delay_s = float(local_junction_delay_s)
        self._signal_cap = self._signal_capacity()
        self._update_link_capacity()
        self.signal_delay: list[float] = [0.0] * L
        self._flow = np.zeros(L)  # veh/h per sim link over the last measuring interval
        self.exit_base: list[list[float]] = [[0.0] * L for _ in self.classes]
        self._log_mark = 0
        self._log_mark_t = self.start_s
        # queues: vehicle ids and earliest exit times, with a moving head index
        self.q_veh: list[list[int]] = [[] for _ in range(L)]
        self.q_ee: list[list[float]] = [[] for _ in range(L)]
        self.q_head = [0] * L
        self.occ = [0.0] * L
        self.next_release = [self.start_s] * L
        self.evt_seq = [0] * L
        self.blocked_on = [-1] * L
        self.blocked_since = [0.0] * L
        self.woken = [False] * L
        self.waiters: list[deque[int]] = [deque() for _ in range(L)]
        self.entry_wait: list[deque[int]] = [deque() for _ in range(L)]
        # vehicles whose every way on is closed wait off the road at a node (not in a queue,
        # blocking no one) and set off again when a closure ends
        self.unrouted: list[int] = []
        # seconds each vehicle waited off the road for a closure to end, and since when it is
        # waiting now (-1: it is not)
        self.v_held_s: list[float] = []
        self.v_held_at: list[float] = []
        self.withdrawn: set[int] = set()  # called off before they set off (withdraw)
        self._opened = False  # a closed link has reopened since the last closure rebuild
        # closures: per class and network link, how many closures hold it; per class and sim
        # link, how many of its member links are closed
        self.net_closed = [np.zeros(net.n_links, dtype=np.int64) for _ in self.classes]
        self.closed = [[0] * L for _ in self.classes]
        # link statistics: counters kept live, and a log of every traversal (link, entry time,
        # exit time) from which travel times are summarised at the end
        self.max_queue = [0] * L
        # discharge of a standing queue: smoothed seconds between releases while queued, which
        # is what a vehicle joining the queue will wait per vehicle ahead (priority vehicles)
        self.last_out = [-1.0] * L  # last release while queued; -1 when no queue stands
        self.queue_gap = [0.0] * L
        self.at_capacity = [0.0] * L
        # the log of every traversal in two flat arrays: (sim link, vehicle) pairs and (entry
        # time, exit time) pairs. The event loop appends to plain lists, which is cheaper than
        # converting each value into an array; _flush_log moves them into the arrays.
        self._log_ids = array("q")
        self._log_times = array("d")
        self._log_shared = False  # numpy views of the two buffers exist (traversals_log)
        self._new_ids: list[int] = []
        self._new_times: list[float] = []
        self.bin_s = float(bin_s)
        # vehicles (struct of lists)
        self.v_kind: list[str] = []
        self.v_cls: list[int] = []
        self.v_orig: list[int] = []
        self.v_dest: list[int] = []
        self.v_slot: list[int] = []  # destination slot in the guidance tables, -1 if routed
        self.v_route: list[list[int] | None] = []
        self.v_rpos: list[int] = []
        self.v_tab: list = []  # the guidance row (next link per node) this vehicle follows
        self.v_tab_t: list[float] = []
        self.v_depart: list[float] = []
        self.v_link: list[int] = []
        self.v_entry: list[float] = []
        self.v_arrive: list[float | None] = []
        self.v_state: list[int] = []
        self.v_forced: list[bool] = []  # pushed on at least once past a blocked link
        self.v_listener: list[VehicleListener | None] = []
        # priority class or a listener of nodes: the slow path handles it
        self.v_special: list[bool] = []
        self.v_nodes: list[bool] = []  # the listener wants on_node
        self.v_label: list[tuple[str, str]] = []
        self.departed = 0
        self.arrived = 0
        self.stuck_events = 0  # forced moves (a vehicle may be forced more than once)
        self.stuck_now = 0  # vehicles forced on that have not arrived (yet)
        self.in_network = 0
        self.waiting_to_enter = 0
        self.traversals = 0
        self.timeseries: list[tuple] = []
        self.heap: list[tuple] = []
        # departures wait in their own heap and join the event heap a minute ahead, which keeps
        # the event heap small (it holds about one event per occupied link)
        self.pending: list[tuple] = []  # a heap: vehicles added one by one
        self.pending_sorted: list[tuple] = []  # bulk trips in departure order, read from _ps_i
        self._ps_i = 0
        self._fed_until = self.start_s - 1.0
        self._next_seq = itertools.count(1).__next__  # tie-breaker: equal times keep order
        self._controls: list = []
        self._closure_rebuild_pending = False
        self.update_signal_delay(self.start_s)
        self.guidance = Guidance(self, destinations or [])
        self._push(self.start_s, SAMPLE, 0)
        self._push(self.start_s, FEED, 0)
        self._push(self.start_s + self.reroute_interval_s, REBUILD, 0)

    # ---- capacity and storage ----------------------------------------------------------
    def _signal_capacity(self) -> np.ndarray:
        """Per sim link, the most its downstream signal passes (veh/h): its green share of the
        saturation flow, whatever the class; no cap without a signal or while it flashes."""
        plan = self.signal_plan
        if plan.flashing:
            return np.full(self.graph.n_links, np.inf)
        lanes = self.net.lanes[self._last_member]
        return np.where(self.signalised, lanes * SATURATION_FLOW_VPH * plan.green_ratio, np.inf)

    def _update_link_capacity(self) -> None:
        vph, space = self.graph.capacity_and_storage(self.cap_factor)
        vph = np.minimum(vph, self._signal_cap * self.cap_factor[self._last_member]) \
            * (self.weather_cap * self.capacity_scale)
        # Storage never below what the link holds moving at free flow and capacity (as MATSim
        # does), so short links do not throttle flow by themselves.
        moving = vph / 3600.0 * np.asarray(self.fft_base[0])
        # in place: the event loop holds these lists
        self.hw[:] = np.where(vph > 0, 3600.0 / np.maximum(vph, 1e-9), np.inf).tolist()
        self.storage[:] = np.maximum(1.0, np.maximum(space, moving)).tolist()

    def set_weather(self, speed_factor: float, capacity_factor: float) -> None:
        """Scale free-flow speeds and capacities of every link (rain, snow, fog)."""
        self.weather_speed = float(speed_factor)
        self.weather_cap = float(capacity_factor)
        self._update_link_capacity()
        self._update_exit_base()

    def _update_exit_base(self) -> None:
        """Per class and link: seconds from entry to the earliest exit (free flow under the
        weather, plus the junction delay); replaced in place, the event loop holds the list."""
        delay = np.asarray(self.signal_delay)
        self.exit_base[:] = [(np.asarray(f) / self.weather_speed + delay).tolist()
                             for f in self.fft_base]

    def set_capacity_factor(self, links, factor: float) -> None:
        """Scale the capacity and storage of network links (lane closures); 1.0 restores."""
        self.cap_factor[list(links)] = float(factor)
        self._update_link_capacity()

    def junction_delay(self, x: np.ndarray, plan: SignalPlan | None = None) -> np.ndarray:
        """Mean delay (s) at each sim link's downstream junction for degree of saturation x
        under a signal plan (the day plan unless given): Webster's uniform delay at fixed-time
        signals, the give-way delay at flashing ones, fixed delays where no signal stands."""
        plan = self.day_plan if plan is None else plan
        if plan.flashing:
            delay = np.where(self.signalised, self.give_way_delay_s, 0.0)
        else:
            c, lam = plan.cycle_s, plan.green_ratio
            delay = np.where(self.signalised,
                             0.5 * c * (1 - lam) ** 2 / (1 - np.minimum(x, 1.0) * lam), 0.0)
        delay[self.give_way] = self.give_way_delay_s
        delay[self.local_junction] = self.local_junction_delay_s
        return delay

    def set_signal_plan(self, plan: SignalPlan) -> None:
        """Run the signals on another plan from now (a control: plans by time of day): signal
        capacities, junction delays (on the flow last measured) and the guidance tables follow
        at once. Vehicles already on a link keep the exit time they were given on entry."""
        plan = SignalPlan(float(plan.cycle_s), float(plan.green_ratio), bool(plan.flashing))
        if plan == self.signal_plan:
            return
        self.signal_plan = plan
        self._signal_cap = self._signal_capacity()
        self._update_link_capacity()
        self._refresh_signal_delay()
        self.guidance.rebuild(self.now, force=True)

    def _refresh_signal_delay(self) -> None:
        """Junction delays under the plan now, for the flow last measured over capacity now."""
        cap = 3600.0 / np.asarray(self.hw)
        x = np.where(cap > 0, self._flow / np.maximum(cap, 1e-9), 0.0)
        self.signal_delay[:] = self.junction_delay(x, self.signal_plan).tolist()
        self._update_exit_base()

    def update_signal_delay(self, t: float) -> None:
        """Signal delay per link from the flow it carried since the last update."""
        # numpy reads a copy of the log, never a view: a view left alive anywhere (a profiler
        # holding this frame, say) would stop the log from growing (BufferError)
        self._flush_log()
        links = np.frombuffer(self._log_ids[2 * self._log_mark::2], dtype=np.int64)
        span = t - self._log_mark_t
        self._flow = np.bincount(links, minlength=self.graph.n_links) * (3600.0 / span) \
            if span > 0 else np.zeros(self.graph.n_links)
        self._refresh_signal_delay()
        self._log_mark = len(self._log_ids) // 2
        self._log_mark_t = t

    def net_free_flow(self, class_name: str = "car") -> np.ndarray:
        """Free-flow seconds per network link for a class in clear weather (posted speeds times
        the road classes' speed factors, capped by the class's top speed)."""
        c = VEHICLE_CLASSES[class_name]
        return self.net.free_flow_times(c.vmax_kmh, self._factor(c))

    def _factor(self, c) -> np.ndarray | None:
        """The road classes' speed factors a vehicle class drives at (None: the posted speed)."""
        return None if c.priority else self.speed_factor

    # ---- scheduling ----------------------------------------------------------------------
    def _push(self, t: float, kind: int, idx: int) -> int:
        seq = self._next_seq()
        heapq.heappush(self.heap, (t, seq, kind, idx))
        return seq

    def _schedule_link(self, lk: int, t: float) -> None:
        self.evt_seq[lk] = self._push(t, LINK, lk)

    def at(self, t: float, action) -> None:
        """Run `action(t)` at time t inside the engine (controls: closures, weather, ...)."""
        self._controls.append(action)
        self._push(max(float(t), self.now), CONTROL, len(self._controls) - 1)

    @property
    def next_event_time(self) -> float:
        return self.heap[0][0] if self.heap else float("inf")

    # ---- vehicles ------------------------------------------------------------------------
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
        for end, node in (("origin", origin), ("destination", destination)):
            if not self.graph.kept[node]:
                raise InputError(
                    f"{end} {self.net.nodes[node].id} lies inside a road chain the engine "
                    "contracts; declare it in keep_nodes when building the engine")
        if route is not None:
            route = self.graph.route_to_sim(route)
        cls_name = vehicle_class or kind
        if cls_name not in self.class_index:
            raise InputError(f"vehicle class {cls_name!r} is not one of "
                             f"{', '.join(self.class_index)}")
        ci = self.class_index[cls_name]
        slot = -1
        if route is None and origin != destination and self.classes[ci].background \
                and destination in self.guidance.slot_of:
            slot = self.guidance.slot_of[destination]
        # other vehicles without a route get one on the travel times of their departure
        vid = len(self.v_kind)
        self.v_kind.append(kind)
        self.v_cls.append(ci)
        self.v_orig.append(origin)
        self.v_dest.append(destination)
        self.v_slot.append(slot)
        self.v_route.append(route)
        self.v_rpos.append(-1)
        self.v_tab.append(None)
        self.v_tab_t.append(0.0)
        self.v_depart.append(float(depart_s))
        self.v_link.append(-1)
        self.v_entry.append(0.0)
        self.v_arrive.append(None)
        self.v_state.append(PLANNED)
        self.v_forced.append(False)
        self.v_held_s.append(0.0)
        self.v_held_at.append(-1.0)
        self.v_listener.append(listener)
        nodes = listener is not None and getattr(listener, "listens_to_nodes", True)
        self.v_nodes.append(nodes)
        self.v_special.append(nodes or self.classes[ci].priority)
        nodes = self.net.nodes
        self.v_label.append(label or (nodes[origin].id, nodes[destination].id))
        t = max(float(depart_s), self.now)
        if t <= self._fed_until:
            self._push(t, DEPART, vid)
        else:
            heapq.heappush(self.pending, (t, self._next_seq(), DEPART, vid))
        return vid

    def add_trips(self, depart_s, origins, destinations, kinds) -> None:
        """Bulk registration of background trips (parallel arrays): the same as add_vehicle
        per trip, without per-trip overhead."""
        dep = np.asarray(depart_s, dtype=float)
        orig = np.asarray(origins, dtype=np.int64)
        dest = np.asarray(destinations, dtype=np.int64)
        n = len(dep)
        if n == 0:
            return
        kinds = list(kinds)
        for bad in sorted(set(kinds) - set(self.class_index)):
            raise InputError(f"vehicle class {bad!r} is not one of {', '.join(self.class_index)}")
        ci = np.array([self.class_index[k] for k in kinds], dtype=np.int64)
        background = np.array([c.background for c in self.classes])[ci]
        guided = background & np.isin(dest, self.guidance.dest) & (orig != dest)
        if not (self.graph.kept[orig].all() and self.graph.kept[dest].all()):
            bad = int(orig[~self.graph.kept[orig]][0]) if not self.graph.kept[orig].all() \
                else int(dest[~self.graph.kept[dest]][0])
            raise InputError(f"node {self.net.nodes[bad].id} lies inside a road chain the "
                             "engine contracts; declare it in keep_nodes")
        if not guided.all():  # routed one by one: rare for background demand
            for i in np.flatnonzero(~guided).tolist():
                self.add_vehicle(float(dep[i]), int(orig[i]), int(dest[i]), kind=kinds[i])
        idx = np.flatnonzero(guided)
        if not len(idx):
            return
        first = len(self.v_kind)
        slot_of = self.guidance.slot_of
        ids = [n.id for n in self.net.nodes]
        o_l, d_l = orig[idx].tolist(), dest[idx].tolist()
        m = len(idx)
        self.v_kind.extend(kinds[i] for i in idx.tolist())
        self.v_cls.extend(ci[idx].tolist())
        self.v_orig.extend(o_l)
        self.v_dest.extend(d_l)
        self.v_slot.extend(slot_of[d] for d in d_l)
        self.v_route.extend([None] * m)
        self.v_rpos.extend([-1] * m)
        self.v_tab.extend([None] * m)
        self.v_tab_t.extend([0.0] * m)
        t = np.maximum(dep[idx], self.now)
        self.v_depart.extend(dep[idx].tolist())
        self.v_link.extend([-1] * m)
        self.v_entry.extend([0.0] * m)
        self.v_arrive.extend([None] * m)
        self.v_state.extend([PLANNED] * m)
        self.v_forced.extend([False] * m)
        self.v_held_s.extend([0.0] * m)
        self.v_held_at.extend([-1.0] * m)
        self.v_listener.extend([None] * m)
        self.v_nodes.extend([False] * m)
        self.v_special.extend([False] * m)
        self.v_label.extend((ids[o], ids[d]) for o, d in zip(o_l, d_l, strict=True))
        batch = []
        for tt, vid in zip(t.tolist(), range(first, first + m), strict=True):
            if tt <= self._fed_until:
                self._push(tt, DEPART, vid)
            else:
                batch.append((tt, self._next_seq(), DEPART, vid))
        batch.sort()
        rest = self.pending_sorted[self._ps_i:]
        merged = rest + batch
        if rest and batch and batch[0] < rest[-1]:  # batches overlap in time
            merged.sort()
        self.pending_sorted, self._ps_i = merged, 0

    def redirect(self, veh: int, destination: int) -> None:
        """Send a priority vehicle (an emergency unit) to a new destination node from where it
        is: one not yet set off is routed there when it does; one on a link goes on from the
        link's end on the fastest route of the moment."""
        if not self.classes[self.v_cls[veh]].priority or self.v_state[veh] == ARRIVED:
            raise ValueError(f"vehicle {veh} is not a priority vehicle on its way")
        if not self.graph.kept[destination]:
            raise InputError(f"destination {self.net.nodes[destination].id} lies inside a "
                             "road chain the engine contracts; declare it in keep_nodes")
        self.v_dest[veh] = destination
        self.v_label[veh] = (self.v_label[veh][0], self.net.nodes[destination].id)
        lk = self.v_link[veh]
        if self.v_state[veh] == ON_LINK and lk >= 0:
            rest = self.guidance.route(self.v_cls[veh], self.link_to[lk], destination)
            self.v_route[veh] = [lk, *(rest or [])]
            self.v_rpos[veh] = 0
        else:
            self.v_route[veh] = None

    def withdraw(self, veh: int) -> float | None:
        """Call off a vehicle that has not set off yet (its trip is no longer needed): it never
        departs and stays `planned`. Returns the time it was to set off, or None (and nothing
        changes) when it already has."""
        if self.v_state[veh] != PLANNED or veh in self.withdrawn:
            return None
        self.withdrawn.add(veh)
        self.v_special[veh] = True  # its departure takes the reference path, which checks
        return max(self.v_depart[veh], self.now)

    def route_metres(self, veh: int) -> float:
        """Length of a routed vehicle's route (a leg of a shuttle line, say)."""
        route = self.v_route[veh]
        return float(self.graph.length[route].sum()) if route else 0.0

    # ---- the event loop ------------------------------------------------------------------
    def run_until(self, t_end: float) -> None:
        """Process every event up to and including t_end."""
        if self.fast_path:
            self._run_fast(t_end)
        else:
            self._run_reference(t_end)
        if t_end > self.now:
            self.now = t_end

    def _dispatch(self, t: float, seq: int, kind: int, idx: int) -> None:
        """Every event kind but link releases (and, in the reference loop, those too)."""
        if kind == LINK:
            if self.evt_seq[idx] == seq:
                self.evt_seq[idx] = 0
                self._link_event(idx, t)
        elif kind == DEPART:
            self._depart(idx, t)
        elif kind == PRIO:
            self._priority_move(idx, t)
        elif kind == STUCK:
            self._stuck_check(idx, t)
        elif kind == CONTROL:
            self._controls[idx](t)
            self._controls[idx] = None
        elif kind == SAMPLE:
            self._sample(t)
        elif kind == REBUILD:
            self.update_signal_delay(t)
            self.guidance.rebuild(t)
            self._push(t + self.reroute_interval_s, REBUILD, 0)
        elif kind == FEED:
            self._feed(t)

    def _feed(self, t: float) -> None:
        """Move the next minute's departures into the event heap."""
        horizon = t + FEED_S
        pending, heap = self.pending, self.heap
        while pending and pending[0][0] <= horizon:
            heapq.heappush(heap, heapq.heappop(pending))
        bulk, i, n = self.pending_sorted, self._ps_i, len(self.pending_sorted)
        push = heapq.heappush
        while i < n and bulk[i][0] <= horizon:
            push(heap, bulk[i])
            i += 1
        self._ps_i = i
        self._fed_until = horizon
        if pending or i < n or t + FEED_S <= self.end_s:
            heapq.heappush(heap, (horizon, 0, FEED, 0))

    def _run_reference(self, t_end: float) -> None:
        """The plain loop: every event through the methods below (the semantics' reference)."""
        heap = self.heap
        while heap and heap[0][0] <= t_end:
            t, seq, kind, idx = heapq.heappop(heap)
            self.now = t
            self._dispatch(t, seq, kind, idx)

    def _run_fast(self, t_end: float) -> None:
        """The same loop with the common cases inlined: a link releases its head vehicle into a
        link with room (or the vehicle arrives), and a background vehicle departs onto a link
        with room. It must do exactly what _link_event, _release, _record_exit, _depart and
        _enter do; tests run both loops and compare their outputs. Anything else goes through
        the reference methods."""
        heap = self.heap
        pop, push, replace = heapq.heappop, heapq.heappush, heapq.heapreplace
        evt_seq, q_veh, q_ee, q_head = self.evt_seq, self.q_veh, self.q_ee, self.q_head
        link_to, v_dest, v_route, v_rpos = self.link_to, self.v_dest, self.v_route, self.v_rpos
        v_tab, v_tab_t, v_slot, v_cls = self.v_tab, self.v_tab_t, self.v_slot, self.v_cls
        v_link, v_entry, v_state, v_orig = self.v_link, self.v_entry, self.v_state, self.v_orig
        closed, occ, storage = self.closed, self.occ, self.storage
        waiters, woken, blocked_on = self.waiters, self.woken, self.blocked_on
        blocked_since, at_capacity, max_queue = (self.blocked_since, self.at_capacity,
                                                 self.max_queue)
        hw, next_release = self.hw, self.next_release
        last_out, queue_gap = self.last_out, self.queue_gap
        exit_base = self.exit_base
        log_id, log_time = self._new_ids.append, self._new_times.append
        next_seq = self._next_seq
        v_special, v_listener = self.v_special, self.v_listener
        pce_of = [c.pce for c in self.classes]
        guidance = self.guidance
        tables = guidance.tables
        epoch = guidance.epoch_t
        reroute = self.reroute_interval_s
        n_traversals = n_departed = n_arrived = 0
        v_arrive, v_forced = self.v_arrive, self.v_forced
        # A link event stays on top of the heap while it is handled and is then replaced by
        # the link's next event (one sift instead of a pop and a push). That is safe because
        # every event pushed meanwhile sorts after it: its time is no earlier (now is set to t
        # before anything outside the loop runs) and its sequence number is newer.
        while heap:
            t, seq, kind, lk = heap[0]
            if t > t_end:
                break
            if kind == LINK:
                if evt_seq[lk] != seq:
                    pop(heap)
                    continue
                h = q_head[lk]
                qv = q_veh[lk]
                if h >= len(qv):
                    pop(heap)
                    continue
                veh = qv[h]
                ci = v_cls[veh]
                node = link_to[lk]
                # the next link
                if node == v_dest[veh]:
                    nl = ARRIVE
                else:
                    route = v_route[veh]
                    if route is not None:
                        nl = route[v_rpos[veh] + 1]
                    else:
                        tt0 = v_tab_t[veh]
                        if t - tt0 >= reroute or tt0 < epoch:
                            self.now = t
                            nl = self._next_link(veh, node)
                        else:
                            nl = v_tab[veh][node]
                pce = pce_of[ci]
                if nl >= 0:
                    o = occ[nl]
                    if closed[ci][nl] or (o > 0 and (o + pce > storage[nl] + 1e-9
                                                     or (waiters[nl] and not woken[lk]))):
                        pop(heap)
                        self.now = t
                        self.traversals += n_traversals
                        n_traversals = 0
                        self._link_event(lk, t)
                        continue
                elif nl == NO_PATH or blocked_on[lk] != -1:
                    pop(heap)
                    self.now = t
                    self.traversals += n_traversals
                    n_traversals = 0
                    self._link_event(lk, t)
                    continue
                woken[lk] = False
                # release the head vehicle (as _release)
                qe = q_ee[lk]
                hwp = hw[lk] * pce
                if h + 1 < len(qe) and qe[h + 1] <= t:  # another vehicle waits: a queue stands
                    queued = bisect_right(qe, t, h) - h
                    if queued > max_queue[lk]:
                        max_queue[lk] = queued
                    if last_out[lk] >= 0.0:
                        queue_gap[lk] += 0.2 * (t - last_out[lk] - queue_gap[lk])
                    last_out[lk] = t
                    if blocked_on[lk] == -1:
                        at_capacity[lk] += hwp
                elif last_out[lk] >= 0.0:
                    last_out[lk] = -1.0
                if blocked_on[lk] != -1:
                    at_capacity[lk] += t - blocked_since[lk]
                    blocked_on[lk] = -1
                log_id(lk)
                log_id(veh)
                log_time(v_entry[veh])
                log_time(t)
                h += 1
                q_head[lk] = h
                if h > 256 and h * 2 > len(qv):
                    del qv[:h]
                    del qe[:h]
                    h = 0
                    q_head[lk] = 0
                occ[lk] -= pce
                nr = t + hwp
                next_release[lk] = nr
                if v_special[veh]:
                    self.now = t
                    self.traversals += n_traversals
                    n_traversals = 0
                    if nl == ARRIVE:
                        self.in_network -= 1
                        self._arrive(veh, t)
                    else:
                        self._enter(veh, nl, t)
                    nl = -1  # nothing left to enter below
                elif nl == ARRIVE:  # (as _arrive, for a vehicle without a listener of nodes)
                    v_arrive[veh] = t
                    v_state[veh] = ARRIVED
                    v_link[veh] = -1
                    n_arrived += 1
                    if v_forced[veh]:
                        self.stuck_now -= 1
                    lst = v_listener[veh]
                    if lst is not None:
                        self.now = t
                        lst.on_arrive(veh, t)
            elif kind == DEPART and v_state[lk] == PLANNED and not v_special[lk] \
                    and v_slot[lk] >= 0 and v_route[lk] is None:
                # a background vehicle departs (as _depart); anything unusual: the method
                pop(heap)
                veh = lk
                ci = v_cls[veh]
                node = v_orig[veh]
                tab = tables[ci]
                nl = tab[v_slot[veh]][node] if node != v_dest[veh] else NO_PATH
                pce = pce_of[ci]
                if nl < 0 or closed[ci][nl] or waiters[nl] or occ[nl] + pce > storage[nl]:
                    self.now = t
                    self.traversals += n_traversals
                    n_traversals = 0
                    self._dispatch(t, seq, kind, lk)
                    continue
                n_departed += 1
                v_state[veh] = ON_LINK
                v_tab[veh] = tab[v_slot[veh]]
                v_tab_t[veh] = t
                route = None
            else:
                pop(heap)
                self.now = t
                self.traversals += n_traversals
                n_traversals = 0
                self.departed += n_departed
                self.arrived += n_arrived
                self.in_network += n_departed - n_arrived
                n_departed = n_arrived = 0
                self._dispatch(t, seq, kind, lk)
                epoch = guidance.epoch_t
                continue
            if nl >= 0:
                # enter the next link (as _enter, for a plain vehicle without a listener)
                if route is not None:
                    v_rpos[veh] += 1
                v_link[veh] = nl
                v_entry[veh] = t
                n_traversals += 1
                occ[nl] += pce
                nqv, nqe = q_veh[nl], q_ee[nl]
                ee = t + exit_base[ci][nl]
                nh = q_head[nl]
                was_empty = len(nqv) == nh
                if not was_empty and nqe[-1] > ee:
                    ee = nqe[-1]
                nqv.append(veh)
                nqe.append(ee)
                if was_empty and blocked_on[nl] < 0:
                    nnr = next_release[nl]
                    s2 = next_seq()
                    evt_seq[nl] = s2
                    push(heap, (ee if ee > nnr else nnr, s2, LINK, nl))
            if kind == LINK:
                if h < len(qv):
                    ee = qe[h]
                    s2 = next_seq()
                    evt_seq[lk] = s2
                    replace(heap, (ee if ee > nr else nr, s2, LINK, lk))
                else:
                    pop(heap)
                if waiters[lk]:
                    self.now = t
                    self._wake(lk, t)
        self.traversals += n_traversals
        self.departed += n_departed
        self.arrived += n_arrived
        self.in_network += n_departed - n_arrived

    # ---- movement ------------------------------------------------------------------------
    def _next_link(self, veh: int, node: int) -> int:
        if node == self.v_dest[veh]:
            return ARRIVE
        route = self.v_route[veh]
        if route is not None:
            return route[self.v_rpos[veh] + 1]
        row = self.v_tab[veh]
        if self.now - self.v_tab_t[veh] >= self.reroute_interval_s or (
                self.v_tab_t[veh] < self.guidance.epoch_t):
            row = self.guidance.tables[self.v_cls[veh]][self.v_slot[veh]]
            self.v_tab[veh] = row
            self.v_tab_t[veh] = self.now
        return row[node]

    def _depart(self, veh: int, t: float) -> None:
        if veh in self.withdrawn or self.v_state[veh] == ABANDONED:
            return
        if self.v_state[veh] == PLANNED:
            self.departed += 1
            self.in_network += 1
            self.waiting_to_enter += 1
            self.v_state[veh] = WAITING
        if self.v_route[veh] is None and self.v_slot[veh] >= 0:
            self.v_tab[veh] = self.guidance.tables[self.v_cls[veh]][self.v_slot[veh]]
            self.v_tab_t[veh] = t
        elif self.v_route[veh] is None and self.v_orig[veh] != self.v_dest[veh]:
            # a routed vehicle setting off again after waiting out a closure
            route = self.guidance.route(self.v_cls[veh], self.v_orig[veh], self.v_dest[veh])
            if route is None:
                self._wait_for_opening(veh, t)
                return
            self.v_route[veh] = route
            self.v_rpos[veh] = -1
        nl = self._open_way(veh, self.v_orig[veh], self._next_link(veh, self.v_orig[veh]))
        if nl == ARRIVE:
            self.waiting_to_enter -= 1
            self.in_network -= 1
            self._arrive(veh, t)
            return
        if nl == NO_PATH:  # every way on is closed: wait off the road for a reopening
            self._wait_for_opening(veh, t)
            return
        if self.v_held_at[veh] >= 0.0:  # a way has opened: the wait for the closure ends
            self.v_held_s[veh] += t - self.v_held_at[veh]
            self.v_held_at[veh] = -1.0
        pce = self.classes[self.v_cls[veh]].pce
        if self.classes[self.v_cls[veh]].priority or (
                not self.waiters[nl] and self.occ[nl] + pce <= self.storage[nl]):
            self.waiting_to_enter -= 1
            self._enter(veh, nl, t)
        else:
            self.entry_wait[nl].append(veh)
            if len(self.entry_wait[nl]) == 1:
                self.waiters[nl].append(DEPARTURE_BUFFER)

    def _enter(self, veh: int, lk: int, t: float) -> None:
        ci = self.v_cls[veh]
        cls = self.classes[ci]
        if self.v_route[veh] is not None:
            self.v_rpos[veh] += 1
        self.v_link[veh] = lk
        self.v_state[veh] = ON_LINK
        self.v_entry[veh] = t
        self.traversals += 1
        to_exit = self.exit_base[ci][lk]
        if self.v_nodes[veh]:
            self.v_listener[veh].on_node(veh, self.net.nodes[self.link_from[lk]].id, t)
        if cls.priority:
            skip = 1.0 if cls.name == "motorcade" else self.emergency_queue_skip
            queued = self._queued(lk, t)
            per_vehicle = max(self.hw[lk], self.queue_gap[lk]) if queued >= 2 else self.hw[lk]
            self._push(t + to_exit + (1.0 - skip) * queued * per_vehicle, PRIO, veh)
            return
        self.occ[lk] += cls.pce
        qv, qe = self.q_veh[lk], self.q_ee[lk]
        ee = t + to_exit
        if len(qe) > self.q_head[lk] and qe[-1] > ee:
            ee = qe[-1]  # FIFO: no overtaking inside a link
        was_empty = len(qv) == self.q_head[lk]
        qv.append(veh)
        qe.append(ee)
        if was_empty and self.blocked_on[lk] < 0:
            nr = self.next_release[lk]
            self._schedule_link(lk, ee if ee > nr else nr)

    def _queued(self, lk: int, t: float) -> int:
        """Vehicles on the link already past their free-flow exit time."""
        h = self.q_head[lk]
        return bisect_right(self.q_ee[lk], t, h) - h

    def _link_event(self, lk: int, t: float) -> None:
        h = self.q_head[lk]
        qv = self.q_veh[lk]
        if h >= len(qv):
            return
        veh = qv[h]
        node = self.link_to[lk]
        nl = self._next_link(veh, node)
        woken = self.woken[lk]
        self.woken[lk] = False
        nl = self._open_way(veh, node, nl)
        if nl >= 0:
            pce = self.classes[self.v_cls[veh]].pce
            occ = self.occ[nl]
            if occ > 0 and (occ + pce > self.storage[nl] + 1e-9
                            or (self.waiters[nl] and not woken)):
                if woken:
                    self.waiters[nl].appendleft(lk)
                    self._block_start(lk, nl, t, register=False)
                else:
                    self._block_start(lk, nl, t, register=True)
                return
        elif nl == NO_PATH:
            nl = HOLD
        self._release(lk, veh, nl, t)

    def _open_way(self, veh: int, node: int, nl: int) -> int:
        """`nl` if it is open to the vehicle; else the first link of the fastest open way round
        from `node` (which becomes its fixed route), or NO_PATH: it will wait off the road.
        Closed next links come from fixed routes, or from tables not yet rebuilt after a
        closure."""
        if nl < 0 or not self.closed[self.v_cls[veh]][nl]:
            return nl
        detour = self.guidance.route(self.v_cls[veh], node, self.v_dest[veh])
        if not detour:
            return NO_PATH
        self.v_route[veh] = detour
        self.v_rpos[veh] = -1
        return detour[0]

    def _block_start(self, lk: int, nl: int, t: float, *, register: bool) -> None:
        if self.blocked_on[lk] < 0:
            self.blocked_since[lk] = t
            self._push(t + self.stuck_after_s, STUCK, lk)
        self.blocked_on[lk] = nl if nl >= 0 else -2
        if register:
            self.waiters[nl].append(lk)

    def _release(self, lk: int, veh: int, nl: int, t: float) -> None:
        h = self.q_head[lk]
        qe = self.q_ee[lk]
        pce = self.classes[self.v_cls[veh]].pce
        hw = self.hw[lk] * pce
        queued = bisect_right(qe, t, h) - h
        if queued >= 2:  # another vehicle waits behind this one: a standing queue
            if queued > self.max_queue[lk]:
                self.max_queue[lk] = queued
            if self.last_out[lk] >= 0.0:
                self.queue_gap[lk] += 0.2 * (t - self.last_out[lk] - self.queue_gap[lk])
            self.last_out[lk] = t
            if self.blocked_on[lk] == -1:
                self.at_capacity[lk] += hw
        elif self.last_out[lk] >= 0.0:
            self.last_out[lk] = -1.0
        if self.blocked_on[lk] != -1:
            self.at_capacity[lk] += t - self.blocked_since[lk]
            self.blocked_on[lk] = -1
        self._record_exit(lk, veh, t)
        h += 1
        self.q_head[lk] = h
        qv = self.q_veh[lk]
        if h > 256 and h * 2 > len(qv):
            del qv[:h]
            del qe[:h]
            h = 0
            self.q_head[lk] = 0
        self.occ[lk] -= pce
        self.next_release[lk] = t + hw
        if nl == ARRIVE:
            self.in_network -= 1
            self._arrive(veh, t)
        elif nl == HOLD:
            self._hold(veh, self.link_to[lk], t)
        else:
            self._enter(veh, nl, t)
        if h < len(qv):
            ee = qe[h]
            nr = t + hw
            self._schedule_link(lk, ee if ee > nr else nr)
        if self.waiters[lk]:
            self._wake(lk, t)

    def _hold(self, veh: int, node: int, t: float) -> None:
        """Take a vehicle with no open way on off the road at `node`; it sets off again from
        there when a closure ends (a routed vehicle gets a new route then)."""
        self.v_link[veh] = -1
        self.v_state[veh] = WAITING
        self.v_orig[veh] = node
        self.v_route[veh] = None
        self.waiting_to_enter += 1
        self._wait_for_opening(veh, t)

    def _wait_for_opening(self, veh: int, t: float) -> None:
        """A vehicle waits off the road for a closure to end; a background driver's patience
        runs from the start of the wait (agents' vehicles wait as long as it takes)."""
        if self.v_held_at[veh] < 0.0:
            self.v_held_at[veh] = t
            if self.closure_patience_s is not None and self.v_listener[veh] is None \
                    and self.classes[self.v_cls[veh]].background:
                self._held.append((t, veh))
        self.unrouted.append(veh)

    def _give_up_waits(self, t: float) -> None:
        """Drivers held longer than their patience give their trips up: one that had not set
        off does not make the trip by car; one held on the way parks where it stands."""
        held, patience = self._held, self.closure_patience_s
        while held and held[0][0] + patience <= t:
            since, veh = held.popleft()
            if self.v_held_at[veh] != since or self.v_state[veh] != WAITING:
                continue  # it set off again since, or this is an older wait of it
            self.v_held_s[veh] += t - since
            self.v_held_at[veh] = -1.0
            self.v_state[veh] = ABANDONED
            self.abandoned_at[veh] = t
            self.waiting_to_enter -= 1
            self.in_network -= 1
            if self.v_forced[veh]:
                self.stuck_now -= 1

    def _record_exit(self, lk: int, veh: int, t: float) -> None:
        self._new_ids.append(lk)
        self._new_ids.append(veh)
        self._new_times.append(self.v_entry[veh])
        self._new_times.append(t)

    def _wake(self, lk: int, t: float) -> None:
        """Space freed on lk: hand it to the first waiter (an upstream link or the departures)."""
        waiters = self.waiters[lk]
        while waiters and self.occ[lk] < self.storage[lk]:
            w = waiters.popleft()
            if w == DEPARTURE_BUFFER:
                buf = self.entry_wait[lk]
                veh = buf.popleft()
                if buf:
                    waiters.append(DEPARTURE_BUFFER)
                self.waiting_to_enter -= 1
                self._enter(veh, lk, t)
                continue
            if self.blocked_on[w] == lk:
                self.woken[w] = True
                self._schedule_link(w, t)
                return

    def _stuck_check(self, lk: int, t: float) -> None:
        if self.blocked_on[lk] == -1 or self.blocked_since[lk] + self.stuck_after_s > t + 1e-6:
            return
        h = self.q_head[lk]
        if h >= len(self.q_veh[lk]):
            return
        veh = self.q_veh[lk][h]
        nl = self.blocked_on[lk]
        with contextlib.suppress(ValueError):
            self.waiters[nl].remove(lk)
        if not self.v_forced[veh]:
            self.v_forced[veh] = True
            self.stuck_now += 1
        self.stuck_events += 1
        self.woken[lk] = False
        self._release(lk, veh, nl, t)

    def _priority_move(self, veh: int, t: float) -> None:
        lk = self.v_link[veh]
        self._record_exit(lk, veh, t)
        nl = self._next_link(veh, self.link_to[lk])
        if nl == ARRIVE:
            self.in_network -= 1
            self._arrive(veh, t)
        elif nl == NO_PATH:
            self.in_network -= 1
            self._arrive(veh, t)  # a priority vehicle with nowhere open to go stops here
        else:
            self._enter(veh, nl, t)

    def _arrive(self, veh: int, t: float) -> None:
        self.v_arrive[veh] = t
        self.v_state[veh] = ARRIVED
        self.v_link[veh] = -1
        self.arrived += 1
        if self.v_forced[veh]:
            self.stuck_now -= 1
        lst = self.v_listener[veh]
        if lst is not None:
            lst.on_arrive(veh, t)

    # ---- closures --------------------------------------------------------------------------
    def set_closed(self, links, classes, closed: bool) -> None:
        """Open or close network links for the given class names (closures nest: a link reopens
        when the last closure holding it ends)."""
        cis = [self.class_index[c] for c in classes if not VEHICLE_CLASSES[c].priority]
        of_link = self.graph.of_link
        for ci in cis:
            held, sim = self.net_closed[ci], self.closed[ci]
            for lk in links:
                if closed:
                    held[lk] += 1
                    if held[lk] == 1:
                        sim[of_link[lk]] += 1
                elif held[lk] > 0:
                    held[lk] -= 1
                    if held[lk] == 0:
                        sim[of_link[lk]] -= 1
                        self._opened = True
        # Closures bunch (a motorcade closes link after link): one rebuild serves all the
        # changes within CLOSURE_REBUILD_S. Until then the old tables may point into a closed
        # link; the stop-line check sends such a vehicle round it on a fresh route.
        self.guidance.epoch_t = self.now
        self.guidance.forget_routes()
        if not self._closure_rebuild_pending:
            self._closure_rebuild_pending = True
            self._push(self.now + CLOSURE_REBUILD_S, CONTROL, self._control_index(
                self._closure_rebuild))

    def _control_index(self, action) -> int:
        self._controls.append(action)
        return len(self._controls) - 1

    def _closure_rebuild(self, t: float) -> None:
        self._closure_rebuild_pending = False
        self.guidance.rebuild(t, closure_change=True)
        # vehicles waiting off the road may have an open way now - but only if a link opened:
        # more closures never open a way (a motorcade's rolling closures would otherwise send
        # every vehicle shut in behind a long closure round the loop at each change)
        if self._opened:
            self._opened = False
            retry, self.unrouted = self.unrouted, []
            for veh in retry:
                self._push(t, DEPART, veh)

    # ---- sampling --------------------------------------------------------------------------
    def _sample(self, t: float) -> None:
        if self._held:
            self._give_up_waits(t)
        self.timeseries.append((t, self.in_network, self.waiting_to_enter, self.departed,
                                self.arrived, self.stuck_now))
        if t + 60.0 <= self.end_s:
            self._push(t + 60.0, SAMPLE, 0)

    # ---- accounting --------------------------------------------------------------------------
    def _flush_log(self) -> None:
        """Move the traversals logged since the last flush into the log's arrays."""
        if self._new_ids:
            if self._log_shared:  # numpy reads the buffers in place: grow fresh copies instead
                self._log_ids, self._log_times = array("q", self._log_ids), array(
                    "d", self._log_times)
                self._log_shared = False
            self._log_ids.fromlist(self._new_ids)
            self._log_times.fromlist(self._new_times)
            self._new_ids.clear()
            self._new_times.clear()

    @property
    def log(self) -> array:
        """Entry and exit time of every completed traversal, flat pairs; its length grows with
        each traversal (readers key caches on it). traversals_log() gives the whole record."""
        self._flush_log()
        return self._log_times

    def traversals_log(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every completed traversal: sim link id, vehicle, entry time, exit time (read-only
        arrays, computed once per log length: several readers ask for them after a run)."""
        self._flush_log()
        n = len(self._log_times)
        cached = getattr(self, "_traversals", None)
        if cached is not None and cached[0] == n:
            return cached[1]
        # Views of the log's buffers, not copies (a day's log is some 70 MB): the buffers are
        # marked shared, and the next traversal logged goes into fresh copies (_flush_log), as
        # a buffer numpy has seen cannot grow.
        ids = np.frombuffer(self._log_ids, dtype=np.int64).reshape(-1, 2)
        times = np.frombuffer(self._log_times, dtype=float).reshape(-1, 2)
        self._log_shared = True
        out = (ids[:, 0], ids[:, 1], times[:, 0], times[:, 1])
        for a in out:
            a.flags.writeable = False
        self._traversals = (n, out)
        return out

    def _on_link_now(self) -> tuple[np.ndarray, np.ndarray]:
        """Vehicles inside a link now (entered, not yet left) and the sim link each is on."""
        state = np.asarray(self.v_state, dtype=np.int64)
        link = np.asarray(self.v_link, dtype=np.int64)
        veh = np.flatnonzero((state == ON_LINK) & (link >= 0))
        return veh, link[veh]

    def vehicle_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """Per vehicle: metres driven and free-flow seconds (clear weather, the vehicle's class)
        over the links it has entered, the one it is on included."""
        n_veh = len(self.v_kind)
        lk, veh, _, _ = self.traversals_log()
        on_veh, on_link = self._on_link_now()
        lk = np.concatenate([lk, on_link])
        veh = np.concatenate([veh, on_veh])
        cls = np.asarray(self.v_cls, dtype=np.int64)[veh] if n_veh else veh
        fft = np.asarray(self.fft_base)
        metres = np.bincount(veh, weights=self.graph.length[lk], minlength=n_veh)
        free = np.bincount(veh, weights=fft[cls, lk], minlength=n_veh)
        return metres, free

    def link_summary(self) -> dict[str, np.ndarray]:
        """Per network link: entries, exits, travel-time sum and max, queue statistics, and per
        15-minute bin (by entry time) exits and travel-time sums, from the traversal log.
        Links of a contracted chain share its counts; travel time is split by free-flow time;
        queue statistics go to the chain's bottleneck link."""
        n = len(self.log)
        if getattr(self, "_summary_n", -1) == n:
            return self._summary
        g = self.graph
        S = g.n_links
        lk, _, t_in, t_out = self.traversals_log()
        tt = t_out - t_in
        n_bins = int(np.ceil((self.end_s - self.start_s) / self.bin_s)) + 1
        # in place where it can be: each fresh temporary of a day's log is tens of MB of
        # memory the system must hand over page by page
        b = t_in - self.start_s
        np.floor_divide(b, self.bin_s, out=b)
        cell = b.astype(np.int64)
        del b
        np.clip(cell, 0, n_bins - 1, out=cell)
        tt_max = np.zeros(S)
        np.maximum.at(tt_max, lk, tt)
        cell += lk * n_bins
        share = self.net_free_flow() / np.asarray(self.fft_base[0])[g.of_link]
        of = g.of_link
        on_bottleneck = np.zeros(self.net.n_links, dtype=bool)
        on_bottleneck[g.bottleneck] = True
        self._summary = {
            "entered": (np.bincount(lk, minlength=S)
                        + np.bincount(self._on_link_now()[1], minlength=S))[of],
            "exited": np.bincount(lk, minlength=S)[of],
            "tt_sum": np.bincount(lk, weights=tt, minlength=S)[of] * share,
            "tt_max": tt_max[of] * share,
            "max_queue": np.where(on_bottleneck, np.asarray(self.max_queue)[of], 0),
            "seconds_at_capacity": np.where(on_bottleneck,
                                            np.asarray(self.at_capacity)[of], 0.0),
            "bin_n": np.bincount(cell, minlength=S * n_bins).reshape(S, n_bins)[of],
            "bin_tt": np.bincount(cell, weights=tt, minlength=S * n_bins).reshape(S, n_bins)[of]
            * share[:, None],
        }
        self._summary_n = n
        return self._summary

    @property
    def abandoned(self) -> int:
        """Trips given up after waiting for a closure past the driver's patience."""
        return len(self.abandoned_at)

    def jam_state(self) -> tuple[np.ndarray, int]:
        """Now: per network link, whether its queue's storage is full (no room for one more
        car; the links of a contracted chain share its queue), and the vehicles standing: in
        a queue past their earliest exit, or waiting to enter the road (at their origin or off
        the road at a closure)."""
        full = np.asarray(self.occ) + 1.0 > np.asarray(self.storage) + 1e-9
        now = self.now
        queued = sum(bisect_right(qe, now, h) - h
                     for qe, h in zip(self.q_ee, self.q_head, strict=True) if h < len(qe))
        return full[self.graph.of_link], queued + self.waiting_to_enter

    def held_by_closures(self) -> tuple[np.ndarray, np.ndarray]:
        """Now: the vehicles waiting off the road for a closure to end, and the network node
        index each waits at (its origin, or the end of the link it left)."""
        held = np.flatnonzero((np.asarray(self.v_held_at) >= 0.0)
                              & (np.asarray(self.v_state) == WAITING))
        return held, np.asarray(self.v_orig, dtype=np.int64)[held]

    def vehicle_status(self, veh: int) -> str:
        """One meaning per status: `arrived` (reached its destination, forced on or not),
        `abandoned` (held by closures past the driver's patience: the trip was given up),
        `stuck` (pushed on past a blocked link and not arrived), `en_route` (none of these)."""
        if self.v_arrive[veh] is not None:
            return "arrived"
        if self.v_state[veh] == ABANDONED:
            return "abandoned"
        if self.v_forced[veh]:
            return "stuck"
        return "en_route"

    def counts(self) -> dict[str, int]:
        """Conservation: entered = arrived + en_route + stuck + abandoned; planned have not
        departed yet; `forced`: the arrived vehicles that were pushed on past a blocked link on
        the way."""
        # as vehicle_status per vehicle, over arrays
        state = np.asarray(self.v_state, dtype=np.int64)
        planned = state == PLANNED
        abandoned = state == ABANDONED
        forced = np.asarray(self.v_forced, dtype=bool) & ~planned
        arrived = ~np.isnan(np.array(self.v_arrive, dtype=float)) & ~planned
        n_planned, n_arrived = int(np.count_nonzero(planned)), int(np.count_nonzero(arrived))
        n_abandoned = int(np.count_nonzero(abandoned))
        n_stuck = int(np.count_nonzero(forced & ~arrived & ~abandoned))
        entered = len(self.v_state) - n_planned
        return {"registered": len(self.v_kind), "entered": entered, "arrived": n_arrived,
                "en_route": entered - n_arrived - n_stuck - n_abandoned, "stuck": n_stuck,
                "abandoned": n_abandoned, "planned": n_planned,
                "forced": int(np.count_nonzero(forced & arrived))}

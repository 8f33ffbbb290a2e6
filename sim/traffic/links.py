"""Link state: what every sim link offers and holds now.

Capacity and storage (roads, lane closures, weather, the signals' green share), free-flow and
earliest-exit times per vehicle class (speed factors, weather, junction delay), signal plans,
closures per class, and the state of each link's queue the event loop keeps (occupancy, next
release, spill-back, queue statistics). `expected_times` is the
one estimate of a link's traversal time now that guidance and the emergency layer plan with.

Per-link values the event loop reads are plain lists, changed only in place (`lst[:] = ...`):
the loop holds them in local variables for a whole run.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..network import RoadNetwork
from .simgraph import SimGraph
from .vehicles import VEHICLE_CLASSES, VehicleClass

SATURATION_FLOW_VPH = 2200.0  # per lane of green at a signal (KHCM; facts doc)
MAX_QUEUE_S = 7200.0  # a queue's delay counts at most this much in what a priority unit expects


class SignalPlan(NamedTuple):
    """How the signalised junctions run: a fixed-time cycle (s) with an effective green share,
    or flashing (yellow/red: drivers give way, no cycle; then cycle and green are unused)."""

    cycle_s: float
    green_ratio: float
    flashing: bool = False


class LinkState:
    """Per sim link: capacity, storage, free-flow and exit times, junction delay, closures and
    queues; see the module docstring."""

    def __init__(self, net: RoadNetwork, graph: SimGraph, *, start_s: float,
                 capacity_scale: float, speed_factors, signal_cycle_s: float,
                 signal_green_ratio: float, give_way_delay_s: float,
                 local_junction_delay_s: float, emergency_queue_skip: float):
        self.net, self.graph = net, graph
        g = graph
        L = g.n_links
        self._last_member = np.array([c[-1] for c in g.members], dtype=np.int64)
        self.link_from = g.link_from.tolist()
        self.link_to = g.link_to.tolist()
        self.length = g.length.tolist()
        self.class_index = {name: i for i, name in enumerate(VEHICLE_CLASSES)}
        self.classes = list(VEHICLE_CLASSES.values())
        # priority vehicles skip this share of a standing queue (a motorcade skips all of it)
        self.emergency_queue_skip = float(emergency_queue_skip)
        # Free-flow speed of a network link: posted speed times its road class's factor
        # (calibration; 1.0 unless given), capped by each class's own top speed. The factors
        # stand for what slows ordinary traffic below the limit (signals, turns, side friction
        # the network does not hold): priority vehicles under lights and sirens, or on roads
        # the police clear, drive at the posted speed.
        self.speed_factor = net.speed_factor_of_links(speed_factors)
        # Free-flow seconds per class and sim link in clear weather (class limits apply).
        self.fft_base = [g.free_flow(c.vmax_kmh, self._factor(c)).tolist()
                         for c in self.classes]
        self._fft_arrays = [np.asarray(f) for f in self.fft_base]  # the same, for numpy
        self._network_share: dict[str, np.ndarray] = {}
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
        self._update_capacity()
        self.signal_delay: list[float] = [0.0] * L
        self.flow = np.zeros(L)  # veh/h per sim link over the last measuring interval
        # per class and link: seconds from entry to the earliest exit (free flow under the
        # weather plus the junction delay)
        self.exit_base: list[list[float]] = [[0.0] * L for _ in self.classes]
        # closures: per class and network link, how many closures hold it; per class and sim
        # link, how many of its member links are closed
        self.net_closed = [np.zeros(net.n_links, dtype=np.int64) for _ in self.classes]
        self.closed = [[0] * L for _ in self.classes]
        self.reopened = False  # a closed link has reopened since the loop last looked
        # (the queues themselves are the event loop's)
        self.occ = [0.0] * L  # PCE on the link (moving or queued)
        self.next_release = [float(start_s)] * L  # no release before this (flow capacity)
        # spill-back: the full link each link waits for (-1: none; -2: waits for nothing but
        # its own head vehicle's way), since when, and whether it was handed the freed space
        self.blocked_on = [-1] * L
        self.blocked_since = [0.0] * L
        self.woken = [False] * L
        # queue statistics: the longest queue; the discharge of a standing queue: smoothed
        # seconds between releases while queued, which is what a vehicle joining the queue will
        # wait per vehicle ahead (priority vehicles); seconds released at capacity or blocked
        self.max_queue = [0] * L
        self.last_out = [-1.0] * L  # last release while queued; -1 when no queue stands
        self.queue_gap = [0.0] * L
        self.at_capacity = [0.0] * L

    # ---- free flow --------------------------------------------------------------------------
    def _factor(self, c: VehicleClass) -> np.ndarray | None:
        """The road classes' speed factors a vehicle class drives at (None: the posted speed)."""
        return None if c.priority else self.speed_factor

    def net_free_flow(self, class_name: str = "car") -> np.ndarray:
        """Free-flow seconds per network link for a class in clear weather (posted speeds times
        the road classes' speed factors, capped by the class's top speed)."""
        c = VEHICLE_CLASSES[class_name]
        return self.net.free_flow_times(c.vmax_kmh, self._factor(c))

    def network_share(self, class_name: str = "car") -> np.ndarray:
        """Per network link: its share of its sim link's (contracted chain's) free-flow time for
        a class, which splits a chain's times over its links."""
        share = self._network_share.get(class_name)
        if share is None:
            ci = self.class_index[class_name]
            share = self.net_free_flow(class_name) / np.asarray(self.fft_base[ci])[
                self.graph.of_link]
            self._network_share[class_name] = share
        return share

    def _update_exit_base(self) -> None:
        """Per class and link: seconds from entry to the earliest exit (free flow under the
        weather, plus the junction delay); replaced in place, the event loop holds the list."""
        delay = np.asarray(self.signal_delay)
        rows = [f / self.weather_speed + delay for f in self._fft_arrays]
        if isinstance(self.exit_base, np.ndarray):  # the compiled core's table: no lists
            for ci, r in enumerate(rows):
                self.exit_base[ci] = r
        else:
            self.exit_base[:] = [r.tolist() for r in rows]

    # ---- capacity and storage ---------------------------------------------------------------
    def _signal_capacity(self) -> np.ndarray:
        """Per sim link, the most its downstream signal passes (veh/h): its green share of the
        saturation flow, whatever the class; no cap without a signal or while it flashes."""
        plan = self.signal_plan
        if plan.flashing:
            return np.full(self.graph.n_links, np.inf)
        lanes = self.net.lanes[self._last_member]
        return np.where(self.signalised, lanes * SATURATION_FLOW_VPH * plan.green_ratio, np.inf)

    def _update_capacity(self) -> None:
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
        self._update_capacity()
        self._update_exit_base()

    def set_capacity_factor(self, links, factor: float) -> None:
        """Scale the capacity and storage of network links (lane closures); 1.0 restores."""
        self.cap_factor[list(links)] = float(factor)
        self._update_capacity()

    # ---- junctions and signals --------------------------------------------------------------
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

    def set_signal_plan(self, plan: SignalPlan) -> bool:
        """Run the signals on another plan from now: signal capacities and junction delays (on
        the flow last measured) follow at once. Returns whether the plan changed."""
        plan = SignalPlan(float(plan.cycle_s), float(plan.green_ratio), bool(plan.flashing))
        if plan == self.signal_plan:
            return False
        self.signal_plan = plan
        self._signal_cap = self._signal_capacity()
        self._update_capacity()
        self.refresh_signal_delay()
        return True

    def set_flow(self, flow: np.ndarray) -> None:
        """The flow (veh/h per sim link) measured over the last interval: junction delays now
        follow it."""
        self.flow = flow
        self.refresh_signal_delay()

    def refresh_signal_delay(self) -> None:
        """Junction delays under the plan now, for the flow last measured over capacity now."""
        cap = 3600.0 / np.asarray(self.hw)
        x = np.where(cap > 0, self.flow / np.maximum(cap, 1e-9), 0.0)
        self.signal_delay[:] = self.junction_delay(x, self.signal_plan).tolist()
        self._update_exit_base()

    # ---- closures ---------------------------------------------------------------------------
    def set_closed(self, links, classes, closed: bool) -> None:
        """Open or close network links for the given class names (closures nest: a link reopens
        when the last closure holding it ends; priority classes pass every closure)."""
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
                        self.reopened = True

    def open_mask(self, class_index: int) -> np.ndarray:
        """Per sim link: open to the class now."""
        return np.asarray(self.closed[class_index]) == 0

    # ---- expected times ---------------------------------------------------------------------
    def expected_times(self, class_index: int, *, skipping_queues: bool = False) -> np.ndarray:
        """Seconds a vehicle of the class expects to take over each sim link now: free flow
        under the weather, the junction delay, and the delay of the standing queue (the PCE on
        the link beyond what it holds moving at capacity flow, one headway each). Guidance
        routes on these.

        `skipping_queues`: as an emergency unit under lights and sirens expects it (the
        emergency layer's dispatch and routing times): it waits out only 1 -
        emergency_queue_skip of the queue, counted at most MAX_QUEUE_S, and a link without
        capacity holds no queue delay. The vehicles moving are then counted over the running
        time alone, while guidance counts them over running time plus junction delay; the two
        estimates have always differed so, and stay as they are until the difference is
        settled on purpose (it moves every output)."""
        base = np.asarray(self.exit_base[class_index])  # free flow under weather + junction
        hw = np.asarray(self.hw)
        occ = np.asarray(self.occ)
        if not skipping_queues:
            moving = base / hw  # vehicles the link holds at capacity flow and free-flow speed
            return base + np.maximum(0.0, occ - moving) * hw
        running = np.asarray(self.fft_base[class_index]) / self.weather_speed
        with np.errstate(divide="ignore", invalid="ignore"):
            moving = np.where(np.isfinite(hw), running / hw, 0.0)
            excess = np.maximum(0.0, occ - moving)
            queue = np.where(excess > 0, np.minimum(excess * hw, MAX_QUEUE_S), 0.0)
        return base + (1.0 - self.emergency_queue_skip) * queue

    def expected_network_times(self, class_name: str, *,
                               skipping_queues: bool = False) -> np.ndarray:
        """expected_times per network link: a contracted chain's time split over its links by
        free-flow time."""
        sim_t = self.expected_times(self.class_index[class_name],
                                    skipping_queues=skipping_queues)
        return sim_t[self.graph.of_link] * self.network_share(class_name)

"""The Mesa model: the traffic engine advanced inside Mesa's event schedule.

Time is seconds from midnight of the scenario day. The model is purely event-driven (Mesa's
default per-unit step is stopped): the engine is advanced by one Mesa event at a time, at most
`traffic.engine_tick_s` apart while traffic moves, so agents of later layers can schedule their
own events between advances. Engine callbacks carry the exact event time. How events are
scheduled (batches, planned times, event methods) is the event kernel's, `sim/events.py`.
"""

from __future__ import annotations

import gc

import numpy as np
from tqdm import tqdm

from .events import EventModel, event_method
from .network import RoadNetwork
from .scenario import Scenario
from .traffic.controls import apply_controls
from .traffic.demand import demand_destinations, generate_trips, zone_nodes
from .traffic.engine import TrafficEngine


class SummitModel(EventModel):
    """One run of one scenario with one seed."""

    def __init__(self, scenario: Scenario, *, seed: int | None = None,
                 network: RoadNetwork | None = None):
        self.seed_used = scenario.seed if seed is None else int(seed)
        super().__init__(rng=np.random.default_rng(self.seed_used))
        self.spec = scenario
        self.network = network or load_network(scenario)
        self.start_s, self.end_s = scenario.start, scenario.end
        traffic = scenario.traffic
        self.engine = TrafficEngine(
            self.network, start_s=self.start_s, end_s=self.end_s,
            stuck_after_s=traffic.stuck_after_s, reroute_interval_s=traffic.reroute_interval_s,
            closure_patience_s=traffic.closure_patience_min * 60.0,
            emergency_queue_skip=traffic.emergency_queue_skip,
            signal_cycle_s=traffic.signal_cycle_s, signal_green_ratio=traffic.signal_green_ratio,
            give_way_delay_s=traffic.give_way_delay_s,
            local_junction_delay_s=traffic.local_junction_delay_s,
            destinations=demand_destinations(self.network, traffic),
            keep_nodes=keep_nodes(self.network, scenario), contract=traffic.contract_chains,
            capacity_scale=traffic.capacity_scale, speed_factors=traffic.speed_factors)
        self.controls = apply_controls(self.engine, scenario)
        trips = generate_trips(self.network, traffic, self.rng, self.start_s, self.end_s)
        self.engine.add_trips(trips.depart_s, trips.origin, trips.destination, trips.kind)
        self.tick_s = traffic.engine_tick_s
        self.summit = None
        if scenario.has_summit():
            from .summit import SummitLayer

            self.summit = SummitLayer(self, scenario)
            self.summit.start()
        self.emergency = None
        if scenario.emergency.enabled:
            from .emergency.layer import EmergencyLayer

            self.emergency = EmergencyLayer(self, scenario)
        self.schedule_event(self.advance_traffic, at=self.start_s)

    @event_method
    def advance_traffic(self) -> None:
        """Move traffic up to now, then wake again when the engine next has work."""
        self.engine.run_until(self.time)
        nxt = max(self.time + self.tick_s, self.engine.next_event_time)
        if nxt > self.end_s and self.time < self.end_s:
            nxt = self.end_s
        if nxt <= self.end_s:
            self.schedule_event(self.advance_traffic, at=nxt)

    def run(self, *, progress: bool = False) -> None:
        """Run to the scenario's end, with a progress bar over simulated time if asked."""
        chunk = 900.0
        # A day allocates millions of short-lived event tuples and almost no reference cycles
        # (a Leaders' day frees about 30 objects by collection): keep the collector off the
        # model built so far and let it run rarely (about 7% of the run time otherwise).
        thresholds = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)
        try:
            if self.time < self.start_s:
                self.run_until(self.start_s)
            with tqdm(total=round((self.end_s - self.time) / 60), unit="sim-min",
                      disable=not progress, desc=self.spec.name, leave=False) as bar:
                while self.time < self.end_s:
                    t = min(self.end_s, self.time + chunk)
                    before = self.time
                    self.run_until(t)
                    bar.update(round((t - before) / 60))
            self.engine.run_until(self.end_s)
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()


def keep_nodes(net: RoadNetwork, scenario: Scenario) -> set[int]:
    """Nodes the engine must not contract away: trip ends, places, motorcade waypoints."""
    keep = {net.node_index[p.node] for p in net.places}
    traffic = scenario.traffic
    for od in traffic.od:
        keep.add(net.node_index[net.resolve(od.origin)[0]])
    for z in traffic.zones:
        keep.update(zone_nodes(net, z, at_junctions=traffic.trip_ends_at_junctions))
    for m in scenario.motorcades:
        keep.update(net.node_index[net.resolve(w)[0]] for w in m.route)
    if scenario.has_summit():
        from .summit import summit_nodes

        keep.update(net.node_index[n] for n in summit_nodes(net, scenario))
    if scenario.emergency.enabled:
        from .emergency.layer import emergency_nodes

        keep.update(net.node_index[n] for n in emergency_nodes(net, scenario))
    return keep


def load_network(scenario: Scenario) -> RoadNetwork:
    path = scenario.network_path()
    if path is None:
        return RoadNetwork.embedded()
    return RoadNetwork.from_file(path, largest_component=scenario.network.largest_component)

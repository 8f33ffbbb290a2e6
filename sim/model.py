"""The Mesa model: the traffic engine advanced inside Mesa's event schedule.

Time is seconds from midnight of the scenario day. The model is purely event-driven (Mesa's
default per-unit step is stopped): the engine is advanced by one Mesa event at a time, at most
`traffic.engine_tick_s` apart while traffic moves, so agents of later layers can schedule their
own events between advances. Engine callbacks carry the exact event time. How events are
scheduled (batches, planned times, event methods) is the event kernel's, `sim/events.py`.
"""

from __future__ import annotations

import contextlib
import gc

import numpy as np
from tqdm import tqdm

from .events import EventModel, event_method
from .formats import embedded_network, load_network
from .layers import layer_classes
from .network import RoadNetwork
from .scenario import Scenario
from .traffic.controls import apply_controls
from .traffic.demand import demand_destinations, generate_trips, zone_nodes
from .traffic.engine import TrafficEngine


class SummitModel(EventModel):
    """One run of one scenario with one seed."""

    def __init__(self, scenario: Scenario, *, seed: int | None = None,
                 network: RoadNetwork | None = None, core: str | None = None):
        self.seed_used = scenario.seed if seed is None else int(seed)
        super().__init__(rng=np.random.default_rng(self.seed_used))
        with rare_collections():
            self._build(scenario, network, core)

    def _build(self, scenario: Scenario, network: RoadNetwork | None, core: str | None) -> None:
        """The network, the engine with its trips and controls, then each layer, started."""
        self.spec = scenario
        self.network = network or scenario_network(scenario)
        self.start_s, self.end_s = scenario.start, scenario.end
        traffic = scenario.traffic
        # core: the engine's event loop (TrafficEngine; the differential tests compare them)
        self.engine = TrafficEngine(
            self.network, traffic, start_s=self.start_s, end_s=self.end_s,
            destinations=demand_destinations(self.network, traffic),
            keep_nodes=keep_nodes(self.network, scenario), core=core)
        self.controls = apply_controls(self.engine, scenario)
        trips = generate_trips(self.network, traffic, self.rng, self.start_s, self.end_s)
        self.engine.add_trips(trips.depart_s, trips.origin, trips.destination, trips.kind)
        self.tick_s = traffic.engine_tick_s
        # the layers the scenario asks for, each built and started in turn (sim/layers.py);
        # each is also the model's attribute of its name (model.summit), None when absent
        self.layers = []
        for cls in layer_classes():
            layer = cls(self, scenario) if cls.applies(scenario) else None
            setattr(self, cls.name, layer)
            if layer is not None:
                self.layers.append(layer)
                layer.start()
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
        with rare_collections():
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


@contextlib.contextmanager
def rare_collections():
    """Keep Python's cyclic garbage collector off what exists and let it run rarely meanwhile.
    Building and running a day allocate millions of long-lived objects (agents, plans, trips)
    and short-lived event tuples, but almost no reference cycles (a Leaders' day frees about
    30 objects by collection); the default thresholds would collect again and again over the
    growing heap: about a third of the Leaders' day's build and 7% of its run."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
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
    for cls in layer_classes():
        if cls.applies(scenario):
            keep.update(net.node_index[n] for n in cls.kept_nodes(net, scenario))
    return keep


def scenario_network(scenario: Scenario) -> RoadNetwork:
    """The scenario's network: its `[network] file`, else the embedded Gyeongju network."""
    path = scenario.network_path()
    if path is None:
        return embedded_network()
    return load_network(path, largest_component=scenario.network.largest_component)

"""The Mesa model: the traffic engine advanced inside Mesa's event schedule.

Time is seconds from midnight of the scenario day. The model is purely event-driven (Mesa's
default per-unit step is stopped): the engine is advanced by one Mesa event at a time, at most
`traffic.engine_tick_s` apart while traffic moves, so agents of later layers can schedule their
own events between advances. Engine callbacks carry the exact event time.
"""

from __future__ import annotations

import gc
from functools import partial

import numpy as np
from mesa import Model
from mesa.time import Priority
from tqdm import tqdm

from .formats import embedded_network, load_network
from .layers import layer_classes
from .network import RoadNetwork
from .scenario import Scenario
from .traffic.controls import apply_controls
from .traffic.demand import demand_destinations, generate_trips, zone_nodes
from .traffic.engine import TrafficEngine


class event_method:
    """Decorates a method that is scheduled as a Mesa event: `obj.method` is then one callable
    made per object and kept on it. Mesa holds event callbacks weakly and wraps a bound method,
    new at every access, in two WeakMethod objects per event; a callable that lives as long as
    its object needs a plain weak reference only (about 3.5 us less per event)."""

    def __init__(self, func):
        self.func = func
        self.__doc__ = func.__doc__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.func
        bound = obj.__dict__[self.name] = partial(self.func, obj)  # shadows this from now on
        return bound


class _Batch:
    """Callbacks due at one time that share one Mesa event and run in the order given."""

    def __init__(self, model: EventModel, time: float):
        self.model, self.time = model, time
        self.calls: list = []

    def add(self, function) -> _Due:
        self.calls.append(function)
        return _Due(self, len(self.calls) - 1)

    @event_method
    def run(self) -> None:
        model = self.model
        if model._open_batches.get(self.time) is self:
            del model._open_batches[self.time]
        model._batches.discard(self)
        for call in self.calls:
            if call is not None:
                call()


class _Due:
    """One callback of a batch, which may be cancelled like a Mesa event."""

    __slots__ = ("batch", "index")

    def __init__(self, batch: _Batch, index: int):
        self.batch, self.index = batch, index

    def cancel(self) -> None:
        self.batch.calls[self.index] = None


class EventModel(Model):
    """A purely event-driven Mesa model that can batch callbacks due at one time into one event
    (schedule_together) without changing the order in which anything runs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # no per-second step events (what Mesa's DEVSimulator does)
        self._default_schedule.stop()
        self._open_batches: dict[float, _Batch] = {}  # batches that may still take callbacks
        self._batches: set[_Batch] = set()  # pending (Mesa holds event callbacks weakly)
        self._batching = True

    def schedule_event(self, function, *, at=None, after=None, priority=Priority.DEFAULT):
        """Mesa's schedule_event; an event at a batch's time closes the batch (see
        schedule_together)."""
        event = super().schedule_event(function, at=at, after=after, priority=priority)
        if self._open_batches:
            self._open_batches.pop(event.time, None)
        return event

    def schedule_recurring(self, function, schedule, priority=Priority.DEFAULT):
        """Mesa's schedule_recurring. Its events are not seen by schedule_event, so batching
        stops for the rest of the run."""
        self._batching = False
        self._open_batches.clear()
        return super().schedule_recurring(function, schedule, priority)

    def schedule_together(self, function, *, at: float):
        """Schedule `function` at time `at`, in effect as schedule_event does: Mesa runs the
        events of one time in the order they were scheduled, so callbacks scheduled at `at`
        with no other event scheduled at `at` between them share one Mesa event and run in
        that order. Thousands of delegates leave a session at its end: one event, not one
        each, keeps Mesa's event heap small. The handle returned has cancel()."""
        batch = self._open_batches.get(at) if self._batching else None
        if batch is None:
            batch = _Batch(self, at)
            self.schedule_event(batch.run, at=at)
            self._batches.add(batch)
            if self._batching:
                self._open_batches[at] = batch
        return batch.add(function)


class SummitModel(EventModel):
    """One run of one scenario with one seed."""

    def __init__(self, scenario: Scenario, *, seed: int | None = None,
                 network: RoadNetwork | None = None, fast_path: bool = True):
        self.seed_used = scenario.seed if seed is None else int(seed)
        super().__init__(rng=np.random.default_rng(self.seed_used))
        self.spec = scenario
        self.network = network or scenario_network(scenario)
        self.start_s, self.end_s = scenario.start, scenario.end
        traffic = scenario.traffic
        # fast_path=False: the engine's reference loop (the differential tests compare the two)
        self.engine = TrafficEngine(
            self.network, traffic, start_s=self.start_s, end_s=self.end_s,
            destinations=demand_destinations(self.network, traffic),
            keep_nodes=keep_nodes(self.network, scenario), fast_path=fast_path)
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

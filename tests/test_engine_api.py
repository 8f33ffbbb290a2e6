"""What agents of the later layers rely on: vehicles with listeners, exact callback times,
fixed routes, and the engine advancing inside Mesa's event schedule."""

from __future__ import annotations

import pytest
from mesa import Agent
from traffic_helpers import line_network, scenario

from sim.errors import InputError
from sim.formats import load_network
from sim.model import SummitModel


class ShuttleStub(Agent):
    """A Mesa agent that owns one vehicle and dwells at its terminus when it arrives."""

    def __init__(self, model, dwell_s: float):
        super().__init__(model)
        self.dwell_s = dwell_s
        self.passed: list[tuple[str, float]] = []
        self.arrived_at: float | None = None
        self.dwell_done_at: float | None = None

    def on_node(self, vehicle: int, node: str, time: float) -> None:
        self.passed.append((node, time))

    def on_arrive(self, vehicle: int, time: float) -> None:
        self.arrived_at = time
        self.model.schedule_event(self.end_dwell, at=max(self.model.time, time + self.dwell_s))

    def end_dwell(self) -> None:
        self.dwell_done_at = self.model.time


def test_listener_gets_every_node_and_the_arrival_at_exact_times(tmp_path):
    net = line_network(tmp_path, [{"length_km": 1.0, "speed_kmh": 60}] * 3)
    # a token flow makes n0 and n3 trip ends, which the engine keeps
    token = {"origin": "n0", "destination": "n3", "vph": 1, "start": "00:59", "end": "01:00"}
    model = SummitModel(scenario(net, od=[token], end="01:00", contract=True))
    agent = ShuttleStub(model, dwell_s=120)
    e = model.engine
    route = [model.network.link_between(f"n{i}", f"n{i + 1}").id for i in range(3)]
    vid = e.add_vehicle(600.0, model.network.node_index["n0"], model.network.node_index["n3"],
                        kind="shuttle", route=route, listener=agent)
    model.run()
    assert [n for n, _ in agent.passed] == ["n0"]  # n1 and n2 are contracted away
    fft = e.net_free_flow("shuttle")[route].sum()
    assert agent.arrived_at == pytest.approx(600.0 + fft, abs=1e-6)
    assert e.v_arrive[vid] == agent.arrived_at
    # the dwell ends at its due time, or at the next engine advance when that came first
    assert 0 <= agent.dwell_done_at - (agent.arrived_at + 120) <= model.tick_s


def test_uncontracted_engine_reports_every_node(tmp_path):
    net = line_network(tmp_path, [{"length_km": 1.0, "speed_kmh": 60}] * 3)
    model = SummitModel(scenario(net, end="01:00", contract=False))
    agent = ShuttleStub(model, dwell_s=0)
    route = [model.network.link_between(f"n{i}", f"n{i + 1}").id for i in range(3)]
    model.engine.add_vehicle(60.0, 0, 3, kind="shuttle", route=route, listener=agent)
    model.run()
    times = [t for _, t in agent.passed]
    assert [n for n, _ in agent.passed] == ["n0", "n1", "n2"]
    assert times == sorted(times) and times[1] - times[0] == pytest.approx(60.0, abs=0.5)


def test_vehicle_at_a_contracted_node_is_refused_with_a_clear_message(tmp_path):
    net = line_network(tmp_path, [{"length_km": 1.0}] * 3)
    model = SummitModel(scenario(net, end="01:00", contract=True))
    with pytest.raises(InputError, match="n1 lies inside a road chain"):
        model.engine.add_vehicle(0.0, model.network.node_index["n1"], 3, kind="bus")


def test_unknown_vehicle_class_is_named(tmp_path):
    net = line_network(tmp_path, [{"length_km": 1.0}])
    model = SummitModel(scenario(net, end="01:00"))
    with pytest.raises(InputError, match="vehicle class 'tram' is not one of"):
        model.engine.add_vehicle(0.0, 0, 1, kind="tram")


def test_bench_workload_row_has_the_contract_columns():
    from sim.bench import BENCH_COLUMNS, run_workload

    row = run_workload("tiny", "normal_weekday", ["start=\"07:00\"", "end=\"07:20\"",
                                                  "outputs.congestion_map=false"])
    assert list(row) == BENCH_COLUMNS == ["workload", "wall_s", "peak_rss_mb", "trips",
                                          "link_traversals", "traversals_per_s", "loop_s",
                                          "loop_traversals_per_s"]
    assert row["trips"] > 1000 and row["link_traversals"] > row["trips"]
    assert 0 < row["peak_rss_mb"] < 2000
    # the engine's loop is part of the whole process
    assert 0 < row["loop_s"] < row["wall_s"]
    assert row["loop_traversals_per_s"] > row["traversals_per_s"]


def test_a_vehicle_called_off_before_it_sets_off_never_departs(tmp_path):
    net = line_network(tmp_path, [{"length_km": 1.0, "speed_kmh": 60}] * 3)
    token = {"origin": "n0", "destination": "n3", "vph": 1, "start": "00:59", "end": "01:00"}
    model = SummitModel(scenario(net, od=[token], end="01:00", contract=True))
    e, idx = model.engine, model.network.node_index
    stub = ShuttleStub(model, dwell_s=0)
    called_off = e.add_vehicle(600.0, idx["n0"], idx["n3"], kind="emergency", listener=stub)
    kept = e.add_vehicle(600.0, idx["n0"], idx["n3"], kind="emergency")
    assert e.withdraw(called_off) == 600.0
    model.run()
    assert stub.arrived_at is None and e.vehicle_status(kept) == "arrived"
    c = e.counts()
    assert c["planned"] == 1
    assert c["entered"] == c["arrived"] + c["en_route"] + c["stuck"] + c["abandoned"]
    assert e.withdraw(kept) is None  # set off already: nothing changes


def test_an_engine_built_without_a_scenario_takes_the_schemas_defaults(tmp_path):
    """One configuration path: the engine declares no tuning default of its own."""
    from sim.traffic.engine import TrafficEngine
    from sim.traffic.spec import TrafficSpec

    e = TrafficEngine(load_network(line_network(tmp_path, [{"length_km": 1.0}])))
    spec = TrafficSpec()
    assert e.reroute_interval_s == spec.reroute_interval_s
    assert e.loop.stuck_after_s == spec.stuck_after_s
    assert e.closure_patience_s == spec.closure_patience_min * 60.0
    assert e.emergency_queue_skip == spec.emergency_queue_skip
    assert e.day_plan == (spec.signal_cycle_s, spec.signal_green_ratio, False)
    assert e.links.give_way_delay_s == spec.give_way_delay_s
    assert e.links.local_junction_delay_s == spec.local_junction_delay_s
    assert e.links.capacity_scale == spec.capacity_scale
    # the core asked for (the differential tests ask for each)
    from sim.traffic.loop_compiled import CompiledLoop
    from sim.traffic.loop_fast import FastLoop
    from sim.traffic.loop_reference import EventLoop

    for core, loop in (("compiled", CompiledLoop), ("python", FastLoop),
                       ("reference", EventLoop)):
        assert type(TrafficEngine(e.net, core=core).loop) is loop


def test_the_core_is_compiled_unless_named(tmp_path, monkeypatch):
    """The compiled core by default; SUMMIT_SIM_CORE names another (to run the suite on it);
    a name that is none of them is refused, naming the ones there are."""
    from sim.traffic.engine import CORE_ENV, TrafficEngine

    net = load_network(line_network(tmp_path, [{"length_km": 1.0}]))
    monkeypatch.delenv(CORE_ENV, raising=False)
    assert TrafficEngine(net).core == "compiled"
    monkeypatch.setenv(CORE_ENV, "reference")
    assert TrafficEngine(net).core == "reference"
    assert TrafficEngine(net, core="python").core == "python"
    with pytest.raises(InputError, match="'fortran' is not one of compiled, python, reference"):
        TrafficEngine(net, core="fortran")


def test_emergency_expected_times_skip_their_share_of_a_standing_queue(tmp_path):
    """The emergency layer's times are the link state's expected times with queues skipped:
    equal to guidance's on an empty road, and lower by the skipped share of a queue."""
    import numpy as np

    from sim.traffic.engine import TrafficEngine

    e = TrafficEngine(load_network(line_network(tmp_path, [{"length_km": 1.0}])))
    links, ci = e.links, e.class_index["emergency"]
    empty = links.expected_times(ci)
    assert np.array_equal(links.expected_times(ci, skipping_queues=True), empty)
    links.occ[0] = 2 * links.storage[0] + 100.0  # far beyond what the link holds moving
    queue = links.expected_times(ci)[0] - empty[0]
    skipping = links.expected_times(ci, skipping_queues=True)[0] - empty[0]
    assert queue > 0 and 0 < skipping < queue

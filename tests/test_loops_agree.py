"""The compiled core and the inlined Python loop against the reference loop on generated cases:
random grid networks and demands with closures, priority vehicles (emergency units, a
motorcade) and vehicles whose listeners are told of every node, and a summit day. Every trip,
every traversal and every callback must be the same (the reference loop is the one the theory
tests read)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from traffic_helpers import run, run_reference, scenario, trips, write_network

from sim.formats import load_network
from sim.traffic.engine import TrafficEngine
from sim.traffic.spec import TrafficSpec

FAST_CORES = ("compiled", "python")  # each compared with the reference loop
DLAT_PER_KM = 1 / 111.2
DLON_PER_KM = 1 / 90.26  # at 35.85 N


@st.composite
def grids(draw):
    """A grid of two-way roads (strongly connected), each road its own lanes, speed and
    capacity, and the node ids in order."""
    rows, cols = draw(st.integers(2, 4)), draw(st.integers(2, 4))
    km = draw(st.floats(0.3, 1.5))
    ids = [[f"g{r}_{c}" for c in range(cols)] for r in range(rows)]
    nodes = [{"id": ids[r][c], "lat": round(35.85 + r * km * DLAT_PER_KM, 7),
              "lon": round(129.2 + c * km * DLON_PER_KM, 7)}
             for r in range(rows) for c in range(cols)]
    pairs = [(ids[r][c], ids[r][c + 1]) for r in range(rows) for c in range(cols - 1)]
    pairs += [(ids[r][c], ids[r + 1][c]) for r in range(rows - 1) for c in range(cols)]
    roads = [{"name": f"road {i}", "class": draw(st.sampled_from(["arterial", "local",
                                                                     "national"])),
              "lanes": draw(st.integers(1, 3)), "speed_kmh": draw(st.sampled_from([30, 50, 80])),
              "capacity_vph_per_lane": draw(st.sampled_from([400, 900, 1800])),
              "oneway": False, "path": [a, b]} for i, (a, b) in enumerate(pairs)]
    return nodes, roads, pairs, [n["id"] for n in nodes]


@st.composite
def cases(draw):
    nodes, roads, pairs, ids = draw(grids())
    flows = []
    for _ in range(draw(st.integers(1, 5))):
        o, d = draw(st.sampled_from(ids)), draw(st.sampled_from(ids))
        if o != d:
            start = draw(st.integers(0, 20))
            flows.append({"origin": o, "destination": d, "vph": draw(st.integers(60, 2400)),
                          "start": f"00:{start:02d}", "end": f"00:{start + 15:02d}",
                          "kind": draw(st.sampled_from(["car", "car", "truck", "emergency"]))})
    closures = []
    for a, b in draw(st.lists(st.sampled_from(pairs), max_size=2, unique=True)):
        start = draw(st.integers(0, 30))
        closures.append({"name": f"closed {a}-{b}", "links": [[a, b], [b, a]],
                         "start": f"00:{start:02d}", "end": f"00:{start + 20:02d}"})
    motorcades = []
    if draw(st.booleans()):
        route = draw(st.lists(st.sampled_from(ids), min_size=2, max_size=3, unique=True))
        motorcades.append({"name": "M", "route": route, "depart": "00:10"})
    return nodes, roads, flows, closures, motorcades


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=cases())
def test_the_loops_agree_on_generated_networks_and_demands(tmp_path_factory, case):
    nodes, roads, flows, closures, motorcades = case
    net = write_network(tmp_path_factory.mktemp("grid"), nodes, roads, name="grid")
    sc = scenario(net, od=flows, end="01:30", closures=closures, motorcades=motorcades,
                  traffic={"stuck_after_s": 300})
    ref = run_reference(sc)
    for core in FAST_CORES:
        fast = run(sc, core=core)
        assert trips(fast) == trips(ref)
        for a, b in zip(fast.engine.traversals_log(), ref.engine.traversals_log(),
                        strict=True):
            assert np.array_equal(a, b)
        assert fast.engine.counts() == ref.engine.counts()
        assert fast.engine.timeseries == ref.engine.timeseries
        assert fast.engine.link_summary().keys() == ref.engine.link_summary().keys()
        for key, value in fast.engine.link_summary().items():
            assert np.array_equal(value, ref.engine.link_summary()[key]), key


class Recorder:
    """A listener told of every node a vehicle reaches and of its arrival."""

    def __init__(self):
        self.calls: list[tuple] = []

    def on_node(self, vehicle: int, node: str, time: float) -> None:
        self.calls.append(("node", vehicle, node, time))

    def on_arrive(self, vehicle: int, time: float) -> None:
        self.calls.append(("arrive", vehicle, time))


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=grids(), data=st.data())
def test_listeners_are_told_the_same_by_both_loops(tmp_path_factory, case, data):
    """Listened vehicles (told of every node) among unlistened ones, and a closure switched on
    mid-run: the callbacks, their order and times, and every trip are the same."""
    nodes, roads, pairs, ids = case
    path = write_network(tmp_path_factory.mktemp("grid"), nodes, roads, name="grid")
    net = load_network(path)
    n = len(ids)
    vehicles = data.draw(st.lists(st.tuples(st.floats(0, 1800), st.integers(0, n - 1),
                                            st.integers(0, n - 1), st.booleans(),
                                            st.sampled_from(["car", "truck", "emergency"])),
                                  min_size=1, max_size=120))
    closed = data.draw(st.sampled_from(pairs))
    got = []
    for core in ("reference", *FAST_CORES):
        engine = TrafficEngine(net, TrafficSpec(), start_s=0.0, end_s=5400.0,
                               destinations=list(range(n)), core=core)
        heard = Recorder()
        for t, o, d, listened, kind in vehicles:
            if o != d:
                engine.add_vehicle(t, o, d, kind=kind, listener=heard if listened else None)
        links = [net.link_between(*closed).id, net.link_between(*closed[::-1]).id]
        engine.at(900.0, lambda t, e=engine, k=links: e.set_closed(k, ["car", "truck"], True))
        engine.at(2100.0, lambda t, e=engine, k=links: e.set_closed(k, ["car", "truck"], False))
        engine.run_until(5400.0)
        got.append((heard.calls, [engine.vehicle_status(v) for v in range(len(engine.v_kind))],
                    [np.asarray(a).tolist() for a in engine.traversals_log()]))
    assert got[0] == got[1] == got[2]
    if any(listened and o != d for _, o, d, listened, _ in vehicles):
        assert any(call[0] == "arrive" for call in got[0][0])  # the listeners heard something


def test_the_loops_agree_on_a_summit_morning():
    """The SOM1 meeting day's morning, delegates, shuttles and city traffic: the same trips,
    the same traversals and the same metrics through either loop."""
    from sim.model import SummitModel
    from sim.outputs import collect_metrics
    from sim.scenario import load_scenario

    sc = load_scenario("som1_day", ["end=09:30", "traffic.demand_scale=0.3",
                                    "outputs.congestion_map=false"])
    ref = SummitModel(sc, seed=3, core="reference")
    ref.run()
    expected = collect_metrics(ref)
    assert expected["delegates"]["trips_to_sessions"] > 0
    for core in FAST_CORES:
        fast = SummitModel(sc, seed=3, core=core)
        fast.run()
        rows = trips(fast)
        assert len(rows) > 10_000 and rows == trips(ref)
        for a, b in zip(fast.engine.traversals_log(), ref.engine.traversals_log(),
                        strict=True):
            assert np.array_equal(a, b)
        assert collect_metrics(fast) == expected


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=cases())
def test_the_compiled_core_grows_its_buffers_without_changing_a_trip(tmp_path_factory, case):
    """Started with every buffer at the smallest size the kernel accepts (the event heap, the
    traversal log's buffer, the held and unrouted lists), the compiled core hands back to grow
    them again and again (the log's buffer goes to the worker thread after nearly every
    traversal): every trip and traversal stays the reference's."""
    from sim.model import SummitModel
    from sim.traffic import kernel as K

    nodes, roads, flows, closures, motorcades = case
    net = write_network(tmp_path_factory.mktemp("grid"), nodes, roads, name="grid")
    sc = scenario(net, od=flows, end="01:30", closures=closures, motorcades=motorcades,
                  traffic={"stuck_after_s": 300})
    ref = run_reference(sc)
    model = SummitModel(sc, seed=1, core="compiled")
    loop = model.engine.loop
    a, used = loop._arrays, int(loop.I[K.I_HN])
    loop._replace(heap=a["heap"][:used + K.MARGIN + 1].copy(),
                  log_ids=np.zeros(2 * (K.MARGIN + 1), dtype=np.int64),
                  log_times=np.zeros(2 * (K.MARGIN + 1)),
                  held_t=np.zeros(K.MARGIN + 1), held_veh=np.zeros(K.MARGIN + 1, dtype=np.int64),
                  unrouted=np.zeros(K.MARGIN + 1, dtype=np.int64))
    model.run()
    assert len(loop._arrays["heap"]) > used + K.MARGIN + 1 or model.engine.traversals < 10
    assert trips(model) == trips(ref)
    for x, y in zip(model.engine.traversals_log(), ref.engine.traversals_log(), strict=True):
        assert np.array_equal(x, y)

"""The queue model against queueing theory: capacity, deterministic queues, spill-back, fair
merges, detours around closures, weather and priority."""

from __future__ import annotations

import numpy as np
import pytest
from traffic_helpers import (
    BOTTLENECK,
    conserved,
    exits,
    line_network,
    run,
    run_reference,
    scenario,
    trips,
    write_network,
)
from traffic_helpers import od as _od

from sim.metrics import traffic_metrics


@pytest.mark.parametrize("contract", [False, True])
def test_bottleneck_discharges_at_capacity_and_queue_delay_is_deterministic(tmp_path, contract):
    """D = 2,400 veh/h for one hour into C = 1,800 veh/h: discharge at C, and the last vehicle
    waits (D - C) / C x 60 min = 20 min (deterministic queueing)."""
    net = line_network(tmp_path, BOTTLENECK)
    model = run(scenario(net, od=[_od(2400)], contract=contract))
    assert conserved(model)
    rows = trips(model)
    assert len(rows) == 2400 and all(r["status"] == "arrived" for r in rows)
    if not contract:
        out = exits(model, "n2", "n3")
        busy = out[(out > 600) & (out < out[-1] - 60)]  # while the queue stands
        rate = (len(busy) - 1) / (busy[-1] - busy[0]) * 3600
        assert rate == pytest.approx(1800, rel=0.02)
    last = max(rows, key=lambda r: r["depart_s"])
    assert last["delay_s"] / 60 == pytest.approx(20.0, rel=0.05)


def test_capacity_scale_scales_the_bottleneck(tmp_path):
    """traffic.capacity_scale = 0.75 makes C = 1,350 veh/h: 2,400 veh/h for an hour leaves the
    last vehicle (2,400 - 1,350) / 1,350 x 60 = 46.7 min late."""
    net = line_network(tmp_path, BOTTLENECK)
    model = run(scenario(net, od=[_od(2400)], contract=False,
                         traffic={"capacity_scale": 0.75}))
    out = exits(model, "n2", "n3")
    busy = out[(out > 600) & (out < out[-1] - 60)]
    assert (len(busy) - 1) / (busy[-1] - busy[0]) * 3600 == pytest.approx(1350, rel=0.02)
    last = max(trips(model), key=lambda r: r["depart_s"])
    assert last["delay_s"] / 60 == pytest.approx(46.7, rel=0.05)


def test_below_capacity_no_queue(tmp_path):
    net = line_network(tmp_path, BOTTLENECK)
    model = run(scenario(net, od=[_od(1500)]))
    delays = np.array([r["delay_s"] for r in trips(model)])
    assert delays.max() < 3.0  # only the discretisation of headways


def test_spill_back_reaches_the_upstream_link(tmp_path):
    """A short feeder (storage ~13 cars) in front of the bottleneck fills, and the link before
    it starts to queue though its own capacity is far above demand."""
    segs = [{"length_km": 2.0}, {"length_km": 0.1, "lanes": 1},
            {"length_km": 1.0, "lanes": 1, "capacity_vph_per_lane": 900}, {"length_km": 1.0}]
    net = line_network(tmp_path, segs)
    model = run(scenario(net, od=[_od(1800)]))
    e = model.engine
    s = e.link_summary()
    upstream, feeder = model.network.link_between("n0", "n1").id, \
        model.network.link_between("n1", "n2").id
    storage_feeder = e.storage[int(e.graph.of_link[feeder])]
    assert storage_feeder < 20
    assert s["max_queue"][feeder] >= int(storage_feeder) - 2  # the feeder filled up
    assert s["max_queue"][upstream] > 50  # and the queue grew back onto the upstream link
    assert s["seconds_at_capacity"][upstream] > 600
    assert conserved(model)


def test_competing_approaches_share_the_bottleneck_fairly(tmp_path):
    """Two oversaturated approaches merging into one bottleneck each get about half of it."""
    nodes = [{"id": "a", "lat": 35.86, "lon": 129.20}, {"id": "b", "lat": 35.84, "lon": 129.20},
             {"id": "m", "lat": 35.85, "lon": 129.21}, {"id": "x", "lat": 35.85, "lon": 129.22},
             {"id": "z", "lat": 35.85, "lon": 129.23}]
    road = {"class": "arterial", "lanes": 1, "speed_kmh": 50, "oneway": True}
    roads = [{"name": "north approach", "path": ["a", "m"], **road},
             {"name": "south approach", "path": ["b", "m"], **road},
             {"name": "bottleneck", "path": ["m", "x"], **{**road, "capacity_vph_per_lane": 800}},
             {"name": "exit", "path": ["x", "z"], **road},
             {"name": "back north", "path": ["z", [35.88, 129.215], "a"], **road},
             {"name": "back south", "path": ["z", [35.82, 129.215], "b"], **road}]
    net = write_network(tmp_path, nodes, roads)
    od = [{"origin": "a", "destination": "z", "vph": 700, "start": "00:00", "end": "01:00"},
          {"origin": "b", "destination": "z", "vph": 700, "start": "00:00", "end": "01:00"}]
    model = run(scenario(net, od=od))
    out_a, out_b = exits(model, "a", "m"), exits(model, "b", "m")
    window = (1200, 3600)  # both approaches queued
    n_a = ((out_a > window[0]) & (out_a < window[1])).sum()
    n_b = ((out_b > window[0]) & (out_b < window[1])).sum()
    assert n_a / (n_a + n_b) == pytest.approx(0.5, abs=0.05)
    assert (n_a + n_b) / (window[1] - window[0]) * 3600 == pytest.approx(800, rel=0.03)


def _two_routes(tmp_path):
    """a -> b -> d (short, via Direct-ro) and a -> c -> d (longer, via Detour-ro)."""
    nodes = [{"id": "a", "lat": 35.85, "lon": 129.20}, {"id": "b", "lat": 35.85, "lon": 129.21},
             {"id": "c", "lat": 35.86, "lon": 129.21}, {"id": "d", "lat": 35.85, "lon": 129.22}]
    road = {"class": "arterial", "lanes": 2, "speed_kmh": 50, "oneway": False}
    roads = [{"name": "Direct-ro", "path": ["a", "b", "d"], **road},
             {"name": "Detour-ro", "path": ["a", [35.862, 129.205], "c", "d"], **road}]
    return write_network(tmp_path, nodes, roads)


def test_closure_forces_the_detour_and_costs_the_route_difference(tmp_path):
    net = _two_routes(tmp_path)
    od = [{"origin": "a", "destination": "d", "vph": 120, "start": "00:00", "end": "01:00"}]
    open_run = run(scenario(net, od=od))
    closed_run = run(scenario(net, od=od, closures=[
        {"road": "Direct-ro", "start": "00:00", "end": "02:00", "name": "security closure"}]))
    t_open = np.mean([r["arrive_s"] - r["depart_s"] for r in trips(open_run)])
    t_closed = np.mean([r["arrive_s"] - r["depart_s"] for r in trips(closed_run)])
    g = open_run.network
    fft = open_run.engine.net_free_flow()
    direct = fft[g.link_between("a", "b").id] + fft[g.link_between("b", "d").id]
    detour = fft[g.link_between("a", "c").id] + fft[g.link_between("c", "d").id]
    assert detour > direct
    assert t_closed - t_open == pytest.approx(detour - direct, abs=1.0)
    used = closed_run.engine.link_summary()["entered"]
    assert used[g.link_between("a", "b").id] == 0
    assert conserved(closed_run)


def test_closure_exempts_emergency_vehicles(tmp_path):
    net = _two_routes(tmp_path)
    od = [{"origin": "a", "destination": "d", "vph": 60, "start": "00:00", "end": "01:00",
           "kind": "emergency"}]
    model = run(scenario(net, od=od, closures=[
        {"road": "Direct-ro", "start": "00:00", "end": "02:00"}]))
    assert model.engine.link_summary()["entered"][model.network.link_between("a", "b").id] == 60


def test_closure_window_only_while_it_lasts(tmp_path):
    net = _two_routes(tmp_path)
    od = [{"origin": "a", "destination": "d", "vph": 60, "start": "00:00", "end": "02:00"}]
    model = run(scenario(net, od=od, closures=[
        {"road": "Direct-ro", "start": "00:30", "end": "01:00"}]))
    g = model.network
    rows = trips(model)
    detoured = [r for r in rows if r["km"] > 1.9]
    assert detoured and all(1780 <= r["depart_s"] <= 3600 for r in detoured)
    assert len(detoured) == pytest.approx(30, abs=2)
    assert model.engine.link_summary()["entered"][g.link_between("a", "b").id] > 80


def test_snow_lowers_capacity_and_speed(tmp_path):
    net = line_network(tmp_path, BOTTLENECK)
    model = run(scenario(net, od=[_od(2400)], weather="snow"))
    out = exits(model, "n2", "n3")
    busy = out[(out > 600) & (out < out[-1] - 60)]
    rate = (len(busy) - 1) / (busy[-1] - busy[0]) * 3600
    assert rate == pytest.approx(1800 * 0.8, rel=0.02)


def test_emergency_vehicle_skips_most_of_the_queue(tmp_path):
    net = line_network(tmp_path, BOTTLENECK)
    od = [_od(2400), _od(4, start="00:50", end="01:00", kind="emergency")]
    model = run(scenario(net, od=od, traffic={"emergency_queue_skip": 0.7}))
    rows = trips(model)
    cars = [r for r in rows if r["kind"] == "car" and 2900 < r["depart_s"] < 3600]
    ems = [r for r in rows if r["kind"] == "emergency"]
    car_delay = np.mean([r["delay_s"] for r in cars])
    ems_delay = np.mean([r["delay_s"] for r in ems])
    assert car_delay > 600
    assert ems_delay == pytest.approx(0.3 * car_delay, rel=0.25)


def test_truck_ban_keeps_trucks_off_but_not_cars(tmp_path):
    net = _two_routes(tmp_path)
    od = [{"origin": "a", "destination": "d", "vph": 60, "start": "00:00", "end": "01:00",
           "kind": "truck"},
          {"origin": "a", "destination": "d", "vph": 60, "start": "00:00", "end": "01:00"}]
    model = run(scenario(net, od=od, truck_bans=[
        {"road": "Direct-ro", "start": "00:00", "end": "02:00"}]))
    rows = trips(model)
    assert all(r["km"] > 1.9 for r in rows if r["kind"] == "truck")
    assert all(r["km"] < 1.9 for r in rows if r["kind"] == "car")


def test_lane_closure_halves_capacity(tmp_path):
    net = line_network(tmp_path, BOTTLENECK)
    model = run(scenario(net, od=[_od(1500)], capacity_changes=[
        {"links": [["n2", "n3"]], "factor": 0.5, "start": "00:00", "end": "03:00"}]))
    out = exits(model, "n2", "n3")
    busy = out[(out > 600) & (out < out[-1] - 60)]
    assert (len(busy) - 1) / (busy[-1] - busy[0]) * 3600 == pytest.approx(900, rel=0.02)


def test_motorcade_passes_at_free_flow_through_closed_roads(tmp_path):
    net = line_network(tmp_path, BOTTLENECK)
    model = run(scenario(net, od=[_od(2400)], motorcades=[
        {"name": "Leader A", "route": ["n0", "n4"], "depart": "00:40", "lead_s": 120,
         "trail_s": 30}]))
    rows = trips(model)
    convoy = next(r for r in rows if r["kind"] == "motorcade")
    assert convoy["delay_s"] < 1.0
    assert conserved(model)
    # while the convoy's window holds the first link, no car enters it
    e = model.engine
    first = int(e.graph.of_link[model.network.link_between("n0", "n1").id])
    lk, _, t_in, _ = e.traversals_log()
    ins = t_in[lk == first]
    assert not ((ins > 2400 - 120 + 1) & (ins < 2400)).any()


def test_closure_without_a_way_round_holds_its_traffic_off_the_road(tmp_path):
    """Vehicles that cannot get past a closure wait at the last junction before it, without
    blocking traffic that is not going that way, and go on when it reopens."""
    net = line_network(tmp_path, BOTTLENECK)
    through = {"origin": "n0", "destination": "n4", "vph": 120, "start": "00:00", "end": "00:30"}
    local = {"origin": "n0", "destination": "n2", "vph": 600, "start": "00:00", "end": "00:30"}
    model = run(scenario(net, od=[through, local], closures=[
        {"links": [["n2", "n3"]], "start": "00:00", "end": "01:00"}],
        traffic={"closure_patience_min": 90}))
    rows = trips(model)
    assert conserved(model)
    held = [r for r in rows if r["destination"] == "n4"]
    free = [r for r in rows if r["destination"] == "n2"]
    assert len(held) == 60 and all(r["arrive_s"] >= 3600 for r in held)
    assert all(r["status"] == "arrived" for r in rows)
    assert max(r["delay_s"] for r in free) < 5.0  # the held vehicles block no one
    # the wait for the reopening is reported apart from traffic delay, to the second
    for r in held:
        # the way opens at 01:00, when the guidance tables are rebuilt (within 15 s); the
        # first ones, routed before the closure reached the tables, wait at n2 (2 km on),
        # the others from their departure: no way is known
        wait_ends = r["depart_s"] + r["held_s"]
        if r["depart_s"] > 60:
            assert wait_ends == pytest.approx(3600.0 + 15.0, abs=1.0)
        else:
            assert 3600.0 + 15.0 - 2 * 60.0 - 30.0 <= wait_ends <= 3600.0 + 15.0
    # released together, the 60 then queue at the 1,800 veh/h link: that alone is their delay
    assert max(r["delay_s"] for r in held) <= 60 * 3600 / 1800 + 30.0
    cl = model.engine.counts()
    assert cl["abandoned"] == 0


def test_drivers_held_past_their_patience_abandon_the_trip(tmp_path):
    """A closure longer than the drivers' patience: those who had not set off do not make the
    trip, those held on the way park where they are; both are counted, nothing is lost, and
    the closure's wait is not traffic delay."""
    net = line_network(tmp_path, BOTTLENECK)
    through = {"origin": "n0", "destination": "n4", "vph": 600, "start": "00:00", "end": "00:05"}
    from_n2 = {"origin": "n2", "destination": "n4", "vph": 60, "start": "00:10", "end": "00:30"}
    model = run(scenario(net, od=[through, from_n2], closures=[
        {"links": [["n2", "n3"]], "start": "00:05", "end": "02:00"}],
        end="03:00", traffic={"closure_patience_min": 20}))
    rows = trips(model)
    assert conserved(model)
    passed = [r for r in rows if r["status"] == "arrived"]
    given_up = [r for r in rows if r["status"] == "abandoned"]
    assert len(passed) + len(given_up) == len(rows) == 50 + 20
    # through n2 before 00:05 (2 km at 60 km/h): no wait, no delay beyond junctions
    assert all(r["depart_s"] < 180 + 30 and r["held_s"] == 0 for r in passed)
    assert all(r["depart_s"] > 180 - 30 for r in given_up if r["origin"] == "n0")
    # every wait lasted the patience, to the minute the drivers are checked on
    assert all(1200.0 <= r["held_s"] <= 1200.0 + 60.0 for r in given_up)
    on_the_way = [r for r in given_up if r["km"] > 0]
    at_home = [r for r in given_up if r["km"] == 0]
    # held at the first junction they reached once no way on was left: n1 or n2
    assert all(r["origin"] == "n0" and round(r["km"], 2) in (1.0, 2.0) for r in on_the_way)
    assert len(on_the_way) >= 10
    assert {r["origin"] for r in at_home} == {"n2"} and len(at_home) == 20
    cl = traffic_metrics(model.engine)["closures"]
    assert (cl["abandoned_on_the_way"], cl["abandoned_before_setting_off"]) == (
        len(on_the_way), len(at_home))
    assert cl["held_vehicle_hours"] == pytest.approx(len(given_up) * 20 / 60, rel=0.05)
    assert all(r["delay_s"] < 60.0 for r in given_up)


def test_gridlock_is_broken_by_moving_stuck_vehicles_on(tmp_path):
    """Three short one-way links in a ring, each full of vehicles waiting for the next: a
    deadlock. Every stuck_after_s the head vehicles are moved on (into a full link, as MATSim
    does) and reported stuck, so the run goes on and nothing is lost."""
    nodes = [{"id": "a", "lat": 35.8500, "lon": 129.2000},
             {"id": "b", "lat": 35.8500, "lon": 129.2007},
             {"id": "c", "lat": 35.8505, "lon": 129.20035}]
    road = {"class": "local", "lanes": 1, "speed_kmh": 30, "oneway": True}
    roads = [{"name": "ring ab", "path": ["a", "b"], **road},
             {"name": "ring bc", "path": ["b", "c"], **road},
             {"name": "ring ca", "path": ["c", "a"], **road}]
    net = write_network(tmp_path, nodes, roads, name="ring")
    od = [{"origin": o, "destination": d, "vph": 900, "start": "00:00", "end": "00:10"}
          for o, d in (("a", "c"), ("b", "a"), ("c", "b"))]
    sc = scenario(net, od=od, end="01:00", traffic={"stuck_after_s": 120})
    model = run(sc)
    rows = trips(model)
    assert conserved(model)
    c = model.engine.counts()
    assert c["entered"] == 450 and c["stuck"] > 0 and c["forced"] > 0
    # about one forced move per ring link per stuck period once the ring has locked up
    assert 3 * (3600 - 600) / 120 * 0.5 <= model.engine.stuck_events <= 3 * 3600 / 120 + 3
    # one meaning per status: stuck trips never arrived; a forced trip that arrived is arrived
    stuck = [r for r in rows if r["status"] == "stuck"]
    forced = [r for r in rows if r["forced"]]
    assert len(stuck) == c["stuck"] and all(r["arrive_s"] is None and r["forced"] for r in stuck)
    assert sum(r["status"] == "arrived" for r in forced) == c["forced"]
    assert all(r["status"] == "arrived" or r["arrive_s"] is None for r in rows)
    assert model.engine.timeseries[-1][5] == c["stuck"] == model.engine.stuck_now
    # and the run says it ends in gridlock
    from sim.metrics import traffic_metrics

    g = traffic_metrics(model.engine)["gridlock"]
    assert g["jammed"] and g["share_of_links_jammed_at_end"] > 0.5
    assert g["share_of_trips_arrived"] == round(c["arrived"] / c["entered"], 4) < 0.5
    assert g["vehicles_held_at_end"] > 0
    # the reference loop forces, counts and reports the same
    ref = run_reference(sc)
    assert trips(ref) == rows
    assert ref.engine.counts() == c and ref.engine.timeseries == model.engine.timeseries


@pytest.mark.parametrize("rules", [{}, {
    "speed_factors": {"expressway": 0.85},
    "signal_plans": [{"start": "00:25", "end": "00:35", "flashing": True}]}])
def test_fast_and_reference_loops_agree(tmp_path, rules):
    """The compiled core and the inlined loop must do exactly what the reference methods do
    (also with road classes' speed factors and a signal plan switching mid-run)."""
    net = line_network(tmp_path, BOTTLENECK)
    sc = scenario(net, od=[_od(2400), _od(300, kind="truck"),
                           _od(6, start="00:30", end="00:50", kind="emergency")],
                  motorcades=[{"name": "M", "route": ["n0", "n4"], "depart": "00:45"}],
                  weather={"condition": "clear", "windows": [
                      {"condition": "rain", "start": "00:20", "end": "00:40"}]},
                  traffic=rules)
    ref = run_reference(sc)
    for core in ("compiled", "python"):
        fast = run(sc, core=core)
        assert trips(fast) == trips(ref)
        assert list(fast.engine.max_queue) == list(ref.engine.max_queue)
        assert list(fast.engine.links.at_capacity) == list(ref.engine.links.at_capacity)
        # and the traversal log, entry for entry, which every link and trip statistic comes from
        for a, b in zip(fast.engine.traversals_log(), ref.engine.traversals_log(),
                        strict=True):
            assert np.array_equal(a, b)
        assert fast.engine.traversals == ref.engine.traversals
        assert fast.engine.timeseries == ref.engine.timeseries

"""The emergency layer against theory: an empty network's response is handling + turnout +
the shortest uncongested time; a road taken out adds the detour; busy units make calls wait,
never drop them; a full ER diverts; units and incidents are conserved; runs are repeatable;
bad values are named."""

from __future__ import annotations

import json

import pytest

from sim.cli import main
from sim.emergency.metrics import INCIDENT_COLUMNS, KEYS
from sim.metrics import uncongested_times
from sim.model import SummitModel
from sim.routing import Router
from sim.scenario import load_scenario, validate_scenario
from tests.traffic_helpers import DLON_PER_KM, write_network

NO_TRAFFIC = ["--set", "traffic.daily_trips=0", "--set", "traffic.external=[]",
              "--set", "traffic.through=[]",
              "--set", "outputs.congestion_map=false"]


def _emergency(**extra) -> dict:
    em = {"enabled": True, "rates": {"per_1000_per_day": 0}, "helicopters": [],
          "call_handling_s": 60, "turnout_fire_s": 80, "turnout_ems_s": 60}
    em.update(extra)
    return em


def _run(raw: dict, seed: int = 1) -> SummitModel:
    model = SummitModel(validate_scenario(raw), seed=seed)
    model.run()
    return model


# ---- a small network: station S, junction J, target T, a detour through D ----------------
def _triangle(tmp_path, *, direct: bool = True, name: str = "tri"):
    lat, lon = 35.85, 129.2
    nodes = [{"id": "S", "lat": lat, "lon": lon},
             {"id": "T", "lat": lat, "lon": round(lon + 2 * DLON_PER_KM, 7)},
             {"id": "D", "lat": round(lat + 0.018, 6), "lon": round(lon + 1 * DLON_PER_KM, 7)},
             {"id": "H", "lat": round(lat - 0.018, 6), "lon": round(lon + 1 * DLON_PER_KM, 7)},
             {"id": "H2", "lat": round(lat - 0.05, 6), "lon": round(lon + 1 * DLON_PER_KM, 7)}]
    road = {"class": "expressway", "lanes": 2, "speed_kmh": 60, "oneway": False}
    roads = [{**road, "name": "detour", "path": ["S", "D", "T"]},
             {**road, "name": "south road", "path": ["S", "H", "T"]},
             {**road, "name": "far road", "path": ["H", "H2"]}]
    if direct:
        roads.append({**road, "name": "direct road", "path": ["S", "T"]})
    places = [
        {"name": "Test 119 Centre", "kind": "safety_centre", "lat": lat, "lon": lon,
         "node": "S", "source": "test", "approx": False},
        {"name": "Target", "kind": "venue", "lat": nodes[1]["lat"], "lon": nodes[1]["lon"],
         "node": "T", "source": "test", "approx": False},
        {"name": "Near Hospital", "kind": "hospital", "lat": nodes[3]["lat"],
         "lon": nodes[3]["lon"], "node": "H", "source": "test", "approx": False},
        {"name": "Far Hospital", "kind": "hospital", "lat": nodes[4]["lat"],
         "lon": nodes[4]["lon"], "node": "H2", "source": "test", "approx": False},
    ]
    path = write_network(tmp_path, nodes, roads, name)
    spec = json.loads(path.read_text())
    spec["places"], spec["sources"] = places, {"test": "written by the test"}
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def _tri_scenario(path, emergency: dict, **extra) -> dict:
    return {"name": "t", "start": "00:00", "end": "04:00", "network": {"file": str(path)},
            "traffic": {"contract_chains": False}, "outputs": {"congestion_map": False},
            "emergency": emergency, **extra}


FIRE = {"type": "vehicle_fire", "place": "Target", "at": "01:00", "units": {"pumper": 1},
        "patients": 0, "on_scene_min": 20}
ONE_PUMPER = [{"name": "Test 119 Centre", "place": "Test 119 Centre", "units": {"pumper": 1}}]


def _arrival(model) -> float:
    inc = model.emergency.incidents[0]
    return inc.first_arrival_s - inc.call_s


def test_empty_night_network_response_is_handling_turnout_and_free_flow():
    """The embedded network at night with no traffic: Bomun's pumper to HICO takes the call
    handling, the turnout and the shortest uncongested time, to the second."""
    raw = {"name": "night", "start": "00:00", "end": "03:00",
           "outputs": {"congestion_map": False},
           "emergency": _emergency(
               stations=[{"name": "Bomun", "place": "Bomun 119 Safety Centre",
                          "units": {"pumper": 1}}],
               scripted=[{**FIRE, "place": "HICO"}])}
    model = _run(raw)
    net = model.network
    router = Router(net, uncongested_times(model.engine))
    expected = router.route(net.resolve("Bomun 119 Safety Centre")[0],
                            net.resolve("HICO")[0]).seconds
    assert expected > 60
    assert _arrival(model) == pytest.approx(60 + 80 + expected, abs=1.0)
    inc = model.emergency.incidents[0]
    assert inc.first_engine_travel_s == pytest.approx(expected, abs=1.0)
    assert inc.status == "cleared"
    assert model.emergency.status_counts()["available"] == 1


def test_a_road_taken_out_raises_the_response_by_the_detour(tmp_path):
    em = _emergency(stations=ONE_PUMPER, hospitals=[], scripted=[FIRE])
    times = {}
    for direct in (True, False):
        path = _triangle(tmp_path, direct=direct, name=f"tri{direct}")
        model = _run(_tri_scenario(path, em))
        net = model.network
        times[direct] = (_arrival(model), Router(net).route("S", "T").seconds)
    (with_road, r_with), (without, r_without) = times[True], times[False]
    assert r_without > r_with + 30
    assert without - with_road == pytest.approx(r_without - r_with, abs=1.0)
    assert with_road == pytest.approx(140 + r_with, abs=1.0)


def test_a_police_closure_does_not_hold_an_emergency_unit(tmp_path):
    path = _triangle(tmp_path)
    em = _emergency(stations=ONE_PUMPER, hospitals=[], scripted=[FIRE])
    open_road = _arrival(_run(_tri_scenario(path, em)))
    closed = _arrival(_run(_tri_scenario(path, em, closures=[
        {"road": "direct road", "start": "00:00", "end": "04:00"}])))
    assert closed == pytest.approx(open_road, abs=1e-6)


def test_calls_wait_for_a_busy_unit_and_are_never_dropped(tmp_path):
    path = _triangle(tmp_path)
    calls = [{"type": "medical", "place": "Target", "at": "01:00", "patients": 1}
             for _ in range(3)]
    em = _emergency(
        stations=[{"name": "Test 119 Centre", "place": "Test 119 Centre",
                   "units": {"ambulance": 1}}],
        hospitals=[{"place": "Near Hospital", "er_beds": 10, "level": 1}],
        er_baseline_occupancy=0.0, scripted=calls)
    model = _run(_tri_scenario(path, em))
    layer = model.emergency
    incs = layer.incidents
    assert [i.status for i in incs] == ["cleared"] * 3
    assert layer.queued_requests == 2 and [i.queued for i in incs] == [0, 1, 1]
    # one ambulance: each call is reached only after the previous patient's handover
    first_clear = incs[0].assignments[0].clear_s
    assert incs[1].assignments[0].dispatch_s == pytest.approx(first_clear)
    assert incs[0].first_arrival_s < incs[1].first_arrival_s < incs[2].first_arrival_s
    hosp = layer.hospitals[0]
    assert hosp.admitted == 3


def test_a_full_er_diverts_to_the_next_hospital(tmp_path):
    path = _triangle(tmp_path)
    calls = [{"type": "medical", "place": "Target", "at": "01:00", "patients": 1,
              "critical_share": 0.0} for _ in range(2)]
    em = _emergency(
        stations=[{"name": "Test 119 Centre", "place": "Test 119 Centre",
                   "units": {"ambulance": 2}}],
        hospitals=[{"place": "Near Hospital", "er_beds": 1, "level": 1},
                   {"place": "Far Hospital", "er_beds": 5, "level": 1}],
        er_baseline_occupancy=0.0, scripted=calls)
    model = _run(_tri_scenario(path, em))
    layer = model.emergency
    went = sorted(rec.hospital for i in layer.incidents for rec in i.assignments)
    assert went == ["Far Hospital", "Near Hospital"]
    assert layer.er_diversions == 1
    near, far = layer.hospitals
    assert near.peak == 1 and far.admitted == 1


def test_a_unit_on_its_way_to_a_minor_call_is_diverted_to_an_urgent_one(tmp_path):
    path = _triangle(tmp_path)
    calls = [{"type": "false_alarm", "place": "Far Hospital", "at": "01:00"},
             {"type": "vehicle_fire", "place": "Target", "at": "01:02", "units": {"pumper": 1},
              "patients": 0, "on_scene_min": 10}]
    em = _emergency(stations=ONE_PUMPER, hospitals=[], scripted=calls, diversion_gain_s=0)
    model = _run(_tri_scenario(path, em))
    layer = model.emergency
    alarm, fire = layer.incidents
    assert layer.diversions == 1
    assert alarm.assignments[0].outcome == "diverted"
    assert fire.first_arrival_s is not None and fire.assignments[0].unit.name.endswith("1")
    # the alarm got its pumper again once the fire was out
    assert alarm.status == "cleared" and len(alarm.assignments) == 2


# ---- a day of calls on the embedded network ------------------------------------------------
def _cli(tmp_path, name, *extra):
    out = tmp_path / name
    code = main(["run", "city_emergency", "--quiet", "--out", str(out), *NO_TRAFFIC,
                 "--set", 'start="06:00"', "--set", 'end="14:00"',
                 "--set", "emergency.rates.per_1000_per_day=1.5", *extra])
    assert code == 0
    return out, json.loads((out / "metrics.json").read_text())["emergency"]


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    return _cli(tmp_path_factory.mktemp("em"), "day")


def test_kpis_have_exactly_the_contract_keys(day):
    _, m = day
    assert tuple(sorted(m)) == tuple(sorted(KEYS))
    assert m["incidents"] == m["served"] + m["unserved"] > 50
    assert 0 < m["within_7min_rate"] <= 1 and m["call_to_arrival_p50_s"] > 140
    assert 0 <= m["coverage_min"] < 0.7 and m["coverage_minutes_below_target"] > 0
    assert sum(v["incidents"] for v in m["by_type"].values()) == m["incidents"]


def test_incidents_and_units_are_conserved(day):
    out, m = day
    rows = (out / "incidents.csv").read_text().splitlines()
    assert rows[0].split(",") == INCIDENT_COLUMNS
    ids = {int(r.split(",")[0]) for r in rows[1:]}
    assert ids == set(range(1, m["incidents"] + 1))  # every incident reported


def test_every_unit_in_one_status_and_every_incident_accounted_for():
    sc = load_scenario("city_emergency", [a for a in NO_TRAFFIC if a != "--set"] + [
        'start="06:00"', 'end="10:00"', "emergency.rates.per_1000_per_day=3"])
    model = SummitModel(sc, seed=3)
    layer = model.emergency
    n_units = len(layer.units)
    while model.time < model.end_s:
        model.run_until(min(model.end_s, model.time + 1800))
        counts = layer.status_counts()
        assert sum(counts.values()) == n_units
        busy = {u for u in layer.units if u.status not in ("available", "off_duty")}
        assert all(u.assignment is not None or u.status == "returning" for u in busy)
    statuses = [i.status for i in layer.incidents]
    assert set(statuses) <= {"cleared", "on_scene", "unserved"}
    assert statuses.count("cleared") > 0 and layer.queued_requests > 0  # busy hours
    waiting = {q[3].id for q in layer.queue}
    for inc in layer.incidents:  # an unserved call waits for a unit, or has one on its way
        if inc.status == "unserved" and inc.dispatch_s is not None:
            coming = [r for r in inc.assignments if r.unit.assignment is r
                      and r.unit.status in ("dispatched", "en_route")]
            assert inc.id in waiting or coming, inc.id


def test_same_seed_same_incidents_and_metrics(tmp_path, day):
    out, _ = day
    again, _ = _cli(tmp_path, "again")
    for name in ("metrics.json", "incidents.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


@pytest.mark.parametrize("args, message", [
    (['emergency.rosters={"Atlantis Centre"={pumper=1}}'],
     "emergency.rosters: station 'Atlantis Centre' is not one of the stations: "
     "Gyeongju Fire Station"),
    (['emergency.staging=[{name="x", place="Nowhere", units={pumper=1}}]'],
     "emergency.staging[0].place = 'Nowhere': unknown place or node 'Nowhere'"),
    (['emergency.rosters={"Bomun 119 Safety Centre"={pumper=-1}}'], "pumper = -1"),
    (['emergency.staging=[{name="x", place="HICO", start="12:00", end="08:00"}]'],
     "staging[0] (x): end (28800 s) must be after start (43200 s)"),
    (['emergency.dispatch_policy="fastest"'],
     "emergency.dispatch_policy = 'fastest': Input should be 'nearest', 'staging_first' or "
     "'keep_coverage'"),
    (['emergency.rosters={"Bomun 119 Safety Centre"={jetpack=1}}'], "jetpack"),
])
def test_bad_emergency_values_are_named(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    sets = [x for a in args for x in ("--set", a)]
    code = main(["run", "city_emergency", "--quiet", "--out", str(out), *NO_TRAFFIC, *sets])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()

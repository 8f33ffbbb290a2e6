"""Venue evacuation: the building clears at the exits' throughput; everyone evacuated is
accounted for and keeps the summit layer's conservation laws; buses never carry more than
their seats; evacuation buses on the responders' road slow the responders down."""

from __future__ import annotations

import itertools
import json

import pytest

from sim.cli import main
from sim.emergency.metrics import evacuation_metrics
from sim.model import SummitModel
from sim.scenario import load_scenario, validate_scenario
from tests.traffic_helpers import DLON_PER_KM, write_network


# ---- a small network: station and bus depot S, one narrow road to the venue V, hotel H -----
def _network(tmp_path):
    lat, lon = 35.85, 129.2
    nodes = [{"id": "S", "lat": lat, "lon": lon},
             {"id": "J", "lat": lat, "lon": round(lon + 1 * DLON_PER_KM, 7)},
             {"id": "V", "lat": lat, "lon": round(lon + 2 * DLON_PER_KM, 7)},
             {"id": "A", "lat": round(lat + 0.003, 6), "lon": round(lon + 2 * DLON_PER_KM, 7)},
             {"id": "H", "lat": lat, "lon": round(lon + 6 * DLON_PER_KM, 7)}]
    narrow = {"class": "local", "lanes": 1, "speed_kmh": 30, "oneway": False,
              "capacity_vph_per_lane": 600}
    wide = {"class": "arterial", "lanes": 2, "speed_kmh": 60, "oneway": False}
    roads = [{**narrow, "name": "venue road", "path": ["S", "J", "V"]},
             {**wide, "name": "plaza road", "path": ["V", "A"]},
             {**wide, "name": "hotel road", "path": ["A", "H"]}]
    path = write_network(tmp_path, nodes, roads, "evac")
    spec = json.loads(path.read_text())
    names = [("Test 119 Centre", "safety_centre"), ("Junction", "landmark"), ("Venue", "venue"),
             ("Plaza", "landmark"), ("Hotel", "hotel")]
    spec["places"] = [{"name": n, "kind": k, "lat": nd["lat"], "lon": nd["lon"], "node": nd["id"],
                       "source": "test", "approx": False}
                      for (n, k), nd in zip(names, nodes, strict=True)]
    spec["sources"] = {"test": "written by the test"}
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


EXITS = [{"name": "main", "per_min": 100}, {"name": "side", "per_min": 60},
         {"name": "stair", "per_min": 40}]
FIRE = {"name": "fire", "type": "vehicle_fire", "place": "Venue", "at": "01:00:30",
        "units": {"pumper": 1}, "patients": 0, "on_scene_min": 20}


def _scenario(path, evacuations, scripted=()) -> dict:
    return {"name": "evac", "start": "00:30", "end": "03:00", "network": {"file": str(path)},
            "traffic": {"contract_chains": False}, "outputs": {"congestion_map": False},
            "emergency": {"enabled": True, "rates": {"per_1000_per_day": 0},
                          "helicopters": [], "hospitals": [],
                          "stations": [{"name": "Test 119 Centre", "place": "Test 119 Centre",
                                        "units": {"pumper": 1}}],
                          "scripted": list(scripted), "evacuations": evacuations}}


def _run(raw) -> SummitModel:
    model = SummitModel(validate_scenario(raw))
    model.run()
    return model


@pytest.mark.parametrize("people", [1, 599, 1000])
def test_the_building_clears_in_occupants_over_total_exit_throughput(tmp_path, people):
    evac = {"venue": "Venue", "at": "01:00", "others": people, "exits": EXITS,
            "inside_min": 0.5, "to_assembly_min": 2, "assembly": "Plaza"}
    model = _run(_scenario(_network(tmp_path), [evac]))
    (m,) = evacuation_metrics(model.emergency)
    theory_s = 30 + people / (200 / 60)
    interval_s = 60 / 40  # the slowest exit's interval
    assert abs(m["building_clear_min"] * 60 - theory_s) <= interval_s + 0.01
    assert m["building_clear_theory_min"] == pytest.approx(theory_s / 60, abs=0.01)
    # nobody to take by bus: everyone walks off from the assembly point
    assert m["where_at_end"]["walked_off"] == m["occupants"] == people
    assert m["area_clear_min"] == pytest.approx(m["building_clear_min"] + 2, abs=0.02)
    ev = model.emergency.evacuations[0]
    if people == 1000:  # the exits share the crowd by their throughput
        by_exit = [sum(e.exit == i for e in ev.evacuees) for i in range(3)]
        assert by_exit == pytest.approx([500, 300, 200], abs=2)


def _with_buses(path, *, evacuate: bool) -> dict:
    evac = {"venue": "Venue", "at": "01:00", "others": 900, "others_to": "Hotel",
            "exits": EXITS, "inside_min": 0.5, "to_assembly_min": 1, "assembly": "Plaza",
            "reserve_buses": 30, "reserve_depot": "Test 119 Centre", "reserve_ready_min": 0,
            "seats": 40}
    return _scenario(path, [evac] if evacuate else [], scripted=[FIRE])


def test_evacuation_buses_on_the_responders_road_raise_their_travel_time(tmp_path):
    """The reserve buses leave the depot beside the fire station on the one narrow road to the
    venue just before the pumper does: the pumper's trip to the fire takes longer than in the
    same run without the evacuation, and the evacuation's KPIs say so."""
    path = _network(tmp_path)
    arrival = {}
    for evacuate in (False, True):
        model = _run(_with_buses(path, evacuate=evacuate))
        inc = model.emergency.incidents[0]
        rec = inc.assignments[0]
        arrival[evacuate] = rec.on_scene_s - rec.en_route_s
        if evacuate:
            (m,) = evacuation_metrics(model.emergency)
    assert arrival[True] > arrival[False] + 30
    delay = m["responder_delay"]
    assert delay["delayed_legs"] >= 1 and delay["max_s"] > 30
    # the direct estimate explains most of the measured difference
    assert delay["max_s"] == pytest.approx(arrival[True] - arrival[False], rel=0.35)
    trig = m["trigger_units"]
    assert trig is None or trig["units_arrived"] <= 1
    # and everyone got away, 40 at most on a bus
    assert m["where_at_end"]["delivered"] == 900 and m["moved_by_bus"] == 900
    assert m["bus_peak_load"] <= m["bus_seats_min"] == 40
    assert m["bus_trips"] >= 900 / 40


# ---- delegates on the SOM1 day -------------------------------------------------------------
QUIET = ["traffic.daily_trips=0", "traffic.external=[]", "traffic.through=[]",
         "outputs.congestion_map=false"]


def _som1_with_evacuation(**extra):
    raw = load_scenario("som1_day", QUIET).model_dump(mode="json")
    evac = {"name": "plenary evacuation", "venue": "HICO", "at": "11:00", "others": 300,
            "others_to": "Gyeongju Intercity Bus Terminal",
            "exits": [{"name": "lobby", "per_min": 200}, {"name": "stairs", "per_min": 100}],
            "assembly": "M1 media car park", "to_assembly_min": 5,
            "buses": {"City hotels - HICO": 2, "Bomun hotels - HICO": 3},
            "reserve_buses": 4, "reserve_depot": "Gyeongju city bus depot", **extra}
    raw["emergency"] = {"enabled": True, "rates": {"per_1000_per_day": 0},
                        "evacuations": [evac]}
    return validate_scenario(raw)


def test_everyone_evacuated_is_accounted_for_and_buses_keep_to_their_seats():
    model = SummitModel(_som1_with_evacuation())
    layer, summit = model.emergency, model.summit
    (ev,) = layer.evacuations
    total = len(summit.delegates)
    while model.time < model.end_s:
        model.run_until(min(model.end_s, model.time + 300))
        # every delegate in exactly one state; every evacuee in exactly one place
        assert sum(summit.state_counts().values()) == total
        if ev.started:
            assert sum(ev.counts().values()) == len(ev.evacuees)
            assert all(len(b.riders) <= b.seats for b in ev.buses)
    assert ev.started and ev.start_s == 11 * 3600
    m = evacuation_metrics(layer)[0]
    evacuated = [e.delegate for e in ev.evacuees if e.delegate is not None]
    assert len(evacuated) == m["delegates"] > 500 and m["others"] == 300
    assert m["where_at_end"]["delivered"] == m["occupants"]  # nobody left behind
    assert m["bus_peak_load"] <= m["bus_seats_min"]
    assert m["buses_from_lines"] == {"Bomun hotels - HICO": 3, "City hotels - HICO": 2}
    assert m["buses"] == 9 and m["reserve_buses"] == 4
    # their session record shows they left early, at the alarm
    for d in evacuated:
        left = [r for r in d.records if r.left_early_s is not None]
        assert len(left) == 1 and left[0].left_early_s == ev.start_s
        assert left[0].venue == "HICO" and left[0].cleared_s < ev.start_s
    untouched = [d for d in summit.delegates if d not in set(evacuated)]
    assert all(r.left_early_s is None for d in untouched for r in d.records)
    # ... and their trips (person_trips.csv) an evacuation from the venue to where they were
    # delivered, after which the day's trips go on from there
    for d in evacuated:
        (i,) = [j for j, t in enumerate(d.trips) if t.purpose == "evacuation"]
        trip = d.trips[i]
        assert trip.left_s == ev.start_s and trip.status == "done" and trip.mode == "evacuation"
        assert trip.origin == summit.venue_nodes["HICO"] and trip.arrived_s >= trip.left_s
        assert d.trips[i - 1].purpose == "session" and d.trips[i - 1].destination == trip.origin
        for a, b in itertools.pairwise(d.trips):
            assert b.origin == a.destination
    assert not any(t.purpose == "evacuation" for d in untouched for t in d.trips)
    # at the end of the day: back, departed (or never out of the hotel) like everyone else
    states = summit.state_counts()
    assert states["back"] + states["at_hotel"] + states["departed"] == total
    # the taken buses left their lines: no runs after they were handed over
    taken = [b for ln in summit.lines for b in ln.buses if b.retasked_by is not None]
    assert len(taken) == 5 and all(b.status == "retasked" for b in taken)


def test_roles_choose_who_leaves_and_the_rest_stay_in_session():
    model = SummitModel(_som1_with_evacuation(roles=["media"], others=0))
    model.run_until(11 * 3600 + 60)
    (ev,) = model.emergency.evacuations
    roles = {e.delegate.guest.role for e in ev.evacuees}
    assert roles == {"media"}
    still = [d for d in model.summit.delegates if d.state == "in_session"
             and d.current.venue == "HICO"]
    assert still and all(d.guest.role != "media" for d in still)


def test_no_evacuation_no_evacuation_kpis(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "city_emergency", "--quiet", "--out", str(out), "--set",
                 "traffic.daily_trips=0", "--set", "traffic.external=[]", "--set",
                 "traffic.through=[]", "--set",
                 'end="02:00"', "--set", "outputs.congestion_map=false"]) == 0
    m = json.loads((out / "metrics.json").read_text())["emergency"]
    assert "evacuation" not in m


@pytest.mark.parametrize("evac, message", [
    ({"trigger": "no such fire"}, "evacuations[0].trigger = 'no such fire': not the name of "
                                  "a scripted incident"),
    ({"at": "11:00", "trigger": "x"}, "give exactly one of at"),
    ({"at": "11:00", "buses": {"Night line": 2}},
     "emergency.evacuations[0].buses: 'Night line' is not a shuttle line"),
    ({"at": "11:00", "assembly": "Atlantis"},
     "emergency.evacuations[0].assembly = 'Atlantis': unknown place or node 'Atlantis'"),
    ({"at": "11:00", "reserve_buses": 3}, "reserve_buses = 3 needs reserve_depot"),
    ({"at": "11:00", "exits": []}, "exits"),
])
def test_bad_evacuation_values_are_named(tmp_path, capsys, evac, message):
    base = {"venue": "HICO", "exits": [{"name": "a", "per_min": 60}], "assembly": "HICO"}
    body = ", ".join(f"{k} = {_toml(v)}" for k, v in {**base, **evac}.items())
    out = tmp_path / "never"
    code = main(["run", "som1_day", "--quiet", "--out", str(out), "--set",
                 "emergency.enabled=true", "--set", f"emergency.evacuations=[{{{body}}}]",
                 *[x for q in QUIET for x in ("--set", q)]])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def _toml(v) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return json.dumps(v)


def test_validate_checks_the_emergency_names(capsys):
    assert main(["validate", "hico_fire_drill"]) == 0
    capsys.readouterr()
    for override, message in [
        ('emergency.evacuations.0.assembly="Moon"',
         "emergency.evacuations[0].assembly = 'Moon': unknown place or node 'Moon'"),
        ('emergency.staging.0.place="Nowhere"',
         "emergency.staging[0].place = 'Nowhere': unknown place or node 'Nowhere'"),
        ('emergency.rosters={"Atlantis Centre"={pumper=1}}',
         "station 'Atlantis Centre' is not one of the stations"),
        ('emergency.dispatch_policy="fastest"', "emergency.dispatch_policy = 'fastest'"),
    ]:
        assert main(["validate", "hico_fire_drill", "--set", override]) == 2
        assert message in capsys.readouterr().err

"""Day visitors by car: in at their region's cordon, round the attractions, out the same way."""

from __future__ import annotations

import numpy as np
import pytest
from traffic_helpers import line_network, scenario

from sim.errors import InputError
from sim.model import scenario_network
from sim.traffic.demand import generate_trips

HOURLY = [1 / 24] * 24


def _setup(tmp_path, km=2.0, **visitors):
    """A two-way road n0 - n1 - n2 - n3 (`km` per stretch); visitors enter at n0 and visit the
    attractions at n2 (weight 3) and n3 (weight 1)."""
    net = line_network(tmp_path, [{"length_km": km, "speed_kmh": 60, "oneway": False}] * 3)
    arrivals = [0.0] * 24
    arrivals[9], arrivals[10] = 0.5, 0.5
    spec = {"per_day": 2500, "car_share": 0.8, "persons_per_car": 2.0, "stay_h": 3.0,
            "places": 2, "arrivals": arrivals,
            "origins": [{"name": "region", "node": "n0", "weight": 1}],
            "attractions": [{"name": "temple", "node": "n2", "visits_per_year": 3},
                            {"name": "palace", "node": "n3", "visits_per_year": 1}], **visitors}
    sc = scenario(net, start="00:00", end="24:00",
                  traffic={"profile": {"hourly": HOURLY}, "visitors": spec})
    return sc, scenario_network(sc)


def _trips(sc, net, seed=3):
    return generate_trips(net, sc.traffic, np.random.default_rng(seed), 0.0, 86_400.0)


def test_every_car_comes_in_and_goes_out_once_and_goes_where_the_weights_say(tmp_path):
    sc, net = _setup(tmp_path)
    trips = _trips(sc, net)
    gate = net.node_index["n0"]
    inbound = trips.origin == gate
    outbound = trips.destination == gate
    cars = int(inbound.sum())
    assert abs(cars - 1000) < 5 * np.sqrt(1000)  # Poisson around 2,500 x 0.8 / 2 cars
    assert int(outbound.sum()) == cars  # nobody stays, nobody leaves who did not come
    # inbound trips set off in the arrival hours only
    assert set(np.floor(trips.depart_s[inbound] / 3600).astype(int).tolist()) == {9, 10}
    first = trips.destination[inbound]
    assert abs((first == net.node_index["n2"]).mean() - 0.75) < 0.05
    # the second place is never the first: the drives between them go from one to the other
    between = ~inbound & ~outbound
    assert between.sum() == cars
    assert (trips.origin[between] != trips.destination[between]).all()
    # a stay of 3 h on average from coming in to going out
    assert np.mean(trips.depart_s[outbound]) - np.mean(trips.depart_s[inbound]) == \
        pytest.approx(3 * 3600, rel=0.05)
    assert set(trips.kind) == {"car"}


def test_attractions_within_walking_distance_are_walked_between(tmp_path):
    sc, net = _setup(tmp_path, km=0.4)  # temple and palace 400 m apart
    trips = _trips(sc, net)
    gate = net.node_index["n0"]
    assert ((trips.origin == gate) | (trips.destination == gate)).all()


def test_a_stay_past_midnight_ends_in_the_small_hours_of_the_modelled_day(tmp_path):
    arrivals = [0.0] * 24
    arrivals[22] = 1.0
    sc, net = _setup(tmp_path, arrivals=arrivals, stay_h=6.0, places=1)
    trips = _trips(sc, net)
    out = trips.destination == net.node_index["n0"]
    assert (trips.depart_s[out] < 22 * 3600).mean() > 0.8  # most leave after midnight
    assert out.sum() == (~out).sum()


@pytest.mark.parametrize("change, words", [
    ({"attractions": []}, r"traffic.visitors.*attractions"),
    ({"attractions": [{"name": "nowhere", "node": "n9", "visits_per_year": 1}]},
     r"traffic.visitors.attractions \(nowhere\)"),
    ({"car_share": 1.5}, r"car_share"),
])
def test_bad_visitor_settings_are_named(tmp_path, change, words):
    with pytest.raises(InputError, match=words):
        sc, net = _setup(tmp_path, **change)
        _trips(sc, net)


def test_attractions_take_their_visits_and_the_zones_the_rest_by_jobs(tmp_path):
    """An attraction with half the day's stops a year takes half the first stops; the other
    half go to the zones in proportion to their jobs (3:1)."""
    net = line_network(tmp_path, [{"length_km": 2.0, "speed_kmh": 60, "oneway": False}] * 3)
    per_day, places = 2500, 2
    spec = {"per_day": per_day, "car_share": 0.8, "persons_per_car": 2.0, "places": places,
            "origins": [{"name": "region", "node": "n0", "weight": 1}],
            "attractions": [{"name": "temple", "node": "n2",
                             "visits_per_year": 0.5 * per_day * places * 365}]}
    zones = [{"name": "market", "population": 0, "jobs": 3, "lat": 35.85, "lon": 129.2,
              "nodes": ["n1"]},
             {"name": "harbour", "population": 0, "jobs": 1, "lat": 35.85, "lon": 129.2,
              "nodes": ["n3"]}]
    sc = scenario(net, start="00:00", end="24:00",
                  traffic={"profile": {"hourly": HOURLY}, "visitors": spec, "zones": zones,
                           "trip_ends_at_junctions": False})
    net_ = scenario_network(sc)
    trips = _trips(sc, net_, seed=11)
    first = trips.destination[trips.origin == net_.node_index["n0"]]
    share = {n: (first == net_.node_index[n]).mean() for n in ("n1", "n2", "n3")}
    assert share["n2"] == pytest.approx(0.5, abs=0.04)
    assert share["n1"] == pytest.approx(0.375, abs=0.04)
    assert share["n3"] == pytest.approx(0.125, abs=0.03)

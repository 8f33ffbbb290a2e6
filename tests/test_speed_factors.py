"""Free-flow speed per road class: posted speed x the class's factor (traffic.speed_factors),
capped by the vehicle's own top speed, divided by the weather's speed factor."""

from __future__ import annotations

import numpy as np
import pytest
from traffic_helpers import line_network, run, scenario, trips

from sim.errors import InputError
from sim.formats import load_network
from sim.metrics import corridor_times
from sim.traffic.engine import TrafficEngine
from sim.traffic.spec import TrafficSpec

# n0 -> n1: 2 km of national road, n1 -> n2: 1 km of arterial, both posted at 60 km/h; n2 -> n3:
# 3 km of expressway at 100 km/h. The nodes of a line are no junctions: no junction delay.
SEGMENTS = [
    {"class": "national", "speed_kmh": 60, "length_km": 2.0},
    {"class": "arterial", "speed_kmh": 60, "length_km": 1.0},
    {"class": "expressway", "speed_kmh": 100, "length_km": 3.0},
]


def _crossing_times(model, kind="car"):
    """Seconds the first vehicle of `kind` took on each link of the line, from n0 on."""
    e = model.engine
    lk, veh, t_in, t_out = e.traversals_log()
    first = min(v for v in range(len(e.v_kind)) if e.v_kind[v] == kind)
    mine = veh == first
    order = np.argsort(t_in[mine])
    return lk[mine][order], (t_out - t_in)[mine][order]


def _line(tmp_path, factors=None, kind="car", **extra):
    net = line_network(tmp_path, SEGMENTS)
    traffic = {"speed_factors": factors} if factors is not None else {}
    od = [{"origin": "n0", "destination": "n3", "vph": 2, "start": "00:00", "end": "01:00",
           "kind": kind}]
    return run(scenario(net, od=od, traffic=traffic, **extra))


def test_a_class_factor_sets_that_class_free_flow_time_only(tmp_path):
    plain = _line(tmp_path)
    slow = _line(tmp_path, {"national": 0.8})
    net = slow.network
    length = [net.link_between(f"n{i}", f"n{i + 1}").length_m for i in range(3)]
    _, t_plain = _crossing_times(plain)
    _, t_slow = _crossing_times(slow)
    # the national road at 0.8 x 60 km/h, the others at their posted speeds
    assert t_slow[0] == pytest.approx(length[0] / (60 * 0.8 / 3.6))
    assert t_slow[1] == pytest.approx(length[1] / (60 / 3.6)) == pytest.approx(t_plain[1])
    assert t_slow[2] == pytest.approx(length[2] / (100 / 3.6)) == pytest.approx(t_plain[2])
    assert t_plain[0] == pytest.approx(length[0] / (60 / 3.6))
    # trips are measured against the free flow the engine drives: no delay on an empty road
    row = trips(slow)[0]
    assert row["free_flow_s"] == pytest.approx(sum(t_slow))
    assert row["delay_s"] == pytest.approx(0.0, abs=1e-6)


def test_the_vehicle_top_speed_caps_the_factored_speed_and_weather_divides_it(tmp_path):
    """A truck (80 km/h) on the expressway at 1.5 x 100 km/h still goes 80 km/h; a car goes
    150 km/h, and in snow (speed factor 0.7) 105 km/h."""
    truck = _line(tmp_path, {"expressway": 1.5}, kind="truck")
    car = _line(tmp_path, {"expressway": 1.5})
    snow = _line(tmp_path, {"expressway": 1.5}, weather="snow")
    length = truck.network.link_between("n2", "n3").length_m
    assert _crossing_times(truck, "truck")[1][2] == pytest.approx(length / (80 / 3.6))
    assert _crossing_times(car)[1][2] == pytest.approx(length / (150 / 3.6))
    assert _crossing_times(snow)[1][2] == pytest.approx(length / (150 / 3.6) / 0.7)


def test_corridor_and_guidance_times_see_the_factor(tmp_path):
    model = _line(tmp_path, {"national": 0.5, "expressway": 0.9})
    net = model.network
    length = np.array([net.link_between(f"n{i}", f"n{i + 1}").length_m for i in range(3)])
    expected = length / (np.array([30.0, 60.0, 90.0]) / 3.6)
    e = model.engine
    links = [net.link_between(f"n{i}", f"n{i + 1}").id for i in range(3)]
    assert e.net_free_flow()[links] == pytest.approx(expected)
    # route guidance plans on the same free-flow times (no queue, no junction delay here)
    sim = e.graph.of_link[links]
    assert e.links.expected_times(e.class_index["car"])[sim] == pytest.approx(expected)
    corridor = type("C", (), {"name": "line", "path": ["n0", "n3"]})()
    c = corridor_times(e, [corridor])["line"]
    assert c["free_flow_min"] == pytest.approx(expected.sum() / 60, abs=0.01)


def test_factors_of_one_change_nothing(tmp_path):
    plain = _line(tmp_path)
    ones = _line(tmp_path, {c: 1.0 for c in ("national", "arterial", "expressway")})
    assert trips(plain) == trips(ones)


@pytest.mark.parametrize("key", ["motorway", "nationl", "Local"])
def test_an_unknown_road_class_is_refused_by_name(tmp_path, key):
    net = line_network(tmp_path, SEGMENTS)
    with pytest.raises(InputError) as err:
        scenario(net, traffic={"speed_factors": {key: 0.9}})
    msg = str(err.value)
    assert "traffic.speed_factors" in msg and repr(key) in msg
    assert "expressway, national, arterial, collector, local, ramp" in msg
    # the engine refuses it too, for callers that build one themselves from an unchecked
    # traffic section
    with pytest.raises(InputError, match=repr(key)):
        TrafficEngine(load_network(net),
                      TrafficSpec.model_construct(speed_factors={key: 0.9}))


@pytest.mark.parametrize("value", [0.2, 1.6, float("nan"), float("inf")])
def test_a_factor_outside_its_bounds_is_refused(tmp_path, value):
    net = line_network(tmp_path, SEGMENTS)
    with pytest.raises(InputError, match=r"traffic\.speed_factors\.national"):
        scenario(net, traffic={"speed_factors": {"national": value}})


def test_priority_vehicles_drive_at_the_posted_speed(tmp_path):
    """The factors stand for what slows ordinary traffic; an emergency unit under lights and
    sirens takes the national road at its limit while a car takes it at 0.5 x."""
    net = line_network(tmp_path, SEGMENTS)
    od = [{"origin": "n0", "destination": "n3", "vph": 2, "start": "00:00", "end": "01:00",
           "kind": kind} for kind in ("car", "emergency")]
    model = run(scenario(net, od=od, traffic={"speed_factors": {"national": 0.5}}))
    length = model.network.link_between("n0", "n1").length_m
    _, car = _crossing_times(model, "car")
    _, unit = _crossing_times(model, "emergency")
    assert car[0] == pytest.approx(length / (60 * 0.5 / 3.6))
    assert unit[0] == pytest.approx(length / (60 / 3.6))

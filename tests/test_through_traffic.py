"""Through traffic between two cordons: the day's flow, half each way, on the hourly profile."""

from __future__ import annotations

import numpy as np
import pytest
from traffic_helpers import line_network, run, scenario

from sim.errors import InputError
from sim.traffic.demand import generate_trips


def _spec(tmp_path, per_day, hourly=None, **through):
    net = line_network(tmp_path, [{"length_km": 2.0, "speed_kmh": 100, "oneway": False}])
    hourly = hourly or [1 / 24] * 24
    flow = {"name": "expressway", "origin": "n0", "destination": "n1",
            "trips_per_day": per_day, **through}
    return scenario(net, start="00:00", end="24:00",
                    traffic={"profile": {"hourly": hourly}, "through": [flow]})


def test_a_days_through_flow_follows_the_profile_half_each_way(tmp_path):
    hourly = [0.0] * 24
    hourly[8], hourly[17] = 0.6, 0.4  # two busy hours, nothing else
    sc = _spec(tmp_path, 20_000, hourly)
    model = run(sc)
    trips = generate_trips(model.network, sc.traffic, np.random.default_rng(5), 0, 86_400)
    n = len(trips.depart_s)
    assert abs(n - 20_000) < 5 * np.sqrt(20_000)  # Poisson around the day's total
    hours = np.floor(trips.depart_s / 3600).astype(int)
    assert set(hours.tolist()) == {8, 17}
    assert abs((hours == 8).mean() - 0.6) < 0.02
    east = (trips.origin == model.network.node_index["n0"]).mean()
    assert abs(east - 0.5) < 0.02
    # every trip crosses the one road: the link counts add up to the trips
    entered = model.engine.link_summary()["entered"]
    ab = model.network.link_between("n0", "n1").id
    ba = model.network.link_between("n1", "n0").id
    assert entered[ab] + entered[ba] == model.engine.departed


def test_a_through_flow_needs_two_different_cordons(tmp_path):
    sc = _spec(tmp_path, 100, destination="n0")
    with pytest.raises(InputError, match=r"traffic.through\[0\] \(expressway\).*same node"):
        run(sc)

"""Where ordinary calls happen: residents spread over every road node of their zone by the road
length around it, never where units stand (a post, a hospital, a helipad); so no unit reaches a
resident's call without driving, and calls spread over hundreds of nodes."""

from __future__ import annotations

import numpy as np
import pytest

from agents.emergency.incidents import Demand, generate_calls
from sim.emergency.places import _road_length_around, resident_weights, standing_nodes
from sim.model import SummitModel, scenario_network
from sim.scenario import load_scenario

NO_TRAFFIC = ["traffic.daily_trips=0", "traffic.external=[]", "traffic.through=[]",
              "outputs.congestion_map=false"]


@pytest.fixture(scope="module")
def city():
    scenario = load_scenario("city_emergency")
    net = scenario_network(scenario)
    return scenario, net, resident_weights(net, scenario)


def test_residents_are_spread_over_the_zones_by_road_length_never_where_units_stand(city):
    scenario, net, weight = city
    zones = scenario.traffic.zones
    assert sum(weight.values()) == pytest.approx(sum(z.population for z in zones))
    assert len(weight) >= 300  # every road node of every zone, not its 71 trip-end junctions
    posts = {net.node_index[n] for n in standing_nodes(net, scenario)}
    assert not posts & set(weight)  # every zone has nodes besides its posts and hospitals
    # one zone alone: its population in proportion to the road length around its nodes
    one = scenario.model_copy(deep=True)
    one.traffic.zones = [z for z in zones if z.name.startswith("Yonggang-dong")]
    w1 = resident_weights(net, one)
    length = _road_length_around(net)
    nodes = sorted(w1)
    assert len(nodes) > len(one.traffic.zones[0].nodes)
    share = np.array([w1[v] for v in nodes]) / one.traffic.zones[0].population
    assert share == pytest.approx(length[nodes] / length[nodes].sum())


def test_a_zone_whose_only_node_is_a_station_keeps_its_residents_there(city):
    scenario, net, _ = city
    one = scenario.model_copy(deep=True)
    node = net.resolve("Bomun 119 Safety Centre")[0]
    lat, lon = net.nodes[net.node_index[node]].lat, net.nodes[net.node_index[node]].lon
    zone = one.traffic.zones[0].model_copy(update={
        "name": "Tiny", "population": 1000, "lat": lat, "lon": lon, "radius_m": 1,
        "nodes": [node]})
    one.traffic.zones = [zone]
    assert resident_weights(net, one) == {net.node_index[node]: pytest.approx(1000)}


def test_calls_spread_over_hundreds_of_nodes_over_five_seeds(city):
    """Five days of calls at ten times the scenario's rate (the shipped rate gives ~50 calls a
    day, too few to visit 300 nodes): they land on at least 300 of the ~400 resident nodes."""
    scenario, _, weight = city
    nodes = np.array(sorted(weight), dtype=np.int64)
    demand = Demand(nodes, np.array([weight[v] for v in nodes.tolist()]),
                    np.full(len(nodes), -1, dtype=np.int64), [])
    rates = scenario.emergency.rates.model_copy(
        update={"per_1000_per_day": 10 * scenario.emergency.rates.per_1000_per_day})
    seen = set()
    for seed in range(1, 6):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 119]))
        seen.update(v for _, _, v in generate_calls(rates, demand, rng, 0.0, 86_400.0))
    assert len(seen) >= 300


def test_no_unit_reaches_a_residents_call_without_driving():
    """City calls on three seeds (busy mornings, no background traffic): the first unit on scene
    always drives (en route before on scene), except at a scripted incident placed at its own
    station."""
    at_station = ('emergency.scripted=[{name="fire at the station", type="vehicle_fire", '
                  'place="Bomun 119 Safety Centre", at="07:00", units={pumper=1}, patients=0}]')
    sc = load_scenario("city_emergency", [*NO_TRAFFIC, 'start="06:00"', 'end="11:00"',
                                          "emergency.rates.per_1000_per_day=2", at_station])
    drives = 0
    for seed in (1, 2, 3):
        model = SummitModel(sc, seed=seed)
        model.run()
        for inc in model.emergency.incidents:
            arrived = [a for a in inc.assignments if a.on_scene_s is not None]
            if not arrived:
                continue
            first = min(arrived, key=lambda a: (a.on_scene_s, a.unit.unique_id))
            if inc.scripted:
                assert first.unit.station.node == inc.node
                assert first.on_scene_s == first.en_route_s  # it stands there
                continue
            assert first.on_scene_s > first.en_route_s, (seed, inc.id, inc.node, first.unit.name)
            drives += 1
    assert drives > 50

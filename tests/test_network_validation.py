"""Each kind of bad network gives a clear error that names the offending ids and values."""

from __future__ import annotations

import pytest

from sim.errors import InputError, NetworkError
from sim.formats import load_network


def test_grid_loads_with_links_from_paths(grid_spec, write_json):
    net = load_network(write_json(grid_spec))
    # 6 roads: 4 two-way roads of 2 segments (16 links), one 2-segment one-way (2), one 2-way (4)
    assert net.n_nodes == 9
    assert net.n_links == 2 * 2 * 5 + 2
    assert net.strongly_connected
    one_way = net.link_between("n01", "n11")
    assert one_way.oneway
    with pytest.raises(KeyError):
        net.link_between("n11", "n01")


def test_disconnected_piece_is_named(grid_spec, write_json):
    grid_spec["nodes"] += [{"id": "island_a", "lat": 35.86, "lon": 129.23},
                           {"id": "island_b", "lat": 35.861, "lon": 129.231}]
    grid_spec["roads"].append({"name": "Island road", "class": "local", "lanes": 1,
                               "speed_kmh": 30, "oneway": False,
                               "path": ["island_a", "island_b"]})
    with pytest.raises(NetworkError) as exc:
        load_network(write_json(grid_spec))
    msg = str(exc.value)
    assert "not strongly connected" in msg
    assert "island_a" in msg and "island_b" in msg


def test_one_way_dead_end_is_a_disconnected_piece(grid_spec, write_json):
    grid_spec["nodes"].append({"id": "cul_de_sac", "lat": 35.8490, "lon": 129.2100})
    grid_spec["roads"].append({"name": "Trap lane", "class": "local", "lanes": 1,
                               "speed_kmh": 30, "oneway": True, "path": ["n00", "cul_de_sac"]})
    with pytest.raises(NetworkError, match="cul_de_sac"):
        load_network(write_json(grid_spec))


def test_zero_capacity_names_the_links(grid_spec, write_json):
    grid_spec["roads"][1]["capacity_vph_per_lane"] = 0
    with pytest.raises(NetworkError) as exc:
        load_network(write_json(grid_spec))
    msg = str(exc.value)
    assert "capacity 0 veh/h; must be > 0" in msg
    assert "n10 -> n11, Hwarang-ro" in msg


def test_negative_speed_and_zero_lanes_are_named(grid_spec, write_json):
    grid_spec["roads"][0]["speed_kmh"] = -5
    grid_spec["roads"][2]["lanes"] = 0
    with pytest.raises(NetworkError) as exc:
        load_network(write_json(grid_spec))
    msg = str(exc.value)
    assert "speed -5 km/h" in msg and "Taejong-ro" in msg
    assert "lanes 0" in msg and "Wonhwa-ro" in msg


def test_place_on_unknown_node_is_named(grid_spec, write_json):
    grid_spec["places"][1]["node"] = "no_such_node"
    with pytest.raises(NetworkError, match="'Corner Hotel': node 'no_such_node' is not in"):
        load_network(write_json(grid_spec))


def test_place_far_from_every_node_is_rejected(grid_spec, write_json):
    grid_spec["places"][0]["lat"] = 36.5  # a typo: 70 km north
    with pytest.raises(NetworkError, match=r"'Test Hall'.*km from the nearest node"):
        load_network(write_json(grid_spec))


def test_unknown_node_in_path_is_named(grid_spec, write_json):
    grid_spec["roads"][3]["path"].append("n99")
    with pytest.raises(NetworkError, match=r"roads\[3\] \(West street\).*'n99'"):
        load_network(write_json(grid_spec))


def test_unknown_class_names_field_value_and_allowed(grid_spec, write_json):
    grid_spec["roads"][0]["class"] = "highway"
    with pytest.raises(NetworkError) as exc:
        load_network(write_json(grid_spec))
    msg = str(exc.value)
    assert "roads[0].class = 'highway'" in msg
    assert "'expressway'" in msg and "'local'" in msg


def test_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"format": "summit-sim-network",\n "nodes": [,]}', encoding="utf-8")
    with pytest.raises(NetworkError, match=r"not valid JSON: line 2 column"):
        load_network(path)


def test_missing_field_is_named(grid_spec, write_json):
    del grid_spec["nodes"][4]["lat"]
    with pytest.raises(NetworkError, match=r"nodes\[4\].lat: missing"):
        load_network(write_json(grid_spec))


def test_duplicate_node_and_unused_node(grid_spec, write_json):
    grid_spec["nodes"].append(dict(grid_spec["nodes"][0]))
    grid_spec["nodes"].append({"id": "lonely", "lat": 35.851, "lon": 129.211})
    with pytest.raises(NetworkError) as exc:
        load_network(write_json(grid_spec))
    assert "duplicate node id" in str(exc.value)
    assert "on no road: lonely" in str(exc.value)


def test_unsupported_suffix_and_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"suffix '.shp' is not supported"):
        load_network(tmp_path / "roads.shp")
    with pytest.raises(InputError, match="does not exist"):
        load_network(tmp_path / "nowhere.json")


def test_parallel_roads_collapse_to_shortest(grid_spec, write_json):
    # A detour drawn as a second road between n00 and n01 must not replace the direct one.
    grid_spec["roads"].append({"name": "Detour", "class": "local", "lanes": 1, "speed_kmh": 30,
                               "oneway": False,
                               "path": ["n00", [35.8480, 129.2115], "n01"]})
    net = load_network(write_json(grid_spec))
    assert net.link_between("n00", "n01").road == "Taejong-ro"


def test_lengths_come_from_coordinates_including_bends(grid_spec, write_json):
    from sim.geo import haversine_m, polyline_length_m

    net = load_network(write_json(grid_spec))
    bent = net.link_between("n01", "n02")
    a, b = net.node("n01"), net.node("n02")
    straight = haversine_m(a.lat, a.lon, b.lat, b.lon)
    assert bent.length_m == pytest.approx(polyline_length_m(bent.geometry), abs=0.01)
    assert bent.length_m > straight  # the shape point adds a bend
    # 0.0033 degrees of longitude at 35.85 N is about 297.8 m
    assert straight == pytest.approx(297.8, abs=1.0)


def test_place_snaps_to_nearest_node(grid_spec, write_json):
    net = load_network(write_json(grid_spec))
    hall = next(p for p in net.places if p.name == "Test Hall")
    assert hall.node == "n22"
    assert 0 < hall.snap_m < 100
    assert net.resolve("test hall") == ("n22", hall)
    with pytest.raises(InputError, match="did you mean: Test Hall"):
        net.resolve("Test Hal")

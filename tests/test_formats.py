"""GraphML (osmnx style), OSM XML and GeoJSON: import rules and a lossless round trip."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from sim.errors import NetworkError
from sim.formats import load_network
from sim.formats.geojson import to_geojson
from sim.formats.graphml import write_graphml


def test_graphml_round_trip_keeps_attributes(grid_spec, write_json, tmp_path):
    net = load_network(write_json(grid_spec))
    out = tmp_path / "grid.graphml"
    write_graphml(net, out)
    back = load_network(out)
    assert back.n_nodes == net.n_nodes and back.n_links == net.n_links
    for n in net.nodes:
        m = back.node(n.id)
        assert (m.lat, m.lon, m.name, m.approx) == (n.lat, n.lon, n.name, n.approx)
    for lk in net.links:
        b = back.link_between(lk.from_node, lk.to_node)
        for attr in ("road", "road_class", "lanes", "speed_kmh", "capacity_vph", "length_m",
                     "geometry", "oneway"):
            assert getattr(b, attr) == getattr(lk, attr), attr
    assert [(p.name, p.kind, p.node, p.approx, p.attrs) for p in back.places] == [
        (p.name, p.kind, p.node, p.approx, p.attrs) for p in net.places]


def _osmnx_style_graphml(path):
    """A few streets as osmnx saves them: strings everywhere, list-valued merged tags."""
    g = nx.MultiDiGraph(crs="epsg:4326")
    pts = {"1": (35.8420, 129.2100), "2": (35.8420, 129.2140), "3": (35.8450, 129.2140),
           "4": (35.8450, 129.2100), "5": (35.8480, 129.2100), "9": (35.9000, 129.3000)}
    for nid, (lat, lon) in pts.items():
        g.add_node(nid, y=str(lat), x=str(lon), street_count="3")

    def road(u, v, **attrs):
        g.add_edge(u, v, **attrs)

    two_way = dict(highway="primary", lanes="4", maxspeed="60", oneway="False",
                   name="Taejong-ro", length="361.5")
    road("1", "2", **two_way)
    road("2", "1", **two_way)
    road("2", "3", highway="['secondary', 'tertiary']", lanes="['2', '3']", maxspeed="50",
         oneway="False", name="['Hwarang-ro', 'Hwarang-ro']", length="333.6",
         geometry="LINESTRING (129.214 35.842, 129.2145 35.8435, 129.214 35.845)")
    road("3", "2", highway="secondary", oneway="False", name="Hwarang-ro", length="333.6")
    road("3", "4", highway="residential", oneway="True", name="Alley", length="361.5")
    road("4", "1", highway="residential", oneway="True", maxspeed="30 mph", length="333.6")
    road("4", "5", highway="trunk_link", oneway="False", length="333.6")
    road("5", "4", highway="trunk_link", oneway="False", length="333.6")
    # a parallel, longer edge 1 -> 2 must collapse to the shorter
    road("1", "2", highway="service", lanes="1", oneway="False", length="500.0")
    # a node that can only be reached, never left: trimmed from the import
    road("5", "9", highway="unclassified", oneway="True", length="11000")
    nx.write_graphml(g, path)


def test_osmnx_graphml_maps_tags_to_classes_lanes_and_capacity(tmp_path):
    path = tmp_path / "streets.graphml"
    _osmnx_style_graphml(path)
    net = load_network(path)
    assert net.n_nodes == 5  # node 9 trimmed
    assert any("dropped 1 node" in n for n in net.notes)
    a = net.link_between("1", "2")
    assert (a.road_class, a.lanes, a.speed_kmh, a.length_m) == ("arterial", 2, 60.0, 361.5)
    assert a.capacity_vph == 2 * 1000  # two lanes per direction of a signalised arterial
    b = net.link_between("2", "3")
    assert b.road_class == "collector" and b.lanes == 1 and b.road == "Hwarang-ro"
    assert len(b.geometry) == 3
    alley = net.link_between("3", "4")
    assert alley.road_class == "local" and alley.lanes == 1 and alley.speed_kmh == 30.0
    assert net.link_between("4", "1").speed_kmh == pytest.approx(48.28, abs=0.01)  # 30 mph
    assert net.link_between("4", "5").road_class == "ramp"


def test_graphml_without_trim_reports_the_piece(tmp_path):
    path = tmp_path / "streets.graphml"
    _osmnx_style_graphml(path)
    with pytest.raises(NetworkError, match=r"not strongly connected.* 9"):
        load_network(path, largest_component=False)


def test_malformed_graphml_is_named(tmp_path):
    path = tmp_path / "bad.graphml"
    path.write_text("<graphml><graph><node id='1'></graph>", encoding="utf-8")
    with pytest.raises(NetworkError, match="cannot be read as GraphML"):
        load_network(path)


def test_geojson_export_is_valid_featurecollection(grid_spec, write_json):
    net = load_network(write_json(grid_spec))
    gj = json.loads(json.dumps(to_geojson(net)))
    kinds = [f["properties"]["feature_type"] for f in gj["features"]]
    assert kinds.count("link") == net.n_links
    assert kinds.count("place") == len(net.places)
    line = next(f for f in gj["features"] if f["properties"]["feature_type"] == "link")
    lon, lat = line["geometry"]["coordinates"][0]
    assert 129 < lon < 130 and 35 < lat < 36  # RFC 7946 order: lon, lat


def test_osm_xml_through_osmnx():
    pytest.importorskip("osmnx")
    from pathlib import Path

    path = Path(__file__).parent / "data" / "hwango_streets.osm"
    net = load_network(path)
    assert net.strongly_connected
    classes = {lk.road_class for lk in net.links}
    assert {"arterial", "local"} <= classes
    names = {lk.road for lk in net.links}
    assert "Taejong-ro" in names
    oneway = [lk for lk in net.links if lk.road == "Hwango-ro 1-gil"]
    assert oneway and all(lk.oneway for lk in oneway)
    # the one-way street has no link against its direction
    assert len(oneway) == len({(lk.from_node, lk.to_node) for lk in oneway})

"""scipy routing agrees with networkx Dijkstra; paths reconstruct into consistent link sequences."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.formats import embedded_network, load_network
from sim.routing import Router


@pytest.fixture(scope="module")
def net():
    return embedded_network()


@pytest.fixture(scope="module")
def router(net):
    return Router(net)


def test_scipy_equals_networkx_on_sampled_pairs(net, router):
    g = net.graph
    rng = np.random.default_rng(7)
    sources = rng.choice(net.n_nodes, size=12, replace=False)
    times = router.times_from(sources)
    for row, s in enumerate(sources):
        sid = net.nodes[s].id
        ref = nx.single_source_dijkstra_path_length(g, sid, weight="free_flow_s")
        for t in rng.choice(net.n_nodes, size=25, replace=False):
            tid = net.nodes[t].id
            assert times[row, t] == pytest.approx(ref[tid], rel=1e-9, abs=1e-6)


def test_many_to_one_equals_one_to_many(net, router):
    hico = net.resolve("HICO")[0]
    stations = [p.node for p in net.places if p.kind in ("safety_centre", "fire_station")]
    to_hico = router.times_to(hico)[0]
    from_each = router.times_from(stations)
    h = net.node_index[hico]
    for row, s in enumerate(stations):
        assert to_hico[net.node_index[s]] == pytest.approx(from_each[row, h])
    best, secs = router.nearest(stations, hico)
    assert secs == pytest.approx(min(from_each[:, h]))
    assert best in stations


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_route_is_a_consistent_chain_of_links(net, router, data):
    s = data.draw(st.integers(0, net.n_nodes - 1))
    t = data.draw(st.integers(0, net.n_nodes - 1))
    route = router.route(net.nodes[s].id, net.nodes[t].id)
    assert route.nodes[0] == net.nodes[s].id and route.nodes[-1] == net.nodes[t].id
    for lid, (a, b) in zip(route.links, zip(route.nodes[:-1], route.nodes[1:], strict=True),
                           strict=True):
        lk = net.links[lid]
        assert (lk.from_node, lk.to_node) == (a, b)
    assert route.seconds == pytest.approx(sum(net.links[i].free_flow_s for i in route.links))
    assert route.metres == pytest.approx(sum(net.links[i].length_m for i in route.links))
    assert route.seconds == pytest.approx(router.times_from(s)[0, t])


def test_nearest_source_times_are_the_least_of_each_source(net, router):
    sources = [net.nodes[i].id for i in (0, 100, 300, 500)]
    assert np.allclose(router.times_from_nearest(sources), router.times_from(sources).min(axis=0))


def test_triangle_inequality_through_any_midpoint(net, router):
    rng = np.random.default_rng(3)
    a, b, c = rng.choice(net.n_nodes, size=3, replace=False)
    t = router.times_from([a, b])
    assert t[0, c] <= t[0, b] + t[1, c] + 1e-9


def test_custom_weights_change_the_route(grid_spec, write_json):
    grid = load_network(write_json(grid_spec))
    free = Router(grid).route("n00", "n02")
    assert free.nodes == ("n00", "n01", "n02")
    w = grid.free_flow_s.copy()
    w[grid.link_between("n00", "n01").id] *= 100  # a jam on the first block
    jammed = Router(grid, w).route("n00", "n02")
    assert "n01" not in jammed.nodes or jammed.nodes[1] != "n01"
    assert jammed.seconds > free.seconds

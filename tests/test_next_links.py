"""Guidance's compiled sweeps give scipy's next-link tables: on random graphs, on the embedded
network with closures, and where equal times make candidates tie (scipy's own sweep then)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse import csgraph

from sim.formats import embedded_network
from sim.traffic import next_links
from sim.traffic.engine import TrafficEngine


def _scipy_rows(rev, links_of, dests):
    _, pred = csgraph.dijkstra(rev, directed=True, indices=dests, return_predecessors=True)
    valid = pred >= 0
    n = rev.shape[0]
    return np.where(valid, links_of(np.arange(n)[None, :], np.where(valid, pred, 0)),
                    next_links.NO_PATH)


def _random_graph(seed: int, n: int, m: int, *, whole_seconds: bool):
    """Links of a random graph (parallel links and loops among them) and their times."""
    rng = np.random.default_rng(seed)
    frm, to = rng.integers(0, n, m), rng.integers(0, n, m)
    w = rng.integers(1, 6, m).astype(float) if whole_seconds else rng.uniform(0.5, 60.0, m)
    keys = frm * n + to
    order = np.argsort(keys, kind="stable")

    def links_of(a, b):
        return order[np.clip(np.searchsorted(keys[order], a * n + b), 0, m - 1)]

    rev = sparse.csr_array((w, (to, frm)), shape=(n, n))
    return rev, links_of


@pytest.mark.parametrize("heap", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sweeps_match_scipy_on_random_graphs(seed, heap, monkeypatch):
    if heap:
        monkeypatch.setattr(next_links, "MAX_RING", 0)
    rev, links_of = _random_graph(seed, 400, 1600, whole_seconds=False)
    dests = np.arange(0, 400, 7)
    table, tied = next_links.next_link_table(rev, links_of, dests)
    assert not tied.any()
    assert np.array_equal(table, _scipy_rows(rev, links_of, dests))


@pytest.mark.parametrize("heap", [False, True])
def test_ties_are_flagged_and_the_other_rows_match_scipy(heap, monkeypatch):
    if heap:
        monkeypatch.setattr(next_links, "MAX_RING", 0)
    rev, links_of = _random_graph(4, 300, 1500, whole_seconds=True)
    dests = np.arange(0, 300, 3)
    table, tied = next_links.next_link_table(rev, links_of, dests)
    assert tied.any()  # whole seconds tie often
    assert np.array_equal(table[~tied], _scipy_rows(rev, links_of, dests)[~tied])


@pytest.mark.parametrize("heap", [False, True])
def test_guidance_tables_are_scipys_on_the_embedded_network(heap, monkeypatch):
    """Every row, tied or not, with links closed, on times as they are and rounded up to
    20 s (ties everywhere)."""
    if heap:
        monkeypatch.setattr(next_links, "MAX_RING", 0)
    net = embedded_network()
    dests = list(range(0, net.n_nodes, 37))
    guidance = TrafficEngine(net, destinations=dests, core="compiled").guidance
    links = guidance.links
    rng = np.random.default_rng(5)
    open_mask = rng.random(len(guidance.frm)) > 0.03
    for w in (links.expected_times(0), np.ceil(links.expected_times(0) / 20.0) * 20.0):
        rev = sparse.csr_array((w[open_mask], (guidance.to[open_mask], guidance.frm[open_mask])),
                               shape=(guidance.n, guidance.n))
        expected = guidance._scipy_table(rev, guidance.dest)
        assert np.array_equal(guidance._table(w, open_mask), expected)

"""Shortest paths by travel time with scipy.sparse.csgraph on a cached CSR matrix.

One Dijkstra sweep answers one-to-many (from a source to every node) and, on the transposed
matrix, many-to-one (every node to one target: e.g. every fire station to one incident).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csgraph

from .errors import InputError
from .network import RoadNetwork

# scipy's csgraph marks a node with no predecessor (the source, or unreachable) by -9999; not
# the traffic engine's NO_PATH (-2), a next-link table's "no way on"
NO_PREDECESSOR = -9999


@dataclass(frozen=True, slots=True)
class Route:
    """A path through the network with its cost under the router's weights."""

    nodes: tuple[str, ...]
    links: tuple[int, ...]
    seconds: float
    metres: float

    @property
    def minutes(self) -> float:
        return self.seconds / 60.0


class Router:
    """Travel-time routing on one set of link weights (free-flow seconds by default).

    Give `weights` (seconds per link) to route on current, congested travel times; the CSR matrix
    is built once per Router, so make a new Router when the weights change.
    """

    def __init__(self, network: RoadNetwork, weights: np.ndarray | None = None):
        self.net = network
        self.weights = network.free_flow_s if weights is None else np.asarray(weights, float)
        self._csr = network.adjacency(self.weights)
        self._csr_t = self._csr.T.tocsr()

    def _indices(self, nodes) -> np.ndarray:
        single = isinstance(nodes, str | int | np.integer)
        items = [nodes] if single else list(nodes)
        out = []
        for n in items:
            if isinstance(n, str):
                if n not in self.net.node_index:
                    raise InputError(f"unknown node {n!r}")
                out.append(self.net.node_index[n])
            else:
                out.append(int(n))
        return np.asarray(out, dtype=np.int64)

    def times_from(self, sources) -> np.ndarray:
        """Seconds from each source (rows) to every node (columns); inf where unreachable."""
        idx = self._indices(sources)
        return np.atleast_2d(csgraph.dijkstra(self._csr, directed=True, indices=idx))

    def times_to(self, targets) -> np.ndarray:
        """Seconds from every node (columns) to each target (rows), in one sweep per target."""
        idx = self._indices(targets)
        return np.atleast_2d(csgraph.dijkstra(self._csr_t, directed=True, indices=idx))

    def times_from_nearest(self, sources) -> np.ndarray:
        """Seconds to every node from whichever source is closest (one multi-source sweep)."""
        return csgraph.dijkstra(self._csr, directed=True, indices=self._indices(sources),
                                min_only=True)

    def nearest(self, candidates, target) -> tuple[str, float]:
        """The candidate node with the least travel time to `target` (e.g. the closest station)."""
        cand = self._indices(candidates)
        t = self.times_to(target)[0, cand]
        best = int(np.argmin(t))
        return self.net.nodes[cand[best]].id, float(t[best])

    def tree_from(self, source) -> tuple[np.ndarray, np.ndarray]:
        """Seconds and predecessor array of the shortest-path tree from one source."""
        dist, pred = csgraph.dijkstra(
            self._csr, directed=True, indices=self._indices(source)[0], return_predecessors=True)
        return dist, pred

    def route(self, source, target) -> Route:
        """The fastest route from source to target as node and link sequences."""
        s, t = self._indices(source)[0], self._indices(target)[0]
        dist, pred = self.tree_from(s)
        if not np.isfinite(dist[t]):
            raise InputError(
                f"no route from {self.net.nodes[s].id} to {self.net.nodes[t].id}")
        return self.path_in_tree(pred, s, t, float(dist[t]))

    def path_in_tree(self, pred: np.ndarray, s: int, t: int, seconds: float | None = None) -> Route:
        """Reconstruct the s -> t route from a predecessor array."""
        seq = [t]
        while seq[-1] != s:
            p = pred[seq[-1]]
            if p == NO_PREDECESSOR:
                raise InputError(f"no route from {self.net.nodes[s].id} to {self.net.nodes[t].id}")
            seq.append(int(p))
        seq.reverse()
        nodes = self.net.nodes
        links = tuple(self.net.link_between(nodes[a].id, nodes[b].id).id
                      for a, b in itertools.pairwise(seq))
        if seconds is None:
            seconds = float(self.weights[list(links)].sum()) if links else 0.0
        metres = float(self.net.length_m[list(links)].sum()) if links else 0.0
        return Route(tuple(self.net.nodes[i].id for i in seq), links, seconds, metres)

    def road_names(self, route: Route) -> list[str]:
        """Road names along a route, consecutive repeats merged."""
        names: list[str] = []
        for lid in route.links:
            name = self.net.links[lid].road or "(unnamed)"
            if not names or names[-1] != name:
                names.append(name)
        return names

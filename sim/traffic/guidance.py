"""Route guidance on expected travel times: next-link tables towards every destination.

One reverse shortest-path sweep per destination (next_links.py: compiled, the destinations
shared among the cores; exactly the tables of scipy's csgraph.dijkstra) gives, for every node,
the next link towards that destination. Background vehicles look the next link up at
each node, so re-routing is a table swap. Tables are rebuilt every re-route interval on the
expected travel times of the moment (LinkState.expected_times: free flow under the weather,
junction delay and the queue each link holds) and at once whenever a closure starts or ends.
Guidance reads only the link state, never the engine or its loop.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from .next_links import next_link_table

if TYPE_CHECKING:
    from .links import LinkState

NO_PATH = -2  # a next-link table's "no way on" (the event loops read it too)
REBUILD_TOLERANCE = 0.05  # rebuild only when some link's expected time moved by more than 5%


class Guidance:
    """Next-link tables for the background classes and cached fixed routes for the others,
    on the link state's expected times and closures (see the module docstring)."""

    def __init__(self, links: LinkState, destinations: list[int], start_s: float, *,
                 as_lists: bool = True):
        self.links = links
        # the Python loops read rows as lists; the compiled core reads the table as an array
        # (converting a large region's tables to lists would cost more than the whole rebuild)
        self.as_lists = as_lists
        g = links.graph
        self.n = links.net.n_nodes
        self.frm, self.to = g.link_from, g.link_to
        self.dest = sorted(set(int(d) for d in destinations))
        self.slot_of = {d: i for i, d in enumerate(self.dest)}
        keys = self.frm * self.n + self.to
        order = np.argsort(keys, kind="stable")
        self._keys = keys[order]
        self._ids = order
        # (from node, to node) -> sim link: a dense matrix where it fits, else binary search
        self._dense = None
        if self.n <= 4000:
            # one extra column, NO_PATH, is where a node without a next node (pred < 0) looks
            dense = np.full((self.n, self.n + 1), NO_PATH, dtype=np.int32)
            dense[self.frm, self.to] = np.arange(len(self.frm), dtype=np.int32)
            self._dense = dense.ravel()
        # (from node, to node) -> the first link between them, for fixed routes (as the binary
        # search finds it); a dict is cheaper than numpy calls on a route's few nodes
        self._link_of: dict[tuple[int, int], int] = {}
        for lk, pair in enumerate(zip(self.frm.tolist(), self.to.tolist(), strict=True)):
            self._link_of.setdefault(pair, lk)
        self._last_table: tuple[np.ndarray, list[list[int]]] | None = None
        self._built_weights: dict[int, np.ndarray] = {}
        self._routes: dict[tuple, list[int] | None] = {}
        # per rebuild: each class's routing matrix and the shortest-path trees grown from it,
        # so the many fixed routes from one origin (a shuttle stop, a venue) cost one sweep
        self._csr: dict[int, sparse.csr_array] = {}
        self._trees: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self.tables: list = [None] * len(links.classes)  # per class: rows of next links
        self.epoch_t = float("-inf")  # when closures last changed: older tables are stale
        self.rebuilds = 0
        self.rebuild(start_s)

    def rebuild(self, t: float, *, closure_change: bool = False, force: bool = False) -> None:
        """New next-link tables for the background classes (shared when closures agree); `force`
        builds them even when no link's expected time moved much (a new signal plan)."""
        links = self.links
        self.forget_routes()  # fixed routes are cached per rebuild: times and closures moved
        if closure_change:
            self.epoch_t = t
        if not self.dest:
            return
        # One table, on cars' times and closures, serves every background class: a truck whose
        # next link is under a truck ban is sent round it at the stop line (EventLoop.open_way),
        # which costs a route for the few trucks concerned instead of a second table per rebuild.
        background = [ci for ci, cls in enumerate(links.classes) if cls.background]
        car = background[0]
        open_mask = links.open_mask(car)
        w = links.expected_times(car)
        last = self._built_weights.get(0)
        if (not closure_change and not force and last is not None
                and self.tables[car] is not None
                and np.all(np.abs(w - last) <= REBUILD_TOLERANCE * last)):
            return  # no link time moved enough: keep the table
        table = self._table(w, open_mask)
        self._built_weights[0] = w
        self.rebuilds += 1
        for ci in background:
            self.tables[ci] = table

    def _table(self, weights: np.ndarray, open_mask: np.ndarray):
        rev = sparse.csr_array(
            (weights[open_mask], (self.to[open_mask], self.frm[open_mask])), shape=(self.n, self.n))
        if np.all(rev.data >= 0.0) and np.all(np.isfinite(rev.data)):
            # the compiled sweeps, with scipy's own sweep where its heap breaks a tie
            table, tied = next_link_table(rev, self._links_of, np.asarray(self.dest))
            if tied.any():
                again = np.flatnonzero(tied)
                table[again] = self._scipy_table(rev, [self.dest[i] for i in again])
        else:  # an infinite or NaN time (scipy's rules for them are its own)
            table = self._scipy_table(rev, self.dest)
        if not self.as_lists:
            return table
        # Most rebuilds move a few next links: rows as before keep their lists (nothing
        # writes into a row), which spares most of the conversion to Python lists.
        last = self._last_table
        if last is None or last[0].shape != table.shape:
            rows = table.tolist()
        else:
            changed = (table != last[0]).any(axis=1).tolist()
            rows = [table[i].tolist() if moved else row
                    for i, (moved, row) in enumerate(zip(changed, last[1], strict=True))]
        self._last_table = (table, rows)
        return rows

    def _scipy_table(self, rev, dest: list[int]) -> np.ndarray:
        """Next-link rows towards `dest` from scipy's reverse sweeps (its predecessors)."""
        _, pred = csgraph.dijkstra(rev, directed=True, indices=dest, return_predecessors=True)
        valid = pred >= 0
        return np.where(valid, self._links_of(np.arange(self.n)[None, :],
                                              np.where(valid, pred, 0)), NO_PATH)

    def _links_of(self, frm: np.ndarray, to: np.ndarray) -> np.ndarray:
        """The sim link a next-link table names for each node pair (frm, to) of a link: of
        parallel links, the last one on a small network, the first one on a large one (as the
        two lookups have always found them)."""
        if self._dense is not None:
            return self._dense[frm * (self.n + 1) + to]
        pos = np.clip(np.searchsorted(self._keys, frm * self.n + to), 0, len(self._keys) - 1)
        return self._ids[pos]

    def forget_routes(self) -> None:
        """Closures changed: fixed routes, matrices and trees must be grown afresh."""
        self._routes.clear()
        self._csr.clear()
        self._trees.clear()

    def route(self, class_index: int, origin: int, destination: int) -> list[int] | None:
        """Fastest route as sim link ids on the expected times of the last rebuild and the
        class's closures now (cached until the next rebuild)."""
        if origin == destination:
            return []
        key = (class_index, origin, destination)
        if key in self._routes:
            cached = self._routes[key]
            return None if cached is None else list(cached)
        found = self._route(class_index, origin, destination)
        self._routes[key] = found
        return None if found is None else list(found)

    def _route(self, class_index: int, origin: int, destination: int) -> list[int] | None:
        tree = self._trees.get((class_index, origin))
        if tree is None:
            csr = self._csr.get(class_index)
            if csr is None:
                open_mask = np.ones(len(self.frm), dtype=bool) \
                    if self.links.classes[class_index].priority \
                    else self.links.open_mask(class_index)
                w = self.links.expected_times(class_index)
                csr = self._csr[class_index] = sparse.csr_array(
                    (w[open_mask], (self.frm[open_mask], self.to[open_mask])),
                    shape=(self.n, self.n))
            tree = self._trees[(class_index, origin)] = csgraph.dijkstra(
                csr, directed=True, indices=origin, return_predecessors=True)
        dist, pred = tree
        if not math.isfinite(dist[destination]):
            return None
        link_of = self._link_of
        links = []
        node = destination
        while node != origin:
            prev = int(pred[node])
            links.append(link_of[prev, node])
            node = prev
        links.reverse()
        return links

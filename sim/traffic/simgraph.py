"""The graph the engine moves vehicles on: the road network with chains contracted.

A node where nothing happens (no junction, no place, no trip end: one road through it) does not
change a vehicle's choices, so a chain of links through such nodes is simulated as one queue:
its free-flow time and storage are the sums of its links', its flow capacity the smallest of
theirs. This is the simplification osmnx applies to OpenStreetMap graphs; it roughly halves the
events per trip on the embedded network. Statistics are reported back per network link (see
`spread`). `contract=False` simulates every network link on its own.
"""

from __future__ import annotations

import numpy as np

from ..network import STORAGE_M_PER_VEHICLE, RoadNetwork


class SimGraph:
    def __init__(self, net: RoadNetwork, keep: set[int] | None = None, *, contract: bool = True):
        self.net = net
        n, L = net.n_nodes, net.n_links
        frm, to = net.link_from, net.link_to
        out_links: list[list[int]] = [[] for _ in range(n)]
        in_nodes: list[set[int]] = [set() for _ in range(n)]
        for lk in range(L):
            out_links[frm[lk]].append(lk)
            in_nodes[to[lk]].add(int(frm[lk]))
        kept = np.ones(n, dtype=bool)
        if contract:
            for v in range(n):
                succ = {int(to[lk]) for lk in out_links[v]}
                through_two_way = len(succ) == 2 and succ == in_nodes[v]
                through_one_way = len(succ) == 1 and len(in_nodes[v]) == 1 and succ != in_nodes[v]
                if through_two_way or through_one_way:
                    kept[v] = False
            for v in keep or ():
                kept[v] = True
        members: list[list[int]] = []
        covered = np.zeros(L, dtype=bool)
        while True:
            for lk in range(L):
                if covered[lk] or not kept[frm[lk]]:
                    continue
                chain = [lk]
                covered[lk] = True
                prev, v = int(frm[lk]), int(to[lk])
                while not kept[v]:
                    nxt = next(x for x in out_links[v] if int(to[x]) != prev)
                    chain.append(nxt)
                    covered[nxt] = True
                    prev, v = v, int(to[nxt])
                members.append(chain)
            if covered.all():
                break
            # a ring made only of chain nodes: keep one of its nodes and walk again
            kept[frm[int(np.flatnonzero(~covered)[0])]] = True
        self.members = members
        self.kept = kept
        self.n_links = len(members)
        self.of_link = np.empty(L, dtype=np.int64)
        for s, chain in enumerate(members):
            self.of_link[chain] = s
        self.link_from = np.array([frm[c[0]] for c in members], dtype=np.int64)
        self.link_to = np.array([to[c[-1]] for c in members], dtype=np.int64)
        self.length = np.array([net.length_m[c].sum() for c in members])
        # the member whose capacity binds, where queue statistics are reported; ties go to the
        # downstream member, since queues form at the stop line
        self.bottleneck = np.array(
            [c[len(c) - 1 - int(np.argmin(net.capacity_vph[c][::-1]))] for c in members],
            dtype=np.int64)

    def free_flow(self, vmax_kmh: float) -> np.ndarray:
        """Seconds to cross each sim link at free flow for a class with this top speed."""
        net = self.net
        per_link = net.length_m / (np.minimum(net.speed_kmh, vmax_kmh) / 3.6)
        return np.bincount(self.of_link, weights=per_link, minlength=self.n_links)

    def capacity_and_storage(self, cap_factor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flow capacity (veh/h, the least of the members') and storage (PCE, the sum) given a
        per-network-link capacity factor (lane closures scale both)."""
        net = self.net
        cap = net.capacity_vph * cap_factor
        space = net.lanes * net.length_m / STORAGE_M_PER_VEHICLE * cap_factor
        vph = np.full(self.n_links, np.inf)
        np.minimum.at(vph, self.of_link, cap)
        storage = np.bincount(self.of_link, weights=space, minlength=self.n_links)
        return vph, storage

    def route_to_sim(self, links: list[int]) -> list[int]:
        """A route as network link ids -> the sim links it runs along (must start and end at
        kept nodes)."""
        out: list[int] = []
        for lk in links:
            s = int(self.of_link[lk])
            if not out or out[-1] != s:
                out.append(s)
        return out

    def spread(self, per_sim: np.ndarray) -> np.ndarray:
        """A per-sim-link count to every member network link."""
        return np.asarray(per_sim)[self.of_link]

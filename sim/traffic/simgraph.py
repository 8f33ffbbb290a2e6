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


def through_nodes(net: RoadNetwork) -> np.ndarray:
    """Nodes with one road through them and nothing else: two neighbours, entered from and left
    towards the same two (two-way) or from one and towards the other (one-way)."""
    succ: list[set[int]] = [set() for _ in range(net.n_nodes)]
    pred: list[set[int]] = [set() for _ in range(net.n_nodes)]
    for u, v in zip(net.link_from.tolist(), net.link_to.tolist(), strict=True):
        succ[u].add(v)
        pred[v].add(u)
    out = np.zeros(net.n_nodes, dtype=bool)
    for v in range(net.n_nodes):
        two_way = len(succ[v]) == 2 and succ[v] == pred[v]
        one_way = len(succ[v]) == 1 and len(pred[v]) == 1 and succ[v] != pred[v]
        out[v] = two_way or one_way
    return out


def nearest_junction(net: RoadNetwork, node: int, through: np.ndarray) -> int:
    """The nearer (by road) end of the chain of through nodes `node` lies on; itself if it is
    not a through node."""
    if not through[node]:
        return node
    adjacency = _undirected(net)
    best = (np.inf, node)
    for nb, dist in adjacency[node].items():
        prev, cur = node, nb
        while through[cur] and cur != node:
            nxt = next(x for x in adjacency[cur] if x != prev)
            dist += adjacency[cur][nxt]
            prev, cur = cur, nxt
        if dist < best[0]:
            best = (dist, cur)
    return best[1]


def _undirected(net: RoadNetwork) -> list[dict[int, float]]:
    cache = getattr(net, "_undirected_cache", None)
    if cache is None:
        cache = [dict() for _ in range(net.n_nodes)]
        for lk in net.links:
            u, v = net.node_index[lk.from_node], net.node_index[lk.to_node]
            cache[u].setdefault(v, lk.length_m)
            cache[v].setdefault(u, lk.length_m)
        net._undirected_cache = cache
    return cache


class SimGraph:
    def __init__(self, net: RoadNetwork, keep: set[int] | None = None, *, contract: bool = True):
        self.net = net
        n, L = net.n_nodes, net.n_links
        frm, to = net.link_from, net.link_to
        out_links: list[list[int]] = [[] for _ in range(n)]
        for lk in range(L):
            out_links[frm[lk]].append(lk)
        kept = np.ones(n, dtype=bool)
        if contract:
            kept = ~through_nodes(net)
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

    def junction_control(self, max_signal_speed_kmh: float = 60.0):
        """Per sim link, how its downstream junction is controlled: (signalised, give_way,
        local_junction). Signals: an urban national road, arterial or collector (posted speed
        at most max_signal_speed_kmh) arriving at a junction of three or more roads. Give way:
        a local street arriving at a junction that also serves a bigger road. Local junction:
        a local street meeting only local streets."""
        net = self.net
        adjacency = _undirected(net)
        rank = {"local": 0, "collector": 1, "arterial": 2, "national": 2, "ramp": 2,
                "expressway": 3}
        best_class_at = np.zeros(net.n_nodes, dtype=np.int64)
        for lk in net.links:
            r = rank[lk.road_class]
            for node in (net.node_index[lk.from_node], net.node_index[lk.to_node]):
                best_class_at[node] = max(best_class_at[node], r)
        last = np.array([c[-1] for c in self.members], dtype=np.int64)
        classes = np.array([net.links[i].road_class for i in last])
        ends = self.link_to
        junction = np.array([len(adjacency[v]) >= 3 for v in ends.tolist()])
        signalised = np.isin(classes, ["national", "arterial", "collector"]) & (
            net.speed_kmh[last] <= max_signal_speed_kmh) & junction
        local = (classes == "local") & junction
        give_way = local & (best_class_at[ends] > 0)
        return signalised, give_way, local & ~give_way

    def free_flow(self, vmax_kmh: float, speed_factor: np.ndarray | None = None) -> np.ndarray:
        """Seconds to cross each sim link at free flow for a class with this top speed (posted
        speeds times the per-network-link speed factor, if given)."""
        net = self.net
        per_link = net.free_flow_times(vmax_kmh, speed_factor)
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

"""Background demand: residents' vehicle trips between zones, external traffic, explicit flows.

A doubly weighted gravity model per hour: trips from zone i to zone j are proportional to
population_i x jobs_j x exp(-beta x minutes_ij) in the home-to-work direction and to
jobs_i x population_j x exp(...) the other way, mixed by the hour's `to_work` share and scaled by
the hour's share of the daily total. Intra-zonal trips stay on streets the network does not hold
and are not generated. Trip ends are spread over each zone's nodes.

No trip starts and ends at the same node (a trip that goes nowhere is no vehicle trip), and none
is dropped for it, so the totals stay what the scenario asks for. Neighbouring zones can share a
junction, and a cordon node can also be a zone's trip end: a destination drawn at the origin's
node is drawn again among the zone's nodes (up to five times), and a trip still at its origin
then goes to the zone's other nodes in turn (or, when the destination zone is that one node,
leaves from the origin zone's other nodes in turn); a trip between a cordon and a zone goes to
the zone's other nodes, uniformly. A zone pair with no two distinct nodes (both zones are the
same single node; a zone that is only the cordon's node) gets no trips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bounds import DAY_S
from ..errors import InputError
from ..geo import haversine_m
from ..network import RoadNetwork
from ..routing import Router
from .simgraph import nearest_junction, through_nodes

ZONE_MAX_NODES = 8
NO_TRIP_END_CLASSES = {"expressway", "ramp"}


@dataclass
class TripTable:
    """Trips to register, as parallel arrays sorted by departure."""

    depart_s: np.ndarray
    origin: np.ndarray  # node index
    destination: np.ndarray
    kind: list[str]

    def __len__(self) -> int:
        return len(self.depart_s)


def zone_nodes(net: RoadNetwork, zone, *, at_junctions: bool = True) -> list[int]:
    """The zone's trip-end nodes: as listed, else the nodes nearest its centre within radius.

    With `at_junctions`, a node on a plain stretch of road is replaced by the nearer junction
    of that stretch: trips join the network where roads meet (as centroid connectors do),
    which lets the engine simulate the stretch as one queue.
    """
    through = _through(net) if at_junctions else None
    if zone.nodes:
        out = []
        for nid in zone.nodes:
            if nid not in net.node_index:
                raise InputError(f"traffic.zones ({zone.name}): node {nid!r} is not in the network")
            node = net.node_index[nid]
            out.append(nearest_junction(net, node, through) if at_junctions else node)
        return list(dict.fromkeys(out))
    eligible = _local_nodes(net)
    lat = np.array([net.nodes[i].lat for i in eligible])
    lon = np.array([net.nodes[i].lon for i in eligible])
    d = haversine_m(zone.lat, zone.lon, lat, lon)
    order = np.argsort(d)
    inside = [eligible[i] for i in order[:ZONE_MAX_NODES] if d[i] <= zone.radius_m]
    if at_junctions:
        inside = list(dict.fromkeys(nearest_junction(net, v, through) for v in inside))
    if not inside:
        raise InputError(
            f"traffic.zones ({zone.name}): no road node within {zone.radius_m:g} m of "
            f"({zone.lat}, {zone.lon}); the nearest is {d[order[0]]:.0f} m away")
    return inside


def _through(net: RoadNetwork) -> np.ndarray:
    cached = getattr(net, "_through_cache", None)
    if cached is None:
        cached = net._through_cache = through_nodes(net)
    return cached


def _local_nodes(net: RoadNetwork) -> list[int]:
    """Nodes touched by at least one road a trip can start or end on."""
    ok = set()
    for lk in net.links:
        if lk.road_class not in NO_TRIP_END_CLASSES:
            ok.add(net.node_index[lk.from_node])
            ok.add(net.node_index[lk.to_node])
    return sorted(ok)


def demand_destinations(net: RoadNetwork, traffic) -> list[int]:
    """Every node a background trip can end at (the guidance tables are built towards these)."""
    nodes: set[int] = set()
    for z in traffic.zones:
        nodes.update(zone_nodes(net, z, at_junctions=traffic.trip_ends_at_junctions))
    for x in traffic.external:
        nodes.add(_node(net, x.node, f"traffic.external ({x.name})"))
    for i, od in enumerate(traffic.od):
        nodes.add(_node(net, od.destination, f"traffic.od[{i}].destination"))
    for i, t in enumerate(traffic.through):
        nodes.update(_crossing_ends(net, t, i))
    if traffic.visitors.per_day > 0:
        origins, places, _ = _visitor_nodes(net, traffic)
        nodes.update(origins.tolist())
        nodes.update(places.tolist())
    return sorted(nodes)


def _crossing_ends(net: RoadNetwork, flow, i: int) -> tuple[int, int]:
    return _ends(net, flow, f"traffic.through[{i}] ({flow.name})",
                 "a through flow crosses the city between two cordons")


def _ends(net: RoadNetwork, flow, where: str, why: str) -> tuple[int, int]:
    """A flow's origin and destination node indices; one node for both is refused."""
    o = _node(net, flow.origin, f"{where}.origin")
    d = _node(net, flow.destination, f"{where}.destination")
    if o == d:
        raise InputError(f"{where}: origin {flow.origin!r} and destination "
                         f"{flow.destination!r} are the same node ({net.nodes[o].id}); {why}")
    return o, d


def _node(net: RoadNetwork, name: str, where: str) -> int:
    try:
        return net.node_index[net.resolve(name)[0]]
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def generate_trips(net: RoadNetwork, traffic, rng: np.random.Generator, start_s: float,
                   end_s: float) -> TripTable:
    """All background and explicit trips departing in [start_s, end_s)."""
    parts = []
    if traffic.zones and (traffic.daily_trips > 0 or traffic.external):
        parts.append(_gravity_trips(net, traffic, rng, start_s, end_s))
    for i, od in enumerate(traffic.od):
        parts.append(_od_trips(net, od, i, rng, start_s, end_s))
    if traffic.through:  # drawn after the rest: a scenario without them draws as before
        parts.append(_crossing_trips(net, traffic, rng, start_s, end_s))
    if traffic.visitors.per_day > 0:
        parts.append(_visitor_trips(net, traffic, rng, start_s, end_s))
    if not parts:
        return TripTable(np.zeros(0), np.zeros(0, int), np.zeros(0, int), [])
    dep = np.concatenate([p.depart_s for p in parts])
    orig = np.concatenate([p.origin for p in parts])
    dest = np.concatenate([p.destination for p in parts])
    kinds = [k for p in parts for k in p.kind]
    order = np.argsort(dep, kind="stable")
    return TripTable(dep[order], orig[order], dest[order], [kinds[i] for i in order])


def _gravity_trips(net, traffic, rng, start_s, end_s) -> TripTable:
    zones = traffic.zones
    z_nodes = [np.asarray(zone_nodes(net, z, at_junctions=traffic.trip_ends_at_junctions))
               for z in zones]
    pop = np.array([z.population for z in zones], float)
    jobs = np.array([z.jobs for z in zones], float)
    # zone-to-zone free-flow minutes between each zone's first node (at the road classes'
    # free-flow speeds, as the engine drives them)
    router = Router(net, net.free_flow_times(
        speed_factor=net.speed_factor_of_links(traffic.speed_factors)))
    rep = [int(n[0]) for n in z_nodes]
    minutes = router.times_from(rep)[:, rep] / 60.0
    deter = np.exp(-traffic.gravity_beta_per_min * minutes)
    np.fill_diagonal(deter, 0.0)
    # a pair of zones that are one and the same single node has no trip between them
    for i, j in _same_node_pairs(z_nodes):
        deter[i, j] = 0.0
    home_work = pop[:, None] * jobs[None, :] * deter
    work_home = jobs[:, None] * pop[None, :] * deter
    home_work /= home_work.sum()
    work_home /= work_home.sum()
    attract = (pop + jobs)
    ext = traffic.external
    ext_nodes = [_node(net, x.node, f"traffic.external ({x.name})") for x in ext]
    if ext:
        ext_minutes = router.times_from(ext_nodes)[:, rep] / 60.0
        ext_w = attract[None, :] * np.exp(-traffic.gravity_beta_per_min * 0.3 * ext_minutes)
        for x_i, node in enumerate(ext_nodes):  # a zone that is only this cordon's node
            for j, nodes in enumerate(z_nodes):
                if (nodes == node).all():
                    ext_w[x_i, j] = 0.0
        ext_w /= ext_w.sum(axis=1, keepdims=True)
    profile = traffic.profile
    scale = traffic.demand_scale
    deps, origs, dests, kinds = [], [], [], []
    n_z = len(zones)
    first_h, last_h = int(start_s // 3600), int(np.ceil(end_s / 3600))
    for hour in range(first_h, last_h):
        share = profile.hourly[hour % 24]
        a = profile.to_work[hour % 24]
        lo, hi = max(start_s, hour * 3600.0), min(end_s, (hour + 1) * 3600.0)
        frac = (hi - lo) / 3600.0
        if frac <= 0:
            continue
        # internal trips
        n = rng.poisson(traffic.daily_trips * scale * share * frac)
        if n:
            m = (a * home_work + (1 - a) * work_home).ravel()
            cells = rng.choice(m.size, size=n, p=m / m.sum())
            zi, zj = np.divmod(cells, n_z)
            o, d = _pick(rng, z_nodes, zi), _pick(rng, z_nodes, zj)
            for _ in range(5):  # neighbouring zones can share a junction: pick again
                same = o == d
                if not same.any():
                    break
                d[same] = _pick(rng, z_nodes, zj[same])
            _part_ways(z_nodes, zi, zj, o, d)
            deps.append(rng.uniform(lo, hi, n))
            origs.append(o)
            dests.append(d)
            kinds.append(_kinds(rng, n, traffic.truck_share))
        # external trips: half inbound, half outbound
        for x_i, x in enumerate(ext):
            n_x = rng.poisson(x.trips_per_day * scale * share * frac)
            if not n_x:
                continue
            inbound = rng.random(n_x) < 0.5
            zj = rng.choice(n_z, size=n_x, p=ext_w[x_i])
            # a cordon node can be a trip end of its zone too: the zone's other nodes then
            inner = _pick(rng, z_nodes, zj, avoid=ext_nodes[x_i])
            outer = np.full(n_x, ext_nodes[x_i])
            deps.append(rng.uniform(lo, hi, n_x))
            _either_way(inbound, outer, inner, origs, dests)
            kinds.append(_kinds(rng, n_x, traffic.truck_share))
    return _table(deps, origs, dests, kinds)


def _either_way(forward, a, b, origs: list, dests: list) -> None:
    """Trips from a to b where `forward`, else from b to a (appended to origs and dests)."""
    origs.append(np.where(forward, a, b))
    dests.append(np.where(forward, b, a))


def _table(deps: list, origs: list, dests: list, kinds: list) -> TripTable:
    """The trips drawn in parts (arrays per part) as one TripTable."""
    if not deps:
        return TripTable(np.zeros(0), np.zeros(0, int), np.zeros(0, int), [])
    return TripTable(np.concatenate(deps), np.concatenate(origs).astype(np.int64),
                     np.concatenate(dests).astype(np.int64), [k for ks in kinds for k in ks])


def _crossing_trips(net, traffic, rng, start_s, end_s) -> TripTable:
    """Trips between two cordons: per hour, Poisson around trips_per_day x the hour's share x
    demand_scale, half each way, trucks at the scenario's share."""
    ends = [_crossing_ends(net, t, i) for i, t in enumerate(traffic.through)]
    deps, origs, dests, kinds = [], [], [], []
    for hour in range(int(start_s // 3600), int(np.ceil(end_s / 3600))):
        lo, hi = max(start_s, hour * 3600.0), min(end_s, (hour + 1) * 3600.0)
        if hi <= lo:
            continue
        share = traffic.profile.hourly[hour % 24] * (hi - lo) / 3600.0
        for flow, (a, b) in zip(traffic.through, ends, strict=True):
            n = rng.poisson(flow.trips_per_day * traffic.demand_scale * share)
            if not n:
                continue
            forward = rng.random(n) < 0.5
            deps.append(rng.uniform(lo, hi, n))
            _either_way(forward, a, b, origs, dests)
            kinds.append(_kinds(rng, n, traffic.truck_share))
    return _table(deps, origs, dests, kinds)


def _visitor_nodes(net, traffic) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Origin nodes, the nodes a visitor can stop at, and the chance of each for one stop.

    An attraction takes its visits a year / 365 of the day's visitor stops (per_day x places);
    the stops left go to the zones' nodes by the zones' jobs (the shops, restaurants and
    lodgings most visitors spend their day at), or to the attractions alone without zones.
    """
    v = traffic.visitors
    origins = np.array([_node(net, o.node, f"traffic.visitors.origins ({o.name})")
                        for o in v.origins], dtype=np.int64)
    nodes = [_node(net, a.node, f"traffic.visitors.attractions ({a.name})")
             for a in v.attractions]
    stops_a_day = max(v.per_day * v.places, 1.0)
    p = [a.visits_per_year / 365.0 / stops_a_day for a in v.attractions]
    rest = 1.0 - sum(p)
    jobs = sum(z.jobs for z in traffic.zones)
    if rest > 0 and jobs > 0:
        for z in traffic.zones:
            zn = zone_nodes(net, z, at_junctions=traffic.trip_ends_at_junctions)
            nodes += zn
            p += [rest * z.jobs / jobs / len(zn)] * len(zn)
    p = np.array(p, float)
    return origins, np.array(nodes, dtype=np.int64), p / p.sum()


# ASSUMED: attractions closer than this (straight line) are walked between from where the car
# was parked: Daereungwon, Cheomseongdae, Gyochon and Wolji lie within about a kilometre.
WALK_M = 1500.0
# Stays are spread around the mean as a gamma with this shape (coefficient of variation 0.5):
# ASSUMED, no distribution of Gyeongju visitors' stays was found, only the mean.
STAY_SHAPE = 4.0


def _visitor_trips(net, traffic, rng, start_s, end_s) -> TripTable:
    """Visitors' car trips. Per day, Poisson around cars_per_day x demand_scale cars; each
    arrives in an hour drawn from `arrivals`, from its region's origin, stops at `places`
    places in turn (attractions and zones, see _visitor_nodes; each drawn among those
    elsewhere; walked to, the car left parked, when within WALK_M) at equal shares of a
    gamma-spread stay, and drives back to its origin at the stay's end. The day repeats: a stay
    that runs past midnight ends in the small hours of the same modelled day (yesterday's
    visitors leaving)."""
    v = traffic.visitors
    origins, places, p_place = _visitor_nodes(net, traffic)
    p_origin = np.array([o.weight for o in v.origins], float)
    p_origin /= p_origin.sum()
    p_hour = np.asarray(v.arrivals, float) / sum(v.arrivals)
    places, p_place = _merge_nodes(places, p_place)
    lat = np.array([net.nodes[i].lat for i in places])
    lon = np.array([net.nodes[i].lon for i in places])
    near = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :]) < WALK_M
    deps, origs, dests = [], [], []
    for day in range(int(start_s // DAY_S), int(np.ceil(end_s / DAY_S))):
        n = rng.poisson(v.cars_per_day * traffic.demand_scale)
        home = origins[rng.choice(len(origins), size=n, p=p_origin)]
        arrive = (rng.choice(24, size=n, p=p_hour) + rng.random(n)) * 3600.0
        stay = rng.gamma(STAY_SHAPE, v.stay_h * 3600.0 / STAY_SHAPE, size=n)
        at = home
        for k in range(v.places + 1):
            # each stop is elsewhere than the car is (the first never its own cordon); then home
            nxt = _elsewhere(rng, at, places, p_place) if k < v.places else home
            if 0 < k < v.places:  # a walk to a nearby attraction: the car stays where it is
                walk = near[np.searchsorted(places, at), np.searchsorted(places, nxt)]
                nxt = np.where(walk, at, nxt)
            moving = nxt != at  # a place at the cordon itself, one attraction, or a walk
            dep = day * DAY_S + (arrive + stay * k / v.places) % DAY_S
            deps.append(dep[moving])
            origs.append(at[moving])
            dests.append(nxt[moving])
            at = nxt
    dep = np.concatenate(deps) if deps else np.zeros(0)
    keep = (dep >= start_s) & (dep < end_s)
    return TripTable(dep[keep], np.concatenate(origs)[keep].astype(np.int64),
                     np.concatenate(dests)[keep].astype(np.int64), ["car"] * int(keep.sum()))


def _merge_nodes(nodes: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One entry per node (sorted), its chances added up."""
    uniq, inv = np.unique(nodes, return_inverse=True)
    return uniq, np.bincount(inv, weights=p)


def _elsewhere(rng, at: np.ndarray, places: np.ndarray, p: np.ndarray) -> np.ndarray:
    """For each car, a place drawn by weight among those not at its node (its own node when
    there is no other)."""
    out = at.copy()
    for node in np.unique(at).tolist():
        cars = np.flatnonzero(at == node)
        w = np.where(places == node, 0.0, p)
        if w.sum() > 0:
            out[cars] = places[rng.choice(len(places), size=len(cars), p=w / w.sum())]
    return out


def _pick(rng, z_nodes, zone_idx: np.ndarray, avoid: int | None = None) -> np.ndarray:
    """A node of each zone, uniformly; with `avoid`, uniformly among the zone's other nodes
    (one random number per trip either way: a draw that falls on `avoid` is spread over the
    others by where in its share it fell)."""
    sizes = np.array([len(n) for n in z_nodes])
    u = rng.random(len(zone_idx)) * sizes[zone_idx]
    offs = np.floor(u).astype(np.int64)
    if not len(offs):
        return np.zeros(0, dtype=np.int64)
    # every zone's nodes one after another: a trip's node is at its zone's start + offs
    flat = np.concatenate([np.asarray(n, dtype=np.int64) for n in z_nodes])
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    out = flat[first[zone_idx] + offs]
    if avoid is not None:
        for k in np.flatnonzero(out == avoid).tolist():
            nodes = z_nodes[zone_idx[k]]
            others = nodes[nodes != avoid]
            if len(others):  # (a zone that is only `avoid` gets no such trip: see ext_w)
                out[k] = others[min(int((u[k] - offs[k]) * len(others)), len(others) - 1)]
    return out


def _same_node_pairs(z_nodes) -> list[tuple[int, int]]:
    """Pairs of distinct zones that are one and the same single node."""
    single = [int(n[0]) if len(n) == 1 else None for n in z_nodes]
    return [(i, j) for i, a in enumerate(single) for j, b in enumerate(single)
            if i != j and a is not None and a == b]


def _part_ways(z_nodes, zi, zj, o, d) -> None:
    """Trips still at their origin's node after the redraws: to the destination zone's other
    nodes in turn, or, when that zone is the origin's node alone, from the origin zone's other
    nodes in turn (in place). No trip is dropped."""
    turn = {}
    for k in np.flatnonzero(o == d).tolist():
        i, j = int(zi[k]), int(zj[k])
        dest_others = z_nodes[j][z_nodes[j] != o[k]]
        if len(dest_others):
            n = turn.get(("d", j, int(o[k])), 0)
            d[k] = dest_others[n % len(dest_others)]
            turn[("d", j, int(o[k]))] = n + 1
        else:  # zone j is o's node alone; zone i has others (same-node pairs get no trips)
            orig_others = z_nodes[i][z_nodes[i] != d[k]]
            n = turn.get(("o", i, int(d[k])), 0)
            o[k] = orig_others[n % len(orig_others)]
            turn[("o", i, int(d[k]))] = n + 1


def _kinds(rng, n: int, truck_share: float) -> list[str]:
    trucks = rng.random(n) < truck_share
    return ["truck" if t else "car" for t in trucks]


def _od_trips(net, od, i, rng, start_s, end_s) -> TripTable:
    o, d = _ends(net, od, f"traffic.od[{i}]", "a trip must go somewhere")
    lo, hi = max(start_s, od.start), min(end_s, od.end)
    if hi <= lo:
        return TripTable(np.zeros(0), np.zeros(0, int), np.zeros(0, int), [])
    if od.arrivals == "uniform":
        n = round(od.vph * (od.end - od.start) / 3600.0)
        dep = od.start + (np.arange(n) + 0.5) * 3600.0 / od.vph
        dep = dep[(dep >= lo) & (dep < hi)]
    else:
        n = rng.poisson(od.vph * (hi - lo) / 3600.0)
        dep = np.sort(rng.uniform(lo, hi, n))
    k = len(dep)
    return TripTable(dep, np.full(k, o, dtype=np.int64), np.full(k, d, dtype=np.int64),
                     [od.kind] * k)

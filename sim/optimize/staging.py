"""The emergency staging plan: where the staging posts stand and how many units of each
coverage type (pumpers, ambulances) each holds, under a unit budget.

1. Travel times under the day's traffic: one run of the scenario records, every 15 minutes of
   the window, the link times a unit under lights and sirens expects (the emergency layer's own
   `expected_network_times`); a post's time to a point is the mean over those samples.
2. A maximal covering MILP (scipy.optimize.milp, HiGHS) on that matrix: maximise the share of
   the venue perimeters reached within the response target, each coverage type counted alike,
   keeping the city's coverage (residents, as the layer weighs them) of each type at or above
   the floor; the city's stations and reinforcements cover what they cover.
3. Proof by simulation: the shipped and the proposed staging run on fresh seeds; a probe
   measures venue and city coverage every 15 minutes of the window with the units free then
   (busy units at the drill's fire do not cover): `optimize.venue_covered_share` and
   `optimize.city_covered_share` (the lowest over the types), and per type
   `optimize.TYPE.venue_covered_share`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..geo import haversine_m

# judgement: the venue perimeter is every road node within 600 m of a summit venue (the
# security perimeter's scale at HICO: the access roads, forecourts and car parks)
PERIMETER_M = 600.0
# judgement: a post stands within 8 km of a venue (the Bomun resort and the city's edge)
CANDIDATE_M = 8000.0
CANDIDATE_KINDS = ("hotel", "car_park", "depot", "landmark", "venue", "bus_terminal",
                   "station", "interchange")
SAMPLE_S = 900.0  # travel times and coverage sampled every 15 minutes of the window
CITY_TIE = 1e-3  # weight of city coverage in the objective: breaks ties, never trades venue


@dataclass(frozen=True)
class Window:
    start: float
    end: float


def default_window(scenario) -> Window:
    """The staging posts' busiest hours: the sessions' span at the venues, else the posts'."""
    if scenario.sessions:
        return Window(min(s.start for s in scenario.sessions),
                      max(s.end for s in scenario.sessions))
    posts = scenario.emergency.staging
    return Window(min(p.start for p in posts), max(p.end for p in posts))


# ---- the points to cover ------------------------------------------------------------------
def perimeter_nodes(net, venue_nodes) -> np.ndarray:
    """Node indices within PERIMETER_M of a venue's node."""
    out = set()
    for v in venue_nodes:
        a = net.nodes[net.node_index[v]]
        for n in net.nodes:
            if haversine_m(a.lat, a.lon, n.lat, n.lon) <= PERIMETER_M:
                out.add(n.index)
    return np.array(sorted(out), dtype=np.int64)


def candidate_posts(net, scenario, venue_nodes) -> list[tuple[str, str]]:
    """(name, node id) of every place a post may stand: the shipped posts' places, and the
    network's named places of CANDIDATE_KINDS within CANDIDATE_M of a venue, not at a venue's
    own node (a post stands apart from what it guards)."""
    from ..emergency.places import resolve_place

    venues = [net.nodes[net.node_index[v]] for v in venue_nodes]
    out: dict[str, str] = {}
    for i, s in enumerate(scenario.emergency.staging):
        node, _ = resolve_place(net, s.place, f"emergency.staging[{i}].place")
        out.setdefault(node, s.place)
    for p in net.places:
        if p.kind not in CANDIDATE_KINDS or p.node in venue_nodes or p.node in out:
            continue
        n = net.nodes[net.node_index[p.node]]
        if any(haversine_m(v.lat, v.lon, n.lat, n.lon) <= CANDIDATE_M for v in venues):
            out[p.node] = p.name
    return [(name, node) for node, name in out.items()]


# ---- 1. travel times under the day's traffic ------------------------------------------------
class _LinkTimes:
    """Records the emergency link times every SAMPLE_S of a window (a recurring model event;
    held by the model so that Mesa's weak reference keeps it)."""

    def __init__(self, model, window: Window):
        from mesa.time import Schedule

        self.model, self.samples = model, []
        model._optimize_link_times = self
        model.schedule_recurring(self.sample, Schedule(interval=SAMPLE_S, start=window.start,
                                                       end=window.end))

    def sample(self) -> None:
        self.samples.append(self.model.engine.links.expected_network_times(
            "emergency", skipping_queues=True).copy())


def to_window_end(scenario, window: Window):
    """The scenario run only to the window's end: what the link-time samples and the coverage
    probe read lies inside it."""
    return scenario.model_copy(update={"end": min(scenario.end, window.end + 1)})


@dataclass
class Survey:
    """What the MILP needs from one run of the day."""

    net: object
    node_ids: list[str]  # candidate posts' nodes
    names: list[str]
    times: np.ndarray  # candidate x node: mean seconds under the window's traffic
    fixed: dict[str, np.ndarray]  # type -> station and reinforcement units reaching each node
    city_nodes: np.ndarray
    city_weights: np.ndarray
    venue_nodes: np.ndarray
    budgets_s: dict[str, float]  # type -> seconds of driving within the response target
    samples: int


def survey(scenario, seed: int, window: Window, target_min: float | None = None) -> Survey:
    """One run of the day up to the window's end: the travel-time matrix from every candidate
    post, the stations' and reinforcements' coverage, the city's and the venues' points."""
    from ..model import SummitModel
    from ..routing import Router

    model = SummitModel(to_window_end(scenario, window), seed=seed)
    rec = _LinkTimes(model, window)
    model.run()
    if not rec.samples:
        raise InputError(f"the window {window.start:g}-{window.end:g} s lies outside the run "
                         f"({scenario.start:g}-{scenario.end:g} s)")
    layer, net = model.emergency, model.network
    venues = list(model.summit.venue_nodes.values()) if model.summit else []
    if not venues:
        raise InputError(f"scenario {scenario.name!r} has no venues: a staging plan covers "
                         "venue perimeters")
    cands = candidate_posts(net, scenario, set(venues))
    spec = scenario.emergency
    mean_times = np.mean(rec.samples, axis=0)
    router = Router(net, mean_times)
    times = router.times_from([node for _, node in cands])
    fixed = {}
    staging_names = {s.name for s in spec.staging}
    for utype in spec.coverage_types:
        nodes = [u.node_idx for u in layer.units_by_type.get(utype, [])
                 if not u.mutual_aid and u.station.name not in staging_names
                 and _present(u.station, window)]
        count = np.zeros(len(net.nodes), dtype=np.int64)
        for v in sorted(set(nodes)):
            reach = router.times_from(v)[0] <= response_budget_s(spec, utype, target_min)
            count += nodes.count(v) * reach
        fixed[utype] = count
    demand = layer.demand
    city = demand.residents > 0
    return Survey(net, [n for _, n in cands], [m for m, _ in cands], times, fixed,
                  demand.nodes[city], demand.residents[city], perimeter_nodes(net, venues),
                  {t: response_budget_s(spec, t, target_min) for t in spec.coverage_types},
                  len(rec.samples))


def _present(station, window: Window) -> bool:
    start, end = station.window
    return start is None or (start <= window.start and end >= window.end)


def response_budget_s(spec, utype: str, target_min: float | None = None) -> float:
    """Driving seconds within the response target (the scenario's coverage target unless
    given): the target less call handling and turnout, as the layer's coverage counts them."""
    turnout = spec.turnout_ems_s if utype == "ambulance" else spec.turnout_fire_s
    target = spec.coverage_target_min if target_min is None else target_min
    return target * 60.0 - spec.call_handling_s - turnout


# ---- 2. the maximal covering MILP ------------------------------------------------------------
@dataclass
class StagingPlan:
    units: dict[str, dict[str, int]]  # post node -> type -> units
    venue_coverage: dict[str, float]  # type -> share (by the matrix)
    city_coverage: dict[str, float]
    status: str
    busy: dict[str, float]  # type -> the busy share the plan was sized for


def busy_shares(scenario, window: Window, budgets: dict[str, int]) -> dict[str, float]:
    """Per coverage type, the chance a staged unit is busy when a call comes: the share of the
    staged units the window's scripted incidents ask for (a drill's fire takes the nearest
    ones), within 0.05 and 0.9; 0.3 without scripted incidents (judgement)."""
    spec = scenario.emergency
    out = {}
    for t, n in budgets.items():
        asked = sum((s.units or {}).get(t, 0) for s in spec.scripted
                    if window.start <= s.at < window.end)
        out[t] = min(0.9, max(0.05, asked / n)) if asked and n else 0.3
    return out


def matrix_coverage(sv: Survey, units: dict[str, dict[str, int]]) -> tuple[dict, dict]:
    """Venue and city coverage per type of a placement, by the survey's matrix (a point is
    covered when one unit, fixed or staged, reaches it within the target)."""
    index = {n: j for j, n in enumerate(sv.node_ids)}
    venue, city = {}, {}
    for t, budget in sv.budgets_s.items():
        reach = sv.fixed[t] > 0
        for node, per in units.items():
            if per.get(t, 0) > 0:
                reach = reach | (sv.times[index[node]] <= budget)
        venue[t] = float(reach[sv.venue_nodes].mean())
        city[t] = float(sv.city_weights[reach[sv.city_nodes]].sum() / sv.city_weights.sum())
    return venue, city


def post_cap(budget: int, max_posts: int) -> int:
    """The most units of a type one post may hold: twice an even share (judgement: a big
    incident takes the nearest units together, so a plan that piles them up at one post
    leaves the rest of the venues bare; the independent busy chance of the expected covering
    cannot see that)."""
    return max(1, math.ceil(2 * budget / max(1, max_posts)))


def solve_staging(sv: Survey, budgets: dict[str, int], max_posts: int, floor: float,
                  busy: dict[str, float], levels: int = 6, time_limit_s: float = 60.0,
                  hold: dict[str, dict[str, int]] | None = None) -> StagingPlan:
    """Maximal expected covering (Daskin's MEXCLP) of the venue perimeters with a city floor:
    x[j,t] units of type t at post j (whole numbers, the whole budget placed, at most
    `post_cap` at one post), z[j] post j open (at most max_posts); a venue point reached by n
    units (fixed ones counted) is covered with probability 1 - q^n, q the type's busy share,
    written as levels y[i,t,k] (k-th unit there) worth (1 - q) q^(k-1) each; a city point is
    covered once reached (y[i,t]), and each type's city share must reach the floor. Venue
    points weigh alike; the types weigh alike. `hold` (type -> post node -> units) keeps
    those types where they are (their posts count; the cap does not bind them): the other
    types are placed around them."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    types = list(sv.budgets_s)
    J, T = len(sv.node_ids), len(types)
    n_x = J * T
    entries: list[tuple[int, int, float]] = []
    lo: list[float] = []
    hi: list[float] = []
    cost: list[float] = [0.0] * (n_x + J)
    r = 0

    def row(cols_vals, low, high):
        nonlocal r
        entries.extend((r, c, v) for c, v in cols_vals)
        lo.append(low)
        hi.append(high)
        r += 1

    hold = hold or {}
    for k, t in enumerate(types):
        row([(k * J + j, 1.0) for j in range(J)], budgets[t], budgets[t])
        cap = budgets[t] if t in hold else post_cap(budgets[t], max_posts)
        for j in range(J):  # units only at an open post, at most the cap there
            row([(k * J + j, 1.0), (n_x + j, -float(cap))], -np.inf, 0.0)
    row([(n_x + j, 1.0) for j in range(J)], 0.0, float(max_posts))
    city_cols = {}
    for k, t in enumerate(types):
        reach = sv.times <= sv.budgets_s[t]  # candidate x node
        q = busy[t]
        nv = len(sv.venue_nodes)
        for i in sv.venue_nodes.tolist():  # venue: levels of depth
            fixed = int(sv.fixed[t][i])
            depth = [(1 - q) * q ** (m - 1) for m in range(fixed + 1, fixed + levels + 1)]
            first = len(cost)
            cost.extend(-w / nv / T for w in depth)
            row([(first + m, 1.0) for m in range(levels)]
                + [(k * J + j, -1.0) for j in np.flatnonzero(reach[:, i])], -np.inf, 0.0)
        w = sv.city_weights / sv.city_weights.sum()
        free = sv.fixed[t][sv.city_nodes] == 0
        first = len(cost)
        for i, wi in zip(sv.city_nodes[free].tolist(), w[free].tolist(), strict=True):
            cost.append(-CITY_TIE * wi / T)
            row([(len(cost) - 1, 1.0)] + [(k * J + j, -1.0)
                                          for j in np.flatnonzero(reach[:, i])], -np.inf, 0.0)
        city_cols[t] = (first, w[free], float(w[~free].sum()))
    for t in types:  # the city floor, per type
        first, w, fixed_share = city_cols[t]
        row([(first + m, float(x)) for m, x in enumerate(w)], floor - fixed_share, np.inf)
    n = len(cost)
    rr, cc, vv = zip(*entries, strict=True)
    A = coo_matrix((vv, (rr, cc)), shape=(r, n)).tocsr()
    ub = np.concatenate([np.repeat([float(budgets[t]) for t in types], J),
                         np.ones(n - n_x)])
    lb = np.zeros(n)
    for k, t in enumerate(types):
        if t in hold:  # a held type's units are fixed where they stand
            at = np.array([float(hold[t].get(node, 0)) for node in sv.node_ids])
            lb[k * J:(k + 1) * J] = ub[k * J:(k + 1) * J] = at
    res = milp(np.asarray(cost), constraints=LinearConstraint(A, lo, hi),
               integrality=np.ones(n), bounds=Bounds(lb, ub),
               options={"time_limit": time_limit_s, "disp": False})
    if res.x is None:
        raise InputError(f"no staging plan keeps the city's coverage of every type at "
                         f"{floor:.0%} or more with these units and at most {max_posts} posts "
                         f"({res.message}); lower the floor (--constraint city_coverage>=...) "
                         "or give more units (--units)")
    x = np.round(res.x[:n_x]).astype(int).reshape(T, J)
    units: dict[str, dict[str, int]] = {}
    for k, t in enumerate(types):
        for j in np.flatnonzero(x[k]):
            units.setdefault(sv.node_ids[j], {})[t] = int(x[k, j])
    venue, city = matrix_coverage(sv, units)
    status = "optimal" if res.status == 0 else f"time limit ({res.message})"
    return StagingPlan(units, venue, city, status, dict(busy))


def expected_venue_coverage(sv: Survey, units: dict[str, dict[str, int]],
                            busy: dict[str, float]) -> float:
    """The MILP's objective for any placement: the venue points' expected coverage, 1 - q^n
    with n the units (fixed and staged) reaching each, types alike."""
    index = {n: j for j, n in enumerate(sv.node_ids)}
    out = []
    for t, budget in sv.budgets_s.items():
        count = sv.fixed[t].astype(float).copy()
        for node, per in units.items():
            if per.get(t, 0):
                count += per[t] * (sv.times[index[node]] <= budget)
        out.append(float(np.mean(1 - busy[t] ** count[sv.venue_nodes])))
    return float(np.mean(out))


def shipped_units(scenario, sv: Survey) -> dict[str, dict[str, int]]:
    """The shipped posts' units of the coverage types, by node."""
    from ..emergency.places import resolve_place

    out: dict[str, dict[str, int]] = {}
    for i, s in enumerate(scenario.emergency.staging):
        node, _ = resolve_place(sv.net, s.place, f"emergency.staging[{i}].place")
        for t in sv.budgets_s:
            if s.units.get(t):
                out.setdefault(node, {})[t] = out.get(node, {}).get(t, 0) + s.units[t]
    return out


def staging_budget(scenario) -> dict[str, int]:
    """The unit budget by default: the shipped posts' units of each coverage type."""
    spec = scenario.emergency
    return {t: sum(s.units.get(t, 0) for s in spec.staging) for t in spec.coverage_types}


def staged_scenario(scenario, sv: Survey, units: dict[str, dict[str, int]]):
    """The scenario with its staging posts re-placed: the coverage types' units where `units`
    (post node -> type -> units) puts them; every other unit (ladders, booms, hazmat,
    command) stays at its shipped post."""
    from ..emergency.places import resolve_place
    from ..emergency.spec import StagingSpec

    spec = scenario.emergency
    types = set(sv.budgets_s)
    start = min((s.start for s in spec.staging), default=0.0)
    end = max((s.end for s in spec.staging), default=86_400.0)
    posts: dict[str, dict] = {}
    for i, s in enumerate(spec.staging):
        node, _ = resolve_place(sv.net, s.place, f"emergency.staging[{i}].place")
        kept = {t: n for t, n in s.units.items() if t not in types and n}
        p = posts.setdefault(node, {"name": s.name, "place": s.place, "units": {},
                                    "start": s.start, "end": s.end})
        for t, n in kept.items():
            p["units"][t] = p["units"].get(t, 0) + n
    names = dict(zip(sv.node_ids, sv.names, strict=True))
    for node, per in units.items():
        p = posts.setdefault(node, {"name": f"{names[node]} staging post", "place": names[node],
                                    "units": {}, "start": start, "end": end})
        for t, n in per.items():
            p["units"][t] = p["units"].get(t, 0) + n
    staging = [StagingSpec(name=p["name"], place=p["place"], units=dict(sorted(
        p["units"].items())), start=p["start"], end=p["end"])
        for p in posts.values() if p["units"]]
    out = scenario.model_copy(update={"emergency": spec.model_copy(
        update={"staging": staging})})
    out.source_path = scenario.source_path
    return out


# ---- 3. coverage measured in simulation -------------------------------------------------------
class CoverageProbe:
    """A probe for the what-if runner: venue and city coverage every SAMPLE_S of the window,
    from the units free at that moment, on the link times of that moment (the layer's own
    coverage cache is not touched, so the run is the run without the probe)."""

    def __init__(self, window: Window, target_min: float | None = None):
        self.window, self.target_min = window, target_min

    def attach(self, model) -> None:
        _Coverage(model, self.window, self.target_min)

    def __call__(self, model, metrics) -> dict:
        rec = model._optimize_coverage
        out: dict = {}
        for kind in ("venue", "city"):
            per_type = {t: float(np.mean(v)) for t, v in rec.shares[kind].items() if v}
            if per_type:  # the headline is the lowest type's, as the layer's coverage_min
                out[f"{kind}_covered_share"] = min(per_type.values())
                for t, x in per_type.items():
                    out.setdefault(t, {})[f"{kind}_covered_share"] = x
        return {"optimize": out}


class _Coverage:
    def __init__(self, model, window: Window, target_min: float | None):
        from mesa.time import Schedule

        self.model, self.target_min = model, target_min
        model._optimize_coverage = self
        self.shares = {"venue": {}, "city": {}}
        model.schedule_recurring(self.sample, Schedule(interval=SAMPLE_S, start=window.start,
                                                       end=window.end))
        self._points = None

    def sample(self) -> None:
        from ..routing import Router

        layer, net = self.model.emergency, self.model.network
        if layer is None:
            return
        if self._points is None:
            venues = list(self.model.summit.venue_nodes.values()) if self.model.summit else []
            d = layer.demand
            city = d.residents > 0
            self._points = (perimeter_nodes(net, venues), d.nodes[city], d.residents[city])
        venue_nodes, city_nodes, city_w = self._points
        router = Router(net, self.model.engine.links.expected_network_times(
            "emergency", skipping_queues=True))
        for t in layer.spec.coverage_types:
            sources = sorted({u.node_idx for u in layer.units_by_type.get(t, [])
                              if u.dispatchable and not u.mutual_aid})
            if sources:
                reach = router.times_from_nearest(sources) <= response_budget_s(layer.spec, t,
                                                                         self.target_min)
            else:
                reach = np.zeros(len(net.nodes), bool)
            self.shares["venue"].setdefault(t, []).append(
                float(reach[venue_nodes].mean()) if len(venue_nodes) else math.nan)
            self.shares["city"].setdefault(t, []).append(
                float(city_w[reach[city_nodes]].sum() / city_w.sum()))

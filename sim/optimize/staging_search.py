"""The staging plan improved by simulation, not only proved there.

Why: the MILP's expected covering treats a type's units as busy one at a time (busy share q),
while a drill takes the units nearest its scene together (the HICO drill: ten ambulances at
once), so a plan deep on the matrix can be emptied where it matters and one type's venue
coverage fall below the shipped staging's. The search judges placements by the `CoverageProbe`
in simulation instead:

- Every placement runs on the same K search seeds (replicates 0 to K-1 of the base seed, as
  the shuttle search numbers them; common random numbers), to the window's end only.
- Feasible: each type's city coverage at or above the floor (or the shipped staging's own,
  where it falls short of the floor) and each type's venue coverage at or above the shipped
  staging's (means over the seeds). Among feasible placements the highest headline (the
  lowest type's venue coverage) wins, ties by the mean over the types, then by the lowest
  type's city coverage.
  The shipped staging is evaluated first: when nothing beats it, it is the proposal.
- Starts: the shipped staging, the MILP's plan, and per type the MILP with only that type
  re-placed (the others held where they were shipped): a type a drill empties keeps its
  shipped posts while the other gains.
- Moves: one unit of one type from a post to another (an open post, or a new place while
  fewer than the posts allowed are open), from the best placement so far. The neighbourhood
  is ranked by the matrix with the drill taken into account (`drill_coverage`: each scripted
  incident of the window holds the staged units nearest its scene), and only the most
  promising few are simulated, within `--budget` placements.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .staging import SAMPLE_S, Survey, Window, matrix_coverage, post_cap

Placement = dict[str, dict[str, int]]  # post node -> coverage type -> units
# a placement's simulated coverage: type -> (venue share, city share), means over the seeds
Coverage = dict[str, tuple[float, float]]
HISTORY = "history.csv"
# judgement: two neighbours simulated a step: the matrix ranks well enough to spend the
# budget on its best, and a second guards against its first being a matrix artefact
PER_STEP = 2
EPS = 1e-9  # shares equal to within rounding are equal (a type untouched measures the same)


# ---- the drill on the matrix -----------------------------------------------------------------
@dataclass(frozen=True)
class Busy:
    """A scripted incident of the window: from `start` to `end` it holds `units` (type ->
    count) of the staged units nearest its node (a node index of the survey's network)."""

    start: float
    end: float
    node: int
    units: dict[str, int]


def drill_of(scenario, sv: Survey, window: Window) -> list[Busy]:
    """The window's scripted incidents as the units they hold. Judgement: held from the call
    for the incident's on-scene time (to the window's end when the plan's default applies);
    travel, transport and return are left out: the ranking needs who is gone, not when."""
    from ..emergency.places import resolve_place

    out = []
    for i, s in enumerate(scenario.emergency.scripted):
        asked = {t: n for t, n in (s.units or {}).items() if t in sv.budgets_s and n}
        end = s.at + s.on_scene_min * 60.0 if s.on_scene_min else window.end
        if not asked or end <= window.start or s.at >= window.end:
            continue
        node, _ = resolve_place(sv.net, s.place, f"emergency.scripted[{i}].place")
        out.append(Busy(s.at, end, sv.net.node_index[node], asked))
    return out


def sample_times(window: Window) -> list[float]:
    """The probe's moments: every SAMPLE_S from the window's start to its end."""
    n = math.floor((window.end - window.start) / SAMPLE_S + 1e-9)
    return [window.start + k * SAMPLE_S for k in range(n + 1)]


def _left(sv: Survey, index: dict[str, int], units: Placement, utype: str,
          held: list[Busy]) -> dict[str, int]:
    """The staged units of a type left free when the incidents `held` take theirs, nearest
    their scene first (staging_first dispatch sends staged units first)."""
    left = {node: per.get(utype, 0) for node, per in units.items() if per.get(utype, 0)}
    for b in held:
        want = b.units.get(utype, 0)
        for node in sorted(left, key=lambda n: (sv.times[index[n], b.node], index[n])):
            take = min(want, left[node])
            left[node] -= take
            want -= take
            if not want:
                break
    return {n: k for n, k in left.items() if k}


def drill_coverage(sv: Survey, units: Placement, drill: list[Busy],
                   times: list[float]) -> tuple[dict[str, float], dict[str, float]]:
    """Venue and city coverage per type by the matrix, averaged over the window's moments,
    each moment with the units its ongoing scripted incidents hold taken away."""
    index = {n: j for j, n in enumerate(sv.node_ids)}
    venue: dict[str, list[float]] = {t: [] for t in sv.budgets_s}
    city: dict[str, list[float]] = {t: [] for t in sv.budgets_s}
    for now in times:
        held = [b for b in drill if b.start <= now < b.end]
        left: Placement = {}
        for t in sv.budgets_s:
            for node, n in _left(sv, index, units, t, held).items():
                left.setdefault(node, {})[t] = n
        v, c = matrix_coverage(sv, left)
        for t in sv.budgets_s:
            venue[t].append(v[t])
            city[t].append(c[t])
    return ({t: float(np.mean(v)) for t, v in venue.items()},
            {t: float(np.mean(v)) for t, v in city.items()})


# ---- placements ------------------------------------------------------------------------------
def signature(units: Placement) -> str:
    """A placement as text, the same for the same placement: `node:type=n,...;...`."""
    return ";".join(f"{node}:" + ",".join(f"{t}={n}" for t, n in sorted(per.items()) if n)
                    for node, per in sorted(units.items()) if any(per.values()))


def _clean(units: Placement) -> Placement:
    return {node: {t: n for t, n in per.items() if n} for node, per in units.items()
            if any(per.values())}


def moves(sv: Survey, units: Placement, budgets: dict[str, int],
          max_posts: int) -> list[tuple[str, Placement]]:
    """Every placement one unit away: a unit of one type from one post to another open post,
    or to a new place while fewer than max_posts are open; no post above the MILP's cap."""
    names = dict(zip(sv.node_ids, sv.names, strict=True))
    opened = [n for n in sv.node_ids if n in units]
    out = []
    for t in sv.budgets_s:
        cap = post_cap(budgets[t], max_posts)
        for a in opened:
            if not units[a].get(t):
                continue
            # the post a empties stops counting: a new place may take its slot
            free = len(opened) - (sum(units[a].values()) == 1) < max_posts
            for b in sv.node_ids:
                if b == a or units.get(b, {}).get(t, 0) >= cap or (b not in units
                                                                   and not free):
                    continue
                new = {n: dict(per) for n, per in units.items()}
                new[a][t] -= 1
                new.setdefault(b, {})[t] = new.get(b, {}).get(t, 0) + 1
                out.append((f"{t} {names[a]} -> {names[b]}", _clean(new)))
    return out


# ---- judging ---------------------------------------------------------------------------------
@dataclass
class Row:
    candidate: int
    origin: str  # shipped, milp, milp TYPE only, move
    move: str
    units: Placement
    coverage: Coverage
    runs: int
    feasible: bool = False
    headline: float = math.nan
    mean: float = math.nan
    city: float = math.nan  # the lowest type's city coverage
    surrogate: float = math.nan  # the drill-aware matrix headline, for the record


@dataclass
class Judge:
    """Feasible: per type, venue coverage at or above the shipped staging's and city coverage
    at or above the floor, or at the shipped staging's own where the simulated shipped
    staging falls short of it (the default floor is the shipped staging's by the matrix,
    which the simulation may put a hair lower: the shipped staging stays feasible). The
    better of two feasible placements has the higher headline, then mean, then the lowest
    type's city coverage (as the MILP's CITY_TIE: the city breaks ties, never trades venue)."""

    floor: float
    shipped: Coverage = field(default_factory=dict)

    def city_bar(self, utype: str) -> float:
        return min(self.floor, self.shipped[utype][1]) if utype in self.shipped else self.floor

    def judge(self, row: Row) -> Row:
        venue = {t: v for t, (v, _) in row.coverage.items()}
        row.headline = min(venue.values())
        row.mean = float(np.mean(list(venue.values())))
        row.city = min(c for _, c in row.coverage.values())
        row.feasible = all(
            c >= self.city_bar(t) - EPS and v >= self.shipped.get(t, (0.0, 0.0))[0] - EPS
            for t, (v, c) in row.coverage.items())
        return row

    @staticmethod
    def key(row: Row) -> tuple:
        # infeasible placements rank after feasible ones; earlier candidates win ties
        return (row.feasible, round(row.headline, 9), round(row.mean, 9), round(row.city, 9),
                -row.candidate)


def best(rows: list[Row]) -> Row:
    """The proposal: the best feasible placement, the shipped staging (row 0) when none is."""
    feasible = [r for r in rows if r.feasible]
    return max(feasible, key=Judge.key) if feasible else rows[0]


def _surrogate_key(sv, units, drill, times, floor, shipped_matrix) -> tuple:
    """A move's rank by the drill-aware matrix, judged as the simulation judges."""
    venue, city = drill_coverage(sv, units, drill, times)
    ok = (all(c >= floor - EPS for c in city.values())
          and all(venue[t] >= shipped_matrix[t] - EPS for t in venue))
    return (ok, round(min(venue.values()), 9), round(float(np.mean(list(venue.values()))), 9),
            round(min(city.values()), 9))


# ---- the search ------------------------------------------------------------------------------
def search(sv: Survey, starts: list[tuple[str, Placement]],
           evaluate: Callable[[Placement, int], Coverage], *, budget: int, floor: float,
           budgets: dict[str, int], max_posts: int, drill: list[Busy], window: Window,
           runs_per_placement: int = 1, progress: Callable[[Row], None] | None = None
           ) -> list[Row]:
    """Simulated placements in order: the starts (the first is the shipped staging), then
    moves from the best so far, ranked by the drill-aware matrix, PER_STEP a step, until
    `budget` placements are simulated or no unseen move is left. `evaluate(units, n)` is
    placement n's coverage on the search seeds; the shipped staging is always evaluated."""
    times = sample_times(window)
    rows: list[Row] = []
    seen: set[str] = set()
    judge = Judge(floor)

    def simulate(origin, move, units) -> None:
        sig = signature(units)
        if sig in seen:  # a placement proposed twice runs once
            return
        seen.add(sig)
        venue, _ = drill_coverage(sv, units, drill, times)
        row = Row(len(rows), origin, move, _clean(units), evaluate(units, len(rows)),
                  runs_per_placement, surrogate=min(venue.values()))
        if not rows:  # the shipped staging sets the bar for every type's venue coverage
            judge.shipped = dict(row.coverage)
        rows.append(judge.judge(row))
        if progress:
            progress(rows[-1])

    for origin, units in starts:
        if len(rows) >= budget:
            break
        simulate(origin, "", units)
    shipped_matrix = drill_coverage(sv, starts[0][1], drill, times)[0]
    ranked: dict[str, list] = {}  # incumbent's signature -> its moves, best first
    while len(rows) < budget:
        incumbent = max(rows, key=Judge.key)
        sig = signature(incumbent.units)
        if sig not in ranked:
            cands = moves(sv, incumbent.units, budgets, max_posts)
            keys = [_surrogate_key(sv, u, drill, times, floor, shipped_matrix)
                    for _, u in cands]
            order = sorted(range(len(cands)), key=lambda i: keys[i], reverse=True)
            # ties keep the neighbourhood's order (sorted is stable; reversed keys only)
            ranked[sig] = [cands[i] for i in order]
        todo = [(m, u) for m, u in ranked[sig] if signature(u) not in seen][:PER_STEP]
        if not todo:
            break  # a local optimum on the search's seeds: every move tried
        for m, u in todo:
            if len(rows) >= budget:
                break
            simulate(f"move from {incumbent.candidate}", m, u)
    return rows


# ---- the history -----------------------------------------------------------------------------
def write_history(path, rows: list[Row], types: list[str], names: dict[str, str]) -> None:
    """history.csv: one row per placement simulated, in the order simulated."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["candidate", "origin", "move", "simulated",
                    *(f"{t}_{k}" for t in types for k in ("venue", "city")),
                    "feasible", "headline", "mean_venue", "lowest_city", "matrix_headline",
                    "placement"])
        for r in rows:
            w.writerow([r.candidate, r.origin, r.move, r.runs,
                        *(f"{r.coverage[t][k]:.6f}" for t in types for k in (0, 1)),
                        "yes" if r.feasible else "no", f"{r.headline:.6f}", f"{r.mean:.6f}",
                        f"{r.city:.6f}", f"{r.surrogate:.6f}", _placement_text(r.units, names)])


def _placement_text(units: Placement, names: dict[str, str]) -> str:
    return "; ".join(f"{names.get(node, node)}: " + ", ".join(f"{t} {n}" for t, n in
                                                              sorted(per.items()))
                     for node, per in sorted(units.items(), key=lambda kv: names.get(kv[0],
                                                                                    kv[0])))


# ---- the starts -------------------------------------------------------------------------------
def starts(sv: Survey, shipped: Placement, plan_units: Placement, budgets: dict[str, int],
           max_posts: int, floor: float, busy: dict[str, float]) -> list[tuple[str, Placement]]:
    """The shipped staging, the MILP's plan, then per type the MILP re-placing that type alone
    around the others held at their shipped posts (when the budgets are the shipped ones and
    such a plan keeps the floor)."""
    from ..errors import InputError
    from .staging import solve_staging

    out = [("shipped", _clean(shipped)), ("milp", _clean(plan_units))]
    if len(sv.budgets_s) < 2:
        return out
    for t in sv.budgets_s:
        hold = {u: {node: per[u] for node, per in shipped.items() if per.get(u)}
                for u in sv.budgets_s if u != t}
        if any(sum(h.values()) != budgets[u] for u, h in hold.items()):
            continue  # other budgets than the shipped: nothing to hold
        try:
            alone = solve_staging(sv, budgets, max_posts, floor, busy, hold=hold)
        except InputError:
            continue  # the held types' posts leave no plan keeping the floor
        out.append((f"milp {t} only", _clean(alone.units)))
    return out

"""The simulation-based search of a shuttle plan (Optuna's TPE sampler with constraints), its
history on disk, resume, and the check of a plan on fresh seeds.

Noise is handled as a planner can defend it: every candidate runs on the same K replicate
seeds (common random numbers), a constraint is judged on the mean over them, and the chosen
plan runs again on seeds the search never used, with 95% confidence intervals.

Determinism: candidate n is proposed by a sampler seeded from (base seed, n), so the history is
a function of the command alone, whether it ran in one go or was resumed."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..atomic import atomic_file
from ..errors import InputError
from ..overrides import read_path
from ..scenario import Scenario
from ..whatif.runner import Job, replicate_seed, replicate_seeds
from .problem import Constraint, Variable, candidate, plan_bus_hours, plan_buses, plan_cost

SPEC = "optimize.json"
HISTORY = "history.csv"
CONFIRMED = "confirm.csv"  # the confirmation's runs, kept so that --resume does not repeat them
FRESH_OFFSET = 1_000_000  # fresh seeds: replicates from here on, never used by a search
CONFIRM_OFFSET = 500_000  # confirmation seeds: neither the search's nor the fresh ones
CONFIRM_TRIES = 5  # judgement: the cheapest few plans that met the constraints are confirmed
CONFIRM_STEP = 0.1  # judgement: after a miss, the next plan tried costs 10% more at least
# judgement: the search starts at the start plan and at uniform scalings of it, down while
# they meet the constraints (up while they do not), then halves the step between the last
# scaling that met them and the first that did not (BISECT times): the cheapest uniform plan
# is often most of the answer, and the plan command sizes for a mean wait, often well above
# what the constraints need; the sampler and the trim refine it line by line
LADDER_DOWN = (0.85, 0.7, 0.55, 0.4, 0.25)
LADDER_UP = (1.3, 1.6, 2.0)
# judgement: a front search starts from the whole ladder, cheapest first, so the trade-off is
# spanned from a quarter to twice the start plan before the sampler fills it in line by line
FRONT_LADDER = (0.25, 0.4, 0.55, 0.7, 0.85, 1.3, 1.6, 2.0)
BISECT = 3
INFEASIBLE = 1e9  # the violation written for a KPI the runs lack (Optuna needs a number)


def fresh_seeds(base_seed: int, n: int) -> list[int]:
    return [replicate_seed(base_seed, FRESH_OFFSET + i) for i in range(n)]


def _optuna():
    try:
        import optuna
    except ImportError:
        raise InputError("optimize needs Optuna: pip install 'summit-sim[optimize]' (or "
                         "optuna>=5)") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


@dataclass
class ShuttleSearch:
    """A shuttle plan search: the start plan, the variables and what is asked of them."""

    scenario_ref: str
    sets: list[str]
    start: Scenario
    start_kind: str  # "plan" (the plan command's sizing) or "shipped"
    variables: list[Variable]
    objective: str
    constraints: list[Constraint]
    budget: int
    seeds: int
    base_seed: int
    history: list[dict] = field(default_factory=list)
    # the trade-off front's KPI and whether more of it is better (--front max:KPI or min:KPI):
    # the search then spans cost against it instead of seeking the cheapest plan
    front: tuple[str, bool] | None = None

    def spec(self) -> dict:
        return {"kind": "summit-sim optimize search", "problem": "shuttles",
                **({"front": [self.front[0], "max" if self.front[1] else "min"]}
                   if self.front else {}),
                "scenario": self.scenario_ref, "set": self.sets, "start": self.start_kind,
                "objective": self.objective, "constraints": [str(c) for c in self.constraints],
                "params": {v.path: [v.low, v.high] for v in self.variables},
                "seeds": self.seeds, "base_seed": self.base_seed,
                "replicate_seeds": replicate_seeds(self.base_seed, self.seeds),
                "summit_sim": __version__}

    @property
    def kpis(self) -> list[str]:
        """The KPIs each candidate's runs are read for: the constraints', then the front's."""
        names = [c.kpi for c in self.constraints]
        return names + ([self.front[0]] if self.front and self.front[0] not in names else [])

    @property
    def columns(self) -> list[str]:
        return ["candidate", "origin", "simulated", "objective", "buses", "bus_hours", "feasible",
                *(f"mean:{k}" for k in self.kpis), *(v.path for v in self.variables)]

    def start_values(self) -> list[float]:
        """The start plan's value of each variable (clipped into its range)."""
        out = []
        for v in self.variables:
            if v.field == "buses":
                x = self.start.shuttles.lines[v.line].fleet()
            elif v.field:
                ln = self.start.shuttles.lines[v.line]
                t = ln if v.period is None else ln.periods[v.period]
                x = getattr(t, v.field)
            else:
                x = read_path(self.start.model_dump(), v.path)
                x = (v.low + v.high) / 2 if not isinstance(x, int | float) else x
            out.append(v.value(min(max(float(x), v.low), v.high)))
        return out

    def scaled(self, factor: float) -> list[float]:
        """The start plan with every bus variable scaled by `factor` (within its range)."""
        return [v.value(min(max(x * factor if v.field in ("buses", "vehicles") else x,
                                v.low), v.high))
                for v, x in zip(self.variables, self.start_values(), strict=True)]

    def scenario(self, values: Sequence[float]) -> Scenario:
        return candidate(self.start, self.variables, values)

    def signature(self, values: Sequence[float]) -> str:
        """What a candidate runs, as text: two values that round to the same plan (a line's
        buses in proportion) are one plan, run once."""
        sc = self.scenario(values)
        plain = [x for v, x in zip(self.variables, values, strict=True) if not v.field]
        return json.dumps([sc.shuttles.model_dump(mode="json"), plain], sort_keys=True)


# ---- the search's folder -----------------------------------------------------------------------
def work_folder(out: Path) -> Path:
    """Where a search keeps its history until the outputs are complete (beside --out)."""
    return out.parent / f".{out.name}.search"


def check_work_folder(work: Path, spec: dict, *, resume: bool, force: bool,
                      compare: bool = True) -> bool:
    """True when `work` holds a search to finish. A folder there that is not one of ours is
    refused whatever is asked; ours is finished with --resume (when it is this search:
    `compare`) or started again with --force."""
    if not work.exists():
        return False
    names = {p.name for p in work.iterdir()}
    names = {n for n in names if not (n.startswith(".") and n.endswith(".part"))}
    old = None
    if names <= {SPEC, HISTORY, CONFIRMED} and SPEC in names and not any(p.is_dir() for p in
                                                               work.iterdir()):
        try:
            old = json.loads((work / SPEC).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
    if not isinstance(old, dict) or old.get("kind") != spec["kind"]:
        raise InputError(f"{str(work)!r} (where optimize keeps an unfinished search) holds files "
                         "summit-sim did not write; nothing was written or removed: choose "
                         "another --out")
    if force:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()
        return False
    if not resume:
        raise InputError(f"{str(work)!r} holds an unfinished search for this --out: add --resume "
                         "to finish it, --force to start again, or choose another --out")
    for key in ("problem", "scenario", "set", "start", "objective", "constraints", "params",
                "seeds", "base_seed", "front") if compare else ():
        if old.get(key) != spec.get(key):
            raise InputError(f"--resume: {work / SPEC} records {key} = {old.get(key)!r}, this "
                             f"search has {spec.get(key)!r}; use another --out for a different "
                             "search")
    return True


def remove_work(work: Path) -> None:
    """The unfinished search's folder, once its history is in the outputs (ours alone)."""
    import shutil

    if work.exists():
        shutil.rmtree(work)


class History:
    """history.csv in the work folder: a header, then one whole line per candidate, appended
    and flushed as each finishes (a killed search loses at most the candidate in flight)."""

    def __init__(self, path: Path, columns: list[str]):
        self.path, self.columns = path, columns

    def load(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):  # a line cut short by a kill is dropped
            data = data[:data.rfind(b"\n") + 1]
            with open(self.path, "r+b") as fh:
                fh.truncate(len(data))
        reader = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
        if reader.fieldnames and list(reader.fieldnames) != self.columns:
            raise InputError(f"--resume: {self.path} has other columns than this search's; use "
                             "another --out")
        return [r for r in reader if None not in r.values()]

    def append(self, row: dict) -> None:
        new = not self.path.exists() or self.path.stat().st_size == 0
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        if new:
            w.writerow(self.columns)
        w.writerow([_cell(row.get(c)) for c in self.columns])
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            fh.write(buf.getvalue())
            fh.flush()
            os.fsync(fh.fileno())


def _cell(x) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "1" if x else "0"
    if isinstance(x, float):
        return repr(round(x, 6))
    return str(x)


# ---- the search --------------------------------------------------------------------------------
def run_search(search: ShuttleSearch, work: Path, backend, *, resume: bool = False,
               progress: bool = True, stop_after: int | None = None) -> list[dict]:
    """Evaluate candidates until the budget is spent; every candidate's row is on disk as it
    finishes. `stop_after` ends the call after that many new candidates (tests interrupt a
    search with it). Returns the history (dicts with the values parsed)."""
    from tqdm import tqdm

    optuna = _optuna()
    work.mkdir(parents=True, exist_ok=True)
    with atomic_file(work / SPEC) as tmp:
        tmp.write_text(json.dumps(search.spec(), indent=2) + "\n", encoding="utf-8")
    history = History(work / HISTORY, search.columns)
    rows = [_parse_row(search, r) for r in history.load()] if resume else []
    dists = {v.path: (optuna.distributions.IntDistribution(int(v.low), int(v.high))
                      if v.integer else optuna.distributions.FloatDistribution(v.low, v.high))
             for v in search.variables}
    study = optuna.create_study(directions=_directions(search))
    for r in rows:
        study.add_trial(optuna.trial.create_trial(
            params={v.path: _as(v, x) for v, x in zip(search.variables, r["values"],
                                                      strict=True)},
            distributions=dists, values=_told(search, r),
            system_attrs={f"constraints:{i}": x for i, x in enumerate(r["violations"])}))
    seeds = replicate_seeds(search.base_seed, search.seeds)
    seen = {search.signature(r["values"]): r for r in rows}
    bar = tqdm(total=search.budget, initial=len(rows), unit="candidate", desc="optimize",
               disable=not progress, dynamic_ncols=True)
    new = 0
    try:
        for n in range(len(rows), search.budget):
            if stop_after is not None and new >= stop_after:
                break
            study.sampler = _sampler(optuna, search, n)
            fixed, origin = _proposal(search, n, rows)
            if fixed is not None:
                study.enqueue_trial({v.path: _as(v, x) for v, x in
                                     zip(search.variables, fixed, strict=True)})
            trial = study.ask(dists)
            values = [v.value(trial.params[v.path]) for v in search.variables]
            key = search.signature(values)
            row = _evaluate(search, backend, n, values, origin, seeds, seen.get(key))
            seen.setdefault(key, row)
            for i, x in enumerate(row["violations"]):  # <= 0 is feasible, as Optuna reads it
                trial.set_constraint(str(i), x)
            study.tell(trial, _told(search, row))
            history.append(row["cells"])
            rows.append(row)
            new += 1
            bar.update(1)
            best = best_row(search, rows)
            bar.set_postfix_str(f"best {best['objective']:g}"
                                f"{'' if best['feasible'] else ' (none feasible yet)'}")
    finally:
        bar.close()
    return rows


def _directions(search: ShuttleSearch) -> list[str]:
    """Cost is minimised; a front's KPI is maximised or minimised as asked."""
    if search.front is None:
        return ["minimize"]
    return ["minimize", "maximize" if search.front[1] else "minimize"]


def _told(search: ShuttleSearch, row: dict) -> list[float]:
    """What the sampler is told of a candidate: its cost, and the front KPI's mean (a run
    lacking it counts as the worst a number can be, so the sampler steers away)."""
    if search.front is None:
        return [row["objective"]]
    m = row["means"].get(search.front[0])
    if m is None:
        m = -INFEASIBLE if search.front[1] else INFEASIBLE
    return [row["objective"], m]


def trim_share(search: ShuttleSearch) -> int:
    """Candidates kept for the trim at the end of the budget: a third, at most three per bus
    variable (judgement: enough to try one bus fewer on each line of the best plan)."""
    buses = sum(v.integer and v.field in ("buses", "vehicles") for v in search.variables)
    return min(search.budget // 3, 3 * buses)


def ladder_factor(start_met: bool, outcomes: list[bool]) -> float | None:
    """The next uniform scaling of the start plan to try, given whether the start and each
    scaling tried so far (in order) met the constraints; None when the ladder is done."""
    steps = LADDER_DOWN if start_met else LADDER_UP
    met, missed = ([1.0], []) if start_met else ([], [1.0])
    i = halvings = 0

    def propose():
        low = [f for f in missed if not met or f < min(met)]
        if met and low:
            return None if halvings >= BISECT else (min(met) + max(low)) / 2
        return steps[i] if i < len(steps) else None

    for ok in outcomes:
        f = propose()
        bisecting = bool(met and [x for x in missed if x < min(met)])
        (met if ok else missed).append(f)
        if bisecting:
            halvings += 1
        else:
            i += 1
    return propose()


def _proposal(search: ShuttleSearch, n: int, rows) -> tuple[list | None, str]:
    """Candidate n when it is not the sampler's to choose: the start plan, then the ladder of
    uniform scalings (`ladder_factor`); in the trim (the last candidates), the best plan so
    far with one bus fewer on one line (the line with most buses first) not yet tried. When
    every such plan has been tried (each missed a constraint: the best is a local minimum),
    the sampler goes on."""
    trim_from = search.budget - trim_share(search)
    if n == 0:
        return search.start_values(), "start"
    if search.front is not None:  # the whole ladder, then the sampler: no cheapest to trim
        if n <= len(FRONT_LADDER):
            return search.scaled(FRONT_LADDER[n - 1]), "ladder"
        return None, "search"
    ladder = [r["feasible"] for r in rows if r["origin"] == "ladder"]
    if len(rows) == 1 + len(ladder) and n < trim_from:  # nothing else tried yet
        f = ladder_factor(rows[0]["feasible"], ladder)
        if f is not None:
            return search.scaled(f), "ladder"
    if n < trim_from or not rows:
        return None, "search"
    best = best_row(search, rows)
    if not best["feasible"]:
        return None, "search"
    tried = {search.signature(r["values"]) for r in rows}
    here = search.signature(best["values"])
    order = sorted((i for i, v in enumerate(search.variables)
                    if v.integer and v.field in ("buses", "vehicles")),
                   key=lambda i: (-best["values"][i], i))
    for i in order:
        x = list(best["values"])
        while x[i] - 1 >= search.variables[i].low:  # down to the next value that runs fewer
            x[i] -= 1
            sig = search.signature(x)
            if sig != here:
                if sig not in tried:
                    return x, "trim"
                break
    return None, "search"


def _sampler(optuna, search: ShuttleSearch, n: int):
    """Candidate n's sampler: seeded from the base seed and n, so that a resumed search
    proposes what an uninterrupted one would."""
    seed = replicate_seed(search.base_seed, 2_000_000 + n)
    return optuna.samplers.TPESampler(
        seed=seed, multivariate=True, n_startup_trials=4)


def _as(v: Variable, x: float):
    return round(x) if v.integer else float(x)


def _evaluate(search: ShuttleSearch, backend, n: int, values: list[float], origin: str,
              seeds: list[int], same: dict | None) -> dict:
    """One candidate: its plan's cost, and its constraints' means over the seeds (a candidate
    the search proposed before is not run again: the same plan on the same seeds)."""
    scenario = search.scenario(values)
    if same is not None:
        means, simulated = same["means"], 0
    else:
        runs = [k for _, k in backend.run(Job((n, r), scenario, s) for r, s in enumerate(seeds))]
        means = {}
        for kpi in search.kpis:
            xs = [k[kpi] for k in runs if kpi in k and math.isfinite(k[kpi])]
            # rounded as history.csv keeps it, so a resumed search reads what this one holds
            means[kpi] = round(math.fsum(xs) / len(xs), 6) if len(xs) == len(runs) else None
        simulated = len(runs)
    violations = [min(c.violation(means[c.kpi]), INFEASIBLE) for c in search.constraints]
    feasible = all(x <= 1e-12 for x in violations)
    objective = plan_cost(search.objective, scenario)
    cells = {"candidate": n + 1, "origin": origin, "simulated": simulated,
             "objective": objective, "buses": plan_buses(scenario),
             "bus_hours": plan_bus_hours(scenario), "feasible": feasible,
             **{f"mean:{k}": means[k] for k in search.kpis},
             **{v.path: _as(v, x) for v, x in zip(search.variables, values, strict=True)}}
    return {"candidate": n + 1, "values": values, "objective": objective, "means": means,
            "violations": violations, "feasible": feasible, "simulated": simulated,
            "origin": origin, "cells": cells}


def _parse_row(search: ShuttleSearch, r: dict[str, str]) -> dict:
    """A history line back into the search's terms (resume)."""
    values = [float(r[v.path]) for v in search.variables]
    means = {k: (float(r[f"mean:{k}"]) if r[f"mean:{k}"] else None) for k in search.kpis}
    violations = [min(c.violation(means[c.kpi]), INFEASIBLE) for c in search.constraints]
    objective = float(r["objective"])
    cells = dict(r)
    return {"candidate": int(r["candidate"]), "values": values, "objective": objective,
            "means": means, "violations": violations, "feasible": r["feasible"] == "1",
            "simulated": int(r["simulated"]), "origin": r["origin"], "cells": cells}


def best_row(search: ShuttleSearch, rows: list[dict]) -> dict:
    """The cheapest candidate meeting every constraint (the earlier of equals); when none
    does, the one nearest to meeting them (smallest violations, each over its bound)."""
    feasible = [r for r in rows if r["feasible"]]
    if feasible:
        return min(feasible, key=lambda r: (r["objective"], r["candidate"]))

    def shortfall(r):
        return sum(x / max(abs(c.bound), 1e-9)
                   for x, c in zip(r["violations"], search.constraints, strict=True))
    return min(rows, key=lambda r: (shortfall(r), r["objective"], r["candidate"]))


def front(rows: list[dict], kpi: str, higher_better: bool) -> list[dict]:
    """The candidates no other beats on both cost and the KPI's mean (the planner's trade-off
    between buses and, say, on-time rate), cheapest first; of plans alike on both, the
    earliest."""
    pts = sorted((r for r in rows if r["means"].get(kpi) is not None),
                 key=lambda r: (r["objective"], -r["means"][kpi] if higher_better
                                else r["means"][kpi], r["candidate"]))
    out, best = [], -np.inf
    for r in pts:
        v = r["means"][kpi] if higher_better else -r["means"][kpi]
        if v > best:
            out.append(r)
            best = v
    return out


# ---- confirmation ---------------------------------------------------------------------------
def confirm(search: ShuttleSearch, rows: list[dict], backend, n_seeds: int,
            progress: bool = True, level: float = 0.8,
            work: Path | None = None) -> tuple[dict | None, list[dict], int]:
    """Guard against the winner's curse (the cheapest plan meeting the constraints on K seeds
    is often one that was lucky on them): the cheapest plans that met them are run on
    `n_seeds` more seeds, neither the search's nor the fresh ones, cheapest first (after a
    miss, the next costs CONFIRM_STEP more at least), and the first whose means over all
    K + n seeds still meet every constraint, with a one-sided `level` confidence, is chosen:
    the mean less (for a >= bound; plus for <=) t(level, n - 1) x sd / sqrt(K + n), the sd of
    the n confirmation runs standing for the spread from seed to seed (0.5: the mean alone).
    Returns that row (None when none of the CONFIRM_TRIES tried did), what each try gave, and
    the runs. With `work`, each run's KPIs are kept there as it finishes, and a resumed
    confirmation reads them instead of running them again."""
    from tqdm import tqdm

    seeds = [replicate_seed(search.base_seed, CONFIRM_OFFSET + i) for i in range(n_seeds)]
    kept = ConfirmRuns(work / CONFIRMED if work else None, search.kpis)
    seen, order = set(), []
    for r in sorted((r for r in rows if r["feasible"]), key=lambda r: (r["objective"],
                                                                        r["candidate"])):
        sig = search.signature(r["values"])
        if sig not in seen:
            seen.add(sig)
            order.append(r)
    tries, runs_done = [], 0
    floor = -math.inf  # a plan next to one that missed (a bus fewer or more) would miss too
    with tqdm(total=min(len(order), CONFIRM_TRIES) * n_seeds, unit="run", desc="confirm",
              disable=not progress, dynamic_ncols=True) as bar:
        for r in order:
            if len(tries) >= CONFIRM_TRIES:
                break
            if r["objective"] < floor:
                continue
            scenario = search.scenario(r["values"])
            sig = search.signature(r["values"])
            runs = [kept.get(sig, s) for s in seeds]
            bar.update(sum(k is not None for k in runs))
            for job, k in backend.run(Job(("confirm", r["candidate"], i), scenario, s)
                                      for i, s in enumerate(seeds) if runs[i] is None):
                runs[job.key[2]] = k
                kept.add(sig, job.seed, k)
                runs_done += 1
                bar.update(1)
            means, bounds = {}, {}
            for c in search.constraints:
                xs = [k[c.kpi] for k in runs if c.kpi in k and math.isfinite(k[c.kpi])]
                m = r["means"].get(c.kpi)
                means[c.kpi] = bounds[c.kpi] = None
                if m is None or len(xs) < len(runs):
                    continue
                n = search.seeds + len(xs)
                means[c.kpi] = (m * search.seeds + math.fsum(xs)) / n
                margin = _margin(xs, n, level)
                bounds[c.kpi] = (means[c.kpi] - margin if c.sense == ">="
                                 else means[c.kpi] + margin)
            ok = all(c.met(bounds[c.kpi]) for c in search.constraints)
            tries.append({"candidate": r["candidate"], "objective": r["objective"],
                          "means": means, "bounds": bounds, "level": level, "met": ok})
            if ok:
                return r, tries, runs_done
            floor = r["objective"] * (1 + CONFIRM_STEP)
    return None, tries, runs_done


class ConfirmRuns:
    """confirm.csv in the work folder: one line per confirmation run (the plan's signature,
    the seed, its KPIs), appended and flushed as each finishes."""

    def __init__(self, path: Path | None, kpis: list[str]):
        self.kpis, self.runs = kpis, {}
        self.file = History(path, ["plan", "seed", *kpis]) if path is not None else None
        for r in self.file.load() if self.file else []:
            self.runs[(r["plan"], int(r["seed"]))] = {k: float(r[k]) for k in kpis if r[k] != ""}

    def get(self, signature: str, seed: int) -> dict | None:
        return self.runs.get((_digest(signature), seed))

    def add(self, signature: str, seed: int, kpis: dict) -> None:
        key = _digest(signature)
        self.runs[(key, seed)] = {k: kpis[k] for k in self.kpis if k in kpis}
        if self.file is not None:  # repr: read back exactly
            self.file.append({"plan": key, "seed": seed, **{
                k: repr(float(v)) for k, v in self.runs[(key, seed)].items()}})


def _digest(signature: str) -> str:
    import hashlib

    return hashlib.sha256(signature.encode("utf-8")).hexdigest()[:16]


def _margin(xs: list[float], n: int, level: float) -> float:
    """t(level, len(xs) - 1) x sd(xs) / sqrt(n): how far a mean over n runs may be from the
    plan's expected KPI at that one-sided confidence (0 at level 0.5 or with one run)."""
    from scipy import stats

    if level <= 0.5 or len(xs) < 2:
        return 0.0
    mean = math.fsum(xs) / len(xs)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    return float(stats.t.ppf(level, len(xs) - 1)) * sd / math.sqrt(n)


# ---- fewer buses --------------------------------------------------------------------------------
def cut_buses(scenario: Scenario, share: float = 0.1) -> Scenario:
    """The plan with `share` of its buses removed (rounded up), one at a time from the line
    with the most (a line keeps one): the near-minimality check of a chosen plan."""
    from .problem import line_buses, line_with_buses

    scale = scenario.shuttles.fleet_scale
    target = plan_buses(scenario) - math.ceil(share * plan_buses(scenario))
    lines = list(scenario.shuttles.lines)

    def total():
        return sum(line_buses(ln, scale) for ln in lines)

    while total() > target:
        order = sorted(range(len(lines)), key=lambda i: -line_buses(lines[i], scale))
        for i in order:
            n = lines[i].fleet()
            cut = next((c for k in range(n - 1, 0, -1)
                        if line_buses(c := line_with_buses(lines[i], k), scale)
                        < line_buses(lines[i], scale)), None)
            if cut is not None:
                lines[i] = cut
                break
        else:
            break  # every line at one bus
    out = scenario.model_copy(update={"shuttles": scenario.shuttles.model_copy(
        update={"lines": lines})})
    out.source_path = scenario.source_path
    return out

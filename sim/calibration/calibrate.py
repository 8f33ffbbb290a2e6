"""Fit chosen scenario parameters to the observations: Nelder-Mead (scipy) on common random
numbers, every candidate run over the same replicate seeds through the what-if runner (local
processes or a Dask cluster); hold-out rows are reported, never fitted."""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import InputError
from ..overrides import read_path
from ..whatif.params import Range, Source, build_scenario, range_assignment
from ..whatif.runner import Job, replicate_seeds
from .fit import FitProbe
from .observed import Observations

SHARES = ("geh_under_5_share", "holdout_geh_under_5_share", "within_15pct_share",
          "holdout_within_15pct_share", "mean_ratio")
HISTORY_COLUMNS = ["evaluation", "objective", *SHARES]
START_STEP = 0.25  # the first simplex spans a quarter of each range
X_TOL, F_TOL = 0.01, 0.002  # stop when the simplex is within 1% of each range and flat


@dataclass
class Calibration:
    source: Source
    base: list  # --set assignments every candidate carries
    ranges: list[Range]
    obs: Observations
    seeds: int = 1
    base_seed: int = 1
    budget: int = 60
    history: list[dict] = field(default_factory=list)

    def values(self, u) -> list[float]:
        """Unit-cube point -> parameter values (integers rounded)."""
        out = []
        for r, x in zip(self.ranges, u, strict=True):
            v = r.low + float(np.clip(x, 0.0, 1.0)) * (r.high - r.low)
            out.append(float(round(v)) if r.integer else v)
        return out

    def start(self) -> list[float]:
        """Each parameter's value in the scenario as it is, placed in its range."""
        scenario = build_scenario(self.source, self.base)
        out = []
        for r in self.ranges:
            value = read_path(scenario.model_dump(), r.path)
            if not isinstance(value, int | float) or isinstance(value, bool):
                value = (r.low + r.high) / 2
            out.append(min(max((float(value) - r.low) / (r.high - r.low), 0.0), 1.0))
        return out


class _BudgetSpent(Exception):
    pass


def run_calibration(cal: Calibration, backend, *, progress: bool = True) -> dict:
    """Minimise the fit objective over the parameter box; returns the best candidate with the
    history of every evaluation (in order)."""
    from scipy.optimize import minimize
    from tqdm import tqdm

    seeds = replicate_seeds(cal.base_seed, cal.seeds)  # the same for every candidate
    probe = FitProbe(cal.obs)
    cache: dict[tuple, float] = {}
    bar = tqdm(total=cal.budget, unit="candidate", desc="calibrate", disable=not progress,
               dynamic_ncols=True)

    def evaluate(u) -> float:
        values = cal.values(u)
        key = tuple(round(v, 9) for v in values)
        if key in cache:
            return cache[key]
        if len(cal.history) >= cal.budget:
            raise _BudgetSpent
        assignments = [range_assignment(r, v) for r, v in zip(cal.ranges, values, strict=True)]
        try:
            scenario = build_scenario(cal.source, [*cal.base, *assignments])
        except InputError as exc:
            raise InputError(f"candidate {', '.join(map(str, assignments))}: {exc}") from None
        n = len(cal.history)
        runs = [kpi for _, kpi in backend.run(
            Job((n, r), scenario, seeds[r], probe) for r in range(len(seeds)))]
        row = {"evaluation": n + 1, "params": dict(zip([r.path for r in cal.ranges], values,
                                                       strict=True)),
               "objective": math.fsum(k["fit.objective"] for k in runs) / len(runs)}
        for name in SHARES:
            xs = [k[f"fit.{name}"] for k in runs if f"fit.{name}" in k]
            row[name] = math.fsum(xs) / len(xs) if xs else None
        cal.history.append(row)
        cache[key] = row["objective"]
        bar.update(1)
        bar.set_postfix(objective=f"{row['objective']:.3g}",
                        best=f"{min(h['objective'] for h in cal.history):.3g}")
        return row["objective"]

    x0 = np.asarray(cal.start())
    simplex = [x0]
    for i in range(len(x0)):  # one step along each axis, inward from a bound
        x = x0.copy()
        x[i] = x[i] + START_STEP if x[i] + START_STEP <= 1.0 else x[i] - START_STEP
        simplex.append(x)
    try:
        minimize(evaluate, x0, method="Nelder-Mead", bounds=[(0.0, 1.0)] * len(x0),
                 options={"initial_simplex": np.asarray(simplex), "maxfev": cal.budget,
                          "xatol": X_TOL, "fatol": F_TOL})
        stopped = "converged" if len(cal.history) < cal.budget else "budget"
    except _BudgetSpent:
        stopped = "budget"
    finally:
        bar.close()
    best = min(cal.history, key=lambda h: (h["objective"], h["evaluation"]))
    return {"best": best, "start": cal.history[0], "evaluations": len(cal.history),
            "stopped": stopped, "seeds": seeds}


def _list_path(path: str) -> str | None:
    """The path of the list a parameter sits in (traffic.external for traffic.external.1.x)."""
    parts = path.split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[:i])
    return None


def _inline(value) -> str:
    """A value as inline TOML (tables inline, nulls left out)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_inline(v)}" for k, v in value.items()
                                if v is not None) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _toml_value(v: float, integer: bool) -> str:
    return str(int(v)) if integer else repr(round(float(v), 6))


def calibrated_toml(cal: Calibration, result: dict, out: Path) -> str:
    """The calibrated scenario: the source scenario as its base, the fitted values on top, and
    a comment block with the fit."""
    from ..ownership import STAMP

    if cal.source.is_run_folder:
        raise InputError("calibrate needs a scenario file, not a run folder")
    from ..scenario import _resolve_scenario_path

    src_path = _resolve_scenario_path(cal.source.ref).resolve()
    base = os.path.relpath(src_path, out.resolve().parent)
    best, start = result["best"], result["start"]

    def pct(x):
        return "-" if x is None else f"{100 * x:.0f}%"

    lines = [f"# {STAMP.decode()}: written by `python run.py calibrate` (summit-sim "
             f"{__version__}); edit freely.",
             f"# Calibrated against {cal.obs.folder} ({len(cal.obs.counts)} count sites, "
             f"{len(cal.obs.routes)} routes; hold-out rows never fitted),",
             f"# Nelder-Mead on common random numbers: {result['evaluations']} candidates x "
             f"{len(result['seeds'])} seed(s) {result['seeds']}, stopped: {result['stopped']}.",
             f"# objective {start['objective']:.4g} -> {best['objective']:.4g}",
             f"# counts GEH < 5: fitted {pct(start['geh_under_5_share'])} -> "
             f"{pct(best['geh_under_5_share'])}, hold-out "
             f"{pct(start['holdout_geh_under_5_share'])} -> "
             f"{pct(best['holdout_geh_under_5_share'])}",
             f"# travel times within 15%: fitted {pct(start['within_15pct_share'])} -> "
             f"{pct(best['within_15pct_share'])}, hold-out "
             f"{pct(start['holdout_within_15pct_share'])} -> "
             f"{pct(best['holdout_within_15pct_share'])}",
             "# parameter (range): start -> calibrated"]
    for r in cal.ranges:
        lines.append(f"#   {r.path} ({r.low:g} to {r.high:g}): {start['params'][r.path]:.4g} "
                     f"-> {best['params'][r.path]:.4g}")
    if cal.base:
        lines.append("# with --set " + " ".join(str(a) for a in cal.base))
    lines += ["", f"base = {json.dumps(base)}"]
    # a value inside a list (traffic.external.1.trips_per_day) is written as the whole list,
    # since a scenario's lists replace its base's rather than merge with them
    chosen = build_scenario(cal.source, [*cal.base, *(
        range_assignment(r, best["params"][r.path]) for r in cal.ranges)]).model_dump(
        mode="json", exclude_defaults=False)
    lists = sorted({_list_path(a.path) for a in [*cal.base, *cal.ranges]} - {None})
    for a in cal.base:
        if _list_path(a.path) is None:
            lines.append(f"{a.path} = {a.text}")
    for r in cal.ranges:
        if _list_path(r.path) is None:
            lines.append(f"{r.path} = {_toml_value(best['params'][r.path], r.integer)}")
    for path in lists:
        lines.append(f"{path} = {_inline(read_path(chosen, path))}")
    lines += ["", *record_lines(cal, result)]
    return "\n".join(lines) + "\n"


def record_lines(cal: Calibration, result: dict) -> list[str]:
    """The [calibration] table of the calibrated scenario (see scenario.CalibrationRecord)."""
    import datetime

    from .observed import DEFAULT_DIR

    best = result["best"]
    counts = [c for c in cal.obs.counts if c.comparable]
    routes = [r for r in cal.obs.routes if r.comparable]
    where = ("sim/data/observed" if cal.obs.folder.resolve() == DEFAULT_DIR.resolve()
             else str(cal.obs.folder))

    def share(key):
        return "" if best[key] is None else f"{key} = {round(best[key], 4)}"

    lines = ["[calibration]", f"observed = {json.dumps(where)}",
             f"date = {json.dumps(datetime.date.today().isoformat())}",
             f"seeds = {json.dumps(result['seeds'])}",
             f"count_sites = {sum(not c.source.holdout for c in counts)}",
             f"holdout_count_sites = {sum(c.source.holdout for c in counts)}",
             f"routes = {sum(not r.source.holdout for r in routes)}",
             f"holdout_routes = {sum(r.source.holdout for r in routes)}",
             *(x for x in map(share, SHARES[:4]) if x),
             "[calibration.params]",
             *(f"{json.dumps(r.path)} = {_toml_value(best['params'][r.path], r.integer)}"
               for r in cal.ranges)]
    return lines


def write_history(cal: Calibration, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([*HISTORY_COLUMNS[:2], *(r.path for r in cal.ranges), *SHARES])
        for h in cal.history:
            w.writerow([h["evaluation"], repr(h["objective"]),
                        *(repr(h["params"][r.path]) for r in cal.ranges),
                        *("" if h[s] is None else repr(h[s]) for s in SHARES)])

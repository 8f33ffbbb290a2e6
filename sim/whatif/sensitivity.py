"""`python run.py sensitivity`: global sensitivity of KPIs to parameter ranges with SALib
(the `sensitivity` extra).

- morris: N trajectories of D+1 points each (elementary effects; mu* ranks the parameters,
  sigma flags interactions and non-linearity), N*(D+1) points;
- sobol: Saltelli sampling with base size N (a power of 2), N*(D+2) points; first-order (S1) and
  total (ST) indices with bootstrap 95% confidence.

Each point runs over the same replicate seeds (common random numbers, `--seeds`, default 1) and
the KPI is their mean. Sampling and the analysis's resampling use the base seed too, so the same
command gives the same indices. The output folder (written whole or not at all) holds
indices.csv, samples.csv, sensitivity.json and sensitivity.png.
"""

from __future__ import annotations

import csv
import json
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..atomic import atomic_dir
from ..errors import InputError
from . import kpis as kpis_info
from .params import Assignment, Range, Source, build_scenario, range_assignment
from .runner import Job, cell, key_kpis, replicate_seeds

METHODS = ("morris", "sobol")
DEFAULT_SAMPLES = {"morris": 10, "sobol": 32}
# Fewer samples than these and the indices are a rough look, not a ranking to rely on:
# Morris screening uses r = 10 to 20 trajectories (Campolongo, Cariboni & Saltelli 2007, the
# design SALib's Morris sampler implements; Saltelli et al., Global Sensitivity Analysis: The
# Primer, 2008); SALib's Sobol analysis examples use a base sample of N = 512 to 1024.
ADEQUATE_SAMPLES = {"morris": 10, "sobol": 512}
_GUIDANCE = {"morris": "Morris screening uses 10 to 20 trajectories (Campolongo et al. 2007)",
             "sobol": "SALib's Sobol examples use a base sample of 512 to 1024"}
NUM_LEVELS = 4  # Morris grid levels
INDEX_COLUMNS = {"morris": ["kpi", "param", "mu", "mu_star", "mu_star_conf", "sigma"],
                 "sobol": ["kpi", "param", "S1", "S1_conf", "ST", "ST_conf"]}


def _salib():
    try:
        from SALib.analyze import morris as morris_analyze
        from SALib.analyze import sobol as sobol_analyze
        from SALib.sample import morris as morris_sample
        from SALib.sample import sobol as sobol_sample
    except ImportError:
        raise InputError("sensitivity needs SALib: pip install 'summit-sim[sensitivity]' "
                         "(or SALib)") from None
    return morris_sample, morris_analyze, sobol_sample, sobol_analyze


@dataclass
class Study:
    source: Source
    base: list[Assignment]
    ranges: list[Range]
    method: str
    samples: int
    seeds: int
    base_seed: int

    def __post_init__(self):
        if self.method not in METHODS:
            raise InputError(f"--method {self.method!r}: choose one of {', '.join(METHODS)}")
        if not self.ranges:
            raise InputError("sensitivity: give at least one --param PATH=LOW:HIGH")
        paths = [r.path for r in self.ranges]
        for p in paths:
            if paths.count(p) > 1:
                raise InputError(f"--param: parameter {p!r} is given twice")
        if self.seeds < 1:
            raise InputError(f"--seeds {self.seeds}: must be 1 or more")
        if self.samples < 2:
            raise InputError(f"--samples {self.samples}: must be 2 or more")
        if self.method == "sobol" and self.samples & (self.samples - 1):
            raise InputError(f"--samples {self.samples}: Sobol sampling needs a power of 2 "
                             "(8, 16, 32, 64, ...)")

    @property
    def problem(self) -> dict:
        return {"num_vars": len(self.ranges), "names": [r.path for r in self.ranges],
                "bounds": [[r.low, r.high] for r in self.ranges]}

    def sample(self):
        morris_sample, _, sobol_sample, _ = _salib()
        if self.method == "morris":
            return morris_sample.sample(self.problem, self.samples, num_levels=NUM_LEVELS,
                                        seed=self.base_seed)
        return sobol_sample.sample(self.problem, self.samples, calc_second_order=False,
                                   seed=self.base_seed)

    def analyze(self, x, y) -> dict:
        _, morris_analyze, _, sobol_analyze = _salib()
        if self.method == "morris":
            return morris_analyze.analyze(self.problem, x, y, num_levels=NUM_LEVELS,
                                          seed=self.base_seed)
        return sobol_analyze.analyze(self.problem, y, calc_second_order=False,
                                     seed=self.base_seed)


def sample_warning(method: str, samples: int) -> str | None:
    """A plain warning when the sample is too small for the method to rank parameters reliably
    (ADEQUATE_SAMPLES), else None."""
    need = ADEQUATE_SAMPLES[method]
    if samples >= need:
        return None
    what = f"{samples} trajectories" if method == "morris" else f"a base sample of {samples}"
    return (f"warning: {method} with {what} is a small sample: {_GUIDANCE[method]}. "
            f"The indices will be rough and their confidence wide; use --samples {need} or "
            "more before relying on the ranking.")


@dataclass
class StudyResult:
    study: Study
    points: list[list[Assignment]]
    x: object  # numpy array of the sampled points
    means: dict[str, list[float]]  # analysed KPI -> mean over replicates, per point
    kpis: list[str]
    rows: list[dict]
    seeds: list[int]
    every: dict[str, list[float | None]] = field(default_factory=dict)  # all KPIs, per point

    @property
    def warning(self) -> str | None:
        return sample_warning(self.study.method, self.study.samples)


def run_study(study: Study, backend, *, kpis: Sequence[str] = (),
              progress: bool = True) -> StudyResult:
    from tqdm import tqdm

    x = study.sample()
    points = [[range_assignment(r, v) for r, v in zip(study.ranges, row, strict=True)]
              for row in x.tolist()]
    scenarios = []
    for pt in points:
        try:
            scenarios.append(build_scenario(study.source, [*study.base, *pt]))
        except InputError as exc:
            raise InputError(f"sample point {', '.join(map(str, pt))}: {exc}") from None
    seeds = replicate_seeds(study.base_seed, study.seeds)
    jobs = [Job((i, r), sc, seeds[r]) for i, sc in enumerate(scenarios)
            for r in range(study.seeds)]
    runs: list[list] = [[None] * study.seeds for _ in points]
    chosen: list[str] | None = None
    with tqdm(total=len(jobs), unit="run", desc=f"sensitivity ({study.method})",
              disable=not progress, dynamic_ncols=True) as bar:
        for job, kpi in backend.run(jobs):
            if chosen is None:  # a KPI name that does not exist stops after the first run
                chosen = key_kpis(kpi, kpis)
                if not chosen:
                    raise InputError("sensitivity: these runs have none of the key KPIs; name "
                                     "one with --kpi")
            i, r = job.key
            runs[i][r] = kpi
            bar.update(1)
    chosen = chosen or []
    means: dict[str, list[float]] = {}
    for k in chosen:
        col = []
        for i, per in enumerate(runs):
            xs = [r[k] for r in per if k in r]
            if not xs:
                raise InputError(f"--kpi {k}: sample point {i} ({', '.join(map(str, points[i]))})"
                                 " has no value for it; choose a KPI every run reports")
            col.append(math.fsum(xs) / len(xs))
        means[k] = col
    rows = indices(study, x, means)
    return StudyResult(study, points, x, means, chosen, rows, seeds, point_means(runs))


def point_means(runs: list[list[dict[str, float]]]) -> dict[str, list[float | None]]:
    """Every KPI any run reported -> per point its mean over the replicates (None where no
    replicate of that point has it), for samples.csv."""
    names = sorted({k for per in runs for r in per for k in r})
    out = {}
    for k in names:
        col = []
        for per in runs:
            xs = [r[k] for r in per if k in r]
            col.append(math.fsum(xs) / len(xs) if xs else None)
        out[k] = col
    return out


def indices(study: Study, x, means: dict[str, list[float]]) -> list[dict]:
    import numpy as np

    rows = []
    for kpi, ys in means.items():
        res = study.analyze(x, np.asarray(ys, dtype=float))
        for j, name in enumerate(study.problem["names"]):
            row = {"kpi": kpi, "param": name}
            for col in INDEX_COLUMNS[study.method][2:]:
                row[col] = float(np.asarray(res[col], dtype=float)[j])
            rows.append(row)
    return rows


_NOTES = {
    "morris": "mu, mu* and sigma are in the KPI's own unit (column unit; a share's in share "
              "points, 0.05 = 5 percentage points). mu* is the mean absolute change in the KPI "
              "when one parameter moves across its whole --param range, the others held (the "
              "elementary effects, scaled to the full range): it ranks the parameters. mu is "
              "the same with signs (well below mu*: the effect changes direction); sigma is "
              "their spread (large against mu*: interactions or a curved response).",
    "sobol": "S1 and ST are shares of the KPI's variance over the ranges (0 to 1, no unit): S1 "
             "what the parameter explains alone, ST with its interactions; _conf is the 95% "
             "bootstrap half-width.",
}


def _unit(kpi: str) -> str:
    return kpis_info.unit(kpi) or "count"


def format_indices(result: StudyResult, width: int = 100) -> str:
    """The indices as a table, what their numbers are in, and the small-sample warning."""
    method = result.study.method
    cols = INDEX_COLUMNS[method] + (["unit"] if method == "morris" else [])
    lines = [cols] + [[r["kpi"], r["param"], *(_g(r[c]) for c in INDEX_COLUMNS[method][2:]),
                       *([_unit(r["kpi"])] if method == "morris" else [])]
                      for r in result.rows]
    widths = [max(len(line[c]) for line in lines) for c in range(len(cols))]
    head = (f"{method}: {len(result.points)} points x {len(result.seeds)} seed(s) "
            f"= {len(result.points) * len(result.seeds)} runs")
    table = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
             for line in lines]
    notes = textwrap.wrap(_NOTES[method], width)
    if result.warning:
        notes += textwrap.wrap(result.warning, width)
    return "\n".join([head, *table, "", *notes]) + "\n"


def write_study(result: StudyResult, out: Path, *, replace: bool = False,
                key: str | None = None) -> Path:
    study = result.study
    with atomic_dir(out, replace=replace, command="sensitivity", key=key) as tmp:
        with open(tmp / "indices.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            cols = INDEX_COLUMNS[study.method]
            w.writerow(cols)
            w.writerows([r["kpi"], r["param"], *(_g(r[c]) for c in cols[2:])]
                        for r in result.rows)
        with open(tmp / "samples.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            every = result.every or result.means
            w.writerow(["point", *(f"param:{r.path}" for r in study.ranges),
                        *(f"mean:{k}" for k in every)])
            for i, pt in enumerate(result.points):
                w.writerow([i, *(a.label for a in pt), *(cell(every[k][i]) for k in every)])
        spec = {"scenario": study.source.ref, "set": [str(a) for a in study.base],
                "method": study.method, "samples": study.samples,
                "params": {r.path: [r.low, r.high] for r in study.ranges},
                "kpis": result.kpis, "warning": result.warning, "base_seed": study.base_seed,
                "replicate_seeds": result.seeds, "summit_sim": __version__}
        (tmp / "sensitivity.json").write_text(json.dumps(spec, indent=2) + "\n",
                                              encoding="utf-8")
        (tmp / "indices.txt").write_text(format_indices(result), encoding="utf-8")
        from .plots import draw_indices, draw_morris

        draw_indices(result.rows, study.method, tmp / "sensitivity.png",
                     title=f"{study.source.label}: {study.method} indices")
        if study.method == "morris":
            draw_morris(result.rows, tmp / "morris.png",
                        title=f"{study.source.label}: Morris screening, "
                              f"{study.samples} trajectories")
    return Path(out)


def _g(x: float) -> str:
    return "" if x is None or math.isnan(x) else f"{x:.4g}"

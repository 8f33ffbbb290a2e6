"""`python run.py sweep`: every combination of the grid's values, each over the same replicate
seeds. One folder:

- runs.csv: one row per finished run (param:PATH columns, replicate, seed, KPIs). Appended and
  flushed as each run finishes, so a killed sweep loses at most the runs in flight; `--resume`
  skips the (parameters, seed) rows already there. When the sweep completes the file is
  rewritten, sorted, so the same sweep gives the same bytes however it was interrupted.
- sweep.json: what was swept (written when the sweep starts; `--resume` checks it).
- summary.csv: per combination and KPI, n, mean, sd and the 95% CI, held to what the KPI can
  be; none for a time of day (rewritten at the end).
- sweep.png: each key KPI against each swept parameter with 95% CI bands (rewritten at the end).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..atomic import atomic_file
from ..errors import InputError
from ..ownership import MANIFEST, check_location, stamp_folder
from . import kpis as kpi_info
from .params import Assignment, GridAxis, Source, build_scenario, check_kpi_names, combinations
from .runner import Job, cell, key_kpis, replicate_seeds

RESULTS = "runs.csv"
SPEC = "sweep.json"
SUMMARY = "summary.csv"
CHART = "sweep.png"
PARAM_PREFIX = "param:"
RUN_COLUMNS = ["replicate", "seed"]
SUMMARY_COLUMNS = ["kpi", "n", "mean", "sd", "ci95_low", "ci95_high"]


@dataclass
class Sweep:
    source: Source
    base: list[Assignment]  # --set, applied to every run
    axes: list[GridAxis]
    seeds: int
    base_seed: int
    combos: list[tuple[Assignment, ...]] = field(default_factory=list)

    def __post_init__(self):
        if self.seeds < 1:
            raise InputError(f"--seeds {self.seeds}: must be 1 or more")
        if not self.axes:
            raise InputError("sweep: give at least one --grid PATH=V1,V2,...")
        self.combos = combinations(self.axes)

    @property
    def param_columns(self) -> list[str]:
        return [PARAM_PREFIX + a.path for a in self.axes]

    def spec(self) -> dict:
        return {
            "scenario": self.source.ref,
            "set": [str(a) for a in self.base],
            "grid": {a.path: [v.label for v in a.values] for a in self.axes},
            "seeds": self.seeds,
            "base_seed": self.base_seed,
            "replicate_seeds": replicate_seeds(self.base_seed, self.seeds),
            "seed_rule": "SeedSequence(base_seed, spawn_key=(replicate,)).generate_state(1)[0]",
            "summit_sim": __version__,
        }

    def jobs(self) -> list[Job]:
        """Every run, replicate by replicate (an interrupted sweep covers the grid evenly).
        Each combination's scenario is built and validated before anything runs."""
        scenarios = []
        for combo in self.combos:
            try:
                scenarios.append(build_scenario(self.source, [*self.base, *combo]))
            except InputError as exc:
                raise InputError(f"sweep point {', '.join(map(str, combo))}: {exc}") from None
        seeds = replicate_seeds(self.base_seed, self.seeds)
        return [Job((c, r), scenarios[c], seeds[r]) for r in range(self.seeds)
                for c in range(len(self.combos))]

    def row_key(self, labels: Sequence[str], seed: str) -> tuple:
        return (*labels, seed)


class ResultsFile:
    """runs.csv, appended in place: a header, then one whole line per finished run."""

    def __init__(self, path: Path, param_columns: list[str]):
        self.path = path
        self.param_columns = param_columns
        self.kpis: list[str] = []
        self.rows: list[dict[str, str]] = []

    @property
    def columns(self) -> list[str]:
        return [*self.param_columns, *RUN_COLUMNS, *self.kpis]

    def load(self) -> None:
        """Read what a previous (maybe killed) sweep left; a last line cut short is dropped."""
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            data = data[:data.rfind(b"\n") + 1]
            with open(self.path, "r+b") as fh:  # the cut line goes before anything is appended
                fh.truncate(len(data))
        reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
        header = next(reader, None)
        if header is None:
            return
        params = [h for h in header if h.startswith(PARAM_PREFIX)]
        if params != self.param_columns or header[len(params):len(params) + 2] != RUN_COLUMNS:
            raise InputError(
                f"{self.path}: its columns ({', '.join(params) or 'no parameters'}) are not "
                f"this sweep's ({', '.join(self.param_columns)}); use another --out")
        self.kpis = header[len(params) + 2:]
        for values in reader:
            if len(values) == len(header):
                self.rows.append(dict(zip(header, values, strict=True)))

    def append(self, row: dict[str, str]) -> None:
        new = [k for k in row if k not in self.columns]
        self.rows.append(row)
        if new or not self.path.exists() or self.path.stat().st_size == 0:
            # a KPI no earlier run had (or the first run): the whole file again, with the
            # wider header, replacing the old one in one rename
            self.kpis = sorted({*self.kpis, *new})
            self.rewrite(self.rows)
            return
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            fh.write(self._line(row))
            fh.flush()
            os.fsync(fh.fileno())

    def _line(self, row: dict[str, str]) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow([row.get(c, "") for c in self.columns])
        return buf.getvalue()

    def rewrite(self, rows: list[dict[str, str]]) -> None:
        with atomic_file(self.path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(self.columns)
            w.writerows([row.get(c, "") for c in self.columns] for row in rows)
            fh.flush()
            os.fsync(fh.fileno())


@dataclass
class SweepResult:
    out: Path
    total: int
    ran: int
    skipped: int
    rows: list[dict[str, str]]
    charted: list[str]


def sweep_folder(out: Path, *, resume: bool = False, force: bool = False) -> bool:
    """Check that a sweep may write `out` (before any run); True when it holds a sweep to
    finish. A folder holding anything but a sweep's own files is refused, whatever is asked."""
    check_location(out)
    if not out.exists() or not any(out.iterdir()):
        return False
    if not _holds_only_a_sweep(out):
        entries = sorted(p.name for p in out.iterdir())
        raise InputError(f"--out {str(out)!r} holds files summit-sim did not write "
                         f"({', '.join(entries[:5])}{' ...' if len(entries) > 5 else ''}); "
                         "nothing was written or removed: choose another folder")
    if force:
        return False
    if not resume:
        raise InputError(f"--out {str(out)!r} already holds a sweep: add --resume to finish it, "
                         "--force to start it again, or choose another --out")
    return True


def _holds_only_a_sweep(out: Path) -> bool:
    names = {p.name for p in out.iterdir()}
    ours = {RESULTS, SPEC, SUMMARY, CHART, MANIFEST}
    # a rewrite interrupted before its rename leaves its temporary file: the sweep's own too
    names = {n for n in names if not (n.startswith(".") and n.endswith(".part"))}
    if not names <= ours or SPEC not in names or any(p.is_dir() for p in out.iterdir()):
        return False
    try:
        spec = json.loads((out / SPEC).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(spec, dict) and "grid" in spec and "scenario" in spec


def run_sweep(sweep: Sweep, out: Path, backend, *, resume: bool = False, force: bool = False,
              progress: bool = True, kpis: Sequence[str] = (), on_result=None) -> SweepResult:
    """Run what is missing from out/runs.csv, then rewrite it sorted with the summary and the
    chart. `on_result(n_done)` is called after each run is on disk (tests stop sweeps with it).
    `force` starts an earlier sweep in `out` again (its files only are removed)."""
    out = Path(out)
    jobs = sweep.jobs()  # validates every point before anything is written
    check_kpi_names(kpis, jobs[0].scenario)
    finishing = sweep_folder(out, resume=resume, force=force)
    results = ResultsFile(out / RESULTS, sweep.param_columns)
    spec_path = out / SPEC
    if finishing:
        _check_spec(spec_path, sweep.spec())
        if results.path.exists():
            results.load()
    check_backend(backend)  # an unreachable cluster stops the sweep before anything is written
    if not finishing and out.exists():  # an empty folder, or an earlier sweep started again
        for name in (RESULTS, SPEC, SUMMARY, CHART, MANIFEST):
            (out / name).unlink(missing_ok=True)
    created = not out.exists()
    spec_written = not spec_path.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        with atomic_file(spec_path) as tmp:
            tmp.write_text(json.dumps(sweep.spec(), indent=2) + "\n", encoding="utf-8")
        done = {sweep.row_key([r[c] for c in sweep.param_columns], r["seed"])
                for r in results.rows}
        todo = [j for j in jobs if _job_key(sweep, j) not in done]
        skipped = len(jobs) - len(todo)
        _run_jobs(sweep, backend, jobs, todo, skipped, results, kpis, progress, on_result)
    except InputError:
        # a failed start (the first run found a --kpi missing, the cluster went away before
        # any run finished) leaves nothing behind
        if not results.rows and spec_written:
            spec_path.unlink(missing_ok=True)
            if created and not any(out.iterdir()):
                out.rmdir()
        raise


    rows = sorted(results.rows, key=lambda r: _sort_key(sweep, r))
    results.rewrite(rows)
    charted = key_kpis(results.kpis, kpis)
    write_summary(sweep, rows, results.kpis, out / SUMMARY)
    from .plots import draw_sweep

    draw_sweep(sweep_points(sweep, rows, charted), [a.path for a in sweep.axes], charted,
               out / CHART, title=f"{sweep.source.label}: mean and 95% CI over {sweep.seeds} "
                                  f"seed{'s' if sweep.seeds > 1 else ''} ({len(rows)} runs)")
    stamp_folder(out, "sweep")
    return SweepResult(out, len(jobs), len(todo), skipped, rows, charted)


def check_backend(backend) -> None:
    """A Dask backend's scheduler must answer before a sweep writes anything."""
    address = getattr(backend, "address", None)
    if address is None:
        return
    from distributed import Client

    try:
        Client(address, timeout=f"{getattr(backend, 'connect_timeout_s', 20)}s",
               set_as_default=False).close()
    except (OSError, TimeoutError) as exc:
        raise InputError(f"--scheduler {address!r}: cannot reach the Dask scheduler "
                         f"({exc})") from None


def _run_jobs(sweep, backend, jobs, todo, skipped, results, kpis, progress, on_result) -> None:
    from tqdm import tqdm

    with tqdm(total=len(jobs), initial=skipped, unit="run", desc="sweep", disable=not progress,
              dynamic_ncols=True) as bar:
        for n, (job, kpi) in enumerate(backend.run(todo), 1):
            if n == 1 and not results.rows:
                key_kpis([*kpi, *results.kpis], kpis)  # before the first row is written
            combo_index, replicate = job.key
            row = {c: v.label for c, v in zip(sweep.param_columns, sweep.combos[combo_index],
                                               strict=True)}
            row.update(replicate=str(replicate), seed=str(job.seed))
            row.update({k: cell(v) for k, v in kpi.items()})
            results.append(row)
            bar.update(1)
            if on_result is not None:
                on_result(n)


def _job_key(sweep: Sweep, job: Job) -> tuple:
    combo_index, _ = job.key
    return sweep.row_key([v.label for v in sweep.combos[combo_index]], str(job.seed))


def _check_spec(path: Path, spec: dict) -> None:
    if not path.exists():
        return
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return
    for key in ("scenario", "set", "base_seed"):
        if old.get(key) != spec[key]:
            raise InputError(f"--resume: {path} records {key} = {old.get(key)!r}, this sweep "
                             f"has {spec[key]!r}; use another --out for a different sweep")
    if list(old.get("grid", {})) != list(spec["grid"]):
        raise InputError(f"--resume: {path} swept {', '.join(old.get('grid', {}))}, this sweep "
                         f"sweeps {', '.join(spec['grid'])}; use another --out")


def _sort_key(sweep: Sweep, row: dict[str, str]) -> tuple:
    key = []
    for axis, col in zip(sweep.axes, sweep.param_columns, strict=True):
        labels = [v.label for v in axis.values]
        # values of an earlier, wider sweep in the same folder go after this grid's
        key.append((0, labels.index(row[col]), "") if row[col] in labels else (1, 0, row[col]))
    return (*key, int(row["replicate"]), int(row["seed"]))


def _floats(rows: list[dict[str, str]], kpi: str) -> list[float]:
    out = []
    for r in rows:
        text = r.get(kpi, "")
        if text:
            x = float(text)
            if math.isfinite(x):
                out.append(x)
    return out


def group_rows(sweep: Sweep, rows: list[dict[str, str]]) -> list[tuple[tuple[str, ...], list]]:
    """Rows by parameter combination, in the (sorted) order of the rows."""
    groups: dict[tuple[str, ...], list] = {}
    for r in rows:
        groups.setdefault(tuple(r[c] for c in sweep.param_columns), []).append(r)
    return list(groups.items())


def write_summary(sweep: Sweep, rows, kpis: Sequence[str], path: Path) -> None:
    with atomic_file(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([*sweep.param_columns, *SUMMARY_COLUMNS])
        for labels, group in group_rows(sweep, rows):
            for kpi in kpis:
                xs = _floats(group, kpi)
                if not xs:
                    continue
                e = kpi_info.estimate(kpi, xs)
                w.writerow([*labels, kpi, e.n, *(_g(x) for x in (e.mean, e.sd, e.low, e.high))])


def _g(x: float) -> str:
    return "" if math.isnan(x) else f"{x:.6g}"


def sweep_points(sweep: Sweep, rows, charted: Sequence[str]) -> list[dict]:
    """Per combination: its parameter values and each KPI's estimate (for the chart)."""
    points = []
    for labels, group in group_rows(sweep, rows):
        est = {k: kpi_info.estimate(k, xs) for k in charted if (xs := _floats(group, k))}
        points.append({"params": dict(zip([a.path for a in sweep.axes], labels, strict=True)),
                       "kpis": est})
    return points

"""`python run.py compare A B [...]`: scenarios (or finished run folders), each followed by its own
PATH=VALUE overrides, run over the same replicate seeds; every KPI's mean and 95% CI, and each
scenario's difference from A (Welch 95% CI, significant when it excludes 0).

The output folder (written whole or not at all) holds compare.csv (one row per KPI and scenario),
runs.csv (one row per run), table.txt (the printed table), compare.json (what was compared, the
seeds) and compare.png (key KPIs side by side with CI bars).
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..atomic import atomic_dir
from ..errors import InputError
from ..ownership import run_key
from . import stats
from .params import Assignment, Source, build_scenario, parse_assignment, source
from .runner import Job, cell, key_kpis, replicate_seeds

COMPARE_COLUMNS = ["kpi", "scenario", "label", "n", "mean", "sd", "ci95_low", "ci95_high",
                   "diff_from_a", "diff_ci95_low", "diff_ci95_high", "p_value", "significant"]


@dataclass(frozen=True)
class Subject:
    source: Source
    assignments: tuple[Assignment, ...]

    @property
    def label(self) -> str:
        return " ".join([self.source.label, *map(str, self.assignments)])


def parse_subjects(items: Sequence[str], common: Sequence[str] = ()) -> list[Subject]:
    """`A [PATH=VALUE ...] B [PATH=VALUE ...] ...`: a token with '=' that is not an existing
    file or folder overrides the scenario before it; --set values apply to all of them."""
    shared = [parse_assignment(t) for t in common]
    subjects: list[tuple[Source, list[Assignment]]] = []
    for tok in items:
        if "=" in tok and not Path(tok).exists():
            if not subjects:
                raise InputError(f"compare: {tok!r} comes before any scenario; write the "
                                 "scenario first, then its PATH=VALUE overrides")
            subjects[-1][1].append(parse_assignment(tok, "compare override"))
        else:
            subjects.append((source(tok), []))
    if len(subjects) < 2:
        raise InputError(f"compare: needs at least two scenarios or run folders (got "
                         f"{len(subjects)}); e.g. compare som1_day som1_day shuttles.fleet=30")
    return [Subject(src, (*shared, *own)) for src, own in subjects]


@dataclass
class CompareResult:
    subjects: list[Subject]
    seeds: list[int]
    base_seed: int
    runs: list[list[dict[str, float]]]  # per subject, per replicate
    kpis: list[str]

    def values(self, s: int, kpi: str) -> list[float]:
        return [r[kpi] for r in self.runs[s] if kpi in r and math.isfinite(r[kpi])]

    def estimates(self) -> dict[str, dict[str, stats.Estimate]]:
        out = {}
        for s, subj in enumerate(self.subjects):
            out[subj.label] = {k: stats.ci(xs) for k in self.kpis if (xs := self.values(s, k))}
        return out

    def table(self) -> list[dict]:
        rows = []
        for kpi in self.kpis:
            a = self.values(0, kpi)
            for s, subj in enumerate(self.subjects):
                xs = self.values(s, kpi)
                if not xs:
                    continue
                e = stats.ci(xs)
                row = {"kpi": kpi, "scenario": _letter(s), "label": subj.label, "estimate": e,
                       "diff": None}
                if s > 0 and a:
                    row["diff"] = stats.welch(a, xs)
                rows.append(row)
        return rows


def _letter(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else f"S{i + 1}"


def run_compare(subjects: list[Subject], *, seeds: int, base_seed: int | None, backend,
                progress: bool = True) -> CompareResult:
    from tqdm import tqdm

    if seeds < 1:
        raise InputError(f"--seeds {seeds}: must be 1 or more")
    scenarios = []
    for subj in subjects:
        try:
            scenarios.append(build_scenario(subj.source, subj.assignments))
        except InputError as exc:
            raise InputError(f"{subj.label}: {exc}") from None
    base = scenarios[0].seed if base_seed is None else base_seed
    seed_list = replicate_seeds(base, seeds)
    jobs = [Job((s, r), sc, seed_list[r]) for r in range(seeds)
            for s, sc in enumerate(scenarios)]
    runs: list[list] = [[None] * seeds for _ in subjects]
    with tqdm(total=len(jobs), unit="run", desc="compare", disable=not progress,
              dynamic_ncols=True) as bar:
        for job, kpi in backend.run(jobs):
            s, r = job.key
            runs[s][r] = kpi
            bar.update(1)
    kpis = sorted({k for per in runs for r in per for k in r})
    return CompareResult(subjects, seed_list, base, runs, kpis)


# ---- presenting ------------------------------------------------------------------------------
def fmt(x: float, signed: bool = False) -> str:
    if x is None or math.isnan(x):
        return "-"
    sign = "+" if signed else ""
    if x == 0:
        return f"{sign}0" if signed else "0"
    if abs(x) >= 10_000:
        return f"{x:{sign},.0f}"
    return f"{x:{sign}.4g}"


def _est_text(e: stats.Estimate) -> str:
    if math.isnan(e.low):
        return fmt(e.mean)
    return f"{fmt(e.mean)} [{fmt(e.low)}, {fmt(e.high)}]"


def _diff_text(d: stats.Difference | None) -> str:
    if d is None:
        return ""
    if math.isnan(d.low):
        return fmt(d.diff, True)
    return f"{fmt(d.diff, True)} [{fmt(d.low, True)}, {fmt(d.high, True)}]" + \
        (" *" if d.significant else "")


def format_table(result: CompareResult, kpis: Sequence[str] | None = None) -> str:
    """Text table: per KPI, each scenario's mean [95% CI] and, after A, its difference from A
    [95% CI], '*' where significant at 5%."""
    by_kpi: dict[str, dict[str, dict]] = {}
    for row in result.table():
        by_kpi.setdefault(row["kpi"], {})[row["scenario"]] = row
    letters = [_letter(i) for i in range(len(result.subjects))]
    header = ["KPI"]
    for i, letter in enumerate(letters):
        header.append(f"{letter} mean [95% CI]")
        if i:
            header.append(f"{letter} - A [95% CI]")
    lines = [header]
    for kpi in kpis if kpis is not None else result.kpis:
        rows = by_kpi.get(kpi)
        if not rows:
            continue
        line = [kpi]
        for i, letter in enumerate(letters):
            row = rows.get(letter)
            line.append(_est_text(row["estimate"]) if row else "-")
            if i:
                line.append(_diff_text(row["diff"]) if row else "")
        lines.append(line)
    widths = [max(len(r[c]) for r in lines) for c in range(len(header))]
    text = [f"{len(result.seeds)} seeds from base seed {result.base_seed}; "
            "* = difference from A significant at 5% (Welch t)"]
    text += [f"{letter}: {s.label}" for letter, s in zip(letters, result.subjects, strict=True)]
    text.append("")
    text += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in lines]
    return "\n".join(text) + "\n"


def default_out(subjects: Sequence[Subject]) -> Path:
    slug = "-vs-".join(re.sub(r"[^a-z0-9]+", "_", s.label.lower()).strip("_") or "run"
                       for s in subjects)
    if len(slug) > 100:  # long lists of overrides: a digest keeps their folders apart
        slug = slug[:93] + "-" + run_key(*(s.label for s in subjects))[:6]
    return Path("outputs") / f"compare-{slug}"


def write_compare(result: CompareResult, out: Path, *, chart_kpis: Sequence[str] = (),
                  replace: bool = False, key: str | None = None) -> Path:
    out = Path(out)
    charted = key_kpis(result.kpis, chart_kpis)
    with atomic_dir(out, replace=replace, command="compare", key=key) as tmp:
        with open(tmp / "compare.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(COMPARE_COLUMNS)
            for row in result.table():
                e, d = row["estimate"], row["diff"]
                w.writerow([row["kpi"], row["scenario"], row["label"], e.n,
                            *(_g(x) for x in (e.mean, e.sd, e.low, e.high)),
                            *((_g(d.diff), _g(d.low), _g(d.high), _g(d.p_value),
                               "yes" if d.significant else "no") if d else [""] * 5)])
        with open(tmp / "runs.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["scenario", "label", "replicate", "seed", *result.kpis])
            for s, subj in enumerate(result.subjects):
                for r, kpi in enumerate(result.runs[s]):
                    w.writerow([_letter(s), subj.label, r, result.seeds[r],
                                *(cell(kpi.get(k)) for k in result.kpis)])
        (tmp / "table.txt").write_text(format_table(result), encoding="utf-8")
        spec = {"scenarios": [{"scenario": _letter(s), "label": subj.label,
                               "source": subj.source.ref,
                               "set": [str(a) for a in subj.assignments]}
                              for s, subj in enumerate(result.subjects)],
                "base_seed": result.base_seed, "replicate_seeds": result.seeds,
                "seed_rule": "SeedSequence(base_seed, spawn_key=(replicate,))"
                             ".generate_state(1)[0]",
                "summit_sim": __version__}
        (tmp / "compare.json").write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        from .plots import draw_compare

        draw_compare([s.label for s in result.subjects], charted, result.estimates(),
                     tmp / "compare.png",
                     title=f"Key KPIs, mean and 95% CI over {len(result.seeds)} seeds")
    return out


def _g(x: float) -> str:
    return "" if x is None or math.isnan(x) else f"{x:.6g}"

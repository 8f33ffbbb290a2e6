"""`python run.py compare A B [...]`: scenarios (or finished run folders), each followed by its own
PATH=VALUE overrides, run over the same replicate seeds; every KPI's mean and 95% CI (held to
what the KPI can be: kpis.py), and each scenario's difference from A (Welch 95% CI, significant
when it excludes 0). The console shows the briefing KPIs (kpis.BRIEFING), --all every one.

The output folder (written whole or not at all) holds compare.csv (one row per KPI and scenario),
runs.csv (one row per run), table.txt (the table with every KPI), compare.json (what was
compared, the seeds) and compare.png (key KPIs side by side with CI bars).
"""

from __future__ import annotations

import csv
import json
import math
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..atomic import atomic_dir
from ..errors import InputError
from ..ownership import run_key
from . import kpis, stats
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
        """Per scenario label and KPI: mean and 95% CI, held to what the KPI can be."""
        out = {}
        for s, subj in enumerate(self.subjects):
            out[subj.label] = {k: kpis.estimate(k, xs) for k in self.kpis
                               if (xs := self.values(s, k))}
        return out

    def table(self) -> list[dict]:
        """One row per KPI and scenario: its estimate and, after A, its difference from A."""
        rows = []
        for kpi in self.kpis:
            a = self.values(0, kpi)
            for s, subj in enumerate(self.subjects):
                xs = self.values(s, kpi)
                if not xs:
                    continue
                row = {"kpi": kpi, "scenario": _letter(s), "label": subj.label,
                       "estimate": kpis.estimate(kpi, xs), "diff": None}
                if s > 0 and a:
                    row["diff"] = kpis.difference(kpi, a, xs)
                rows.append(row)
        return rows


def _letter(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else f"S{i + 1}"


def run_compare(subjects: list[Subject], *, seeds: int, base_seed: int | None, backend,
                progress: bool = True) -> CompareResult:
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
    runs, kpis = run_side_by_side(scenarios, seed_list, backend, progress=progress)
    return CompareResult(subjects, seed_list, base, runs, kpis)


def run_side_by_side(scenarios: list, seeds: list[int], backend, *, probe=None,
                     desc: str = "compare", progress: bool = True) -> tuple[list[list], list]:
    """Every scenario on every seed (the same seeds for all: common random numbers), seed by
    seed with the first scenario first; each one's KPIs per seed, and every KPI name seen."""
    from tqdm import tqdm

    jobs = [Job((s, r), sc, seed, probe) for r, seed in enumerate(seeds)
            for s, sc in enumerate(scenarios)]
    runs: list[list] = [[None] * len(seeds) for _ in scenarios]
    with tqdm(total=len(jobs), unit="run", desc=desc, disable=not progress,
              dynamic_ncols=True) as bar:
        for job, kpi in backend.run(jobs):
            s, r = job.key
            runs[s][r] = kpi
            bar.update(1)
    return runs, sorted({k for per in runs for r in per for k in r})


# ---- presenting ------------------------------------------------------------------------------
WIDTH = 100  # the printed table fits this many characters (names longer than NAME_WIDTH aside)
NAME_WIDTH = 32  # a longer KPI name gets a line of its own above its values


def shown_kpis(result: CompareResult, chosen: Sequence[str] = (), every: bool = False
               ) -> list[str]:
    """The KPIs the console shows: those chosen, every one with `every`, else the briefing's
    (every one when the runs have none of them)."""
    if every:
        return list(result.kpis)
    if chosen:
        return key_kpis(result.kpis, chosen)
    return kpis.briefing(result.kpis) or list(result.kpis)


def _preamble(result: CompareResult, width: int) -> list[str]:
    """What the table shows and how to read it, then the scenarios by letter, wrapped."""
    lines = textwrap.wrap(
        f"{len(result.seeds)} seeds from base seed {result.base_seed}: mean [95% CI]; vs A: "
        "difference from A [95% CI], * significant at 5% (Welch t). Shares in %, their "
        "differences in percentage points (pp); intervals stop at 0 and 100%; times of day "
        "have none.", width)
    for letter, subj in zip(map(_letter, range(len(result.subjects))), result.subjects,
                            strict=True):
        lines += textwrap.wrap(f"{letter}: {subj.label}", width, subsequent_indent="   ")
    return [*lines, ""]


def _rows(result: CompareResult, shown: Sequence[str]) -> list[tuple[str, list[list[str]]]]:
    """Per KPI shown: its label and one [letter, estimate, difference] line per scenario."""
    by_kpi: dict[str, dict[str, dict]] = {}
    for row in result.table():
        by_kpi.setdefault(row["kpi"], {})[row["scenario"]] = row
    out = []
    named = kpis.label if set(shown) <= set(kpis.BRIEFING) else str  # one naming per table
    for kpi in shown:
        rows = by_kpi.get(kpi)
        if not rows:
            continue
        lines = [[letter, kpis.estimate_text(kpi, row["estimate"]),
                  kpis.difference_text(kpi, row["diff"])] for letter, row in rows.items()]
        out.append((named(kpi), lines))
    return out


def format_table(result: CompareResult, shown: Sequence[str] | None = None, *,
                 width: int = WIDTH) -> str:
    """Text table: per KPI a line per scenario with its mean [95% CI] and, after A, its
    difference from A [95% CI], '*' where significant at 5%. Narrow for any number of
    scenarios: scenarios go down, not across."""
    groups = _rows(result, result.kpis if shown is None else shown)
    name_w = min(NAME_WIDTH, max((len(name) for name, _ in groups), default=3))
    cells = [line for _, lines in groups for line in lines]
    est_w = max([len("mean [95% CI]"), *(len(c[1]) for c in cells)])
    text = _preamble(result, width)
    text.append(f"{'KPI':<{name_w}}  {'':<3}  {'mean [95% CI]':<{est_w}}  vs A [95% CI]")
    for name, lines in groups:
        if len(name) > name_w:
            text.append(name)
            name = ""
        for letter, est, diff in lines:
            text.append(f"{name:<{name_w}}  {letter:<3}  {est:<{est_w}}  {diff}".rstrip())
            name = ""
    return "\n".join(text) + "\n"


def default_out(subjects: Sequence[Subject]) -> Path:
    slug = "-vs-".join(re.sub(r"[^a-z0-9]+", "_", s.label.lower()).strip("_") or "run"
                       for s in subjects)
    if len(slug) > 100:  # long lists of overrides: a digest keeps their folders apart
        slug = slug[:93] + "-" + run_key(*(s.label for s in subjects))[:6]
    return Path("outputs") / f"compare-{slug}"


def write_compare_csv(result: CompareResult, path: Path) -> None:
    """compare.csv: every KPI of every scenario, its estimate and its difference from A."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COMPARE_COLUMNS)
        for row in result.table():
            e, d = row["estimate"], row["diff"]
            w.writerow([row["kpi"], row["scenario"], row["label"], e.n,
                        *(_g(x) for x in (e.mean, e.sd, e.low, e.high)),
                        *((_g(d.diff), _g(d.low), _g(d.high), _g(d.p_value),
                           "yes" if d.significant else "no") if d else [""] * 5)])


def write_compare(result: CompareResult, out: Path, *, chart_kpis: Sequence[str] = (),
                  replace: bool = False, key: str | None = None) -> Path:
    out = Path(out)
    charted = key_kpis(result.kpis, chart_kpis)
    with atomic_dir(out, replace=replace, command="compare", key=key) as tmp:
        write_compare_csv(result, tmp / "compare.csv")
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

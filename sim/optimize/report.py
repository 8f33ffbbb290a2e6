"""What an optimisation writes: the chosen plan as a scenario file a planner edits, the search
history picture, and the chosen plan against the shipped one on fresh seeds (compare style)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..planning.scenario_file import _hm, line_vehicle_fields
from ..whatif import kpis as kpi_info
from ..whatif.compare import (
    CompareResult,
    Subject,
    format_table,
    run_side_by_side,
    write_compare_csv,
)
from ..whatif.params import Source


def dump(data) -> str:
    """optimize.json's text."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _base_reference(scenario) -> str:
    from ..planning.scenario_file import _base_reference as ref

    return ref(scenario)


def set_lines(sets, chosen, skip: str) -> list[str]:
    """The --set values as TOML: a plain value as given; a value inside a list (closures.0.end)
    as the whole list, since a scenario's lists replace its base's (as calibrate writes them)."""
    from ..calibration.calibrate import _inline, _list_path
    from ..overrides import read_path

    out, lists = [], []
    for a in sets:
        if a.path.startswith(skip):
            continue
        where = _list_path(a.path)
        if where is None:
            out.append(f"{a.path} = {_inline(a.value)}")
        elif where not in lists:
            lists.append(where)
    dumped = chosen.model_dump(mode="json")
    out += [f"{p} = {_inline(read_path(dumped, p))}" for p in lists]
    return out


def shuttle_plan_toml(source_scenario, chosen, header: list[str], sets) -> str:
    """The chosen plan: base = the scenario optimised, the --set values, then every line
    (a scenario's lists replace its base's, so all lines are written)."""
    from ..ownership import STAMP

    lines = [f"# {STAMP.decode()}: a shuttle plan written by `python run.py optimize`; edit "
             "freely, then: python run.py run THIS_FILE", *(f"# {h}" for h in header), "",
             f"base = {_q(_base_reference(source_scenario))}",
             f"name = {_q(source_scenario.name + ' (optimised shuttle plan)')}"]
    lines += set_lines(sets, chosen, "shuttles.lines")
    if chosen.shuttles.fleet_scale != source_scenario.shuttles.fleet_scale:
        lines.append(f"shuttles.fleet_scale = {chosen.shuttles.fleet_scale!r}")
    lines.append("")
    for ln in chosen.shuttles.lines:
        lines += ["[[shuttles.lines]]", f"name = {_q(ln.name)}",
                  "stops = [" + ", ".join(_q(s) for s in ln.stops) + "]",
                  f'start = "{_hm(ln.start)}"', f'end = "{_hm(ln.end)}"']
        if ln.vehicles is not None:
            lines += [f"headway_min = {ln.headway_min:g}", f"vehicles = {ln.vehicles}"]
        if ln.periods:
            lines.append("periods = [")
            lines += [f'  {{ start = "{_hm(p.start)}", end = "{_hm(p.end)}", headway_min = '
                      f"{p.headway_min:g}, vehicles = {p.vehicles} }}," for p in ln.periods]
            lines.append("]")
        for fld in ("extra_runs", "extra_runs_back"):
            runs = getattr(ln, fld)
            if runs:
                lines.append(f"{fld} = [" + ", ".join(f'"{_hm(t)}"' for t in runs) + "]")
        if ln.extra_vehicles:
            lines.append(f"extra_vehicles = {ln.extra_vehicles}")
        lines += [*line_vehicle_fields(ln), ""]
    return "\n".join(lines)


def staging_plan_toml(source_scenario, chosen, header: list[str], sets) -> str:
    """The chosen staging: base = the scenario optimised, the --set values, then every post."""
    from ..ownership import STAMP

    lines = [f"# {STAMP.decode()}: an emergency staging plan written by `python run.py "
             "optimize`; edit freely, then: python run.py run THIS_FILE",
             *(f"# {h}" for h in header), "",
             f"base = {_q(_base_reference(source_scenario))}",
             f"name = {_q(source_scenario.name + ' (optimised staging)')}"]
    lines += set_lines(sets, chosen, "emergency.staging")
    lines.append("")
    for p in chosen.emergency.staging:
        units = ", ".join(f"{t} = {n}" for t, n in p.units.items())
        lines += ["[[emergency.staging]]", f"name = {_q(p.name)}", f"place = {_q(p.place)}",
                  f'start = "{_hm(p.start)}"', f'end = "{_hm(p.end)}"',
                  f"units = {{ {units} }}", ""]
    return "\n".join(lines)


# ---- on fresh seeds ----------------------------------------------------------------------------
def run_fresh(named: list[tuple[str, object]], seeds: list[int], base_seed: int, backend,
              probe=None, progress: bool = True) -> CompareResult:
    """Each (label, scenario) over the same fresh seeds, as `compare` runs them (A first)."""
    runs, kpis = run_side_by_side([sc for _, sc in named], seeds, backend, probe=probe,
                                  desc="fresh seeds", progress=progress)
    subjects = [Subject(Source(label, label), ()) for label, _ in named]
    return CompareResult(subjects, seeds, base_seed, runs, kpis)


def write_compare_files(result: CompareResult, folder: Path, shown: list[str]) -> str:
    """compare.csv (every KPI) and compare.txt (the KPIs shown); returns the text."""
    from .search import FRESH_OFFSET

    write_compare_csv(result, folder / "compare.csv")

    text = (f"Fresh seeds: replicates {FRESH_OFFSET:,} to {FRESH_OFFSET + len(result.seeds) - 1:,}"
            f" of base seed {result.base_seed} ({', '.join(map(str, result.seeds))}), never "
            "used by the search.\n")
    text += format_table(result, [k for k in shown if k in result.kpis])
    (folder / "compare.txt").write_text(text, encoding="utf-8")
    return text


def constraint_lines(result: CompareResult, constraints) -> list[str]:
    """Per plan and constraint: the mean on fresh seeds with its 95% CI, and whether the mean
    (and the whole interval) meets it."""
    est = result.estimates()
    out = []
    for subj in result.subjects:
        for c in constraints:
            e = est.get(subj.label, {}).get(c.kpi)
            if e is None:
                out.append(f"{subj.label}: {c}: not in the runs")
                continue
            ok = c.met(e.mean)
            lo, hi = e.low, e.high
            sure = "" if math.isnan(lo) else (" (its 95% CI too)" if c.met(
                lo if c.sense == ">=" else hi) else " (not its whole 95% CI)")
            out.append(f"{subj.label}: {c.kpi} {kpi_info.estimate_text(c.kpi, e)} vs "
                       f"{c.sense} {kpi_info.value_text(c.kpi, c.bound)}: "
                       f"{'met' if ok else 'NOT met'}{sure if ok else ''}")
    return out


def line_use(scenario, est: dict, shipped=None) -> list[dict]:
    """Where a plan's buses went: per line its buses (and the shipped plan's), the riders
    boarding it (the fresh seeds' mean) and the boardings a bus, the question a planner asks
    of a plan whose buses are many and whose load factor is low."""
    from .problem import line_buses

    scale = scenario.shuttles.fleet_scale
    before = {ln.name: line_buses(ln, shipped.shuttles.fleet_scale)
              for ln in shipped.shuttles.lines} if shipped is not None else {}
    out = []
    for ln in scenario.shuttles.lines:
        e = est.get(f"shuttles.by_line.{ln.name}.boardings")
        buses = line_buses(ln, scale)
        out.append({"line": ln.name, "buses": buses, "shipped_buses": before.get(ln.name),
                    "boardings": None if e is None else round(e.mean, 1),
                    "boardings_per_bus": None if e is None or not buses
                    else round(e.mean / buses, 1)})
    return out


def line_use_lines(rows: list[dict]) -> list[str]:
    """The table of `line_use` as console lines."""
    width = max((len(r["line"]) for r in rows), default=4)
    out = [f"{'line':<{width}}  buses  shipped  boardings  a bus   (boardings: fresh-seed "
           "means)"]
    for r in rows:
        shipped = "-" if r["shipped_buses"] is None else f"{r['shipped_buses']:g}"
        board = "-" if r["boardings"] is None else f"{r['boardings']:,.0f}"
        per = "-" if r["boardings_per_bus"] is None else f"{r['boardings_per_bus']:,.0f}"
        out.append(f"{r['line']:<{width}}  {r['buses']:>5}  {shipped:>7}  {board:>9}  "
                   f"{per:>5}")
    return out


# ---- pictures --------------------------------------------------------------------------------
def draw_shuttle_history(rows, search, best, path: Path, title: str,
                         shipped_cost: float | None = None) -> None:
    """Cost of every candidate against each constrained KPI (mean over the search's seeds), a
    panel each: plans meeting every constraint and plans missing one apart, the start plan
    ringed, the chosen starred, the bound drawn, the trade-off front joined."""
    from matplotlib.figure import Figure

    from ..whatif.plots import _save
    from .search import front

    shown = search.constraints[:4]
    fig = Figure(figsize=(6.2 * len(shown) if len(shown) > 1 else 8, 5.2))
    axes = fig.subplots(1, len(shown), squeeze=False)[0]
    unit = "buses" if search.objective == "buses" else "bus-hours"
    for ax, c in zip(axes, shown, strict=True):
        kpi = c.kpi
        k = 100 if kpi_info.kind(kpi) == kpi_info.SHARE else 1
        pts = [r for r in rows if r["means"].get(kpi) is not None]
        for feas, colour, label in ((True, "#1b7837", "meets every constraint"),
                                    (False, "#b2182b", "misses a constraint")):
            xs = [r["objective"] for r in pts if r["feasible"] == feas]
            ys = [k * r["means"][kpi] for r in pts if r["feasible"] == feas]
            ax.scatter(xs, ys, s=28, c=colour, alpha=0.8, label=f"{label} ({len(xs)})",
                       zorder=3)
        fr = front(pts, kpi, c.sense == ">=")
        if len(fr) > 1:
            ax.plot([r["objective"] for r in fr], [k * r["means"][kpi] for r in fr],
                    color="#555", lw=1, ls="--", label="trade-off front (this KPI)", zorder=2)
        for r, style in ((rows[0], dict(s=150, facecolors="none", edgecolors="#2166ac",
                                        lw=1.6, label="start plan")),
                         (best, dict(s=230, marker="*", c="#fdb863", edgecolors="black",
                                     lw=0.8, label="chosen plan"))):
            if r["means"].get(kpi) is not None:
                ax.scatter([r["objective"]], [k * r["means"][kpi]], zorder=5, **style)
        ax.axhline(k * c.bound, color="#b2182b", lw=1.2, ls=":",
                   label=f"bound: {c.sense} {k * c.bound:g}{'%' if k == 100 else ''}")
        if shipped_cost is not None:
            ax.axvline(shipped_cost, color="#8c8c8c", lw=1.2, ls="-.",
                       label=f"shipped plan: {shipped_cost:g} {unit}")
        ax.set_xlabel(f"{'line buses in all' if unit == 'buses' else 'bus-hours scheduled'} "
                      f"({unit}; fewer is cheaper)")
        ax.set_ylabel(kpi_info.axis_label(kpi) + f", mean of {search.seeds} seed"
                      f"{'s' if search.seeds > 1 else ''}")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7.5, loc="best")
        ax.set_title(f"{kpi_info.label(kpi)} {c.sense} {k * c.bound:g}"
                     f"{'%' if k == 100 else ''}", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def draw_staging(labels, types, per_type, floor, path: Path, title: str) -> None:
    """Per coverage type, venue and city coverage of the shipped and the proposed staging
    (mean and 95% CI over the fresh seeds): a panel for the venues, one for the city with its
    floor, so a planner sees at a glance that no type lost."""
    import numpy as np
    from matplotlib.figure import Figure

    from ..whatif.plots import _save

    fig = Figure(figsize=(9.5, 4.8))
    axes = fig.subplots(1, 2, sharey=True)
    x = np.arange(len(types))
    width = 0.8 / len(labels)
    colours = ["#8c8c8c", "#2166ac"]
    panels = (("venue", "venue perimeters (the headline: the lower type)"),
              ("city", "city (residents), against the floor"))
    for ax, (kind, name) in zip(axes, panels, strict=True):
        for i, lab in enumerate(labels):
            es = [per_type[t][lab][kind] for t in types]
            means = [100 * e.mean for e in es]
            err = [[0 if math.isnan(e.low) else 100 * (e.mean - e.low) for e in es],
                   [0 if math.isnan(e.high) else 100 * (e.high - e.mean) for e in es]]
            bars = ax.bar(x + (i - (len(labels) - 1) / 2) * width, means, width, yerr=err,
                          capsize=4, color=colours[i % 2], label=lab)
            for b, m in zip(bars, means, strict=True):
                ax.text(b.get_x() + b.get_width() / 2, m - 3, f"{m:.1f}%", ha="center",
                        va="top", fontsize=8.5, color="white", fontweight="bold")
        if kind == "city":
            line = ax.axhline(100 * floor, color="#b2182b", ls=":", lw=1.4, zorder=4,
                              label=f"city floor {100 * floor:.1f}%")
            ax.legend(handles=[line], fontsize=8, loc="upper left", frameon=False)
        ax.set_xticks(x, types)
        ax.set_title(name, fontsize=9.5)
        ax.set_ylim(0, 112)
        ax.set_yticks(range(0, 101, 20))
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left", ncol=2, frameon=False)
    axes[0].set_ylabel("reached within the response target by a free unit (%)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, path)

"""The trade-off front of a shuttle plan (`--front max:on_time`): the plans no other beats on
both cost and the KPI, each proved on fresh seeds with its 95% CI and written as a scenario,
so that a planner chooses the point of the curve and sees what each costs."""

from __future__ import annotations

import math
import shutil
import sys
import time
from pathlib import Path

from ..atomic import atomic_dir
from ..errors import InputError
from ..whatif import kpis as kpi_info
from .names import KPI_ALIASES
from .problem import (
    constraint_warnings,
    meets_all,
    patience_cap,
    plan_bus_hours,
    plan_buses,
    plan_cost,
    wait_percentile,
)
from .report import dump, run_fresh, shuttle_plan_toml, write_compare_files
from .search import HISTORY, fresh_seeds, front, remove_work

PROVED = 6  # judgement: the front's plans proved on fresh seeds, spread over its cost range
FRONT_CSV = "front.csv"


def parse_front(text: str) -> tuple[str, bool]:
    """`max:on_time` or `min:wait_p90` (short names or flattened KPI names): the KPI and
    whether more of it is better."""
    sense, _, name = text.partition(":")
    if sense not in ("max", "min") or not name:
        raise InputError(f"--front {text!r}: expected max:KPI or min:KPI, e.g. max:on_time or "
                         f"min:wait_p90; short names: {', '.join(KPI_ALIASES)}")
    kpi = KPI_ALIASES.get(name, name)
    if kpi.startswith("optimize."):
        raise InputError(f"--front {text!r}: {kpi} is a staging plan's KPI; a shuttle plan's "
                         "front is drawn against delegates.*, shuttles.* or traffic.* KPIs")
    return kpi, sense == "max"


def front_feasible(search, rows: list[dict]) -> list[dict]:
    """The front among the candidates meeting every constraint (all of them without any)."""
    kpi, more = search.front
    return front([r for r in rows if r["feasible"]], kpi, more)


def spread(rows: list[dict], n: int = PROVED) -> list[dict]:
    """At most n of the front's plans (cheapest first), the cheapest and the dearest always,
    the rest those nearest to costs evenly spaced between them (a planner reads the whole
    curve, not its crowded end)."""
    if len(rows) <= n:
        return list(rows)
    lo, hi = rows[0]["objective"], rows[-1]["objective"]
    picked = {0, len(rows) - 1}
    for i in range(1, n - 1):
        target = lo + i * (hi - lo) / (n - 1)
        free = [j for j in range(len(rows)) if j not in picked]
        picked.add(min(free, key=lambda j: (abs(rows[j]["objective"] - target), j)))
    return [rows[j] for j in sorted(picked)]


def finish_front(args, src, sets, shipped, search, rows, out, work, replace, key, backend,
                 began, start_runs) -> int:
    """Prove the front's plans and the shipped plan on fresh seeds and write the folder."""
    kpi, more = search.front
    whole = front_feasible(search, rows)
    if not whole:
        raise InputError(f"--front: no candidate of {len(rows)} met every constraint "
                         f"({', '.join(map(str, search.constraints))}); loosen one or widen "
                         f"the variables' ranges. The history is kept in {work}")
    proved = spread(whole)
    plans = [(r, search.scenario(r["values"])) for r in proved]
    seeds = fresh_seeds(search.base_seed, args.fresh_seeds)
    named = [("shipped plan", shipped)] + [(_label(r, sc), sc) for r, sc in plans]
    if not args.quiet:
        print(f"optimize: {len(proved)} of the front's {len(whole)} plans and the shipped plan "
              f"on {len(seeds)} fresh seeds", file=sys.stderr)
    result = run_fresh(named, seeds, search.base_seed, backend, progress=not args.quiet)
    est = result.estimates()
    searched = sum(r["simulated"] for r in rows)
    simulations = start_runs + searched + len(named) * len(seeds)
    wall = time.perf_counter() - began
    table_rows = []
    for (r, sc), (label, _) in zip(plans, named[1:], strict=True):
        e = est[label].get(kpi)
        table_rows.append({"plan": _file(r, sc), "candidate": r["candidate"],
                           "buses": plan_buses(sc), "bus_hours": round(plan_bus_hours(sc), 2),
                           f"search_mean:{kpi}": r["means"][kpi],
                           f"fresh_mean:{kpi}": e.mean if e else None,
                           "fresh_ci95_low": e.low if e else None,
                           "fresh_ci95_high": e.high if e else None,
                           "meets_constraints_on_fresh_seeds": meets_all(
                               est[label], search.constraints)})
    ship = est["shipped plan"].get(kpi)
    with atomic_dir(out, replace=replace, command="optimize", key=key) as tmp:
        shutil.copyfile(work / HISTORY, tmp / HISTORY)
        (tmp / "front").mkdir()
        for (r, sc), row in zip(plans, table_rows, strict=True):
            header = [f"{src.label}: a plan of the trade-off front of {search.objective} "
                      f"against {kpi} ({'more' if more else 'less'} is better)",
                      f"candidate {r['candidate']}: {plan_buses(sc)} buses; {kpi} "
                      f"{_fmt(kpi, r['means'][kpi])} over the search's {search.seeds} seed(s), "
                      f"{_fmt(kpi, row[f'fresh_mean:{kpi}'])} on {len(seeds)} fresh seeds"]
            (tmp / "front" / row["plan"]).write_text(
                shuttle_plan_toml(shipped, sc, header, sets), encoding="utf-8")
        _write_front_csv(tmp / FRONT_CSV, table_rows)
        draw_front(rows, search, whole, plans, est, [lab for lab, _ in named[1:]], ship,
                   plan_cost(search.objective, shipped), tmp / "front.png",
                   patience_cap(kpi, shipped),
                   f"{src.label}: trade-off of "
                   f"{'buses' if search.objective == 'buses' else 'bus-hours'} against "
                   f"{kpi_info.label(kpi)}\n{len(rows)} candidates over the same "
                   f"{search.seeds} seed{'s' if search.seeds > 1 else ''}; the front's plans "
                   f"proved on {len(seeds)} fresh seeds (mean, 95% CI)")
        shown = ["shuttles.fleet", kpi, *(c.kpi for c in search.constraints if c.kpi != kpi)]
        table = write_compare_files(result, tmp, shown)
        (tmp / "optimize.json").write_text(dump({
            **search.spec(), "candidates": len(rows), "simulations": simulations,
            "simulations_search": searched, "simulations_start": start_runs,
            "simulations_fresh": len(named) * len(seeds), "wall_s": round(wall, 1),
            "fresh_seeds": seeds, "front_size": len(whole), "front": table_rows,
            "shipped": {"buses": plan_buses(shipped),
                        f"fresh_mean:{kpi}": ship.mean if ship else None},
            "warnings": constraint_warnings(search.constraints, shipped)}), encoding="utf-8")
    remove_work(work)
    print(table, end="")
    print(f"\noptimize: the front of {len(whole)} plans ({len(proved)} proved on "
          f"{len(seeds)} fresh seeds), {kpi_info.label(kpi)}:")
    for row in table_rows:
        lo, hi = row["fresh_ci95_low"], row["fresh_ci95_high"]
        ci = "" if lo is None or math.isnan(lo) else \
            f" [{_fmt(kpi, lo)}, {_fmt(kpi, hi)}]"
        print(f"  {row['buses']:>5} buses  {_fmt(kpi, row[f'fresh_mean:{kpi}'])}{ci}"
              + ("" if not search.constraints else
                 "  meets the constraints" if row["meets_constraints_on_fresh_seeds"]
                 else "  misses a constraint") + f"  front/{row['plan']}")
    if ship:
        print(f"  shipped plan: {plan_buses(shipped)} buses, {_fmt(kpi, ship.mean)}")
    cap = patience_cap(kpi, shipped)
    if cap is not None:
        q = wait_percentile(kpi)
        print(f"  (delegates give up waiting after {cap:g} min and such a trip counts {cap:g} "
              f"min: a plan reading about {cap:g} leaves {100 - q}% or more at the stop; "
              "delegates.gave_up_waiting in compare.csv counts them)")
    print(f"\n{len(rows)} candidates, {simulations} simulations ({start_runs} start, "
          f"{searched} search, {len(named) * len(seeds)} fresh), {wall:.0f} s")
    print(f"written to {out}/ (front/, front.csv, front.png, history.csv, compare.txt, "
          "compare.csv, optimize.json)")
    return 0


def _label(r: dict, sc) -> str:
    return f"front plan, {plan_buses(sc)} buses (candidate {r['candidate']})"


def _file(r: dict, sc) -> str:
    return f"plan-{plan_buses(sc):04d}-buses-candidate-{r['candidate']}.toml"


def _fmt(kpi: str, x) -> str:
    return "n/a" if x is None else kpi_info.value_text(kpi, x)


def _write_front_csv(path: Path, rows: list[dict]) -> None:
    import csv

    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.items()})


def draw_front(rows, search, whole, plans, est, labels, ship, shipped_cost, path: Path,
               cap: float | None, title: str) -> None:
    """Every candidate (mean over the search's seeds) in grey, the front joined, its proved
    plans with their fresh-seed means and 95% CIs, the shipped plan's, the KPI's bound when a
    constraint binds it, and the delegates' patience when the KPI is a stop wait it caps."""
    from matplotlib.figure import Figure

    from ..whatif.plots import _save

    kpi, more = search.front
    k = 100 if kpi_info.kind(kpi) == kpi_info.SHARE else 1
    fig = Figure(figsize=(9, 5.6))
    ax = fig.subplots()
    pts = [r for r in rows if r["means"].get(kpi) is not None]
    for feas, colour, label in ((True, "#9ecae1", "a candidate meeting every constraint"),
                                (False, "#d9d9d9", "a candidate missing a constraint")):
        sel = [r for r in pts if r["feasible"] == feas]
        if sel:
            ax.scatter([r["objective"] for r in sel], [k * r["means"][kpi] for r in sel],
                       s=22, c=colour, edgecolors="#737373", lw=0.4,
                       label=f"{label} ({len(sel)}), search seeds", zorder=2)
    ax.plot([r["objective"] for r in whole], [k * r["means"][kpi] for r in whole],
            color="#2166ac", lw=1, ls="--", label=f"the front ({len(whole)} plans), search "
                                                   "seeds", zorder=3)
    xs, ys, lo, hi = [], [], [], []
    for (r, _), lab in zip(plans, labels, strict=True):
        e = est[lab].get(kpi)
        if e is None:
            continue
        xs.append(r["objective"])
        ys.append(k * e.mean)
        lo.append(0 if math.isnan(e.low) else k * (e.mean - e.low))
        hi.append(0 if math.isnan(e.high) else k * (e.high - e.mean))
    ax.errorbar(xs, ys, yerr=[lo, hi], fmt="o", ms=7, color="#08306b", capsize=4,
                label="proved on fresh seeds (mean, 95% CI)", zorder=5)
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):  # alternate sides: close plans
        ax.annotate(f"{x:g}", (x, y), textcoords="offset points",
                    xytext=(7, -13) if i % 2 == 0 else (-7, 9),
                    ha="left" if i % 2 == 0 else "right", fontsize=8, color="#08306b")
    if cap is not None:
        q = wait_percentile(kpi)
        ax.axhline(cap, color="#e08214", lw=1.1, ls="-.",
                   label=f"patience: delegates give up after {cap:g} min\n(a p{q} here: "
                         f"{100 - q}% or more gave up)")
    if ship is not None:
        ax.errorbar([shipped_cost], [k * ship.mean],
                    yerr=[[0 if math.isnan(ship.low) else k * (ship.mean - ship.low)],
                          [0 if math.isnan(ship.high) else k * (ship.high - ship.mean)]],
                    fmt="s", ms=8, color="#8c8c8c", capsize=4, zorder=5,
                    label=f"shipped plan ({shipped_cost:g}), fresh seeds")
    for c in search.constraints:
        if c.kpi == kpi:
            ax.axhline(k * c.bound, color="#b2182b", lw=1.2, ls=":",
                       label=f"bound: {c.sense} {k * c.bound:g}{'%' if k == 100 else ''}")
    unit = "line buses in all" if search.objective == "buses" else "bus-hours scheduled"
    ax.set_xlabel(f"{unit} (fewer is cheaper)")
    ax.set_ylabel(kpi_info.axis_label(kpi) + (" (more is better)" if more
                                              else " (less is better)"))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right" if more else "upper right")
    ax.set_title(title, fontsize=9.5)
    fig.tight_layout()
    _save(fig, path)

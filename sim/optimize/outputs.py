"""The end of an optimisation: the chosen plan proved on fresh seeds and the output folder
written whole (a temporary folder renamed when complete)."""

from __future__ import annotations

import math
import shutil
import sys
import time

import numpy as np

from ..atomic import atomic_dir
from ..whatif.runner import Job, replicate_seeds
from .names import STAGING_BUDGET
from .problem import constraint_warnings, meets_all, plan_buses, plan_cost
from .report import (
    constraint_lines,
    draw_shuttle_history,
    draw_staging,
    dump,
    line_use,
    line_use_lines,
    run_fresh,
    shuttle_plan_toml,
    staging_plan_toml,
    write_compare_files,
)
from .search import HISTORY, best_row, confirm, cut_buses, fresh_seeds, remove_work

SHUTTLE_KPIS = ["shuttles.fleet", "delegates.on_time_rate", "delegates.wheelchair.on_time_rate",
                "delegates.wait_p90_min", "shuttles.peak_hour_max_load_share",
                "delegates.people_denied_boarding", "delegates.gave_up_waiting",
                "shuttles.load_factor", "traffic.delay_mean_min"]
STAGING_KPIS = ["optimize.venue_covered_share", "optimize.city_covered_share",
                "optimize.pumper.venue_covered_share", "optimize.ambulance.venue_covered_share",
                "optimize.pumper.city_covered_share", "optimize.ambulance.city_covered_share",
                "emergency.within_7min_rate", "emergency.call_to_arrival_p90_s",
                "emergency.coverage_min"]


def _shown(result, constraints, base) -> list[str]:
    names = [*base, *(c.kpi for c in constraints if c.kpi not in base)]
    return [k for k in names if k in result.kpis]


def finish_shuttles(args, src, sets, shipped, search, rows, out, work, replace, key, backend,
                    began, start_runs) -> int:
    best = best_row(search, rows)
    tries, confirm_runs = [], 0
    if args.confirm_seeds and best["feasible"]:
        confirmed, tries, confirm_runs = confirm(search, rows, backend, args.confirm_seeds,
                                                 progress=not args.quiet,
                                                 level=args.confirm_level, work=work)
        best = confirmed or best
    chosen = search.scenario(best["values"])
    cut = cut_buses(chosen)
    seeds = fresh_seeds(search.base_seed, args.fresh_seeds)
    if not args.quiet:
        print(f"optimize: the chosen plan ({plan_buses(chosen)} buses), the shipped plan and "
              f"the chosen with 10% fewer buses on {len(seeds)} fresh seeds", file=sys.stderr)
    named = [("shipped plan", shipped), ("chosen plan", chosen),
             ("chosen plan, 10% fewer buses", cut)]
    result = run_fresh(named, seeds, search.base_seed, backend, progress=not args.quiet)
    searched = sum(r["simulated"] for r in rows)
    simulations = start_runs + searched + confirm_runs + len(named) * len(seeds)
    wall = time.perf_counter() - began
    est = result.estimates()
    verdict = {label: meets_all(est[label], search.constraints) for label, _ in named}
    lines = line_use(chosen, est["chosen plan"], shipped)
    header = [f"{src.label}: {search.objective} minimised subject to "
              + ", ".join(str(c) for c in search.constraints)
              + f" (means over {search.seeds} seed(s) {search.spec()['replicate_seeds']})",
              f"start: {search.start_kind} ({plan_buses(search.start)} buses); "
              f"confirmed on {args.confirm_seeds} more seeds: "
              + (", ".join(f"candidate {t['candidate']} ({t['objective']:g}) "
                           f"{'met' if t['met'] else 'missed'}" for t in tries) or "none")
              + ("" if not tries or tries[-1]["met"] else
                 " (UNCONFIRMED: the cheapest plan of the search is written)") + "; "
              f"{len(rows)} candidates, {searched} runs; shipped {plan_buses(shipped)} buses, "
              f"chosen {plan_buses(chosen)}"
              + ("" if best["feasible"] else " -- NO candidate met every constraint: the "
                                             "nearest is written"),
              f"on {len(seeds)} fresh seeds: " + ("meets" if verdict["chosen plan"]
                                                  else "DOES NOT meet")
              + " every constraint (compare.txt)"]
    text = shuttle_plan_toml(shipped, chosen, header, sets)
    with atomic_dir(out, replace=replace, command="optimize", key=key) as tmp:
        (tmp / "plan.toml").write_text(text, encoding="utf-8")
        shutil.copyfile(work / HISTORY, tmp / HISTORY)
        draw_shuttle_history(rows, search, best, tmp / "search.png",
                             f"{src.label}: {len(rows)} candidate plans, each over the same "
                             f"{search.seeds} seed{'s' if search.seeds > 1 else ''}; chosen: "
                             f"{plan_buses(chosen)} buses (shipped {plan_buses(shipped)})",
                             plan_cost(search.objective, shipped))
        table = write_compare_files(result, tmp, _shown(result, search.constraints,
                                                        SHUTTLE_KPIS))
        checks = constraint_lines(result, search.constraints)
        (tmp / "optimize.json").write_text(dump({
            **search.spec(), "candidates": len(rows), "simulations": simulations,
            "simulations_search": searched, "simulations_start": start_runs,
            "simulations_confirm": confirm_runs, "confirmation": tries,
            "confirmed": bool(tries) and tries[-1]["met"],
            "simulations_fresh": len(named) * len(seeds), "wall_s": round(wall, 1),
            "fresh_seeds": seeds, "buses": {"shipped": plan_buses(shipped),
                                            "start": plan_buses(search.start),
                                            "chosen": plan_buses(chosen),
                                            "chosen_less_10pct": plan_buses(cut)},
            "chosen_candidate": best["candidate"], "chosen_feasible_in_search":
                best["feasible"],
            "meets_on_fresh_seeds": verdict, "checks": checks,
            "warnings": constraint_warnings(search.constraints, shipped),
            "lines": lines}), encoding="utf-8")
    remove_work(work)
    print(table, end="")
    print("\n".join(checks))
    print("\nwhere the chosen plan's buses went:")
    print("\n".join("  " + x for x in line_use_lines(lines)))
    for t in tries:
        print(f"confirmation of candidate {t['candidate']} ({t['objective']:g}) over "
              f"{search.seeds} + {args.confirm_seeds} seeds, mean (one-sided "
              f"{t['level']:.0%} bound): "
              + ", ".join(f"{k} {v:.4g} ({t['bounds'][k]:.4g})" if v is not None
                          else f"{k} missing" for k, v in t["means"].items())
              + (": met" if t["met"] else ": missed"))
    print(f"\noptimize: {len(rows)} candidates, {simulations} simulations "
          f"({start_runs} start, {searched} search, {confirm_runs} confirmation, "
          f"{len(named) * len(seeds)} fresh), "
          f"{wall:.0f} s; buses shipped {plan_buses(shipped)}, start {plan_buses(search.start)}"
          f", chosen {plan_buses(chosen)} (10% fewer: {plan_buses(cut)}, "
          + ("still meets every constraint" if verdict["chosen plan, 10% fewer buses"]
             else "breaks a constraint") + " on the fresh seeds)")
    print(f"written to {out}/ (plan.toml, history.csv, search.png, compare.txt, compare.csv, "
          "optimize.json)")
    return 0


def finish_staging(args, src, sets, shipped, constraints, out, replace, key, backend, window,
                   budgets) -> int:
    from . import staging_search as ss
    from .staging import (
        CoverageProbe,
        busy_shares,
        expected_venue_coverage,
        matrix_coverage,
        shipped_units,
        solve_staging,
        staged_scenario,
        survey,
    )

    began = time.perf_counter()
    base_seed = args.seed if args.seed is not None else shipped.seed
    if not args.quiet:
        print("optimize: travel times under the day's traffic (one run to the window's end)",
              file=sys.stderr)
    sv = survey(shipped, base_seed, window, args.target_min)
    ship = shipped_units(shipped, sv)
    _, ship_city = matrix_coverage(sv, ship)
    floor = constraints[0].bound if constraints else min(ship_city.values())
    posts = args.posts or len(shipped.emergency.staging)
    busy = busy_shares(shipped, window, budgets)
    plan = solve_staging(sv, budgets, posts, floor, busy)
    probe = CoverageProbe(window, args.target_min)
    search_seeds = replicate_seeds(base_seed, args.seeds)
    budget = args.budget or STAGING_BUDGET
    if not args.quiet:
        print(f"optimize: at most {budget} placements, each on the same {len(search_seeds)} "
              f"search seed(s) to {_clock(window.end)}, on {backend.describe()}",
              file=sys.stderr)
    rows = _search_staging(args, shipped, sv, ship, plan, budgets, posts, floor, busy, window,
                           probe, search_seeds, budget, backend)
    pick = ss.best(rows)
    beats = pick.candidate != 0
    chosen = staged_scenario(shipped, sv, pick.units) if beats else shipped
    seeds = fresh_seeds(base_seed, args.fresh_seeds)
    named = [("shipped staging", shipped),
             ("proposed staging" if beats else "proposed staging (= shipped)", chosen)]
    labels = [lab for lab, _ in named]
    if not args.quiet:
        print(f"optimize: the proposed and the shipped staging on {len(seeds)} fresh seeds",
              file=sys.stderr)
    result = run_fresh(named, seeds, base_seed, backend, probe, progress=not args.quiet)
    est = result.estimates()
    searched = sum(r.runs for r in rows)
    simulations = 1 + searched + len(named) * len(seeds)
    wall = time.perf_counter() - began
    target = args.target_min or shipped.emergency.coverage_target_min
    hm = f"{_clock(window.start)}-{_clock(window.end)}"
    types = list(sv.budgets_s)
    e_ship = expected_venue_coverage(sv, ship, busy)
    e_plan = expected_venue_coverage(sv, plan.units, busy)
    per_type = {t: {lab: {k: est[lab][f"optimize.{t}.{k}_covered_share"]
                          for k in ("venue", "city")} for lab in labels} for t in types}
    fell = [t for t in types if per_type[t][labels[1]]["venue"].mean
            < per_type[t][labels[0]]["venue"].mean - ss.EPS]
    below = [t for t in types if per_type[t][labels[1]]["city"].mean
             < min(floor, per_type[t][labels[0]]["city"].mean) - ss.EPS]
    verdict = _staging_verdict(beats, fell, below, len(seeds))
    if beats:
        verdict = f"chosen as it {_why(pick, rows[0])} on the search seeds; {verdict}"
    header = [f"{src.label}: venue perimeters ({len(sv.venue_nodes)} road nodes within 600 m "
              f"of a venue) reached within {target:g} min, {hm}, city floor "
              f"{floor:.1%} of residents per unit type",
              f"budget: {', '.join(f'{t} {n}' for t, n in budgets.items())} at most {posts} "
              f"posts, from {len(sv.node_ids)} candidate places; MILP {plan.status}; busy "
              f"shares {', '.join(f'{t} {q:.2f}' for t, q in busy.items())}",
              f"expected venue coverage (matrix) shipped {e_ship:.3f}, MILP {e_plan:.3f}",
              f"search: {len(rows)} placements on {len(search_seeds)} seed(s) "
              f"{search_seeds}; chosen: candidate {pick.candidate} ({pick.origin}"
              + (f", {pick.move}" if pick.move else "") + ")",
              verdict]
    text = staging_plan_toml(shipped, chosen, header, sets)
    names = dict(zip(sv.node_ids, sv.names, strict=True))
    with atomic_dir(out, replace=replace, command="optimize", key=key) as tmp:
        (tmp / "plan.toml").write_text(text, encoding="utf-8")
        table = write_compare_files(result, tmp, _shown(result, constraints, STAGING_KPIS))
        ss.write_history(tmp / ss.HISTORY, rows, types, names)
        draw_staging(labels, types, per_type, floor, tmp / "coverage.png",
                     f"{src.label}, {hm}: reached within {target:g} min by a free unit, "
                     f"mean and 95% CI of {len(seeds)} fresh seeds")
        _write_posts(tmp / "posts.csv", sv, ship, plan.units, pick.units)
        (tmp / "optimize.json").write_text(dump({
            "kind": "summit-sim optimize staging", "scenario": src.ref,
            "set": [str(a) for a in sets], "window": [window.start, window.end],
            "target_min": target, "floor": floor, "budgets": budgets, "posts": posts,
            "busy": busy, "candidates": list(zip(sv.names, sv.node_ids, strict=True)),
            "simulations": simulations, "simulations_survey": 1,
            "simulations_search": searched, "simulations_fresh": len(named) * len(seeds),
            "wall_s": round(wall, 1), "fresh_seeds": seeds, "milp": plan.status,
            "search": {"seeds": search_seeds, "budget": budget, "placements": len(rows),
                       "per_origin": _per_origin(rows), "chosen_candidate": pick.candidate,
                       "chosen_origin": pick.origin, "chosen_move": pick.move,
                       "beats_shipped": beats,
                       "shipped": _row_json(rows[0]), "chosen": _row_json(pick)},
            "fresh": {t: {lab: {k: [e.mean, e.low, e.high] for k, e in per_type[t][lab].items()}
                          for lab in labels} for t in types},
            "venue_fell": fell, "city_below_floor": below,
            "matrix": {"shipped": {"venue": matrix_coverage(sv, ship)[0], "city": ship_city,
                                   "expected_venue": e_ship},
                       "milp": {"venue": plan.venue_coverage, "city": plan.city_coverage,
                                "expected_venue": e_plan}}}), encoding="utf-8")
    print(table, end="")
    print()
    for t in types:
        a, b = per_type[t][labels[0]], per_type[t][labels[1]]
        print(f"{t}: venue shipped {_pct(a['venue'])}, proposed {_pct(b['venue'])}; city "
              f"shipped {_pct(a['city'])}, proposed {_pct(b['city'])} (floor {floor:.1%})")
    print(verdict)
    print(f"optimize: {len(rows)} placements searched ({searched} runs on "
          f"{len(search_seeds)} seed(s)), {simulations} simulations (1 survey, {searched} "
          f"search, {len(named) * len(seeds)} fresh), {wall:.0f} s")
    print(f"written to {out}/ (plan.toml, posts.csv, history.csv, coverage.png, compare.txt, "
          "compare.csv, optimize.json)")
    return 0


def _search_staging(args, shipped, sv, ship, plan, budgets, posts, floor, busy, window, probe,
                    search_seeds, budget, backend):
    """The search's rows: every placement on the search seeds, runs to the window's end."""
    from tqdm import tqdm

    from . import staging_search as ss
    from .staging import staged_scenario, to_window_end

    drill = ss.drill_of(shipped, sv, window)
    shipped_sig = ss.signature(ship)
    bar = tqdm(total=budget * len(search_seeds), unit="run", desc="staging search",
               disable=args.quiet, dynamic_ncols=True)

    def evaluate(units, n):
        sc = shipped if ss.signature(units) == shipped_sig else staged_scenario(shipped, sv,
                                                                               units)
        run = to_window_end(sc, window)
        jobs = [Job(("staging", n, r), run, s, probe) for r, s in enumerate(search_seeds)]
        kpis = []
        for _, k in backend.run(jobs):
            kpis.append(k)
            bar.update(1)
        return {t: (float(np.mean([k[f"optimize.{t}.venue_covered_share"] for k in kpis])),
                    float(np.mean([k[f"optimize.{t}.city_covered_share"] for k in kpis])))
                for t in sv.budgets_s}

    with bar:
        return ss.search(sv, ss.starts(sv, ship, plan.units, budgets, posts, floor, busy),
                         evaluate, budget=budget, floor=floor, budgets=budgets,
                         max_posts=posts, drill=drill, window=window,
                         runs_per_placement=len(search_seeds))


def _staging_verdict(beats: bool, fell: list[str], below: list[str], n_seeds: int) -> str:
    if not beats:
        return ("no placement searched beat the shipped staging with every type's venue "
                "coverage kept and the city at the floor: the proposal IS the shipped staging")
    out = f"on {n_seeds} fresh seeds: "
    out += (f"venue coverage of {', '.join(fell)} FELL below the shipped staging's"
            if fell else "no type's venue coverage fell below the shipped staging's")
    out += (f"; the city coverage of {', '.join(below)} is BELOW the floor (and the shipped "
            "staging's)" if below else "; every type's city coverage at or above the floor "
            "(or the shipped staging's own where that is lower)")
    return out


def _why(pick, shipped) -> str:
    from .staging_search import EPS

    if pick.headline > shipped.headline + EPS:
        return "raises the headline venue coverage (the lowest type's)"
    if pick.mean > shipped.mean + EPS:
        return "keeps the headline and raises the venue coverage's mean over the types"
    return "keeps every type's venue coverage and raises the lowest type's city coverage"


def _per_origin(rows) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        kind = "move" if r.origin.startswith("move") else r.origin
        out[kind] = out.get(kind, 0) + r.runs
    return out


def _row_json(row) -> dict:
    return {"candidate": row.candidate, "origin": row.origin, "move": row.move,
            "coverage": {t: {"venue": v, "city": c} for t, (v, c) in row.coverage.items()},
            "feasible": row.feasible, "headline": row.headline}


def _pct(e) -> str:
    if math.isnan(e.low):
        return f"{100 * e.mean:.1f}%"
    return f"{100 * e.mean:.1f}% [{100 * e.low:.1f}, {100 * e.high:.1f}]"


def _clock(t: float) -> str:
    from ..clock import format_clock

    return format_clock(t)[:5]


def _write_posts(path, sv, shipped_units, milp_units, proposed_units) -> None:
    """posts.csv: per candidate place with units in any plan, the shipped, the MILP's and the
    proposed units of each coverage type."""
    import csv

    names = dict(zip(sv.node_ids, sv.names, strict=True))
    types = list(sv.budgets_s)
    plans = (("shipped", shipped_units), ("milp", milp_units), ("proposed", proposed_units))
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["place", "node", *(f"{k}_{t}" for k, _ in plans for t in types)])
        for node in sv.node_ids:
            per = [units.get(node, {}) for _, units in plans]
            if any(per):
                w.writerow([names[node], node, *(p.get(t, 0) for p in per for t in types)])

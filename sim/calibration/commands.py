"""The calibration commands of the command line: fit (and calibrate)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

from .. import argtypes
from ..formats import embedded_network
from ..report import pct

FIT_COUNT_COLUMNS = ["id", "road", "site", "unit", "observed", "model", "ratio", "geh",
                     "geh_under_5", "holdout", "estimate", "compared", "note"]
FIT_TIME_COLUMNS = ["id", "origin", "destination", "period", "mode", "observed_min",
                    "model_min", "ratio", "within_15pct", "holdout", "estimate", "compared",
                    "note"]


def add_calibration_commands(sub, common=None) -> None:
    p = sub.add_parser(
        "fit", help="compare a finished run with observed counts, travel times and response",
        description="Compare a finished run with the observations: counts by GEH (< 5 on 85%% "
                    "of sites), travel times within 15%% (or 1 minute) on 85%% of routes, "
                    "emergency response shares side by side. Fitted and hold-out rows are "
                    "reported apart.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by `run`")
    p.add_argument("--observed", metavar="DIR",
                   help="a folder of observations (default: the ones shipped, "
                        "sim/data/observed)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--out", metavar="DIR",
                   help="where the fit's tables and pictures go (default: outputs/fit-RUN)")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier fit output of summit-sim at --out")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser(
        "calibrate", help="fit scenario parameters to the observed data (Nelder-Mead, CRN)",
        description="Fit the chosen parameters of a scenario to the observations: Nelder-Mead "
                    "(scipy) over the parameter box, every candidate run on the same replicate "
                    "seeds (common random numbers). Hold-out rows are reported, never fitted. "
                    "Writes the calibrated scenario (the source as its base, the fitted values "
                    "on top, the fit in a comment block) and a report folder.")
    p.add_argument("scenario", metavar="SCENARIO", help="a .toml file or a shipped scenario name")
    p.add_argument("--param", action="append", required=True, metavar="PATH=LO:HI",
                   help="a number to fit and its range, e.g. traffic.demand_scale=0.7:1.3 "
                        "(repeatable)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="a value every candidate carries (repeatable)")
    p.add_argument("--observed", metavar="DIR",
                   help="a folder of observations (default: sim/data/observed)")
    p.add_argument("--out", required=True, metavar="FILE.toml",
                   help="the calibrated scenario to write (a new file, or an earlier one "
                        "written by calibrate with --force)")
    p.add_argument("--report", metavar="DIR",
                   help="the report folder (default: outputs/calibrate-NAME)")
    p.add_argument("--budget", type=argtypes.whole(2, 10_000), default=60, metavar="N",
                   help="at most this many candidates (default 60)")
    p.add_argument("--seeds", type=argtypes.whole(1, 1_000), default=1, metavar="K",
                   help="replicate seeds per candidate, the same for all (default 1)")
    p.add_argument("--seed", type=argtypes.seed, default=None,
                   help="base seed of the replicates (default: the scenario's)")
    p.add_argument("--workers", type=argtypes.whole(1, 1_024), default=None,
                   help="local worker processes (default: every core)")
    p.add_argument("--scheduler", metavar="ADDR",
                   help="run on a Dask cluster, e.g. tcp://HOST:8786 (the dist extra)")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier calibrate output at --out and --report")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_calibrate)


def format_fit(fit: dict) -> str:
    """The fit as a planner reads it: acceptance on fitted rows, hold-out beside, then rows."""
    c, t, e = fit["counts"], fit["travel_times"], fit["emergency"]
    lines = [f"fit of {fit['run']} ({fit['scenario']}) to {fit['observed']}"]
    verdict = {True: "meets", False: "FAILS", None: "no rows for"}
    lines.append(f"  counts: GEH < 5 on {pct(c['geh_under_5_share'])} of "
                 f"{c['fitted_sites']} fitted sites ({verdict[c['accepted']]} the 85% "
                 f"criterion); hold-out {pct(c['holdout_geh_under_5_share'])} of "
                 f"{c['holdout_sites']} ({c['reference_rows']} reference rows not compared)")
    lines.append(f"  travel times: within 15% on {pct(t['within_15pct_share'])} of "
                 f"{t['fitted_routes']} fitted routes ({verdict[t['accepted']]} the 85% "
                 f"criterion); hold-out {pct(t['holdout_within_15pct_share'])} of "
                 f"{t['holdout_routes']}; mean modelled/observed {t['mean_ratio']} "
                 f"({t['not_compared']} bus rows not compared)")
    for pair in e["side_by_side"]:
        show = pct if pair["unit"] == "share" else (lambda x, u=pair["unit"]: f"{x:.1f} {u}")
        model = "-" if pair["model"] is None else show(pair["model"])
        lines.append(f"  emergency {pair['measure']} ({pair['area']}, {pair['year'] or 'n.d.'}):"
                     f" observed {show(pair['observed'])}, model {model} "
                     f"({pair['incidents']} incidents)")
    if e["model"] is None and e["observed"]:
        lines.append("  emergency: this run has no emergency layer (fit a city_emergency run)")
    lines.append("")
    lines.append(f"  {'count site':<44}{'observed':>10}{'model':>10}{'GEH':>7}")
    for r in c["rows"]:
        tag = " (hold-out)" if r["holdout"] else ""
        tag += "" if r["compared"] else f" [{r['note']}]"
        geh = "-" if r["geh"] is None else f"{r['geh']:.1f}"
        lines.append(f"  {(r['id'] + ' ' + r['road'])[:43]:<44}{r['observed']:>10,.0f}"
                     f"{r['model']:>10,.0f}{geh:>7}{tag}")
    lines.append("")
    lines.append(f"  {'route':<44}{'period':>9}{'obs min':>9}{'model':>8}{'ratio':>7}")
    for r in t["rows"]:
        tag = " (hold-out)" if r["holdout"] else ""
        tag += "" if r["compared"] else f" [not compared: {r['note']}]"
        name = f"{r['id']} {r['origin']} - {r['destination']}"
        lines.append(f"  {name[:43]:<44}{r['period']:>9}{r['observed_min']:>9.1f}"
                     f"{r['model_min']:>8.1f}{r['ratio']:>7.2f}{tag}")
    return "\n".join(lines) + "\n"


def write_fit(fit: dict, out: Path, *, net=None, replace: bool = False,
              key: str | None = None) -> None:
    """fit.json, fit_counts.csv, fit_times.csv and the pictures, in one folder atomically."""
    from ..atomic import atomic_dir
    from .pictures import draw_count_map, draw_fit_scatter

    with atomic_dir(out, replace=replace, command="fit", key=key) as tmp:
        (tmp / "fit.json").write_text(json.dumps(fit, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
        for name, cols, rows in (("fit_counts.csv", FIT_COUNT_COLUMNS, fit["counts"]["rows"]),
                                 ("fit_times.csv", FIT_TIME_COLUMNS,
                                  fit["travel_times"]["rows"])):
            with open(tmp / name, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(cols)
                w.writerows([r.get(k) for k in cols] for r in rows)
        title = f"{fit['scenario']}: fit to observed data"
        draw_fit_scatter(fit, tmp / "fit_scatter.png", title=title)
        if net is not None:
            draw_count_map(net, fit, tmp / "fit_count_sites.png",
                           title=f"{fit['scenario']}: count sites by GEH")


def _run_network(run_dir: Path):
    """The run's road network when it is the embedded one (the map needs coordinates)."""

    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    net = embedded_network()
    return net if manifest.get("network", {}).get("name") == net.name else None


def cmd_fit(args) -> int:
    from ..ownership import check_output_folder, run_key
    from .fit import fit_run, summary_json
    from .observed import load_observations

    run_dir = Path(args.run_dir)
    obs = load_observations(args.observed)
    fit = fit_run(run_dir, obs)  # reads everything before anything is written
    out = Path(args.out) if args.out else Path("outputs") / f"fit-{run_dir.resolve().name}"
    key = run_key("fit", run_dir.resolve(), obs.folder.resolve())
    replace = check_output_folder(out, force=args.force, key=key, default=not args.out)
    write_fit(fit, out, net=_run_network(run_dir), replace=replace, key=key)
    if args.json:
        print(json.dumps(summary_json(fit), indent=2, ensure_ascii=False))
    else:
        print(format_fit(fit), end="")
        print(f"fit written to {out}/ (fit.json, fit_counts.csv, fit_times.csv, pictures)")
    return 0


def cmd_calibrate(args) -> int:
    from ..atomic import atomic_dir, atomic_file
    from ..errors import InputError
    from ..ownership import check_output_file, check_output_folder, run_key
    from ..whatif.params import (
        build_scenario,
        parse_assignment,
        parse_range,
        range_assignment,
        source,
    )
    from ..whatif.runner import kept, make_backend
    from .calibrate import Calibration, calibrated_toml, run_calibration, write_history
    from .observed import load_observations

    src = source(args.scenario)
    if src.is_run_folder:
        raise InputError(f"calibrate {args.scenario!r}: a run folder; give a scenario file or a "
                         "shipped scenario name")
    base = [parse_assignment(t) for t in args.set]
    ranges = [parse_range(t) for t in args.param]
    if len({r.path for r in ranges}) < len(ranges):
        raise InputError("--param: each parameter may be given once")
    scenario = build_scenario(src, base)
    for r in ranges:  # both ends must make a valid scenario, before any run
        for v in (r.low, r.high):
            build_scenario(src, [*base, range_assignment(r, v)])
    obs = load_observations(args.observed)
    out = Path(args.out)
    if out.suffix != ".toml":
        raise InputError(f"--out {args.out!r}: the calibrated scenario is a .toml file")
    check_output_file(out, force=args.force)
    report = Path(args.report) if args.report else Path("outputs") / f"calibrate-{out.stem}"
    key = run_key("calibrate", src.ref, args.set, args.param, args.seeds, args.seed,
                  args.budget, str(obs.folder))
    replace = check_output_folder(report, force=args.force, key=key, default=not args.report,
                                  flag="--report")
    backend = make_backend(workers=args.workers, scheduler=args.scheduler)
    cal = Calibration(src, base, ranges, obs, seeds=args.seeds,
                      base_seed=args.seed if args.seed is not None else scenario.seed,
                      budget=args.budget)
    if not args.quiet:
        print(f"calibrate: {len(ranges)} parameters, at most {args.budget} candidates x "
              f"{args.seeds} seed(s) on {backend.describe()}", file=sys.stderr)
    with kept(backend):  # one pool for every candidate's runs
        result = run_calibration(cal, backend, progress=not args.quiet)
    text = calibrated_toml(cal, result, out)
    with atomic_dir(report, replace=replace, command="calibrate", key=key) as tmp:
        write_history(cal, tmp / "history.csv")
        (tmp / "calibration.json").write_text(json.dumps(
            {"scenario": src.ref, "set": [str(a) for a in base],
             "params": {r.path: [r.low, r.high] for r in ranges}, "observed": str(obs.folder),
             "budget": args.budget, "replicate_seeds": result["seeds"],
             "evaluations": result["evaluations"], "stopped": result["stopped"],
             "start": result["start"], "best": result["best"]}, indent=2) + "\n",
            encoding="utf-8")
        (tmp / out.name).write_text(text, encoding="utf-8")
        from .pictures import draw_convergence

        draw_convergence(cal, tmp / "convergence.png")
    with atomic_file(out) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    best, start = result["best"], result["start"]
    print(f"objective {start['objective']:.4g} -> {best['objective']:.4g} after "
          f"{result['evaluations']} candidates ({result['stopped']})")
    for r in ranges:
        print(f"  {r.path:<40} {start['params'][r.path]:>10.4g} -> {best['params'][r.path]:.4g}")
    print(f"  counts GEH < 5 (fitted / hold-out): {pct(best['geh_under_5_share'])} / "
          f"{pct(best['holdout_geh_under_5_share'])}; travel times within 15%: "
          f"{pct(best['within_15pct_share'])} / {pct(best['holdout_within_15pct_share'])}")
    print(f"calibrated scenario written to {out}; report in {report}/")
    return 0

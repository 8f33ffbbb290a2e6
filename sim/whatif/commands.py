"""The what-if commands of the command line: compare, sweep and sensitivity."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .. import argtypes


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "run"


def _common(p: argparse.ArgumentParser, *, seeds: int) -> None:
    # judgement: at most 10,000 replicates per point
    p.add_argument("--seeds", type=argtypes.whole(1, 10_000), default=seeds, metavar="N",
                   help=f"replicates per point (default {seeds}); their seeds derive from the "
                        "base seed")
    p.add_argument("--seed", type=argtypes.seed, default=None, metavar="BASE",
                   help="base seed of the replicates (default: the (first) scenario's seed)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a scenario value in every run (repeatable; aliases too)")
    p.add_argument("--kpi", action="append", default=[], metavar="NAME",
                   help="a flattened KPI, e.g. delegates.on_time_rate (repeatable; default: "
                        "the key KPIs)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: under outputs/)")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier output of summit-sim at --out (never anything "
                        "else: a folder holding other files is refused)")
    p.add_argument("--workers", type=argtypes.whole(1, 1024), default=None, metavar="N",
                   help="local worker processes (default: one per CPU)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run on this Dask distributed scheduler instead (the dist extra)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_whatif_commands(sub) -> None:
    """Add compare, sweep and sensitivity to the command line's subparsers."""
    from ..overrides import aliases_help

    p = sub.add_parser(
        "compare", help="scenarios or run folders over N seeds: KPI means, 95%% CIs, differences",
        description="Run each scenario over the same replicate seeds and compare the KPIs: "
                    "mean and 95% CI, difference from the first (A) with its Welch 95% CI and "
                    "whether it is significant. The table shows the key KPIs (--all: every "
                    "one). A PATH=VALUE after a scenario overrides it alone. Parameter "
                    f"aliases: {aliases_help()}.")
    p.add_argument("items", nargs="+", metavar="SCENARIO|PATH=VALUE",
                   help="a scenario file or shipped name, or a finished run folder, each "
                        "optionally followed by its own overrides")
    p.add_argument("--all", action="store_true", dest="every",
                   help="print every KPI (default: the key KPIs a planner briefs from; "
                        "compare.csv and table.txt always have every one)")
    _common(p, seeds=10)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "sweep", help="every combination of parameter values x seeds; resumable",
        description="Run every combination of the --grid values over the same replicate seeds. "
                    "runs.csv gets a row as each run finishes; --resume skips finished runs. "
                    f"Parameter aliases: {aliases_help()}.")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--grid", action="append", default=[], required=True,
                   metavar="PATH=V1,V2,...", help="a parameter and its values (repeatable)")
    p.add_argument("--resume", action="store_true",
                   help="finish the sweep in --out, skipping the runs it already holds")
    _common(p, seeds=10)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "sensitivity", help="Morris or Sobol indices of KPIs over parameter ranges (SALib)",
        description="Sample the parameter ranges (SALib), run every point and report the "
                    f"sensitivity indices per KPI. Parameter aliases: {aliases_help()}.")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--param", action="append", default=[], required=True,
                   metavar="PATH=LOW:HIGH", help="a parameter and its range (repeatable)")
    p.add_argument("--method", choices=("morris", "sobol"), default="morris")
    p.add_argument("--samples", type=argtypes.whole(1, 100_000), default=None, metavar="N",
                   help="Morris trajectories (default 10; N*(D+1) points) or Sobol base size, "
                        "a power of 2 (default 32; N*(D+2) points)")
    _common(p, seeds=1)
    p.set_defaults(func=cmd_sensitivity)


def _backend(args):
    from .runner import make_backend

    return make_backend(workers=args.workers, scheduler=args.scheduler)


def _progress(args) -> bool:
    return not args.quiet


def cmd_compare(args) -> int:
    from ..ownership import check_output_folder, run_key
    from .compare import (
        default_out,
        format_table,
        parse_subjects,
        run_compare,
        shown_kpis,
        write_compare,
    )

    subjects = parse_subjects(args.items, args.set)
    if args.kpi:
        from .params import build_scenario, check_kpi_names

        for subj in subjects:
            check_kpi_names(args.kpi, build_scenario(subj.source, subj.assignments))
    out = Path(args.out) if args.out else default_out(subjects)
    key = run_key("compare", [s.label for s in subjects], args.seeds, args.seed)
    replace = check_output_folder(out, force=args.force, key=key, default=not args.out)
    backend = _backend(args)
    if not args.quiet:
        print(f"compare: {len(subjects)} scenarios x {args.seeds} seeds on "
              f"{backend.describe()}", file=sys.stderr)
    result = run_compare(subjects, seeds=args.seeds, base_seed=args.seed, backend=backend,
                         progress=_progress(args))
    write_compare(result, out, chart_kpis=args.kpi, replace=replace, key=key)
    shown = shown_kpis(result, args.kpi, args.every)
    print(format_table(result, shown), end="")
    if len(shown) < len(result.kpis):
        print(f"\n{len(shown)} of {len(result.kpis)} KPIs shown; --all prints every one")
    print(f"compare written to {out}/ (compare.csv and table.txt have every KPI)")
    return 0


def cmd_sweep(args) -> int:
    from .params import build_scenario, parse_assignment, parse_grids, source
    from .sweep import RESULTS, Sweep, run_sweep, sweep_folder

    src = source(args.scenario)
    base = [parse_assignment(t) for t in args.set]
    axes = parse_grids(args.grid)
    base_seed = args.seed if args.seed is not None else build_scenario(src, base).seed
    sweep = Sweep(src, base, axes, args.seeds, base_seed)
    out = Path(args.out) if args.out else Path("outputs") / (
        f"sweep-{_slug(src.label)}-" + "-".join(_slug(a.path) for a in axes))[:120]
    sweep_folder(out, resume=args.resume, force=args.force)  # before any worker starts
    backend = _backend(args)
    total = len(sweep.combos) * args.seeds
    if not args.quiet:
        print(f"sweep: {len(sweep.combos)} combinations x {args.seeds} seeds = {total} runs on "
              f"{backend.describe()} -> {out}/", file=sys.stderr)
    try:
        result = run_sweep(sweep, out, backend, resume=args.resume, force=args.force,
                           progress=_progress(args), kpis=args.kpi)
    except KeyboardInterrupt:
        print(f"interrupted: the finished runs are in {out / RESULTS}; run the same command "
              "with --resume to finish the sweep", file=sys.stderr)
        return 130
    _print_sweep(sweep, result)
    return 0


def _print_sweep(sweep, result) -> None:
    from . import kpis
    from .sweep import sweep_points

    shown = result.charted[:3]
    points = sweep_points(sweep, result.rows, shown)
    header = [a.path for a in sweep.axes] + [kpis.label(k) for k in shown]
    lines = [header]
    for p in points:
        line = [p["params"][a.path] for a in sweep.axes]
        for k in shown:
            e = p["kpis"].get(k)
            line.append("-" if e is None else kpis.estimate_text(k, e))
        lines.append(line)
    widths = [max(len(r[c]) for r in lines) for c in range(len(header))]
    print(f"mean [95% CI] over {sweep.seeds} seed{'s' if sweep.seeds > 1 else ''}; shares in %")
    for r in lines:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print(f"\nsweep: {result.total} runs ({result.ran} run now, {result.skipped} already done); "
          f"written to {result.out}/ (runs.csv, summary.csv, sweep.png)")


def cmd_sensitivity(args) -> int:
    from ..ownership import check_output_folder, run_key, variant_suffix
    from .params import build_scenario, parse_assignment, parse_range, source
    from .sensitivity import (
        DEFAULT_SAMPLES,
        Study,
        format_indices,
        run_study,
        sample_warning,
        write_study,
    )

    src = source(args.scenario)
    base = [parse_assignment(t) for t in args.set]
    ranges = [parse_range(t) for t in args.param]
    base_seed = args.seed if args.seed is not None else build_scenario(src, base).seed
    from .params import check_kpi_names

    check_kpi_names(args.kpi, build_scenario(src, base))
    samples = args.samples or DEFAULT_SAMPLES.get(args.method, 10)
    study = Study(src, base, ranges, args.method, samples, args.seeds, base_seed)
    out = Path(args.out) if args.out else Path("outputs") / (
        f"sensitivity-{_slug(src.label)}-{args.method}{variant_suffix(args.set)}")
    key = run_key("sensitivity", src.ref, args.set, args.param, args.method, samples,
                  args.seeds, base_seed)
    replace = check_output_folder(out, force=args.force, key=key, default=not args.out)
    warning = sample_warning(args.method, samples)
    if warning:  # before any run: the moment to ask for more
        print(warning, file=sys.stderr)
    backend = _backend(args)
    if not args.quiet:
        print(f"sensitivity: {args.method} over {', '.join(r.path for r in ranges)} on "
              f"{backend.describe()}", file=sys.stderr)
    result = run_study(study, backend, kpis=args.kpi, progress=_progress(args))
    write_study(result, out, replace=replace, key=key)
    print(format_indices(result), end="")
    pictures = "sensitivity.png, morris.png" if args.method == "morris" else "sensitivity.png"
    print(f"\nsensitivity written to {out}/ (indices.csv, samples.csv with every KPI, "
          f"{pictures})")
    return 0

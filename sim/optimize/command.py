"""`python run.py optimize`: the command line of the optimiser (shuttle plans and staging)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from .. import argtypes
from ..errors import InputError

EXAMPLES = """examples:
  python run.py optimize leaders_day --objective buses --constraint "on_time>=0.85" \\
      --constraint "wait_p90<=35" --budget 30 --seeds 3 --workers 1 --out outputs/opt-leaders
  python run.py optimize som1_day --objective buses --front min:wait_p90 \\
      --constraint "on_time>=0.95" --budget 30 --seeds 3 --out outputs/front-som1
  python run.py optimize hico_fire_drill --objective venue_coverage --target-min 5 \\
      --window 10:00-12:30 --fresh-seeds 5 --workers 1 --out outputs/opt-hico
"""


def add_optimize_command(sub) -> None:
    from .names import KPI_ALIASES, OBJECTIVES, SHUTTLE_BUDGET, STAGING_BUDGET

    p = sub.add_parser(
        "optimize", help="propose a shuttle plan (fewest buses meeting KPI constraints) or a "
                         "staging plan, and prove it on fresh seeds",
        description="Shuttle plans (--objective buses or bus_hours): Optuna's TPE sampler "
                    "with constraints searches buses per line (headways following) from the "
                    "plan command's sizing, every candidate on the same --seeds replicate "
                    "seeds, constraints judged on their mean; the chosen plan runs again on "
                    "fresh seeds against the shipped one. Staging (--objective "
                    "venue_coverage): a maximal covering MILP (HiGHS) on the day's travel "
                    "times, then the proposed and shipped staging on fresh seeds. Objectives: "
                    + "; ".join(f"{k}: {v}" for k, v in OBJECTIVES.items()) + ". Short KPI "
                    "names: " + ", ".join(f"{k} ({v})" for k, v in KPI_ALIASES.items()) + ".",
        epilog=EXAMPLES, formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("scenario", metavar="SCENARIO", help="a .toml file or a shipped scenario name")
    p.add_argument("--objective", required=True, metavar="NAME",
                   help=f"one of {', '.join(OBJECTIVES)}")
    p.add_argument("--constraint", action="append", default=[], metavar="KPI>=X|KPI<=X",
                   help="a KPI bound judged on the mean over the seeds (repeatable), e.g. "
                        "on_time>=0.95, wait_p90<=20, city_coverage>=0.8")
    p.add_argument("--front", metavar="max:KPI|min:KPI",
                   help="shuttle plans: search the trade-off front of the objective against "
                        "this KPI (e.g. max:on_time) instead of the cheapest plan meeting the "
                        "constraints (which then only bound the front); its plans are proved "
                        "on fresh seeds and written to front/ for a planner to choose from")
    p.add_argument("--param", action="append", default=[], metavar="PATH=LO:HI",
                   help="a decision variable and its range (repeatable; default every line's "
                        "buses, 1 to twice the start plan's): shuttles.lines.N.buses, "
                        "shuttles.lines.N[.periods.K].vehicles or .headway_min, or any number "
                        "of the scenario")
    p.add_argument("--budget", type=argtypes.whole(1, 100_000), default=None, metavar="N",
                   help="candidates to evaluate, each over --seeds runs: shuttle plans "
                        f"(default {SHUTTLE_BUDGET}); staging: placements simulated, the "
                        "shipped staging and the MILP's plan included, 2 at least (default "
                        f"{STAGING_BUDGET})")
    p.add_argument("--seeds", type=argtypes.whole(1, 1_000), default=2, metavar="K",
                   help="replicate seeds per candidate, the same for all (default 2); "
                        "staging runs them to the window's end")
    p.add_argument("--fresh-seeds", type=argtypes.whole(2, 1_000), default=5, metavar="F",
                   help="seeds the search never used, for the chosen plan's proof (default 5)")
    p.add_argument("--confirm-seeds", type=argtypes.whole(0, 1_000), default=4, metavar="C",
                   help="shuttle plans: the cheapest plans meeting the constraints run on C "
                        "more seeds, and the first still meeting them over all is chosen "
                        "(default 4; 0: no confirmation)")
    p.add_argument("--confirm-level", type=argtypes.positive_number(0.999), default=0.8,
                   metavar="P", help="shuttle plans: a confirmed plan meets each constraint "
                                     "with this one-sided confidence (default 0.8; 0.5: on "
                                     "the mean)")
    p.add_argument("--seed", type=argtypes.seed, default=None, metavar="BASE",
                   help="base seed of the replicates (default: the scenario's)")
    p.add_argument("--start", choices=("plan", "shipped"), default="plan",
                   help="shuttle plans: start from the plan command's sizing of the scenario's "
                        "demand (default; one run more) or from the shipped lines")
    p.add_argument("--plan-max-wait", type=argtypes.positive_number(120), default=10,
                   metavar="MIN", help="the plan command's mean wait target (default 10)")
    p.add_argument("--plan-max-load", type=argtypes.positive_number(1), default=0.8,
                   metavar="SHARE", help="the plan command's load target (default 0.8)")
    p.add_argument("--units", metavar="TYPE=N,...",
                   help="staging: the unit budget by coverage type, e.g. pumper=8,ambulance=20 "
                        "(default: the shipped posts' units)")
    p.add_argument("--posts", type=argtypes.whole(1, 1_000), default=None, metavar="P",
                   help="staging: at most this many posts (default: the shipped number)")
    p.add_argument("--window", metavar="HH:MM-HH:MM",
                   help="staging: the hours to cover (default: the sessions' span)")
    p.add_argument("--target-min", type=argtypes.positive_number(60), default=None,
                   metavar="MIN", help="staging: the response target (default: the "
                                       "scenario's coverage_target_min)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="a value every run carries (repeatable)")
    p.add_argument("--out", required=True, metavar="DIR", help="the output folder")
    p.add_argument("--resume", action="store_true",
                   help="finish the unfinished search for --out, skipping its candidates")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier optimize output at --out (and its unfinished search)")
    p.add_argument("--workers", type=argtypes.whole(1, 1_024), default=None, metavar="W",
                   help="local worker processes (default: one per CPU)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run on this Dask distributed scheduler instead (the dist extra)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_optimize)


def _window(text: str | None, scenario):
    from .staging import Window, default_window

    if text is None:
        return default_window(scenario)
    from ..clock import parse_clock

    parts = text.split("-")
    try:
        a, b = (parse_clock(x.strip()) for x in parts) if len(parts) == 2 else (None, None)
    except ValueError:
        a = b = None
    if a is None or b is None or not 0 <= a < b <= 7 * 86_400:
        raise InputError(f"--window {text!r}: expected HH:MM-HH:MM with the end after the "
                         "start, e.g. 10:00-12:30")
    return Window(float(a), float(b))


def _units(text: str | None, scenario) -> dict[str, int]:
    from .staging import staging_budget

    budget = staging_budget(scenario)
    if text is None:
        return budget
    out = dict.fromkeys(budget, 0)
    for item in text.split(","):
        t, _, n = item.partition("=")
        t = t.strip()
        if t not in budget:
            raise InputError(f"--units {text!r}: {t!r} is not a coverage type of this scenario "
                             f"(emergency.coverage_types: {', '.join(budget)})")
        try:
            out[t] = int(n)
        except ValueError:
            out[t] = -1
        if not 0 <= out[t] <= 10_000:
            raise InputError(f"--units {text!r}: {t} = {n.strip()!r}; give a whole number "
                             "from 0 to 10000")
    return out


def cmd_optimize(args) -> int:
    from ..ownership import check_output_folder, run_key
    from ..whatif.params import build_scenario, parse_assignment, source
    from ..whatif.runner import kept, make_backend
    from .problem import (
        STAGING_OBJECTIVES,
        check_constraints,
        check_objective,
        constraint_warnings,
        parse_constraint,
    )

    objective = check_objective(args.objective)
    src = source(args.scenario)
    sets = [parse_assignment(t) for t in args.set]
    shipped = build_scenario(src, sets)
    constraints = [parse_constraint(t) for t in args.constraint]
    check_constraints(constraints, shipped)
    for text in constraint_warnings(constraints, shipped):
        print(f"warning: {text}", file=sys.stderr)
    staging = objective in STAGING_OBJECTIVES
    out = Path(args.out)
    key = run_key("optimize", src.ref, args.set, objective, args.constraint, args.param,
                  args.seeds, args.seed, args.start, args.units, args.posts, args.window,
                  *([args.front] if args.front else []))
    if staging:
        _check_staging_input(args, shipped, constraints)
        replace = check_output_folder(out, force=args.force, key=key)
        backend = make_backend(workers=args.workers, scheduler=args.scheduler)
        with kept(backend):
            return _staging(args, src, sets, shipped, constraints, out, replace, key, backend)
    return _shuttles(args, src, sets, shipped, objective, constraints, out, key)


# ---- shuttle plans -----------------------------------------------------------------------------
def _shuttles(args, src, sets, shipped, objective, constraints, out, key) -> int:
    from ..ownership import check_output_folder
    from ..whatif.runner import kept, make_backend
    from .names import SHUTTLE_BUDGET
    from .problem import check_variables, default_variables, parse_variable
    from .search import ShuttleSearch, _optuna, check_work_folder, run_search, work_folder

    if not shipped.shuttles.lines:
        raise InputError(f"--objective {args.objective}: scenario {shipped.name!r} has no "
                         "shuttle lines to plan")
    budget = args.budget or SHUTTLE_BUDGET
    front = _front(args.front, shipped)
    if not constraints and front is None:
        raise InputError("--constraint: give at least one, e.g. on_time>=0.95 (the fewest "
                         "buses with no constraint is one a line), or ask for the trade-off "
                         "front (--front max:on_time)")
    for c in constraints:
        if c.kpi.startswith("optimize."):
            raise InputError(f"--constraint {c.text!r}: {c.kpi} is a staging plan's KPI; "
                             "shuttle plans are held to delegates.*, shuttles.* or traffic.* "
                             "KPIs")
    if args.start == "plan" and any(".periods." in t for t in args.param):
        raise InputError("--param ...periods...: the plan's periods are known only once it is "
                         "sized; with --start plan give shuttles.lines.N.buses, or use --start "
                         "shipped")
    # the variables are checked against the shipped lines before any run
    parsed = [parse_variable(t, shipped) for t in args.param]
    check_variables(parsed)
    _optuna()  # the extra is there, before anything runs
    replace = check_output_folder(out, force=args.force, key=key)
    # an unfinished search of another kind, or without --resume, is refused before any run
    check_work_folder(work_folder(out), {"kind": "summit-sim optimize search"},
                      resume=args.resume, force=args.force, compare=False)
    backend = make_backend(workers=args.workers, scheduler=args.scheduler)
    base_seed = args.seed if args.seed is not None else shipped.seed
    began = time.perf_counter()
    if args.start == "plan":
        start, start_runs = _plan_start(args, shipped, sets, base_seed), 1
        variables = _on_plan(parsed, shipped, start) if parsed else default_variables(start)
    else:
        start, start_runs = shipped, 0
        variables = parsed or default_variables(shipped)
    search = ShuttleSearch(src.ref, [str(a) for a in sets], start, args.start, variables,
                           args.objective, constraints, budget, args.seeds, base_seed,
                           front=front)
    work = work_folder(out)
    finishing = check_work_folder(work, search.spec(), resume=args.resume, force=args.force)
    if not args.quiet:
        print(f"optimize: {args.objective} over {len(variables)} variables, {budget} "
              f"candidates x {args.seeds} seeds on {backend.describe()}", file=sys.stderr)
    try:
        with kept(backend):  # one pool for the whole search, stopped at once by Ctrl-C
            rows = run_search(search, work, backend, resume=finishing,
                              progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"interrupted: the finished candidates are in {work}/history.csv; run the same "
              "command with --resume to finish", file=sys.stderr)
        return 130
    if front is not None:
        from .front import finish_front as finish
    else:
        from .outputs import finish_shuttles as finish
    with kept(backend):
        return finish(args, src, sets, shipped, search, rows, out, work, replace, key, backend,
                      began, start_runs)


def _front(text: str | None, shipped):
    """--front's KPI and direction, checked against what this scenario's runs write."""
    if text is None:
        return None
    from ..whatif.params import check_kpi_names
    from .front import parse_front

    kpi, more = parse_front(text)
    try:
        check_kpi_names([kpi], shipped)
    except InputError as exc:
        why = str(exc).split(": ", 1)[1]
        raise InputError(f"--front {text!r}: {kpi!r}: {why}") from None
    return kpi, more


def _plan_start(args, shipped, sets, seed: int):
    """The plan command's sizing of the scenario's demand (one run), as a scenario."""
    from ..planning.scenario_file import plan_text
    from ..planning.settling import _run, _scenario_of, plan_overrides
    from ..planning.timetable import Targets, plan_lines

    targets = Targets(args.plan_max_wait, args.plan_max_load)
    if not args.quiet:
        print("optimize: sizing the start plan from one run of the scenario's demand "
              f"(plan --max-wait {args.plan_max_wait:g} --max-load {args.plan_max_load:g})",
              file=sys.stderr)
    plans = plan_lines(_run(shipped, seed, False), targets)
    text = plan_text(shipped, plans, targets, "python run.py optimize (start plan)")
    start = _scenario_of(text, plan_overrides([str(a) for a in sets]))
    start.source_path = shipped.source_path
    return start


def _on_plan(variables, shipped, start):
    """Variables named by the shipped lines' numbers, moved to the start plan's numbering
    (the plan leaves out lines nobody rode)."""
    from dataclasses import replace

    index = {ln.name: i for i, ln in enumerate(start.shuttles.lines)}
    out = []
    for v in variables:
        if v.line is None:
            out.append(v)
            continue
        name = shipped.shuttles.lines[v.line].name
        if name not in index:
            raise InputError(f"--param {v.path!r}: the plan left line {v.line} ({name}) out "
                             "(nobody rode it); drop the --param or use --start shipped")
        i = index[name]
        out.append(replace(v, line=i, path=v.path.replace(f"lines.{v.line}.", f"lines.{i}.",
                                                          1)))
    return out


# ---- staging --------------------------------------------------------------------------------
def _check_staging_input(args, shipped, constraints) -> None:
    if not shipped.emergency.enabled or not shipped.emergency.staging:
        raise InputError(f"--objective {args.objective}: scenario {shipped.name!r} has no "
                         "emergency staging posts (emergency.staging) to re-place")
    if args.param:
        raise InputError("--param: a staging plan's variables are the posts and their units "
                         "(--units, --posts); --param is for shuttle plans")
    if args.front:
        raise InputError(f"--front {args.front!r}: a trade-off front is for shuttle plans "
                         "(--objective buses or bus_hours)")
    for c in constraints:
        if c.kpi != "optimize.city_covered_share" or c.sense != ">=":
            raise InputError(f"--constraint {c.text!r}: a staging plan takes one constraint, "
                             "the city floor: city_coverage>=SHARE")
    if args.budget is not None and args.budget < 2:
        raise InputError(f"--budget {args.budget}: a staging search simulates the shipped "
                         "staging and at least one other placement; give 2 or more")
    _window(args.window, shipped)
    _units(args.units, shipped)


def _staging(args, src, sets, shipped, constraints, out, replace, key, backend) -> int:
    from .outputs import finish_staging

    return finish_staging(args, src, sets, shipped, constraints, out, replace, key, backend,
                          _window(args.window, shipped), _units(args.units, shipped))

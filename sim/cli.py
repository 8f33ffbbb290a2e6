"""The command line: `python run.py [command] ...`. Machine-readable output names are a contract."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from . import argtypes
from .calibration.commands import add_calibration_commands
from .errors import InputError
from .formats import embedded_network, load_network
from .whatif import add_whatif_commands


def _load_network(args):

    if getattr(args, "network", None):
        return load_network(args.network)
    return embedded_network()


def _positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1 (the message names the value)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


def cmd_network_info(args) -> int:
    net = _load_network(args)
    info = net.info()
    if args.json:
        _print_json(info)
        return 0
    print(f"{info['name'] or 'network'}: {info['nodes']} nodes, {info['links']} directed links, "
          f"strongly connected: {'yes' if info['strongly_connected'] else 'NO'}")
    print("km of directed link by class:")
    for cls, km in info["km_by_class"].items():
        print(f"  {cls:<11}{km:>9.1f}")
    kinds: dict[str, int] = {}
    for p in info["places"]:
        kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
    approx = sum(p["approx"] for p in info["places"])
    print(f"{len(info['places'])} places ({approx} approximate): "
          + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    for note in net.notes:
        print(f"note: {note}")
    return 0


def cmd_network_route(args) -> int:
    from .routing import Router

    net = _load_network(args)
    src, src_place = net.resolve(args.origin)
    dst, dst_place = net.resolve(args.destination)
    router = Router(net)
    route = router.route(src, dst)
    roads = router.road_names(route)
    out = {
        "from": src_place.name if src_place else src,
        "to": dst_place.name if dst_place else dst,
        "from_node": src,
        "to_node": dst,
        "minutes": round(route.minutes, 2),
        "km": round(route.metres / 1000, 3),
        "roads": roads,
        "nodes": list(route.nodes),
        "links": list(route.links),
    }
    if args.json:
        _print_json(out)
    else:
        print(f"{out['from']} -> {out['to']}: {out['km']:.1f} km, {out['minutes']:.1f} min at "
              "free-flow speed")
        print("via " + " > ".join(roads))
    return 0


def cmd_network_map(args) -> int:
    from .netmap import draw_network_map
    from .ownership import check_output_file

    out = Path(args.out)
    check_output_file(out, force=args.force, default=args.out == MAP_DEFAULT)
    net = _load_network(args)
    draw_network_map(net, out)
    print(f"map written to {out}")
    return 0


def cmd_network_export(args) -> int:
    from .atomic import atomic_file
    from .formats.geojson import write_geojson
    from .formats.graphml import write_graphml
    from .ownership import check_output_file

    check_output_file(args.out, force=args.force)
    net = _load_network(args)
    writer = {"graphml": write_graphml, "geojson": write_geojson}[args.format]
    with atomic_file(args.out) as tmp:
        writer(net, tmp)
    print(f"{args.format} written to {args.out} ({net.n_nodes} nodes, {net.n_links} links, "
          f"{len(net.places)} places)")
    return 0


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "run"


def _overrides(args) -> list[str]:
    """The run's `--set` overrides, with `--network FILE` as one more: `network.file` set to
    the file's absolute path, so it is recorded, names the variant's folder and replaces the
    scenario's own network exactly as `[network] file` would."""
    sets = list(args.set)
    if getattr(args, "network", None):
        path = Path(args.network)
        if not path.is_file():
            raise InputError(f"--network {args.network!r}: no such file; give a network file "
                             "(.json own format, .graphml, .osm)")
        sets.append(f"network.file={json.dumps(str(path.resolve()), ensure_ascii=False)}")
    return sets


def cmd_validate(args) -> int:
    from .model import scenario_network
    from .scenario import load_scenario
    from .traffic.controls import path_links, select_links
    from .traffic.demand import demand_destinations

    scenario = load_scenario(args.scenario, _overrides(args))
    net = scenario_network(scenario)
    # resolve every name the scenario uses against the network, as a run would
    demand_destinations(net, scenario.traffic)
    for group in ("closures", "capacity_changes", "truck_bans"):
        for i, sel in enumerate(getattr(scenario, group)):
            select_links(net, sel, f"{group}[{i}]")
    for i, c in enumerate(scenario.traffic.corridors):
        path_links(net, c.path, f"traffic.corridors[{i}] ({c.name})")
    for i, m in enumerate(scenario.motorcades):
        path_links(net, m.route, f"motorcades[{i}] ({m.name})")
    if scenario.has_summit():
        from .summit import summit_nodes

        summit_nodes(net, scenario)
    if scenario.emergency.enabled:  # stations, posts, hospitals, incidents, evacuations
        from .emergency.places import emergency_nodes

        emergency_nodes(net, scenario)
    if scenario.shuttles.lines:  # the people and their plans, as a run builds them
        from .model import SummitModel

        warnings = warn_unusable_lines(SummitModel(scenario, network=net))
    note = f", {warnings} warning(s) above" if scenario.shuttles.lines and warnings else ""
    print(f"{scenario.name}: valid ({scenario.source_path}; network: {net.name or 'unnamed'}, "
          f"{net.n_nodes} nodes{note})")
    return 0


def warn_unusable_lines(model) -> int:
    """Warn (not fail) of every shuttle line no one's planned day can use (sim/line_use.py);
    returns how many."""
    if model.summit is None or not model.summit.lines:
        return 0
    from .line_use import unusable_lines

    messages = unusable_lines(model.summit)
    for message in messages:
        print(f"warning: {message}", file=sys.stderr, flush=True)
    return len(messages)


def cmd_drill(args) -> int:
    from .emergency.drill import review

    out = review(args.scenario, args.observed, seeds=args.seeds, out=args.out,
                 overrides=args.set, base_seed=args.seed, workers=args.workers,
                 scheduler=args.scheduler, force=args.force)
    from .report_html import write_report

    print(f"report: {write_report(out)}")
    return 0


def cmd_run(args) -> int:
    import time

    from .model import SummitModel
    from .outputs import write_run
    from .ownership import check_output_folder, run_key, variant_suffix
    from .painter import BackgroundPainter
    from .report import print_summary
    from .scenario import load_scenario

    sets = _overrides(args)
    scenario = load_scenario(args.scenario, sets)
    seed = scenario.seed if args.seed is None else args.seed
    # variants of one scenario get folders of their own: the overrides name them
    out = Path(args.out) if args.out else Path("outputs") / (
        f"{_slug(scenario.name)}-seed{seed}{variant_suffix(sets)}")
    key = run_key("run", scenario.source_path, sets, seed)
    replace = check_output_folder(out, force=args.force, key=key, default=not args.out)
    t0 = time.perf_counter()
    # the pictures' worker gets ready on the other core while the model runs here
    with BackgroundPainter() as painter:
        model = SummitModel(scenario, seed=seed)
        warn_unusable_lines(model)
        model.run(progress=not args.quiet)
        wall = time.perf_counter() - t0
        metrics = write_run(model, out, wall_s=wall, painter=painter, replace=replace, key=key,
                            overrides=sets)
    print_summary(model, metrics, out, wall)
    print(f"report: {out / 'report.html'}")
    return 0


def cmd_plan(args) -> int:
    """Derive each line's buses and headway per period from the scenario's demand."""
    from .ownership import check_output_file
    from .planning.check import check_lines, check_text
    from .planning.settling import plan_overrides, write_plan
    from .planning.timetable import Targets

    targets = Targets(args.max_wait, args.max_load)
    check_path = plan_check_path(args.out)
    if args.check:  # before any work: the check's file too may be written
        check_output_file(check_path, force=args.force)
    command = " ".join([f"python run.py plan {args.scenario} --max-wait {args.max_wait:g} "
                        f"--max-load {args.max_load:g} --window {args.window}",
                        *(f"--set {s}" for s in args.set)])
    summary = write_plan(args.scenario, args.out, targets, overrides=_overrides(args),
                         seed=args.seed, force=args.force, command=command,
                         window_s=args.window * 60.0, rounds=args.rounds,
                         progress=not args.quiet)
    print(f"plan written to {args.out}: {summary['buses']} buses on {summary['planned_lines']} "
          f"lines (the input: {summary['input_buses']} on {summary['lines']})")
    for i, (met, n, buses) in enumerate(summary["rounds"], 1):
        print(f"  round {i}: {met} of {n} lines met the targets with {buses} buses")
    if args.check:
        checks = summary["checks"]
        if checks is None:  # the written plan was not run yet
            from .model import SummitModel
            from .scenario import load_scenario

            model = SummitModel(load_scenario(args.out, plan_overrides(_overrides(args))),
                                seed=args.seed)
            warn_unusable_lines(model)
            model.run(progress=not args.quiet)
            checks = check_lines(model)
        text = check_text(checks, targets)
        print(text, end="")
        write_check(check_path, text)
        print(f"check written to {check_path}")
    return 0


def plan_check_path(out: str) -> Path:
    """Where --check writes its table: beside the plan, PLAN.check.txt."""
    out = Path(out)
    return out.with_name(out.stem + ".check.txt")


def write_check(path: Path, text: str) -> None:
    """The check's table in a file carrying the project's mark (replaceable later)."""
    from .atomic import atomic_file
    from .ownership import STAMP

    with atomic_file(path) as tmp:
        tmp.write_text(f"# {STAMP.decode()}\n{text}", encoding="utf-8")


def cmd_bench(args) -> int:
    from .bench import machine, print_rows, routing_bench, run_bench, select_workloads

    def note(name):
        if not args.json:
            print(f"running {name} ...", file=sys.stderr, flush=True)

    if args.core:
        from .traffic.engine import pick_core

        pick_core(args.core)  # a name that is not a core: refused before any run
    workloads = select_workloads(args.workload, scale=args.scale)
    rows = run_bench(workloads, progress=note, repeats=args.repeat, core=args.core,
                     first_run=args.first_run)
    if args.json:
        out = rows
        if args.routing:
            out = {"workloads": rows, "routing": routing_bench(), "machine": machine()}
        _print_json(out)
        return 0
    print_rows(rows)
    if args.routing:
        print()
        for name, secs in routing_bench().items():
            print(f"  {name:<36}{secs * 1000:>10.2f} ms")
    m = machine()
    print(f"machine: {m['processor']}, {m['cpus']} CPUs, Python {m['python']}, {m['platform']}")
    return 0


def cmd_viz(args) -> int:
    """Serve the live control-centre view (SolaraViz) until interrupted."""
    import importlib.util
    import os

    from .scenario import load_scenario

    if not argtypes.is_local(args.host):
        if not getattr(args, "public", False):
            raise InputError(f"--host {args.host!r}: the view would be open to other machines; "
                             "add --public to mean it, or use 127.0.0.1, localhost or ::1")
        print(f"warning: --host {args.host} --public: the control-centre view (and its "
              "controls) will be reachable by anyone who can reach this machine",
              file=sys.stderr, flush=True)
    load_scenario(args.scenario, args.set)  # a bad scenario fails here, with its message
    if importlib.util.find_spec("solara") is None:
        raise InputError("the live view needs the `ui` extra: pip install -e '.[ui]'")
    from .viz.assets import ensure_assets

    try:
        ensure_assets(quiet=False)  # the page's browser files, kept locally (works offline)
    except RuntimeError as exc:
        print(f"warning: {exc}", file=sys.stderr)
    env = dict(os.environ, SUMMIT_VIZ_SCENARIO=args.scenario,
               SUMMIT_VIZ_SET=json.dumps(args.set), SUMMIT_VIZ_START=args.start or "")
    cmd = [sys.executable, "-m", "solara", "run", "sim.viz.app", "--host", args.host,
           "--port", str(args.port), "--production", "--no-open"]
    print(f"control centre for {args.scenario} at http://{args.host}:{args.port}/ "
          "(Ctrl-C stops it)", flush=True)
    root = Path(__file__).resolve().parent.parent
    from .processes import run_child

    # the server ends with this command, even a killed one (its own process group)
    return run_child(cmd, env=env, cwd=root)


def cmd_animate(args) -> int:
    from .animate import animate_run

    out = animate_run(args.run_dir, args.out, start=args.start, end=args.end, fps=args.fps,
                      step_s=args.step, force=args.force)
    print(f"animation written to {out}")
    return 0


def cmd_default(args) -> int:
    """The main job: the Leaders' peak day on the embedded network, with a progress bar."""
    args.scenario = "leaders_day"
    args.seed = None
    args.set = []
    args.network = None
    args.quiet = False
    return cmd_run(args)


NETWORK_RUN_HELP = ("a network file (.json own format, .graphml, .osm) replacing the scenario's "
                    "own ([network] file, else the embedded Gyeongju network); every place and "
                    "node the scenario names must be in it")
FORCE_HELP = ("replace an earlier output of summit-sim at --out (never anything else: a folder "
              "holding other files is refused)")
MAP_DEFAULT = "outputs/network_map.png"
SET_HELP = ("override a scenario value, e.g. traffic.demand_scale=0.8 or the alias "
            "shuttles.fleet=200 (repeatable; the same names as compare and sweep)")


def _prog() -> str:
    """The command as the user typed it: the installed `summit-sim`, else `python run.py`."""
    return "summit-sim" if Path(sys.argv[0]).name == "summit-sim" else "python run.py"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_prog(),
        description="summit-sim: Gyeongju APEC 2025 transport and emergency-response simulation.")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="where the main job (the Leaders' peak day) writes its outputs "
                             "(default: outputs/leaders_peak_day-seed1)")
    parser.add_argument("--force", action="store_true", help=FORCE_HELP)
    sub = parser.add_subparsers(dest="command", metavar="command")

    net = sub.add_parser("network", help="inspect, route on, draw and export the road network")
    net_sub = net.add_subparsers(dest="network_command", metavar="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--network", metavar="FILE",
                        help="network file (.json own format, .graphml, .osm); "
                             "default: the embedded Gyeongju network")

    p = net_sub.add_parser("info", parents=[common], help="size, km by class, places")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_network_info)

    p = net_sub.add_parser("route", parents=[common], help="fastest free-flow route")
    p.add_argument("origin", metavar="FROM", help="place name (case-insensitive) or node id")
    p.add_argument("destination", metavar="TO", help="place name (case-insensitive) or node id")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_network_route)

    p = net_sub.add_parser("map", parents=[common], help="draw the network to a PNG")
    p.add_argument("--out", default=MAP_DEFAULT, metavar="FILE.png")
    p.add_argument("--force", action="store_true", help="replace an earlier map at --out")
    p.set_defaults(func=cmd_network_map)

    p = net_sub.add_parser("export", parents=[common], help="write GraphML or GeoJSON")
    p.add_argument("--format", required=True, choices=("graphml", "geojson"))
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier export of summit-sim at --out")
    p.set_defaults(func=cmd_network_export)

    p = sub.add_parser("run", help="run a scenario and write its outputs")
    p.add_argument("scenario", metavar="SCENARIO", help="a .toml file or a shipped scenario name")
    p.add_argument("--seed", type=argtypes.seed,
                   help="random seed, 0 to 2**63 - 1 (default: the scenario's)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help=SET_HELP)
    p.add_argument("--network", metavar="FILE", help=NETWORK_RUN_HELP)
    p.add_argument("--out", metavar="DIR",
                   help="output folder (default: outputs/NAME-seedN, plus the overrides)")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check a scenario without running it")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help=SET_HELP)
    p.add_argument("--network", metavar="FILE", help=NETWORK_RUN_HELP)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("drill", help="review an observed drill log against the scenario's runs")
    p.add_argument("scenario", metavar="SCENARIO")
    p.add_argument("--observed", required=True, metavar="LOG.csv",
                   help="observed log: incident, unit, stage, timestamp (docs/drill-log.md), "
                        "or a shipped log by name, e.g. hico_fire_drill_observed")
    # judgement: 10,000 runs is beyond any review
    p.add_argument("--seeds", type=argtypes.whole(1, 10_000), default=5, metavar="N",
                   help="runs (default 5): the replicate seeds of the base seed, the same as "
                        "compare and sweep use")
    p.add_argument("--seed", type=argtypes.seed, default=None, metavar="BASE",
                   help="base seed of the replicates (default: the scenario's seed)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help=SET_HELP)
    p.add_argument("--workers", type=argtypes.whole(1, 1024), default=None, metavar="N",
                   help="local worker processes (default: one per CPU); the review is the "
                        "same whatever the number")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="run on this Dask distributed scheduler instead (the dist extra)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: outputs/NAME-drill)")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.set_defaults(func=cmd_drill)

    p = sub.add_parser("plan", help="derive the shuttle lines' buses and headways per period "
                                    "from the scenario's demand, as an editable scenario")
    p.add_argument("scenario", metavar="SCENARIO")
    # judgement: a wait target beyond two hours is no shuttle service
    p.add_argument("--max-wait", type=argtypes.positive_number(120), required=True,
                   metavar="MIN", help="mean wait at a stop, minutes: headway <= 2 x this")
    p.add_argument("--max-load", type=argtypes.positive_number(1), required=True,
                   metavar="SHARE", help="riders per hour over the seats the runs offer, "
                                         "above 0 and at most 1 (e.g. 0.8)")
    p.add_argument("--out", required=True, metavar="FILE.toml", help="the plan (a scenario)")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier plan of summit-sim at --out")
    p.add_argument("--window", type=int, choices=(15, 30, 60), default=60, metavar="MIN",
                   help="riders per hour as the clock hour's count (60, the default) or at the "
                        "rate of the hour's busiest 15 or 30 minutes (sized for the waves)")
    p.add_argument("--rounds", type=argtypes.whole(0, 50), default=6, metavar="N",
                   help="settle the plan over up to N runs of it: while a line misses its "
                        "targets, plan it again from that run's demand and merge (riders "
                        "choose lines by the timetable); 0: the plan from the input's run "
                        "alone, not run (default 6)")
    p.add_argument("--check", action="store_true",
                   help="then run the plan and report each line against the targets (also "
                        "written to PLAN.check.txt beside the plan)")
    p.add_argument("--seed", type=argtypes.seed, help="random seed (default: the scenario's)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help=SET_HELP)
    p.add_argument("--network", metavar="FILE", help=NETWORK_RUN_HELP)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_plan)

    p = sub.add_parser("bench", help="time whole runs (and optionally routing) on this machine")
    p.add_argument("--json", action="store_true",
                   help="a list of objects with workload, wall_s, peak_rss_mb, trips, "
                        "link_traversals, traversals_per_s, loop_s, loop_traversals_per_s")
    p.add_argument("--routing", action="store_true", help="add the routing micro-benchmarks")
    p.add_argument("--scale", action="store_true",
                   help="add the scale workload scale_20k_2m: a GENERATED 20,000-node region "
                        "with 2 million trips over 24 h (sim/scale_workload.py); many minutes")
    p.add_argument("--workload", action="append", metavar="NAME",
                   help="run only this workload (repeatable), of the default or the scale ones")
    p.add_argument("--repeat", type=_positive_int, default=3, metavar="N",
                   help="runs per workload; the median wall time is reported (default 3)")
    p.add_argument("--core", default=None, metavar="NAME",
                   help="the traffic core to run on: compiled (the default), python or "
                        "reference; all give the same outputs, so this pairs their speeds")
    p.add_argument("--first-run", action="store_true",
                   help="add one run of the first workload with numba's cache empty: the first "
                        "run after installing, compiling included")
    p.set_defaults(func=cmd_bench)
    add_whatif_commands(sub)
    add_calibration_commands(sub)
    from .optimize.command import add_optimize_command

    add_optimize_command(sub)

    p = sub.add_parser("viz", help="the live control-centre view in the browser (ui extra)")
    p.add_argument("scenario", metavar="SCENARIO", nargs="?", default="leaders_day",
                   help="a .toml file or a shipped scenario name (default: leaders_day)")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE", help=SET_HELP)
    p.add_argument("--host", default="127.0.0.1", type=argtypes.host,
                   help="address to listen on (default 127.0.0.1: this machine only; any "
                        "other address needs --public)")
    p.add_argument("--public", action="store_true",
                   help="allow --host to be an address other machines can reach")
    p.add_argument("--port", type=argtypes.port, default=8765,
                   help="port, 1 to 65535 (default 8765)")
    p.add_argument("--start", metavar="HH:MM", type=argtypes.clock,
                   help="open the view at this time of day")
    p.set_defaults(func=cmd_viz)

    p = sub.add_parser("animate", help="animate a run's vehicles over the map (GIF or MP4)")
    p.add_argument("run_dir", metavar="RUN_DIR",
                   help="a run folder written with --set outputs.positions=true")
    p.add_argument("--from", dest="start", default=None, metavar="HH:MM",
                   help="first frame (default: the run's start)")
    p.add_argument("--to", dest="end", default=None, metavar="HH:MM",
                   help="last frame (default: the run's end)")
    p.add_argument("--out", required=True, metavar="FILE.gif|FILE.mp4",
                   help="GIF (Pillow) or MP4 (needs ffmpeg)")
    p.add_argument("--force", action="store_true",
                   help="replace an earlier animation of summit-sim at --out")
    p.add_argument("--step", type=argtypes.positive_number(86_400), default=60.0,
                   metavar="SECONDS",
                   help="simulated seconds per frame (default 60)")
    p.add_argument("--fps", type=argtypes.whole(1, 120), default=8,
                   help="frames per second, 1 to 120 (default 8)")
    p.set_defaults(func=cmd_animate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None) or cmd_default
    from .processes import ignore_interrupts, terminate_as_interrupt

    with terminate_as_interrupt():  # SIGTERM stops a command as Ctrl-C does
        try:
            return func(args)
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            ignore_interrupts()  # one message, however many interrupts follow
            print("interrupted; nothing partial was written", file=sys.stderr)
            return 130


if __name__ == "__main__":
    sys.exit(main())

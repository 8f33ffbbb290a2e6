"""`python run.py bench`: how fast the simulation runs on this machine.

Each workload is a whole `python run.py run ...` process, timed from outside (wall seconds,
peak resident memory of the process), so start-up, demand generation and writing outputs count;
the median of `--repeat` runs (3) is reported.
`--routing` adds the shortest-path micro-benchmarks. Record the figures in BENCHMARKS.md with the
machine and the date.

Each row also has the engine's own share: `loop_s`, the seconds the process spent in the
traffic engine's event loop (from the run's manifest; for the summit days it includes the
agents the engine calls back), and `loop_traversals_per_s`, link traversals over those seconds.
`--core NAME` runs the workloads on another traffic core (`python`, `reference`: the cores
give the same outputs, so this pairs their speeds). `--first-run` adds one run of the first
workload with numba's cache empty: what the first run after installing costs, compiling
included (the other rows load the compiled core from the cache).

`--scale` adds the scale workload, `scale_20k_2m`: a GENERATED regional network of about 20,000
nodes with 2 million trips over 24 h (sim/scale_workload.py), written into a temporary folder
and run as a whole process like the others. It takes many minutes with the pure-Python engine,
so it is not run by default. `--workload NAME` (repeatable) runs only the workloads named, of
either list (`--workload scale_20k_2m --repeat 1` for the scale workload alone).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

from .errors import InputError
from .formats import EMBEDDED_PATH, load_network
from .routing import Router

ROOT = Path(__file__).resolve().parent.parent  # the checkout, or site-packages when installed
BENCH_COLUMNS = ["workload", "wall_s", "peak_rss_mb", "trips", "link_traversals",
                 "traversals_per_s", "loop_s", "loop_traversals_per_s"]
WORKLOADS = [  # (name, scenario, overrides)
    ("normal_weekday_24h", "normal_weekday", []),
    ("leaders_day", "leaders_day", []),
    ("demand_0.25x", "normal_weekday", ["traffic.demand_scale=0.25"]),
    ("demand_0.5x", "normal_weekday", ["traffic.demand_scale=0.5"]),
    ("demand_1x", "normal_weekday", ["traffic.demand_scale=1.0"]),
    ("demand_2x", "normal_weekday", ["traffic.demand_scale=2.0"]),
    ("leaders_day_emergency", "leaders_day", ["emergency.enabled=true"]),
    ("hico_fire_drill", "hico_fire_drill", []),
]
# (name, generator arguments of sim.scale_workload.write_scale_workload, overrides)
SCALE_WORKLOADS = [
    ("scale_20k_2m", {"nodes": 20_000, "trips": 2_000_000}, []),
]


def run_workload(name: str, scenario: str, overrides: list[str], *, core: str | None = None,
                 cold: bool = False) -> dict:
    """Run one workload in its own process; wall time and peak RSS of that process. `core`
    names the traffic core; `cold` runs it with numba's cache empty (compiling included)."""
    env = dict(os.environ)
    if core:
        env["SUMMIT_SIM_CORE"] = core
    with tempfile.TemporaryDirectory(prefix="summit-bench-") as tmp:
        if cold:
            env["NUMBA_CACHE_DIR"] = str(Path(tmp) / "numba-cache")
        out = Path(tmp) / "run"
        # `python -m sim` is run.py's program, in a checkout and installed alike
        cmd = [sys.executable, "-m", "sim", "run", scenario, "--quiet", "--out", str(out)]
        for o in overrides:
            cmd += ["--set", o]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                cwd=ROOT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode() if proc.stderr else ""
        if proc.returncode != 0:
            raise RuntimeError(f"workload {name} failed ({proc.returncode}): {err.strip()}")
        metrics = json.loads((out / "metrics.json").read_text())["traffic"]
        loop_s = json.loads((out / "manifest.json").read_text())["engine"]["loop_s"]
    traversals = metrics["link_traversals"]
    return {
        "workload": name,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        "trips": metrics["trips"],
        "link_traversals": traversals,
        "traversals_per_s": round(traversals / wall),
        "loop_s": loop_s,
        "loop_traversals_per_s": round(traversals / loop_s) if loop_s else 0,
    }


def select_workloads(names: list[str] | None = None, *, scale: bool = False) -> list[tuple]:
    """The workloads to run: the shipped ones (with the scale ones after them when `scale`),
    or only those `names` (of either list, in the order given)."""
    every = {w[0]: w for w in [*WORKLOADS, *SCALE_WORKLOADS]}
    if not names:
        return [*WORKLOADS, *(SCALE_WORKLOADS if scale else [])]
    unknown = [n for n in names if n not in every]
    if unknown:
        raise InputError(f"--workload {unknown[0]!r} is not a workload; the workloads: "
                         f"{', '.join(every)}")
    return [every[n] for n in dict.fromkeys(names)]


def _run_scale_workload(name: str, generator: dict, overrides: list[str], progress=None,
                        **how) -> dict:
    """Generate the scale workload's network and scenario into a temporary folder, then run
    it as a whole process like the others (the generation is not in its wall time)."""
    from .scale_workload import write_scale_workload

    with tempfile.TemporaryDirectory(prefix="summit-scale-") as tmp:
        t0 = time.perf_counter()
        scenario = write_scale_workload(tmp, **generator)
        if progress:
            progress(f"{name}: generated in {time.perf_counter() - t0:.1f} s")
        return run_workload(name, str(scenario), overrides, **how)


def run_bench(workloads=WORKLOADS, progress=None, repeats: int = 3, *,
              core: str | None = None, first_run: bool = False) -> list[dict]:
    """Each workload `repeats` times: the median wall time (a single run on a shared machine
    moves by a second either way) and the largest peak memory. A workload whose second item
    is a dict of generator arguments is a scale workload (SCALE_WORKLOADS). `first_run`:
    first, one run of the first workload with numba's cache empty (its row's name says so)."""
    rows = []
    if first_run and workloads:
        name, scenario, overrides = workloads[0]
        if progress:
            progress(f"{name} (first run: compiling)")
        run = (_run_scale_workload(name, scenario, overrides, progress, core=core, cold=True)
               if isinstance(scenario, dict)
               else run_workload(name, scenario, overrides, core=core, cold=True))
        rows.append(dict(run, workload=f"{name} (first run)"))
    for name, scenario, overrides in workloads:
        if progress:
            progress(name)
        if isinstance(scenario, dict):
            runs = [_run_scale_workload(name, scenario, overrides, progress, core=core)
                    for _ in range(repeats)]
        else:
            runs = [run_workload(name, scenario, overrides, core=core) for _ in range(repeats)]
        wall = statistics.median(r["wall_s"] for r in runs)
        loop_s = statistics.median(r["loop_s"] for r in runs)
        row = dict(runs[0], wall_s=round(wall, 2),
                   peak_rss_mb=max(r["peak_rss_mb"] for r in runs), loop_s=loop_s)
        row["traversals_per_s"] = round(row["link_traversals"] / wall)
        row["loop_traversals_per_s"] = round(row["link_traversals"] / loop_s) if loop_s else 0
        rows.append(row)
    return rows


def machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()}


def print_rows(rows: list[dict]) -> None:
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in BENCH_COLUMNS]
    print("  ".join(c.ljust(w) for c, w in zip(BENCH_COLUMNS, widths, strict=True)))
    for r in rows:
        print("  ".join(str(r[c]).ljust(w) for c, w in zip(BENCH_COLUMNS, widths, strict=True)))


# ---- routing micro-benchmarks -------------------------------------------------------------
def _median_s(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def routing_bench(repeats: int = 5) -> dict[str, float]:
    """Network loading and shortest paths (median seconds of `repeats`)."""
    net = load_network(EMBEDDED_PATH)
    router = Router(net)
    rng = np.random.default_rng(1)
    sources = rng.choice(net.n_nodes, size=50, replace=False)
    hico = net.resolve("HICO")[0]
    stations = [p.node for p in net.places
                if p.kind in ("safety_centre", "local_unit", "fire_station")]
    ids = [net.nodes[s].id for s in sources]
    g = net.graph
    pairs = [(net.nodes[a].id, net.nodes[b].id)
             for a, b in rng.choice(net.n_nodes, size=(100, 2))]
    out = {
        "load_embedded_network_s": _median_s(lambda: load_network(EMBEDDED_PATH),
                                              repeats),
        "build_router_s": _median_s(lambda: Router(net), repeats),
        "one_to_all_50_sources_scipy_s": _median_s(lambda: router.times_from(sources), repeats),
        "one_to_all_50_sources_networkx_s": _median_s(
            lambda: [nx.single_source_dijkstra_path_length(g, s, weight="free_flow_s")
                     for s in ids], repeats),
        "stations_to_hico_one_sweep_s": _median_s(lambda: router.nearest(stations, hico),
                                                  repeats),
        "route_100_pairs_with_paths_s": _median_s(
            lambda: [router.route(a, b) for a, b in pairs], repeats),
    }
    return {k: round(v, 6) for k, v in out.items()}

"""`python run.py bench`: timings of the parts that set the pace, on the embedded network.

Each figure is the median of several repeats of one operation inside one process; compare
figures only between runs on the same machine (BENCHMARKS.md records which).
"""

from __future__ import annotations

import platform
import statistics
import time

import networkx as nx
import numpy as np

from .network import EMBEDDED_PATH, RoadNetwork
from .routing import Router


def _median_s(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_bench(repeats: int = 5) -> dict:
    """Time network loading and routing; returns {name: seconds} plus the machine."""
    net = RoadNetwork.from_file(EMBEDDED_PATH)
    router = Router(net)
    rng = np.random.default_rng(1)
    sources = rng.choice(net.n_nodes, size=50, replace=False)
    hico = net.resolve("HICO")[0]
    stations = [p.node for p in net.places if p.kind in ("safety_centre", "local_unit",
                                                         "fire_station")]
    ids = [net.nodes[s].id for s in sources]
    g = net.graph
    pairs = [(net.nodes[a].id, net.nodes[b].id)
             for a, b in rng.choice(net.n_nodes, size=(100, 2))]
    results = {
        "load_embedded_network_s": _median_s(lambda: RoadNetwork.from_file(EMBEDDED_PATH),
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
    results["scipy_speedup_x"] = (results["one_to_all_50_sources_networkx_s"]
                                  / results["one_to_all_50_sources_scipy_s"])
    return {
        "network": {"nodes": net.n_nodes, "links": net.n_links},
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "repeats": repeats,
        "results": results,
    }


def print_bench(report: dict) -> None:
    print(f"network: {report['network']['nodes']} nodes, {report['network']['links']} links; "
          f"median of {report['repeats']} repeats; Python {report['machine']['python']}")
    for name, value in report["results"].items():
        if name.endswith("_x"):
            print(f"  {name:<40}{value:>10.1f} x")
        else:
            print(f"  {name:<40}{value * 1000:>10.2f} ms")

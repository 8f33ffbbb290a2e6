"""Write a run's outputs (one folder, complete or absent): manifest, metrics, trips, link stats,
time series and the congestion map. Column names are a contract."""

from __future__ import annotations

import csv
import json
import os
import platform
import time
from pathlib import Path

import mesa
import numba
import numpy as np

from . import __version__
from .atomic import atomic_dir
from .clock import format_clock
from .metrics import (
    corridor_bins,
    link_hours,
    link_peak_ratios,
    traffic_metrics,
    trip_table,
    uncongested_times,
)
from .painter import Painter
from .tables import fmt, write_csv

LINK_COLUMNS = ["link_id", "from_node", "to_node", "entered", "exited", "max_queue",
                "mean_tt_s", "max_tt_s", "seconds_at_capacity", "road", "road_class", "length_m",
                "uncongested_s", "capacity_vph", "peak_15min_vehicles"]
CORRIDOR_COLUMNS = ["corridor", "bin_start_s", "clock", "travel_s", "free_flow_s",
                    "uncongested_s"]
LINK_HOUR_COLUMNS = ["link_id", "hour_start_s", "clock", "vehicles", "mean_tt_s"]
TIMESERIES_COLUMNS = ["time_s", "clock", "en_route", "waiting_to_enter", "departed", "arrived",
                      "stuck"]


def collect_metrics(model) -> dict:
    """metrics.json: the traffic's section, then each layer's."""
    out = {"traffic": traffic_metrics(model.engine, model.spec.traffic.corridors)}
    for layer in model.layers:
        out.update(layer.metrics())
    return out


def write_run(model, out: str | Path, *, wall_s: float | None = None,
              painter: Painter | None = None, replace: bool = False, key: str | None = None,
              overrides: list[str] | None = None) -> dict:
    """Write every output of a finished model into `out` atomically; returns the metrics.
    Pictures are asked of `painter` first (a worker process draws them while the tables are
    written here) and the report, which embeds them, comes last. An earlier run at `out` is
    replaced only with `replace` (see `ownership`)."""
    out = Path(out)
    engine = model.engine
    painter = painter or Painter()
    # on an error or an interrupt the painter stops first, then the folder goes
    with atomic_dir(out, replace=replace, command="run", key=key) as tmp, \
            painter.stopped_on_error():
        if model.spec.outputs.congestion_map:
            painter.draw("sim.plots:draw_congestion_map", model.network,
                         link_peak_ratios(engine), tmp / "congestion_map.png",
                         title=f"{model.spec.name}: peak delay ratio by link "
                               f"(seed {model.seed_used})",
                         venues=[v.name for v in model.spec.venues],
                         hubs=[t.hub for t in model.spec.travel])
        # the largest table is written beside the main process, from plain columns
        painter.write("sim.trip_csv:write_trips", trip_table(engine), tmp / "trips.csv")
        metrics = collect_metrics(model)
        _write_links(engine, tmp / "link_stats.csv")
        _test_pause()
        _write_link_hours(engine, tmp / "link_hours.csv")
        _write_timeseries(engine, tmp / "timeseries.csv")
        if model.spec.traffic.corridors:
            _write_corridors(engine, model.spec.traffic.corridors, tmp / "corridors.csv")
        for layer in model.layers:
            layer.write_outputs(tmp, metrics, painter)
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n",
                                          encoding="utf-8")
        manifest = {
            "scenario": model.spec.model_dump(mode="json"),
            "scenario_file": model.spec.source_path,
            "overrides": list(overrides or []),
            "seed": model.seed_used,
            "versions": {"summit_sim": __version__, "mesa": mesa.__version__,
                         "numpy": np.__version__, "numba": numba.__version__,
                         "python": platform.python_version()},
            "network": {"name": model.network.name, "nodes": model.network.n_nodes,
                        "links": model.network.n_links},
            "controls": model.controls,
            "events": {"link_traversals": engine.traversals, "departed": engine.departed,
                       "arrived": engine.arrived, "guidance_rebuilds": engine.guidance.rebuilds},
            "wall_s": None if wall_s is None else round(wall_s, 3),
            # how the engine ran: its core, and the seconds spent in its event loop (with the
            # Python it calls back: agents, controls, guidance)
            "engine": {"core": engine.core, "loop_s": round(engine.loop_s, 3)},
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n",
                                           encoding="utf-8")
        if model.spec.outputs.positions:  # vehicle positions for `run.py animate`
            from .animate import write_positions

            write_positions(engine, tmp)
        painter.wait()
        from .report_html import write_report

        write_report(tmp, metrics, manifest)  # last: every picture is there to embed
    return metrics


# Tests of interruptions set this to a file name: the writing of a run's outputs creates that
# file once the main process has its first table on disk, then waits (a minute at most) for
# the test's signal.
TEST_PAUSE_ENV = "SUMMIT_SIM_TEST_PAUSE_IN_WRITE"


def _test_pause() -> None:
    marker = os.environ.get(TEST_PAUSE_ENV)
    if marker:
        Path(marker).touch()
        time.sleep(60)


def _write_links(engine, path: Path) -> None:
    """link_stats.csv: one row per directed network link, with what a fit to observed counts
    and travel times needs besides (road, class, length, travel time at zero flow)."""
    net = engine.net
    sm = engine.link_summary()
    calm = uncongested_times(engine)
    peak = sm["bin_n"].max(axis=1)  # vehicles entering in the busiest 15 minutes
    capacity = net.capacity_vph
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(LINK_COLUMNS)
        for lk in net.links:
            i = lk.id
            n = int(sm["exited"][i])
            w.writerow([i, lk.from_node, lk.to_node, int(sm["entered"][i]), n,
                        int(sm["max_queue"][i]), fmt(sm["tt_sum"][i] / n if n else None),
                        fmt(sm["tt_max"][i] if n else None), fmt(sm["seconds_at_capacity"][i]),
                        lk.road, lk.road_class, fmt(lk.length_m), fmt(calm[i]),
                        fmt(capacity[i], 3), int(peak[i])])


def _write_link_hours(engine, path: Path) -> None:
    """link_hours.csv: per link and hour of the run (by entry time), the vehicles that entered
    and their mean travel time; hours a link was not used are left out."""
    hour_start, n, tt = link_hours(engine)
    # an hour's two cells are the same on every row: written once each
    hour_cells = [f"{t:.0f},{format_clock(t)}" for t in hour_start.tolist()]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(",".join(LINK_HOUR_COLUMNS) + "\n")
        links, hours = np.nonzero(n)
        vehicles = n[links, hours]
        mean_tt = tt[links, hours] / vehicles
        fh.writelines(f"{i},{hour_cells[h]},{k},{m:.1f}\n" for i, h, k, m in zip(
            links.tolist(), hours.tolist(), vehicles.tolist(), mean_tt.tolist(), strict=True))


def _write_timeseries(engine, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(TIMESERIES_COLUMNS)
        for t, en_route, waiting, departed, arrived, stuck in engine.timeseries:
            w.writerow([fmt(t, 0), format_clock(t), en_route, waiting, departed, arrived, stuck])


def _write_corridors(engine, corridors, path: Path) -> None:
    """corridors.csv: per corridor (scenario order) and 15-minute bin of the run, by entry time,
    its travel time (see `corridor_bins`), with its free-flow and uncongested times."""
    rows = []
    for name, (per_bin, ff, base) in corridor_bins(engine, corridors).items():
        for k, travel in enumerate(per_bin.tolist()):
            t = engine.start_s + k * engine.bin_s
            rows.append([name, fmt(t, 0), format_clock(t), fmt(travel, 3), fmt(ff, 3),
                         fmt(base, 3)])
    write_csv(path, CORRIDOR_COLUMNS, rows)



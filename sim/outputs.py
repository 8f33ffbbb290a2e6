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
import numpy as np

from . import __version__
from .atomic import atomic_dir
from .clock import format_clock
from .metrics import (
    corridor_bins,
    delegate_metrics,
    link_hours,
    link_peak_ratios,
    shuttle_metrics,
    stop_rows,
    traffic_metrics,
    trip_table,
    uncongested_times,
)
from .painter import Painter
from .picture_data import summit_picture_data

TRIP_COLUMNS = ["trip_id", "kind", "origin", "destination", "depart_s", "arrive_s", "km",
                "free_flow_s", "delay_s", "status", "forced", "held_s", "end_s"]
LINK_COLUMNS = ["link_id", "from_node", "to_node", "entered", "exited", "max_queue",
                "mean_tt_s", "max_tt_s", "seconds_at_capacity", "road", "road_class", "length_m",
                "uncongested_s", "capacity_vph", "peak_15min_vehicles"]
CORRIDOR_COLUMNS = ["corridor", "bin_start_s", "clock", "travel_s", "free_flow_s",
                    "uncongested_s"]
LINK_HOUR_COLUMNS = ["link_id", "hour_start_s", "clock", "vehicles", "mean_tt_s"]
TIMESERIES_COLUMNS = ["time_s", "clock", "en_route", "waiting_to_enter", "departed", "arrived",
                      "stuck"]


def _f(x, nd=1) -> str:
    return "" if x is None else f"{x:.{nd}f}"


def collect_metrics(model) -> dict:
    out = {"traffic": traffic_metrics(model.engine, model.spec.traffic.corridors)}
    if model.summit is not None:
        out["delegates"] = delegate_metrics(model.summit)
        out["shuttles"] = shuttle_metrics(model.summit, model.engine)
    if getattr(model, "emergency", None) is not None:
        from .emergency.metrics import emergency_metrics

        out["emergency"] = emergency_metrics(model.emergency)
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
        if model.summit is not None and model.summit.delegates:
            painter.draw("sim.plots:draw_summit_plots", summit_picture_data(model.summit), tmp,
                         title=model.spec.name)
        if model.spec.outputs.congestion_map:
            painter.draw("sim.plots:draw_congestion_map", model.network,
                         link_peak_ratios(engine), tmp / "congestion_map.png",
                         title=f"{model.spec.name}: peak delay ratio by link "
                               f"(seed {model.seed_used})",
                         venues=[v.name for v in model.spec.venues],
                         hubs=[t.hub for t in model.spec.travel])
        metrics = collect_metrics(model)
        _write_trips(engine, tmp / "trips.csv")
        _test_pause()
        _write_links(engine, tmp / "link_stats.csv")
        _write_link_hours(engine, tmp / "link_hours.csv")
        _write_timeseries(engine, tmp / "timeseries.csv")
        if model.spec.traffic.corridors:
            _write_corridors(engine, model.spec.traffic.corridors, tmp / "corridors.csv")
        if model.summit is not None:
            _write_delegates(model.summit, tmp / "delegates.csv")
            _write_person_trips(model.summit, tmp / "person_trips.csv")
            _write_lines(metrics["shuttles"]["by_line"], tmp / "lines.csv")
            if model.summit.lines:
                _write_stops(model.summit, tmp / "stops.csv")
            if model.summit.drt is not None:
                _write_drt_requests(model.summit, tmp / "drt_requests.csv")
        if getattr(model, "emergency", None) is not None:
            from .emergency.metrics import (
                INCIDENT_COLUMNS,
                UNIT_COLUMNS,
                incident_rows,
                unit_rows,
            )

            _write_csv(tmp / "incidents.csv", INCIDENT_COLUMNS, incident_rows(model.emergency))
            _write_csv(tmp / "units.csv", UNIT_COLUMNS, unit_rows(model.emergency))
            from .emergency.metrics import write_coverage

            # coverage.csv, coverage_gaps.csv, and its chart
            write_coverage(model.emergency, tmp, painter)
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n",
                                          encoding="utf-8")
        manifest = {
            "scenario": model.spec.model_dump(mode="json"),
            "scenario_file": model.spec.source_path,
            "overrides": list(overrides or []),
            "seed": model.seed_used,
            "versions": {"summit_sim": __version__, "mesa": mesa.__version__,
                         "numpy": np.__version__, "python": platform.python_version()},
            "network": {"name": model.network.name, "nodes": model.network.n_nodes,
                        "links": model.network.n_links},
            "controls": model.controls,
            "events": {"link_traversals": engine.traversals, "departed": engine.departed,
                       "arrived": engine.arrived, "guidance_rebuilds": engine.guidance.rebuilds},
            "wall_s": None if wall_s is None else round(wall_s, 3),
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
# file once the first table is on disk, then waits (a minute at most) for the test's signal.
TEST_PAUSE_ENV = "SUMMIT_SIM_TEST_PAUSE_IN_WRITE"


def _test_pause() -> None:
    marker = os.environ.get(TEST_PAUSE_ENV)
    if marker:
        Path(marker).touch()
        time.sleep(60)


TRIP_ROW = "%d,%s,%s,%s,%.1f,%s,%.3f,%.1f,%.1f,%s,%d,%.1f,%.1f\n"


def _write_trips(engine, path: Path) -> None:
    t = trip_table(engine)
    arrive = ["" if a != a else f"{a:.1f}" for a in t["arrive_s"].tolist()]  # NaN: en route
    # names are node ids and place names, a few hundred in all: quote once any that would
    # break the CSV
    quoted = {name: _csv_text(name) for name in {*t["origin"], *t["destination"]}}
    rows = zip(t["trip_id"].tolist(), t["kind"], map(quoted.__getitem__, t["origin"]),
               map(quoted.__getitem__, t["destination"]), t["depart_s"].tolist(), arrive,
               t["km"].tolist(), t["free_flow_s"].tolist(), t["delay_s"].tolist(), t["status"],
               t["forced"].tolist(), t["held_s"].tolist(), t["end_s"].tolist(), strict=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(",".join(TRIP_COLUMNS) + "\n")
        fh.writelines(map(TRIP_ROW.__mod__, rows))


def _csv_text(text: str) -> str:
    if any(ch in text for ch in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


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
                        int(sm["max_queue"][i]), _f(sm["tt_sum"][i] / n if n else None),
                        _f(sm["tt_max"][i] if n else None), _f(sm["seconds_at_capacity"][i]),
                        lk.road, lk.road_class, _f(lk.length_m), _f(calm[i]),
                        _f(capacity[i], 3), int(peak[i])])


def _write_link_hours(engine, path: Path) -> None:
    """link_hours.csv: per link and hour of the run (by entry time), the vehicles that entered
    and their mean travel time; hours a link was not used are left out."""
    hour_start, n, tt = link_hours(engine)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(",".join(LINK_HOUR_COLUMNS) + "\n")
        links, hours = np.nonzero(n)
        fh.writelines(f"{i},{hour_start[h]:.0f},{format_clock(hour_start[h])},{n[i, h]},"
                      f"{tt[i, h] / n[i, h]:.1f}\n"
                      for i, h in zip(links.tolist(), hours.tolist(), strict=True))


DELEGATE_COLUMNS = ["delegate_id", "role", "economy", "hotel", "wheelchair", "sessions",
                    "on_time", "late_min_max", "wait_min_total", "denied", "modes", "state",
                    "day_visitor", "arrival_s", "departure_s"]


def _write_delegates(layer, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(DELEGATE_COLUMNS)
        for d in layer.delegates:
            recs = d.records
            late = [r.late_min for r in recs]
            w.writerow([d.guest.id, d.guest.role, d.guest.economy, d.hotel, int(d.wheelchair),
                        len(recs), sum(x == 0 for x in late),
                        _f(max(late), 1) if late and max(late) != float("inf") else
                        ("" if not late else "inf"),
                        _f(sum(r.wait_s for r in recs) / 60, 1), sum(r.denied for r in recs),
                        ";".join(r.mode for r in recs), d.state, int(d.day_visitor),
                        _f(d.arrival and d.arrival.time_s), _f(d.departure and d.departure.time_s)])
        for gid in layer.allocation.unplaced:
            w.writerow([gid, "", "", "", "", 0, 0, "", "", 0, "", "unplaced", 0, "", ""])


PERSON_TRIP_COLUMNS = ["person_id", "role", "purpose", "origin", "destination", "left_s",
                       "arrived_s", "modes", "wait_min", "denied", "late_min", "status",
                       "rides", "screening_min"]


class _Quoted(dict):
    """Names as CSV cells, each quoted once (see _csv_text) when first asked for."""

    def __missing__(self, name: str) -> str:
        out = self[name] = _csv_text(name)
        return out


def _write_person_trips(layer, path: Path) -> None:
    """person_trips.csv: every trip of every person placed, in the order each made them. Places
    are named (the person's own hotel or home, a venue, a named place), else node ids; late_min
    only on trips to sessions (inf: not through screening), as delegates.csv counts them."""
    quoted = _Quoted({node: _csv_text(name) for node, name in layer.node_names().items()})
    quoted[None] = ""  # an evacuation not yet delivered
    text = _Quoted()  # roles, hotels and homes: a few hundred names
    lines = [",".join(PERSON_TRIP_COLUMNS) + "\n"]
    add = lines.append
    for d in layer.delegates:
        if not d.trips:
            continue
        visitor = d.day_visitor
        who = f"{d.guest.id},{text[d.guest.role]},"
        hotel_node, hotel = d.hotel_node, text[d.hotel]
        for t in d.trips:
            a, b, left = t.origin, t.destination, t.left_s
            arrived, status = t.arrived_s, t.status
            rec = t.session
            late = screened = ""
            if rec is not None:
                late = f"{rec.late_min:.6g}"
                if rec.screening_wait_s is not None:
                    screened = f"{rec.screening_wait_s / 60:.6g}"
            add(f"{who}{t.purpose_of(visitor)},"
                f"{hotel if a == hotel_node else quoted[a]},"
                f"{hotel if b == hotel_node else quoted[b]},"
                f"{'' if left is None else f'{left:.1f}'},"
                f"{'' if arrived is None else f'{arrived:.1f}'},"
                f"{t.mode},{t.wait_s / 60:.2f},{t.denied},{late},{status},{t.rides},"
                f"{screened}\n")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.writelines(lines)


def _write_timeseries(engine, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(TIMESERIES_COLUMNS)
        for t, en_route, waiting, departed, arrived, stuck in engine.timeseries:
            w.writerow([_f(t, 0), format_clock(t), en_route, waiting, departed, arrived, stuck])


LINE_COLUMNS = ["line", "buses", "km", "runs", "boardings", "alightings", "passenger_km", "seat_km",
                "load_factor", "boardings_per_seat", "max_load", "max_load_share",
                "peak_hour_start_s", "people_denied", "wait_mean_min", "wait_p90_min",
                "carried_nobody"]


def _write_csv(path: Path, columns: list[str], rows) -> None:
    """A table: its header, then its rows as csv writes them."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        w.writerows(rows)


def _write_lines(by_line: dict, path: Path) -> None:
    """lines.csv: one row per shuttle line, its loads as in metrics.json `shuttles.by_line`
    (empty cells where a line has no value: no busiest hour, no waits)."""
    _write_csv(path, LINE_COLUMNS,
               ([name, *("" if m[c] is None else m[c] for c in LINE_COLUMNS[1:])]
                for name, m in by_line.items()))


STOP_COLUMNS = ["line", "stop_order", "stop", "place", "boardings", "alightings",
                "people_denied", "wait_mean_min", "wait_p90_min"]


def _write_stops(layer, path: Path) -> None:
    """stops.csv: one row per stop of each shuttle line (see `stop_rows`); empty wait cells
    where nobody boarded."""
    _write_csv(path, STOP_COLUMNS, (["" if row[c] is None else row[c] for c in STOP_COLUMNS]
                                    for row in stop_rows(layer)))


def _write_corridors(engine, corridors, path: Path) -> None:
    """corridors.csv: per corridor (scenario order) and 15-minute bin of the run, by entry time,
    its travel time (see `corridor_bins`), with its free-flow and uncongested times."""
    rows = []
    for name, (per_bin, ff, base) in corridor_bins(engine, corridors).items():
        for k, travel in enumerate(per_bin.tolist()):
            t = engine.start_s + k * engine.bin_s
            rows.append([name, _f(t, 0), format_clock(t), _f(travel, 3), _f(ff, 3),
                         _f(base, 3)])
    _write_csv(path, CORRIDOR_COLUMNS, rows)


DRT_COLUMNS = ["person_id", "origin", "destination", "requested_s", "status", "boarded_s",
               "delivered_s"]


def _write_drt_requests(layer, path: Path) -> None:
    """drt_requests.csv: every request to the demand-responsive service, in request order:
    status `refused`, `waiting` (accepted, not picked up at the end), `on_board` or
    `delivered`; times in seconds from midnight."""
    def status(r) -> str:
        return ("refused" if r.refused else "delivered" if r.delivered_s is not None
                else "on_board" if r.boarded_s is not None else "waiting")

    _write_csv(path, DRT_COLUMNS, ([r.rider.guest.id, r.origin, r.destination,
                                    _f(r.requested_s), status(r), _f(r.boarded_s),
                                    _f(r.delivered_s)] for r in layer.drt.log))

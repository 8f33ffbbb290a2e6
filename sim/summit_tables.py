"""The summit layer's tables: delegates.csv, person_trips.csv, lines.csv, stops.csv and
drt_requests.csv (column names are a contract, docs/kpis.md)."""

from __future__ import annotations

import csv
from pathlib import Path

from .metrics import stop_rows
from .tables import Quoted, csv_text, fmt, write_csv

DELEGATE_COLUMNS = ["delegate_id", "role", "economy", "hotel", "wheelchair", "sessions",
                    "on_time", "late_min_max", "wait_min_total", "denied", "modes", "state",
                    "day_visitor", "arrival_s", "departure_s"]


def write_delegates(layer, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(DELEGATE_COLUMNS)
        for d in layer.delegates:
            recs = d.records
            late = [r.late_min for r in recs]
            w.writerow([d.guest.id, d.guest.role, d.guest.economy, d.hotel, int(d.wheelchair),
                        len(recs), sum(x == 0 for x in late),
                        fmt(max(late), 1) if late and max(late) != float("inf") else
                        ("" if not late else "inf"),
                        fmt(sum(r.wait_s for r in recs) / 60, 1), sum(r.denied for r in recs),
                        ";".join(r.mode for r in recs), d.state, int(d.day_visitor),
                        fmt(d.arrival and d.arrival.time_s),
                        fmt(d.departure and d.departure.time_s)])
        for gid in layer.allocation.unplaced:
            w.writerow([gid, "", "", "", "", 0, 0, "", "", 0, "", "unplaced", 0, "", ""])


PERSON_TRIP_COLUMNS = ["person_id", "role", "purpose", "origin", "destination", "left_s",
                       "arrived_s", "modes", "wait_min", "denied", "late_min", "status",
                       "rides", "screening_min"]


def write_person_trips(layer, path: Path) -> None:
    """person_trips.csv: every trip of every person placed, in the order each made them. Places
    are named (the person's own hotel or home, a venue, a named place), else node ids; late_min
    only on trips to sessions (inf: not through screening), as delegates.csv counts them."""
    quoted = Quoted({node: csv_text(name) for node, name in layer.node_names().items()})
    quoted[None] = ""  # an evacuation not yet delivered
    text = Quoted()  # roles, hotels and homes: a few hundred names
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


LINE_COLUMNS = ["line", "buses", "km", "runs", "boardings", "alightings", "passenger_km", "seat_km",
                "load_factor", "boardings_per_seat", "max_load", "max_load_share",
                "peak_hour_start_s", "people_denied", "wait_mean_min", "wait_p90_min",
                "carried_nobody"]


def write_lines(by_line: dict, path: Path) -> None:
    """lines.csv: one row per shuttle line, its loads as in metrics.json `shuttles.by_line`
    (empty cells where a line has no value: no busiest hour, no waits)."""
    write_csv(path, LINE_COLUMNS,
               ([name, *("" if m[c] is None else m[c] for c in LINE_COLUMNS[1:])]
                for name, m in by_line.items()))


STOP_COLUMNS = ["line", "stop_order", "stop", "place", "boardings", "alightings",
                "people_denied", "wait_mean_min", "wait_p90_min"]


def write_stops(layer, path: Path) -> None:
    """stops.csv: one row per stop of each shuttle line (see `stop_rows`); empty wait cells
    where nobody boarded."""
    write_csv(path, STOP_COLUMNS, (["" if row[c] is None else row[c] for c in STOP_COLUMNS]
                                    for row in stop_rows(layer)))


DRT_COLUMNS = ["person_id", "origin", "destination", "requested_s", "status", "boarded_s",
               "delivered_s"]


def write_drt_requests(layer, path: Path) -> None:
    """drt_requests.csv: every request to the demand-responsive service, in request order:
    status `refused`, `waiting` (accepted, not picked up at the end), `on_board` or
    `delivered`; times in seconds from midnight."""
    def status(r) -> str:
        return ("refused" if r.refused else "delivered" if r.delivered_s is not None
                else "on_board" if r.boarded_s is not None else "waiting")

    write_csv(path, DRT_COLUMNS, ([r.rider.guest.id, r.origin, r.destination,
                                    fmt(r.requested_s), status(r), fmt(r.boarded_s),
                                    fmt(r.delivered_s)] for r in layer.drt.log))


def write_summit_tables(layer, folder: Path, metrics: dict) -> None:
    """Every table of the summit layer into `folder` (lines.csv from the metrics' by_line)."""
    write_delegates(layer, folder / "delegates.csv")
    write_person_trips(layer, folder / "person_trips.csv")
    write_lines(metrics["shuttles"]["by_line"], folder / "lines.csv")
    if layer.lines:
        write_stops(layer, folder / "stops.csv")
    if layer.drt is not None:
        write_drt_requests(layer, folder / "drt_requests.csv")

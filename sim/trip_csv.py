"""trips.csv from the trip table's columns (metrics.trip_table): a pure function of plain
arrays, so the worker beside a run (painter.py) can write the largest table while the main
process writes the rest."""

from __future__ import annotations

from pathlib import Path

from .tables import csv_text

TRIP_COLUMNS = ["trip_id", "kind", "origin", "destination", "depart_s", "arrive_s", "km",
                "free_flow_s", "delay_s", "status", "forced", "held_s", "end_s"]
TRIP_ROW = "%d,%s,%s,%s,%.1f,%s,%.3f,%.1f,%.1f,%s,%d,%.1f,%.1f\n"


def write_trips(t: dict, path: str | Path) -> None:
    """One row per trip in the table's order; arrive_s is empty while a trip is en route."""
    arrive = ["" if a != a else f"{a:.1f}" for a in t["arrive_s"].tolist()]  # NaN: en route
    # names are node ids and place names, a few hundred in all: quote once any that would
    # break the CSV
    quoted = {name: csv_text(name) for name in {*t["origin"], *t["destination"]}}
    rows = zip(t["trip_id"].tolist(), t["kind"], map(quoted.__getitem__, t["origin"]),
               map(quoted.__getitem__, t["destination"]), t["depart_s"].tolist(), arrive,
               t["km"].tolist(), t["free_flow_s"].tolist(), t["delay_s"].tolist(), t["status"],
               t["forced"].tolist(), t["held_s"].tolist(), t["end_s"].tolist(), strict=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(",".join(TRIP_COLUMNS) + "\n")
        fh.writelines(map(TRIP_ROW.__mod__, rows))

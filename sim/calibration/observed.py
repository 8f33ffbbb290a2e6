"""Read a folder of observations (counts, travel times, emergency response figures) whose every
row carries its source; the format is described in `sim/data/observed/README.md`."""

from __future__ import annotations

import csv
import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "data" / "observed"
SOURCE_COLUMNS = ("source_title", "source_publisher", "source_year", "source_url",
                  "source_where", "estimate", "holdout", "note")
COUNT_COLUMNS = ("id", "road", "site", "from_node", "to_node", "aadt", "year", "unit",
                 "period", *SOURCE_COLUMNS)
TIME_COLUMNS = ("id", "origin", "destination", "origin_node", "destination_node", "period",
                "depart_from", "depart_to", "minutes", "mode", *SOURCE_COLUMNS)
EMERGENCY_COLUMNS = ("id", "measure", "area", "year", "value", "unit", "definition",
                     *SOURCE_COLUMNS)
# Hours a period name stands for when a route gives no departure window. A "typical" time quoted
# without an hour is read as a daytime off-peak drive.
PERIOD_HOURS = {"night": (0, 5), "am_peak": (7, 9), "midday": (10, 16), "pm_peak": (17, 19),
                "typical": (10, 16)}
# Counts in these units are compared with a run; any other unit (a holiday's two days at a
# tollgate, a peak-season weekend) is kept as a reference row and reported, never compared.
COUNT_UNITS = ("veh/day", "veh/h")
TIME_MODES = ("car", "taxi", "bus")


@dataclass(frozen=True)
class Source:
    title: str
    url: str
    year: str
    where: str
    estimate: bool
    holdout: bool
    note: str


@dataclass(frozen=True)
class CountSite:
    id: str
    road: str
    site: str
    from_node: str
    to_node: str
    flow: float  # vehicles per day (unit veh/day) or per hour (veh/h), both directions
    unit: str
    period: str  # for veh/h: "HH-HH" hours of the count; else empty
    year: str
    source: Source
    superseded_by: str = ""  # id of a later count of the same link, compared in its place
    # links of a road opened after the count that took over part of the counted road's
    # traffic: the count is compared with the counted link and these together (a screenline)
    parallel: tuple[tuple[str, str], ...] = ()

    @property
    def comparable(self) -> bool:
        """Whether a run can be compared with it (else a reference row, reported only)."""
        return self.unit in COUNT_UNITS and not self.superseded_by

    @property
    def reference_reason(self) -> str:
        """Why a row is reported but not compared (empty for a compared row)."""
        if self.unit not in COUNT_UNITS:
            return f"reference only: {self.unit}"
        if self.superseded_by:
            return (f"reference only: a {self.year} count; {self.superseded_by} is a later count "
                    "of the same link")
        return ""


@dataclass(frozen=True)
class Route:
    id: str
    origin: str
    destination: str
    origin_node: str
    destination_node: str
    period: str
    hours: tuple[float, float]  # departure window, hours of the day
    minutes: float
    mode: str
    source: Source

    @property
    def comparable(self) -> bool:
        """Whether a run's car times can be compared with it: a bus's time includes its stops
        and detours."""
        return self.mode != "bus"


@dataclass(frozen=True)
class EmergencyFigure:
    id: str
    measure: str
    area: str
    year: str
    value: float
    unit: str
    definition: str
    source: Source


@dataclass(frozen=True)
class Observations:
    folder: Path
    counts: tuple[CountSite, ...]
    routes: tuple[Route, ...]
    emergency: tuple[EmergencyFigure, ...]


def _rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, dict]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(f"{path}: missing column(s) {', '.join(missing)}; "
                                 f"the columns are: {', '.join(columns)}")
            return [(i, row) for i, row in enumerate(reader, start=2)]
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _yes_no(path, line, row, column) -> bool:
    value = (row[column] or "").strip().lower()
    if value not in ("yes", "no"):
        raise InputError(f"{path}, line {line}: {column} = {row[column]!r}; "
                         "allowed: yes or no")
    return value == "yes"


def _positive(path, line, row, column) -> float:
    try:
        value = float(row[column])
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise InputError(f"{path}, line {line}: {column} = {row[column]!r}; "
                         "allowed: a positive number")
    return value


def _choice(path, line, row, column, allowed) -> str:
    value = (row[column] or "").strip()
    if value not in allowed:
        raise InputError(f"{path}, line {line}: {column} = {row[column]!r}; "
                         f"allowed: {', '.join(allowed)}")
    return value


def _source(path, line, row) -> Source:
    if not (row["source_url"] or "").strip() or not (row["source_title"] or "").strip():
        raise InputError(f"{path}, line {line} ({row.get('id')}): every observation needs "
                         "its source_title and source_url")
    return Source(title=row["source_title"].strip(), url=row["source_url"].strip(),
                  year=(row["source_year"] or "").strip(),
                  where=(row["source_where"] or "").strip(),
                  estimate=_yes_no(path, line, row, "estimate"),
                  holdout=_yes_no(path, line, row, "holdout"), note=(row["note"] or "").strip())


def _clock_hours(path, line, row, column) -> float:
    text = (row[column] or "").strip()
    try:
        h, m = text.split(":")
        value = int(h) + int(m) / 60.0
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 24.0:
        raise InputError(f"{path}, line {line}: {column} = {text!r}; allowed: HH:MM, "
                         "00:00 to 24:00")
    return value


def _unique(path, items) -> None:
    seen = set()
    for item in items:
        if item.id in seen:
            raise InputError(f"{path}: id {item.id!r} appears twice; ids must be unique")
        seen.add(item.id)


def _node_pairs(path, line, text: str) -> tuple[tuple[str, str], ...]:
    """`parallel_links`: node pairs "FROM TO" separated by semicolons."""
    pairs = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        ends = part.split()
        if len(ends) != 2:
            raise InputError(f"{path}, line {line}: parallel_links part {part!r}; allowed: two "
                             "node ids separated by a space, pairs separated by ';'")
        pairs.append((ends[0], ends[1]))
    return tuple(pairs)


def _latest_counts(counts: list[CountSite]) -> list[CountSite]:
    """Mark counts of one link made in an earlier year than another count of it as superseded.

    The model is a day of 2025: where a link was counted in several years (the 2015 master-plan
    table beside the 2025 expressway AADT), the latest year is its base-year count, as the
    counts of a traffic model's base year are chosen (TAG unit M3.1, section 3.3), and the
    earlier rows are reported beside it, not compared. Rows without a year are always compared.
    """
    latest: dict[frozenset, CountSite] = {}
    for c in counts:
        if c.unit not in COUNT_UNITS or not c.year.isdigit():
            continue
        link = frozenset((c.from_node, c.to_node))
        best = latest.get(link)
        if best is None or int(c.year) > int(best.year):
            latest[link] = c
    out = []
    for c in counts:
        best = latest.get(frozenset((c.from_node, c.to_node)))
        if (best is not None and c.unit in COUNT_UNITS and c.year.isdigit()
                and int(c.year) < int(best.year)):
            c = dataclasses.replace(c, superseded_by=best.id)
        out.append(c)
    return out


def load_observations(folder: str | Path | None = None) -> Observations:
    """Every observation in `folder` (default: the ones shipped with the project), checked."""
    folder = Path(folder) if folder is not None else DEFAULT_DIR
    if not folder.is_dir():
        raise InputError(f"--observed {folder}: not a folder of observations")
    counts, routes, emergency = [], [], []
    path = folder / "counts.csv"
    if path.is_file():
        for line, row in _rows(path, COUNT_COLUMNS):
            unit = (row["unit"] or "").strip()
            if not unit:
                raise InputError(f"{path}, line {line}: unit is empty; {', '.join(COUNT_UNITS)}"
                                 " are compared with a run, anything else is a reference row")
            counts.append(CountSite(
                id=row["id"].strip(), road=row["road"].strip(), site=row["site"].strip(),
                from_node=row["from_node"].strip(), to_node=row["to_node"].strip(),
                flow=_positive(path, line, row, "aadt"), unit=unit,
                period=(row["period"] or "").strip(), year=(row["year"] or "").strip(),
                source=_source(path, line, row),
                parallel=_node_pairs(path, line, row.get("parallel_links") or "")))
        _unique(path, counts)
        counts = _latest_counts(counts)
    path = folder / "travel_times.csv"
    if path.is_file():
        for line, row in _rows(path, TIME_COLUMNS):
            period = _choice(path, line, row, "period", tuple(PERIOD_HOURS))
            if (row["depart_from"] or "").strip():
                hours = (_clock_hours(path, line, row, "depart_from"),
                         _clock_hours(path, line, row, "depart_to"))
                if hours[1] == hours[0]:  # one departure (a timetable): the hour it falls in
                    hours = (math.floor(hours[0]), math.floor(hours[0]) + 1)
                elif hours[1] < hours[0]:
                    raise InputError(f"{path}, line {line}: depart_to {row['depart_to']!r} "
                                     f"must come after depart_from {row['depart_from']!r}")
            else:
                hours = PERIOD_HOURS[period]
            routes.append(Route(
                id=row["id"].strip(), origin=row["origin"].strip(),
                destination=row["destination"].strip(),
                origin_node=row["origin_node"].strip(),
                destination_node=row["destination_node"].strip(), period=period,
                hours=(float(hours[0]), float(hours[1])),
                minutes=_positive(path, line, row, "minutes"),
                mode=_choice(path, line, row, "mode", TIME_MODES),
                source=_source(path, line, row)))
        _unique(path, routes)
    path = folder / "emergency.csv"
    if path.is_file():
        for line, row in _rows(path, EMERGENCY_COLUMNS):
            emergency.append(EmergencyFigure(
                id=row["id"].strip(), measure=row["measure"].strip(), area=row["area"].strip(),
                year=(row["year"] or "").strip(), value=_positive(path, line, row, "value"),
                unit=(row["unit"] or "").strip(), definition=(row["definition"] or "").strip(),
                source=_source(path, line, row)))
        _unique(path, emergency)
    if not counts and not routes:
        raise InputError(f"--observed {folder}: no counts.csv or travel_times.csv with rows; "
                         "see sim/data/observed/README.md for the format")
    return Observations(folder, tuple(counts), tuple(routes), tuple(emergency))

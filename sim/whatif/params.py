"""What-if parameters: scenario paths, the aliases that read more naturally, grids and ranges.

A parameter is any path `--set` accepts (`traffic.demand_scale`, `weather`,
`shuttles.lines.0.headway_min`) or one of the aliases of sim/overrides.py, which every command
with `--set` shares. Paths are checked against the
scenario schema before anything runs, so a typo names itself and what is allowed instead of
surfacing hours into a sweep.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from .. import overrides
from ..errors import InputError
from ..overrides import ALIASES, alias_number, parse_value, unwrap
from ..scenario import Scenario, load_scenario, override_scenario

# the unit a parameter is given in, by the end of its name (aliases carry their own)
_PARAM_UNITS = (("_scale", "x scenario value"), ("_min", "min"), ("_s", "s"), ("vph", "veh/h"),
                ("_kmh", "km/h"), ("_per_hour", "per hour"))


def param_axis_label(path: str) -> str:
    """A parameter as a chart axis names it: its path and, where known, its unit."""
    unit = ALIASES[path].unit if path in ALIASES else next(
        (u for suffix, u in _PARAM_UNITS if path.endswith(suffix)), "")
    return f"{path} ({unit})" if unit else path


# ---- values ----------------------------------------------------------------------------------
def canonical(value: Any) -> str:
    """The text a value is recorded as in result tables: 1.0 and 1.00 are one value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


@dataclass(frozen=True)
class Assignment:
    """One `path=value`: text as given (passed to the scenario loader), value as TOML reads it."""

    path: str
    text: str

    @property
    def value(self) -> Any:
        return parse_value(self.text)

    @property
    def label(self) -> str:
        return canonical(self.value)

    def __str__(self) -> str:
        return f"{self.path}={self.label}"


def parse_assignment(text: str, what: str = "--set") -> Assignment:
    if "=" not in text:
        raise InputError(f"{what} {text!r}: expected PATH=VALUE, e.g. traffic.demand_scale=0.8")
    path, value = (s.strip() for s in text.split("=", 1))
    if not value:
        raise InputError(f"{what} {text!r}: the value after '=' is empty")
    check_path(path, f"{what} {text!r}")
    return Assignment(path, value)


# ---- paths -----------------------------------------------------------------------------------
def check_path(path: str, context: str | None = None) -> Any:
    """Check a parameter path against the scenario schema (aliases included), as `--set` does
    in every command; return the type of its value."""
    return overrides.check_path(path, Scenario, context)


# ---- grids and ranges ------------------------------------------------------------------------
@dataclass(frozen=True)
class GridAxis:
    path: str
    values: tuple[Assignment, ...]


def _split(text: str, flag: str, usage: str) -> tuple[str, str]:
    """`PATH=REST` -> (PATH, REST), or an error naming the option and the text."""
    if "=" not in text:
        raise InputError(f"{flag} {text!r}: no '=': {usage}")
    path, rest = (s.strip() for s in text.split("=", 1))
    if not path:
        raise InputError(f"{flag} {text!r}: the parameter before '=' is missing: {usage}")
    return path, rest


def parse_grid(text: str) -> GridAxis:
    """`PATH=V1,V2,...` (TOML scalars, no commas inside a value) -> one axis of a sweep."""
    usage = "expected PATH=V1,V2,..., e.g. shuttles.fleet=150,200,250"
    path, rest = _split(text, "--grid", usage)
    items = [s.strip() for s in rest.split(",")]
    for i, item in enumerate(items, 1):
        if not item:
            raise InputError(f"--grid {text!r}: value {i} of {len(items)} is empty: {usage}")
    check_path(path, f"--grid {text!r}")
    values = tuple(Assignment(path, item) for item in items)
    labels = [v.label for v in values]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise InputError(f"--grid {text!r}: value {dupes[0]!r} is given twice")
    if path in ALIASES:
        for v in values:
            _positive_number(v, f"--grid {text!r}")
    return GridAxis(path, values)


def _positive_number(a: Assignment, context: str) -> float:
    return alias_number(a.path, a.text, context)


def parse_grids(texts: Sequence[str]) -> list[GridAxis]:
    axes = [parse_grid(t) for t in texts]
    paths = [a.path for a in axes]
    for p in paths:
        if paths.count(p) > 1:
            raise InputError(f"--grid: parameter {p!r} is given twice; put all its values in "
                             "one --grid PATH=V1,V2,...")
    return axes


def combinations(axes: Sequence[GridAxis]) -> list[tuple[Assignment, ...]]:
    """Every combination of the axes' values, the first axis varying slowest."""
    return list(itertools.product(*(a.values for a in axes)))


@dataclass(frozen=True)
class Range:
    path: str
    low: float
    high: float
    integer: bool


def parse_range(text: str) -> Range:
    """`PATH=LOW:HIGH` -> a parameter range for sensitivity analysis (numbers only)."""
    usage = "expected PATH=LOW:HIGH, e.g. shuttles.fleet=150:350"
    path, rest = _split(text, "--param", usage)
    parts = [s.strip() for s in rest.split(":")]
    if len(parts) != 2:
        raise InputError(f"--param {text!r}: the range needs exactly one ':': {usage}")
    bounds = []
    for part in parts:
        try:
            bounds.append(float(part))
        except ValueError:
            raise InputError(f"--param {text!r}: {part!r} is not a number: {usage}") from None
    for part, x in zip(parts, bounds, strict=True):
        if not math.isfinite(x):
            raise InputError(f"--param {text!r}: {part!r} is not a finite number: {usage}")
    low, high = bounds
    if not low < high:
        raise InputError(f"--param {text!r}: LOW ({low:g}) must be below HIGH ({high:g})")
    kind = check_path(path, f"--param {text!r}")
    if kind not in (int, float):
        raise InputError(f"--param {text!r}: {path} is not a number, so it has no range")
    return Range(path, low, high, integer=kind is int)


def range_assignment(rng: Range, x: float) -> Assignment:
    return Assignment(rng.path, str(round(x)) if rng.integer else repr(float(x)))


# ---- scenarios -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    """Where a scenario comes from: a scenario file (or shipped name), or a finished run folder
    (the scenario recorded in its manifest.json)."""

    ref: str
    label: str

    @property
    def is_run_folder(self) -> bool:
        return (Path(self.ref) / "manifest.json").is_file()


def source(ref: str) -> Source:
    p = Path(ref)
    if p.is_dir():
        if not (p / "manifest.json").is_file():
            raise InputError(f"{ref!r} is a folder without manifest.json: give a scenario file, "
                             "a shipped scenario name or a finished run folder")
        return Source(str(p.resolve()), p.name)
    load_scenario(ref)  # fails early, naming the shipped scenarios, when it does not exist
    label = p.stem if p.suffix == ".toml" else ref
    return Source(ref, label)


def build_scenario(src: Source, assignments: Sequence[Assignment]) -> Scenario:
    """The validated scenario with the assignments applied in order, as `--set` applies them in
    every command (aliases converted with every other assignment in place: shuttles.fleet counts
    the lines as they end up)."""
    texts = [f"{a.path}={a.text}" for a in assignments]
    if not src.is_run_folder:
        return load_scenario(src.ref, texts)
    manifest_path = Path(src.ref) / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        raw = dict(manifest["scenario"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"run folder {src.ref!r}: manifest.json has no readable scenario "
                         f"({exc})") from None
    return override_scenario(_without_defaults(raw, Scenario), texts, where=str(manifest_path),
                             source_path=manifest.get("scenario_file"))


def _without_defaults(raw: dict, model: type[BaseModel]) -> dict:
    """A recorded scenario (manifest.json holds every value) without the values that equal the
    schema's defaults: those come back from the schema, as they would from a scenario file."""
    out = {}
    for name, value in raw.items():
        field = model.model_fields.get(name)
        if field is None or field.is_required():
            out[name] = value
            continue
        default = field.get_default(call_default_factory=True)
        dumped = json.loads(json.dumps(TypeAdapter(field.annotation).dump_python(
            default, mode="json"), default=str))
        if value == dumped:
            continue
        sub = unwrap(field.annotation)
        if isinstance(value, dict) and isinstance(sub, type) and issubclass(sub, BaseModel):
            value = _without_defaults(value, sub)
        out[name] = value
    return out


# ---- KPI names -------------------------------------------------------------------------------
def kpi_sections(scenario: Scenario) -> list[str]:
    """The sections of metrics.json a run of this scenario writes (sim/outputs.py
    collect_metrics): a flattened KPI name starts with one of them and a dot."""
    sections = ["traffic"]
    if scenario.has_summit():
        sections += ["delegates", "shuttles"]
    if scenario.emergency.enabled:
        sections.append("emergency")
    return sections


def check_kpi_names(names: Sequence[str], scenario: Scenario) -> None:
    """Refuse, before any run, a --kpi no run of this scenario can produce (wrong section)."""
    sections = kpi_sections(scenario)
    for name in names:
        head, dot, rest = name.partition(".")
        if head not in sections or not dot or not rest:
            raise InputError(
                f"--kpi {name!r}: runs of scenario {scenario.name!r} have no such KPI; KPI names "
                f"are flattened metrics.json paths starting with "
                f"{', '.join(s + '.' for s in sections)} e.g. {KPI_EXAMPLES[sections[-1]]}")


KPI_EXAMPLES = {"traffic": "traffic.delay_mean_min", "delegates": "delegates.on_time_rate",
                "shuttles": "shuttles.load_factor",
                "emergency": "emergency.within_7min_rate"}

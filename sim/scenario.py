"""Scenario files (TOML) and their schema: what a run simulates, validated before anything runs.

A scenario may name a `base` scenario whose values it starts from (tables merge key by key;
lists are replaced): a file beside it, else a shipped scenario by name. Any value can be
overridden from the command line with `--set path=value` (`--set traffic.demand_scale=0.8`,
`--set weather=snow`, the alias `--set shuttles.fleet=200`), by the same rules in every command
(sim/overrides.py). Errors name the field, the value and what is allowed. The fields are
described in docs/scenarios.md.
"""

from __future__ import annotations

import copy
import difflib
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    ValidationError,
    model_validator,
)

from .bounds import Clock, Seed, Share, Strict
from .emergency.spec import EmergencySpec
from .errors import InputError, describe_validation_error
from .overrides import apply_overrides
from .summit_spec import (
    DayVisitorSpec,
    DelegatesSpec,
    LodgingSpec,
    SessionSpec,
    ShuttlesSpec,
    TravelSpec,
    VenueSpec,
)
from .traffic.spec import (
    CapacityChange,
    Closure,
    Motorcade,
    TrafficSpec,
    TruckBan,
    WeatherSpec,
)


def _shipped_dir() -> Path:
    """The shipped scenarios' folder: sim/scenarios inside an installed package (package data,
    see pyproject.toml), else the top-level scenarios/ of a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "scenarios"
    return installed if installed.is_dir() else here.parent / "scenarios"


SCENARIO_DIR = _shipped_dir()
DRILL_DIR = SCENARIO_DIR / "drills"  # the shipped observed drill logs


class NetworkSpec(Strict):
    file: str | None = None  # None: the embedded Gyeongju network; relative to the scenario
    largest_component: bool = True


class CalibrationRecord(Strict):
    """How the scenario's parameters fit the observed data when they were calibrated (written
    by `python run.py calibrate`; scenarios built on this one inherit it, and the console
    prints it): shares of fitted and hold-out rows within the acceptance limits."""

    observed: str = ""
    date: str = ""
    seeds: list[Seed] = Field(default_factory=list)
    params: dict[str, float] = Field(default_factory=dict)
    count_sites: int = Field(default=0, ge=0, le=1_000_000)
    holdout_count_sites: int = Field(default=0, ge=0, le=1_000_000)
    geh_under_5_share: Share | None = None
    holdout_geh_under_5_share: Share | None = None
    routes: int = Field(default=0, ge=0, le=1_000_000)
    holdout_routes: int = Field(default=0, ge=0, le=1_000_000)
    within_15pct_share: Share | None = None
    holdout_within_15pct_share: Share | None = None
    note: str = ""


class OutputSpec(Strict):
    congestion_map: bool = True
    positions: bool = False  # positions.csv.gz: every link traversal, for `run.py animate`


class Scenario(Strict):
    name: str
    description: str = ""
    date: str = ""
    base: str | None = None
    start: Clock = 0.0
    end: Clock = 86_400.0
    seed: Seed = 1  # 0 <= seed < 2**63
    network: NetworkSpec = Field(default_factory=NetworkSpec)
    traffic: TrafficSpec = Field(default_factory=TrafficSpec)
    weather: WeatherSpec = Field(default_factory=WeatherSpec)
    closures: list[Closure] = Field(default_factory=list)
    capacity_changes: list[CapacityChange] = Field(default_factory=list)
    truck_bans: list[TruckBan] = Field(default_factory=list)
    motorcades: list[Motorcade] = Field(default_factory=list)
    delegates: DelegatesSpec = Field(default_factory=DelegatesSpec)
    travel: list[TravelSpec] = Field(default_factory=list)
    day_visitors: list[DayVisitorSpec] = Field(default_factory=list)
    lodging: list[LodgingSpec] = Field(default_factory=list)
    venues: list[VenueSpec] = Field(default_factory=list)
    sessions: list[SessionSpec] = Field(default_factory=list)
    shuttles: ShuttlesSpec = Field(default_factory=ShuttlesSpec)
    emergency: EmergencySpec = EmergencySpec()
    outputs: OutputSpec = Field(default_factory=OutputSpec)
    calibration: CalibrationRecord | None = None
    # where the file was read from (relative network paths resolve against it); not in TOML
    source_path: str | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _windows(self):
        if self.end <= self.start:
            raise ValueError(f"end ({self.end:g} s) must be after start ({self.start:g} s)")
        for group in ("closures", "capacity_changes", "truck_bans"):
            for i, c in enumerate(getattr(self, group)):
                if c.end <= c.start:
                    raise ValueError(f"{group}[{i}]: end must be after start")
        for i, w in enumerate(self.weather.windows):
            if w.end <= w.start:
                raise ValueError(f"weather.windows[{i}]: end must be after start")
        for i, x in enumerate(self.sessions):
            if x.end <= x.start:
                raise ValueError(f"sessions[{i}] ({x.name}): end must be after start")
        for i, x in enumerate(self.travel):
            if x.end < x.start:
                raise ValueError(f"travel[{i}] ({x.hub}): end must not be before start")
        if self.shuttles.drt and self.shuttles.drt.end <= self.shuttles.drt.start:
            raise ValueError("shuttles.drt: end must be after start")
        for i, x in enumerate(self.shuttles.lines):
            if x.end <= x.start:
                raise ValueError(f"shuttles.lines[{i}] ({x.name}): end must be after start")
        venues = {v.name for v in self.venues}
        for i, x in enumerate(self.sessions):
            if x.venue not in venues:
                raise ValueError(f"sessions[{i}] ({x.name}): venue {x.venue!r} is not one of "
                                 f"the [[venues]]: {', '.join(sorted(venues)) or '(none)'}")
        if self.sessions and self.delegates.total == 0 and not any(
                v.people for v in self.day_visitors):
            raise ValueError("sessions need delegates: set delegates.total > 0 or add "
                             "[[day_visitors]]")
        return self

    def has_summit(self) -> bool:
        """Whether the run has a summit layer (guests, day visitors or shuttle lines)."""
        return bool(self.delegates.total > 0 or self.shuttles.lines or
                    any(v.people for v in self.day_visitors))

    def network_path(self) -> Path | None:
        if self.network.file is None:
            return None
        p = Path(self.network.file)
        if not p.is_absolute() and self.source_path:
            p = Path(self.source_path).parent / p
        return p


TrafficSpec.model_rebuild()


# ---- loading ---------------------------------------------------------------------------------
def _read_toml(path: Path, what: str = "") -> dict:
    """A TOML file as a dict; `what` (e.g. "scenario 'a.toml': base = 'b.toml'") prefixes the
    message when the file comes from another file's `base`."""
    what = f"{what}: " if what else ""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise InputError(f"{what}scenario file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{what}scenario file {str(path)!r} is a folder, not a TOML "
                         "file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{what}scenario file {str(path)!r} is not UTF-8 text "
                         f"({exc.reason} at byte {exc.start}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{what}scenario file {str(path)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise InputError(f"{what}scenario file {str(path)!r} cannot be read: "
                         f"{exc.strerror or exc}") from None


def _merge(base: dict, top: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _resolve_base(raw: dict, path: Path, seen: tuple[Path, ...] = ()) -> dict:
    base = raw.get("base")
    if base is None or base == "":
        return raw
    if not isinstance(base, str):
        raise InputError(f"scenario {str(path)!r}: base = {base!r}: must be the path of another "
                         "scenario file (a string), relative to this one, or a shipped "
                         "scenario's name")
    base_path = _base_path(base, path)
    if base_path in seen or base_path == path.resolve():
        raise InputError(f"scenario {str(path)!r}: base = {base!r} makes a cycle")
    parent = _resolve_base(_read_toml(base_path, f"scenario {str(path)!r}: base = {base!r}"),
                           base_path, (*seen, path.resolve()))
    merged = _merge(parent, {k: v for k, v in raw.items() if k != "base"})
    merged["base"] = base
    return merged


def load_scenario(path: str | Path, overrides: Sequence[str] | None = None) -> Scenario:
    """Read, merge with its base, apply --set overrides (aliases too), and validate a scenario
    file."""
    p = _resolve_scenario_path(path)
    raw = _resolve_base(_read_toml(p), p)
    return override_scenario(raw, overrides or [], where=str(p), source_path=str(p))


def override_scenario(raw: dict, overrides: Sequence[str], where: str = "scenario",
                      source_path: str | None = None) -> Scenario:
    """A raw scenario (a file's tables, or a run's recorded scenario) with `--set` overrides
    applied as every command applies them (sim/overrides.py), validated."""
    return apply_overrides(raw, overrides, Scenario,
                           lambda r: validate_scenario(r, where, source_path))


def validate_scenario(raw: dict, where: str = "scenario", source_path: str | None = None
                      ) -> Scenario:
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise InputError(_explain(exc, where)) from None
    scenario.source_path = source_path
    return scenario


def _explain(exc: ValidationError, where: str) -> str:
    msg = describe_validation_error(exc, f"scenario {where!r}")
    # unknown keys: suggest the closest known field
    for err in exc.errors():
        if err["type"] == "extra_forbidden":
            name = str(err["loc"][-1])
            known = _known_fields(err["loc"][:-1])
            close = difflib.get_close_matches(name, known, n=1)
            if close:
                msg += f"\n  (did you mean {close[0]!r} instead of {name!r}?)"
    return msg


def _known_fields(loc) -> list[str]:
    model: Any = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        args = getattr(ann, "__args__", ())
        candidates = [ann, *args]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)),
                     None)
        if model is None:
            return []
    return list(model.model_fields) if model else []


def shipped_names() -> list[str]:
    """The names of the scenarios that ship with summit-sim (scenarios/*.toml)."""
    return sorted(f.stem for f in SCENARIO_DIR.glob("*.toml"))


def shipped_scenario(name: str) -> Path | None:
    """The shipped scenario file a bare name (with or without .toml) stands for, if any."""
    if not name or Path(name).name != name:
        return None
    for cand in (SCENARIO_DIR / name, SCENARIO_DIR / f"{name}.toml"):
        if cand.is_file():
            return cand
    return None


def _base_path(base: str, path: Path) -> Path:
    """Where `base = "..."` points: a file relative to the scenario's folder when there is one,
    else a shipped scenario by name, so a scenario copied elsewhere still finds `som1_day`."""
    local = path.parent / base
    if local.exists():
        return local.resolve()
    shipped = shipped_scenario(base)
    if shipped is not None:
        return shipped.resolve()
    raise InputError(f"scenario {str(path)!r}: base = {base!r}: there is no file "
                     f"{str(local)!r} and no shipped scenario of that name; shipped scenarios: "
                     f"{', '.join(shipped_names()) or '(none)'}")


def _resolve_scenario_path(path: str | Path) -> Path:
    p = Path(path)
    if p.is_file():
        return p
    shipped = shipped_scenario(str(path))
    if shipped is not None:
        return shipped
    raise InputError(f"scenario file {str(path)!r} does not exist; shipped scenarios: "
                     f"{', '.join(shipped_names()) or '(none)'}")

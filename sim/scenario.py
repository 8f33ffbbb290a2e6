"""Scenario files (TOML) and their schema: what a run simulates, validated before anything runs.

A scenario may name a `base` scenario whose values it starts from (tables merge key by key;
lists are replaced). Any value can be overridden from the command line with `--set path=value`
(`--set traffic.demand_scale=0.8`, `--set weather=snow`). Errors name the field, the value and
what is allowed.
"""

from __future__ import annotations

import copy
import difflib
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .clock import parse_clock
from .emergency.spec import EmergencySpec
from .errors import InputError, describe_validation_error
from .traffic.vehicles import VEHICLE_CLASSES

Clock = Annotated[float, BeforeValidator(parse_clock)]
VehicleClassName = Literal["car", "truck", "bus", "shuttle", "event", "emergency", "motorcade"]
Condition = Literal["clear", "rain", "snow", "fog"]
SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NetworkSpec(Strict):
    file: str | None = None  # None: the embedded Gyeongju network; relative to the scenario
    largest_component: bool = True


class Zone(Strict):
    name: str
    population: float = Field(ge=0)
    jobs: float = Field(ge=0)
    lat: float
    lon: float
    radius_m: float = Field(default=1000, gt=0)
    nodes: list[str] = Field(default_factory=list)


class ExternalZone(Strict):
    name: str
    node: str
    trips_per_day: float = Field(ge=0)
    note: str = ""


class Profile(Strict):
    hourly: list[float] = Field(min_length=24, max_length=24)
    to_work: list[float] = Field(default_factory=lambda: [0.5] * 24, min_length=24,
                                 max_length=24)
    source: str = ""

    @field_validator("hourly")
    @classmethod
    def _sums_to_one(cls, v):
        if any(x < 0 for x in v):
            raise ValueError("shares must be >= 0")
        if abs(sum(v) - 1.0) > 0.01:
            raise ValueError(f"the 24 hourly shares must sum to 1 (they sum to {sum(v):.4f})")
        return v

    @field_validator("to_work")
    @classmethod
    def _shares(cls, v):
        if any(not 0 <= x <= 1 for x in v):
            raise ValueError("each to_work share must be between 0 and 1")
        return v


class ODFlow(Strict):
    """An explicit flow: vehicles per hour from origin to destination in a time window."""

    origin: str
    destination: str
    vph: float = Field(gt=0)
    start: Clock
    end: Clock
    kind: VehicleClassName = "car"
    arrivals: Literal["uniform", "poisson"] = "uniform"


class TrafficSpec(Strict):
    daily_trips: float = Field(default=0, ge=0)
    demand_scale: float = Field(default=1.0, ge=0)
    capacity_scale: float = Field(default=1.0, gt=0)  # every road's capacity times this
    truck_share: float = Field(default=0.0, ge=0, le=1)
    gravity_beta_per_min: float = Field(default=0.1, gt=0)
    reroute_interval_s: float = Field(default=900, gt=0)
    stuck_after_s: float = Field(default=600, gt=0)
    emergency_queue_skip: float = Field(default=0.7, ge=0, le=1)
    # fixed-time signals at urban junctions: cycle and effective green share (KHCM practice:
    # 120-160 s cycles, g/C 0.4-0.5 for a main road)
    signal_cycle_s: float = Field(default=120, gt=0)
    signal_green_ratio: float = Field(default=0.45, gt=0, le=1)
    # unsignalised junctions: a local street giving way to a bigger road, local streets meeting
    give_way_delay_s: float = Field(default=10, ge=0)
    local_junction_delay_s: float = Field(default=5, ge=0)
    engine_tick_s: float = Field(default=5, gt=0)
    contract_chains: bool = True  # simulate chains of links without junctions as one queue
    trip_ends_at_junctions: bool = True  # zone trips join the network where roads meet
    profile: Profile | None = None
    zones: list[Zone] = Field(default_factory=list)
    external: list[ExternalZone] = Field(default_factory=list)
    od: list[ODFlow] = Field(default_factory=list)
    corridors: list[Corridor] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _demand_needs_profile(self):
        if (self.zones or self.external) and self.profile is None:
            raise ValueError("zones or external zones need a [traffic.profile] with hourly shares")
        if self.daily_trips > 0 and len(self.zones) < 2:
            raise ValueError("daily_trips > 0 needs at least two [[traffic.zones]]")
        return self


class Corridor(Strict):
    """A named route whose travel time the metrics report (e.g. Gyeonggam-ro to HICO)."""

    name: str
    path: list[str] = Field(min_length=2)  # places or node ids; the route passes through each


class LinkSelector(Strict):
    """Which links a control acts on: by road name, a path of places, links, or an area."""

    road: str | None = None
    path: list[str] | None = None
    links: list[tuple[str, str]] | None = None
    near: str | None = None  # a place or node: links within radius_m of it
    radius_m: float = Field(default=500, gt=0)

    @model_validator(mode="after")
    def _one_selector(self):
        given = [k for k in ("road", "path", "links", "near") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of road, path, links or near "
                             f"(given: {', '.join(given) or 'none'})")
        return self


class Closure(LinkSelector):
    name: str = ""
    start: Clock
    end: Clock
    applies_to: list[VehicleClassName] = Field(
        default_factory=lambda: [c for c, v in VEHICLE_CLASSES.items() if not v.priority])
    exempt: list[VehicleClassName] = Field(default_factory=list)


class CapacityChange(LinkSelector):
    """Scales capacity and storage: below 1 a lane closure, above 1 lanes opened for an event
    (marshalled car-park gates, contraflow)."""

    name: str = ""
    start: Clock
    end: Clock
    factor: float = Field(gt=0, le=10)


class TruckBan(LinkSelector):
    name: str = ""
    start: Clock
    end: Clock


class Motorcade(Strict):
    name: str
    route: list[str] = Field(min_length=2)  # places or node ids to pass through, in order
    depart: Clock
    lead_s: float = Field(default=300, ge=0)  # links close this long before the convoy
    trail_s: float = Field(default=60, ge=0)  # and reopen this long after it has passed


class WeatherFactors(Strict):
    speed: float = Field(gt=0, le=1.5)
    capacity: float = Field(gt=0, le=1.5)


# Capacity and speed factors after HCM 2010 ch. 10 (weather adjustment ranges) and KHCM practice:
# light rain ~0.9, snow 0.75-0.85, fog ~0.9 on capacity; speeds drop a little more in snow.
DEFAULT_WEATHER = {
    "clear": {"speed": 1.0, "capacity": 1.0},
    "rain": {"speed": 0.90, "capacity": 0.90},
    "snow": {"speed": 0.70, "capacity": 0.80},
    "fog": {"speed": 0.85, "capacity": 0.90},
}


class WeatherWindow(Strict):
    condition: Condition
    start: Clock
    end: Clock


class WeatherSpec(Strict):
    condition: Condition = "clear"
    windows: list[WeatherWindow] = Field(default_factory=list)
    factors: dict[Condition, WeatherFactors] = Field(
        default_factory=lambda: {k: WeatherFactors(**v) for k, v in DEFAULT_WEATHER.items()})
    source: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data):
        if isinstance(data, str):  # `weather = "snow"`: the whole run in one condition
            return {"condition": data}
        return data

    @field_validator("factors", mode="before")
    @classmethod
    def _fill_defaults(cls, v):
        merged = {k: dict(f) for k, f in DEFAULT_WEATHER.items()}
        for k, f in (v or {}).items():
            merged.setdefault(k, {}).update(f if isinstance(f, dict) else f.model_dump())
        return merged

    def factors_at(self, condition: str) -> WeatherFactors:
        return self.factors[condition]


APEC_ECONOMIES = (
    "AUS", "BRN", "CAN", "CHL", "CHN", "HKG", "IDN", "JPN", "KOR", "MYS", "MEX", "NZL", "PNG",
    "PER", "PHL", "RUS", "SGP", "TWN", "THA", "USA", "VNM",
)
RoleName = Literal["leader", "minister", "ceo", "senior_official", "delegate", "media", "staff",
                   "security", "volunteer"]


class DelegatesSpec(Strict):
    """Who comes: how many, in which roles, from which economies, and how they move on foot."""

    total: int = Field(default=0, ge=0)
    roles: dict[RoleName, float] = Field(default_factory=lambda: {"delegate": 1.0})
    economies: list[str] = Field(default_factory=lambda: list(APEC_ECONOMIES), min_length=1)
    party_size: dict[RoleName, int] = Field(default_factory=dict)  # people sharing the rooms
    wheelchair_share: float = Field(default=0.01, ge=0, le=1)
    walk_speed_kmh: float = Field(default=4.5, gt=0)
    max_walk_m: float = Field(default=900, ge=0)  # walk to the venue when it is this close
    early_min: float = Field(default=20, ge=0)  # aim to clear screening this long before start
    early_spread_min: float = Field(default=30, ge=0)  # ... plus up to this much more, at random
    detour_factor: float = Field(default=1.3, ge=1)  # walking distance over straight line
    max_wait_min: float = Field(default=30, gt=0)  # then a taxi from the stop
    transfer_walk_m: float = Field(default=300, ge=0)  # longest walk between two lines' stops
    hub_margin_min: float = Field(default=30, ge=0)  # at the hub this long before departure

    @field_validator("roles")
    @classmethod
    def _shares(cls, v):
        if not v or any(x < 0 for x in v.values()) or sum(v.values()) <= 0:
            raise ValueError("role shares must be >= 0 and sum to more than 0")
        return v


class TravelSpec(Strict):
    """Guests who arrive at (or leave from) a hub on the day, at times spread over a window."""

    hub: str  # a place or node id: KTX station, an airport, a bus terminal
    direction: Literal["arrive", "depart"]
    roles: list[RoleName] = Field(min_length=1)
    share: float = Field(gt=0, le=1)  # of the lodged guests in those roles
    start: Clock
    end: Clock


class DayVisitorSpec(Strict):
    """People who come for the day only (security, volunteers, local staff and media): from
    home in the traffic zones (by population) or from a muster place, by park-and-ride when
    car parks are given."""

    name: str
    role: RoleName
    people: int = Field(ge=0)
    home: str = "zones"  # "zones", or a place or node id where they all start
    car_parks: list[str] = Field(default_factory=list)  # drive there, then the shuttle
    # inside the security perimeter nobody walks from the car park: the shuttle takes them
    ride_from_car_park: bool = True
    park_min: float = Field(default=5, ge=0)  # park and walk to the stop


class LodgingSpec(Strict):
    """Rooms beyond the network's named hotels: pools of smaller lodgings, overflow cities."""

    name: str
    zone: Literal["bomun", "city", "bulguksa", "overflow"]
    node: str  # a place name or node id where its guests come and go
    rooms: int = Field(gt=0)
    suites: int = Field(default=0, ge=0)
    distance_km: float = Field(default=0, ge=0)
    city: str = "Gyeongju"


class VenueSpec(Strict):
    name: str  # a place of the network
    gates: int = Field(ge=1)
    throughput_per_gate_per_hour: float = Field(gt=0)
    opens: Clock = 0.0
    closes: Clock = 86_400.0


class SessionSpec(Strict):
    name: str
    venue: str
    start: Clock
    end: Clock
    roles: list[RoleName] = Field(min_length=1)
    share: float = Field(default=1.0, gt=0, le=1)  # of the guests in those roles who attend


class LineSpecModel(Strict):
    name: str
    stops: list[str] = Field(min_length=2)  # places or node ids
    headway_min: float = Field(gt=0)
    start: Clock
    end: Clock
    vehicles: int = Field(ge=1)
    seats: int = Field(ge=1)
    wheelchair_places: int = Field(default=1, ge=0)
    layover_min: float = Field(default=5, ge=0)
    depot: str | None = None
    loop: bool = False


class DrtSpecModel(Strict):
    """Demand-responsive vehicles for trips no line serves well."""

    vehicles: int = Field(ge=1)
    seats: int = Field(default=8, ge=1)
    wheelchair_places: int = Field(default=1, ge=0)
    depot: str
    start: Clock
    end: Clock
    max_wait_min: float = Field(default=20, gt=0)
    max_detour: float = Field(default=1.5, ge=1)
    detour_slack_min: float = Field(default=5, ge=0)
    dwell_s: float = Field(default=30, ge=0)
    speed_factor: float = Field(default=1.2, gt=0)  # planning on free-flow times x this
    # a trip goes by demand-responsive vehicle when no line serves it, or when the best line
    # takes this many times as long as driving
    when_slower_than_car: float = Field(default=2.0, ge=1)


class ShuttlesSpec(Strict):
    # scales every line's buses and its frequency together (what-if on the fleet)
    fleet_scale: float = Field(default=1.0, gt=0)
    dwell_base_s: float = Field(default=10, ge=0)
    dwell_per_boarding_s: float = Field(default=3, ge=0)
    dwell_per_alighting_s: float = Field(default=2, ge=0)
    # breakdowns per bus-hour in service (a spare comes from the line's depot; without a depot
    # the bus is repaired in place after repair_min)
    breakdowns_per_hour: float = Field(default=0.0, ge=0)
    repair_min: float = Field(default=30, ge=0)
    lines: list[LineSpecModel] = Field(default_factory=list)
    drt: DrtSpecModel | None = None


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
    seed: int = 1
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
def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise InputError(f"scenario file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"scenario file {str(path)!r} is not valid TOML: {exc}") from None


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
    if not base:
        return raw
    base_path = (path.parent / base).resolve()
    if base_path in seen:
        raise InputError(f"scenario {str(path)!r}: base {base!r} makes a cycle")
    parent = _resolve_base(_read_toml(base_path), base_path, (*seen, path.resolve()))
    merged = _merge(parent, {k: v for k, v in raw.items() if k != "base"})
    merged["base"] = base
    return merged


def parse_value(text: str) -> Any:
    """A --set value as TOML reads it (numbers, booleans, arrays, quoted strings), else text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(raw: dict, assignment: str) -> None:
    """Apply one `path=value` to the raw scenario dict; list items by index (closures.0.start)."""
    if "=" not in assignment:
        raise InputError(
            f"--set {assignment!r}: expected path=value, e.g. traffic.demand_scale=0.8")
    path, text = assignment.split("=", 1)
    keys = path.strip().split(".")
    if not all(keys):
        raise InputError(f"--set {assignment!r}: empty part in path {path!r}")
    node: Any = raw
    walked = []
    for key in keys[:-1]:
        walked.append(key)
        if isinstance(node, list):
            node = _list_item(node, key, walked)
        else:
            node = node.setdefault(key, {})
            if not isinstance(node, dict | list):
                raise InputError(f"--set {path}: {'.'.join(walked)} is a value, not a table")
    last = keys[-1]
    if isinstance(node, list):
        idx = _index(node, last, [*walked, last])
        node[idx] = parse_value(text.strip())
    else:
        node[last] = parse_value(text.strip())


def _index(node: list, key: str, walked: list[str]) -> int:
    try:
        idx = int(key)
    except ValueError:
        raise InputError(f"--set: {'.'.join(walked)}: {key!r} must be a list index") from None
    if not -len(node) <= idx < len(node):
        raise InputError(f"--set: {'.'.join(walked)}: index {idx} is out of range "
                         f"(the list has {len(node)} items)")
    return idx


def _list_item(node: list, key: str, walked: list[str]):
    return node[_index(node, key, walked)]


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> Scenario:
    """Read, merge with its base, apply --set overrides, and validate a scenario file."""
    p = _resolve_scenario_path(path)
    raw = _resolve_base(_read_toml(p), p)
    for assignment in overrides or []:
        apply_override(raw, assignment)
    return validate_scenario(raw, where=str(p), source_path=str(p))


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


def _resolve_scenario_path(path: str | Path) -> Path:
    p = Path(path)
    if p.is_file():
        return p
    for cand in (SCENARIO_DIR / p, SCENARIO_DIR / f"{p}.toml"):
        if cand.is_file():
            return cand
    shipped = sorted(f.stem for f in SCENARIO_DIR.glob("*.toml"))
    raise InputError(f"scenario file {str(path)!r} does not exist; shipped scenarios: "
                     f"{', '.join(shipped) or '(none)'}")

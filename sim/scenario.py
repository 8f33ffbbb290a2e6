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
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .bounds import (
    DAY_S,
    MAX_DISTANCE_M,
    MAX_MINUTES,
    MAX_PEOPLE,
    MAX_SECONDS,
    MAX_VEHICLES,
    Clock,
    HourlyShares,
    Latitude,
    Longitude,
    Minutes,
    Seconds,
    Seed,
    SpeedFactor,
    TimeOfDay,
)
from .clock import format_clock
from .emergency.spec import EmergencySpec
from .errors import InputError, describe_validation_error
from .network import ROAD_CLASSES
from .overrides import apply_overrides
from .traffic.vehicles import VEHICLE_CLASSES

VehicleClassName = Literal["car", "truck", "bus", "shuttle", "event", "emergency", "motorcade"]
Condition = Literal["clear", "rain", "snow", "fog"]
RoadClassName = Literal[ROAD_CLASSES]  # expressway, national, arterial, collector, local, ramp


def _shipped_dir() -> Path:
    """The shipped scenarios' folder: sim/scenarios inside an installed package (package data,
    see pyproject.toml), else the top-level scenarios/ of a source checkout."""
    here = Path(__file__).resolve().parent
    installed = here / "scenarios"
    return installed if installed.is_dir() else here.parent / "scenarios"


SCENARIO_DIR = _shipped_dir()
DRILL_DIR = SCENARIO_DIR / "drills"  # the shipped observed drill logs


class Strict(BaseModel):
    # every number must be finite: inf and nan are refused with the field named
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


Share = Annotated[float, Field(ge=0, le=1)]


class NetworkSpec(Strict):
    file: str | None = None  # None: the embedded Gyeongju network; relative to the scenario
    largest_component: bool = True


class Zone(Strict):
    name: str
    population: float = Field(ge=0, le=MAX_PEOPLE)
    jobs: float = Field(ge=0, le=MAX_PEOPLE)
    lat: Latitude
    lon: Longitude
    radius_m: float = Field(default=1000, gt=0, le=MAX_DISTANCE_M)
    nodes: list[str] = Field(default_factory=list)


class ExternalZone(Strict):
    name: str
    node: str
    trips_per_day: float = Field(ge=0, le=MAX_PEOPLE)
    note: str = ""


class ThroughFlow(Strict):
    """Traffic that crosses the city between two cordons (an expressway's long-distance flow):
    trips_per_day in both directions together, half each way, on the day's hourly profile."""

    name: str
    origin: str
    destination: str
    trips_per_day: float = Field(ge=0, le=MAX_PEOPLE)
    note: str = ""


class VisitorOrigin(Strict):
    """Where visitors from one region enter the modelled roads (a cordon node or place)."""

    name: str
    node: str
    weight: float = Field(gt=0, le=MAX_PEOPLE)  # share of the visitors (normalised over origins)
    note: str = ""


class Attraction(Strict):
    """A place visitors drive to, with its visitors a year: it takes that share of the visitors'
    stops, and the stops no attraction takes go to the zones by their jobs (shops, restaurants,
    lodgings)."""

    name: str
    node: str
    visits_per_year: float = Field(gt=0, le=1e9)
    note: str = ""


class Visitors(Strict):
    """Day visitors from outside the city who come by car: each car enters at its region's
    cordon, visits `places` attractions in turn over its stay and leaves the way it came
    (docs/traffic-model.md, "Visitors")."""

    per_day: float = Field(default=0, ge=0, le=MAX_PEOPLE)  # visitors (people) a day
    car_share: Share = 0.7  # of the visitors, those who come by car
    persons_per_car: float = Field(default=2.5, ge=1, le=60)
    stay_h: float = Field(default=4.8, gt=0, le=24)  # mean time from arrival to leaving
    places: int = Field(default=2, ge=1, le=10)  # attractions visited per car
    # share of the day's cars arriving each hour
    arrivals: HourlyShares = Field(default_factory=lambda: [1 / 24] * 24)
    origins: list[VisitorOrigin] = Field(default_factory=list)
    attractions: list[Attraction] = Field(default_factory=list)
    source: str = ""

    @model_validator(mode="after")
    def _somewhere_to_go(self):
        if self.per_day > 0 and not (self.origins and self.attractions):
            raise ValueError("visitors with per_day > 0 need at least one "
                             "[[traffic.visitors.origins]] and one "
                             "[[traffic.visitors.attractions]]")
        return self

    @property
    def cars_per_day(self) -> float:
        return self.per_day * self.car_share / self.persons_per_car


class Profile(Strict):
    hourly: HourlyShares
    to_work: list[float] = Field(default_factory=lambda: [0.5] * 24, min_length=24,
                                 max_length=24)
    source: str = ""

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
    vph: float = Field(gt=0, le=MAX_VEHICLES)
    start: Clock
    end: Clock
    kind: VehicleClassName = "car"
    arrivals: Literal["uniform", "poisson"] = "uniform"


class SignalPeriod(Strict):
    """A period of the day whose signals run another plan than the day plan: a fixed-time
    cycle and green share, or flashing (yellow/red: a signalised junction acts as give-way).
    A period may cross midnight (22:00-06:00) and repeats every day of a run."""

    start: TimeOfDay
    end: TimeOfDay
    # the same bounds as the day plan's signal_cycle_s and signal_green_ratio
    cycle_s: float | None = Field(default=None, gt=0, le=600)
    green_ratio: float | None = Field(default=None, gt=0, le=1)
    flashing: bool = False

    @model_validator(mode="after")
    def _plan(self):
        when = f"{format_clock(self.start)[:5]}-{format_clock(self.end)[:5]}"
        if self.start == self.end:
            raise ValueError(f"start and end are both {format_clock(self.start)[:5]} "
                             f"({self.start:g} s): a period must have a length")
        if self.start >= DAY_S:
            raise ValueError(f"start = {self.start:g} s (24:00) is the next day's 00:00: "
                             "write start = \"00:00\"")
        if self.flashing and (self.cycle_s is not None or self.green_ratio is not None):
            raise ValueError(f"period {when}: flashing = true runs no cycle; give either "
                             "flashing = true or cycle_s and green_ratio, not both")
        if not self.flashing and (self.cycle_s is None or self.green_ratio is None):
            missing = [k for k in ("cycle_s", "green_ratio") if getattr(self, k) is None]
            raise ValueError(f"period {when}: {' and '.join(missing)} missing; give cycle_s and "
                             "green_ratio, or flashing = true")
        return self

    def day_spans(self) -> list[tuple[float, float]]:
        """The period as spans of one day, [start, end) in seconds from midnight."""
        if self.start < self.end:
            return [(self.start, self.end)]
        return [(self.start, DAY_S), (0.0, self.end)]

    def covers(self, t: float) -> bool:
        """Whether the period holds at time t (seconds from the scenario day's midnight)."""
        tod = t % DAY_S
        return any(a <= tod < b for a, b in self.day_spans())


class TrafficSpec(Strict):
    daily_trips: float = Field(default=0, ge=0, le=MAX_PEOPLE)
    # judgement: ten times the demand (or the capacity) is far beyond any planning question
    demand_scale: float = Field(default=1.0, ge=0, le=10)
    capacity_scale: float = Field(default=1.0, gt=0, le=10)  # every road's capacity times this
    truck_share: float = Field(default=0.0, ge=0, le=1)
    gravity_beta_per_min: float = Field(default=0.1, gt=0, le=10)
    # judgement: rerouting at most every second, at least once a week
    reroute_interval_s: float = Field(default=900, ge=1, le=MAX_SECONDS)
    stuck_after_s: float = Field(default=600, gt=0, le=MAX_SECONDS)
    # ASSUMED (no published figure): a driver whose every way is closed waits this long for
    # the closure to end, then gives the trip up - not made by car if it had not set off, or
    # parked where it was held. Event, shuttle and emergency vehicles wait as long as it takes.
    closure_patience_min: Minutes = 30
    emergency_queue_skip: float = Field(default=0.7, ge=0, le=1)
    # free-flow speed of a road class = posted speed x its factor (calibration against observed
    # travel times; a class not given keeps its posted speed), then capped by the vehicle's own
    # top speed and divided by the weather's speed factor
    speed_factors: dict[RoadClassName, SpeedFactor] = Field(default_factory=dict)
    # fixed-time signals at urban junctions: cycle and effective green share (KHCM practice:
    # 120-160 s cycles, g/C 0.4-0.5 for a main road)
    signal_cycle_s: float = Field(default=120, gt=0, le=600)  # judgement: 10 min at most
    signal_green_ratio: float = Field(default=0.45, gt=0, le=1)
    # other plans by time of day (night: short cycles or flashing); the day plan above runs
    # outside them
    signal_plans: list[SignalPeriod] = Field(default_factory=list)
    # unsignalised junctions: a local street giving way to a bigger road, local streets meeting
    give_way_delay_s: float = Field(default=10, ge=0, le=600)
    local_junction_delay_s: float = Field(default=5, ge=0, le=600)
    # judgement: the engine's step between 0.1 s and a minute (5 s by default)
    engine_tick_s: float = Field(default=5, ge=0.1, le=60)
    contract_chains: bool = True  # simulate chains of links without junctions as one queue
    trip_ends_at_junctions: bool = True  # zone trips join the network where roads meet
    profile: Profile | None = None
    zones: list[Zone] = Field(default_factory=list)
    external: list[ExternalZone] = Field(default_factory=list)
    through: list[ThroughFlow] = Field(default_factory=list)
    visitors: Visitors = Field(default_factory=Visitors)
    od: list[ODFlow] = Field(default_factory=list)
    corridors: list[Corridor] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)

    @field_validator("speed_factors", mode="before")
    @classmethod
    def _road_classes(cls, v):
        for name in v if isinstance(v, dict) else ():
            if name not in ROAD_CLASSES:
                close = difflib.get_close_matches(str(name), ROAD_CLASSES, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ValueError(f"{name!r} is not a road class{hint}; "
                                 f"allowed: {', '.join(ROAD_CLASSES)}")
        return v

    @model_validator(mode="after")
    def _periods_apart(self):
        def name(i):
            p = self.signal_plans[i]
            return (f"traffic.signal_plans[{i}] ({format_clock(p.start)[:5]}-"
                    f"{format_clock(p.end)[:5]})")

        for i, a in enumerate(self.signal_plans):
            for j in range(i + 1, len(self.signal_plans)):
                b = self.signal_plans[j]
                if any(a0 < b1 and b0 < a1 for a0, a1 in a.day_spans()
                       for b0, b1 in b.day_spans()):
                    raise ValueError(f"{name(i)} and {name(j)} overlap; a time of day can have "
                                     "one signal plan only")
        return self

    @model_validator(mode="after")
    def _demand_needs_profile(self):
        if (self.zones or self.external or self.through) and self.profile is None:
            raise ValueError("zones, external zones and through flows need a "
                             "[traffic.profile] with hourly shares")
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
    radius_m: float = Field(default=500, gt=0, le=MAX_DISTANCE_M)

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
    lead_s: float = Field(default=300, ge=0, le=MAX_SECONDS)  # links close this long before
    trail_s: float = Field(default=60, ge=0, le=MAX_SECONDS)  # and reopen this long after


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
        if not isinstance(v, dict | None):
            return v  # not a table: the schema names it
        merged: dict = {k: dict(f) for k, f in DEFAULT_WEATHER.items()}
        for k, f in (v or {}).items():
            if isinstance(f, WeatherFactors):
                f = f.model_dump()
            if isinstance(f, dict) and isinstance(merged.get(k), dict):
                merged[k].update(f)
            else:
                merged[k] = f  # an unknown condition or not a table: the schema names it
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

    total: int = Field(default=0, ge=0, le=MAX_PEOPLE)
    # shares or counts by role (they are normalised)
    roles: dict[RoleName, Annotated[float, Field(ge=0, le=MAX_PEOPLE)]] = Field(
        default_factory=lambda: {"delegate": 1.0})
    economies: list[str] = Field(default_factory=lambda: list(APEC_ECONOMIES), min_length=1)
    # people sharing the rooms (judgement: a party of at most 100)
    party_size: dict[RoleName, Annotated[int, Field(ge=1, le=100)]] = Field(
        default_factory=dict)
    wheelchair_share: float = Field(default=0.01, ge=0, le=1)
    walk_speed_kmh: float = Field(default=4.5, gt=0, le=20)  # judgement: a fast runner
    max_walk_m: float = Field(default=900, ge=0, le=MAX_DISTANCE_M)  # walk when this close
    early_min: Minutes = 20  # aim to clear screening this long before start
    early_spread_min: Minutes = 30  # ... plus up to this much more, at random
    detour_factor: float = Field(default=1.3, ge=1, le=10)  # walking over straight line
    max_wait_min: float = Field(default=30, gt=0, le=MAX_MINUTES)  # then a taxi from the stop
    transfer_walk_m: float = Field(default=300, ge=0, le=MAX_DISTANCE_M)  # between two lines
    hub_margin_min: Minutes = 30  # at the hub this long before departure

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
    people: int = Field(ge=0, le=MAX_PEOPLE)
    home: str = "zones"  # "zones", or a place or node id where they all start
    car_parks: list[str] = Field(default_factory=list)  # drive there, then the shuttle
    # inside the security perimeter nobody walks from the car park: the shuttle takes them
    ride_from_car_park: bool = True
    park_min: Minutes = 5  # park and walk to the stop


class LodgingSpec(Strict):
    """Rooms beyond the network's named hotels: pools of smaller lodgings, overflow cities."""

    name: str
    zone: Literal["bomun", "city", "bulguksa", "overflow"]
    node: str  # a place name or node id where its guests come and go
    rooms: int = Field(gt=0, le=MAX_PEOPLE)
    suites: int = Field(default=0, ge=0, le=MAX_PEOPLE)
    distance_km: float = Field(default=0, ge=0, le=MAX_DISTANCE_M / 1000)
    city: str = "Gyeongju"


class VenueSpec(Strict):
    name: str  # a place of the network
    gates: int = Field(ge=1, le=10_000)
    throughput_per_gate_per_hour: float = Field(gt=0, le=100_000)
    opens: Clock = 0.0
    closes: Clock = 86_400.0


class SessionSpec(Strict):
    name: str
    venue: str
    start: Clock
    end: Clock
    roles: list[RoleName] = Field(min_length=1)
    share: float = Field(default=1.0, gt=0, le=1)  # of the guests in those roles who attend


class LinePeriod(Strict):
    """A part of a line's day with its own headway and buses (a timetable period)."""

    start: Clock
    end: Clock
    # judgement: a departure at most every 0.1 min (6 s), as the line's own headway_min
    headway_min: float = Field(ge=0.1, le=MAX_MINUTES)
    vehicles: int = Field(ge=1, le=MAX_VEHICLES)


class LineSpecModel(Strict):
    name: str
    stops: list[str] = Field(min_length=2)  # places or node ids
    # the all-day timetable, outside any period; both may be left out when periods are given
    # (the line then runs in its periods and extra runs only)
    # judgement: a departure at most every 0.1 min (6 s)
    headway_min: float | None = Field(default=None, ge=0.1, le=MAX_MINUTES)
    start: Clock
    end: Clock
    vehicles: int | None = Field(default=None, ge=1, le=MAX_VEHICLES)
    periods: list[LinePeriod] = Field(default_factory=list)
    extra_runs: list[Clock] = Field(default_factory=list)  # departures besides the timetable
    # departures from the last stop: a bus runs out in time and waits there for each (staged
    # at a venue for a session end); not on a loop line
    extra_runs_back: list[Clock] = Field(default_factory=list)
    # buses that run the extra runs alone (staged for the waves), beyond the timetable's
    extra_vehicles: int = Field(default=0, ge=0, le=MAX_VEHICLES)
    seats: int = Field(ge=1, le=1_000)
    wheelchair_places: int = Field(default=1, ge=0, le=1_000)
    layover_min: Minutes = 5
    depot: str | None = None
    loop: bool = False

    @model_validator(mode="after")
    def _timetable(self):
        where = f"line {self.name!r}"
        if (self.headway_min is None) != (self.vehicles is None):
            given, missing = (("headway_min", "vehicles") if self.vehicles is None
                              else ("vehicles", "headway_min"))
            raise ValueError(f"{where}: {given} is given without {missing}; give both (the "
                             "all-day timetable) or neither (periods only)")
        if self.headway_min is None and not self.periods and not self.extra_runs \
                and not self.extra_runs_back:
            raise ValueError(f"{where}: no timetable; give headway_min and vehicles, or periods "
                             "(start, end, headway_min, vehicles), or extra_runs")
        span = f"the line's {clock_hm(self.start)}-{clock_hm(self.end)} ({self.start:g}-" \
               f"{self.end:g} s)"
        for i, p in enumerate(self.periods):
            name = f"{where}: periods[{i}] ({clock_hm(p.start)}-{clock_hm(p.end)})"
            if p.end <= p.start:
                raise ValueError(f"{name}: end = {p.end:g} s must be after start = "
                                 f"{p.start:g} s")
            if p.start < self.start or p.end > self.end:
                raise ValueError(f"{name}: start = {p.start:g} s, end = {p.end:g} s; a period "
                                 f"must lie within {span}")
        order = sorted(range(len(self.periods)), key=lambda i: self.periods[i].start)
        for i, j in pairwise(order):
            a, b = self.periods[i], self.periods[j]
            if b.start < a.end:
                raise ValueError(f"{where}: periods[{i}] ({clock_hm(a.start)}-"
                                 f"{clock_hm(a.end)}) and periods[{j}] ({clock_hm(b.start)}-"
                                 f"{clock_hm(b.end)}) overlap; one headway at a time")
        if self.extra_vehicles and not self.extra_runs and not self.extra_runs_back:
            raise ValueError(f"{where}: extra_vehicles = {self.extra_vehicles} without "
                             "extra_runs; the extra buses run the extra runs alone")
        if self.extra_runs_back and self.loop:
            raise ValueError(f"{where}: extra_runs_back on a loop line; a loop has no way "
                             "back (give extra_runs)")
        for fld in ("extra_runs", "extra_runs_back"):
            for i, t in enumerate(getattr(self, fld)):
                if not self.start <= t <= self.end:
                    raise ValueError(f"{where}: {fld}[{i}] = {clock_hm(t)} ({t:g} s); an "
                                     f"extra run must leave within {span}")
        return self

    def fleet(self) -> int:
        """Buses the line needs: the most of any period or of the all-day timetable (one at
        least, for a line of extra runs only), plus its extra buses."""
        return max([self.vehicles or 1, *(p.vehicles for p in self.periods)]) \
            + self.extra_vehicles


def clock_hm(t: float) -> str:
    """A time of day as hh:mm (for messages)."""
    return format_clock(t)[:5]


class DrtSpecModel(Strict):
    """Demand-responsive vehicles for trips no line serves well."""

    vehicles: int = Field(ge=1, le=MAX_VEHICLES)
    seats: int = Field(default=8, ge=1, le=1_000)
    wheelchair_places: int = Field(default=1, ge=0, le=1_000)
    depot: str
    start: Clock
    end: Clock
    max_wait_min: float = Field(default=20, gt=0, le=MAX_MINUTES)
    max_detour: float = Field(default=1.5, ge=1, le=100)
    detour_slack_min: Minutes = 5
    dwell_s: Seconds = 30
    speed_factor: float = Field(default=1.2, gt=0, le=100)  # planning on free-flow times x this
    # a trip goes by demand-responsive vehicle when no line serves it, or when the best line
    # takes this many times as long as driving
    when_slower_than_car: float = Field(default=2.0, ge=1, le=1_000)


class ShuttlesSpec(Strict):
    # scales every line's buses and its frequency together (what-if on the fleet)
    # judgement: at most ten times the planned fleet (the Leaders' day: 253 buses)
    fleet_scale: float = Field(default=1.0, gt=0, le=10)
    dwell_base_s: float = Field(default=10, ge=0, le=3_600)
    dwell_per_boarding_s: float = Field(default=3, ge=0, le=600)
    dwell_per_alighting_s: float = Field(default=2, ge=0, le=600)
    # breakdowns per bus-hour in service (a spare comes from the line's depot; without a depot
    # the bus is repaired in place after repair_min)
    breakdowns_per_hour: float = Field(default=0.0, ge=0, le=100)
    repair_min: Minutes = 30
    lines: list[LineSpecModel] = Field(default_factory=list)
    drt: DrtSpecModel | None = None


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

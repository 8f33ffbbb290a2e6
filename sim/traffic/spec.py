"""The traffic's part of a scenario: demand (zones, cordons, through flows, day visitors, OD
flows, profiles), road rules (signals, speed factors), corridors, controls (closures, capacity
changes, truck bans, motorcades) and weather."""

from __future__ import annotations

import difflib
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..bounds import (
    DAY_S,
    MAX_DISTANCE_M,
    MAX_PEOPLE,
    MAX_SECONDS,
    MAX_VEHICLES,
    Clock,
    HourlyShares,
    Latitude,
    Longitude,
    Minutes,
    Share,
    SpeedFactor,
    Strict,
    TimeOfDay,
)
from ..clock import format_clock
from ..network import ROAD_CLASSES
from .vehicles import VEHICLE_CLASSES

VehicleClassName = Literal["car", "truck", "bus", "shuttle", "event", "emergency", "motorcade"]

Condition = Literal["clear", "rain", "snow", "fog"]

RoadClassName = Literal[ROAD_CLASSES]  # expressway, national, arterial, collector, local, ramp


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

"""The summit's part of a scenario: delegates and their roles, travel to and from the hubs,
day visitors, lodging, venues and sessions, shuttle lines and demand-responsive vans."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from .bounds import (
    MAX_DISTANCE_M,
    MAX_MINUTES,
    MAX_PEOPLE,
    MAX_VEHICLES,
    Clock,
    Minutes,
    Seconds,
    Strict,
)
from .clock import format_clock

RoleName = Literal["leader", "minister", "ceo", "senior_official", "delegate", "media", "staff",
                   "security", "volunteer"]
APEC_ECONOMIES = (
    "AUS", "BRN", "CAN", "CHL", "CHN", "HKG", "IDN", "JPN", "KOR", "MYS", "MEX", "NZL", "PNG",
    "PER", "PHL", "RUS", "SGP", "TWN", "THA", "USA", "VNM",
)


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

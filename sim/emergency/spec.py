"""The scenario's `[emergency]` section: stations and units, staging posts, reinforcements,
dispatch, incident rates, scripted incidents, hospitals, helicopters and the coverage target.

Stations, hospitals and helicopters default to the data file `sim/data/gyeongju_emergency.json`
(or the file `data` names); a scenario can change a station's roster by name (`rosters`) or
replace the lists outright. Names of places and stations are checked against the network when
the layer is built, with errors naming the field, the value and what is allowed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..bounds import (
    MAX_DISTANCE_M,
    MAX_PEOPLE,
    MAX_SECONDS,
    MAX_UNITS,
    Clock,
    HourlyShares,
    Minutes,
    Seconds,
    Strict,
)

UnitType = Literal["pumper", "tanker", "aerial_ladder", "articulating_boom", "rescue", "hazmat",
                   "ambulance", "command"]
IncidentType = Literal["medical", "building_fire", "vehicle_fire", "traffic_collision", "hazmat",
                       "false_alarm", "mass_casualty"]
Policy = Literal["nearest", "staging_first", "keep_coverage"]
Role = Literal["leader", "minister", "ceo", "senior_official", "delegate", "media", "staff",
               "security", "volunteer"]  # the summit layer's roles
Count = Annotated[int, Field(ge=0, le=MAX_UNITS)]  # units, beds or buses of one kind
UNIT_TYPES: tuple[str, ...] = UnitType.__args__
INCIDENT_TYPES: tuple[str, ...] = IncidentType.__args__



# Share of each hour's calls, 00 to 23: EMS demand follows daytime activity, lowest at 04-06
# (shape typical of published 119 and US EMS call-volume curves; APPROXIMATE).
DEFAULT_HOURLY = [0.030, 0.026, 0.022, 0.020, 0.018, 0.019, 0.025, 0.035, 0.045, 0.050, 0.053,
                  0.054, 0.053, 0.052, 0.052, 0.052, 0.052, 0.053, 0.053, 0.051, 0.048, 0.044,
                  0.040, 0.033]
# Share of calls by type (Korean 119 statistics: EMS dispatches dominate; fires are ~1% of
# vehicle responses; automatic fire alarms are frequent; APPROXIMATE).
DEFAULT_MIX = {"medical": 0.78, "traffic_collision": 0.08, "building_fire": 0.012,
               "vehicle_fire": 0.006, "hazmat": 0.002, "false_alarm": 0.1195,
               "mass_casualty": 0.0005}


class StationSpec(Strict):
    """A fire station, 119 safety centre or local unit (or a mutual-aid post outside the city)."""

    name: str
    place: str  # a place name or node id
    kind: Literal["fire_station", "safety_centre", "local_unit", "mutual_aid"] = "safety_centre"
    units: dict[UnitType, Count] = Field(default_factory=dict)
    crew: dict[UnitType, Count] = Field(default_factory=dict)  # per unit; default by type
    notes: str = ""


class StagingSpec(Strict):
    """An APEC staging post with pre-positioned units, in service from start to end."""

    name: str
    place: str
    units: dict[UnitType, Count] = Field(default_factory=dict)
    start: Clock = 0.0
    end: Clock = 86_400.0


class ReinforcementSpec(Strict):
    """Units from other provinces, available at `place` from `arrive` until `leave`."""

    name: str
    place: str
    arrive: Clock
    leave: Clock = 86_400.0
    units: dict[UnitType, Count] = Field(default_factory=dict)
    origin: str = ""  # the province they come from (for the record)


class RatesSpec(Strict):
    """Ordinary calls: a rate per resident, by hour and type; attendees at summit venues count
    `attendee_weight` times a resident while they are there."""

    # judgement: at most one call per resident a day (the shipped rate is 0.2 per 1,000)
    per_1000_per_day: float = Field(default=0.2, ge=0, le=1_000)
    attendee_weight: float = Field(default=1.5, ge=0, le=100)
    hourly: HourlyShares = Field(default_factory=lambda: list(DEFAULT_HOURLY))
    mix: dict[IncidentType, Annotated[float, Field(ge=0, le=1_000)]] = Field(
        default_factory=lambda: dict(DEFAULT_MIX))

    @field_validator("mix")
    @classmethod
    def _mix(cls, v):
        if any(x < 0 for x in v.values()) or sum(v.values()) <= 0:
            raise ValueError("type shares must be >= 0 and sum to more than 0")
        return v


class ScriptedIncident(Strict):
    """An incident at a place and time (a drill); it may replace its type's plan."""

    name: str = ""
    type: IncidentType
    place: str
    at: Clock
    units: dict[UnitType, Count] | None = None  # replaces the plan's units
    patients: int | None = Field(default=None, ge=0, le=MAX_PEOPLE)
    critical_share: float | None = Field(default=None, ge=0, le=1)  # acuity-1 share
    on_scene_min: float | None = Field(default=None, gt=0, le=7 * 24 * 60)


class HospitalSpec(Strict):
    place: str
    er_beds: Count
    level: Literal[1, 2, 3] = 3  # 1 trauma centre, 2 regional emergency centre, 3 local ER
    notes: str = ""


class HelicopterSpec(Strict):
    name: str
    base: str  # a helipad place
    cruise_kmh: float = Field(default=220, gt=0, le=1_000)  # judgement: no helicopter is faster
    ready_min: Minutes = 10  # from the request to lift-off at its base
    notes: str = ""


class ExitSpec(Strict):
    name: str
    per_min: float = Field(gt=0, le=100_000)  # people through this exit per minute


class EvacuationSpec(Strict):
    """A venue's evacuation: the occupants leave through the exits (a queue each, at its
    throughput), gather at the assembly point and are taken on by re-tasked shuttle buses (or
    walk when their destination is close). It starts at `at`, or `delay_min` after the call of
    the scripted incident named by `trigger`."""

    name: str = ""
    venue: str  # a [[venues]] name or any place
    at: Clock | None = None
    trigger: str | None = None  # a scripted incident's name
    delay_min: Minutes = 0  # from the trigger's call to the alarm
    delegates: bool = True  # the delegates in session at the venue at that moment leave
    roles: list[Role] | None = None  # ... those of these roles only (None: every role)
    # and this many more people not simulated one by one
    others: int = Field(default=0, ge=0, le=MAX_PEOPLE)
    others_to: str | None = None  # a safe place the buses take them to; None: they walk off
    inside_min: Minutes = 1  # from the alarm to the exits
    exits: list[ExitSpec] = Field(min_length=1)
    to_assembly_min: Minutes = 3  # walk from the exits to the assembly point
    assembly: str  # a place
    # None: delegates.max_walk_m
    walk_max_m: float | None = Field(default=None, ge=0, le=MAX_DISTANCE_M)
    buses: dict[str, Count] = Field(default_factory=dict)  # by shuttle line name
    reserve_buses: Count = 0
    reserve_depot: str | None = None  # where the reserve stands; needed with reserve_buses
    reserve_ready_min: Minutes = 5  # from the alarm to leaving the depot
    seats: int = Field(default=45, ge=1, le=1_000)  # of a reserve bus
    max_stops: int = Field(default=3, ge=1, le=1_000)  # destinations a bus serves on one trip
    fill_wait_s: Seconds = 120  # a bus waits this long to fill up
    board_s: float = Field(default=3, ge=0, le=600)  # per person boarding or leaving a bus

    @model_validator(mode="after")
    def _start(self):
        if (self.at is None) == (self.trigger is None):
            raise ValueError(f"evacuation {self.name or self.venue!r}: give exactly one of at "
                             "(a time) and trigger (a scripted incident's name)")
        if self.reserve_buses and self.reserve_depot is None:
            raise ValueError(f"evacuation {self.name or self.venue!r}: reserve_buses = "
                             f"{self.reserve_buses} needs reserve_depot (a place)")
        return self


class EmergencyData(BaseModel):
    """The data file `emergency.data` names (and the embedded one): checked on load so that a
    wrong shape is reported with the file, the field and the value."""

    # format, version and notes are kept as they are
    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    default_crew: dict[UnitType, Annotated[int, Field(ge=0, le=100)]] = Field(
        default_factory=dict)
    stations: list[StationSpec] = Field(default_factory=list)
    hospitals: list[HospitalSpec] = Field(default_factory=list)
    helicopters: list[HelicopterSpec] = Field(default_factory=list)


class EmergencySpec(Strict):
    enabled: bool = False
    data: str | None = None  # stations, hospitals, helicopters; None: the embedded data file
    stations: list[StationSpec] | None = None  # None: the data file's
    rosters: dict[str, dict[UnitType, Count]] = Field(default_factory=dict)  # by station name
    staging: list[StagingSpec] = Field(default_factory=list)
    reinforcements: list[ReinforcementSpec] = Field(default_factory=list)
    hospitals: list[HospitalSpec] | None = None
    helicopters: list[HelicopterSpec] | None = None
    # judgement: call handling and turnouts of at most an hour each
    call_handling_s: float = Field(default=60, ge=0, le=3_600)  # NFPA 1221: 64 s for 90%
    turnout_fire_s: float = Field(default=80, ge=0, le=3_600)  # NFPA 1710
    turnout_ems_s: float = Field(default=60, ge=0, le=3_600)  # NFPA 1710
    turnout_sigma: float = Field(default=0, ge=0, le=5)  # lognormal spread of turnouts; 0: fixed
    dispatch_policy: Policy = "nearest"
    mutual_aid_threshold_s: float = Field(default=900, gt=0, le=MAX_SECONDS)
    diversion_gain_s: Seconds = 60  # divert only when this much sooner
    keep_coverage_slack_s: Seconds = 120
    ems_on_scene_min: float = Field(default=12, gt=0, le=7 * 24 * 60)  # treatment (median)
    handover_min: Minutes = 15  # at the ER
    er_baseline_occupancy: float = Field(default=0.5, ge=0, le=1)  # walk-in patients
    er_stay_hours: dict[Literal[1, 2, 3], Annotated[float, Field(gt=0, le=7 * 24)]] = Field(
        default_factory=lambda: {1: 6.0, 2: 4.0, 3: 2.0})
    heli_min_road_min: Minutes = 30  # fly when the road takes longer
    rates: RatesSpec = Field(default_factory=RatesSpec)
    scripted: list[ScriptedIncident] = Field(default_factory=list)
    evacuations: list[EvacuationSpec] = Field(default_factory=list)
    coverage_target_min: float = Field(default=7, gt=0, le=24 * 60)
    # judgement: coverage sampled at most every 0.5 min (it costs a routing pass each time)
    coverage_interval_min: float = Field(default=5, ge=0.5, le=24 * 60)
    coverage_target_share: float = Field(default=0.7, ge=0, le=1)
    coverage_types: list[UnitType] = Field(default_factory=lambda: ["pumper", "ambulance"],
                                           min_length=1)

    @model_validator(mode="after")
    def _windows(self):
        for i, s in enumerate(self.staging):
            if s.end <= s.start:
                raise ValueError(f"staging[{i}] ({s.name}): end ({s.end:g} s) must be after "
                                 f"start ({s.start:g} s)")
        for i, r in enumerate(self.reinforcements):
            if r.leave <= r.arrive:
                raise ValueError(f"reinforcements[{i}] ({r.name}): leave ({r.leave:g} s) must "
                                 f"be after arrive ({r.arrive:g} s)")
        names = [s.name for s in self.scripted]
        for i, e in enumerate(self.evacuations):
            if e.trigger is not None and e.trigger not in names:
                raise ValueError(f"evacuations[{i}].trigger = {e.trigger!r}: not the name of a "
                                 f"scripted incident; scripted: "
                                 f"{', '.join(repr(n) for n in names if n) or '(none)'}")
        return self

"""Shared bounds of the input schemas: every number a scenario, an emergency data file or a
network file gives must be finite and within a physically sensible range. The ranges are
generous (far beyond any shipped scenario); where a bound is a judgement, it says so."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from .clock import parse_clock

DAY_S = 86_400.0
# judgement: a run, and every time in it, lies within a week of the scenario day's midnight
MAX_CLOCK_S = 7 * DAY_S
MAX_MINUTES = 7 * 24 * 60.0  # any duration given in minutes: at most a week
MAX_SECONDS = MAX_CLOCK_S  # any duration given in seconds: at most a week
MAX_PEOPLE = 10_000_000  # people, trips or rooms in one scenario (Gyeongju has ~250,000 people)
MAX_VEHICLES = 100_000  # vehicles of one kind or line (the Leaders' day has 253 buses)
MAX_UNITS = 1_000  # emergency units of one type at one station, post or incident
MAX_DISTANCE_M = 1_000_000.0  # 1,000 km: any distance or radius in metres
MAX_SEED = 2**63  # seeds are whole numbers 0 <= seed < 2**63

Clock = Annotated[float, BeforeValidator(parse_clock), Field(ge=0, le=MAX_CLOCK_S)]
# a time of day, repeated every day of a run: 00:00 up to 24:00 (the end of the day)
TimeOfDay = Annotated[float, BeforeValidator(parse_clock), Field(ge=0, le=DAY_S)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Minutes = Annotated[float, Field(ge=0, le=MAX_MINUTES)]
Seconds = Annotated[float, Field(ge=0, le=MAX_SECONDS)]
Seed = Annotated[int, Field(ge=0, lt=MAX_SEED)]


# judgement: a road class's free-flow speed between 0.3 and 1.5 times its posted speed (real
# drives run below the limit on national roads and expressways and somewhat above it on
# empty streets; outside this range the posted speed or the road class is wrong)
SpeedFactor = Annotated[float, Field(ge=0.3, le=1.5)]


def _sums_to_one(v: list[float]) -> list[float]:
    if abs(sum(v) - 1.0) > 0.01:
        raise ValueError(f"the 24 hourly shares must sum to 1 (they sum to {sum(v):.4f})")
    return v


# a day's shares by hour, 00 to 23: each 0 to 1, together 1 (within 0.01: rounded tables)
HourlyShares = Annotated[list[Annotated[float, Field(ge=0, le=1)]],
                         Field(min_length=24, max_length=24), AfterValidator(_sums_to_one)]


class Strict(BaseModel):
    """A part of a scenario: unknown fields are refused, and every number must be finite (inf
    and nan are refused with the field named)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


Share = Annotated[float, Field(ge=0, le=1)]

"""Goodness-of-fit statistics: pure functions, checked in the tests against hand-worked values.

GEH is the UK DMRB / WebTAG acceptance statistic for modelled against counted hourly flows;
TAG unit M3.1 "Highway Assignment Modelling" (Department for Transport, May 2020, section 3.3,
https://www.gov.uk/government/publications/tag-unit-m3-1-highway-assignment-modelling) accepts
a model when GEH < 5 on more than 85% of count sites, and when modelled journey times are
within 15% of the observed ones (or within 1 minute, if that is more) on more than 85% of
routes."""

from __future__ import annotations

import math

GEH_LIMIT = 5.0
TIME_TOLERANCE = 0.15
TIME_FLOOR_S = 60.0
ACCEPT_SHARE = 0.85


def geh(modelled: float, observed: float) -> float:
    """GEH = sqrt(2 (M - C)^2 / (M + C)) for hourly flows M (modelled) and C (counted)."""
    if modelled < 0 or observed < 0:
        raise ValueError(f"flows must not be negative (modelled {modelled}, observed {observed})")
    total = modelled + observed
    return 0.0 if total == 0 else math.sqrt(2.0 * (modelled - observed) ** 2 / total)


def geh_daily(modelled_per_day: float, observed_per_day: float) -> float:
    """GEH of a day's count taken as its mean hour (flows / 24): GEH is defined on hourly
    flows and grows with the square root of the flow, so a daily count is brought to an hour
    before the hourly criterion is applied to it."""
    return geh(modelled_per_day / 24.0, observed_per_day / 24.0)


def time_ratio(modelled: float, observed: float) -> float:
    """Modelled over observed travel time."""
    if observed <= 0:
        raise ValueError(f"observed travel time must be positive, not {observed}")
    return modelled / observed


def time_within(modelled_s: float, observed_s: float) -> bool:
    """Within 15% of the observed time, or within 1 minute where that is more."""
    return abs(modelled_s - observed_s) <= max(TIME_TOLERANCE * observed_s, TIME_FLOOR_S)


def share(flags) -> float | None:
    """Share of true flags (None when there are none)."""
    flags = list(flags)
    return round(sum(bool(f) for f in flags) / len(flags), 4) if flags else None


def accepted(share_value: float | None, needed: float = ACCEPT_SHARE) -> bool | None:
    return None if share_value is None else share_value >= needed


def objective(gehs, ratios) -> float:
    """Mean (GEH / 5)^2 over counts plus mean (ln ratio / ln 1.15)^2 over travel times: each row
    weighs 1 on its acceptance limit, counts and times weigh alike whatever their numbers."""
    total = 0.0
    gehs, ratios = list(gehs), [r for r in ratios if r > 0 and math.isfinite(r)]
    if gehs:
        total += sum((g / GEH_LIMIT) ** 2 for g in gehs) / len(gehs)
    if ratios:
        scale = math.log(1.0 + TIME_TOLERANCE)
        total += sum((math.log(r) / scale) ** 2 for r in ratios) / len(ratios)
    return total

"""What a KPI is, read from its flattened name: a share (0 to 1), a time of day, or an amount
that cannot be negative (counts, minutes, km, ...); its unit, the range its interval is held to,
and the label the planners' table gives the few KPIs they brief from.

Intervals over replicates are Student t intervals of the mean; a count's can reach below 0 and
a share's past 1 when the runs scatter, which no mean of such runs can do, so they are clipped to
what the quantity can be. A time of day (a peak hour's start) gets no interval: its mean over
runs is a rough centre, not an estimate to test."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from ..clock import format_clock
from . import stats

SHARE, CLOCK, AMOUNT = "share", "clock", "amount"

# The table a planner briefs from, in this order: KPI -> label (with its unit).
BRIEFING: dict[str, str] = {
    "delegates.on_time_rate": "on time at screening",
    "delegates.wheelchair.on_time_rate": "wheelchair users on time",
    "delegates.wait_p90_min": "stop wait p90 (min)",
    "delegates.door_to_door_p90_min": "door to door p90 (min)",
    "delegates.people_denied_boarding": "people left by a full bus",
    "delegates.gave_up_waiting": "gave up waiting (trips)",
    "shuttles.load_factor": "shuttle load factor",
    "traffic.delay_mean_min": "delay per trip, mean (min)",
    "traffic.delay_p90_min": "delay per trip, p90 (min)",
    "traffic.mean_speed_kmh": "mean speed (km/h)",
    "traffic.stuck": "trips stuck (pushed on)",
    "emergency.within_7min_rate": "119 arrival within 7 min",
    "emergency.call_to_arrival_p50_s": "call to arrival p50 (s)",
    "emergency.call_to_arrival_p90_s": "call to arrival p90 (s)",
}

# shares whose names do not end in _rate or _share
_SHARE_NAMES = {"load_factor", "mean_occupancy", "peak_occupancy", "drt_mean_occupancy",
                "coverage_min"}
_SHARE_GROUPS = {"unit_utilization", "er_peak_occupancy"}  # every member is a share
_CLOCK = re.compile(r"(^|_)(start|peak_en_route)_s$")  # a time of day, seconds from midnight
# suffix of the last name part -> unit, checked in this order
_UNITS = (("_min", "min"), ("_s", "s"), ("_kmh", "km/h"), ("_km", "km"), ("_hours", "h"),
          ("_ratio", "ratio"))


def kind(name: str) -> str:
    """SHARE, CLOCK or AMOUNT (everything else: counts and durations, never negative)."""
    parts = name.split(".")
    last = parts[-1]
    if _CLOCK.search(last):
        return CLOCK
    if (last in _SHARE_NAMES or last.endswith(("_rate", "_share")) or last.startswith("share_")
            or (len(parts) > 1 and parts[-2] in _SHARE_GROUPS)):
        return SHARE
    return AMOUNT


def bounds(name: str) -> tuple[float, float]:
    """The values the KPI can take: [0, 1] for a share, [0, inf) for the rest."""
    return (0.0, 1.0) if kind(name) == SHARE else (0.0, math.inf)


def unit(name: str) -> str:
    """The unit a KPI is counted in, for tables and axes ('' for a plain count)."""
    k = kind(name)
    if k == SHARE:
        return "share"
    if k == CLOCK:
        return "time of day"
    last = name.split(".")[-1]
    return next((u for suffix, u in _UNITS if last.endswith(suffix)), "")


def label(name: str) -> str:
    """The briefing label, else the flattened name itself."""
    return BRIEFING.get(name, name)


def axis_label(name: str) -> str:
    """A label for a chart axis: the briefing label (which carries its unit) or the name with
    its unit; shares are drawn in percent."""
    text = label(name)
    if kind(name) == SHARE:
        return f"{text} (%)"
    u = unit(name)
    return text if name in BRIEFING or not u else f"{text} ({u})"


def briefing(available: Iterable[str]) -> list[str]:
    """The briefing KPIs these runs have, in the briefing's order."""
    have = set(available)
    return [k for k in BRIEFING if k in have]


def estimate(name: str, xs: Sequence[float]) -> stats.Estimate:
    """Mean and 95% CI of a KPI over runs, the interval clipped to what the KPI can be; a time
    of day gets no interval."""
    e = stats.ci(xs)
    if kind(name) == CLOCK:
        return stats.Estimate(e.n, e.mean, e.sd, math.nan, math.nan)
    low, high = bounds(name)
    return stats.clip(e, low, high)


def difference(name: str, a: Sequence[float], b: Sequence[float]) -> stats.Difference:
    """b - a with its Welch interval; for a time of day the difference alone (no interval, no
    test)."""
    d = stats.welch(a, b)
    if kind(name) == CLOCK:
        nan = math.nan
        return stats.Difference(d.diff, nan, nan, nan, nan, False)
    return d


# ---- text ------------------------------------------------------------------------------------
def number(x: float, signed: bool = False) -> str:
    """A number in 3 significant figures (whole numbers from 1,000, thousands separated;
    millions as 'M'); a sign on request, none on 0."""
    if x is None or math.isnan(x):
        return "-"
    sign = "+" if signed else ""
    if x == 0:
        return "0"
    if abs(x) >= 1e6:
        return f"{x / 1e6:{sign}.3g}M"
    if abs(x) >= 1000:
        return f"{x:{sign},.0f}"
    return f"{x:{sign}.3g}"


def value_text(name: str, x: float) -> str:
    """One value as a planner reads it: shares in percent, times of day as HH:MM."""
    if x is None or math.isnan(x):
        return "-"
    k = kind(name)
    if k == SHARE:
        return f"{100 * x:.1f}%"
    if k == CLOCK:
        return format_clock(x)[:5]
    return number(x)


def _points(share: float, signed: bool = False) -> str:
    """A share in percent to one decimal; no sign on what rounds to 0."""
    text = f"{100 * share:{'+' if signed else ''}.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


def _inner(name: str, x: float, signed: bool = False) -> str:
    """A bound inside brackets: shares in percent without the sign of the unit."""
    if kind(name) == SHARE:
        return _points(x, signed)
    return number(x, signed)


def estimate_text(name: str, e: stats.Estimate) -> str:
    """'88.7% [88.1, 89.2]', '3.2 [2.9, 3.6]', '07:15' (no interval for a time of day, none
    either where every run gave the same value)."""
    if math.isnan(e.low) or e.low == e.high:
        return value_text(name, e.mean)
    return f"{value_text(name, e.mean)} [{_inner(name, e.low)}, {_inner(name, e.high)}]"


def difference_text(name: str, d: stats.Difference | None) -> str:
    """'-2.7 pp [-3.8, -1.6] *' (shares in percentage points), '+12 min' for a time of day."""
    if d is None:
        return ""
    k = kind(name)
    if k == CLOCK:
        return f"{d.diff / 60:+.0f} min"
    if d.diff == 0 and d.low == d.high:  # the same in every run
        return "0"
    head = f"{_points(d.diff, True)} pp" if k == SHARE else number(d.diff, True)
    star = " *" if d.significant else ""
    if math.isnan(d.low) or d.low == d.high:
        return head + star
    return f"{head} [{_inner(name, d.low, True)}, {_inner(name, d.high, True)}]{star}"

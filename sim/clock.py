"""Times of day: scenario files say "07:30" or seconds; the engine counts seconds from midnight."""

from __future__ import annotations

import datetime
import re

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?$")


def parse_clock(value) -> float:
    """'07:30' / '07:30:15' / 27000 -> seconds from midnight; '24:00' and later are allowed."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time; use 'HH:MM' or seconds")
    if isinstance(value, datetime.time):  # TOML local times: 07:30:00
        return value.hour * 3600.0 + value.minute * 60.0 + value.second
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{value!r} is negative; use seconds from midnight >= 0")
        return float(value)
    m = _CLOCK.match(str(value).strip())
    if not m:
        raise ValueError(f"{value!r} is not a time; use 'HH:MM', 'HH:MM:SS' or seconds")
    h, mi, s = int(m.group(1)), int(m.group(2)), float(m.group(3) or 0)
    if mi >= 60 or s >= 60:
        raise ValueError(f"{value!r} is not a time: minutes and seconds must be below 60")
    return h * 3600.0 + mi * 60.0 + s


def format_clock(seconds: float) -> str:
    """Seconds from midnight -> 'HH:MM:SS' (hours may pass 24 on multi-day runs)."""
    s = round(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def format_mmss(seconds: float) -> str:
    """Seconds -> 'MM:SS' (minutes may pass 59, '-' before a negative): a time after a moment,
    such as a drill stage after its call, written one way in tables, console and pictures."""
    s = round(abs(seconds))
    return f"{'-' if seconds < 0 and s else ''}{s // 60:02d}:{s % 60:02d}"


def format_hhmm(seconds: float) -> str:
    """Seconds from midnight -> 'HH:MM' of its day, as a wall clock reads (07:04:59 is 07:04;
    a multi-day run's 25:30 is 01:30 of the next day: see `day_of`)."""
    s = round(seconds) % 86_400
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}"


def day_of(seconds: float, date: str = "") -> str:
    """The day a time falls on: 'Fri 31 Oct 2025' from the scenario's ISO date (the day after
    it from 24:00 on), or 'day 1', 'day 2' when the scenario has no date."""
    n = round(seconds) // 86_400
    try:
        d = datetime.date.fromisoformat(str(date).strip()) + datetime.timedelta(days=n)
    except ValueError:
        return f"day {n + 1}"
    return f"{d:%a} {d.day} {d:%b %Y}"

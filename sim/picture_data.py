"""Plain data the summit pictures are drawn from, taken from a finished layer in the main
process (lists and arrays only, so a worker process can draw them; see painter.py)."""

from __future__ import annotations

import numpy as np


def summit_picture_data(layer) -> dict:
    """Per session punctuality, stop waits and the line x half-hour occupancy grid."""
    later = {(r.session, r.start_s) for d in layer.delegates for r in d.records
             if not layer.simulated(r.start_s)}
    return {"sessions": _sessions(layer), "sessions_not_simulated": len(later),
            **_waits(layer), **_occupancy(layer)}


def _sessions(layer) -> list[tuple[str, float, int, float, float]]:
    """(session, start, attendees, share on time, share up to 5 min late), by start time."""
    sessions: dict[tuple[str, float], list[float]] = {}
    for r in layer.scored_records():  # a session after the run's end is not simulated
        sessions.setdefault((r.session, r.start_s), []).append(r.late_min)
    rows = []
    for name, start in sorted(sessions, key=lambda k: (k[1], k[0])):
        late = sessions[(name, start)]
        rows.append((name, start, len(late), float(np.mean([x == 0 for x in late])),
                     float(np.mean([0 < x <= 5 for x in late]))))
    return rows


def _waits(layer) -> dict:
    recs = layer.scored_records()
    return {"waits_min": [r.wait_s / 60 for r in recs if r.rides or r.mode == "shuttle>car"],
            "gave_up": sum(1 for r in recs if r.mode == "shuttle>car"),
            "gave_up_all": layer.gave_up,  # every purpose, as the console's count
            "max_wait_min": layer.spec.max_wait_min}


def _occupancy(layer) -> dict:
    """The fullest departure of each line in each half hour (NaN: no bus left a stop then)."""
    lines = [ln for ln in layer.lines if ln.stats.occupancy_samples]
    t_all = [t for ln in lines for t, _, _ in ln.stats.occupancy_samples]
    first = int(min(t_all) // 1800) if t_all else 0
    last = int(max(t_all) // 1800) if t_all else 1
    grid = np.full((len(lines), last - first + 1), np.nan)
    for r, ln in enumerate(lines):
        for t, load, seats in ln.stats.occupancy_samples:
            c = int(t // 1800) - first
            share = load / seats
            if not share <= grid[r, c]:  # NaN or lower: keep the fullest
                grid[r, c] = share
    return {"occupancy": grid, "first_half_hour": first,
            "line_labels": [f"{ln.spec.name} ({len(ln.buses)} buses)" for ln in lines]}

"""How a run of a plan met its targets, line by line: the mean stop wait and the hourly load
what the runs carried."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .demand import HOUR_S
from .timetable import Targets


@dataclass(frozen=True)
class LineCheck:
    """A line's run against the targets: the mean stop wait of every rider who joined a stop
    (boarded, or gave up: at the wait given up after; the p90 beside it), and the highest
    hourly load: the riders on board where each run of the hour carried most, over the seats
    those runs offered (each way apart; runs by when they left the first stop)."""

    name: str
    buses: int
    runs: int
    boardings: int
    gave_up: int
    wait_mean_min: float | None
    wait_p90_min: float | None
    worst_load: float
    worst_load_hour: float | None

    def meets(self, targets: Targets) -> bool:
        wait_ok = self.wait_mean_min is None or self.wait_mean_min <= targets.max_wait_min
        return wait_ok and self.worst_load <= targets.max_load + 1e-9


def run_loads(line) -> list[tuple[bool, float, int]]:
    """(outbound, when it left its first stop, riders on board on its busiest leg) of every
    run in service."""
    runs: dict[int, list] = {}
    for t, run, riders, _, _, outbound in line.stats.legs:
        r = runs.get(run)
        if r is None:
            runs[run] = [outbound, t, riders]
        else:
            r[1], r[2] = min(r[1], t), max(r[2], riders)
    return [tuple(r) for r in runs.values()]


def hourly_loads(line) -> dict[tuple[bool, float], float]:
    """(outbound, hour start) -> the riders the hour's runs that way carried where each
    carried most, over the seats those runs offered."""
    riders: dict[tuple[bool, float], list[int]] = {}
    for outbound, t, n in run_loads(line):
        riders.setdefault((outbound, t // HOUR_S * HOUR_S), []).append(n)
    return {k: sum(v) / (line.spec.seats * len(v)) for k, v in riders.items()}


def check_lines(model) -> list[LineCheck]:
    """Each line of a finished run against the plan's measures (see LineCheck)."""
    out = []
    for line in model.summit.lines:
        worst, when = 0.0, None
        for (_, h), load in sorted(hourly_loads(line).items()):
            if load > worst:
                worst, when = load, h
        left = [w for q in line.queues.values() for w in q.left_waits]
        waits = np.asarray([*line.stats.waits, *left]) / 60
        mean, p90 = (float(waits.mean()), float(np.percentile(waits, 90))) if waits.size \
            else (None, None)
        out.append(LineCheck(line.spec.name, line.spec.fleet, line.stats.runs,
                             line.stats.boardings, len(left), mean, p90, worst, when))
    return out


def check_text(rows: list[LineCheck], targets: Targets) -> str:
    """A run of a plan line by line against its targets, as printed and written."""
    met = sum(r.meets(targets) for r in rows)
    out = [f"run of the plan against mean stop wait <= {targets.max_wait_min:g} min (every "
           f"rider who joined a stop, those who gave up included) and load <= "
           f"{targets.max_load:.0%}: met on {met} of {len(rows)} lines, "
           f"{sum(r.buses for r in rows)} buses",
           f"  {'line':<28}{'buses':>6}{'runs':>6}{'riders':>8}{'gave up':>8}{'wait':>7}"
           f"{'p90':>7}{'worst load':>12}  met"]
    for r in rows:
        wait = "" if r.wait_mean_min is None else f"{r.wait_mean_min:.1f}"
        p90 = "" if r.wait_p90_min is None else f"{r.wait_p90_min:.1f}"
        when = "" if r.worst_load_hour is None else f" {int(r.worst_load_hour // 3600):02d}h"
        out.append(f"  {r.name[:27]:<28}{r.buses:>6}{r.runs:>6}{r.boardings:>8}{r.gave_up:>8}"
                   f"{wait:>7}{p90:>7}{r.worst_load:>8.0%}{when:<4}  "
                   f"{'yes' if r.meets(targets) else 'NO'}")
    return "\n".join(out) + "\n"

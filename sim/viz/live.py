"""The model behind the live view: a scenario with the view's parameters turned into `--set`
overrides, advanced a fixed number of simulated minutes per Step, with a record of the quantities
the live charts show.

The view's parameters and the overrides they become:
- fleet scale -> `shuttles.fleet_scale=X` (scenarios with shuttle lines)
- weather -> `weather=clear|rain|snow|fog` ("scenario" keeps the scenario's own)
- closures on/off -> `closures.I.applies_to=[]` for every closure switched off
- dispatch policy -> `emergency.dispatch_policy=...` ("scenario" keeps the scenario's own)
- emergency layer -> `emergency.enabled=true`
- demand scale -> `traffic.demand_scale=X` (times the scenario's own value)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..clock import format_clock, parse_clock
from ..model import SummitModel
from ..scenario import load_scenario

WEATHER = ("scenario", "clear", "rain", "snow", "fog")
POLICIES = ("scenario", "nearest", "staging_first", "keep_coverage")


def view_overrides(scenario: str, *, fleet_scale: float = 1.0, weather: str = "scenario",
                   closures: bool = True, dispatch_policy: str = "scenario",
                   emergency: bool = False, demand_scale: float = 1.0,
                   base: list[str] | tuple = ()) -> list[str]:
    """The `--set` overrides the view's parameters stand for (after the user's own `base`)."""
    base = list(base)
    spec = load_scenario(scenario, base)
    sets = list(base)
    if fleet_scale != 1.0 and spec.has_summit():
        sets.append(f"shuttles.fleet_scale={spec.shuttles.fleet_scale * fleet_scale:g}")
    if weather != "scenario":
        sets.append(f"weather={weather}")
    if not closures:
        sets += [f"closures.{i}.applies_to=[]" for i in range(len(spec.closures))]
    if emergency and not spec.emergency.enabled:
        sets.append("emergency.enabled=true")
    if dispatch_policy != "scenario" and (emergency or spec.emergency.enabled):
        sets.append(f"emergency.dispatch_policy={dispatch_policy}")
    if demand_scale != 1.0:
        sets.append(f"traffic.demand_scale={spec.traffic.demand_scale * demand_scale:g}")
    return sets


@dataclass
class History:
    """What the live charts plot: one row per Step."""

    time_s: list[float] = field(default_factory=list)
    en_route: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    on_time: list[float | None] = field(default_factory=list)
    available: dict[str, list[int]] = field(default_factory=dict)
    coverage: dict[str, list[float | None]] = field(default_factory=dict)


class LiveModel(SummitModel):
    """A SummitModel the view can step, reset and re-parameterise.

    Mesa's Step button calls `model.step()`; here one step runs the discrete-event model
    `step_minutes` of simulated time on. Reset builds a new one from the same keywords.
    """

    def __init__(self, scenario_name: str = "leaders_day", *, fleet_scale: float = 1.0,
                 weather: str = "scenario", closures: bool = True,
                 dispatch_policy: str = "scenario", emergency: bool = False,
                 demand_scale: float = 1.0, step_minutes: int = 5, start_at: str | None = None,
                 overrides: list[str] | tuple = (), seed: int | None = None):
        # the page's Reset may hand over its sliders' cells (solara.Reactive) for numbers
        step_minutes, fleet_scale, demand_scale = (
            getattr(v, "value", v) for v in (step_minutes, fleet_scale, demand_scale))
        sets = view_overrides(scenario_name, fleet_scale=fleet_scale, weather=weather,
                              closures=closures, dispatch_policy=dispatch_policy,
                              emergency=emergency, demand_scale=demand_scale, base=overrides)
        self.overrides = sets
        super().__init__(load_scenario(scenario_name, sets), seed=seed)
        self.step_s = 60.0 * step_minutes
        self.history = History()
        # Mesa's Step button calls model.step(): one step is step_minutes of simulated time
        self.step = self.advance
        first = self.start_s if start_at is None else max(self.start_s, parse_clock(start_at))
        self.run_until(first)
        self.record()

    @property
    def clock(self) -> str:
        return format_clock(self.time)

    def advance(self) -> None:
        """Run the model one step on (to the scenario's end at most) and record it."""
        if self.time >= self.end_s:
            self.running = False
            return
        self.run_until(min(self.end_s, self.time + self.step_s))
        self.engine.run_until(self.time)
        self.steps += 1
        self.record()
        if self.time >= self.end_s:
            self.running = False

    def record(self) -> None:
        h = self.history
        h.time_s.append(float(self.time))
        h.en_route.append(int(self.engine.in_network))
        h.waiting.append(self.waiting_at_stops())
        h.on_time.append(self.on_time_so_far())
        em = self.emergency
        if em is not None:
            for utype, units in sorted(em.units_by_type.items()):
                h.available.setdefault(utype, []).append(
                    sum(u.status == "available" for u in units))
            last = em.coverage[-1][1] if em.coverage else {}
            for utype in em.spec.coverage_types:
                h.coverage.setdefault(utype, []).append(last.get(utype))

    def waiting_at_stops(self) -> int:
        if self.summit is None:
            return 0
        return sum(len(q.waiting) for ln in self.summit.lines for q in ln.queues.values())

    def on_time_so_far(self) -> float | None:
        """Share of the trips to sessions that have started by now that cleared screening by
        the session's start (None before the first session)."""
        if self.summit is None:
            return None
        now = self.time
        due = hit = 0
        for d in self.summit.delegates:
            for r in d.records:
                if r.start_s <= now:
                    due += 1
                    hit += r.cleared_s is not None and r.cleared_s <= r.start_s
        return hit / due if due else None

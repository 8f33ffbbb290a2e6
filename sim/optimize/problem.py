"""What an optimisation asks: the objective, the constraints on simulated KPIs, and the shuttle
plan's decision variables (buses per line, or per timetable period, with the headway following:
the same round trip per bus, as `shuttles.fleet_scale` scales a whole fleet).

The objective of a shuttle plan (buses, bus-hours) is read from the plan itself, so it carries
no noise; only the constraints come from simulation, judged on their mean over the same seeds
for every candidate (common random numbers)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InputError
from ..scenario import Scenario, override_scenario
from ..summit import scaled_extra, scaled_timetable
from ..whatif import kpis as kpi_info
from ..whatif.params import _without_defaults, check_kpi_names, parse_range
from .names import KPI_ALIASES, OBJECTIVES, SHUTTLE_OBJECTIVES, STAGING_OBJECTIVES

__all__ = ["KPI_ALIASES", "OBJECTIVES", "SHUTTLE_OBJECTIVES", "STAGING_OBJECTIVES"]

_CONSTRAINT = re.compile(r"^\s*([A-Za-z0-9_.\-: ]+?)\s*(>=|<=)\s*([^\s]+)\s*$")


def check_objective(name: str) -> str:
    if name not in OBJECTIVES:
        allowed = "; ".join(f"{k} ({v})" for k, v in OBJECTIVES.items())
        raise InputError(f"--objective {name!r}: not an objective; allowed: {allowed}")
    return name


@dataclass(frozen=True)
class Constraint:
    """A KPI bound: `kpi >= bound` or `kpi <= bound`, judged on the mean over the seeds."""

    kpi: str
    sense: str  # ">=" or "<="
    bound: float
    text: str  # as given

    def violation(self, value: float | None) -> float:
        """How far the value is on the wrong side (0 when met; inf when the runs lack it),
        in the KPI's own unit: what Optuna's constrained samplers read (<= 0 is feasible)."""
        if value is None or not math.isfinite(value):
            return math.inf
        return self.bound - value if self.sense == ">=" else value - self.bound

    def met(self, value: float | None) -> bool:
        return self.violation(value) <= 1e-12

    def __str__(self) -> str:
        return f"{self.kpi} {self.sense} {_g(self.bound)}"


def _g(x: float) -> str:
    return f"{x:g}"


def parse_constraint(text: str) -> Constraint:
    """`on_time>=0.95`, `delegates.wait_p90_min<=20`, `city_coverage>=70%`."""
    usage = ("expected KPI>=VALUE or KPI<=VALUE, e.g. on_time>=0.95 or wait_p90<=20; short "
             f"names: {', '.join(f'{k} ({v})' for k, v in KPI_ALIASES.items())}")
    m = _CONSTRAINT.match(text)
    if not m:
        raise InputError(f"--constraint {text!r}: {usage}")
    name, sense, value = m.groups()
    kpi = KPI_ALIASES.get(name, name)
    percent = value.endswith("%")
    try:
        bound = float(value[:-1] if percent else value) / (100 if percent else 1)
    except ValueError:
        raise InputError(f"--constraint {text!r}: {value!r} is not a number; {usage}") from None
    if not math.isfinite(bound):
        raise InputError(f"--constraint {text!r}: {value!r} is not a finite number")
    low, high = kpi_info.bounds(kpi)
    if not low <= bound <= high:
        what = "a share from 0 to 1 (or 0% to 100%)" if high == 1 else "0 or more"
        raise InputError(f"--constraint {text!r}: {kpi} is {what}, not {value}")
    return Constraint(kpi, sense, bound, text)


def check_constraints(constraints: Sequence[Constraint], scenario: Scenario) -> None:
    """Refuse, before any run, a constraint on a KPI no run of this scenario writes."""
    for c in constraints:
        if c.kpi.startswith("optimize."):
            continue
        try:
            check_kpi_names([c.kpi], scenario)
        except InputError as exc:
            why = str(exc).split(": ", 1)[1]
            raise InputError(f"--constraint {c.text!r}: {c.kpi!r}: {why}; short names: "
                             f"{', '.join(KPI_ALIASES)}") from None
    for c in constraints:
        if c.kpi.startswith("optimize.") and c.kpi not in KPI_ALIASES.values():
            raise InputError(f"--constraint {c.text!r}: no such KPI; the optimiser's own are "
                             "venue_coverage and city_coverage (staging plans)")


# the stop-wait KPIs a delegate's patience caps: a trip that gave up waiting counts
# delegates.max_wait_min as its wait (then a taxi), so these percentiles stop there
WAIT_KPIS = ("delegates.wait_p50_min", "delegates.wait_p90_min",
              "delegates.wheelchair.wait_p90_min")


def patience_cap(kpi: str, scenario: Scenario) -> float | None:
    """The delegates' patience (minutes) when the KPI is a stop-wait percentile it caps."""
    return scenario.delegates.max_wait_min if kpi in WAIT_KPIS else None


def wait_percentile(kpi: str) -> int:
    """The percentile a stop-wait KPI reads: 90 for delegates.wait_p90_min."""
    return int(kpi.rsplit("_p", 1)[1].split("_")[0])


def constraint_warnings(constraints: Sequence[Constraint], scenario: Scenario) -> list[str]:
    """Bounds that do not hold a plan to what they seem to: a stop-wait percentile bounded at
    or above the delegates' patience is met by plans that leave many at the stop, since a
    trip that gave up counts the patience as its wait and the percentile stops there."""
    out = []
    for c in constraints:
        cap = patience_cap(c.kpi, scenario)
        if cap is not None and c.sense == "<=" and c.bound >= cap:
            q = wait_percentile(c.kpi)
            out.append(f"--constraint {c.text!r}: delegates give up waiting after "
                       f"delegates.max_wait_min = {_g(cap)} min and such a trip counts "
                       f"{_g(cap)} min, so once {100 - q}% or more give up the p{q} reads "
                       f"about {_g(cap)} however many more do: a bound at or above it is met "
                       f"by plans that leave many at the stop. Bound it below {_g(cap)} min, "
                       "or bound gave_up_to_sessions too")
    return out


def meets_all(estimates: dict, constraints: Sequence[Constraint]) -> bool:
    """Whether a plan's fresh-seed means (KPI -> estimate) meet every constraint; a KPI its
    runs lack meets none."""
    return all(c.kpi in estimates and c.met(estimates[c.kpi].mean) for c in constraints)


# ---- the shuttle plan's decision variables ------------------------------------------------
_LINE_PATH = re.compile(r"^shuttles\.lines\.(\d+)\.(?:(buses)|(?:periods\.(\d+)\.)?"
                        r"(vehicles|headway_min))$")


@dataclass(frozen=True)
class Variable:
    """One decision: `shuttles.lines.N.buses` (a line's buses, every timetable of the line
    scaled, headways following), `shuttles.lines.N[.periods.K].vehicles` (one timetable's
    buses, its headway following unless it is a variable too), its `headway_min`, or any other
    number a scenario has (`shuttles.fleet_scale`)."""

    path: str
    low: float
    high: float
    integer: bool
    line: int | None = None
    period: int | None = None  # None: the line's all-day timetable
    field: str = ""  # buses, vehicles, headway_min; "" for a plain path

    def value(self, x: float) -> float:
        return float(round(x)) if self.integer else float(x)


def parse_variable(text: str, start: Scenario) -> Variable:
    """`--param PATH=LO:HI`, checked against the start plan (its lines and periods)."""
    usage = "expected PATH=LO:HI, e.g. shuttles.lines.0.buses=2:12"
    path, _, rest = text.partition("=")
    path = path.strip()
    m = _LINE_PATH.match(path)
    if not m:
        r = parse_range(text)  # any numeric scenario path; errors name the text and the path
        return Variable(r.path, r.low, r.high, r.integer)
    line, buses, period, fld = int(m[1]), m[2], m[3], m[4]
    lines = start.shuttles.lines
    if line >= len(lines):
        names = ", ".join(f"{i}: {ln.name}" for i, ln in enumerate(lines)) or "none"
        raise InputError(f"--param {text!r}: line {line} does not exist in the plan searched "
                         f"(lines {names})")
    ln = lines[line]
    if period is not None and int(period) >= len(ln.periods):
        raise InputError(f"--param {text!r}: line {line} ({ln.name}) has "
                         f"{len(ln.periods)} periods (0 to {len(ln.periods) - 1})")
    if period is None and fld and ln.vehicles is None:
        raise InputError(f"--param {text!r}: line {line} ({ln.name}) has no all-day timetable "
                         f"(periods only): give shuttles.lines.{line}.periods.K.{fld} or "
                         f"shuttles.lines.{line}.buses")
    parts = [s.strip() for s in rest.split(":")]
    if len(parts) != 2:
        raise InputError(f"--param {text!r}: {usage}")
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"--param {text!r}: {rest!r} is not LO:HI numbers; {usage}") from None
    integer = fld != "headway_min"
    if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
        raise InputError(f"--param {text!r}: LO ({parts[0]}) must be a number below HI "
                         f"({parts[1]})")
    if integer and (low != int(low) or high != int(high) or low < 1):
        raise InputError(f"--param {text!r}: buses are whole numbers from 1, not {rest}")
    if not integer and low < 0.1:
        raise InputError(f"--param {text!r}: a headway is 0.1 min or more, not {parts[0]}")
    return Variable(path, low, high, integer, line, None if period is None else int(period),
                    buses or fld)


def default_variables(start: Scenario, factor: float = 2.0) -> list[Variable]:
    """Without --param: every line's buses, from 1 to `factor` times the start plan's (two
    more at least), so the search can both cut and add."""
    out = []
    for i, ln in enumerate(start.shuttles.lines):
        n = ln.fleet()
        out.append(Variable(f"shuttles.lines.{i}.buses", 1, max(n + 2, math.ceil(n * factor)),
                            True, i, None, "buses"))
    return out


def check_variables(variables: Sequence[Variable]) -> None:
    paths = [v.path for v in variables]
    for p in paths:
        if paths.count(p) > 1:
            raise InputError(f"--param: {p!r} is given twice")
    lines = {v.line for v in variables if v.field == "buses"}
    for v in variables:
        if v.field in ("vehicles", "headway_min") and v.line in lines:
            raise InputError(f"--param {v.path!r}: line {v.line}'s buses are a variable too "
                             f"(shuttles.lines.{v.line}.buses); give one or the other")


# ---- a candidate plan ------------------------------------------------------------------------
def candidate(start: Scenario, variables: Sequence[Variable], values: Sequence[float]
              ) -> Scenario:
    """The start plan with the decision variables set: plain paths as `--set` sets them, then
    each line's buses and timetables (headways follow buses: the same round trip per bus)."""
    plain = [f"{v.path}={_text(v, x)}" for v, x in zip(variables, values, strict=True)
             if not v.field]
    scenario = start
    if plain:
        raw = _without_defaults(start.model_dump(mode="json"), Scenario)
        scenario = override_scenario(raw, plain, where="candidate",
                                     source_path=start.source_path)
    lines = list(scenario.shuttles.lines)
    headways = {(v.line, v.period) for v in variables if v.field == "headway_min"}
    for v, x in zip(variables, values, strict=True):
        if not v.field:
            continue
        ln = lines[v.line]
        if v.field == "buses":
            lines[v.line] = line_with_buses(ln, round(x))
        elif v.field == "vehicles":
            lines[v.line] = _timetable(ln, v.period, vehicles=round(x),
                                       follow=(v.line, v.period) not in headways)
        else:
            lines[v.line] = _timetable(ln, v.period, headway=float(x))
    shuttles = scenario.shuttles.model_copy(update={"lines": lines})
    out = scenario.model_copy(update={"shuttles": shuttles})
    out.source_path = start.source_path
    return out


def _text(v: Variable, x: float) -> str:
    return str(round(x)) if v.integer else repr(float(x))


def line_with_buses(ln, buses: int):
    """A line with `buses` in all: every timetable and its extra buses scaled by buses over
    its fleet now, headways scaled the other way (`shuttles.fleet_scale`, one line)."""
    scale = buses / ln.fleet()
    headway, vehicles = scaled_timetable(ln.headway_min, ln.vehicles, scale)
    periods = []
    for p in ln.periods:
        h, n = scaled_timetable(p.headway_min, p.vehicles, scale)
        periods.append(p.model_copy(update={"headway_min": _minutes(h), "vehicles": n}))
    return ln.model_copy(update={
        "headway_min": None if headway is None else _minutes(headway), "vehicles": vehicles,
        "periods": periods, "extra_vehicles": scaled_extra(ln.extra_vehicles, scale)})


def _minutes(headway_s: float) -> float:
    # a headway written in a plan: to the second, and never below the schema's 0.1 min
    return max(0.1, round(headway_s) / 60.0)


def _timetable(ln, period: int | None, *, vehicles: int | None = None,
               headway: float | None = None, follow: bool = False):
    """A line with one timetable (all-day, or period K) given new buses or a new headway."""
    t = ln if period is None else ln.periods[period]
    update: dict = {}
    if vehicles is not None:
        update["vehicles"] = vehicles
        if follow:
            update["headway_min"] = _minutes(t.headway_min * 60 * t.vehicles / vehicles)
    if headway is not None:
        update["headway_min"] = headway
    if period is None:
        return ln.model_copy(update=update)
    periods = list(ln.periods)
    periods[period] = t.model_copy(update=update)
    return ln.model_copy(update={"periods": periods})


# ---- what a plan costs -----------------------------------------------------------------------
def line_buses(ln, fleet_scale: float = 1.0) -> int:
    """A line's buses as the model builds them (fleet scale applied): the busiest timetable,
    plus the extra buses."""
    n = [scaled_timetable(ln.headway_min, ln.vehicles, fleet_scale)[1] or 1]
    n += [scaled_timetable(p.headway_min, p.vehicles, fleet_scale)[1] for p in ln.periods]
    return max(n) + scaled_extra(ln.extra_vehicles, fleet_scale)


def plan_buses(scenario: Scenario) -> int:
    """Line buses in all (metrics.json `shuttles.fleet`)."""
    return sum(line_buses(ln, scenario.shuttles.fleet_scale) for ln in scenario.shuttles.lines)


def plan_bus_hours(scenario: Scenario) -> float:
    """Bus-hours the timetables schedule: each timetable's buses over its hours (the all-day
    one outside the periods), and each extra bus one hour per wave of extra runs (judgement:
    out, the wave, back)."""
    from ..planning.timetable import waves

    scale = scenario.shuttles.fleet_scale
    total = 0.0
    for ln in scenario.shuttles.lines:
        in_periods = 0.0
        for p in ln.periods:
            n = scaled_timetable(p.headway_min, p.vehicles, scale)[1]
            total += n * (p.end - p.start) / 3600
            in_periods += p.end - p.start
        n = scaled_timetable(ln.headway_min, ln.vehicles, scale)[1]
        if n:
            total += n * max(0.0, ln.end - ln.start - in_periods) / 3600
        extra = scaled_extra(ln.extra_vehicles, scale)
        total += extra * len(waves([*ln.extra_runs, *ln.extra_runs_back]))
    return round(total, 3)


def plan_cost(objective: str, scenario: Scenario) -> float:
    return float(plan_buses(scenario)) if objective == "buses" else plan_bus_hours(scenario)

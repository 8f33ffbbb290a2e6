"""Incidents: what happens, where and when, what each type needs, and each one's timeline.

An incident is an event with a record, not an agent: a call at a node, a response plan (unit
types and counts, on-scene work time, patients and their acuity), the units assigned to it with
their stage times, and its patients. Ordinary calls are drawn by hour and place, weighted by
residents (the traffic zones' population) and by attendees at summit venues while they are
there; scripted incidents (drills) come from the scenario.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# acuity: 1 critical, 2 urgent, 3 minor. Trauma types send critical patients to trauma centres.
TRAUMA_TYPES = frozenset({"building_fire", "vehicle_fire", "traffic_collision", "hazmat",
                          "mass_casualty"})


@dataclass(frozen=True)
class ResponsePlan:
    """What a type of incident gets: units by type, the on-scene work time (lognormal: median
    minutes and sigma), patients (uniform between min and max) and their acuity shares."""

    units: dict[str, int]
    on_scene_min: float
    on_scene_sigma: float
    patients: tuple[int, int]
    acuity: tuple[float, float, float]
    priority: int  # 1 most urgent; a unit going to a lower-priority call may be diverted


# Plans after typical Korean 119 first-alarm assignments and NFPA 1710 (an initial full alarm
# for a building fire: 3 engines, a tanker, an aerial, rescue, command and an ambulance). Work
# times and patient counts are ASSUMED round figures.
PLANS: dict[str, ResponsePlan] = {
    "medical": ResponsePlan({"ambulance": 1}, 5.0, 0.3, (1, 1), (0.15, 0.45, 0.40), 2),
    "building_fire": ResponsePlan(
        {"pumper": 3, "tanker": 1, "aerial_ladder": 1, "rescue": 1, "command": 1,
         "ambulance": 1}, 60.0, 0.5, (0, 2), (0.2, 0.4, 0.4), 1),
    "vehicle_fire": ResponsePlan({"pumper": 1}, 25.0, 0.4, (0, 1), (0.1, 0.4, 0.5), 2),
    "traffic_collision": ResponsePlan({"ambulance": 1, "rescue": 1, "pumper": 1}, 30.0, 0.4,
                                      (1, 3), (0.1, 0.4, 0.5), 1),
    "hazmat": ResponsePlan({"hazmat": 1, "pumper": 2, "command": 1, "ambulance": 1}, 90.0, 0.5,
                           (0, 2), (0.2, 0.4, 0.4), 1),
    "false_alarm": ResponsePlan({"pumper": 1}, 10.0, 0.3, (0, 0), (0.0, 0.0, 1.0), 3),
    "mass_casualty": ResponsePlan({"ambulance": 6, "rescue": 2, "pumper": 2, "command": 1},
                                  60.0, 0.4, (10, 20), (0.2, 0.3, 0.5), 1),
}


@dataclass
class Patient:
    incident: Incident
    number: int
    acuity: int
    trauma: bool
    loaded_s: float | None = None
    hospital: str = ""
    admitted_s: float | None = None


@dataclass
class Assignment:
    """One unit's part in one incident: the row of incidents.csv."""

    incident: Incident
    unit: object  # a responders.Unit or a hospitals.Helicopter
    dispatch_s: float
    turnout_s: float = 0.0
    en_route_s: float | None = None
    on_scene_s: float | None = None
    transport_s: float | None = None
    hospital: str = ""
    hospital_s: float | None = None
    clear_s: float | None = None
    outcome: str = "open"  # cleared, diverted, recalled, open
    er_diverted: int = 0  # the patient was taken past a full ER (emergency.er_diversions)
    expected_s: float | None = None  # travel to the scene as the dispatcher saw it then


@dataclass
class Incident:
    id: int
    type: str
    node: str
    node_idx: int
    place: str
    call_s: float
    plan: ResponsePlan
    on_scene_s: float  # the work's duration once the first unit is there
    patients: list[Patient] = field(default_factory=list)
    name: str = ""
    scripted: bool = False
    assignments: list[Assignment] = field(default_factory=list)
    dispatch_s: float | None = None  # the call handled: units chosen
    first_arrival_s: float | None = None
    first_engine_travel_s: float | None = None
    full_alarm_s: float | None = None  # the last unit of the initial plan on scene
    work_done_s: float | None = None
    clear_s: float | None = None
    queued: int = 0  # unit requests that waited for a free unit
    waiting: list[Patient] = field(default_factory=list)  # patients not yet loaded

    @property
    def priority(self) -> int:
        return self.plan.priority

    @property
    def closed(self) -> bool:
        return self.clear_s is not None

    @property
    def status(self) -> str:
        if self.clear_s is not None:
            return "cleared"
        if self.first_arrival_s is not None:
            return "on_scene"
        return "unserved"


def plan_for(kind: str, units=None, patients=None, critical_share=None, on_scene_min=None):
    """A type's plan with a scripted incident's replacements."""
    base = PLANS[kind]
    acuity = base.acuity
    if critical_share is not None:
        rest = sum(acuity[1:]) or 1.0
        acuity = (critical_share, *(a / rest * (1 - critical_share) for a in acuity[1:]))
        if sum(acuity[1:]) == 0:
            acuity = (critical_share, 1 - critical_share, 0.0)
    return ResponsePlan(
        dict(units) if units is not None else dict(base.units),
        on_scene_min if on_scene_min is not None else base.on_scene_min,
        base.on_scene_sigma if on_scene_min is None else 0.0,
        (patients, patients) if patients is not None else base.patients,
        acuity, base.priority)


def draw_details(plan: ResponsePlan, rng: np.random.Generator) -> tuple[float, list[int]]:
    """The work time (s) and the patients' acuities of one incident."""
    minutes = plan.on_scene_min * math.exp(plan.on_scene_sigma * rng.standard_normal()) \
        if plan.on_scene_sigma > 0 else plan.on_scene_min
    lo, hi = plan.patients
    n = int(rng.integers(lo, hi + 1)) if hi > lo else lo
    p = np.asarray(plan.acuity, float)
    acuities = (rng.choice(3, size=n, p=p / p.sum()) + 1).tolist() if n else []
    return minutes * 60.0, acuities


@dataclass
class Demand:
    """Where people are: fixed residents per node, and attendees of venues by time."""

    nodes: np.ndarray  # node indices
    residents: np.ndarray  # per node
    venue_of: np.ndarray  # per node: index into venues, -1 if none
    sessions: list[list[tuple[float, float, int]]]  # per venue: (start, end, attendees)

    def attendees(self, t: float) -> np.ndarray:
        out = np.zeros(len(self.nodes))
        for i, v in enumerate(self.venue_of.tolist()):
            if v >= 0:
                out[i] = sum(n for s, e, n in self.sessions[v] if s <= t < e)
        return out

    def weights(self, t: float, attendee_weight: float) -> np.ndarray:
        return self.residents + attendee_weight * self.attendees(t)


def generate_calls(rates, demand: Demand, rng: np.random.Generator, start_s: float,
                   end_s: float) -> list[tuple[float, str, int]]:
    """Ordinary calls (time, type, node index) over [start_s, end_s): a Poisson number per hour
    from the rate and the people there at mid-hour, places by their weight, types by the mix."""
    types = list(rates.mix)
    mix = np.array([rates.mix[k] for k in types], float)
    mix /= mix.sum()
    calls = []
    per_person_hour = rates.per_1000_per_day / 1000.0
    h0 = int(start_s // 3600)
    for h in range(h0, math.ceil(end_s / 3600.0)):
        lo, hi = max(start_s, h * 3600.0), min(end_s, (h + 1) * 3600.0)
        if hi <= lo:
            continue
        w = demand.weights((lo + hi) / 2, rates.attendee_weight)
        total = w.sum()
        lam = per_person_hour * rates.hourly[h % 24] * total * (hi - lo) / 3600.0
        n = int(rng.poisson(lam)) if lam > 0 else 0
        if n == 0:
            continue
        times = np.sort(rng.uniform(lo, hi, size=n))
        where = rng.choice(len(w), size=n, p=w / total)
        kinds = rng.choice(len(types), size=n, p=mix)
        for t, i, k in zip(times.tolist(), where.tolist(), kinds.tolist(), strict=True):
            calls.append((t, types[k], int(demand.nodes[i])))
    return calls

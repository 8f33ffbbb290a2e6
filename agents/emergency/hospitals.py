"""Hospitals with emergency rooms, and helicopters for the most acute patients.

An ER has beds; walk-in patients hold a fixed share of them, and the patients the model brings
hold one each for a stay by acuity. A patient goes to the nearest hospital able to treat them
(acuity 1 trauma: a trauma centre; acuity 1: a regional emergency centre or better; else any
ER); when that ER is full the ambulance diverts to the next one by travel time, and the
diversion is counted. When every capable ER is full the nearest takes the patient over its
beds. Helicopters fly straight lines at cruise speed between helipads: from their base to the
pick-up helipad, on to the trauma centre's helipad, and back.
"""

from __future__ import annotations

import heapq

from mesa import Agent

from sim.geo import haversine_m

from .incidents import Assignment


def required_level(acuity: int, trauma: bool) -> int:
    if acuity == 1:
        return 1 if trauma else 2
    return 3


class Hospital(Agent):
    def __init__(self, model, name: str, node: str, er_beds: int, level: int,
                 baseline_share: float, stay_hours: dict[int, float]):
        super().__init__(model)
        self.name, self.node, self.level = name, node, level
        self.node_idx = model.network.node_index[node]
        self.er_beds = er_beds
        self.baseline = round(baseline_share * er_beds)
        self.stay_hours = stay_hours
        self.occupied = self.baseline
        self.peak = self.occupied
        self.admitted = 0
        self.over_capacity = 0  # admissions with every bed taken
        self.reserved = 0  # patients on their way (the ambulance calls ahead)
        self._discharges: list[float] = []

    @property
    def has_room(self) -> bool:
        return self.occupied + self.reserved < self.er_beds

    def reserve(self) -> None:
        self.reserved += 1

    def admit(self, patient, time: float, rng) -> None:
        self.reserved = max(0, self.reserved - 1)
        if self.occupied >= self.er_beds:
            self.over_capacity += 1
        self.occupied += 1
        self.peak = max(self.peak, self.occupied)
        self.admitted += 1
        patient.hospital, patient.admitted_s = self.name, time
        stay = self.stay_hours[patient.acuity] * 3600.0 * float(rng.exponential())
        out = time + max(stay, 600.0)
        heapq.heappush(self._discharges, out)
        self.model.schedule_at_or_now(self._discharge, out)

    def _discharge(self) -> None:
        """Free every bed whose stay has ended (one event per admission; each frees what is
        due by its time)."""
        while self._discharges and self._discharges[0] <= self.model.time + 1e-9:
            heapq.heappop(self._discharges)
            self.occupied -= 1


def choose_hospital(hospitals: list[Hospital], times_from_scene, acuity: int, trauma: bool
                    ) -> tuple[Hospital, bool]:
    """The hospital for a patient and whether it is a diversion (the nearest capable ER full)."""
    need = required_level(acuity, trauma)
    capable = [h for h in hospitals if h.level <= need] or list(hospitals)
    capable.sort(key=lambda h: (float(times_from_scene[h.node_idx]), h.name))
    for i, h in enumerate(capable):
        if h.has_room:
            return h, i > 0
    return capable[0], False


class Helicopter(Agent):
    """One helicopter: missions one at a time, in request order."""

    def __init__(self, model, name: str, base, cruise_kmh: float, ready_s: float):
        super().__init__(model)
        self.name, self.base = name, base  # base: a network Place (helipad)
        self.unit_type = "helicopter"
        self.station_name = base.name
        self.cruise_ms = cruise_kmh / 3.6
        self.ready_s = ready_s
        self.status = "available"
        self.missions: list[tuple] = []  # (patient, pickup place, assignment)
        self.flights = 0
        self._mission = None
        self._at = base
        self._dest = None  # the hospital of the mission under way

    def flight_s(self, a, b) -> float:
        return haversine_m(a.lat, a.lon, b.lat, b.lon) / self.cruise_ms

    def request(self, patient, pickup, time: float) -> None:
        rec = Assignment(patient.incident, self, dispatch_s=time)
        patient.incident.assignments.append(rec)
        self.missions.append((patient, pickup, rec))
        if self.status == "available":
            self._next(time)

    def _next(self, time: float) -> None:
        if not self.missions:
            self.status = "available"
            return
        patient, pickup, rec = self.missions.pop(0)
        self._mission = (patient, pickup, rec)
        self.status = "en_route"
        rec.turnout_s = self.ready_s
        rec.en_route_s = time + self.ready_s
        arrive = rec.en_route_s + self.flight_s(self._at, pickup)
        self.model.schedule_at_or_now(self._at_pickup, arrive)

    def _at_pickup(self) -> None:
        _patient, pickup, rec = self._mission
        t = self.model.time
        rec.on_scene_s = t
        layer = self.model.emergency
        dest, diverted = layer.air_destination(pickup)
        layer.er_diversions += diverted
        rec.er_diverted += int(diverted)
        self._dest = dest
        self.status = "transporting"
        rec.transport_s = t + 300.0  # loading at the helipad
        rec.hospital = dest.name
        self._at = pickup
        self.model.schedule_event(self._at_hospital,
                                  at=rec.transport_s + self.flight_s(pickup, dest.helipad))

    def _at_hospital(self) -> None:
        patient, _pickup, rec = self._mission
        t = self.model.time
        rec.hospital_s = t
        self._dest.admit(patient, t, self.model.emergency.rng)
        self.flights += 1
        self.status = "returning"
        rec.clear_s = t + 600.0
        rec.outcome = "cleared"
        self._at = self._dest.helipad
        back = rec.clear_s + self.flight_s(self._dest.helipad, self.base)
        self.model.schedule_event(self._back, at=back)

    def _back(self) -> None:
        self._at = self.base
        self._mission = None
        self._next(self.model.time)

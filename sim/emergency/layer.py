"""The emergency layer of a run: stations and units, hospitals and helicopters, the incidents of
the day, the dispatcher, and coverage over time.

Dispatch: a call is handled for `call_handling_s`, then each unit its plan needs is chosen by
travel time on the network as it is now (free flow under the weather, junction delays and the
share of standing queues an emergency vehicle does not skip), by the scenario's policy:
nearest, staging_first (a staging post's unit when it can make the target) or keep_coverage
(spare the last unit of a post when another is nearly as close). A mutual-aid post's units go
only when no local unit gets there within `mutual_aid_threshold_s`. A unit on its way to a less
urgent call is diverted when it gets there `diversion_gain_s` sooner. With no unit free the
request waits in a queue (counted) and goes to the first unit of its type that frees.

Coverage: every `coverage_interval_min`, per unit type, the share of demand (residents, and
attendees at summit venues while there) that a free unit could reach within the target of the
call (handling and turnout included): one multi-source Dijkstra sweep per type.

Residents (`resident_weights`): each traffic zone's population is spread over every road node of
the zone (its listed nodes and every node within its radius; nodes reached only by expressways
and ramps excluded), in proportion to the road length around each node (half of each road
segment that ends there, expressways and ramps left out): a proxy for where houses front the
road. No share goes to a node where units stand (a station, staging or reinforcement post, a
hospital, a helipad) unless it is the zone's only node. These nodes are emergency nodes: the
traffic engine keeps them.
"""

from __future__ import annotations

import heapq
import itertools

import numpy as np
from mesa.time import Schedule

from agents.emergency.hospitals import Helicopter, Hospital, choose_hospital
from agents.emergency.incidents import (
    TRAUMA_TYPES,
    Demand,
    Incident,
    Patient,
    draw_details,
    generate_calls,
    plan_for,
)
from agents.emergency.responders import STATUSES, Station, Unit

from ..errors import InputError
from ..routing import Router
from .places import (
    Helipad,
    emergency_nodes,
    resident_weights,
    resolve_place,
    standing_nodes,
    station_specs,
)
from .spec import HelicopterSpec, HospitalSpec

REFRESH_S = 30.0  # travel times are re-read from the engine at most this often




class EmergencyLayer:
    """119 calls, fire, EMS and police units, hospitals and evacuations (a layer of the model,
    sim/layers.py)."""

    name = "emergency"

    @classmethod
    def applies(cls, scenario) -> bool:
        return scenario.emergency.enabled

    @classmethod
    def kept_nodes(cls, net, scenario) -> set[str]:
        return emergency_nodes(net, scenario)

    def start(self) -> None:
        """Its calls and units are scheduled as it is built."""

    def metrics(self) -> dict[str, dict]:
        from .metrics import emergency_metrics

        return {"emergency": emergency_metrics(self)}

    def write_outputs(self, folder, metrics: dict, painter) -> None:
        """incidents.csv, units.csv, coverage.csv, coverage_gaps.csv and the coverage chart."""
        from ..tables import write_csv
        from .metrics import (
            INCIDENT_COLUMNS,
            UNIT_COLUMNS,
            incident_rows,
            unit_rows,
            write_coverage,
        )

        write_csv(folder / "incidents.csv", INCIDENT_COLUMNS, incident_rows(self))
        write_csv(folder / "units.csv", UNIT_COLUMNS, unit_rows(self))
        write_coverage(self, folder, painter)

    def __init__(self, model, scenario):
        self.model = model
        spec = self.spec = scenario.emergency
        net = self.net = model.network
        self.rng = np.random.default_rng(np.random.SeedSequence([model.seed_used, 119]))
        self.start_s, self.end_s = scenario.start, scenario.end
        stations, data = station_specs(scenario)
        default_crew = data.get("default_crew", {})
        # stations, staging posts, reinforcements, and their units
        self.stations: list[Station] = []
        self.units: list[Unit] = []
        posts = [(s.name, s.kind, s.place, s.units, s.crew, (None, None), "",
                  f"emergency.stations[{i}] ({s.name}).place") for i, s in enumerate(stations)]
        posts += [(s.name, "staging", s.place, s.units, {}, (s.start, s.end), "",
                   f"emergency.staging[{i}].place") for i, s in enumerate(spec.staging)]
        posts += [(s.name, "reinforcement", s.place, s.units, {}, (s.arrive, s.leave), s.origin,
                   f"emergency.reinforcements[{i}].place")
                  for i, s in enumerate(spec.reinforcements)]
        for name, kind, place, units, crew, window, origin, where in posts:
            node, _ = resolve_place(net, place, where)
            st = Station(model, name, kind, node, window, origin)
            self.stations.append(st)
            for utype, n in units.items():
                for k in range(n):
                    u = Unit(model, st, utype, k + 1,
                             crew.get(utype, default_crew.get(utype, 2)))
                    st.units.append(u)
                    self.units.append(u)
        self.units_by_type: dict[str, list[Unit]] = {}
        for u in self.units:
            self.units_by_type.setdefault(u.unit_type, []).append(u)
        # hospitals, helipads, helicopters
        hspecs = spec.hospitals if spec.hospitals is not None else [
            HospitalSpec(**h) for h in data.get("hospitals", [])]
        self.hospitals: list[Hospital] = []
        for i, h in enumerate(hspecs):
            node, place = resolve_place(net, h.place, f"emergency.hospitals[{i}].place")
            self.hospitals.append(Hospital(model, place.name if place else h.place, node,
                                           h.er_beds, h.level, spec.er_baseline_occupancy,
                                           spec.er_stay_hours))
        self.helipads = [Helipad(p.name, p.node, net.node_index[p.node], p.lat, p.lon)
                         for p in net.places_of_kind("helipad")]
        for h in self.hospitals:
            h.helipad = next((p for p in self.helipads if p.node == h.node), None)
        hospital_nodes = {h.node for h in self.hospitals}
        self.field_helipads = [p for p in self.helipads if p.node not in hospital_nodes]
        cspecs = spec.helicopters if spec.helicopters is not None else [
            HelicopterSpec(**c) for c in data.get("helicopters", [])]
        by_name = {p.name.casefold(): p for p in self.helipads}
        self.helicopters: list[Helicopter] = []
        for i, c in enumerate(cspecs):
            base = by_name.get(c.base.casefold())
            if base is None:
                raise InputError(f"emergency.helicopters[{i}].base = {c.base!r}: not a helipad; "
                                 f"helipads: {', '.join(p.name for p in self.helipads)}")
            self.helicopters.append(Helicopter(model, c.name, base, c.cruise_kmh,
                                               c.ready_min * 60.0))
        # demand, incidents
        self.demand = self._demand(scenario, standing_nodes(net, scenario, (stations, data)))
        self.incidents: list[Incident] = []
        self._build_incidents(scenario)
        self._next_call = 0
        for inc in self.incidents:
            model.schedule_event(self._dispatch_next, at=inc.call_s + spec.call_handling_s)
        # state
        self.queue: list[tuple] = []  # (priority, call time, seq, incident, unit type)
        self._seq = itertools.count().__next__
        self.queued_requests = 0
        self.diversions = 0
        self.mutual_aid = 0
        self.er_diversions = 0
        self.air_transfers = 0
        # work on scene ending, in (time, incident) order: its own heap, not the kernel's
        # batches, so that work ending together (within 1e-9 s) finishes in incident order
        self._work: list[tuple[float, int, Incident]] = []
        self._w_t = -np.inf
        self._sweeps: dict[tuple[int, bool], np.ndarray] = {}
        self.coverage: list[tuple[float, dict[str, float]]] = []
        self.gap_episodes: list[dict] = []
        first = max(self.start_s, model.time)
        model.schedule_recurring(self._coverage_sample, Schedule(
            interval=spec.coverage_interval_min * 60.0, start=first, end=self.end_s))
        from agents.emergency.evacuation import Evacuation

        self.evacuations = [Evacuation(self, s, i) for i, s in enumerate(spec.evacuations)]

    # ---- building ---------------------------------------------------------------------------
    def _demand(self, scenario, standing: set[str]) -> Demand:
        net = self.net
        weight = resident_weights(net, scenario, standing)
        venues: list[list[tuple[float, float, int]]] = []
        venue_at: dict[int, int] = {}
        summit = self.model.summit
        if summit is not None:
            counts: dict[tuple, int] = {}
            for d in summit.delegates:
                for s in d.agenda:
                    key = (s.venue, s.start, s.end)
                    counts[key] = counts.get(key, 0) + 1
            for name, node in summit.venue_nodes.items():
                v = net.node_index[node]
                venue_at[v] = len(venues)
                venues.append(sorted((s, e, n) for (vn, s, e), n in counts.items()
                                     if vn == name))
                weight.setdefault(v, 0.0)
        if not weight:  # no zones and no venues: every place counts alike
            for p in net.places:
                weight[net.node_index[p.node]] = 1.0
        nodes = np.array(sorted(weight), dtype=np.int64)
        return Demand(nodes, np.array([weight[v] for v in nodes.tolist()]),
                      np.array([venue_at.get(v, -1) for v in nodes.tolist()], dtype=np.int64),
                      venues)

    def _build_incidents(self, scenario) -> None:
        spec, net = self.spec, self.net
        self.scripted_outside: list[str] = []
        calls = [(t, kind, v, None) for t, kind, v in generate_calls(
            spec.rates, self.demand, self.rng, self.start_s, self.end_s)]
        for i, s in enumerate(spec.scripted):
            node, _ = resolve_place(net, s.place, f"emergency.scripted[{i}].place")
            if not self.start_s <= s.at < self.end_s:  # a run window that leaves it out
                self.scripted_outside.append(s.name or f"emergency.scripted[{i}]")
                continue
            calls.append((s.at, s.type, net.node_index[node], s))
        calls.sort(key=lambda c: (c[0], c[3] is None))
        places = {net.node_index[p.node]: p.name for p in net.places}
        for t, kind, v, s in calls:
            if s is None:
                plan = plan_for(kind)
            else:
                plan = plan_for(kind, s.units, s.patients, s.critical_share, s.on_scene_min)
            work_s, acuities = draw_details(plan, self.rng)
            inc = Incident(len(self.incidents) + 1, kind, net.nodes[v].id, v,
                           s.place if s is not None else places.get(v, ""), t, plan, work_s,
                           name=s.name if s is not None else "", scripted=s is not None)
            trauma = kind in TRAUMA_TYPES
            inc.patients = [Patient(inc, k + 1, a, trauma) for k, a in enumerate(acuities)]
            inc.waiting = sorted(inc.patients, key=lambda p: (p.acuity, p.number))
            self.incidents.append(inc)

    # ---- travel times ---------------------------------------------------------------------
    def _refresh(self) -> None:
        t = self.model.time
        if t - self._w_t < REFRESH_S and self._w_t > -np.inf:
            return
        # per network link, as a unit under lights and sirens expects them now
        self.link_times = self.model.engine.links.expected_network_times(
            "emergency", skipping_queues=True)
        self._router = Router(self.net, self.link_times)
        self._w_t = t
        self._sweeps.clear()

    def times_to(self, node_idx: int) -> np.ndarray:
        """Seconds from every node to node_idx, on the network as it is now."""
        self._refresh()
        key = (node_idx, True)
        if key not in self._sweeps:
            self._sweeps[key] = self._router.times_to(node_idx)[0]
        return self._sweeps[key]

    def times_from(self, node_idx: int) -> np.ndarray:
        self._refresh()
        key = (node_idx, False)
        if key not in self._sweeps:
            self._sweeps[key] = self._router.times_from(node_idx)[0]
        return self._sweeps[key]

    # ---- dispatch ---------------------------------------------------------------------------
    def _dispatch_next(self) -> None:
        inc = self.incidents[self._next_call]
        self._next_call += 1
        t = self.model.time
        inc.dispatch_s = t
        needs = dict(inc.plan.units)
        if inc.patients and not needs.get("ambulance"):
            needs["ambulance"] = 1
        inc.alarm_needed = sum(needs.values())
        inc.alarm_arrived = 0
        inc.alarm_travel = 0.0
        for utype in sorted(needs, key=lambda k: (k != "pumper", k)):
            for _ in range(needs[utype]):
                self.request(inc, utype, t)

    def request(self, inc: Incident, utype: str, t: float) -> None:
        unit, divert = self._choose(inc, utype, t)
        if unit is None:
            heapq.heappush(self.queue, (inc.priority, inc.call_s, self._seq(), inc, utype))
            inc.queued += 1
            self.queued_requests += 1
            return
        if unit.mutual_aid:
            self.mutual_aid += 1
        if divert:
            old = unit.incident
            self._expect(unit.divert(inc, t), unit, inc)
            self.diversions += 1
            if not old.closed:
                self.request(old, utype, t)
        else:
            self._expect(unit.dispatch(inc, t), unit, inc)

    def _expect(self, rec, unit: Unit, inc: Incident) -> None:
        """Record the travel time the dispatcher expected (the network as it is now)."""
        rec.expected_s = float(self.times_to(inc.node_idx)[unit.node_idx])

    def _choose(self, inc: Incident, utype: str, t: float) -> tuple[Unit | None, bool]:
        pool = self.units_by_type.get(utype, [])
        if not pool:
            return None, False
        times = self.times_to(inc.node_idx)
        local, aid, moving = [], [], []
        for u in pool:
            tt = float(times[u.node_idx])
            if not np.isfinite(tt):
                continue
            if u.dispatchable:
                est = tt + (u.turnout_s if u.status == "available" else 0.0)
                (aid if u.mutual_aid else local).append((est, u.unique_id, u))
            elif (u.status in ("dispatched", "en_route") and u.leg == "scene"
                  and u.incident is not None and u.incident.priority > inc.priority):
                wait = max(0.0, (u.assignment.en_route_s or t) - t)
                moving.append((tt + wait, u.unique_id, u))
        best = self._by_policy(local)
        if aid and (best is None or best[0] > self.spec.mutual_aid_threshold_s):
            best_aid = min(aid)
            if best is None or best_aid[0] < best[0]:
                best = best_aid
        if moving:
            cand = min(moving)
            if best is None or cand[0] + self.spec.diversion_gain_s < best[0]:
                return cand[2], True
        return (None, False) if best is None else (best[2], False)

    def _by_policy(self, cands: list[tuple]) -> tuple | None:
        if not cands:
            return None
        policy = self.spec.dispatch_policy
        best = min(cands)
        if policy == "staging_first":
            budget = self.spec.coverage_target_min * 60.0 - self.spec.call_handling_s
            staged = [c for c in cands if c[2].staging and c[0] <= budget]
            return min(staged) if staged else best
        if policy == "keep_coverage":
            slack = self.spec.keep_coverage_slack_s
            near = [c for c in cands if c[0] <= best[0] + slack]

            def score(c):
                u = c[2]
                spare = sum(1 for x in u.station.units
                            if x.unit_type == u.unit_type and x.dispatchable and x is not u)
                return (c[0] + (0.0 if spare else slack), c[1])

            chosen = min(near, key=score)
            return chosen
        return best

    def unit_free(self, unit: Unit, t: float) -> None:
        """A unit can take a call again: the most urgent waiting request of its type, if any."""
        if not unit.dispatchable or not self.queue:
            return
        keep, found = [], None
        while self.queue:
            item = heapq.heappop(self.queue)
            _, _, _, inc, utype = item
            if not self._still_needed(inc, utype):
                continue
            if utype == unit.unit_type:
                found = item
                break
            keep.append(item)
        for item in keep:
            heapq.heappush(self.queue, item)
        if found is not None:
            inc = found[3]
            if unit.mutual_aid:
                self.mutual_aid += 1
            self._expect(unit.dispatch(inc, t), unit, inc)

    @staticmethod
    def _still_needed(inc: Incident, utype: str) -> bool:
        if inc.closed:
            return False
        if inc.work_done_s is not None:
            return utype == "ambulance" and bool(inc.waiting)
        return True

    # ---- on scene ---------------------------------------------------------------------------
    def unit_on_scene(self, unit: Unit, inc: Incident, t: float) -> None:
        rec = unit.assignment
        travel = t - (rec.en_route_s if rec.en_route_s is not None else t)
        if inc.first_arrival_s is None:
            inc.first_arrival_s = t
            heapq.heappush(self._work, (t + inc.on_scene_s, inc.id, inc))
            self.model.schedule_at_or_now(self._work_due, t + inc.on_scene_s)
        if unit.unit_type == "pumper" and inc.first_engine_travel_s is None:
            inc.first_engine_travel_s = travel
        inc.alarm_arrived += 1
        inc.alarm_travel = max(inc.alarm_travel, travel)
        if inc.alarm_arrived == inc.alarm_needed and inc.full_alarm_s is None:
            inc.full_alarm_s = inc.alarm_travel
        if unit.unit_type == "ambulance" and inc.waiting:
            unit.treat(inc.waiting.pop(0), t)
        elif inc.work_done_s is not None:
            unit.leave_scene(t)

    def _work_due(self) -> None:
        t = self.model.time
        while self._work and self._work[0][0] <= t + 1e-9:
            _, _, inc = heapq.heappop(self._work)
            inc.work_done_s = t
            for rec in list(inc.assignments):
                u = rec.unit
                if not isinstance(u, Unit) or u.assignment is not rec:
                    continue
                if u.status == "on_scene" and u.patient is None:
                    u.leave_scene(t)
                elif u.status in ("dispatched", "en_route") and (
                        u.unit_type != "ambulance" or not inc.waiting):
                    u.recall(t)
            self._check_close(inc, t)

    def unit_left(self, unit: Unit, inc: Incident, t: float) -> None:
        self._check_close(inc, t)

    def patient_loaded(self, unit: Unit, inc: Incident, t: float) -> None:
        if inc.waiting:
            coming = sum(1 for rec in inc.assignments
                         if isinstance(rec.unit, Unit) and rec.unit.assignment is rec
                         and rec.unit.unit_type == "ambulance"
                         and rec.unit.status in ("dispatched", "en_route", "on_scene")
                         and rec.unit.patient is None)
            queued = sum(1 for q in self.queue if q[3] is inc and q[4] == "ambulance")
            for _ in range(len(inc.waiting) - coming - queued):
                self.request(inc, "ambulance", t)
        self._check_close(inc, t)

    def _check_close(self, inc: Incident, t: float) -> None:
        if inc.closed or inc.work_done_s is None or inc.waiting:
            return
        for rec in inc.assignments:
            u = rec.unit
            if isinstance(u, Unit) and u.assignment is rec and u.status == "on_scene":
                return
        inc.clear_s = t
        for rec in list(inc.assignments):
            u = rec.unit
            if isinstance(u, Unit) and u.assignment is rec and u.status in ("dispatched",
                                                                          "en_route"):
                u.recall(t)

    # ---- hospitals and helicopters --------------------------------------------------------
    def destination_for(self, unit: Unit, patient: Patient, t: float):
        """Where an ambulance takes a patient: a hospital by acuity and ER room, or for the most
        acute trauma patients far from a trauma centre, the nearest helipad to meet a
        helicopter."""
        inc = patient.incident
        times = self.times_from(inc.node_idx)
        if patient.acuity == 1 and patient.trauma and self.helicopters and self.field_helipads:
            trauma = [h for h in self.hospitals if h.level == 1 and h.helipad is not None]
            road = min((float(times[h.node_idx]) for h in trauma), default=np.inf)
            if trauma and road > self.spec.heli_min_road_min * 60.0:
                pad = min(self.field_helipads, key=lambda p: (float(times[p.node_idx]), p.name))
                return pad, f"helipad: {pad.name}"
        hosp, diverted = choose_hospital(self.hospitals, times, patient.acuity, patient.trauma)
        self.er_diversions += int(diverted)
        hosp.reserve()
        return hosp, hosp.name

    def handover(self, unit: Unit, t: float) -> None:
        dest, patient = unit.destination, unit.patient
        if isinstance(dest, Hospital):
            dest.admit(patient, t, self.rng)
            return
        # at a helipad: the helicopter that can be there first
        self.air_transfers += 1

        def eta(h):
            busy = 0 if h.status == "available" else 1 + len(h.missions)
            return (busy, h.ready_s + h.flight_s(h._at, dest), h.unique_id)

        min(self.helicopters, key=eta).request(patient, dest, t)

    def air_destination(self, pickup) -> tuple[Hospital, bool]:
        from sim.geo import haversine_m

        pads = [h for h in self.hospitals if h.level == 1 and h.helipad is not None]
        pads.sort(key=lambda h: (haversine_m(pickup.lat, pickup.lon, h.helipad.lat,
                                             h.helipad.lon), h.name))
        for i, h in enumerate(pads):
            if h.has_room:
                h.reserve()
                return h, i > 0
        pads[0].reserve()
        return pads[0], False

    # ---- coverage ---------------------------------------------------------------------------
    def _coverage_sample(self) -> None:
        t = self.model.time
        if t > self.end_s:
            return
        self._refresh()
        spec = self.spec
        w = self.demand.weights(t, spec.rates.attendee_weight)
        total = w.sum()
        shares = {}
        for utype in spec.coverage_types:
            sources = sorted({u.node_idx for u in self.units_by_type.get(utype, [])
                              if u.dispatchable and not u.mutual_aid})
            if not sources or total <= 0:
                shares[utype] = 0.0
                continue
            turnout = spec.turnout_ems_s if utype == "ambulance" else spec.turnout_fire_s
            budget = spec.coverage_target_min * 60.0 - spec.call_handling_s - turnout
            dist = self._router.times_from_nearest(sources)
            shares[utype] = float(w[dist[self.demand.nodes] <= budget].sum() / total)
        self.coverage.append((t, shares))

    def coverage_episodes(self) -> list[dict]:
        """Spells when a type's coverage stayed below the target share."""
        target, step = self.spec.coverage_target_share, self.spec.coverage_interval_min * 60.0
        out = []
        for utype in self.spec.coverage_types:
            cur = None
            for t, shares in self.coverage:
                s = shares[utype]
                if s < target:
                    # a sample stands until the next one, or the end of the run
                    until = min(t + step, self.end_s)
                    if cur is None:
                        cur = {"type": utype, "start_s": t, "end_s": until, "min_share": s}
                    else:
                        cur["end_s"] = until
                        cur["min_share"] = min(cur["min_share"], s)
                elif cur is not None:
                    out.append(cur)
                    cur = None
            if cur is not None:
                out.append(cur)
        return sorted(out, key=lambda e: (e["start_s"], e["type"]))

    # ---- accounting -------------------------------------------------------------------------
    def status_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for u in self.units:
            counts[u.status] += 1
        return counts

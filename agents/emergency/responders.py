"""Responders: stations (fire station, 119 safety centres, local units, staging posts,
reinforcements, mutual-aid posts) and their units.

A unit is in exactly one status at any time (STATUSES). Its trips are engine vehicles of the
emergency class (priority through queues, closures do not hold it): station to scene, scene to
hospital (ambulances), and back home. A unit returning home can take a new call on the way (its
vehicle is redirected), and a unit on its way to a call can be diverted to a more urgent one or
recalled when the call is over. Each stage is a handful of Mesa events per call, never per tick.
"""

from __future__ import annotations

from mesa import Agent

from .incidents import Assignment

STATUSES = ("off_duty", "available", "dispatched", "en_route", "on_scene", "transporting",
            "at_hospital", "returning")
BUSY = frozenset({"dispatched", "en_route", "on_scene", "transporting", "at_hospital"})


class Station(Agent):
    """Where units are based: a place or node of the network."""

    def __init__(self, model, name: str, kind: str, node: str, window=(None, None),
                 origin: str = ""):
        super().__init__(model)
        self.name, self.kind, self.node = name, kind, node
        self.node_idx = model.network.node_index[node]
        self.window = window  # (start, end) of service; None: all day
        self.origin = origin
        self.units: list[Unit] = []


class Unit(Agent):
    def __init__(self, model, station: Station, unit_type: str, number: int, crew: int):
        super().__init__(model)
        self.station = station
        self.unit_type = unit_type
        self.name = f"{station.name} {unit_type.replace('_', ' ')} {number}"
        self.station_name = station.name
        self.crew = crew
        self.home, self.home_idx = station.node, station.node_idx
        self.node, self.node_idx = self.home, self.home_idx  # the last node it passed
        self.mutual_aid = station.kind == "mutual_aid"
        self.staging = station.kind in ("staging", "reinforcement")
        start, end = station.window
        self.status = "available" if start is None or start <= model.time else "off_duty"
        self._since = model.time
        self.busy_s = 0.0
        self.service_s = 0.0
        self.vehicle: int | None = None
        # a leg to the node it stands at needs no vehicle: it ends by this event at that time
        self._here_event = None
        self._here_t = 0.0
        self.leg = ""  # scene, hospital, home
        self.assignment: Assignment | None = None
        self.incident = None
        self.patient = None
        self.destination = None  # hospital (or helipad) on a transport
        self.stand_down = False
        self._event = None
        if start is not None and start > model.time:
            model.schedule_event(self._on_duty, at=start)
        if end is not None and end < model.spec.end:
            model.schedule_at_or_now(self._off_duty, end)

    # ---- status -------------------------------------------------------------------------------
    def set_status(self, status: str, t: float) -> None:
        t = max(t, self._since)
        dt = t - self._since
        if self.status != "off_duty":
            self.service_s += dt
        if self.status in BUSY:
            self.busy_s += dt
        self.status, self._since = status, t

    @property
    def dispatchable(self) -> bool:
        return self.status in ("available", "returning") and not self.stand_down

    @property
    def turnout_s(self) -> float:
        spec = self.model.emergency.spec
        return spec.turnout_ems_s if self.unit_type == "ambulance" else spec.turnout_fire_s

    def _cancel_event(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None

    def _schedule(self, method, at: float) -> None:
        self._cancel_event()
        self._event = self.model.schedule_at_or_now(method, at)

    def _on_duty(self) -> None:
        if self.status == "off_duty":
            self.set_status("available", self.model.time)
            self.model.emergency.unit_free(self, self.model.time)

    def _off_duty(self) -> None:
        self.stand_down = True
        if self.status == "available":
            self.set_status("off_duty", self.model.time)

    # ---- driving ------------------------------------------------------------------------------
    def _drive(self, t: float, dest_idx: int, leg: str, label: str) -> None:
        engine = self.model.engine
        self.leg = leg
        self._cancel_here()
        if dest_idx == self.node_idx:  # there already: no vehicle trip
            self.vehicle = None
            self._here_event = self.model.schedule_at_or_now(self._there_already, t)
            self._here_t = self._here_event.time
            return
        self.vehicle = engine.add_vehicle(t, self.node_idx, dest_idx, kind="emergency",
                                          listener=self, label=(self.name, label))

    def _redirect(self, dest_idx: int, leg: str) -> None:
        if self._here_event is not None:  # not set off: from where it stands, when it would
            self._drive(self._here_t, dest_idx, leg, self.model.network.nodes[dest_idx].id)
            return
        if dest_idx == self.node_idx:  # back to where it stands before it set off: no trip
            when = self.model.engine.withdraw(self.vehicle)
            if when is not None:
                self._drive(when, dest_idx, leg, "")
                return
        self.leg = leg
        self.model.engine.redirect(self.vehicle, dest_idx)

    def _cancel_here(self) -> None:
        if self._here_event is not None:
            self._here_event.cancel()
            self._here_event = None

    def _there_already(self) -> None:
        self._here_event = None
        self._reached(self.model.time)

    def on_node(self, vehicle: int, node: str, time: float) -> None:
        if vehicle == self.vehicle:
            self.node, self.node_idx = node, self.model.network.node_index[node]

    def on_arrive(self, vehicle: int, time: float) -> None:
        if vehicle != self.vehicle:
            return
        self.vehicle = None
        self._reached(time)

    def _reached(self, time: float) -> None:
        net = self.model.network
        if self.leg == "scene":
            inc = self.incident
            self.node, self.node_idx = inc.node, inc.node_idx
            self._cancel_event()
            if self.assignment.en_route_s is None or self.assignment.en_route_s > time:
                self.assignment.en_route_s = time
            self.assignment.on_scene_s = time
            self.set_status("on_scene", time)
            self.model.emergency.unit_on_scene(self, inc, time)
        elif self.leg == "hospital":
            dest = self.destination
            self.node, self.node_idx = dest.node, dest.node_idx
            self.assignment.hospital_s = time
            self.set_status("at_hospital", time)
            self.model.emergency.handover(self, time)
            self._schedule(self._handover_done,
                           time + self.model.emergency.spec.handover_min * 60.0)
        else:  # home
            self.node, self.node_idx = self.home, net.node_index[self.home]
            self.set_status("off_duty" if self.stand_down else "available", time)

    # ---- a call ---------------------------------------------------------------------------
    def dispatch(self, incident, t: float) -> Assignment:
        """Sent to `incident` at time t: from home after turnout, or at once from the road."""
        rec = Assignment(incident, self, dispatch_s=t)
        incident.assignments.append(rec)
        self.assignment, self.incident = rec, incident
        label = incident.place or incident.node
        if self.status == "returning" and (self.vehicle is not None
                                           or self._here_event is not None):
            rec.en_route_s = t
            self._redirect(incident.node_idx, "scene")
            self.set_status("en_route", t)
        else:
            rec.turnout_s = self.turnout_s
            sigma = self.model.emergency.spec.turnout_sigma
            if sigma > 0:  # crews vary around the median turnout
                rec.turnout_s *= float(self.model.emergency.rng.lognormal(0.0, sigma))
            rec.en_route_s = t + rec.turnout_s
            self.set_status("dispatched", t)
            self._drive(rec.en_route_s, incident.node_idx, "scene", label)
            self._schedule(self._set_off, rec.en_route_s)
        return rec

    def _set_off(self) -> None:
        self._event = None
        if self.status == "dispatched":
            self.set_status("en_route", self.model.time)

    def divert(self, incident, t: float) -> Assignment:
        """On its way to a less urgent call: turn to `incident` now."""
        old = self.assignment
        old.clear_s, old.outcome = t, "diverted"
        rec = Assignment(incident, self, dispatch_s=t, turnout_s=old.turnout_s,
                         en_route_s=max(t, old.en_route_s or t))
        incident.assignments.append(rec)
        self.assignment, self.incident = rec, incident
        self._redirect(incident.node_idx, "scene")
        return rec

    def recall(self, t: float) -> None:
        """The call is over before this unit got there: back home."""
        rec = self.assignment
        rec.clear_s, rec.outcome = t, "recalled"
        self._cancel_event()
        self.assignment = self.incident = None
        self._redirect(self.home_idx, "home")
        self.set_status("returning", t)
        self.model.emergency.unit_free(self, t)

    def leave_scene(self, t: float) -> None:
        """Work done (or nothing to carry): back home, free for calls on the way."""
        rec = self.assignment
        rec.clear_s, rec.outcome = t, "cleared"
        self._cancel_event()
        inc = self.incident
        self.assignment = self.incident = None
        self.set_status("returning", t)
        self._drive(t, self.home_idx, "home", self.home)
        if inc is not None:
            self.model.emergency.unit_left(self, inc, t)
        self.model.emergency.unit_free(self, t)

    # ---- ambulances -----------------------------------------------------------------------
    def treat(self, patient, t: float) -> None:
        self.patient = patient
        spec = self.model.emergency.spec
        minutes = spec.ems_on_scene_min * float(
            self.model.emergency.rng.lognormal(0.0, 0.3))
        self._schedule(self._load, t + minutes * 60.0)

    def _load(self) -> None:
        self._event = None
        t = self.model.time
        layer = self.model.emergency
        diversions = layer.er_diversions
        dest, label = layer.destination_for(self, self.patient, t)
        self.destination = dest
        rec = self.assignment
        rec.er_diverted += layer.er_diversions - diversions
        rec.transport_s, rec.hospital = t, label
        self.patient.loaded_s = t
        self.set_status("transporting", t)
        self._drive(t, dest.node_idx, "hospital", label)
        layer.patient_loaded(self, self.incident, t)

    def _handover_done(self) -> None:
        self._event = None
        t = self.model.time
        rec = self.assignment
        rec.clear_s, rec.outcome = t, "cleared"
        self.assignment = self.incident = self.patient = None
        self.set_status("returning", t)
        self._drive(t, self.home_idx, "home", self.home)
        self.model.emergency.unit_free(self, t)

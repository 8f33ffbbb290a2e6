"""Delegates: each follows an agenda of sessions, going from hotel to venue and back on foot,
by shuttle or by car, and passes security screening before each session.

A trip is a handful of Mesa events (leave, reach the stop, reach the venue, enter, leave the
session); the ride itself is the shuttle's or the engine's. Every delegate is in exactly one
state at any time (STATES), so the totals always add up.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesa import Agent

STATES = ("at_hotel", "walking", "waiting", "riding", "driving", "screening", "in_session",
          "at_venue", "back")


@dataclass
class Leg:
    """How to get from one node to another: on foot, on a shuttle line, or by car."""

    mode: str  # "walk", "shuttle", "car", "motorcade"
    walk_to_s: float = 0.0  # walking before (to the stop)
    walk_from_s: float = 0.0  # walking after (from the stop)
    line: object = None
    board: str | None = None  # stop node ids
    alight: str | None = None
    estimate_s: float = 0.0  # expected door-to-door time, used to choose when to leave


@dataclass
class SessionRecord:
    session: str
    venue: str
    start_s: float
    left_s: float | None = None
    wait_s: float = 0.0  # at the stop
    denied: int = 0
    mode: str = ""
    reached_s: float | None = None  # at the venue's entrance
    cleared_s: float | None = None  # through screening

    @property
    def late_min(self) -> float:
        if self.cleared_s is None:
            return float("inf")
        return max(0.0, self.cleared_s - self.start_s) / 60.0


class Delegate(Agent):
    """One summit guest (see agents.hotels.Guest) with a hotel and an agenda."""

    def __init__(self, model, guest, hotel: str, hotel_node: str, agenda, wheelchair: bool):
        super().__init__(model)
        self.guest = guest
        self.rider_id = self.unique_id
        self.hotel, self.hotel_node = hotel, hotel_node
        self.agenda = agenda  # sessions (SessionSpec), in time order
        self.wheelchair = wheelchair
        self.state = "at_hotel"
        self.here = hotel_node
        self.destination: str | None = None  # the stop this delegate is riding to
        self.records: list[SessionRecord] = []
        self.current: SessionRecord | None = None
        self._leg: Leg | None = None
        self._joined_s = 0.0
        self._going_home = False

    # ---- planning -----------------------------------------------------------------------
    def start(self) -> None:
        if self.agenda:
            self._plan_trip_to(0)

    def _plan_trip_to(self, i: int) -> None:
        session = self.agenda[i]
        layer = self.model.summit
        venue_node = layer.venue_nodes[session.venue]
        leg = layer.plan_leg(self.here, venue_node, self.wheelchair, self.guest.role)
        # people aim for different times: a margin of early_min plus up to early_spread_min
        margin = layer.spec.early_min + self.random.random() * layer.spec.early_spread_min
        target = session.start - margin * 60.0
        leave = max(self.model.time, target - leg.estimate_s)
        self.current = SessionRecord(session.name, session.venue, session.start)
        self.records.append(self.current)
        self._session_index = i
        self._leg = leg
        self._going_home = False
        self.model.schedule_event(self._leave, at=leave)

    def _plan_trip_home(self) -> None:
        layer = self.model.summit
        self._leg = layer.plan_leg(self.here, self.hotel_node, self.wheelchair, self.guest.role)
        self._going_home = True
        self.current = None
        self._leave()

    # ---- the trip ---------------------------------------------------------------------------
    def _leave(self) -> None:
        leg, t = self._leg, self.model.time
        if self.current is not None:
            self.current.left_s = t
            self.current.mode = leg.mode
        target = self.model.summit.venue_nodes[self.current.venue] if self.current else \
            self.hotel_node
        if leg.mode == "walk":
            self.state = "walking"
            self.model.schedule_event(self._arrive_on_foot, at=t + leg.walk_to_s)
        elif leg.mode == "motorcade":
            self.state = "driving"
            self.model.summit.motorcade(self, self.here, target, t)
        elif leg.mode == "car":
            self.state = "driving"
            net = self.model.network
            self.model.engine.add_vehicle(t, net.node_index[self.here], net.node_index[target],
                                          kind="event", listener=self,
                                          label=(self.here, target))
        else:
            self.state = "walking"
            self.model.schedule_event(self._reach_stop, at=t + leg.walk_to_s)

    def _reach_stop(self) -> None:
        self.state = "waiting"
        self._joined_s = self.model.time
        self.destination = self._leg.alight
        self._leg.line.queues[self._leg.board].join(self, self.model.time)
        self._trip_no = getattr(self, "_trip_no", 0) + 1
        self._waiting_trip = self._trip_no
        self.model.schedule_event(self._give_up,
                                  at=self.model.time + self.model.summit.spec.max_wait_min * 60)

    def _give_up(self) -> None:
        """Still at the stop after the longest wait anyone accepts: take a taxi from there."""
        if self.state != "waiting" or self._waiting_trip != self._trip_no:
            return
        queue = self._leg.line.queues[self._leg.board].waiting
        queue.remove(self)
        if self.current is not None:
            self.current.wait_s = self.model.time - self._joined_s
            self.current.mode = "shuttle>car"
        self.model.summit.gave_up += 1
        self.here = self._leg.board
        target = self.model.summit.venue_nodes[self.current.venue] if self.current else \
            self.hotel_node
        self.state = "driving"
        net = self.model.network
        self.model.engine.add_vehicle(self.model.time, net.node_index[self.here],
                                      net.node_index[target], kind="event", listener=self,
                                      label=(self.here, target))

    def on_board(self, shuttle, time: float) -> None:
        self.state = "riding"
        if self.current is not None:
            self.current.wait_s = time - self._joined_s

    def on_denied(self, shuttle, time: float) -> None:
        if self.current is not None:
            self.current.denied += 1
        self.model.summit.denied += 1

    def on_alight(self, shuttle, stop: str, time: float) -> None:
        self.state = "walking"
        self.here = stop
        self.model.schedule_event(self._arrive_on_foot,
                                  at=max(self.model.time, time + self._leg.walk_from_s))

    def on_node(self, vehicle: int, node: str, time: float) -> None:
        pass

    def on_arrive(self, vehicle: int, time: float) -> None:  # by car
        self._reach(time)

    def _arrive_on_foot(self) -> None:
        self._reach(self.model.time)

    def _reach(self, time: float) -> None:
        if self._going_home:
            self.state = "back"
            self.here = self.hotel_node
            return
        rec = self.current
        layer = self.model.summit
        self.here = layer.venue_nodes[rec.venue]
        rec.reached_s = time
        gates = layer.venues[rec.venue]
        if self.guest.role == "leader":  # leaders are screened apart, without queueing
            cleared = time
        else:
            cleared = gates.arrive((self.unique_id, self._session_index),
                                   max(time, gates.last_arrival_s))
        self.state = "screening"
        if cleared == float("inf"):  # turned away at closing: the agenda goes on without it
            self.state = "at_venue"
            self._next()
            return
        rec.cleared_s = cleared
        self.model.schedule_event(self._enter_session, at=max(self.model.time, cleared))

    def _enter_session(self) -> None:
        session = self.agenda[self._session_index]
        self.state = "in_session"
        self.model.schedule_event(self._next, at=max(self.model.time, session.end))

    def _next(self) -> None:
        self.state = "at_venue"
        if self._session_index + 1 < len(self.agenda):
            self._plan_trip_to(self._session_index + 1)
        else:
            self._plan_trip_home()


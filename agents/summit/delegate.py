"""Delegates: each follows an agenda of sessions, going from hotel to venue and back on foot,
by shuttle (changing lines where one line does not go all the way), by demand-responsive
vehicle, by car or by motorcade, and passes security screening before each session. Guests may
arrive at or leave from a hub (KTX station, airport) during the day; day visitors drive from
home to a park-and-ride car park and take its shuttle.

Every trip a person makes is a PersonTrip in `trips` (person_trips.csv); trips to sessions also
keep their SessionRecord in `records` (delegates.csv and the punctuality KPIs).

A trip is a leg of steps (walk, ride, drive, ...) and each step is one or two Mesa events; the
ride itself is the shuttle's or the engine's. Every delegate is in exactly one state at any time
(STATES), so the totals always add up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mesa import Agent

from sim.events import event_method

STATES = ("arriving", "at_hotel", "walking", "waiting", "riding", "driving", "screening",
          "in_session", "at_venue", "back", "departed")


@dataclass(frozen=True)
class Walk:
    seconds: float
    to: str  # node reached


@dataclass(frozen=True)
class Ride:
    line: object  # a ShuttleLine
    board: str  # stop node ids
    alight: str


@dataclass(frozen=True)
class Drive:
    a: str
    b: str
    park_s: float = 0.0  # parking and walking from the car at the end


@dataclass(frozen=True)
class Motorcade:
    a: str
    b: str


@dataclass(frozen=True)
class DemandRide:
    a: str  # door to door by a demand-responsive vehicle; by taxi if the request is refused
    b: str


@dataclass(frozen=True)
class Leg:
    """How to get from one node to another: a mode name, its steps and the expected time."""

    mode: str  # walk, shuttle, transfer, park_ride, drt, car, motorcade
    steps: tuple
    estimate_s: float

    @property
    def rides(self) -> int:
        return sum(isinstance(s, Ride) for s in self.steps)


@dataclass
class SessionRecord:
    session: str
    venue: str
    start_s: float
    left_s: float | None = None
    wait_s: float = 0.0  # at stops (all rides of the trip)
    denied: int = 0
    mode: str = ""
    rides: int = 0  # shuttle and van boardings on the way
    reached_s: float | None = None  # at the venue's entrance
    cleared_s: float | None = None  # through screening
    screening_wait_s: float | None = None  # in the gates' queue (None: leaders, turned away)
    left_early_s: float | None = None  # called out before the end (a venue evacuation)

    @property
    def late_min(self) -> float:
        if self.cleared_s is None:
            return float("inf")
        return max(0.0, self.cleared_s - self.start_s) / 60.0


# A trip's purpose as person_trips.csv names it, from the delegate's own (`Delegate._purpose`):
# "home" is back to the hotel for a guest and home for a day visitor (see PersonTrip.purpose_of).
PURPOSES = ("to_session", "to_hotel", "home", "to_hub", "from_hub", "evacuation")
_PURPOSE_OF = {"session": "to_session", "hotel": "from_hub", "hub": "to_hub",
               "evacuation": "evacuation"}


class _TripFacts:
    """What a trip that is not to a session records as it goes (a SessionRecord holds the same
    for a trip to a session)."""

    __slots__ = ("denied", "left_s", "mode", "rides", "wait_s")

    def __init__(self):
        self.left_s: float | None = None
        self.mode = ""
        self.wait_s = 0.0
        self.denied = 0
        self.rides = 0


def _fact(name: str) -> property:
    return property(lambda trip: getattr(trip._facts, name),
                    lambda trip, value: setattr(trip._facts, name, value))


class PersonTrip:
    """One trip of one person, from leaving (`left_s`, None until then) to the destination.
    A trip to a session keeps its facts in its SessionRecord (`session`), so the two never
    differ: it arrives when screening is cleared. `mode` is as SessionRecord.mode (shuttle>car:
    gave up waiting and took a taxi); `wait_s` at stops, `denied` (full buses that left the
    person behind) and `rides` (shuttle and van boardings) count on this trip only. A venue
    evacuation is a trip too (mode "evacuation")."""

    __slots__ = ("_arrived_s", "_facts", "destination", "origin", "purpose", "session")
    left_s = _fact("left_s")
    mode = _fact("mode")
    wait_s = _fact("wait_s")
    denied = _fact("denied")
    rides = _fact("rides")

    def __init__(self, purpose: str, origin: str, destination: str | None,
                 session: SessionRecord | None = None):
        self.purpose = purpose  # the delegate's own name (session, hotel, hub, home, evacuation)
        self.origin, self.destination = origin, destination  # node ids
        self.session = session
        self._facts = session if session is not None else _TripFacts()
        self._arrived_s: float | None = None

    def purpose_of(self, day_visitor: bool) -> str:
        """The purpose as person_trips.csv names it (one of PURPOSES)."""
        if self.purpose == "home":
            return "home" if day_visitor else "to_hotel"
        return _PURPOSE_OF[self.purpose]

    @property
    def arrived_s(self) -> float | None:
        return self.session.cleared_s if self.session is not None else self._arrived_s

    @property
    def late_min(self) -> float | None:
        """As SessionRecord.late_min (inf while not through screening); None off sessions."""
        return self.session.late_min if self.session is not None else None

    @property
    def status(self) -> str:
        """done, under_way (or not yet left: `left_s` None), or turned_away (a session trip
        that reached the venue and was refused at screening, at closing)."""
        if self.arrived_s is not None:
            return "done"
        if self.session is not None and self.session.reached_s is not None:
            return "turned_away"
        return "under_way"


@dataclass
class Travel:
    """A guest's arrival at or departure from a hub on the day."""

    hub: str  # node id
    time_s: float  # the train or flight: arrives at / leaves at
    reached_s: float | None = None  # at the hotel (arrivals), at the hub (departures)
    mode: str = ""  # of the trip between hub and hotel or venue


class Delegate(Agent):
    """One summit guest (see agents.summit.hotels.Guest) with a hotel (or a home, for day visitors)
    and an agenda."""

    def __init__(self, model, guest, hotel: str, hotel_node: str, agenda, wheelchair: bool, *,
                 arrival: Travel | None = None, departure: Travel | None = None,
                 car_parks: tuple[str, ...] = (), ride_from_car_park: bool = True,
                 day_visitor: bool = False):
        super().__init__(model)
        self.guest = guest
        self.day_visitor = day_visitor  # here for the day, from home; else a lodged guest
        self.rider_id = self.unique_id
        self.hotel, self.hotel_node = hotel, hotel_node
        self.agenda = agenda  # sessions (SessionSpec), in time order
        self.wheelchair = wheelchair
        self.arrival, self.departure = arrival, departure
        self.car_parks = car_parks  # day visitors: park-and-ride car parks they may use
        self.car_at: str | None = None  # where a day visitor's car is parked
        self.ride_from_car_park = ride_from_car_park  # or walk on when the venue is close
        self.state = "arriving" if arrival else "at_hotel"
        self.here = arrival.hub if arrival else hotel_node
        self.destination: str | None = None  # the stop this delegate is riding to
        self.records: list[SessionRecord] = []
        self.trips: list[PersonTrip] = []  # every trip, sessions or not (person_trips.csv)
        self._ptrip: PersonTrip | None = None  # the current one
        self.current: SessionRecord | None = None
        self._leg: Leg | None = None
        self._step_i = 0
        self._purpose = "session"  # of the current trip: session, hotel, hub, home
        self._to: str | None = None  # where the current trip ends
        self._walk_to: str | None = None  # where the walk under way ends
        self._drive_to: str | None = None  # where the drive under way ends
        self._park_s = 0.0  # seconds to park at the end of the drive under way
        self._ride: Ride | None = None  # the shuttle ride waited for or under way
        self._session_end = None  # the session's end (cancelled if called out early)
        self._session_index = -1
        self._joined_s = 0.0
        self.times_denied = 0  # full buses that passed this person by, on any trip of the day

    # ---- planning -----------------------------------------------------------------------
    def start(self) -> None:
        if self.arrival:
            self.model.schedule_event(self._arrive_in_city, at=self.arrival.time_s)
        else:
            self._plan_next()

    @event_method
    def _arrive_in_city(self) -> None:
        """Off the train or plane: to the hotel first (check in), then the agenda."""
        self._trip(self.hotel_node, "hotel")

    def _plan_next(self) -> None:
        """The next session on the agenda, else the departure hub, else home."""
        i = self._session_index + 1
        if i < len(self.agenda):
            self._plan_trip_to(i)
        elif self.departure:
            self._trip(self.departure.hub, "hub",
                       target_s=self.departure.time_s - self.model.summit.spec.hub_margin_min * 60)
        elif self.here != self.hotel_node:
            self._trip(self.hotel_node, "home")
        elif self.records:
            self.state = "back"  # the last session was where they stay

    def _plan_trip_to(self, i: int) -> None:
        session = self.agenda[i]
        layer = self.model.summit
        # people aim for different times: a margin of early_min plus up to early_spread_min
        margin = layer.spec.early_min + self.random.random() * layer.spec.early_spread_min
        self._session_index = i
        self.current = SessionRecord(session.name, session.venue, session.start)
        self.records.append(self.current)
        self._trip(layer.venue_nodes[session.venue], "session",
                   target_s=session.start - margin * 60.0)

    def _trip(self, to: str, purpose: str, target_s: float | None = None) -> None:
        layer = self.model.summit
        leg = layer.plan_leg(self, self.here, to,
                             self.model.time if target_s is None else target_s)
        self._leg, self._purpose, self._to = leg, purpose, to
        if purpose != "session":
            self.current = None
        self._ptrip = PersonTrip(purpose, self.here, to, self.current)
        self.trips.append(self._ptrip)
        leave = self.model.time if target_s is None else max(self.model.time,
                                                             target_s - leg.estimate_s)
        if leave > self.model.time:
            self.model.schedule_event(self._leave, at=leave)
        else:
            self._leave()

    # ---- the trip ---------------------------------------------------------------------------
    @event_method
    def _leave(self) -> None:
        ptrip = self._ptrip  # (a trip to a session: its record too)
        ptrip.left_s, ptrip.mode = self.model.time, self._leg.mode
        if self._purpose == "hub":
            self.departure.mode = self._leg.mode
        elif self._purpose == "hotel" and self.arrival and not self.arrival.mode:
            self.arrival.mode = self._leg.mode
        self._step_i = 0
        self._step(self.model.time)

    def _step(self, t: float) -> None:
        """Start the next step of the leg at time t (the current event's time or later)."""
        steps = self._leg.steps
        if self._step_i >= len(steps):
            self._reach(t)
            return
        step = steps[self._step_i]
        self._step_i += 1
        model = self.model
        if isinstance(step, Walk):
            self.state = "walking"
            self._walk_to = step.to
            model.schedule_at_or_now(self._walked, t + step.seconds)
        elif isinstance(step, Ride):
            self._reach_stop(step, t)
        elif isinstance(step, Drive):
            self._drive(step.a, step.b, t, step.park_s)
        elif isinstance(step, Motorcade):
            self.state = "driving"
            self._park_s, self._drive_to = 0.0, step.b
            model.summit.motorcade(self, step.a, step.b, t)
        else:  # DemandRide
            drt = model.summit.drt
            self._drive_to = step.b
            if drt is not None and drt.request(self, step.a, step.b):
                self.state = "waiting"
                self._joined_s = t
                self.destination = step.b
            else:
                self._ptrip.mode = "car"
                self._drive(step.a, step.b, t, 0.0)

    @event_method
    def _walked(self) -> None:
        self.here = self._walk_to
        self._step(self.model.time)

    def _drive(self, a: str, b: str, t: float, park_s: float) -> None:
        self.state = "driving"
        self._drive_to, self._park_s = b, park_s
        if a == b:  # already there: no vehicle trip, on as if the car had arrived
            self.model.schedule_at_or_now(self._there_already, t)
            return
        net = self.model.network
        self.model.engine.add_vehicle(t, net.node_index[a], net.node_index[b], kind="event",
                                      listener=self, label=(a, b))

    @event_method
    def _there_already(self) -> None:
        self.on_arrive(-1, self.model.time)

    def _reach_stop(self, ride: Ride, t: float) -> None:
        self.state = "waiting"
        self._joined_s = t
        self._ride = ride
        self.destination = ride.alight
        # nobody gives up on a scheduled line before its next bus is due (and a quarter
        # headway more); before the service starts that is its first bus
        spec = ride.line.spec
        due = spec.next_due_s(t)
        patience = max(self.model.summit.spec.max_wait_min * 60,
                       0.25 * spec.headway_at(t) + (due if math.isfinite(due) else 0.0))
        ride.line.queues[ride.board].join(self, t, patience_s=patience)

    def patience_over(self, time: float) -> None:
        """Still at the stop after the longest wait anyone accepts: a taxi from there."""
        if self.state != "waiting":
            return
        ride = self._ride
        ride.line.queues[ride.board].remove(self)
        ptrip = self._ptrip
        ptrip.wait_s += self.model.time - self._joined_s
        ptrip.mode = "shuttle>car"
        self.model.summit.gave_up += 1
        self.here = ride.board
        to = self._to
        if self._purpose == "home" and self.car_at is not None:
            # by taxi to the parked car, then home in it
            to = self.car_at
            self._leg = Leg(self._leg.mode, (Drive(self.car_at, self.hotel_node),),
                            self._leg.estimate_s)
            self._step_i = 0
        else:
            self._step_i = len(self._leg.steps)  # the taxi goes all the way
        if to == ride.board:
            self._step(self.model.time)
        else:
            self._drive(ride.board, to, self.model.time, 0.0)

    # ---- vehicle callbacks (shuttle, demand-responsive vehicle, engine) ----------------------
    def on_board(self, vehicle, time: float) -> None:
        self.state = "riding"
        ptrip = self._ptrip
        ptrip.wait_s += time - self._joined_s
        ptrip.rides += 1  # a trip to a session: its record's

    def on_denied(self, vehicle, time: float) -> None:
        self._ptrip.denied += 1
        self.times_denied += 1
        self.model.summit.denied += 1

    def on_alight(self, vehicle, stop: str, time: float) -> None:
        self.here = stop
        self._step(time)

    listens_to_nodes = False  # the engine tells it of arrival only (its vehicle stays fast)

    def on_node(self, vehicle: int, node: str, time: float) -> None:
        pass

    def on_arrive(self, vehicle: int, time: float) -> None:  # by car or motorcade
        self.here = self._drive_to
        if self._drive_to in self.car_parks:
            self.car_at = self._drive_to
        elif self._drive_to == self.hotel_node:
            self.car_at = None
        if self._park_s > 0:
            self.state = "walking"
            self._walk_to = self._drive_to
            self.model.schedule_at_or_now(self._walked, time + self._park_s)
        else:
            self._step(time)

    # ---- at the destination -----------------------------------------------------------------
    def _reach(self, time: float) -> None:
        self.here = self._to
        purpose = self._purpose
        self._ptrip._arrived_s = time
        if purpose == "home":
            self.state = "back"
            return
        if purpose == "hub":
            self.departure.reached_s = time
            self.state = "departed"
            return
        if purpose == "hotel":  # checked in after arriving: the agenda from here
            self.arrival.reached_s = time
            self.state = "at_hotel"
            self._plan_next()
            return
        rec = self.current
        layer = self.model.summit
        rec.reached_s = time
        gates = layer.venues[rec.venue]
        if self.guest.role == "leader":  # leaders are screened apart, without queueing
            cleared = time
        else:
            key = (self.unique_id, self._session_index)
            cleared = gates.arrive(key, max(time, gates.last_arrival_s))
            if cleared != float("inf"):
                rec.screening_wait_s = gates.wait_s(key)
        self.state = "screening"
        if cleared == float("inf"):  # turned away at closing: the agenda goes on without it
            self.state = "at_venue"
            self._plan_next()
            return
        rec.cleared_s = cleared
        self.model.schedule_at_or_now(self._enter_session, cleared)

    @event_method
    def _enter_session(self) -> None:
        session = self.agenda[self._session_index]
        self.state = "in_session"
        # everyone in the session leaves at its end: one Mesa event for all (as far as that
        # keeps the order of events)
        self._session_end = self.model.schedule_together(self._session_over, at=session.end)

    @event_method
    def _session_over(self) -> None:
        self.state = "at_venue"
        self._plan_next()

    # ---- a venue evacuation (the emergency layer calls these) --------------------------------
    def evacuate(self, time: float) -> bool:
        """Called out of the session in progress: its record shows when it was left early, and
        the delegate walks out ("walking"). False (and nothing changes) if not in a session."""
        if self.state != "in_session" or self.current is None:
            return False
        self._session_end.cancel()
        self.current.left_early_s = time
        self.current = None
        self.state = "walking"
        self._ptrip = PersonTrip("evacuation", self.here, None)
        self._ptrip.left_s, self._ptrip.mode = time, "evacuation"
        self.trips.append(self._ptrip)
        return True

    def evacuation_state(self, state: str) -> None:
        """At the assembly point ("waiting"), on an evacuation bus ("riding"), on foot
        ("walking")."""
        self.state = state

    def evacuation_reached(self, node: str) -> None:
        """Taken to `node` (the hotel, or where a day visitor's car stands): the agenda goes
        on from there."""
        self.here = node
        ptrip = self._ptrip
        if ptrip is not None and ptrip.purpose == "evacuation":
            ptrip.destination, ptrip._arrived_s = node, self.model.time
        self.state = "at_hotel" if node == self.hotel_node else "at_venue"
        self._plan_next()

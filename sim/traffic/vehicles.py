"""Vehicles: the classes (how fast each may go, how much road it takes, what it is exempt from)
and the table of vehicle records the engine moves.

Vehicles are light records, not objects: one list per field, indexed by vehicle id (a struct of
lists). The event loop reads and writes them in place; nothing rebinds a list, so a loop may
hold a list in a local variable for the whole run.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

# a vehicle's state; ABANDONED: held by closures past its driver's patience, the trip given up
PLANNED, WAITING, ON_LINK, ARRIVED, ABANDONED = range(5)


class VehicleClass(NamedTuple):
    name: str
    vmax_kmh: float  # the class's own limit; a link's limit applies too
    pce: float  # passenger-car equivalents: share of flow capacity and storage used
    priority: bool  # bypasses queues (emergency, motorcade) and ignores closures
    background: bool  # ordinary traffic routed by the engine's guidance tables


# Trucks: 80 km/h on Korean expressways for vehicles over 1.5 t; PCE 2.0 and buses 1.5 follow
# KHCM heavy-vehicle equivalents for level terrain (rounded).
VEHICLE_CLASSES: dict[str, VehicleClass] = {
    "car": VehicleClass("car", 999.0, 1.0, False, True),
    "truck": VehicleClass("truck", 80.0, 2.0, False, True),
    "bus": VehicleClass("bus", 100.0, 1.5, False, False),
    "shuttle": VehicleClass("shuttle", 100.0, 1.5, False, False),
    "event": VehicleClass("event", 999.0, 1.0, False, False),
    "emergency": VehicleClass("emergency", 999.0, 1.0, True, False),
    "motorcade": VehicleClass("motorcade", 999.0, 1.0, True, False),
}


class VehicleListener(Protocol):
    """An agent that owns a vehicle. A listener whose class sets `listens_to_nodes = False` (a
    bus going stop to stop) is told only of arrival, which keeps its vehicle on the fast path.

    `on_node` is a notice: it may record where the vehicle is, but must not act on the engine
    (add, redirect or withdraw vehicles), as the compiled core hands notices over at the end
    of the event that raised them. `on_arrive` may act: it is called at its moment."""

    def on_node(self, vehicle: int, node: str, time: float) -> None: ...

    def on_arrive(self, vehicle: int, time: float) -> None: ...


class VehicleTable:
    """Every vehicle registered with the engine, one list per field (see the module docstring).

    Route state: a vehicle follows either a fixed route (`route`, a list of sim links, with
    `rpos` the position of the link it is on) or a guidance row (`tab`, the next link per node
    towards its destination slot `slot`, taken at `tab_t`)."""

    def __init__(self) -> None:
        self.kind: list[str] = []
        self.cls: list[int] = []  # index into the engine's vehicle classes
        self.orig: list[int] = []  # node it sets off from (again, after waiting off the road)
        self.dest: list[int] = []
        self.slot: list[int] = []  # destination slot in the guidance tables, -1 if routed
        self.route: list[list[int] | None] = []
        self.rpos: list[int] = []
        self.tab: list = []  # the guidance row (next link per node) this vehicle follows
        self.tab_t: list[float] = []
        self.depart: list[float] = []
        self.link: list[int] = []  # the sim link it is on, -1 off the road
        self.entry: list[float] = []  # when it entered that link
        self.arrive: list[float] = []  # NaN until it arrives
        self.state: list[int] = []
        self.forced: list[bool] = []  # pushed on at least once past a blocked link
        # seconds it waited off the road for a closure to end, and since when it is waiting now
        # (-1: it is not)
        self.held_s: list[float] = []
        self.held_at: list[float] = []
        self.listener: list[VehicleListener | None] = []
        self.nodes: list[bool] = []  # the listener wants on_node
        # priority class, a listener of nodes or withdrawn: the reference path handles it
        self.special: list[bool] = []
        self.label: list[tuple[str, str]] = []  # (origin, destination) names for trips.csv
        self.withdrawn: set[int] = set()  # called off before they set off
        self.abandoned_at: dict[int, float] = {}  # vehicle: when its driver gave the trip up

    def __len__(self) -> int:
        return len(self.kind)

    def add(self, kind: str, cls: int, origin: int, destination: int, slot: int,
            route: list[int] | None, depart_s: float, listener: VehicleListener | None,
            priority: bool, label: tuple[str, str]) -> int:
        """Append one planned vehicle; returns its id."""
        vid = len(self.kind)
        self.kind.append(kind)
        self.cls.append(cls)
        self.orig.append(origin)
        self.dest.append(destination)
        self.slot.append(slot)
        self.route.append(route)
        self.rpos.append(-1)
        self.tab.append(None)
        self.tab_t.append(0.0)
        self.depart.append(depart_s)
        self.link.append(-1)
        self.entry.append(0.0)
        self.arrive.append(float("nan"))
        self.state.append(PLANNED)
        self.forced.append(False)
        self.held_s.append(0.0)
        self.held_at.append(-1.0)
        self.listener.append(listener)
        nodes = listener is not None and getattr(listener, "listens_to_nodes", True)
        self.nodes.append(nodes)
        self.special.append(nodes or priority)
        self.label.append(label)
        return vid

    def add_guided(self, kinds, classes: np.ndarray, origins: np.ndarray,
                   destinations: np.ndarray, slots: np.ndarray, depart_s: np.ndarray,
                   labels) -> range:
        """Append planned background vehicles that follow the guidance tables (no listener, no
        route), field by field; returns their ids. The columns come as arrays (as for
        VehicleArrays) and are kept as Python numbers."""
        classes, origins, destinations, slots, depart_s = (
            np.asarray(a).tolist() for a in (classes, origins, destinations, slots, depart_s))
        first, m = len(self.kind), len(origins)
        self.kind.extend(kinds)
        self.cls.extend(classes)
        self.orig.extend(origins)
        self.dest.extend(destinations)
        self.slot.extend(slots)
        self.route.extend([None] * m)
        self.rpos.extend([-1] * m)
        self.tab.extend([None] * m)
        self.tab_t.extend([0.0] * m)
        self.depart.extend(depart_s)
        self.link.extend([-1] * m)
        self.entry.extend([0.0] * m)
        self.arrive.extend([float("nan")] * m)
        self.state.extend([PLANNED] * m)
        self.forced.extend([False] * m)
        self.held_s.extend([0.0] * m)
        self.held_at.extend([-1.0] * m)
        self.listener.extend([None] * m)
        self.nodes.extend([False] * m)
        self.special.extend([False] * m)
        self.label.extend(labels)
        return range(first, first + m)

    def get(self, name: str, veh: int):
        """One vehicle's field."""
        return getattr(self, name)[veh]

    def put(self, name: str, veh: int, value) -> None:
        """Set one vehicle's field."""
        getattr(self, name)[veh] = value

    def set_route(self, veh: int, route: list[int] | None, rpos: int) -> None:
        """Give the vehicle a fixed route (None: none), at position rpos on it."""
        self.route[veh] = route
        self.rpos[veh] = rpos

    def is_withdrawn(self, veh: int) -> bool:
        return veh in self.withdrawn

    def withdraw(self, veh: int) -> None:
        self.withdrawn.add(veh)
        self.special[veh] = True  # its departure takes the reference path, which checks

    def on_link_now(self) -> tuple[np.ndarray, np.ndarray]:
        """Vehicles inside a link now (entered, not yet left) and the sim link each is on."""
        state = np.asarray(self.state, dtype=np.int64)
        link = np.asarray(self.link, dtype=np.int64)
        veh = np.flatnonzero((state == ON_LINK) & (link >= 0))
        return veh, link[veh]

    def status(self, veh: int) -> str:
        """One meaning per status: `arrived` (reached its destination, forced on or not),
        `abandoned` (held by closures past the driver's patience: the trip was given up),
        `stuck` (pushed on past a blocked link and not arrived), `en_route` (none of these)."""
        if self.arrive[veh] == self.arrive[veh]:  # not NaN
            return "arrived"
        if self.state[veh] == ABANDONED:
            return "abandoned"
        if self.forced[veh]:
            return "stuck"
        return "en_route"

    def counts(self) -> dict[str, int]:
        """Conservation: entered = arrived + en_route + stuck + abandoned; planned have not
        departed yet; `forced`: the arrived vehicles that were pushed on past a blocked link on
        the way."""
        # as status() per vehicle, over arrays
        state = np.asarray(self.state, dtype=np.int64)
        planned = state == PLANNED
        abandoned = state == ABANDONED
        forced = np.asarray(self.forced, dtype=bool) & ~planned
        arrived = ~np.isnan(np.array(self.arrive, dtype=float)) & ~planned
        n_planned, n_arrived = int(np.count_nonzero(planned)), int(np.count_nonzero(arrived))
        n_abandoned = int(np.count_nonzero(abandoned))
        n_stuck = int(np.count_nonzero(forced & ~arrived & ~abandoned))
        entered = len(self.state) - n_planned
        return {"registered": len(self.kind), "entered": entered, "arrived": n_arrived,
                "en_route": entered - n_arrived - n_stuck - n_abandoned, "stuck": n_stuck,
                "abandoned": n_abandoned, "planned": n_planned,
                "forced": int(np.count_nonzero(forced & arrived))}

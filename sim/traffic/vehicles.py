"""Vehicle classes: how fast each may go, how much road it takes, what it is exempt from."""

from __future__ import annotations

from typing import NamedTuple


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

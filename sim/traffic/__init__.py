"""The mesoscopic traffic engine: link queues, spill-back, demand, controls and guidance."""

from .engine import TrafficEngine
from .vehicles import VEHICLE_CLASSES, VehicleClass

__all__ = ["VEHICLE_CLASSES", "TrafficEngine", "VehicleClass"]

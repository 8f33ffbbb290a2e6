"""Fire, rescue and EMS response: the scenario's [emergency] section, the layer that runs it,
and its KPIs."""

from .spec import EmergencySpec

__all__ = ["EmergencySpec"]

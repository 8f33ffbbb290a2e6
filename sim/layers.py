"""The model's layers beside the traffic (the summit, the emergency services) behind one small
protocol: the model builds the layers a scenario asks for and the outputs loop over
`model.layers`, so a new layer (a pedestrian or a rail layer, say) is one module and one
line in LAYERS."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Protocol

# "module:Class" of each layer, in the order the model builds them (the order their random
# draws, metrics sections and tables come in)
LAYERS = ("sim.summit:SummitLayer", "sim.emergency.layer:EmergencyLayer")


class Layer(Protocol):
    """What the model and the outputs ask of a layer."""

    name: str  # the model's attribute for it (model.summit), None when a scenario has none

    @classmethod
    def applies(cls, scenario) -> bool:
        """Whether the scenario has this layer."""

    @classmethod
    def kept_nodes(cls, net, scenario) -> set[str]:
        """Node ids the traffic engine must keep (not contract away): where its agents go."""

    def start(self) -> None:
        """Schedule its first events (called once built, before the next layer is built)."""

    def metrics(self) -> dict[str, dict]:
        """Its sections of metrics.json, by name."""

    def write_outputs(self, folder: Path, metrics: dict, painter) -> None:
        """Its tables and pictures into the run's folder (`metrics`: the run's, all layers')."""


def layer_classes() -> list[type]:
    """The layer classes, imported when a model is first built (not at import time: a layer
    imports its agents, which import the model's kernel)."""
    out = []
    for entry in LAYERS:
        module, name = entry.split(":")
        out.append(getattr(import_module(module), name))
    return out

"""The live control-centre view: a SolaraViz page (Mesa's own UI) over a LiveModel.

`python run.py viz [SCENARIO] [--host 127.0.0.1] [--port N]` serves it with `solara run`; the
scenario and its `--set` overrides reach the page through the environment (SUMMIT_VIZ_SCENARIO,
SUMMIT_VIZ_SET as a JSON list, SUMMIT_VIZ_START as a clock). Needs the `ui` extra.

The page: Mesa's controls (Reset, play/pause, Step; play interval) and the scenario's
parameters in the sidebar; in the main area the clock, the map (sim.viz.mapview) and the live
charts (sim.viz.charts). Each browser session gets its own model.
"""

from __future__ import annotations

import io
import json
import os
import weakref

import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from ..clock import format_clock
from .charts import draw_charts
from .live import POLICIES, WEATHER, LiveModel
from .mapview import MapView

DEFAULT_SCENARIO = "leaders_day"

# one map per model: the projected roads are built once and only restyled per frame
_views: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def map_view(model) -> MapView:
    view = _views.get(model)
    if view is None:
        view = _views[model] = MapView(model)
    return view


def _png(fig, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


@solara.component
def Clock(model):
    """The simulated time, large, with the scenario's name."""
    update_counter.get()
    with solara.Row(classes=["summit-clock-row"], style={"align-items": "baseline"}):
        solara.Text(format_clock(model.time), classes=["summit-clock"],
                    style={"font-size": "28px", "font-weight": "bold",
                           "font-family": "monospace"})
        solara.Text(f"{model.spec.name}, {format_clock(model.start_s)[:5]}-"
                    f"{format_clock(model.end_s)[:5]}, {model.step_s / 60:g} min per step",
                    style={"font-size": "14px", "color": "#555"})


@solara.component
def MapPanel(model):
    """The map at the model's current time."""
    update_counter.get()
    view = map_view(model)
    png = view.png()
    with solara.Column(classes=["summit-map"]):
        solara.Image(png, format="png", width="100%")


@solara.component
def ChartsPanel(model):
    """The live charts of the run so far."""
    update_counter.get()
    em = getattr(model, "emergency", None)
    fig = draw_charts(model.history,
                      coverage_target=em.spec.coverage_target_share if em else None)
    with solara.Column(classes=["summit-charts"]):
        solara.Image(_png(fig, 80), format="png", width="100%")


@solara.component
def ControlCentre(model):
    """Clock, map and charts in one column (the page's one component)."""
    with solara.Column(style={"width": "100%"}):
        Clock(model)
        MapPanel(model)
        ChartsPanel(model)


def model_params(scenario: str, overrides: list[str], start_at: str | None) -> dict:
    """The sidebar's parameters (Mesa's ModelCreator) and the fixed ones Reset passes on."""
    return {
        "scenario_name": scenario,
        "overrides": list(overrides),
        "start_at": start_at,
        "step_minutes": {"type": "SliderInt", "value": 5, "min": 1, "max": 30, "step": 1,
                         "label": "Minutes per step"},
        "fleet_scale": {"type": "SliderFloat", "value": 1.0, "min": 0.25, "max": 2.0,
                        "step": 0.05, "label": "Shuttle fleet scale"},
        "demand_scale": {"type": "SliderFloat", "value": 1.0, "min": 0.5, "max": 1.5,
                         "step": 0.05, "label": "Traffic demand scale"},
        "weather": {"type": "Select", "value": "scenario", "values": list(WEATHER),
                    "label": "Weather"},
        "closures": {"type": "Checkbox", "value": True,
                     "label": "Scenario's road closures in force"},
        "emergency": {"type": "Checkbox", "value": False,
                      "label": "Emergency layer (if the scenario has none)"},
        "dispatch_policy": {"type": "Select", "value": "scenario", "values": list(POLICIES),
                            "label": "Dispatch policy"},
    }


def make_page(model, scenario: str, overrides: list[str], start_at: str | None = None):
    """The page for `model` (a LiveModel or a solara.Reactive holding one): SolaraViz's app
    bar and sidebar (controls, the scenario's parameters) and the control centre below them.
    Reset puts a new model, built from the sidebar's values, into the reactive."""
    return ControlCentrePage(model, scenario, list(overrides), start_at)


@solara.component
def ControlCentrePage(model, scenario: str, overrides: list[str], start_at: str | None):
    reactive = model if isinstance(model, solara.Reactive) else solara.use_reactive(model)
    with solara.Column(style={"width": "100%"}) as main:
        # no components for SolaraViz's draggable grid (its layout script does not load with
        # this Solara); the control centre is laid out here, under Mesa's app bar and sidebar
        SolaraViz(reactive, components=[],
                  model_params=model_params(scenario, overrides, start_at),
                  play_interval=400, name="Gyeongju APEC 2025 control centre")
        ControlCentre(reactive.value)
    return main


def _config() -> tuple[str, list[str], str | None]:
    scenario = os.environ.get("SUMMIT_VIZ_SCENARIO") or DEFAULT_SCENARIO
    overrides = json.loads(os.environ.get("SUMMIT_VIZ_SET") or "[]")
    start_at = os.environ.get("SUMMIT_VIZ_START") or None
    return scenario, overrides, start_at


@solara.component
def Page():
    scenario, overrides, start_at = _config()
    model = solara.use_memo(
        lambda: LiveModel(scenario, overrides=overrides, start_at=start_at), [])
    return make_page(model, scenario, overrides, start_at)

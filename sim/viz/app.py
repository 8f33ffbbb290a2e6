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

from ..clock import day_of, format_clock, format_hhmm
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
    """The simulated time of day (HH:MM), large, with the day and the scenario's name."""
    update_counter.get()
    with solara.Row(classes=["summit-clock-row"], style={"align-items": "baseline"}):
        solara.Text(format_hhmm(model.time), classes=["summit-clock"],
                    style={"font-size": "28px", "font-weight": "bold",
                           "font-family": "monospace"})
        solara.Text(day_of(model.time, model.spec.date), classes=["summit-day"],
                    style={"font-size": "18px", "font-weight": "bold"})
        solara.Text(f"{model.spec.name}, {format_hhmm(model.start_s)}-"
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
    em = model.emergency
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


# the sidebar's sliders: default, min, max, step, and the label with the value it shows
SLIDERS = {
    "step_minutes": (5, 1, 30, 1, lambda v: f"Minutes per step: {int(v)}"),
    "fleet_scale": (1.0, 0.25, 2.0, 0.05, lambda v: f"Shuttle fleet: ×{float(v):.2f}"),
    "demand_scale": (1.0, 0.5, 1.5, 0.05, lambda v: f"Traffic demand: ×{float(v):.2f}"),
}


def slider_label(name: str, value) -> str:
    """A slider's label with its current value (Mesa's sliders show it only while dragged)."""
    return SLIDERS[name][4](getattr(value, "value", value))


def model_params(scenario: str, overrides: list[str], start_at: str | None,
                 sliders: dict | None = None) -> dict:
    """The sidebar's parameters (Mesa's ModelCreator) and the fixed ones Reset passes on.
    `sliders`: a solara.Reactive per slider, which the slider moves and whose value its label
    shows (without: the defaults, labels fixed)."""
    sliders = sliders or {}
    params = {"scenario_name": scenario, "overrides": list(overrides), "start_at": start_at}
    for name, (default, lo, hi, step, _) in SLIDERS.items():
        value = sliders.get(name, default)
        params[name] = {"type": "SliderInt" if isinstance(default, int) else "SliderFloat",
                        "value": value, "min": lo, "max": hi, "step": step,
                        "label": slider_label(name, value)}
    params.update({
        "weather": {"type": "Select", "value": "scenario", "values": list(WEATHER),
                    "label": "Weather"},
        "closures": {"type": "Checkbox", "value": True,
                     "label": "Scenario's road closures in force"},
        "emergency": {"type": "Checkbox", "value": False,
                      "label": "Emergency layer (if the scenario has none)"},
        "dispatch_policy": {"type": "Select", "value": "scenario", "values": list(POLICIES),
                            "label": "Dispatch policy"},
    })
    return params


# Mesa's sidebar, made to read better by style alone (its components take no options for it):
# - its own sliders (play interval, render interval; the first card) show their value in the
#   thumb, as the scenario's sliders do in their labels;
# - its "Information" card (the third) shows model.time in raw seconds: hidden, the clock above
#   the map says the time as HH:MM with the day
SIDEBAR_CSS = """
.v-navigation-drawer .v-card:first-child .v-slider-thumb {
  --v-slider-thumb-size: 30px !important;
}
.v-navigation-drawer .v-card:first-child .v-slider-thumb::after {
  content: attr(aria-valuenow);
  position: absolute; left: 50%; top: 50%; transform: translate(-50%, -50%);
  color: white; font-size: 11px; font-weight: 600; pointer-events: none;
}
.v-navigation-drawer .v-sheet > .v-card:nth-child(3) { display: none; }
"""


def make_page(model, scenario: str, overrides: list[str], start_at: str | None = None):
    """The page for `model` (a LiveModel or a solara.Reactive holding one): SolaraViz's app
    bar and sidebar (controls, the scenario's parameters) and the control centre below them.
    Reset puts a new model, built from the sidebar's values, into the reactive."""
    return ControlCentrePage(model, scenario, list(overrides), start_at)


@solara.component
def ControlCentrePage(model, scenario: str, overrides: list[str], start_at: str | None):
    reactive = model if isinstance(model, solara.Reactive) else solara.use_reactive(model)
    # one cell per slider: the slider moves it, its label shows it (read while rendering, so
    # a move re-renders the labels), Mesa's Reset reads it (LiveModel takes a cell or a number)
    sliders = {"step_minutes": solara.use_reactive(SLIDERS["step_minutes"][0]),
               "fleet_scale": solara.use_reactive(SLIDERS["fleet_scale"][0]),
               "demand_scale": solara.use_reactive(SLIDERS["demand_scale"][0])}
    with solara.Column(style={"width": "100%"}) as main:
        solara.Style(SIDEBAR_CSS)
        # no components for SolaraViz's draggable grid (its layout script does not load with
        # this Solara); the control centre is laid out here, under Mesa's app bar and sidebar
        SolaraViz(reactive, components=[],
                  model_params=model_params(scenario, overrides, start_at, sliders),
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

"""The live view without a browser: the page rendered by Solara's own test support (Mesa's
controls, the clock, the map and the charts), Step moving the clock on, Reset with the sidebar's
parameters, and the map's state read from the model. Frame timing is a bench
(`python -m sim.viz.mapview`), not a test."""

from __future__ import annotations

import numpy as np
import pytest

from sim.viz.live import LiveModel, view_overrides
from sim.viz.mapview import MapView

QUICK = ["end=08:00", "traffic.daily_trips=0", "traffic.external=[]", "traffic.through=[]"]


@pytest.fixture
def model():
    return LiveModel("som1_day", overrides=QUICK, start_at="07:00")


def test_the_view_parameters_become_set_overrides():
    sets = view_overrides("leaders_day", fleet_scale=0.5, weather="snow", closures=False,
                          dispatch_policy="keep_coverage", emergency=True, demand_scale=1.2,
                          base=["end=09:00"])
    assert sets[0] == "end=09:00"
    assert "shuttles.fleet_scale=0.5" in sets and "weather=snow" in sets
    assert "closures.0.applies_to=[]" in sets
    assert "emergency.enabled=true" in sets and "emergency.dispatch_policy=keep_coverage" in sets
    assert "traffic.demand_scale=1.08" in sets  # times the scenario's own 0.9
    assert view_overrides("leaders_day") == []


def test_a_step_is_minutes_of_simulated_time(model):
    assert model.clock == "07:00:00" and model.time == 7 * 3600
    model.step()
    model.step()
    assert model.clock == "07:10:00" and model.steps == 2
    h = model.history
    assert h.time_s == [25200.0, 25500.0, 25800.0]
    assert len(h.en_route) == len(h.waiting) == len(h.on_time) == 3


def test_the_map_shows_the_model_state(model):
    view = MapView(model)
    for _ in range(3):
        model.step()
    view.update()
    assert view.clock.get_text() == "07:15"
    fill = view.road_fill()
    assert fill.shape == (len(view.pair_links),) and (fill >= 0).all()
    moving = view.vehicles(model.time)["shuttles"]
    assert moving, "shuttles run at 07:15 on the SOM1 day"
    xmin, xmax = view.ax.get_xlim()
    xs = np.array([s[0] for s in moving])
    assert ((xs > xmin - 50) & (xs < xmax + 50)).all()
    png = view.png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 30_000


def test_responders_and_incidents_are_placed():
    m = LiveModel("hico_fire_drill", overrides=["end=11:30", "traffic.daily_trips=0",
                                                "traffic.external=[]", "traffic.through=[]"],
                  start_at="10:40")
    m.step()
    m.step()
    view = MapView(m)
    units = view.unit_positions(m.time)
    assert sum(len(v) for v in units.values()) >= 5  # the drill's first alarm is under way
    marks = view.incident_marks(m.time)
    assert any("HICO" in mk[3] for mk in marks)
    assert m.history.available and m.history.coverage


def test_the_page_renders_and_steps_with_solaras_test_support(model):
    solara = pytest.importorskip("solara", reason="the ui extra is not installed")
    import ipyvuetify
    import ipywidgets

    from sim.viz.app import make_page

    _box, rc = solara.render(make_page(model, "som1_day", QUICK, "07:00"), handle_error=False)
    clock = rc.find(ipyvuetify.Html, class_="summit-clock")
    clock.assert_single()
    assert clock.widget.children == ["07:00"]
    images = rc.find(ipywidgets.Image).widgets
    assert len(images) == 2 and all(i.value[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    assert rc.find(ipyvuetify.Btn, children=["Step"]).widgets == []  # sidebar: in the layout
    # Mesa's controls live in the app layout's sidebar: render the page inside one
    rc.close()

    @solara.component
    def Page():
        with solara.AppLayout():
            make_page(model, "som1_day", QUICK, "07:00")

    _box, rc = solara.render(Page(), handle_error=False)
    rc.find(ipyvuetify.Btn, children=["Step"]).widget.click()
    rc.find(ipyvuetify.Html, class_="summit-clock", children=["07:05"]).assert_single()
    assert model.clock == "07:05:00"
    labels = {w.label for w in rc.find(ipyvuetify.Select).widgets}
    assert {"Weather", "Dispatch policy"} <= labels
    rc.close()


def test_the_clock_reads_hours_and_minutes_with_the_day(model):
    from sim.clock import day_of, format_hhmm

    assert format_hhmm(7 * 3600 + 299) == "07:04" and format_hhmm(25 * 3600 + 1800) == "01:30"
    assert day_of(8 * 3600, "2025-10-31") == "Fri 31 Oct 2025"
    assert day_of(25 * 3600, "2025-10-31") == "Sat 1 Nov 2025"  # a run past midnight
    assert day_of(25 * 3600, "") == "day 2"
    view = MapView(model)
    view.update()
    assert view.clock.get_text() == "07:00" and view.day.get_text() == "Wed 26 Feb 2025"


def test_the_sliders_show_their_values_and_reset_uses_them(model):
    solara = pytest.importorskip("solara", reason="the ui extra is not installed")
    import ipyvuetify

    from sim.viz.app import make_page

    @solara.component
    def Page():
        with solara.AppLayout():
            make_page(model, "som1_day", QUICK, "07:00")

    _box, rc = solara.render(Page(), handle_error=False)
    sliders = {w.label.split(":")[0]: w for w in rc.find(ipyvuetify.Slider).widgets}
    assert sliders["Minutes per step"].label == "Minutes per step: 5"
    assert sliders["Shuttle fleet"].label == "Shuttle fleet: ×1.00"
    assert sliders["Traffic demand"].label == "Traffic demand: ×1.00"
    # Mesa's own sliders (play and render interval) show theirs by the page's style
    assert any("Play Interval" in w.label for w in rc.find(ipyvuetify.Slider).widgets)
    sliders["Minutes per step"].v_model = 10
    rc.find(ipyvuetify.Slider, label="Minutes per step: 10").assert_single()
    # Reset builds the model from the sliders (the unmoved ones hand over their cells)
    rc.find(ipyvuetify.Btn, children=["Reset"]).widget.click()
    rc.find(ipyvuetify.Html, class_="summit-clock", children=["07:00"]).assert_single()
    rc.find(ipyvuetify.Html,
            children=["SOM1 meeting day, 05:00-08:00, 10 min per step"]).assert_single()
    rc.find(ipyvuetify.Btn, children=["Step"]).widget.click()
    rc.find(ipyvuetify.Html, class_="summit-clock", children=["07:10"]).assert_single()
    rc.close()


def test_vehicles_held_by_a_closure_are_counted_and_drawn(tmp_path):
    """A closure with no way round holds the through traffic at its origin and the last
    junction before it; the map draws them at those junctions and counts them."""
    from tests.traffic_helpers import line_network, scenario

    net = line_network(tmp_path, [{"length_km": 1.0}, {"length_km": 1.0}, {"length_km": 1.0}])
    through = {"origin": "n0", "destination": "n3", "vph": 120, "start": "00:00", "end": "00:30"}
    local = {"origin": "n0", "destination": "n2", "vph": 240, "start": "00:00", "end": "00:30"}
    sc = scenario(net, od=[through, local], closures=[
        {"links": [["n2", "n3"]], "start": "00:00", "end": "01:00"}],
        traffic={"closure_patience_min": 90})
    from sim.model import SummitModel

    m = SummitModel(sc, seed=1)
    m.run_until(2700.0)
    m.engine.run_until(2700.0)
    held, nodes = m.engine.held_by_closures()
    assert len(held) == 60  # every through trip, none of the local ones
    assert {m.network.nodes[i].id for i in nodes.tolist()} <= {"n0", "n2"}
    assert all(m.engine.v_kind[v] == "car" for v in held.tolist())
    view = MapView(m)
    view.update()
    _, count = view.held_vehicles()
    assert count.sum() == 60 and len(view.held.get_offsets()) == len(count)
    assert "60 vehicles held by closures" in view.status.get_text()
    m.run_until(5400.0)
    m.engine.run_until(5400.0)  # the closure has ended: no one waits any more
    assert len(m.engine.held_by_closures()[0]) == 0
    view.update()
    assert "held" not in view.status.get_text() and len(view.held.get_offsets()) == 0

"""The main places named on the run's maps (sim.map_places): which ones, where (the network's
own coordinates), and labels that neither overlap nor leave the frame on the live map, the
congestion map and the animation's frame sizes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sim.formats import embedded_network
from sim.map_places import (
    BOMUN_RADIUS_M,
    HOTEL_GROUP,
    draw_main_places,
    main_places,
    region_places,
    scenario_names,
)
from sim.netmap import _overlap, city_bounds, map_axes, map_projection
from sim.scenario import load_scenario

KTX = "KTX Gyeongju (Singyeongju)"


@pytest.fixture(scope="module")
def net():
    return embedded_network()


@pytest.fixture(scope="module")
def leaders(net):
    return main_places(net, *scenario_names(load_scenario("leaders_day")))


def _place(net, name):
    return next(p for p in net.places if p.name == name)


def test_the_label_set_and_its_positions_come_from_the_data(net, leaders):
    by_label = {p.label: p for p in leaders}
    assert {"HICO", KTX, HOTEL_GROUP, "City Hall", "Arts Center", "Express Bus Terminal",
            "Bulguksa", "Gimhae airport", "Pohang airport"} <= set(by_label)
    assert leaders[0].label == "HICO"  # placed first, so its spot is the best one
    for label, name in (("HICO", "HICO"), (KTX, "Gyeongju KTX station"),
                        ("City Hall", "Gyeongju City Hall")):
        p = _place(net, name)
        assert (by_label[label].lat, by_label[label].lon) == (p.lat, p.lon)
    # the hubs the scenario's travellers use are pointed at when out of view
    assert by_label[KTX].hub and by_label["Pohang airport"].hub
    assert not by_label["HICO"].hub
    # next to HICO: the IMC and Hwangnyongwon are left to HICO's label, the banquet hotel to
    # the hotels'; the intercity terminal to the express terminal's
    assert not {"IMC", "Hwangnyongwon", "Lahan Select Gyeongju",
                "Intercity Bus Terminal"} & set(by_label)
    hotels = by_label[HOTEL_GROUP]
    hico = _place(net, "HICO")
    near = [p for p in net.places if p.kind == "hotel"
            and np.hypot((p.lat - hico.lat) * 111.2, (p.lon - hico.lon) * 90.3)
            <= BOMUN_RADIUS_M / 1000]
    assert sorted(hotels.members) == sorted((p.lat, p.lon) for p in near)
    assert len(near) >= 6 and "Kolon Hotel" not in {p.name for p in near}  # Bulguksa's


def test_without_a_scenario_the_venues_and_the_ktx_station(net):
    labels = {p.label for p in main_places(net)}
    assert {"HICO", KTX, HOTEL_GROUP, "City Hall"} <= labels
    assert {p.label for p in region_places(net, ["Pohang Gyeongju Airport"])} >= {
        "Gyeongju", KTX, "Pohang airport", "Ulsan airport"}


@pytest.mark.parametrize(("width_in", "dpi"), [(12.0, 90), (11.0, 80), (9.8, 130)],
                         ids=["live view", "animation", "congestion map"])
def test_labels_do_not_overlap_and_stay_in_the_frame(net, leaders, width_in, dpi):
    proj = map_projection(net)
    b = city_bounds(net, proj)
    fig = Figure(figsize=(width_in, width_in * 0.6), dpi=dpi)
    ax = map_axes(fig, (0.01, 0.01, 0.72, 0.93), net, proj, b)
    placer = draw_main_places(ax, proj, leaders, fontsize=8,
                              keep_clear=[(0.0, 0.74, 0.40, 1.0)])
    texts = [t for t, _ in placer.placed]
    # every place in view is named; the airports are out of view (pointed at instead)
    assert {"HICO", KTX, HOTEL_GROUP, "City Hall", "Bulguksa"} <= set(texts)
    assert "Gimhae airport" not in texts
    frame = ax.get_window_extent().extents * 72 / dpi
    boxes = [box for _, box in placer.placed]
    for a, c in itertools.combinations(boxes, 2):
        assert not _overlap(a, c)
    for box in boxes:
        assert frame[0] <= box[0] and box[2] <= frame[2]
        assert frame[1] <= box[1] and box[3] <= frame[3]
    # and the drawn texts agree with the boxes: the rendered extents do not overlap either
    renderer = FigureCanvasAgg(fig).get_renderer()
    drawn = [a.get_window_extent(renderer) for a in placer.artists]
    for a, c in itertools.combinations(drawn, 2):
        assert not a.overlaps(c), (a, c)


def test_the_congestion_map_names_the_places(net, tmp_path, monkeypatch):
    import sim.plots as plots

    placed = []

    def spy(*args, **kwargs):
        placer = draw_main_places(*args, **kwargs)
        placed.append([t for t, _ in placer.placed])
        return placer

    monkeypatch.setattr(plots, "draw_main_places", spy)
    venues, hubs = scenario_names(load_scenario("leaders_day"))
    out = plots.draw_congestion_map(net, np.ones(net.n_links), tmp_path / "map.png",
                                    venues=venues, hubs=hubs, dpi=60)
    assert out.stat().st_size > 50_000
    city, region = placed
    assert {"HICO", KTX, HOTEL_GROUP, "City Hall"} <= set(city)
    assert {"Gyeongju", KTX} <= set(region)

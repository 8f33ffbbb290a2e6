"""The embedded Gyeongju network: size, connectivity, places and facts it must honour."""

from __future__ import annotations

import numpy as np
import pytest

from sim.formats import embedded_network
from sim.geo import haversine_m, polyline_length_m
from sim.network import CLASS_DEFAULTS
from sim.routing import Router


@pytest.fixture(scope="module")
def net():
    return embedded_network()


def test_size_and_connectivity(net):
    info = net.info()
    assert info["nodes"] >= 400
    assert info["links"] >= 1000
    assert info["strongly_connected"] is True
    assert set(info["km_by_class"]) >= {"expressway", "national", "arterial", "local"}


def test_every_place_reachable_both_ways(net):
    router = Router(net)
    hall = net.resolve("Gyeongju City Hall")[0]
    nodes = sorted({p.node for p in net.places})
    assert np.isfinite(router.times_from(hall)[0, [net.node_index[n] for n in nodes]]).all()
    assert np.isfinite(router.times_to(hall)[0, [net.node_index[n] for n in nodes]]).all()


def test_lengths_are_measured_from_coordinates(net):
    for lk in net.links:
        a, b = net.node(lk.from_node), net.node(lk.to_node)
        assert lk.geometry[0] == pytest.approx((a.lat, a.lon), abs=1e-6)
        assert lk.geometry[-1] == pytest.approx((b.lat, b.lon), abs=1e-6)
        assert lk.length_m == pytest.approx(polyline_length_m(lk.geometry), abs=0.05)
        assert lk.length_m >= haversine_m(a.lat, a.lon, b.lat, b.lon) - 0.05


def test_capacity_follows_class_and_lanes(net):
    for lk in net.links:
        assert lk.capacity_vph == pytest.approx(
            lk.lanes * CLASS_DEFAULTS[lk.road_class].capacity_vph_per_lane)
        assert lk.speed_kmh in (30, 40, 50, 60, 70, 80, 90, 100)


REQUIRED = {
    "venue": ["HICO", "Gyeongju Arts Center", "Hwangnyongwon", "Gyeongju Expo Park"],
    "hotel": ["Lahan Select", "Sono Calm", "Commodore", "Hilton Gyeongju", "Kolon Hotel",
              "The-K Hotel", "Blue One"],
    "station": ["Gyeongju KTX station"],
    "airport": ["Pohang Gyeongju Airport", "Ulsan Airport", "Gimhae International Airport",
                "Daegu International Airport"],
    "hospital": ["Dongguk Univ. Gyeongju Hospital", "Keimyung Gyeongju Dongsan Hospital"],
    "fire_station": ["Gyeongju Fire Station"],
}
SAFETY_UNITS = ["Hwango", "Naenam", "Dongbu", "Bomun", "Bulguksa", "Yonghwang", "Angang",
                "Yangdong", "Oedong", "Gampo", "Geoncheon"]


def test_places_from_the_facts_doc_are_present(net):
    names = {p.name.casefold(): p for p in net.places}
    for kind, wanted in REQUIRED.items():
        for name in wanted:
            hits = [p for n, p in names.items() if name.casefold() in n]
            assert hits, f"missing {kind} {name}"
            assert hits[0].kind == kind
    units = [p for p in net.places if p.kind in ("safety_centre", "local_unit")]
    for unit in SAFETY_UNITS:
        assert any(unit in p.name for p in units), f"missing 119 unit {unit}"
    for p in net.places:
        assert p.source, p.name
        assert p.snap_m < 600, (p.name, p.snap_m)


def test_bomun_ro_hotels_lie_in_address_order(net):
    """Lahan (338) -> Sono Calm -> Commodore -> Hilton -> HICO (507) along Bomun-ro."""
    router = Router(net)
    order = ["Lahan Select Gyeongju", "Sono Calm Gyeongju", "Commodore Hotel Gyeongju",
             "Hilton Gyeongju", "HICO"]
    nodes = [net.resolve(n)[0] for n in order]
    t = router.times_from(nodes[0])[0]
    from_lahan = [t[net.node_index[n]] for n in nodes]
    assert from_lahan == sorted(from_lahan)


def test_airport_road_distances_are_true(net):
    """Coarse expressway corridors still carry true road lengths (km, from City Hall)."""
    router = Router(net)
    hall = net.resolve("Gyeongju City Hall")[0]
    expected = {"Gimhae International Airport": (80, 100), "Daegu International Airport": (55, 75),
                "Ulsan Airport": (28, 45), "Pohang Gyeongju Airport": (30, 48)}
    for name, (lo, hi) in expected.items():
        km = router.route(hall, net.resolve(name)[0]).metres / 1000
        assert lo <= km <= hi, (name, km)


def test_corridor_lengths_match_the_police_notice(net):
    """Gyeonggam-ro from Guhwanggyo to the Bobul-ro junction is 7.7 km (2025 police notice)."""
    router = Router(net)
    gyeonggam = [lk for lk in net.links if lk.road == "Gyeonggam-ro"]
    assert gyeonggam
    km = router.route("guhwanggyo", net.resolve("e_bobul_jct")[0]).metres / 1000
    assert km == pytest.approx(7.7, rel=0.12)

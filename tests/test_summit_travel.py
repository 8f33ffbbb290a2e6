"""The ways in and out of a summit day: guests arriving by train and plane and leaving again,
changing between lines, day visitors parking and riding in, demand-responsive vans - on the
SOM1 day without background traffic, so each check is about the summit layer itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.cli import main
from sim.model import SummitModel
from sim.scenario import SCENARIO_DIR, load_scenario

QUIET_ROADS = ["traffic.daily_trips=0", "traffic.external=[]", "traffic.through=[]",
               "outputs.congestion_map=false"]

EXTRA = """
[[travel]]
hub = "Gyeongju KTX station"
direction = "arrive"
roles = ["delegate"]
share = 0.2
start = "06:30"
end = "09:00"

[[travel]]
hub = "Gyeongju KTX station"
direction = "depart"
roles = ["senior_official"]
share = 0.3
start = "18:00"
end = "21:00"

[[day_visitors]]
name = "Local staff"
role = "staff"
people = 300
car_parks = ["T2 car park"]

[[shuttles.lines]]
name = "KTX - HICO"
stops = ["Gyeongju KTX station", "HICO"]
headway_min = 15
start = "06:00"
end = "22:00"
vehicles = 6
seats = 45

[[shuttles.lines]]
name = "T2 - HICO"
stops = ["T2 car park", "HICO"]
headway_min = 5
start = "06:00"
end = "21:00"
vehicles = 3
seats = 45

[shuttles.drt]
vehicles = 6
seats = 7
depot = "Bomun shuttle depot"
start = "06:00"
end = "23:00"
when_slower_than_car = 1.2
"""


def _scenario_file(tmp_path: Path, extra: str = EXTRA) -> Path:
    base = (SCENARIO_DIR / "som1_day.toml").as_posix()
    path = tmp_path / "summit_travel.toml"
    # the base's lists (travel, lines) are replaced, so the SOM1 lines are named again
    raw = (SCENARIO_DIR / "som1_day.toml").read_text(encoding="utf-8")
    lines = raw[raw.index("[[shuttles.lines]]"):raw.index("[[travel]]")]
    path.write_text(f'base = "{base}"\nname = "travel test"\n{extra}\n{lines}', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    path = _scenario_file(tmp_path_factory.mktemp("travel"))
    model = SummitModel(load_scenario(path, QUIET_ROADS))
    model.run()
    return model


def test_everyone_is_accounted_for_arrivals_departures_and_day_visitors(day):
    layer = day.summit
    counts = layer.state_counts()
    assert layer.total == 2000 + 300 and layer.unplaced == 0
    assert sum(counts.values()) == layer.total
    # at the end of the day everyone is home, at the hotel, or has left by train
    assert counts["back"] + counts["at_hotel"] + counts["departed"] == layer.total


def test_arrivals_come_off_the_train_go_to_the_hotel_then_only_to_sessions_they_can_make(day):
    arrivals = [d for d in day.summit.delegates if d.arrival]
    delegates = sum(d.guest.role == "delegate" for d in day.summit.delegates)
    assert len(arrivals) == round(0.2 * delegates)
    for d in arrivals:
        assert 6.5 * 3600 <= d.arrival.time_s <= 9 * 3600
        for rec in d.records:
            assert rec.start_s >= d.arrival.time_s + 3600  # sessions they cannot make are dropped
            assert rec.left_s >= d.arrival.time_s
    # the hotel trip happened: those with sessions set off for them from their hotel or a venue
    assert sum(1 for d in arrivals if d.records) > 0.5 * len(arrivals)


def test_departures_reach_the_station_in_time_and_leave(day):
    leaving = [d for d in day.summit.delegates if d.departure]
    assert leaving
    for d in leaving:
        assert d.state == "departed"
        assert d.departure.reached_s is not None
        assert d.departure.reached_s <= d.departure.time_s
        for rec in d.records:  # no session ends too late to make the train
            assert rec.start_s < d.departure.time_s


def test_arrivals_reach_their_hotels_by_the_line_a_change_or_a_van(day):
    arrivals = [d for d in day.summit.delegates if d.arrival]
    assert all(d.arrival.reached_s is not None for d in arrivals)
    modes = {d.arrival.mode for d in arrivals}
    assert modes <= {"shuttle", "transfer", "drt", "car", "shuttle>car", "walk"}
    assert "drt" in modes  # van when a change takes far longer than driving (threshold 1.2)


LOOP = """
[[shuttles.lines]]
name = "Lakeside loop"
stops = ["Lahan Select Gyeongju", "Commodore Hotel Gyeongju", "Hilton Gyeongju"]
headway_min = 6
start = "06:00"
end = "22:00"
vehicles = 2
seats = 20
loop = true
"""


def test_without_vans_the_station_to_a_bomun_hotel_is_a_change_at_hico(tmp_path):
    extra = EXTRA[:EXTRA.index("[shuttles.drt]")] + LOOP
    model = SummitModel(load_scenario(_scenario_file(tmp_path, extra), QUIET_ROADS))
    layer, net = model.summit, model.network
    ktx, lahan = net.resolve("Gyeongju KTX station")[0], net.resolve("Lahan Select Gyeongju")[0]
    leg = layer.transit_leg(ktx, lahan, at=8 * 3600)
    assert leg.mode == "transfer" and leg.rides == 2
    rides = [s for s in leg.steps if type(s).__name__ == "Ride"]
    assert rides[0].line.spec.name == "KTX - HICO" and rides[1].alight == lahan
    assert rides[0].alight == layer.venue_nodes["HICO"] == rides[1].board
    # a loop carries riders onwards only: Hilton -> Lahan closes the loop, Hilton -> Commodore
    # would be backwards and goes another way
    hilton, commodore = (net.resolve(p)[0] for p in ("Hilton Gyeongju", "Commodore Hotel Gyeongju"))
    onwards = [s for s in layer.transit_leg(hilton, lahan, at=9 * 3600).steps
               if type(s).__name__ == "Ride"]
    assert [r.line.spec.name for r in onwards] == ["Lakeside loop"]
    backwards = layer.transit_leg(hilton, commodore, at=9 * 3600)
    assert all(s.line.spec.name != "Lakeside loop" for s in backwards.steps
               if type(s).__name__ == "Ride")


def test_day_visitors_park_ride_in_and_drive_home_from_their_car(day):
    visitors = [d for d in day.summit.delegates if d.car_parks]
    assert len(visitors) == 300
    with_work = [d for d in visitors if d.records]
    assert with_work
    for d in with_work:
        assert d.records[0].mode == "park_ride" and d.records[0].rides >= 1
        assert d.state == "back" and d.car_at is None and d.here == d.hotel_node
    # their cars are engine vehicles to and from the car park
    engine, t2 = day.engine, day.network.node_index["e_t2"]
    to_park = sum(1 for v, k in enumerate(engine.v_kind) if k == "event" and engine.v_dest[v] == t2)
    assert to_park >= len(with_work)


def test_demand_responsive_vans_take_trips_and_account_for_every_request(day):
    drt = day.summit.drt
    c = drt.counts()
    assert c["requested"] > 0 and c["served"] > 0
    assert c["requested"] == c["served"] + c["rejected"] + c["on_board"] + c["waiting_pickup"]
    assert c["on_board"] == c["waiting_pickup"] == 0
    for v in drt.vehicles:
        assert v.max_load <= drt.spec.seats


def test_a_line_that_has_stopped_running_is_not_planned(day):
    layer = day.summit
    hico, ktx = layer.venue_nodes["HICO"], day.network.resolve("Gyeongju KTX station")[0]
    late = layer.transit_leg(hico, ktx, at=23.5 * 3600)
    assert late.mode != "shuttle"  # the KTX line ends at 22:00
    early = layer.transit_leg(hico, ktx, at=12 * 3600)
    assert early.mode == "shuttle"


def test_metrics_report_the_travel_and_drt_kpis(tmp_path):
    path = _scenario_file(tmp_path)
    out = tmp_path / "run"
    sets = [x for s in QUIET_ROADS for x in ("--set", s)]
    assert main(["run", str(path), "--quiet", "--out", str(out), *sets,
                 "--set", 'end="12:00"']) == 0
    m = json.loads((out / "metrics.json").read_text())
    d, sh = m["delegates"], m["shuttles"]
    assert d["unaccounted"] == 0 and d["day_visitors"] == 300 and d["arrived_by_hub"] > 0
    assert sh["drt_served"] is not None and sh["drt_requests"] == (
        sh["drt_served"] + sh["drt_rejected"] + sh["drt_open_at_end"])


def test_sessions_and_departures_after_the_runs_end_are_not_simulated_nor_scored(tmp_path):
    """A run that ends at 13:30 scores the 09:00 sessions only: the 14:00 session's travellers,
    already on their way, and the evening's trains are counted apart, never late or missed."""
    from sim.metrics import delegate_metrics
    from sim.picture_data import summit_picture_data

    path = _scenario_file(tmp_path)
    model = SummitModel(load_scenario(path, [*QUIET_ROADS, 'end="13:30"']))
    model.run()
    m = delegate_metrics(model.summit)
    assert m["left_by_hub"] > 0
    assert m["missed_departures"] == 0 and m["departures_not_simulated"] == m["left_by_hub"]
    assert m["trips_to_sessions_not_simulated"] > 0 and m["trips_to_sessions"] > 0
    starts = {r.start_s for d in model.summit.delegates for r in d.records}
    assert max(starts) > model.end_s >= min(starts)
    pictured = summit_picture_data(model.summit)
    assert all(start <= model.end_s for _, start, *_ in pictured["sessions"])
    assert pictured["sessions_not_simulated"] >= 1

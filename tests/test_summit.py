"""The summit layer on the SOM1 day: every delegate accounted for, seats never exceeded, the
same seed gives the same day, and screening and fleet what-ifs move the KPIs the right way."""

from __future__ import annotations

import json

import pytest

from sim.cli import main

# the SOM1 day without background traffic: the delegates' day alone runs in about a second
QUIET_ROADS = ["--set", "traffic.daily_trips=0", "--set", "traffic.external=[]",
               "--set", "traffic.through=[]",
               "--set", "outputs.congestion_map=false"]


def _run(tmp_path, name, *extra):
    out = tmp_path / name
    assert main(["run", "som1_day", "--quiet", "--out", str(out), *QUIET_ROADS, *extra]) == 0
    return out, json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def som1(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("som1"), "base")


def test_every_delegate_is_accounted_for(som1):
    out, m = som1
    d = m["delegates"]
    assert d["total"] == 2000 and d["unplaced"] == 0 and d["unaccounted"] == 0
    states = d["states_at_end"]
    assert sum(states.values()) == 2000
    # at the end of the day everyone is back at a hotel (or never left it) or has flown out
    assert states["back"] + states["at_hotel"] + states["departed"] == 2000
    assert states["departed"] == d["left_by_hub"] > 0
    rows = (out / "delegates.csv").read_text().splitlines()
    assert len(rows) == 1 + 2000
    for picture in ("on_time_by_session.png", "stop_waits.png", "shuttle_occupancy.png"):
        assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_buses_never_carry_more_than_their_seats(som1):
    _, m = som1
    s = m["shuttles"]
    assert 0 < s["mean_occupancy"] <= s["peak_occupancy"] <= 1.0
    assert s["fleet"] == 22 and s["boardings"] > 0


def test_kpis_have_the_contract_keys(som1):
    _, m = som1
    assert {"total", "on_time_rate", "late_p50_min", "late_p90_min", "late_max_min",
            "wait_p50_min", "wait_p90_min", "denied_boardings", "screening_p90_min",
            "door_to_door_p50_min", "door_to_door_p90_min", "unplaced",
            "unaccounted"} <= set(m["delegates"])
    d = m["delegates"]
    # people left at a stop by a full bus are people: never more than came, nor than the events
    assert 0 <= d["people_denied_boarding"] <= min(d["total"], d["denied_boardings"])
    assert (d["people_denied_boarding"] > 0) == (d["denied_boardings"] > 0)
    assert {"fleet", "vehicle_hours", "km", "mean_occupancy", "peak_occupancy", "breakdowns",
            "drt_served", "drt_rejected"} <= set(m["shuttles"])
    assert {"vehicle_trips", "mean_delay_min", "stuck", "en_route_at_end"} <= set(m["traffic"])


def test_load_factor_is_passenger_km_over_seat_km(som1):
    """The `shuttles` loads add up from the lines', and lines.csv has a row per line with the
    same figures; `mean_occupancy` (the old unweighted mean over stop departures) stays."""
    import csv

    out, m = som1
    s = m["shuttles"]
    by_line = s["by_line"]
    assert len(by_line) == s["lines"]
    assert s["passenger_km"] == pytest.approx(sum(x["passenger_km"] for x in by_line.values()),
                                              abs=0.5)
    assert s["seat_km"] == pytest.approx(sum(x["seat_km"] for x in by_line.values()), abs=0.5)
    assert 0 < s["load_factor"] == pytest.approx(s["passenger_km"] / s["seat_km"], abs=1e-4)
    assert s["load_factor"] < 1 and s["boardings_per_seat"] > 0
    assert sum(x["boardings"] for x in by_line.values()) == s["boardings"]
    assert s["peak_hour_max_load_share"] == max(x["max_load_share"] for x in by_line.values())
    for x in by_line.values():
        assert 0 <= x["max_load_share"] <= 1 and x["alightings"] <= x["boardings"]
        assert x["carried_nobody"] == int(x["boardings"] == 0)
        if x["carried_nobody"]:
            assert x["load_factor"] == 0 and x["max_load"] == 0
    rows = list(csv.DictReader((out / "lines.csv").open(encoding="utf-8")))
    assert sorted(r["line"] for r in rows) == sorted(by_line)  # csv: in the scenario's order
    for r in rows:
        x = by_line[r["line"]]
        assert float(r["load_factor"]) == x["load_factor"]
        assert int(r["carried_nobody"]) == x["carried_nobody"]
        assert int(r["people_denied"]) == x["people_denied"]


def test_halving_the_fleet_raises_the_load_factor(tmp_path, som1):
    """Half the buses at half the frequency offer half the seat-km for much the same riders."""
    _, full = som1
    _, half = _run(tmp_path, "half", "--set", "shuttles.fleet_scale=0.5")
    f, h = full["shuttles"], half["shuttles"]
    assert h["seat_km"] < 0.6 * f["seat_km"]
    assert h["load_factor"] > f["load_factor"]
    assert h["boardings_per_seat"] > f["boardings_per_seat"]


def test_same_seed_same_day(tmp_path, som1):
    out, _ = som1
    again, _ = _run(tmp_path, "again")
    for name in ("metrics.json", "delegates.csv", "trips.csv", "lines.csv"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


def test_fewer_screening_gates_mean_longer_queues_and_more_lateness(tmp_path, som1):
    _, base = som1
    _, few = _run(tmp_path, "few-gates", "--set", "venues.0.gates=3")
    assert few["delegates"]["screening_p90_min"] > 2 * base["delegates"]["screening_p90_min"]
    assert few["delegates"]["on_time_rate"] < base["delegates"]["on_time_rate"]


def test_halving_the_fleet_raises_waiting_and_lateness(tmp_path):
    """With the Bomun hotel line at four buses (its 10-minute timetable needs three), half the
    fleet cannot keep time: longer waits at the stops and fewer delegates on time, every seed."""
    tight = ["--set", "shuttles.lines.0.vehicles=4"]
    for seed in ("1", "2", "3"):
        _, full = _run(tmp_path, f"full{seed}", "--seed", seed, *tight)
        _, half = _run(tmp_path, f"half{seed}", "--seed", seed, *tight,
                       "--set", "shuttles.fleet_scale=0.5")
        f, h = full["delegates"], half["delegates"]
        assert half["shuttles"]["fleet"] < full["shuttles"]["fleet"]
        assert h["wait_p50_min"] > f["wait_p50_min"]
        assert h["on_time_rate"] < f["on_time_rate"]


def test_closing_bomun_ro_in_the_morning_peak_lowers_the_on_time_rate(tmp_path, som1):
    _, base = som1
    _, closed = _run(tmp_path, "closed", "--set",
                     'closures=[{road="Bomun-ro", start="07:30", end="09:30", exempt=["event"]}]')
    assert closed["delegates"]["on_time_rate"] < base["delegates"]["on_time_rate"]


def test_leaders_travel_by_motorcade_and_skip_the_queue(tmp_path):
    overflow = ('lodging=[{name="Other Bomun lodging", zone="bomun", node="Bomun shuttle depot",'
                ' rooms=1500}, {name="City centre hotels", zone="city", '
                'node="Gyeongju Intercity Bus Terminal", rooms=800}, {name="Pohang hotels", '
                'zone="overflow", node="r_yugeum", rooms=500, city="Pohang"}]')
    _, m = _run(tmp_path, "leaders", "--set", "delegates.roles={leader=21, delegate=1979}",
                "--set", "delegates.party_size={leader=3}", "--set", overflow,
                "--set", "sessions.0.roles=[\"leader\", \"delegate\"]",
                "--set", "sessions.0.share=1.0")
    d = m["delegates"]
    # 17 suites in Bomun: four leaders cannot be lodged and are reported, not squeezed in
    assert d["unplaced"] == 4 and d["unaccounted"] == 0
    leaders = 21 - d["unplaced"]
    assert d["by_mode"]["motorcade"] == leaders  # one trip to the session each
    assert m["traffic"]["by_kind"]["motorcade"] == 2 * leaders  # there and back
    states = d["states_at_end"]
    assert states["back"] + states["at_hotel"] + states["departed"] == 2000 - d["unplaced"]


def test_validate_names_a_bad_stop_without_running(capsys):
    code = main(["validate", "som1_day", "--set", 'shuttles.lines.1.stops=["HICO", "Atlantis"]'])
    assert code == 2
    assert "shuttles.lines[1] (The-K and Expo - HICO): unknown place or node 'Atlantis'" in \
        capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--set", "shuttles.fleet_scale=-1"], "shuttles.fleet_scale = -1"),
    (["--set", "shuttles.lines.0.stops=[\"Nowhere\", \"HICO\"]"],
     "unknown place or node 'Nowhere'"),
    (["--set", "sessions.0.end=\"08:00\""], "sessions[0] (SOM plenary): end must be after start"),
    (["--set", "sessions.0.venue=\"Moon\""], "venue 'Moon' is not one of the [[venues]]"),
    (["--set", "delegates.total=-5"], "delegates.total = -5"),
    (["--set", "delegates.total=9000"], "delegates.total = 9000: the lodging cannot take"),
])
def test_bad_summit_values_are_named(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    code = main(["run", "som1_day", "--quiet", "--out", str(out), *args])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_wheelchair_users_plan_only_on_lines_with_wheelchair_places():
    """Security coaches without wheelchair places: a wheelchair user going from the muster
    point to HICO is planned on another way; everyone else takes the coach."""
    from sim.model import SummitModel
    from sim.scenario import load_scenario

    index = next(i for i, ln in enumerate(load_scenario("leaders_day").shuttles.lines)
                 if ln.name == "Security coaches")
    sc = load_scenario("leaders_day", ["traffic.daily_trips=0", "traffic.external=[]",
                                       "traffic.through=[]", "end=05:10",
                                       "outputs.congestion_map=false",
                                       f"shuttles.lines.{index}.wheelchair_places=0"])
    layer = SummitModel(sc, seed=1).summit
    net = layer.model.network
    a = net.resolve("Gyeongju Express Bus Terminal")[0]
    b = net.resolve("HICO")[0]
    at = 6 * 3600.0
    lines = {line.spec.name: line for line in layer.lines}
    assert lines["Security coaches"].spec.wheelchair_places == 0

    def used(leg):
        return {s.line.spec.name for s in leg.steps if hasattr(s, "line")}

    everyone = layer.transit_leg(a, b, at)
    chair = layer.transit_leg(a, b, at, wheelchair=True)
    assert "Security coaches" in used(everyone)
    assert "Security coaches" not in used(chair)
    assert all(lines[n].spec.wheelchair_places > 0 for n in used(chair))


def test_wheelchair_users_kpis_beside_everyones(som1):
    _, m = som1
    w = m["delegates"]["wheelchair"]
    assert 0 < w["people"] < m["delegates"]["total"]
    assert w["trips_to_sessions"] <= m["delegates"]["trips_to_sessions"]
    assert w["on_time_rate"] is None or 0 <= w["on_time_rate"] <= 1


@pytest.mark.parametrize("name", ["leaders_day", "som1_day", "motorcade_morning", "snow_day"])
def test_every_shipped_line_has_a_wheelchair_place(name):
    """Every rider who needs a wheelchair place has an accessible way on every shipped line
    (at 04:45 on the Leaders' day no other line or van runs for the security staff)."""
    from sim.scenario import load_scenario

    sc = load_scenario(name)
    assert sc.shuttles.lines and all(ln.wheelchair_places >= 1 for ln in sc.shuttles.lines)

"""person_trips.csv: every trip of every person (to sessions, to the hotel or home, to and from
the hubs), so the delegates' KPIs can be recomputed from a file and agree with metrics.json and
delegates.csv."""

from __future__ import annotations

import csv
import itertools
import json

import numpy as np
import pytest

from agents.summit.delegate import PURPOSES
from sim.cli import main
from sim.model import SummitModel
from sim.outputs import write_run
from sim.scenario import load_scenario
from tests.test_summit import QUIET_ROADS
from tests.test_summit_travel import QUIET_ROADS as TRAVEL_ROADS
from tests.test_summit_travel import _scenario_file


def _read(out):
    m = json.loads((out / "metrics.json").read_text())
    with open(out / "person_trips.csv", newline="", encoding="utf-8") as fh:
        trips = list(csv.DictReader(fh))
    with open(out / "delegates.csv", newline="", encoding="utf-8") as fh:
        people = list(csv.DictReader(fh))
    return m, trips, people


@pytest.fixture(scope="module")
def som1(tmp_path_factory):
    out = tmp_path_factory.mktemp("trips") / "som1"
    assert main(["run", "som1_day", "--quiet", "--out", str(out), *QUIET_ROADS]) == 0
    return _read(out)


@pytest.fixture(scope="module")
def travel(tmp_path_factory):
    """Arrivals, departures, day visitors and vans: the model, and its outputs."""
    tmp = tmp_path_factory.mktemp("travel_trips")
    model = SummitModel(load_scenario(_scenario_file(tmp), TRAVEL_ROADS))
    model.run()
    write_run(model, tmp / "run")
    return model, *_read(tmp / "run")


def test_the_table_has_its_columns_and_one_row_per_trip(som1, travel):
    for m, trips, _ in (som1, travel[1:]):
        d = m["delegates"]
        assert d["person_trips"] == len(trips) > 0
        assert d["person_trips_by_purpose"] == {
            p: sum(t["purpose"] == p for t in trips) for p in PURPOSES}
        assert list(trips[0]) == ["person_id", "role", "purpose", "origin", "destination",
                                  "left_s", "arrived_s", "modes", "wait_min", "denied",
                                  "late_min", "status", "rides", "screening_min"]
        assert {t["status"] for t in trips} <= {"done", "under_way", "turned_away"}
    by_purpose = travel[1]["delegates"]["person_trips_by_purpose"]
    for p in ("to_session", "to_hotel", "home", "to_hub", "from_hub"):
        assert by_purpose[p] > 0, p


def test_gave_up_waiting_adds_up_over_the_purposes(som1, travel):
    for m, trips, _ in (som1, travel[1:]):
        d = m["delegates"]
        by = d["gave_up_waiting_by_purpose"]
        assert sum(by.values()) == d["gave_up_waiting"]
        # by_mode counts trips to sessions only
        assert by["to_session"] == d["by_mode"]["shuttle>car"]
        assert by == {p: sum(t["purpose"] == p and t["modes"] == "shuttle>car" for t in trips)
                      for p in PURPOSES}
    assert som1[0]["delegates"]["gave_up_waiting"] > som1[0]["delegates"]["by_mode"][
        "shuttle>car"] > 0


def test_session_rows_agree_with_delegates_csv(som1, travel):
    for _, trips, people in (som1, travel[1:]):
        rows: dict[str, list] = {}
        for t in trips:
            if t["purpose"] == "to_session":
                rows.setdefault(t["person_id"], []).append(t)
            else:
                assert t["late_min"] == ""
        for p in people:
            mine = rows.get(p["delegate_id"], [])
            assert len(mine) == int(p["sessions"])
            assert sum(t["late_min"] == "0" for t in mine) == int(p["on_time"])
            late = [float(t["late_min"]) for t in mine]
            assert (f"{max(late):.1f}" if late and max(late) != float("inf") else
                    ("inf" if late else "")) == p["late_min_max"]
            assert ";".join(t["modes"] for t in mine) == p["modes"]
            assert sum(int(t["denied"]) for t in mine) == int(p["denied"])
            if mine:
                wait = sum(float(t["wait_min"]) for t in mine)
                assert abs(wait - float(p["wait_min_total"])) <= 0.05 + 0.005 * len(mine)
            for t in mine:  # arrived: through screening
                assert (t["arrived_s"] != "") == (t["status"] == "done")


def test_the_on_time_rate_lateness_and_door_to_door_recompute_from_the_file(som1, travel):
    for m, trips, _ in (som1, travel[1:]):
        d = m["delegates"]
        sessions = [t for t in trips if t["purpose"] == "to_session"]
        assert len(sessions) == d["trips_to_sessions"]
        on_time = sum(t["late_min"] == "0" for t in sessions)
        assert round(on_time / len(sessions), 4) == d["on_time_rate"]
        late = [float(t["late_min"]) for t in sessions if t["arrived_s"]]
        assert round(float(np.percentile(late, 90)), 2) == pytest.approx(d["late_p90_min"],
                                                                         abs=0.011)
        assert round(max(late), 2) == pytest.approx(d["late_max_min"], abs=0.011)
        door = [(float(t["arrived_s"]) - float(t["left_s"])) / 60 for t in sessions
                if t["arrived_s"]]
        for q in (50, 90):
            assert round(float(np.percentile(door, q)), 2) == pytest.approx(
                d[f"door_to_door_p{q}_min"], abs=0.011)


def test_everyone_with_somewhere_to_go_has_a_trip(travel):
    model = travel[0]
    layer = model.summit
    going = [d for d in layer.delegates if d.state != "arriving"
             and (d.agenda or d.arrival or d.departure)]
    assert going
    for d in going:
        assert d.trips, d.guest.id
        assert sum(t.purpose == "session" for t in d.trips) == len(d.records)
    for d in layer.delegates:
        assert not d.trips or d.trips[0].origin == (d.arrival.hub if d.arrival else d.hotel_node)
    assert sum(len(d.trips) for d in layer.delegates) == len(travel[2])


def test_a_persons_trips_chain_on_the_som1_day(som1):
    _, trips, people = som1
    hotels = {p["delegate_id"]: p["hotel"] for p in people}
    by_person: dict[str, list] = {}
    for t in trips:
        by_person.setdefault(t["person_id"], []).append(t)
    # everyone but those with no session that day (they stay at the hotel) has trips
    assert {p["delegate_id"] for p in people if p["state"] != "at_hotel"} <= set(by_person)
    assert len(by_person) > 0.8 * len(people)
    for pid, mine in by_person.items():
        first = mine[0]
        assert first["origin"] == hotels[pid] or first["purpose"] == "from_hub"
        for a, b in itertools.pairwise(mine):
            assert b["origin"] == a["destination"], pid
            assert a["status"] in ("done", "turned_away")
            if a["arrived_s"] and b["left_s"]:
                assert float(b["left_s"]) >= float(a["arrived_s"]) - 0.1
        last = mine[-1]
        if last["status"] == "done" and last["purpose"] in ("to_hotel", "home"):
            assert last["destination"] == hotels[pid]

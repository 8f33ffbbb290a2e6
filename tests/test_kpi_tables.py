"""Every KPI the console prints can be recomputed from the tables of the run's output folder
alone (docs/kpis.md gives each one's definition, key and table): a summit day with shuttle
lines, vans, arrivals and departures by train and plane, day visitors and cars on the roads,
and a morning of 119 calls. The figures here come from the CSV files only (csv and numpy) and
must equal metrics.json: exactly for counts, within the tables' rounding for the rest."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import numpy as np
import pytest

from agents.summit.delegate import STATES
from sim.cli import main
from sim.model import SummitModel
from sim.outputs import write_run
from sim.scenario import load_scenario
from tests.test_emergency import NO_TRAFFIC
from tests.test_summit_travel import QUIET_ROADS, _scenario_file


def _rows(folder, name) -> list[dict]:
    with open(folder / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _num(x: str) -> float | None:
    return None if x == "" else float(x)


class Run:
    def __init__(self, folder):
        self.folder = folder
        self.metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        self.manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))

    def __getitem__(self, name: str) -> list[dict]:
        return _rows(self.folder, name)


@pytest.fixture(scope="module")
def summit(tmp_path_factory):
    """som1_day with arrivals and departures by KTX and air, day visitors by park-and-ride,
    vans on call, and the visitors' cars on the roads."""
    tmp = tmp_path_factory.mktemp("kpi_summit")
    model = SummitModel(load_scenario(_scenario_file(tmp), QUIET_ROADS))
    model.run()
    write_run(model, tmp / "run")
    return Run(tmp / "run")


@pytest.fixture(scope="module")
def emergency(tmp_path_factory):
    out = tmp_path_factory.mktemp("kpi_em") / "run"
    assert main(["run", "city_emergency", "--quiet", "--out", str(out), *NO_TRAFFIC,
                 "--set", 'start="06:00"', "--set", 'end="14:00"',
                 "--set", "emergency.rates.per_1000_per_day=1.5"]) == 0
    return Run(out)


def _pct(values, q) -> float:
    return float(np.percentile(values, q)) if len(values) else 0.0


# ---- traffic ---------------------------------------------------------------------------------
def test_traffic_rows_from_trips_csv(summit):
    m, trips = summit.metrics["traffic"], summit["trips.csv"]
    status = [t["status"] for t in trips]
    assert m["trips"] == len(trips) > 100
    for s in ("arrived", "en_route", "stuck", "abandoned"):
        assert m[s] == status.count(s), s
    assert m["forced"] == sum(t["status"] == "arrived" and t["forced"] == "1" for t in trips)
    km = sum(float(t["km"]) for t in trips)
    assert m["vehicle_km"] == pytest.approx(km, abs=0.05 + 0.0005 * len(trips))
    hours = sum(float(t["end_s"]) - float(t["depart_s"]) - float(t["held_s"])
                for t in trips) / 3600
    assert m["vehicle_hours"] == pytest.approx(hours, abs=0.05 + 0.15 * len(trips) / 3600)
    assert m["mean_speed_kmh"] == pytest.approx(km / hours, rel=1e-3)
    delays = [float(t["delay_s"]) / 60 for t in trips if t["status"] == "arrived"] or [0.0]
    assert m["delay_mean_min"] == pytest.approx(np.mean(delays), abs=0.002)
    assert m["delay_p90_min"] == pytest.approx(_pct(delays, 90), abs=0.002)


def test_closure_rows_from_trips_csv(summit):
    cl, trips = summit.metrics["traffic"]["closures"], summit["trips.csv"]
    held = [float(t["held_s"]) for t in trips]
    assert cl["trips_held"] == sum(h > 0 for h in held)
    assert cl["held_vehicle_hours"] == pytest.approx(sum(held) / 3600, abs=0.06)
    gone = [t for t in trips if t["status"] == "abandoned"]
    assert cl["abandoned_before_setting_off"] == sum(float(t["km"]) == 0 for t in gone)
    assert cl["abandoned_on_the_way"] == sum(float(t["km"]) > 0 for t in gone)


def test_peak_en_route_from_timeseries_csv(summit):
    m, series = summit.metrics["traffic"], summit["timeseries.csv"]
    en_route = [int(r["en_route"]) for r in series]
    i = int(np.argmax(en_route))  # the first minute of the peak
    assert (m["peak_en_route"], m["peak_en_route_s"]) == (en_route[i],
                                                          float(series[i]["time_s"]))
    assert m["peak_en_route"] > 0


def test_links_over_capacity_from_link_stats_csv(summit):
    links = [r for r in summit["link_stats.csv"] if int(r["entered"]) > 0]
    over = [4 * int(r["peak_15min_vehicles"]) > float(r["capacity_vph"]) for r in links]
    m = summit.metrics["traffic"]
    assert m["links_used"] == len(links)
    assert m["links_over_capacity_share"] == round(sum(over) / len(links), 4)


def test_corridors_from_corridors_csv(summit):
    by = defaultdict(list)
    for r in summit["corridors.csv"]:
        by[r["corridor"]].append(r)
    m = summit.metrics["traffic"]["corridors"]
    assert sorted(by) == sorted(m) and m  # (metrics.json sorts its keys)
    for name, rows in by.items():
        travel = np.array([float(r["travel_s"]) for r in rows])
        hourly = np.convolve(travel, np.ones(4) / 4, mode="valid")
        k = int(np.argmax(hourly))
        base = float(rows[0]["uncongested_s"])
        c = m[name]
        assert c["uncongested_min"] == pytest.approx(base / 60, abs=0.006)
        assert c["peak_hour_min"] == pytest.approx(hourly[k] / 60, abs=0.006)
        assert c["peak_ratio"] == pytest.approx(hourly[k] / base, abs=0.0006)
        assert c["peak_hour_start_s"] == float(rows[k]["bin_start_s"])


# ---- the summit --------------------------------------------------------------------------------
def test_people_from_delegates_csv(summit):
    d, people = summit.metrics["delegates"], summit["delegates.csv"]
    unplaced = sum(p["state"] == "unplaced" for p in people)
    assert d["total"] == len(people) == 2300
    assert d["day_visitors"] == sum(p["day_visitor"] == "1" for p in people) == 300
    assert d["unplaced"] == unplaced
    assert d["unaccounted"] == len(people) - unplaced - sum(p["state"] in STATES
                                                            for p in people) == 0


def _to_session(trips):
    return [t for t in trips if t["purpose"] == "to_session"]


def _stop_waits(rows):
    return [float(t["wait_min"]) for t in rows if t["arrived_s"]
            and (int(t["rides"]) > 0 or t["modes"] == "shuttle>car")]


def test_on_time_and_lateness_from_person_trips_csv(summit):
    d = summit.metrics["delegates"]
    rows = _to_session(summit["person_trips.csv"])
    assert d["trips_to_sessions"] == len(rows) > 1000
    assert d["on_time_rate"] == round(sum(float(t["late_min"]) == 0 for t in rows) / len(rows), 4)
    late = [float(t["late_min"]) for t in rows if t["arrived_s"]]
    assert max(late) > 0 and d["on_time_rate"] < 1
    assert d["late_p50_min"] == pytest.approx(_pct(late, 50), abs=0.006)
    assert d["late_p90_min"] == pytest.approx(_pct(late, 90), abs=0.006)
    assert d["late_max_min"] == pytest.approx(max(late), abs=0.006)


def test_stop_waits_and_door_to_door_from_person_trips_csv(summit):
    d = summit.metrics["delegates"]
    rows = _to_session(summit["person_trips.csv"])
    waits = _stop_waits(rows)
    assert len(waits) > 100
    assert d["wait_p50_min"] == pytest.approx(_pct(waits, 50), abs=0.006)
    assert d["wait_p90_min"] == pytest.approx(_pct(waits, 90), abs=0.006)
    door = [(float(t["arrived_s"]) - float(t["left_s"])) / 60 for t in rows
            if t["arrived_s"] and t["left_s"]]
    assert d["door_to_door_p50_min"] == pytest.approx(_pct(door, 50), abs=0.01)
    assert d["door_to_door_p90_min"] == pytest.approx(_pct(door, 90), abs=0.01)


def test_screening_wait_from_person_trips_csv(summit):
    rows = _to_session(summit["person_trips.csv"])
    waits = [float(t["screening_min"]) for t in rows if t["screening_min"]]
    # leaders and those turned away have no wait at the gates; everyone else through has one
    assert len(waits) == sum(1 for t in rows if t["arrived_s"] and t["role"] != "leader")
    assert summit.metrics["delegates"]["screening_p90_min"] == pytest.approx(
        _pct(waits, 90), abs=0.006)
    assert _pct(waits, 90) > 0


def test_left_by_a_full_bus_and_gave_up_from_person_trips_csv(summit):
    d, trips = summit.metrics["delegates"], summit["person_trips.csv"]
    denied = defaultdict(int)
    for t in trips:
        denied[t["person_id"]] += int(t["denied"])
    assert d["denied_boardings"] == sum(denied.values()) > 0
    assert d["people_denied_boarding"] == sum(n > 0 for n in denied.values()) > 0
    gave_up = [t for t in trips if t["modes"] == "shuttle>car"]
    assert d["gave_up_waiting"] == len(gave_up) > 0
    assert d["gave_up_waiting_by_purpose"]["to_session"] == sum(
        t["purpose"] == "to_session" for t in gave_up)


def test_wheelchair_users_from_delegates_and_person_trips_csv(summit):
    w = summit.metrics["delegates"]["wheelchair"]
    chair = {p["delegate_id"] for p in summit["delegates.csv"] if p["wheelchair"] == "1"}
    trips = [t for t in summit["person_trips.csv"] if t["person_id"] in chair]
    rows = _to_session(trips)
    assert w["people"] == len(chair) > 0
    assert w["trips_to_sessions"] == len(rows) > 0
    assert w["on_time_rate"] == round(sum(float(t["late_min"]) == 0 for t in rows) / len(rows),
                                      4)
    waits = _stop_waits(rows)
    assert w["wait_p90_min"] == (pytest.approx(_pct(waits, 90), abs=0.006) if waits else None)
    assert w["gave_up_waiting"] == sum(t["modes"] == "shuttle>car" for t in trips)


def test_shuttle_rows_from_lines_csv(summit):
    sh, lines = summit.metrics["shuttles"], summit["lines.csv"]
    assert sorted(ln["line"] for ln in lines) == sorted(sh["by_line"])
    assert sh["fleet"] == sum(int(ln["buses"]) for ln in lines) > 0
    assert sh["km"] == pytest.approx(sum(float(ln["km"]) for ln in lines),
                                     abs=0.05 * (len(lines) + 1))
    pkm = sum(float(ln["passenger_km"]) for ln in lines)
    skm = sum(float(ln["seat_km"]) for ln in lines)
    assert sh["load_factor"] == pytest.approx(pkm / skm, abs=2e-4) and pkm > 0
    assert sh["peak_hour_max_load_share"] == max(float(ln["max_load_share"]) for ln in lines)
    idle = [ln["line"] for ln in lines if int(ln["boardings"]) == 0]
    assert idle == [ln["line"] for ln in lines if ln["carried_nobody"] == "1"]
    assert sorted(idle) == [n for n, ln in sh["by_line"].items() if ln["carried_nobody"]]


def test_arrivals_and_departures_by_hub_from_the_tables(summit):
    d = summit.metrics["delegates"]
    people = summit["delegates.csv"]
    reached = {t["person_id"]: _num(t["arrived_s"]) for t in summit["person_trips.csv"]
               if t["purpose"] == "to_hub"}
    leaving = {p["delegate_id"]: float(p["departure_s"]) for p in people if p["departure_s"]}
    assert d["arrived_by_hub"] == sum(p["arrival_s"] != "" for p in people) > 0
    assert d["left_by_hub"] == len(leaving) > 0
    assert d["missed_departures"] == sum(reached.get(who) is None or reached[who] > t
                                         for who, t in leaving.items())


def test_demand_responsive_from_drt_requests_csv(summit):
    sh, reqs = summit.metrics["shuttles"], summit["drt_requests.csv"]
    assert sh["drt_served"] == sum(r["status"] == "delivered" for r in reqs) > 0
    assert sh["drt_rejected"] == sum(r["status"] == "refused" for r in reqs) > 0
    assert sh["drt_requests"] == len(reqs)
    waits = [(float(r["boarded_s"]) - float(r["requested_s"])) / 60 for r in reqs
             if r["boarded_s"]]
    assert sh["drt_wait_p90_min"] == pytest.approx(_pct(waits, 90), abs=0.006)


# ---- emergency -------------------------------------------------------------------------------
def test_emergency_rows_from_incidents_units_and_coverage_csv(emergency):
    em = emergency.metrics["emergency"]
    spec = emergency.manifest["scenario"]["emergency"]
    incs: dict[str, list] = defaultdict(list)
    for r in emergency["incidents.csv"]:
        incs[r["incident_id"]].append(r)
    assert em["incidents"] == len(incs) > 10
    first = {}
    for i, rows in incs.items():
        on = [float(r["on_scene_s"]) for r in rows if r["on_scene_s"]]
        if on:
            first[i] = min(on) - float(rows[0]["call_s"])
    assert em["served"] == len(first) and em["unserved"] == len(incs) - len(first)
    delays = list(first.values())
    assert em["call_to_arrival_p50_s"] == pytest.approx(_pct(delays, 50), abs=0.15)
    assert em["call_to_arrival_p90_s"] == pytest.approx(_pct(delays, 90), abs=0.15)
    target = spec["coverage_target_min"] * 60
    assert em["within_7min_rate"] == round(sum(x <= target for x in delays) / len(incs), 4)
    assert em["er_diversions"] == sum(int(r["er_diverted"]) for rows in incs.values()
                                      for r in rows)
    units = emergency["units.csv"]
    busy = sum(float(u["busy_s"]) for u in units)
    duty = sum(float(u["on_duty_s"]) for u in units)
    assert em["unit_utilization"]["all"] == pytest.approx(busy / duty, abs=2e-4) and busy > 0
    cover = emergency["coverage.csv"]
    headline = [min(float(r[k]) for k in spec["coverage_types"]) for r in cover]
    assert em["coverage_min"] == pytest.approx(min(headline), abs=1e-4)
    below = sum(h < spec["coverage_target_share"] for h in headline)
    assert em["coverage_minutes_below_target"] == below * spec["coverage_interval_min"]

"""Whole runs: outputs and their column contracts, conservation on every shipped scenario,
determinism, and clear errors for bad scenarios."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from sim.cli import main
from sim.outputs import LINK_COLUMNS, LINK_HOUR_COLUMNS, TIMESERIES_COLUMNS
from sim.trip_csv import TRIP_COLUMNS

SCENARIOS = sorted(Path(__file__).resolve().parents[1].glob("scenarios/*.toml"))
# a short morning window keeps the suite fast; the peak is inside it
WINDOW = ["--set", "start=\"07:00\"", "--set", "end=\"08:30\""]


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def weekday_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "weekday"
    assert main(["run", "normal_weekday", "--seed", "3", "--out", str(out), "--quiet",
                 *WINDOW]) == 0
    return out


def test_outputs_and_their_columns(weekday_run):
    names = sorted(p.name for p in weekday_run.iterdir())
    assert names == ["congestion_map.png", "corridors.csv", "link_hours.csv", "link_stats.csv",
                     "manifest.json", "metrics.json", "report.html", "timeseries.csv", "trips.csv"]
    for name, cols in (("trips.csv", TRIP_COLUMNS), ("link_stats.csv", LINK_COLUMNS),
                       ("timeseries.csv", TIMESERIES_COLUMNS),
                       ("link_hours.csv", LINK_HOUR_COLUMNS)):
        with open(weekday_run / name, newline="") as fh:
            assert next(csv.reader(fh)) == cols
    assert TRIP_COLUMNS == ["trip_id", "kind", "origin", "destination", "depart_s", "arrive_s",
                            "km", "free_flow_s", "delay_s", "status", "forced", "held_s",
                            "end_s"]
    assert LINK_COLUMNS == ["link_id", "from_node", "to_node", "entered", "exited",
                            "max_queue", "mean_tt_s", "max_tt_s", "seconds_at_capacity", "road",
                            "road_class", "length_m", "uncongested_s", "capacity_vph",
                            "peak_15min_vehicles"]
    assert LINK_HOUR_COLUMNS == ["link_id", "hour_start_s", "clock", "vehicles", "mean_tt_s"]
    manifest = json.loads((weekday_run / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["versions"]["mesa"]


def test_trip_statuses_add_up(weekday_run):
    with open(weekday_run / "trips.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    m = json.loads((weekday_run / "metrics.json").read_text())["traffic"]
    statuses = [r["status"] for r in rows]
    assert len(rows) == m["trips"] > 5000
    assert statuses.count("arrived") == m["arrived"]
    assert m["trips"] == m["arrived"] + m["en_route"] + m["stuck"] + m["abandoned"]
    assert set(statuses) <= {"arrived", "en_route", "stuck"}
    for r in rows[:2000]:
        if r["status"] == "arrived":
            total = float(r["arrive_s"]) - float(r["depart_s"])
            assert float(r["delay_s"]) == pytest.approx(total - float(r["free_flow_s"]), abs=0.2)


def test_same_seed_same_bytes_other_seed_differs(tmp_path, weekday_run):
    again = tmp_path / "again"
    assert main(["run", "normal_weekday", "--seed", "3", "--out", str(again), "--quiet",
                 *WINDOW]) == 0
    for name in ("metrics.json", "trips.csv", "link_stats.csv", "timeseries.csv"):
        assert (again / name).read_bytes() == (weekday_run / name).read_bytes(), name
    other = tmp_path / "other"
    assert main(["run", "normal_weekday", "--seed", "4", "--out", str(other), "--quiet",
                 *WINDOW]) == 0
    assert (other / "trips.csv").read_bytes() != (weekday_run / "trips.csv").read_bytes()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_shipped_scenario_validates_runs_and_conserves(tmp_path, capsys, path):
    code, out, _ = run_cli(capsys, "validate", str(path))
    assert code == 0 and "valid" in out
    out_dir = tmp_path / path.stem
    code, out, _ = run_cli(capsys, "run", str(path), "--out", str(out_dir), "--quiet", *WINDOW)
    assert code == 0
    metrics = json.loads((out_dir / "metrics.json").read_text())
    m = metrics["traffic"]
    assert m["trips"] == m["arrived"] + m["en_route"] + m["stuck"] + m["abandoned"]
    if "delegates" in metrics:  # every person placed is in exactly one state, none lost
        d, sh = metrics["delegates"], metrics["shuttles"]
        assert d["unaccounted"] == 0
        assert sum(d["states_at_end"].values()) == d["total"] - d["unplaced"]
        assert sh["peak_occupancy"] <= 1.0
        if sh["drt_served"] is not None:
            assert sh["drt_requests"] == sh["drt_served"] + sh["drt_rejected"] + \
                sh["drt_open_at_end"]
    assert str(out_dir) in out


def test_less_demand_less_delay(tmp_path):
    def delay(scale):
        out = tmp_path / f"s{scale}"
        assert main(["run", "normal_weekday", "--out", str(out), "--quiet", *WINDOW,
                     "--set", f"traffic.demand_scale={scale}",
                     "--set", "outputs.congestion_map=false"]) == 0
        return json.loads((out / "metrics.json").read_text())["traffic"]["delay_mean_min"]

    assert delay(0.5) < delay(1.5)


@pytest.mark.parametrize("args, message", [
    (["--set", "traffic.demand_scle=2"], "traffic.demand_scle"),
    (["--set", "traffic.demand_scale=-1"], "traffic.demand_scale = -1"),
    (["--set", "weather=hail"], "weather.condition = 'hail'"),
    (["--set", "start=\"25:99\""], "'25:99' is not a time"),
    (["--set", "closures=[{road=\"Nowhere-ro\", start=\"08:00\", end=\"09:00\"}]"],
     "road 'Nowhere-ro' is not in the network"),
    (["--set", "traffic"], "expected path=value"),
])
def test_bad_scenario_input_is_named_and_nothing_is_written(tmp_path, capsys, args, message):
    out = tmp_path / "never"
    code, _, err = run_cli(capsys, "run", "normal_weekday", "--out", str(out), "--quiet", *args)
    assert code == 2
    assert message in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_unknown_scenario_lists_the_shipped_ones(capsys):
    code, _, err = run_cli(capsys, "run", "no_such_day")
    assert code == 2 and "normal_weekday" in err


def test_typo_in_a_field_gets_a_suggestion(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[trafic]\ndaily_trips = 5\n', encoding="utf-8")
    code, _, err = run_cli(capsys, "validate", str(bad))
    assert code == 2 and "trafic" in err and "did you mean 'traffic'" in err

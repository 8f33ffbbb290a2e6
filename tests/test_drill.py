"""Drill review: an observed log against a short scripted-incident scenario over a few seeds
(table, charts, all in one folder written whole); malformed logs are named by row, exit code 2,
nothing written; the shipped sample log fits the shipped drill scenario."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from sim.cli import main
from sim.emergency.drill import TABLE_COLUMNS, read_log
from sim.scenario import load_scenario
from sim.whatif.runner import replicate_seeds

# a morning of the city's calls, quiet roads, and one scripted fire at HICO at 08:10
DRILL_TOML = """
base = "{base}"
name = "Short drill"
date = "2025-10-31"
start = "08:00"
end = "09:30"

[traffic]
daily_trips = 0
external = []

[outputs]
congestion_map = false

[emergency]
turnout_sigma = 0.3

[emergency.rates]
per_1000_per_day = 0

[[emergency.scripted]]
name = "Test fire"
type = "building_fire"
place = "HICO"
at = "08:10"
on_scene_min = 30
patients = 1
critical_share = 0
"""

LOG = """incident,unit,stage,timestamp
Test fire,,call,08:10:00
Test fire,Bomun 119 Safety Centre pumper 1,dispatch,08:11:00
Test fire,Bomun 119 Safety Centre pumper 1,on_scene,08:14:45
Test fire,Bomun 119 Safety Centre pumper 1,clear,2025-10-31 08:45:00
Test fire,Gyeongju Fire Station aerial ladder 1,on_scene,09:05:00
"""


MMSS = re.compile(r"^\d{2,}:\d{2}$")


def _seconds(mmss: str) -> int:
    minutes, seconds = mmss.split(":")
    return int(minutes) * 60 + int(seconds)


@pytest.fixture
def drill(tmp_path):
    from sim.scenario import SCENARIO_DIR

    path = tmp_path / "short_drill.toml"
    path.write_text(DRILL_TOML.format(base=(SCENARIO_DIR / "city_emergency.toml").as_posix()),
                    encoding="utf-8")
    return path


def _drill(tmp_path, scenario, log_text, *extra, name="review"):
    log = tmp_path / "log.csv"
    log.write_text(log_text, encoding="utf-8")
    out = tmp_path / name
    code = main(["drill", str(scenario), "--observed", str(log), "--out", str(out), *extra])
    return code, out


def test_a_drill_review_writes_the_table_and_a_chart_per_unit(tmp_path, drill, capsys):
    code, out = _drill(tmp_path, drill, LOG, "--seeds", "3")
    assert code == 0
    printed = capsys.readouterr().out
    rows = list(csv.reader((out / "drill_table.csv").open(encoding="utf-8")))
    assert rows[0] == TABLE_COLUMNS
    body = {(r[1], r[2]): dict(zip(TABLE_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert len(body) == 4  # the call row anchors the times, it is not compared
    pumper = "Bomun 119 Safety Centre pumper 1"
    dispatch = body[(pumper, "dispatch")]
    # one minute's call handling in every run: a dispatch one minute after the call fits
    assert dispatch["sim_median_mmss"] == dispatch["sim_p5_mmss"] == "01:00"
    assert dispatch["observed_mmss"] == "01:00" and dispatch["observed_clock"] == "08:11:00"
    assert dispatch["flag"] == "" and dispatch["sim_runs"] == dispatch["runs"] == "3"
    on_scene = body[(pumper, "on_scene")]
    assert on_scene["observed_mmss"] == "04:45"
    assert _seconds(on_scene["sim_p5_mmss"]) <= _seconds(on_scene["sim_median_mmss"]) <= \
        _seconds(on_scene["sim_p95_mmss"])
    # 55 minutes for a trip the model makes in about 15: flagged
    ladder = body[("Gyeongju Fire Station aerial ladder 1", "on_scene")]
    assert ladder["flag"] == "later than band" and ladder["observed_mmss"] == "55:00"
    assert "<< LATER THAN BAND" in printed and "Short drill" in printed
    # one time format: every time after the call is mm:ss, in the file and on the console
    for row in body.values():
        for column in ("observed_mmss", "sim_median_mmss", "sim_p5_mmss", "sim_p95_mmss"):
            assert MMSS.match(row[column]), (column, row[column])
    assert "04:45" in printed and "55:00" in printed and "4.75" not in printed
    # three runs make a rough band, and the review says so, with the number
    assert "the 5-95% band comes from only 3 runs" in printed
    assert "3 runs" in json.loads((out / "drill.json").read_text())["band_note"]
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == ["timeline_bomun_119_safety_centre_pumper_1.png",
                    "timeline_gyeongju_fire_station_aerial_ladder_1.png"]
    assert all((out / p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    assert not list(tmp_path.glob(".review*"))  # no temporary folder left behind


def test_the_same_seeds_give_the_same_table(tmp_path, drill):
    _, first = _drill(tmp_path, drill, LOG, "--seeds", "2", name="a")
    _, again = _drill(tmp_path, drill, LOG, "--seeds", "2", name="b")
    assert (first / "drill_table.csv").read_bytes() == (again / "drill_table.csv").read_bytes()


def test_the_review_is_the_same_whatever_the_number_of_workers(tmp_path, drill, capsys):
    code, one = _drill(tmp_path, drill, LOG, "--seeds", "2", "--workers", "1", name="one")
    printed_one = capsys.readouterr().out
    code2, two = _drill(tmp_path, drill, LOG, "--seeds", "2", "--workers", "2", name="two")
    printed_two = capsys.readouterr().out
    assert code == code2 == 0
    for name in ("drill_table.csv", "drill.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes()
    assert printed_one.replace("one/", "two/") == printed_two
    summary = json.loads((one / "drill.json").read_text())
    # the what-if runner's replicate seeds of the scenario's seed (1), as compare would run them
    assert summary["seeds"] == replicate_seeds(1, 2) and summary["base_seed"] == 1


def test_the_review_on_a_dask_cluster_is_the_review_on_this_machine(tmp_path, drill):
    distributed = pytest.importorskip("distributed")
    code, local = _drill(tmp_path, drill, LOG, "--seeds", "2", "--workers", "1", name="local")
    assert code == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        code, remote = _drill(tmp_path, drill, LOG, "--seeds", "2", "--scheduler",
                              cluster.scheduler_address, name="remote")
    assert code == 0
    for name in ("drill_table.csv", "drill.json"):
        assert (remote / name).read_bytes() == (local / name).read_bytes(), name


def test_the_seeds_are_the_what_if_replicates_of_the_base_seed(tmp_path, drill, monkeypatch):
    """--seeds N and --seed BASE pick the runs as compare and sweep do; --scheduler is taken."""
    from sim.emergency import drill as drill_module

    asked = []

    def fake_simulate(scenario, seeds, wanted, backend):
        asked.append((list(seeds), backend.describe()))
        return [{"seed": s, "calls": {}, "times": {}} for s in seeds]

    monkeypatch.setattr(drill_module, "simulate", fake_simulate)
    code, out = _drill(tmp_path, drill, LOG, "--seeds", "3", "--seed", "7", "--workers", "1")
    assert code == 0
    assert asked == [(replicate_seeds(7, 3), "1 local worker")]
    assert json.loads((out / "drill.json").read_text())["base_seed"] == 7
    # the first replicates do not depend on how many are asked for: 3 seeds extend 2
    assert drill_module.seeds_for(load_scenario(drill), 2, 7) == replicate_seeds(7, 3)[:2]


def test_the_shipped_log_is_found_by_name(tmp_path, monkeypatch):
    from sim.emergency.drill import drill_log_path
    from sim.scenario import SCENARIO_DIR

    monkeypatch.chdir(tmp_path)  # far from the checkout's scenarios/
    shipped = SCENARIO_DIR / "drills" / "hico_fire_drill_observed.csv"
    assert drill_log_path("hico_fire_drill_observed") == shipped
    assert drill_log_path("hico_fire_drill_observed.csv") == shipped
    assert drill_log_path("none") == Path("none")
    (tmp_path / "hico_fire_drill_observed.csv").write_text("own", encoding="utf-8")
    assert drill_log_path("hico_fire_drill_observed.csv") == Path("hico_fire_drill_observed.csv")


def test_a_band_from_ten_runs_carries_no_warning():
    from sim.emergency.drill import band_note

    assert band_note(10) == "" and band_note(50) == ""
    assert "only 1 run;" in band_note(1) and "--seeds 10" in band_note(9)


@pytest.mark.parametrize("log, message", [
    ("incident,unit,timestamp\nTest fire,x,08:00\n",
     "row 1 (header): missing column 'stage'"),
    (LOG + "Test fire,Bomun 119 Safety Centre pumper 1,arrived,08:15:00\n",
     "row 7: unknown stage 'arrived'; stages: call, dispatch, en_route, on_scene"),
    (LOG + "Test fire,Bomun 119 Safety Centre pumper 1,en_route,8h12\n",
     "row 7: bad timestamp '8h12' is not a time"),
    (LOG + "Test fire,Bomun 119 Safety Centre pumper 1,en_route,25:99\n",
     "row 7: bad timestamp '25:99' is not a time"),
    (LOG + "Test fire,Engine 7,en_route,08:12:00\n", "row 7: unknown unit 'Engine 7'"),
    (LOG + "Fire at the zoo,Engine 7,en_route,08:12:00\n",
     "row 7: unknown incident 'Fire at the zoo'; the scenario's scripted incidents: 'Test fire'"),
    (LOG + "Test fire,,on_scene,08:12:00\n", "row 7: unit is empty; stage 'on_scene' needs a unit"),
    (LOG + "Test fire,Bomun 119 Safety Centre pumper 1,dispatch,08:11:30\n",
     "row 7: the same incident, unit and stage as row 3"),
    (LOG.replace("2025-10-31", "2025-11-01"),
     "row 5: bad timestamp '2025-11-01 08:45:00': the date 2025-11-01 is not the scenario's "
     "date (2025-10-31)"),
    ("incident,unit,stage,timestamp\n", "no observations after the header row"),
])
def test_a_malformed_log_is_named_by_row_and_nothing_is_written(tmp_path, drill, capsys, log,
                                                                  message):
    code, out = _drill(tmp_path, drill, log)
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert not list(tmp_path.glob(".review*"))


def test_a_missing_log_and_a_scenario_without_emergency_layer_are_input_errors(tmp_path,
                                                                               capsys):
    code = main(["drill", "hico_fire_drill", "--observed", str(tmp_path / "none.csv"),
                 "--out", str(tmp_path / "o")])
    assert code == 2 and "does not exist" in capsys.readouterr().err
    code, out = _drill(tmp_path, "normal_weekday", LOG)
    assert code == 2 and "has no emergency layer" in capsys.readouterr().err
    assert not out.exists()


def test_the_shipped_sample_log_fits_the_drill_scenario():
    from sim.scenario import SCENARIO_DIR

    scenario = load_scenario("hico_fire_drill")
    obs = read_log(SCENARIO_DIR / "drills" / "hico_fire_drill_observed.csv", scenario)
    assert len(obs) > 20
    assert {o.incident for o in obs} == {s.name for s in scenario.emergency.scripted}
    assert {"call", "dispatch", "en_route", "on_scene", "transport", "hospital"} <= \
        {o.stage for o in obs}

"""Calibration recovers parameters that made the observations: observations written from a
run of the model with known values, calibration started elsewhere, the known values found."""

from __future__ import annotations

import json
import re

import pytest

from sim.calibration.fit import fit_run
from sim.calibration.observed import load_observations
from sim.cli import main
from sim.scenario import load_scenario

TRUTH = {"traffic.demand_scale": 1.3, "traffic.signal_cycle_s": 160.0}
SOURCE = "synthetic,test,2026,https://example.org/synthetic,made by the model,no"


def _grid_scenario(folder, net_path) -> str:
    """Two zones at opposite corners of the test grid and a flat day."""
    text = f"""
name = "grid day"
start = "00:00"
end = "24:00"
seed = 3
[network]
file = "{net_path}"
[outputs]
congestion_map = false
[traffic]
daily_trips = 6000
contract_chains = false
[traffic.profile]
hourly = {[1 / 24] * 24}
[[traffic.zones]]
name = "west"
population = 1000
jobs = 200
lat = 35.85
lon = 129.21
nodes = ["n00", "n10"]
[[traffic.zones]]
name = "east"
population = 200
jobs = 1000
lat = 35.8554
lon = 129.2166
nodes = ["n22", "n12"]
"""
    path = folder / "grid.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory, grid_spec_module):
    """A scenario, and observations written from a run of it with the TRUTH values."""
    tmp = tmp_path_factory.mktemp("cal")
    net = tmp / "net.json"
    net.write_text(json.dumps(grid_spec_module), encoding="utf-8")
    scen = _grid_scenario(tmp, net)
    truth_run = tmp / "truth"
    sets = [x for k, v in TRUTH.items() for x in ("--set", f"{k}={v}")]
    assert main(["run", scen, "--out", str(truth_run), "--quiet", *sets]) == 0
    obs = tmp / "obs"
    obs.mkdir()
    links = [line.split(",") for line in
             (truth_run / "link_stats.csv").read_text().splitlines()[1:]]
    seen, counts = set(), []
    for cells in links:
        a, b, entered = cells[1], cells[2], int(cells[3])
        if frozenset((a, b)) in seen or entered == 0:
            continue
        seen.add(frozenset((a, b)))
        back = next((int(c[3]) for c in links if c[1] == b and c[2] == a), 0)
        counts.append((a, b, entered + back))
    rows = [f"C{i},road,site,{a},{b},,,{n},2026,veh/day,,{SOURCE},{'yes' if i % 3 == 2 else 'no'},"
            for i, (a, b, n) in enumerate(counts)]
    (obs / "counts.csv").write_text(
        "id,road,site,from_node,to_node,lat,lon,aadt,year,unit,period,source_title,"
        "source_publisher,source_year,source_url,source_where,estimate,holdout,note\n"
        + "\n".join(rows) + "\n", encoding="utf-8")
    # route times as the truth run measured them
    pairs = [("n00", "n22"), ("n22", "n00"), ("n10", "n12"), ("n12", "n10"), ("n00", "n12")]
    head = ("id,origin,destination,origin_node,destination_node,period,depart_from,depart_to,"
            "minutes,mode,source_title,source_publisher,source_year,source_url,source_where,"
            "estimate,holdout,note\n")
    draft = obs / "travel_times.csv"
    draft.write_text(head + "".join(f"T{i},{a},{b},{a},{b},midday,,,1.0,car,{SOURCE},no,\n"
                                    for i, (a, b) in enumerate(pairs)), encoding="utf-8")
    measured = {r["id"]: r["model_min"] for r in
                fit_run(truth_run, load_observations(obs))["travel_times"]["rows"]}
    draft.write_text(head + "".join(
        f"T{i},{a},{b},{a},{b},midday,,,{measured[f'T{i}']},car,{SOURCE},"
        f"{'yes' if i == 4 else 'no'},\n" for i, (a, b) in enumerate(pairs)), encoding="utf-8")
    return scen, obs


@pytest.fixture(scope="module")
def grid_spec_module():
    from conftest import _grid

    return _grid()


def test_calibration_recovers_known_parameters(synthetic, tmp_path, capsys):
    scen, obs = synthetic
    out = tmp_path / "calibrated.toml"
    report = tmp_path / "report"
    assert main(["calibrate", scen, "--param", "traffic.demand_scale=0.6:2.0",
                 "--param", "traffic.signal_cycle_s=60:240", "--observed", str(obs),
                 "--out", str(out), "--report", str(report), "--budget", "40",
                 "--workers", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "objective" in printed
    calibrated = load_scenario(out)
    assert calibrated.traffic.demand_scale == pytest.approx(1.3, rel=0.05)
    assert calibrated.traffic.signal_cycle_s == pytest.approx(160.0, rel=0.1)
    record = calibrated.calibration  # what the console prints of it
    assert record.params["traffic.demand_scale"] == calibrated.traffic.demand_scale
    assert record.count_sites + record.holdout_count_sites == len(
        load_observations(obs).counts)
    assert record.routes == 4 and record.holdout_routes == 1
    assert record.geh_under_5_share == 1.0 and record.within_15pct_share == 1.0
    capsys.readouterr()
    assert main(["run", str(out), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert re.search(r"fit to observed data \(as calibrated\) +counts GEH<5 100% of \d+ ",
                     capsys.readouterr().out)
    # started from the scenario's own values (1.0 and 120 s), and got much better
    best = json.loads((report / "calibration.json").read_text())
    assert best["start"]["params"] == {"traffic.demand_scale": 1.0,
                                       "traffic.signal_cycle_s": 120.0}
    assert best["best"]["objective"] < 0.05 * best["start"]["objective"]
    assert {"history.csv", "convergence.png", "calibration.json"} <= {
        p.name for p in report.iterdir()}
    text = out.read_text()
    assert text.startswith("# summit-sim-output-v1") and "hold-out" in text
    # a second time without --force: refused, the calibrated file kept
    assert main(["calibrate", scen, "--param", "traffic.demand_scale=0.6:2.0",
                 "--observed", str(obs), "--out", str(out), "--report", str(report),
                 "--budget", "2", "--quiet"]) == 2
    assert out.read_text() == text


def test_a_value_inside_a_list_is_written_as_its_whole_list(synthetic, tmp_path):
    """Lists replace their base's, so the calibrated file carries the whole list."""
    scen, obs = synthetic
    out = tmp_path / "zones.toml"
    assert main(["calibrate", scen, "--param", "traffic.zones.0.population=500:3000",
                 "--observed", str(obs), "--out", str(out), "--report",
                 str(tmp_path / "report"), "--budget", "3", "--workers", "1", "--quiet"]) == 0
    calibrated = load_scenario(out)
    original = load_scenario(scen)
    assert [z.name for z in calibrated.traffic.zones] == ["west", "east"]
    assert calibrated.traffic.zones[1] == original.traffic.zones[1]
    assert calibrated.traffic.zones[0].population == \
        calibrated.calibration.params["traffic.zones.0.population"]


@pytest.mark.parametrize("param, words", [
    ("traffic.demand_scale=2:1", ["LOW", "below HIGH"]),
    ("traffic.nothing=1:2", ["nothing"]),
    ("traffic.demand_scale=0.5:20", ["demand_scale", "10"]),
])
def test_bad_parameters_are_refused_before_any_run(synthetic, tmp_path, capsys, param, words):
    scen, obs = synthetic
    assert main(["calibrate", scen, "--param", param, "--observed", str(obs),
                 "--out", str(tmp_path / "c.toml"), "--quiet"]) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err
    assert not (tmp_path / "c.toml").exists()

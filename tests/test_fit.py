"""The fit of a run to observations: GEH and travel-time checks against hand-worked values, and
a run whose counts and times are known from theory."""

from __future__ import annotations

import json
import math

import pytest
from traffic_helpers import line_network, run, scenario

from sim.calibration import goodness
from sim.calibration.fit import fit_run
from sim.calibration.observed import load_observations
from sim.cli import main
from sim.errors import InputError
from sim.outputs import write_run

SOURCE = "t,p,2024,https://example.org/table,table 1,no"
COUNT_HEAD = ("id,road,site,from_node,to_node,lat,lon,aadt,year,unit,period,source_title,"
              "source_publisher,source_year,source_url,source_where,estimate,holdout,note\n")
TIME_HEAD = ("id,origin,destination,origin_node,destination_node,period,depart_from,depart_to,"
             "minutes,mode,source_title,source_publisher,source_year,source_url,source_where,"
             "estimate,holdout,note\n")


def test_geh_hand_worked():
    # sqrt(2 * 100^2 / 2100) = sqrt(9.5238) = 3.086
    assert goodness.geh(1100, 1000) == pytest.approx(3.0861, abs=1e-4)
    # sqrt(2 * 300^2 / 500) = sqrt(360) = 18.974
    assert goodness.geh(100, 400) == pytest.approx(18.9737, abs=1e-4)
    assert goodness.geh(0, 0) == 0.0
    assert goodness.geh(500, 500) == 0.0
    # a day's count is taken as its mean hour: 26,400 and 24,000 a day are 1,100 and 1,000
    assert goodness.geh_daily(26_400, 24_000) == pytest.approx(3.0861, abs=1e-4)


def test_travel_time_tolerance_hand_worked():
    assert goodness.time_within(34.4 * 60, 30 * 60)  # 14.7% over
    assert not goodness.time_within(34.6 * 60, 30 * 60)  # 15.3% over
    assert goodness.time_within(25.6 * 60, 30 * 60)  # 14.7% under
    assert goodness.time_within(4.9 * 60, 4 * 60)  # 22% over but within a minute
    assert not goodness.time_within(5.1 * 60, 4 * 60)
    assert goodness.share([True, False, True, True]) == 0.75
    assert goodness.accepted(0.85) and not goodness.accepted(0.8499)


@pytest.fixture(scope="module")
def line_run(tmp_path_factory):
    """600 veh/h for two hours over two 1 km expressway links at 60 km/h: 1,200 vehicles on
    each link, 120 s from end to end (far below capacity: no queue, no junction)."""
    tmp = tmp_path_factory.mktemp("line")
    net = line_network(tmp, [{"length_km": 1.0, "speed_kmh": 60},
                             {"length_km": 1.0, "speed_kmh": 60}])
    sc = scenario(net, od=[{"origin": "n0", "destination": "n2", "vph": 600, "start": "00:00",
                            "end": "02:00", "arrivals": "uniform"}])
    out = tmp / "run"
    write_run(run(sc), out)
    return out


def _observed(tmp_path, counts="", times="", *, parallel=False):
    folder = tmp_path / "obs"
    folder.mkdir(parents=True)
    head = COUNT_HEAD.replace("note\n", "note,parallel_links\n") if parallel else COUNT_HEAD
    (folder / "counts.csv").write_text(head + counts, encoding="utf-8")
    (folder / "travel_times.csv").write_text(TIME_HEAD + times, encoding="utf-8")
    return folder


def test_fit_of_a_run_with_known_counts_and_times(line_run, tmp_path):
    folder = _observed(
        tmp_path,
        counts=f"A,segment 0,a,n0,n1,,,1000,2024,veh/day,,{SOURCE},no,\n"
               f"B,segment 1,b,n1,n2,,,1200,2024,veh/day,,{SOURCE},yes,\n"
               f"H,segment 0,a,n0,n1,,,300,2024,veh/h,00-02,{SOURCE},no,\n",
        times=f"R,west,east,n0,n2,night,00:00,02:00,2.0,car,{SOURCE},no,\n"
              f"S,west,east,n0,n2,night,00:00,02:00,3.0,car,{SOURCE},yes,\n")
    fit = fit_run(line_run, load_observations(folder))
    rows = {r["id"]: r for r in fit["counts"]["rows"]}
    assert rows["A"]["model"] == 1200 and rows["B"]["model"] == 1200
    # the mean hours 50 and 41.67: sqrt(2 * 8.333^2 / 91.67) = 1.231
    assert rows["A"]["geh"] == pytest.approx(1.23, abs=0.01)
    assert rows["B"]["geh"] == 0.0
    assert "3 h of the day" in rows["A"]["note"]
    # an hourly count over 00-02 where they set off: 600 an hour against 300:
    # sqrt(2 * 300^2 / 900) = 14.14
    assert rows["H"]["model"] == 600 and rows["H"]["geh"] == pytest.approx(14.14, abs=0.01)
    assert fit["counts"]["geh_under_5_share"] == 0.5  # A passes, H fails
    assert fit["counts"]["fitted_sites"] == 2 and fit["counts"]["holdout_sites"] == 1
    assert fit["counts"]["holdout_geh_under_5_share"] == 1.0
    times = {r["id"]: r for r in fit["travel_times"]["rows"]}
    assert times["R"]["model_min"] == pytest.approx(2.0, rel=0.01)
    assert times["R"]["within_15pct"] and not times["S"]["within_15pct"]
    assert fit["travel_times"]["within_15pct_share"] == 1.0
    assert fit["travel_times"]["holdout_within_15pct_share"] == 0.0


def test_fit_command_json_and_outputs(line_run, tmp_path, capsys):
    folder = _observed(tmp_path, counts=f"A,segment 0,a,n0,n1,,,1000,2024,veh/day,,{SOURCE},no,\n",
                       times=f"R,west,east,n0,n2,night,00:00,02:00,2.0,car,{SOURCE},no,\n")
    out = tmp_path / "fit"
    assert main(["fit", str(line_run), "--observed", str(folder), "--out", str(out),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary) == {"counts", "travel_times", "emergency"}
    assert {"sites", "geh_under_5_share", "holdout_geh_under_5_share"} <= set(summary["counts"])
    assert {"routes", "within_15pct_share", "holdout_within_15pct_share",
            "mean_ratio"} <= set(summary["travel_times"])
    assert {"observed", "model"} <= set(summary["emergency"])
    assert {p.name for p in out.iterdir()} >= {"fit.json", "fit_counts.csv", "fit_times.csv",
                                               "fit_scatter.png"}
    # again without --force: refused, the earlier fit kept
    assert main(["fit", str(line_run), "--observed", str(folder), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err


@pytest.mark.parametrize("row, words", [
    ("A,r,a,n0,n1,,,1000,2024,veh/day,,t,p,2024,,w,no,no,\n", ["line 2", "source_url"]),
    ("A,r,a,n0,n1,,,-5,2024,veh/day,,t,p,2024,u,w,no,no,\n", ["aadt", "'-5'", "positive"]),
    ("A,r,a,n0,n1,,,1000,2024,,,t,p,2024,u,w,no,no,\n", ["unit is empty", "reference row"]),
    ("A,r,a,n0,n1,,,1000,2024,veh/day,,t,p,2024,u,w,maybe,no,\n", ["estimate", "yes or no"]),
    ("A,r,a,n0,n9,,,1000,2024,veh/day,,t,p,2024,u,w,no,no,\n", ["site A", "n9", "not a link"]),
])
def test_bad_observations_are_named(line_run, tmp_path, row, words):
    folder = _observed(tmp_path, counts=row)
    with pytest.raises(InputError) as err:
        fit_run(line_run, load_observations(folder))
    for w in words:
        assert w in str(err.value)


def test_an_unknown_route_node_and_a_missing_folder(line_run, tmp_path):
    folder = _observed(tmp_path, times=f"R,w,e,n0,nowhere,night,,,2.0,car,{SOURCE},no,\n")
    with pytest.raises(InputError, match="'nowhere' is not in the run's network"):
        fit_run(line_run, load_observations(folder))
    with pytest.raises(InputError, match="not a folder of observations"):
        load_observations(tmp_path / "absent")
    assert math.isfinite(goodness.geh(1, 0))


def test_objective_hand_worked():
    # counts: (5/5)^2 and 0 -> mean 0.5; times: ln 1.15 / ln 1.15 = 1 -> 1.0
    assert goodness.objective([5.0, 0.0], [1.15]) == pytest.approx(1.5)
    assert goodness.objective([], [1 / 1.15]) == pytest.approx(1.0)
    assert goodness.objective([], []) == 0.0


def test_a_fit_in_the_worker_equals_the_fit_of_the_written_run(tmp_path):
    """What calibration sees of a run (taken from the model) is what `fit` reads from disk."""
    from sim.calibration.fit import FitProbe, RunTables, fit_tables
    from sim.outputs import collect_metrics

    net = line_network(tmp_path, [{"length_km": 1.0, "speed_kmh": 60},
                                  {"length_km": 2.0, "speed_kmh": 50, "class": "arterial"}])
    sc = scenario(net, od=[{"origin": "n0", "destination": "n2", "vph": 900, "start": "00:00",
                            "end": "02:00"}])
    model = run(sc)
    write_run(model, tmp_path / "run")
    folder = _observed(tmp_path,
                       counts=f"A,segment 0,a,n0,n1,,,1000,2024,veh/day,,{SOURCE},no,\n"
                              f"H,segment 1,b,n1,n2,,,300,2024,veh/h,01-02,{SOURCE},yes,\n",
                       times=f"R,w,e,n0,n2,night,00:00,02:00,4.0,car,{SOURCE},no,\n")
    obs = load_observations(folder)
    on_disk = fit_run(tmp_path / "run", obs)
    in_memory = fit_tables(RunTables.from_model(model, collect_metrics(model)), obs)
    for key in ("counts", "travel_times", "objective"):
        assert on_disk[key] == in_memory[key]
    assert FitProbe(obs)(model, collect_metrics(model))["fit"]["objective"] == \
        on_disk["objective"]


def test_a_reference_row_is_reported_never_compared(line_run, tmp_path):
    folder = _observed(tmp_path, counts=(
        f"A,segment 0,a,n0,n1,,,1200,2024,veh/day,,{SOURCE},no,\n"
        f"X,segment 0,a,n0,n1,,,9000,2024,vehicles per 2 holiday days,,{SOURCE},no,\n"))
    fit = fit_run(line_run, load_observations(folder))
    rows = {r["id"]: r for r in fit["counts"]["rows"]}
    assert not rows["X"]["compared"] and rows["X"]["geh"] is None
    assert "reference only" in rows["X"]["note"] and rows["X"]["model"] == 1200
    assert fit["counts"]["fitted_sites"] == 1 and fit["counts"]["reference_rows"] == 1
    assert fit["counts"]["geh_under_5_share"] == 1.0


def test_an_earlier_count_of_a_counted_link_is_reported_beside_the_latest(line_run, tmp_path):
    """A 2015 count of a link also counted in 2024 is not compared (the model's base year is the
    latest), whichever direction names the link; a row without a year is always compared."""
    folder = _observed(tmp_path, counts=(
        f"A,segment 0,a,n0,n1,,,1200,2024,veh/day,,{SOURCE},no,\n"
        f"O,segment 0,a,n1,n0,,,9000,2015,veh/day,,{SOURCE},no,\n"
        f"U,segment 0,a,n0,n1,,,5000,,veh/day,,{SOURCE},no,\n"
        f"B,segment 1,b,n1,n2,,,1200,2015,veh/day,,{SOURCE},no,\n"))
    fit = fit_run(line_run, load_observations(folder))
    rows = {r["id"]: r for r in fit["counts"]["rows"]}
    assert not rows["O"]["compared"] and "A is a later count" in rows["O"]["note"]
    assert rows["O"]["model"] == 1200 and rows["O"]["geh"] is None
    assert rows["A"]["compared"] and rows["U"]["compared"] and rows["B"]["compared"]
    assert fit["counts"]["fitted_sites"] == 3 and fit["counts"]["reference_rows"] == 1


def test_a_count_made_before_a_parallel_road_opened_is_compared_with_both(line_run, tmp_path):
    """`parallel_links` adds a later road's links to the counted one (a screenline)."""
    folder = _observed(tmp_path, counts=(
        f"A,segment 0,a,n0,n1,,,2400,2024,veh/day,,{SOURCE},no,,n1 n2\n"), parallel=True)
    rows = fit_run(line_run, load_observations(folder))["counts"]["rows"]
    assert rows[0]["model"] == 2400 and rows[0]["geh"] == 0.0
    assert "parallel road" in rows[0]["note"]
    bad = _observed(tmp_path / "bad", counts=(
        f"A,segment 0,a,n0,n1,,,2400,2024,veh/day,,{SOURCE},no,,n1 n9\n"), parallel=True)
    with pytest.raises(InputError, match="n1 - n9 is not a link"):
        fit_run(line_run, load_observations(bad))

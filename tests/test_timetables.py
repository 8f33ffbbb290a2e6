"""Shuttle timetables as plans are written: periods and extra runs in the scenario, checked
with the field, value and allowed range named."""

from __future__ import annotations

from itertools import pairwise

import pytest

from sim.cli import main

PERIOD = 'shuttles.lines.0.periods=[{start="%s", end="%s", headway_min=%s, vehicles=%s}]'


@pytest.mark.parametrize("sets, message", [
    ([PERIOD % ("06:00", "08:00", 5, 2)],
     "periods[0] (06:00-08:00): start = 21600 s, end = 28800 s; a period must lie within the "
     "line's 07:00-19:30"),
    ([PERIOD % ("08:00", "09:00", 0, 2)], "periods[0].headway_min = 0: Input should be greater "
                                          "than or equal to 0.1"),
    ([PERIOD % ("08:00", "09:00", 5, 0)], "periods[0].vehicles = 0: Input should be greater "
                                          "than or equal to 1"),
    ([PERIOD % ("09:00", "08:00", 5, 2)], "periods[0] (09:00-08:00): end = 28800 s must be after"),
    (['shuttles.lines.0.periods=[{start="08:00", end="10:00", headway_min=5, vehicles=2}, '
      '{start="09:30", end="11:00", headway_min=10, vehicles=1}]'],
     "periods[0] (08:00-10:00) and periods[1] (09:30-11:00) overlap"),
    (['shuttles.lines.0.extra_runs=["20:15"]'], "extra_runs[0] = 20:15 (72900 s); an extra run "
                                                "must leave within the line's 07:00-19:30"),
])
def test_bad_periods_are_named(capsys, sets, message):
    args = ["validate", "som1_day"]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "shuttles.lines[0]" in err and message in err


def test_a_line_of_periods_only_is_valid():
    from sim.scenario import load_scenario

    sc = load_scenario("som1_day", [PERIOD % ("07:00", "09:00", 5, 4)])
    line = sc.shuttles.lines[0]
    assert line.fleet() == 6  # the all-day timetable's 6 buses stay between the periods
    raw_line = {k: v for k, v in line.model_dump().items()
                if k not in ("headway_min", "vehicles")}
    from sim.summit_spec import LineSpecModel

    assert LineSpecModel.model_validate(raw_line).fleet() == 4


QUIET_ROADS = ["--set", "traffic.daily_trips=0", "--set", "traffic.external=[]",
               "--set", "traffic.through=[]", "--set", "outputs.congestion_map=false"]


@pytest.fixture(scope="module")
def som1(tmp_path_factory):
    out = tmp_path_factory.mktemp("som1") / "run"
    assert main(["run", "som1_day", "--quiet", "--out", str(out), *QUIET_ROADS]) == 0
    return out


def _csv(path):
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_stops_csv_adds_up_to_lines_csv(som1):
    """One row per stop of each line; a line's boardings, alightings and people denied at its
    stops add up to its row in lines.csv (people: each is left at one stop of a trip)."""
    lines = {r["line"]: r for r in _csv(som1 / "lines.csv")}
    stops = _csv(som1 / "stops.csv")
    from sim.scenario import load_scenario

    sc = load_scenario("som1_day")
    assert len(stops) == sum(len(ln.stops) for ln in sc.shuttles.lines)
    assert sum(int(r["boardings"]) for r in stops) > 0
    for name, row in lines.items():
        mine = [r for r in stops if r["line"] == name]
        assert [int(r["stop_order"]) for r in mine] == list(range(1, len(mine) + 1))
        for col in ("boardings", "alightings"):
            assert sum(int(r[col]) for r in mine) == int(row[col]), (name, col)
        assert sum(int(r["people_denied"]) for r in mine) >= int(row["people_denied"])
        for r in mine:  # waits only where someone boarded
            assert (r["wait_mean_min"] == "") == (int(r["boardings"]) == 0)
    assert stops[0]["place"] == sc.shuttles.lines[0].stops[0]


def test_a_line_nobody_can_use_is_flagged_and_a_used_one_is_not(capsys):
    """On the SOM1 day nobody is lodged near the Kolon Hotel: its line is flagged, with why.
    Moving the city line's first stop to Ulsan Airport, where nobody goes, flags it too; the
    Bomun hotels' line, which guests ride, is never flagged. A warning, not an error."""
    assert main(["validate", "som1_day"]) == 0
    err = capsys.readouterr().err
    assert "warning: shuttle line 'Bulguksa - HICO' can be used by nobody: nobody is lodged, " \
           "lives, parks, travels or meets within 900 m of Kolon Hotel" in err
    assert "'City hotels - HICO'" not in err and "'Bomun hotels - HICO'" not in err
    assert main(["validate", "som1_day", "--set",
                 'shuttles.lines.2.stops=["Ulsan Airport", "HICO"]']) == 0
    out, err = capsys.readouterr()
    assert "shuttle line 'City hotels - HICO' can be used by nobody: nobody is lodged, lives, " \
           "parks, travels or meets within 900 m of Ulsan Airport" in err
    assert "'Bomun hotels - HICO'" not in err
    assert "valid" in out and "warning(s) above" in out


def test_planned_rides_leave_the_run_as_it_was(som1):
    """Counting who would ride each line before a run changes nothing in the run: the same
    metrics with the count as without, and the lines planned on are the lines ridden."""
    import json

    from sim.line_use import rides_by_line
    from sim.model import SummitModel
    from sim.outputs import collect_metrics
    from sim.scenario import load_scenario

    sc = load_scenario("som1_day", [s for s in QUIET_ROADS if s != "--set"])

    def metrics(count_first):
        model = SummitModel(sc)
        planned = rides_by_line(model.summit) if count_first else None
        model.run()
        return planned, json.dumps(collect_metrics(model), sort_keys=True)

    planned, with_count = metrics(True)
    assert metrics(False)[1] == with_count
    lines = {r["line"]: int(r["boardings"]) for r in _csv(som1 / "lines.csv")}
    assert {k: v > 0 for k, v in planned.items()} == {k: v > 0 for k, v in lines.items()}


def test_the_plan_gives_the_headway_and_buses_theory_says():
    """Seats 40, mean wait at most 10 min (headway <= 20), load at most 80%, a 47-minute
    round trip. 600 riders an hour: headway <= 60 x 40 x 0.8 / 600 = 3.2 min, so 3 (the usual
    values), and ceil(47 / 3) = 16 buses; 100 an hour: <= 19.2, so 15 min on ceil(47 / 15) = 4
    buses, two such hours one period; three idle hours: no service; 50 an hour: the wait's
    20 min on 3 buses."""
    from sim.planning.timetable import Targets, buses_for, headway_for, plan_hours

    h = 3600.0
    riders = {7 * h: 600, 8 * h: 100, 9 * h: 100, 13 * h: 50}
    trips = {k * h: 47.0 for k in range(7, 14)}
    targets = Targets(max_wait_min=10, max_load=0.8)
    got = [(p.start / h, p.end / h, p.headway_min, p.vehicles)
           for p in plan_hours(riders, trips, 40, targets, 7 * h, 14 * h)]
    assert got == [(7, 8, 3, 16), (8, 10, 15, 4), (13, 14, 20, 3)]
    # a line starting at 07:30 carries the hour's 600 in half an hour: 1,200 an hour
    first = plan_hours(riders, trips, 40, targets, 7.5 * h, 14 * h)[0]
    assert (first.start, first.headway_min, first.vehicles) == (7.5 * h, 1.5, 32)
    assert first.load == pytest.approx(1200 / (40 * 40))
    # beyond what even a bus every half minute carries: said so
    assert headway_for(5000, 40, targets) == (0.5, False)
    assert buses_for(47, 3) == 16 and buses_for(45, 3) == 15


def test_plan_writes_an_editable_scenario_and_keeps_user_files(tmp_path, capsys):
    out = tmp_path / "plan.toml"
    args = ["plan", "som1_day", "--max-wait", "10", "--max-load", "0.8", "--rounds", "1",
            "--out", str(out), "--quiet", *QUIET_ROADS]
    assert main(args) == 0
    text = out.read_text(encoding="utf-8")
    assert 'base = "som1_day"' in text and "periods = [" in text
    assert "#   round 1: " in text and "round 2" not in text  # run once as planned
    assert "# left out: 'Bulguksa - HICO', nobody rode it in the run" in text
    from sim.scenario import load_scenario

    sc = load_scenario(out)
    assert all(ln.periods and ln.headway_min is None for ln in sc.shuttles.lines)
    assert "Bulguksa - HICO" not in {ln.name for ln in sc.shuttles.lines}
    for ln in sc.shuttles.lines:
        for p in ln.periods:
            assert p.headway_min <= 20
    capsys.readouterr()
    assert main(args) == 2  # an earlier plan: only with --force
    assert "add --force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
    mine = tmp_path / "mine.toml"
    mine.write_text('name = "my own"\n', encoding="utf-8")
    assert main([*args[:-len(QUIET_ROADS) - 3], "--out", str(mine), "--force"]) == 2
    assert mine.read_text(encoding="utf-8") == 'name = "my own"\n'


def test_a_wave_at_a_session_end_is_carried_within_the_wait_by_timed_extra_runs():
    """400 riders leave the venue at 16:00 onto a line running every 20 minutes (a bus
    takes 36 at the 80% load): the planner times extra runs from 16:00, one every 20 s at
    most, and the wave's mean wait stays within the 10-minute target, where the timetable
    alone would leave them for hours."""
    from sim.planning.timetable import STAGE_GAP_S, wave_runs

    wave = [16 * 3600.0] * 400
    timetable = [15 * 3600.0 + 1200 * i for i in range(6)]  # 15:00 to 16:40
    extras, waits, by_extra = wave_runs(wave, timetable, cap=36, within_s=600)
    assert len(waits) == 400 and sum(waits) / 400 <= 600
    assert min(extras) >= 16 * 3600 and all(b - a >= STAGE_GAP_S - 1e-9
                                            for a, b in pairwise(extras))
    # the timetable's 16:00 run takes 36; ten extras the next 360 within 200 s; the last 4
    # get a run when they have waited the 10 minutes (the 16:20 one would be later)
    assert sum(by_extra) == 364 and len(extras) == 11 and extras[-1] == 16 * 3600 + 600
    _, alone, _ = wave_runs(wave, timetable, cap=36, within_s=10 ** 9)
    assert sum(alone) / 400 > 600


def test_extra_runs_have_their_own_buses():
    """A line's extra buses run its extra runs alone, so the timetable keeps its buses; the
    planner counts as many as are under way at once."""
    from sim.planning.timetable import extra_buses
    from sim.scenario import load_scenario

    runs = 'shuttles.lines.0.extra_runs=["17:00", "17:01", "17:02"]'
    sc = load_scenario("som1_day", [runs, "shuttles.lines.0.extra_vehicles=3"])
    line = sc.shuttles.lines[0]
    assert line.fleet() == line.vehicles + 3
    from sim.model import SummitModel

    model = SummitModel(load_scenario("som1_day", [runs, "shuttles.lines.0.extra_vehicles=3",
                                                   *QUIET_ROADS[1::2]]), seed=1)
    buses = model.summit.lines[0].buses
    extra = [b.runs for b in buses[line.vehicles:]]
    assert sorted(t for r in extra for t in r) == [61200.0, 61260.0, 61320.0]
    assert all(len(r) == 1 for r in extra)
    assert extra_buses([0, 60, 120, 4000], 3600) == 3


def test_extra_vehicles_need_extra_runs(capsys):
    assert main(["validate", "som1_day", "--set", "shuttles.lines.0.extra_vehicles=2"]) == 2
    assert "extra_vehicles = 2 without extra_runs" in capsys.readouterr().err


def test_a_run_back_leaves_the_last_stop_at_its_time_with_the_bus_waiting_there():
    """An extra run back at 17:00 from HICO: its bus drives out in time (half again the
    free-flow run, and the layover), waits at HICO and leaves it at 17:00 exactly, the way
    buses are staged at a venue for a session end."""
    from sim.model import SummitModel
    from sim.scenario import load_scenario

    sets = ['shuttles.lines.0.extra_runs_back=["17:00"]', "shuttles.lines.0.extra_vehicles=1",
            *QUIET_ROADS[1::2]]
    model = SummitModel(load_scenario("som1_day", sets), seed=1)
    line = model.summit.lines[0]
    bus = line.buses[-1]
    lead = line.back_lead_s()
    assert bus.runs == [17 * 3600 - lead] and bus.back_at == {0: 17 * 3600.0}
    assert lead > line.spec.layover_s
    model.run_until(18 * 3600)
    back = [s for s, _, out in line.stats.run_times if not out]
    assert 17 * 3600.0 in back  # held until its time, not the moment it arrived
    with pytest.raises(Exception, match="extra_runs_back on a loop line"):
        load_scenario("som1_day", ["shuttles.lines.0.loop=true",
                                   'shuttles.lines.0.extra_runs_back=["17:00"]'])


def test_two_plans_merge_to_one_that_serves_both_demands():
    """Settling keeps, hour by hour, the shorter headway (with buses for it), and of two waves
    at the same time the bigger; a wave only one plan has is kept; a line nobody rode as
    planned is left out."""
    from sim.planning.settling import merge_line
    from sim.planning.timetable import LinePlan, PlannedPeriod, Targets

    h = 3600.0
    targets = Targets(10, 0.8)

    def period(a, b, headway, buses):
        return PlannedPeriod(a * h, b * h, headway, buses, 100, 40, 0.5, True)

    a = LinePlan("L", [period(7, 9, 10, 4)], 40, 300, 6, [16 * h, 16 * h + 20, 16 * h + 40],
                 round_trip_s=2400)
    b = LinePlan("L", [period(8, 10, 5, 8)], 40, 350, 6,
                 [16 * h + 300 + 20 * i for i in range(5)] + [20 * h], round_trip_s=2400)
    m = merge_line(a, b, targets)
    assert [(p.start / h, p.end / h, p.headway_min, p.vehicles) for p in m.periods] == \
        [(7, 8, 10, 4), (8, 10, 5, 8)]
    assert m.extra_runs == b.extra_runs  # b's wave of 5 over a's of 3; 20:00 from b
    assert m.extra_vehicles == 5 and m.buses == 13
    nobody = LinePlan("L", [], 40, 0, 6)
    assert not merge_line(a, nobody, targets).runs


def test_a_line_that_missed_is_sized_for_tighter_targets_within_bounds():
    from sim.planning.check import LineCheck
    from sim.planning.settling import tightened
    from sim.planning.timetable import Targets

    targets = Targets(10, 0.8)
    check = LineCheck("L", 10, 50, 400, 0, 11.0, 20.0, 0.88, 0.0)
    got = tightened(targets, targets, check)
    assert got.max_wait_min == pytest.approx(10 * 10 / 11) and got.max_load == \
        pytest.approx(0.8 * 0.8 / 0.88)
    worse = LineCheck("L", 10, 50, 400, 0, 40.0, 60.0, 2.0, 0.0)
    got = tightened(targets, targets, worse)  # at most 15% a round
    assert (got.max_wait_min, got.max_load) == pytest.approx((8.5, 0.68))
    for _ in range(10):
        got = tightened(targets, got, worse)
    assert (got.max_wait_min, got.max_load) == pytest.approx((6.0, 0.48))  # 60% at least

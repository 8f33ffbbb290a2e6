"""The optimiser: a known optimum found, bad input refused before anything is written, a
search resumed as it would have run, and the same command giving the same history."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.cli import main
from sim.whatif.runner import replicate_seeds

try:
    import optuna
except ImportError:  # the suite runs without extras too: the search's tests skip, not fail
    optuna = None
needs_optuna = pytest.mark.skipif(optuna is None, reason="the optimize extra (Optuna) is not "
                                                         "installed")

# One line, out and back in an hour: 10 buses keep a 6-minute headway. 900 riders an hour on
# its busiest leg and 45 seats a bus: a headway h carries 45 x 60 / h seats an hour, so the
# load is 900 h / 2700 = 20 / n with n = 60 / h buses, and a load of at most 80% needs
# n >= 20 / 0.8 = 25 buses: the fleet follows from demand and round trip alone.
ROUND_TRIP_MIN, RIDERS_PER_HOUR, SEATS, MAX_LOAD = 60.0, 900.0, 45, 0.8
KNOWN_FLEET = math.ceil(RIDERS_PER_HOUR * ROUND_TRIP_MIN / (60 * SEATS * MAX_LOAD))
LINE = ('shuttles.lines=[{name="Hotel - HICO", stops=["Hilton Gyeongju", "HICO"], '
        f'headway_min=6, vehicles=10, start="07:00", end="19:30", seats={SEATS}}}]')


class LineLoadBackend:
    """The single line's peak load worked out, not simulated; each seed adds its own error,
    the errors of the search's seeds summing to nothing (what common random numbers give a
    mean: the same error for every candidate)."""

    name = "synthetic"

    def __init__(self, seeds):
        self.error = {s: 0.03 * (-1) ** i for i, s in enumerate(seeds)}
        self.runs = 0

    def describe(self):
        return "the line's load worked out"

    def run(self, jobs):
        for job in jobs:
            ln = job.scenario.shuttles.lines[0]
            load = RIDERS_PER_HOUR * ln.headway_min / (60 * SEATS)
            self.runs += 1
            yield job, {"shuttles.peak_hour_max_load_share": load + self.error.get(job.seed, 0),
                        "delegates.on_time_rate": 1.0}


def _search(budget=30, seeds=2, base_seed=7, objective="buses"):
    from sim.optimize.problem import parse_constraint, parse_variable
    from sim.optimize.search import ShuttleSearch
    from sim.scenario import load_scenario

    start = load_scenario("som1_day", [LINE])
    buses = parse_variable("shuttles.lines.0.buses=1:40", start)
    return ShuttleSearch("som1_day", [LINE], start, "shipped", [buses],
                         objective, [parse_constraint(f"peak_load<={MAX_LOAD}")], budget, seeds,
                         base_seed)


@needs_optuna
@pytest.mark.parametrize("objective, cost", [("buses", 1.0), ("bus_hours", 12.5)])
def test_the_fleet_a_line_needs_is_found(tmp_path, objective, cost):
    """The least fleet meeting the load, as buses or as bus-hours (07:00-19:30: 12.5 h a
    bus)."""
    from sim.optimize.search import best_row, run_search

    search = _search(objective=objective)
    backend = LineLoadBackend(replicate_seeds(search.base_seed, search.seeds))
    rows = run_search(search, tmp_path / "work", backend, progress=False)
    best = best_row(search, rows)
    assert best["feasible"] and best["values"] == [KNOWN_FLEET] and KNOWN_FLEET == 25
    assert best["objective"] == pytest.approx(KNOWN_FLEET * cost)
    # one bus fewer breaks the load: it is the least fleet, not merely a feasible one
    assert any(r["values"] == [KNOWN_FLEET - 1] and not r["feasible"] for r in rows)
    # a plan proposed twice is not simulated twice: fewer runs than candidates x seeds
    assert backend.runs == 2 * sum(r["simulated"] > 0 for r in rows) <= 2 * len(rows)


@needs_optuna
def test_the_front_of_buses_against_load_is_every_fleet_the_load_falls_with(tmp_path):
    """On the single line the load is 20 / n: each bus more lowers it, so every distinct fleet
    the search tries is on the front of buses against load, the front spans a quarter to
    twice the start (the ladder), and the plans missing the load bound are left off it."""
    from dataclasses import replace

    from sim.optimize.front import front_feasible, spread
    from sim.optimize.search import run_search

    search = replace(_search(budget=16, seeds=2), front=("shuttles.peak_hour_max_load_share",
                                                          False))
    backend = LineLoadBackend(replicate_seeds(search.base_seed, search.seeds))
    rows = run_search(search, tmp_path / "work", backend, progress=False)
    buses = sorted({r["values"][0] for r in rows})
    assert buses[0] <= round(0.25 * 10) and buses[-1] >= 2 * 10  # the ladder's span
    whole = front_feasible(search, rows)
    fleets = [r["values"][0] for r in whole]
    assert len(fleets) >= 3
    assert fleets == sorted({b for b in buses if b >= KNOWN_FLEET})  # every feasible fleet
    loads = [r["means"]["shuttles.peak_hour_max_load_share"] for r in whole]
    assert loads == sorted(loads, reverse=True) and max(loads) <= MAX_LOAD
    picked = spread(whole, 3)
    assert picked[0] is whole[0] and picked[-1] is whole[-1] and len(picked) == min(3,
                                                                                   len(whole))
    # the proved plans spread over the front's costs, not bunched where it is crowded
    costs = [19, 34, 36, 37, 52, 54, 55]
    crowded = [{"objective": float(c), "candidate": i} for i, c in enumerate(costs)]
    assert [r["objective"] for r in spread(crowded, 4)] == [19, 34, 37, 55]


@needs_optuna
def test_same_seed_same_history_and_a_resumed_search_is_the_same(tmp_path):
    from sim.optimize.search import HISTORY, run_search

    def history(folder, stops=()):
        search = _search(budget=12)
        seeds = replicate_seeds(search.base_seed, search.seeds)
        for n in stops:  # interrupted after n candidates, then resumed
            run_search(search, folder, LineLoadBackend(seeds), progress=False,
                       resume=True, stop_after=n)
        run_search(search, folder, LineLoadBackend(seeds), progress=False, resume=True)
        return (folder / HISTORY).read_bytes()

    once = history(tmp_path / "a")
    assert once == history(tmp_path / "b")
    assert once == history(tmp_path / "c", stops=(3, 4))
    other = _search(budget=12, base_seed=8)
    run_search(other, tmp_path / "d", LineLoadBackend(replicate_seeds(8, 2)), progress=False)
    assert (tmp_path / "d" / HISTORY).read_bytes() != once


def test_buses_per_line_keep_the_round_trip():
    """A line given k times its buses runs k times as often: the same round trip per bus."""
    from sim.optimize.problem import line_with_buses, plan_buses
    from sim.scenario import load_scenario

    sc = load_scenario("som1_day", [LINE])
    ln = line_with_buses(sc.shuttles.lines[0], 25)
    assert ln.vehicles == 25 and ln.vehicles * ln.headway_min == pytest.approx(60, abs=0.5)
    assert plan_buses(sc) == 10



def test_a_wait_bound_at_the_delegates_patience_is_flagged():
    """A trip that gave up waiting counts the patience as its wait, so a p90 bound at or above
    the patience is met by plans that strand delegates: the optimiser warns; below, it does
    not; the short name for the give-ups to sessions reaches the KPI the runs write."""
    from sim.optimize.problem import check_constraints, constraint_warnings, parse_constraint
    from sim.scenario import load_scenario

    sc = load_scenario("som1_day")
    assert sc.delegates.max_wait_min == 30

    def warned(text):
        return constraint_warnings([parse_constraint(text)], sc)

    assert "delegates.max_wait_min = 30 min" in warned("wait_p90<=32")[0]
    assert warned("wait_p90<=30") and warned("delegates.wheelchair.wait_p90_min<=45")
    assert warned("wait_p90<=29.5") == [] and warned("on_time>=0.95") == []
    assert warned("wait_p90>=40") == []  # a floor on waits strands nobody
    gave_up = parse_constraint("gave_up_to_sessions<=50")
    assert gave_up.kpi == "delegates.gave_up_waiting_by_purpose.to_session"
    check_constraints([gave_up], sc)

def test_the_covering_milp_trades_venue_depth_against_the_city_floor():
    """Three places: A reaches every venue point, B the whole city, C half the venue and three
    quarters of the city. With one unit the venue is best served from A; with the city held at
    60% C keeps the most venue, at 90% only B will do; with no unit the floor is out of
    reach and there is no plan; with two units both are whole."""
    from sim.errors import InputError
    from sim.optimize.staging import Survey, solve_staging

    far, near = 999.0, 10.0
    times = np.full((3, 8), far)
    times[0, :4] = near  # A: venue points 0-3
    times[1, 4:] = near  # B: city points 4-7
    times[2, [0, 1, 4, 5, 6]] = near  # C: two venue points, three city points
    sv = Survey(None, ["A", "B", "C"], ["A", "B", "C"], times,
                {"ambulance": np.zeros(8, int)}, np.arange(4, 8), np.ones(4), np.arange(4),
                {"ambulance": 60.0}, 1)
    free = solve_staging(sv, {"ambulance": 1}, 1, 0.0, {"ambulance": 0.5})
    assert free.units == {"A": {"ambulance": 1}} and free.venue_coverage["ambulance"] == 1.0
    held = solve_staging(sv, {"ambulance": 1}, 1, 0.6, {"ambulance": 0.5})
    assert held.units == {"C": {"ambulance": 1}}
    assert held.venue_coverage["ambulance"] == 0.5 and held.city_coverage["ambulance"] == 0.75
    strict = solve_staging(sv, {"ambulance": 1}, 1, 0.9, {"ambulance": 0.5})
    assert strict.units == {"B": {"ambulance": 1}} and strict.venue_coverage["ambulance"] == 0
    with pytest.raises(InputError, match="city's coverage"):
        solve_staging(sv, {"ambulance": 0}, 1, 0.5, {"ambulance": 0.5})
    two = solve_staging(sv, {"ambulance": 2}, 2, 0.9, {"ambulance": 0.5})
    assert two.venue_coverage["ambulance"] == 1.0 and two.city_coverage["ambulance"] == 1.0


@pytest.mark.parametrize("args, message", [
    (["--objective", "cheapest"], "--objective 'cheapest': not an objective; allowed: buses"),
    (["--constraint", "ontime>=0.9"], "--constraint 'ontime>=0.9': 'ontime': runs of"),
    (["--constraint", "on_time=0.9"], "expected KPI>=VALUE or KPI<=VALUE"),
    (["--constraint", "on_time>=1.5"], "delegates.on_time_rate is a share from 0 to 1"),
    (["--param", "shuttles.lines.7.buses=1:5"], "line 7 does not exist"),
    (["--param", "shuttles.lines.0.buses=6:2"], "LO (6) must be a number below HI (2)"),
    (["--param", "shuttles.lines.0.buses=0.5:3"], "buses are whole numbers from 1"),
    (["--param", "shuttles.linse.0.buses=1:3"], "Did you mean 'shuttles.lines'"),
    (["--param", "weather=1:3"], "weather is not a number"),
    (["--constraint", "city_coverage>=0.7"], "optimize.city_covered_share is a staging plan's KPI"),
    (["--front", "on_time"], "--front 'on_time': expected max:KPI or min:KPI"),
    (["--front", "max:ontime"], "--front 'max:ontime': 'ontime': runs of"),
    (["--front", "max:venue_coverage"], "is a staging plan's KPI; a shuttle plan's front"),
])
def test_bad_input_is_named_and_nothing_is_written(tmp_path, capsys, args, message):
    out = tmp_path / "opt"
    base = ["optimize", "som1_day", "--out", str(out), "--start", "shipped"]
    if "--objective" not in args:
        base += ["--objective", "buses"]
    if "--constraint" not in args:
        base += ["--constraint", "on_time>=0.9"]
    assert main([*base, *args]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_budget_below_one_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["optimize", "som1_day", "--objective", "buses", "--constraint", "on_time>=0.9",
              "--budget", "0", "--out", str(tmp_path / "opt")])
    assert exc.value.code == 2
    assert "--budget: '0' is not a whole number from 1" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


QUIET = ["--set", 'end="08:30"', "--set", "traffic.daily_trips=0", "--set",
         "traffic.external=[]", "--set", "traffic.through=[]"]


@needs_optuna
def test_a_small_real_search_writes_an_editable_plan_and_refuses_to_overwrite(tmp_path,
                                                                              capsys):
    """A real (short) day: the plan written is a scenario that loads, with the buses the
    summary reports; the history has a row per candidate; the search's working folder is gone;
    the same --out is refused without --force, and a folder of other files always."""
    import csv
    import json

    from sim.optimize.problem import plan_buses
    from sim.scenario import load_scenario

    out = tmp_path / "opt"
    args = ["optimize", "som1_day", "--objective", "buses", "--constraint", "on_time>=0.3",
            "--budget", "3", "--seeds", "1", "--fresh-seeds", "2", "--confirm-seeds", "1",
            "--start", "shipped",
            "--workers", "1", "--quiet", "--out", str(out), *QUIET]
    assert main(args) == 0
    names = {p.name for p in out.iterdir()}
    assert {"plan.toml", "history.csv", "search.png", "compare.txt", "compare.csv",
            "optimize.json", "manifest.json"} <= names
    summary = json.loads((out / "optimize.json").read_text())
    assert plan_buses(load_scenario(out / "plan.toml")) == summary["buses"]["chosen"]
    # where the buses went: every line of the plan, its buses summing to the plan's
    lines = summary["lines"]
    assert sum(r["buses"] for r in lines) == summary["buses"]["chosen"]
    assert [r["line"] for r in lines] == [ln.name for ln in load_scenario(
        out / "plan.toml").shuttles.lines]
    assert all(r["boardings"] is None or r["boardings"] >= 0 for r in lines)
    assert "where the chosen plan's buses went:" in capsys.readouterr().out
    assert summary["simulations"] == (summary["simulations_search"]
                                      + summary["simulations_confirm"] + 3 * 2)
    assert 1 <= summary["simulations_confirm"] <= 3  # one seed for each plan confirmed
    with open(out / "history.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 3
    assert not any(p.name.endswith(".search") for p in tmp_path.iterdir())
    capsys.readouterr()
    assert main(args) == 2
    assert "add --force to replace it" in capsys.readouterr().err
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    assert main([*args[:-len(QUIET) - 2], "--out", str(foreign), *QUIET, "--force"]) == 2
    assert (foreign / "notes.txt").read_text() == "keep" and len(list(foreign.iterdir())) == 1


def _line_command(out, confirm_seeds: int, *more) -> list[str]:
    """The single line's search through the command line (budget 8, seed 7, 2 fresh seeds)."""
    return ["optimize", "som1_day", "--objective", "buses", "--constraint",
            f"peak_load<={MAX_LOAD}", "--set", LINE, "--param", "shuttles.lines.0.buses=1:40",
            "--start", "shipped", "--budget", "8", "--seed", "7", "--confirm-seeds",
            str(confirm_seeds), "--fresh-seeds", "2", "--quiet", "--out", str(out), *more]


class Interrupting(LineLoadBackend):
    """Ctrl-C after `after` runs."""

    def __init__(self, seeds, after=None):
        super().__init__(seeds)
        self.after = after

    def run(self, jobs):
        for item in super().run(jobs):
            if self.after is not None and self.runs > self.after:
                raise KeyboardInterrupt
            yield item


@needs_optuna
def test_an_interrupted_search_resumes_to_the_same_outputs(tmp_path, monkeypatch, capsys):
    """Ctrl-C keeps the finished candidates (exit 130, no --out yet); --resume finishes them
    into the history an uninterrupted search writes; without --resume the unfinished search
    is not overwritten."""
    import sim.whatif.runner as runner

    seeds = replicate_seeds(7, 2)
    backend = {"now": Interrupting(seeds, after=7)}
    monkeypatch.setattr(runner, "make_backend", lambda **kw: backend["now"])

    def args(out, *more):
        return _line_command(out, 0, *more)

    out = tmp_path / "opt"
    assert main(args(out)) == 130
    work = tmp_path / ".opt.search"
    assert not out.exists() and len((work / "history.csv").read_text().splitlines()) == 4
    assert main(args(out)) == 2 and "add --resume" in capsys.readouterr().err
    backend["now"] = Interrupting(seeds)
    assert main(args(out, "--resume")) == 0 and not work.exists()
    backend["now"] = Interrupting(seeds)
    assert main(args(tmp_path / "whole")) == 0
    assert (out / "history.csv").read_bytes() == (tmp_path / "whole" / "history.csv").read_bytes()
    assert (out / "plan.toml").read_text() == (tmp_path / "whole" / "plan.toml").read_text()


class CountingConfirmations(LineLoadBackend):
    """Counts the confirmation's runs; Ctrl-C instead of the confirmation run `stop_at`."""

    def __init__(self, seeds, stop_at=None):
        super().__init__(seeds)
        self.stop_at, self.confirm_runs = stop_at, 0

    def run(self, jobs):
        for job, kpis in super().run(jobs):
            if job.key[0] == "confirm":
                if self.confirm_runs == self.stop_at:
                    raise KeyboardInterrupt
                self.confirm_runs += 1
            yield job, kpis


@needs_optuna
def test_a_confirmation_interrupted_is_not_run_again_on_resume(tmp_path, monkeypatch):
    """The confirmation's finished runs are kept beside the history: --resume runs only the
    ones missing, and writes what an uninterrupted optimisation writes."""
    import json

    import sim.whatif.runner as runner

    seeds = replicate_seeds(7, 2)
    backend = {"now": CountingConfirmations(seeds)}
    monkeypatch.setattr(runner, "make_backend", lambda **kw: backend["now"])

    def args(out, *more):
        return _line_command(out, 3, *more)

    assert main(args(tmp_path / "whole")) == 0
    whole = backend["now"].confirm_runs
    assert whole >= 3
    out = tmp_path / "opt"
    backend["now"] = CountingConfirmations(seeds, stop_at=2)
    assert main(args(out)) == 130 and not out.exists()
    assert len((tmp_path / ".opt.search" / "confirm.csv").read_text().splitlines()) == 3
    backend["now"] = CountingConfirmations(seeds)
    assert main(args(out, "--resume")) == 0
    assert backend["now"].confirm_runs == whole - 2
    assert (out / "plan.toml").read_text() == (tmp_path / "whole" / "plan.toml").read_text()
    done = [json.loads((d / "optimize.json").read_text()) for d in (out, tmp_path / "whole")]
    assert done[0]["confirmation"] == done[1]["confirmation"]


def test_the_coverage_probe_measures_without_changing_the_run():
    """The staging proof samples coverage during the day; the day itself (every KPI) is the
    one a run without the probe gives, and shares are shares."""
    from sim.optimize.staging import CoverageProbe, Window
    from sim.scenario import load_scenario
    from sim.whatif.runner import run_one

    sc = load_scenario("hico_fire_drill", ['end="10:50"'])
    plain = run_one(sc, 3)
    probed = run_one(sc, 3, CoverageProbe(Window(10 * 3600, 10 * 3600 + 50 * 60)))
    assert {k: v for k, v in probed.items() if not k.startswith("optimize.")} == plain
    shares = [v for k, v in probed.items() if k.startswith("optimize.")]
    assert len(shares) == 6 and all(0 <= v <= 1 for v in shares)
    assert probed["optimize.venue_covered_share"] == min(
        probed["optimize.pumper.venue_covered_share"],
        probed["optimize.ambulance.venue_covered_share"])


@pytest.mark.parametrize("args, message", [
    (["--window", "12:30-10:00"], "--window '12:30-10:00': expected HH:MM-HH:MM"),
    (["--units", "pumper=two"], "--units 'pumper=two': pumper = 'two'"),
    (["--units", "tanker=2"], "'tanker' is not a coverage type of this scenario"),
    (["--constraint", "on_time>=0.9"], "a staging plan takes one constraint, the city floor"),
    (["--front", "max:on_time"], "a trade-off front is for shuttle plans"),
    (["--param", "shuttles.lines.0.buses=1:3"], "--param is for shuttle plans"),
])
def test_bad_staging_input_is_named_and_nothing_is_written(tmp_path, capsys, args, message):
    out = tmp_path / "opt"
    assert main(["optimize", "hico_fire_drill", "--objective", "venue_coverage", "--out",
                 str(out), *args]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_without_the_extra_the_search_names_it_and_writes_nothing(tmp_path, monkeypatch,
                                                                     capsys):
    import sys

    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    out = tmp_path / "opt"
    assert main(["optimize", "som1_day", "--objective", "buses", "--constraint",
                 "on_time>=0.9", "--start", "shipped", "--out", str(out)]) == 2
    assert "pip install 'summit-sim[optimize]'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []

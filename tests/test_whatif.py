"""What-if tooling: statistics, seeds, parameters and their errors, compare, resumable sweeps,
the Dask backend and sensitivity analysis, on a tiny network whose runs take milliseconds."""

from __future__ import annotations

import csv
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sst
from traffic_helpers import line_network

from sim.cli import main
from sim.errors import InputError
from sim.whatif import kpis, stats
from sim.whatif.compare import (
    NAME_WIDTH,
    WIDTH,
    CompareResult,
    format_table,
    parse_subjects,
    run_compare,
    shown_kpis,
)
from sim.whatif.params import (
    Assignment,
    build_scenario,
    check_path,
    parse_assignment,
    parse_grid,
    parse_grids,
    parse_range,
    source,
)
from sim.whatif.plots import morris_figure, sweep_figure
from sim.whatif.runner import LocalBackend, flatten, make_backend, replicate_seeds
from sim.whatif.sensitivity import sample_warning
from sim.whatif.sweep import Sweep, run_sweep

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiny(tmp_path) -> str:
    """One road n0 -> n3 through a 1,000 veh/h single-lane bottleneck; 800 veh/h of Poisson
    arrivals for an hour, so seeds differ and capacity matters."""
    net = line_network(tmp_path, [
        {"lanes": 1, "length_km": 1.0},
        {"lanes": 1, "capacity_vph_per_lane": 1000, "length_km": 0.5},
        {"lanes": 1, "length_km": 1.0},
    ])
    path = tmp_path / "tiny.toml"
    path.write_text(f"""name = "tiny"
start = "00:00"
end = "01:30"
seed = 7

[network]
file = "{net.name}"

[traffic]
contract_chains = false

[[traffic.od]]
origin = "n0"
destination = "n3"
vph = 800
start = "00:00"
end = "01:00"
arrivals = "poisson"

[outputs]
congestion_map = false
""", encoding="utf-8")
    return str(path)


def _sweep(tiny: str, seeds: int = 3, grid=("traffic.od.0.vph=400,800",)) -> Sweep:
    src = source(tiny)
    return Sweep(src, [], parse_grids(list(grid)), seeds, base_seed=7)


# ---- statistics ------------------------------------------------------------------------------
def test_ci_exact_on_a_fixed_sample():
    e = stats.ci([1.0, 2.0, 3.0, 4.0, 5.0])
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)  # t(0.975, 4) * sd / sqrt(n)
    assert (e.n, e.mean) == (5, 3.0)
    assert e.sd == pytest.approx(math.sqrt(2.5))
    assert (e.low, e.high) == (pytest.approx(3 - half), pytest.approx(3 + half))
    assert stats.t_quantile(9) == pytest.approx(2.262157, abs=1e-6)
    one = stats.ci([4.2])
    assert one.mean == 4.2 and math.isnan(one.low)


def test_ci_covers_the_mean_at_the_nominal_rate():
    rng = np.random.default_rng(2025)
    draws = 2000
    covered = 0
    for _ in range(draws):
        e = stats.ci(rng.normal(10.0, 3.0, size=8).tolist())
        covered += e.low <= 10.0 <= e.high
    # binomial sd at 95% over 2,000 draws is 0.5 percentage points
    assert 0.935 <= covered / draws <= 0.965


def test_welch_matches_scipy_and_flags_significance():
    rng = np.random.default_rng(3)
    a = rng.normal(0, 1, 12).tolist()
    b = rng.normal(1.5, 2, 9).tolist()
    d = stats.welch(a, b)
    ref = sst.ttest_ind(b, a, equal_var=False)
    assert d.p_value == pytest.approx(ref.pvalue)
    assert d.diff == pytest.approx(np.mean(b) - np.mean(a))
    assert d.significant == (ref.pvalue < 0.05) == (d.low > 0 or d.high < 0)
    same = stats.welch([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert same.diff == 0 and not same.significant and same.low < 0 < same.high
    exact = stats.welch([2.0, 2.0], [3.0, 3.0])
    assert exact.significant and exact.low == exact.high == 1.0


# ---- seeds and KPIs --------------------------------------------------------------------------
def test_replicate_seeds_are_seedsequence_children_and_extend():
    ten = replicate_seeds(7, 10)
    kids = np.random.SeedSequence(7).spawn(10)
    assert ten == [int(k.generate_state(1)[0]) for k in kids]
    assert replicate_seeds(7, 20)[:10] == ten
    assert len(set(ten)) == 10 and replicate_seeds(8, 10) != ten


def test_flatten_keeps_numbers_only():
    flat = flatten({"a": {"b": 1, "c": 0.5, "d": None, "e": "x", "f": True, "g": math.nan},
                    "h": {"i": {"j": 2.0}}, "k": [1, 2]})
    assert flat == {"a.b": 1, "a.c": 0.5, "h.i.j": 2.0}


# ---- parameters and their errors -------------------------------------------------------------
@pytest.mark.parametrize(("text", "words"), [
    ("shuttles.fleet", ["'shuttles.fleet'", "no '='", "PATH=V1,V2"]),
    ("shuttles.fleet=150,,250", ["value 2 of 3 is empty"]),
    ("=1,2", ["parameter before '=' is missing"]),
    ("weather=clear,snow,clear", ["'clear' is given twice"]),
    ("shuttles.fleet_size=1,2", ["unknown parameter 'shuttles.fleet_size'", "fleet_scale",
                                 "Allowed", "shuttles.fleet ("]),
    ("wether=clear,snow", ["unknown parameter 'wether'", "'weather'"]),
    ("traffic.od.first.vph=1,2", ["traffic.od is a list", "item index"]),
    ("seed.x=1,2", ["seed is a single value"]),
    ("delegates.roles.king=0.5", ["'king' is not one of delegates.roles's keys"]),
    ("shuttles.fleet=100,lots", ["shuttles.fleet must be a number > 0", "'lots'"]),
])
def test_bad_grids_name_the_problem(text, words):
    with pytest.raises(InputError) as exc:
        parse_grid(text)
    for w in words:
        assert w in str(exc.value)


def test_grid_values_and_paths():
    axis = parse_grid("weather = clear, snow")
    assert axis.path == "weather" and [v.label for v in axis.values] == ["clear", "snow"]
    assert [v.label for v in parse_grid("traffic.demand_scale=1,1.0e0,2").values][1:] \
        == ["1.0", "2"]  # 1 and 1.0 are different TOML values, 1.0 and 1.0e0 the same
    assert check_path("shuttles.lines.0.headway_min") is float
    assert check_path("delegates.total") is int
    with pytest.raises(InputError, match="given twice"):
        parse_grids(["weather=clear", "weather=snow"])
    with pytest.raises(InputError, match=r"LOW .* must be below HIGH"):
        parse_range("traffic.capacity_per_lane=2000:1400")
    with pytest.raises(InputError, match="weather is not a number"):
        parse_range("weather=1:2")
    with pytest.raises(InputError, match="exactly one ':'"):
        parse_range("shuttles.fleet=150")
    assert parse_range("delegates.total=10:20").integer


def test_aliases_convert_against_the_scenario():
    som1 = source("som1_day")
    base = build_scenario(som1, [])
    buses = sum(line.vehicles for line in base.shuttles.lines)
    sc = build_scenario(som1, [Assignment("shuttles.fleet", str(2 * buses))])
    assert sc.shuttles.fleet_scale == pytest.approx(2.0)
    sc = build_scenario(som1, [Assignment("traffic.capacity_per_lane", "1500")])
    assert sc.traffic.capacity_scale == pytest.approx(0.75)
    with pytest.raises(InputError, match="no shuttle lines"):
        build_scenario(source("normal_weekday"), [Assignment("shuttles.fleet", "10")])


def test_cli_errors_exit_2_and_write_nothing(tiny, tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", tiny, "--grid", "traffic.bogus=1,2", "--out", str(out),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter 'traffic.bogus'" in err and "demand_scale" in err
    assert main(["sweep", tiny, "--grid", "traffic.od.0.vph:1,2", "--out", str(out),
                 "--quiet"]) == 2
    assert "'traffic.od.0.vph:1,2'" in capsys.readouterr().err
    # a value the scenario rejects: named with the sweep point and what is allowed
    assert main(["sweep", tiny, "--grid", "weather=clear,sunny", "--out", str(out),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "weather=sunny" in err and "'clear'" in err
    assert main(["compare", "traffic.demand_scale=2", tiny, "--quiet"]) == 2
    assert "before any scenario" in capsys.readouterr().err
    assert main(["compare", tiny, tiny, "--scheduler", "localhost:8786", "--quiet"]) == 2
    assert "tcp://HOST:PORT" in capsys.readouterr().err
    assert not out.exists()


# ---- compare ---------------------------------------------------------------------------------
def test_compare_finds_a_real_difference_and_none_between_identical(tiny):
    backend = LocalBackend(1)
    res = run_compare(parse_subjects([tiny, tiny, "traffic.capacity_per_lane=900"]), seeds=5,
                      base_seed=None, backend=backend, progress=False)
    assert res.base_seed == 7 and res.seeds == replicate_seeds(7, 5)
    rows = {(r["kpi"], r["scenario"]): r for r in res.table()}
    slow = rows["traffic.delay_mean_min", "B"]
    assert slow["diff"].significant and slow["diff"].low > 0  # 450 veh/h through the neck
    res = run_compare(parse_subjects([tiny, tiny]), seeds=5, base_seed=None, backend=backend,
                      progress=False)
    diffs = [r["diff"] for r in res.table() if r["diff"] is not None]
    assert diffs and not any(d.significant for d in diffs)
    assert all(d.diff == 0 for d in diffs)  # same seeds: the same runs


def test_compare_cli_writes_a_folder_and_takes_run_folders(tiny, tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["run", tiny, "--out", str(run_dir), "--quiet"]) == 0
    out = tmp_path / "cmp"
    assert main(["compare", str(run_dir), tiny, "traffic.capacity_per_lane=900", tiny,
                 "--seeds", "4", "--workers", "1", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "vs A [95% CI]" in printed and "delay per trip, mean (min)" in printed
    assert "--all prints every one" in printed and "traffic.arrived" not in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "compare.csv", "compare.json", "compare.png", "manifest.json", "runs.csv", "table.txt"]
    with open(out / "compare.csv", newline="", encoding="utf-8") as fh:
        rows = {(r["kpi"], r["scenario"]): r for r in csv.DictReader(fh)}
    assert rows["traffic.delay_mean_min", "B"]["significant"] == "yes"
    # the run folder's recorded scenario runs exactly as the scenario file does
    assert rows["traffic.delay_mean_min", "C"]["diff_from_a"] == "0"
    assert rows["traffic.delay_mean_min", "C"]["significant"] == "no"
    # every KPI in the files, whatever the console showed; counts' intervals from 0
    assert {k for k, _ in rows} == set(_lines(out / "runs.csv")[0].split(",")[4:])
    assert all(float(r["ci95_low"]) >= 0 for r in rows.values() if r["ci95_low"])
    assert "traffic.arrived" in (out / "table.txt").read_text(encoding="utf-8")
    assert main(["compare", str(run_dir), tiny, "--seeds", "2", "--workers", "1", "--out",
                 str(out), "--force", "--quiet", "--all"]) == 0
    printed = capsys.readouterr().out
    assert "traffic.arrived" in printed and "--all prints" not in printed


# ---- sweeps: resumable, byte-identical -------------------------------------------------------
def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_sweep_resumes_after_a_crash_to_the_same_bytes(tiny, tmp_path):
    full = tmp_path / "full"
    res = run_sweep(_sweep(tiny), full, LocalBackend(1), progress=False)
    assert (res.total, res.ran, res.skipped) == (6, 6, 0)
    rows = _lines(full / "runs.csv")
    assert rows[0].startswith("param:traffic.od.0.vph,replicate,seed,traffic.")
    assert [r.split(",")[:3] for r in rows[1:3]] == [
        ["400", "0", str(replicate_seeds(7, 1)[0])], ["400", "1", str(replicate_seeds(7, 2)[1])]]

    part = tmp_path / "part"

    def crash(n):
        if n == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(_sweep(tiny), part, LocalBackend(1), progress=False, on_result=crash)
    assert len(_lines(part / "runs.csv")) == 3  # header and the two finished runs
    assert not (part / "summary.csv").exists()
    with open(part / "runs.csv", "a", encoding="utf-8") as fh:
        fh.write("800,2,12345,86")  # a run cut off in the middle of its line
    with pytest.raises(InputError, match="--resume"):
        run_sweep(_sweep(tiny), part, LocalBackend(1), progress=False)
    res = run_sweep(_sweep(tiny), part, LocalBackend(1), resume=True, progress=False)
    assert (res.ran, res.skipped) == (4, 2)
    for name in ("runs.csv", "summary.csv", "sweep.json"):
        assert (part / name).read_bytes() == (full / name).read_bytes(), name
    assert (part / "sweep.png").stat().st_size > 0
    # resuming a finished sweep runs nothing and changes nothing
    res = run_sweep(_sweep(tiny), part, LocalBackend(1), resume=True, progress=False)
    assert res.ran == 0 and (part / "runs.csv").read_bytes() == (full / "runs.csv").read_bytes()
    # a different sweep in the same folder is refused
    with pytest.raises(InputError, match=r"this sweep sweeps traffic\.capacity_per_lane"):
        run_sweep(_sweep(tiny, grid=("traffic.capacity_per_lane=900,2000",)), part,
                  LocalBackend(1), resume=True, progress=False)


def test_killed_sweep_process_resumes_to_the_bytes_of_a_pool_sweep(tiny, tmp_path):
    grid = ["--grid", "traffic.od.0.vph=400,800", "--seeds", "15", "--quiet"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "sweep", tiny, *grid, "--workers", "1",
         "--out", str(killed)], cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    results = killed / "runs.csv"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if results.exists() and results.read_bytes().count(b"\n") >= 4:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(_lines(results)) - 1
    assert done_before >= 3
    assert main(["sweep", tiny, *grid, "--workers", "1", "--out", str(killed),
                 "--resume"]) == 0
    pooled = tmp_path / "pooled"
    assert main(["sweep", tiny, *grid, "--workers", "2", "--out", str(pooled)]) == 0
    assert len(_lines(pooled / "runs.csv")) == 31
    for name in ("runs.csv", "summary.csv"):
        assert (killed / name).read_bytes() == (pooled / name).read_bytes(), name


# ---- Dask ------------------------------------------------------------------------------------
def test_dask_backend_equals_local(tiny, tmp_path):
    distributed = pytest.importorskip("distributed")
    local = tmp_path / "local"
    args = [tiny, "--grid", "traffic.od.0.vph=400,800", "--grid",
            "traffic.capacity_per_lane=1200,2000", "--seeds", "2", "--quiet"]
    assert main(["sweep", *args, "--workers", "1", "--out", str(local)]) == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        remote = tmp_path / "dask"
        assert main(["sweep", *args, "--scheduler", address, "--out", str(remote)]) == 0
        # a search's batches through one connection give what a connection each gives
        from sim.scenario import load_scenario
        from sim.whatif.runner import Job, kept

        jobs = [Job(i, load_scenario(tiny), s) for i, s in enumerate(replicate_seeds(7, 2))]
        backend = make_backend(scheduler=address)
        alone = sorted(backend.run(jobs), key=lambda x: x[0].key)
        with kept(backend):
            client = backend._held
            batches = [sorted(backend.run(jobs), key=lambda x: x[0].key) for _ in range(2)]
            assert backend._held is client is not None
        assert backend._held is None
        assert [k for _, k in batches[0]] == [k for _, k in batches[1]] == [k for _, k in alone]
    for name in ("runs.csv", "summary.csv"):
        assert (remote / name).read_bytes() == (local / name).read_bytes(), name
    assert len(_lines(remote / "runs.csv")) == 1 + 8


def test_unreachable_scheduler_is_an_input_error():
    pytest.importorskip("distributed")
    backend = make_backend(scheduler="tcp://127.0.0.1:9")
    backend.connect_timeout_s = 1
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        list(backend.run([]))


# ---- sensitivity -----------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "samples", "columns"), [
    ("morris", "3", ["kpi", "param", "mu", "mu_star", "mu_star_conf", "sigma"]),
    ("sobol", "4", ["kpi", "param", "S1", "S1_conf", "ST", "ST_conf"]),
])
def test_sensitivity_writes_indices_and_chart(tiny, tmp_path, capsys, method, samples, columns):
    pytest.importorskip("SALib")
    out = tmp_path / method
    assert main(["sensitivity", tiny, "--param", "traffic.capacity_per_lane=800:2000",
                 "--param", "traffic.od.0.vph=300:900", "--method", method, "--samples",
                 samples, "--kpi", "traffic.delay_mean_min", "--workers", "1", "--out",
                 str(out), "--quiet"]) == 0
    assert "traffic.capacity_per_lane" in capsys.readouterr().out
    with open(out / "indices.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert reader.fieldnames == columns
    assert [r["param"] for r in rows] == ["traffic.capacity_per_lane", "traffic.od.0.vph"]
    assert (out / "sensitivity.png").stat().st_size > 0
    points = len(_lines(out / "samples.csv")) - 1
    assert points == int(samples) * (3 if method == "morris" else 4)
    if method == "morris":  # demand and capacity both move the delay
        assert all(float(r["mu_star"]) > 0 for r in rows)


def test_sensitivity_errors(tiny, capsys):
    pytest.importorskip("SALib")
    assert main(["sensitivity", tiny, "--param", "traffic.od.0.vph=300:900", "--method",
                 "sobol", "--samples", "6", "--quiet"]) == 2
    assert "power of 2" in capsys.readouterr().err
    assert main(["sensitivity", tiny, "--param", "traffic.od.0.vph=300:900", "--samples", "2",
                 "--kpi", "delegates.on_time_rate", "--workers", "1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--kpi 'delegates.on_time_rate'" in err and "traffic.delay_mean_min" in err


def test_parse_assignment_checks_the_path():
    assert str(parse_assignment("weather = snow")) == "weather=snow"
    with pytest.raises(InputError, match=r"unknown parameter 'trafic\.demand_scale'"):
        parse_assignment("trafic.demand_scale=2")


# ---- readable outputs: KPI kinds, bounded intervals, the briefing table, pictures -----------
@pytest.mark.parametrize(("name", "kind"), [
    ("delegates.on_time_rate", kpis.SHARE),
    ("emergency.coverage_min", kpis.SHARE),
    ("emergency.unit_utilization.pumper", kpis.SHARE),
    ("traffic.gridlock.share_of_trips_arrived", kpis.SHARE),
    ("shuttles.by_line.City hotels - HICO.max_load_share", kpis.SHARE),
    ("traffic.peak_en_route_s", kpis.CLOCK),
    ("shuttles.by_line.City hotels - HICO.peak_hour_start_s", kpis.CLOCK),
    ("traffic.corridors.Bomun-ro: Bomun-gyo - HICO.peak_hour_start_s", kpis.CLOCK),
    ("emergency.call_to_arrival_p90_s", kpis.AMOUNT),
    ("traffic.stuck", kpis.AMOUNT),
    ("shuttles.boardings_per_seat", kpis.AMOUNT),
])
def test_kpi_kinds(name, kind):
    assert kpis.kind(name) == kind


def test_count_and_share_intervals_stay_within_what_they_can_be():
    rng = np.random.default_rng(14)
    for _ in range(300):
        n = int(rng.integers(2, 12))
        counts = rng.poisson(0.3, n).astype(float).tolist()
        e = kpis.estimate("traffic.stuck", counts)
        assert 0 <= e.low <= e.mean <= e.high
        for centre in (0.02, 0.98):
            shares = np.clip(rng.normal(centre, 0.05, n), 0, 1).tolist()
            e = kpis.estimate("delegates.on_time_rate", shares)
            assert 0 <= e.low <= e.mean <= e.high <= 1
    # the case that read 'stuck 0.2 [-0.36, 0.76]'
    raw = stats.ci([0, 0, 0, 0, 1])
    assert raw.low < 0
    e = kpis.estimate("traffic.stuck", [0, 0, 0, 0, 1])
    assert (e.mean, e.low, e.high) == (raw.mean, 0.0, raw.high)
    assert kpis.estimate_text("traffic.stuck", e).startswith("0.2 [0, ")


def test_a_time_of_day_gets_no_interval():
    name = "traffic.peak_en_route_s"
    e = kpis.estimate(name, [27000.0, 27900.0, 28800.0])
    assert e.mean == 27900.0 and math.isnan(e.low) and math.isnan(e.high)
    assert kpis.estimate_text(name, e) == "07:45"
    d = kpis.difference(name, [27000.0, 27900.0], [28800.0, 29700.0])
    assert math.isnan(d.low) and not d.significant
    assert kpis.difference_text(name, d) == "+30 min"


def _synthetic_compare(n_subjects: int = 3, seeds: int = 5) -> CompareResult:
    """Every briefing KPI, a time of day, 120 more with long names and big values, over
    `seeds` made-up replicates per scenario: no run needed."""
    rng = np.random.default_rng(5)
    names = [*kpis.BRIEFING, "traffic.peak_en_route_s", "traffic.vehicle_km",
             *(f"traffic.corridors.Gyeonggam-ro: Guhwanggyo - Bobul-ro junction {i}.peak_hour_min"
               for i in range(120))]
    runs = []
    for s in range(n_subjects):
        per = []
        for _ in range(seeds):
            kpi = {}
            for k in names:
                if kpis.kind(k) == kpis.SHARE:
                    kpi[k] = float(np.clip(rng.normal(0.9 - 0.05 * s, 0.08), 0, 1))
                elif k == "traffic.stuck":
                    kpi[k] = float(rng.poisson(0.3))
                else:
                    kpi[k] = float(rng.normal(1e6 if k == "traffic.vehicle_km" else 20, 2))
            per.append(kpi)
        runs.append(per)
    subjects = parse_subjects(["leaders_day", "leaders_day", "shuttles.fleet_scale=0.5",
                               "snow_day"][:n_subjects + (n_subjects > 1)])
    return CompareResult(subjects[:n_subjects], replicate_seeds(1, seeds), 1, runs,
                         sorted(names))


@pytest.mark.parametrize("n_subjects", [2, 3])
def test_default_compare_table_is_the_briefing_and_fits_the_width(n_subjects):
    res = _synthetic_compare(n_subjects)
    shown = shown_kpis(res)
    assert shown == list(kpis.BRIEFING) and len(shown) <= 14
    text = format_table(res, shown)
    lines = text.splitlines()
    assert max(map(len, lines)) <= WIDTH
    labelled = [ln for ln in lines if ln[:NAME_WIDTH].strip() and "  A  " in ln]
    assert len(labelled) == len(shown) <= 14
    stuck = next(ln for ln in lines if ln.startswith("trips stuck"))
    assert "[-" not in stuck  # a count's interval never goes below 0
    assert "119 arrival within 7 min" in text and "%" in text
    full = format_table(res, shown_kpis(res, every=True))
    assert max(map(len, full.splitlines())) <= WIDTH
    assert all(k in full for k in res.kpis)
    clock = full.splitlines()[full.splitlines().index(
        next(ln for ln in full.splitlines() if ln.startswith("traffic.peak_en_route_s")))]
    assert "[" not in clock  # a time of day: no interval
    for row in res.table():  # the same holds for every row of compare.csv
        e = row["estimate"]
        if kpis.kind(row["kpi"]) == kpis.CLOCK:
            assert math.isnan(e.low)
        else:
            lo, hi = kpis.bounds(row["kpi"])
            assert lo <= e.low <= e.high <= hi


def test_sweep_figure_names_every_line_and_does_not_join_categories():
    from matplotlib.collections import PolyCollection

    points = [{"params": {"shuttles.fleet": str(f), "weather": w},
               "kpis": {"delegates.on_time_rate": stats.ci([0.5 + f / 100, 0.52 + f / 100]),
                        "traffic.delay_mean_min": stats.ci([3.0, 3.4])}}
              for f in (11, 22, 33) for w in ("clear", "snow")]
    fig = sweep_figure(points, ["shuttles.fleet", "weather"],
                       ["delegates.on_time_rate", "traffic.delay_mean_min"], title="t")
    axes = fig.axes
    by_column = {0: axes[0::2], 1: axes[1::2]}
    fleet_top, weather_top = by_column[0][0], by_column[1][0]
    # every line of a column is in its legend, titled by the parameter (and its unit)
    assert weather_top.get_legend().get_title().get_text() == "shuttles.fleet (buses)"
    assert [t.get_text() for t in weather_top.get_legend().get_texts()] == ["11", "22", "33"]
    assert fleet_top.get_legend().get_title().get_text() == "weather"
    assert [t.get_text() for t in fleet_top.get_legend().get_texts()] == ["clear", "snow"]
    for ax in by_column[1]:  # weather: points with whiskers, no line between values
        assert all(ln.get_linestyle() in ("None", "none", "") or len(ln.get_xdata()) <= 1
                   for ln in ax.get_lines())
        assert not any(isinstance(c, PolyCollection) for c in ax.collections)
    for ax in by_column[0]:  # fleet: a line per weather
        assert sum(len(ln.get_xdata()) == 3 for ln in ax.get_lines()) == 2
    assert by_column[0][-1].get_xlabel() == "shuttles.fleet (buses)"
    assert by_column[1][-1].get_xlabel() == "weather"
    assert by_column[0][0].get_ylabel() == "on time at screening (%)"
    assert by_column[0][1].get_ylabel() == "delay per trip, mean (min)"


def test_morris_figure_labels_every_parameter():
    rows = [{"kpi": "traffic.delay_mean_min", "param": p, "mu": m, "mu_star": m,
             "mu_star_conf": 1.0, "sigma": s}
            for p, m, s in (("shuttles.fleet", 5.0, 1.0), ("weather_x", 0.5, 0.4))]
    fig = morris_figure(rows, title="t")
    ax = fig.axes[0]
    texts = {t.get_text() for t in ax.texts}
    assert {"shuttles.fleet", "weather_x"} <= texts
    assert ax.get_xlabel().startswith("mu*") and "(min)" in ax.get_xlabel()
    assert ax.get_ylabel().startswith("sigma") and "(min)" in ax.get_ylabel()


def test_sample_warning_follows_the_methods_guidance():
    assert "10 to 20 trajectories" in sample_warning("morris", 4)
    assert sample_warning("morris", 10) is None
    assert "512" in sample_warning("sobol", 32)
    assert sample_warning("sobol", 512) is None


@pytest.mark.parametrize(("samples", "warned"), [("3", True), ("10", False)])
def test_sensitivity_keeps_every_kpi_and_warns_on_a_small_sample(tiny, tmp_path, capsys,
                                                                 samples, warned):
    pytest.importorskip("SALib")
    out = tmp_path / "morris"
    assert main(["sensitivity", tiny, "--param", "traffic.od.0.vph=300:900", "--samples",
                 samples, "--kpi", "traffic.delay_mean_min", "--workers", "1", "--out",
                 str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert ("warning: morris with 3 trajectories" in captured.err) == warned
    assert ("warning" in captured.err) == warned
    assert "KPI's own unit" in captured.out and "min" in captured.out
    header = _lines(out / "samples.csv")[0].split(",")
    run_kpis = _lines(out / "samples.csv")
    assert len(run_kpis) == 1 + 2 * int(samples)
    # every KPI the runs report, not only the one analysed
    assert {"mean:traffic.delay_mean_min", "mean:traffic.arrived", "mean:traffic.stuck",
            "mean:traffic.mean_speed_kmh"} <= set(header)
    assert len([h for h in header if h.startswith("mean:")]) > 20
    assert (out / "morris.png").stat().st_size > 0


def test_a_kept_backend_runs_many_batches_on_the_same_workers(tiny):
    """A search sends a batch of runs per candidate; inside kept() every batch goes to the
    same pool (its workers start and load the model once) and gives what fresh pools give."""
    from sim.scenario import load_scenario
    from sim.whatif.runner import Job, kept

    sc = load_scenario(tiny)
    jobs = [Job(i, sc, s) for i, s in enumerate(replicate_seeds(7, 2))]
    fresh = LocalBackend(2)
    alone = [dict(k) for _, k in sorted(fresh.run(jobs), key=lambda x: x[0].key)]
    backend = LocalBackend(2)
    with kept(backend) as b:
        first = sorted(b.run(jobs), key=lambda x: x[0].key)
        workers = set(backend._held.executor._processes)
        second = sorted(b.run(jobs), key=lambda x: x[0].key)
        assert set(backend._held.executor._processes) == workers and len(workers) == 2
    assert backend._held is None
    assert [k for _, k in first] == [k for _, k in second] == alone

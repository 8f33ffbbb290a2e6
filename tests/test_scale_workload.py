"""The scale workload's generator (sim/scale_workload.py), on a small version: 400 grid nodes,
5,000 trips a day, 3 x 3 zones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from sim.formats import load_network
from sim.routing import Router
from sim.scale_workload import (
    NETWORK_FILE,
    SCENARIO_FILE,
    grid_shape,
    write_scale_workload,
)
from sim.scenario import load_scenario
from sim.traffic.demand import generate_trips, zone_nodes

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"nodes": 400, "trips": 5000, "zones_per_side": 3, "nodes_per_zone": 3, "seed": 7}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale")
    path = write_scale_workload(folder, **SMALL)
    scenario = load_scenario(path)
    net = load_network(scenario.network_path())
    return folder, scenario, net


def test_the_grid_has_the_nodes_asked_for_and_the_expressways_few_more(small):
    _, _, net = small
    rows, cols = grid_shape(400)
    grid = [n for n in net.nodes if n.id.startswith("g")]
    assert rows * cols == len(grid) >= 400
    assert len(grid) < net.n_nodes <= len(grid) + 20  # interchanges, junction, cordons
    assert {lk.road_class for lk in net.links} == {
        "local", "collector", "arterial", "national", "expressway", "ramp"}
    assert all(lk.oneway is False for lk in net.links)  # two-way everywhere


def test_every_node_reaches_every_other(small):
    _, scenario, net = small
    assert nx.is_strongly_connected(net.graph) and net.strongly_connected
    ends = sorted({v for z in scenario.traffic.zones for v in zone_nodes(net, z)}
                  | {net.node_index[x.node] for x in scenario.traffic.external})
    times = Router(net).times_from(ends)[:, ends]
    assert np.isfinite(times).all()


def test_the_day_has_the_trips_asked_for(small):
    _, scenario, net = small
    t = scenario.traffic
    declared = (t.daily_trips + sum(x.trips_per_day for x in t.external)
                + sum(x.trips_per_day for x in t.through))
    assert declared == pytest.approx(5000, abs=2)
    assert abs(sum(t.profile.hourly) - 1) < 1e-9
    trips = generate_trips(net, t, np.random.default_rng(3), 0.0, 86_400.0)
    assert len(trips) == pytest.approx(5000, rel=0.05)  # Poisson draws per hour
    assert (trips.origin != trips.destination).all()


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(small, tmp_path):
    folder, _, _ = small
    write_scale_workload(tmp_path / "again", **SMALL)
    write_scale_workload(tmp_path / "other", **{**SMALL, "seed": 8})
    for name in (NETWORK_FILE, SCENARIO_FILE):
        assert (tmp_path / "again" / name).read_bytes() == (folder / name).read_bytes()
    assert (tmp_path / "other" / NETWORK_FILE).read_bytes() != (
        folder / NETWORK_FILE).read_bytes()
    net = json.loads((folder / NETWORK_FILE).read_text())
    assert "GENERATED" in net["sources"]["generated"]


def test_the_workload_validates_and_runs_as_a_whole_process(small, tmp_path):
    folder, _, _ = small
    scenario = str(folder / SCENARIO_FILE)
    ok = subprocess.run([sys.executable, "-m", "sim", "validate", scenario], cwd=ROOT,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    out = tmp_path / "run"
    run = subprocess.run([sys.executable, "-m", "sim", "run", scenario, "--quiet", "--out",
                          str(out), "--set", 'start="07:00"', "--set", 'end="08:00"',
                          "--set", "outputs.congestion_map=false"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    m = json.loads((out / "metrics.json").read_text())["traffic"]
    assert m["trips"] == pytest.approx(5000 * 0.068, rel=0.25)  # 07-08 is 6.8% of the day
    assert m["arrived"] > 0.5 * m["trips"] and m["link_traversals"] > m["trips"]


def test_bench_knows_the_scale_workload_but_runs_it_only_when_asked():
    from sim.bench import WORKLOADS, select_workloads
    from sim.errors import InputError

    assert select_workloads() == WORKLOADS
    names = [w[0] for w in select_workloads(scale=True)]
    assert names[-1] == "scale_20k_2m" and names[:-1] == [w[0] for w in WORKLOADS]
    only = select_workloads(["scale_20k_2m"])
    assert len(only) == 1 and only[0][1] == {"nodes": 20_000, "trips": 2_000_000}
    with pytest.raises(InputError, match="'nope' is not a workload"):
        select_workloads(["nope"])

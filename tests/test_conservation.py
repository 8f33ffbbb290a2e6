"""Conservation and trip ends over many seeds: every shipped scenario, 20 seeds each, on a short
window and a tenth of the people (in process, nothing written). Every vehicle that entered is
arrived, en route or stuck (stuck ones never arrived), every person is in exactly one state,
every incident is served or unserved, and no vehicle trip starts where it ends. Demand over
the whole day: no trip from a node to itself, and none dropped for it."""

from __future__ import annotations

import gc
import itertools
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from sim.formats import embedded_network
from sim.metrics import delegate_metrics, shuttle_metrics, trip_table
from sim.model import SummitModel
from sim.network import RoadNetwork
from sim.scenario import load_scenario
from sim.traffic.demand import generate_trips
from sim.traffic.engine import TrafficEngine
from sim.whatif.runner import replicate_seeds

SCENARIOS = sorted(Path(__file__).resolve().parents[1].glob("scenarios/*.toml"))
SEEDS = replicate_seeds(1, 20)
# 20 minutes of the morning peak; the fire drill's window holds its fire and its casualties
WINDOWS = {"hico_fire_drill": ("10:35", "10:55")}
STATUSES = {"arrived", "en_route", "stuck"}


@cache
def _network() -> RoadNetwork:
    return embedded_network()


@cache
def _overrides(path: Path) -> tuple[str, ...]:
    """A 20-minute window and a tenth of the summit's people (the layer's set-up is what costs
    time; the rules are the same for fewer people)."""
    start, end = WINDOWS.get(path.stem, ("08:00", "08:20"))
    out = [f'start="{start}"', f'end="{end}"', "outputs.congestion_map=false"]
    sc = load_scenario(path)
    if sc.has_summit():
        out.append(f"delegates.total={sc.delegates.total // 10}")  # roles are shares
        out += [f"day_visitors.{i}.people={max(1, v.people // 10)}"
                for i, v in enumerate(sc.day_visitors)]
    return tuple(out)


_RUNS = itertools.count(1)


@pytest.fixture(autouse=True)
def _free_finished_models():
    """A finished model is a web of reference cycles, and with pytest's many long-lived objects
    the collector seldom looks at them: collect every tenth run, or 140 runs hold gigabytes."""
    yield
    if next(_RUNS) % 10 == 0:
        gc.collect()


@pytest.fixture
def same_node_trips(monkeypatch):
    """Every vehicle registered with the engine whose origin is its destination."""
    found: list[tuple] = []
    add_vehicle, add_trips = TrafficEngine.add_vehicle, TrafficEngine.add_trips

    def checked_vehicle(self, depart_s, origin, destination, **kw):
        if origin == destination:
            found.append((kw.get("kind"), kw.get("label"), self.net.nodes[origin].id))
        return add_vehicle(self, depart_s, origin, destination, **kw)

    def checked_trips(self, depart_s, origins, destinations, kinds):
        same = np.flatnonzero(np.asarray(origins) == np.asarray(destinations))
        found.extend(("background", None, self.net.nodes[int(origins[i])].id)
                     for i in same.tolist())
        return add_trips(self, depart_s, origins, destinations, kinds)

    monkeypatch.setattr(TrafficEngine, "add_vehicle", checked_vehicle)
    monkeypatch.setattr(TrafficEngine, "add_trips", checked_trips)
    return found


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_scenario_conserves_over_many_seeds(path, seed, same_node_trips):
    model = SummitModel(load_scenario(path, list(_overrides(path))), seed=seed,
                        network=_network())
    model.run()
    e = model.engine
    assert same_node_trips == []
    # traffic: every vehicle registered is planned or entered; every one entered is arrived,
    # en route or stuck, and only stuck ones are forced and not arrived
    c = e.counts()
    assert c["registered"] == c["entered"] + c["planned"]
    assert c["entered"] == c["arrived"] + c["en_route"] + c["stuck"] + c["abandoned"] \
        == e.departed
    assert c["abandoned"] == e.abandoned
    assert c["arrived"] == e.arrived and c["stuck"] == e.stuck_now
    assert c["forced"] + c["stuck"] <= e.stuck_events
    trips = trip_table(e)
    status = trips["status"].astype(str)
    assert set(status) <= STATUSES and len(status) == c["entered"]
    arrived = ~np.isnan(trips["arrive_s"])
    assert np.array_equal(arrived, status == "arrived")
    assert (trips["forced"][status == "stuck"] == 1).all()
    assert int(trips["forced"][arrived].sum()) == c["forced"]
    assert (trips["origin"] != trips["destination"]).all()
    assert (trips["arrive_s"][arrived] >= trips["depart_s"][arrived]).all()
    # people: every one placed is in exactly one state, none lost; vans account for requests
    if model.summit is not None:
        d = delegate_metrics(model.summit)
        assert d["unaccounted"] == 0
        assert sum(d["states_at_end"].values()) == d["total"] - d["unplaced"]
        sh = shuttle_metrics(model.summit, e)
        assert sh["peak_occupancy"] <= 1.0
        if sh["drt_served"] is not None:
            assert sh["drt_requests"] == sh["drt_served"] + sh["drt_rejected"] + \
                sh["drt_open_at_end"]
    # incidents: each served (a unit on scene, after the call) or unserved; every unit in one
    # status; a unit's vehicle is one the engine knows
    if model.emergency is not None:
        from agents.emergency.responders import STATUSES as UNIT_STATUSES
        from sim.emergency.metrics import emergency_metrics

        em = emergency_metrics(model.emergency)
        assert em["incidents"] == em["served"] + em["unserved"] == len(model.emergency.incidents)
        for inc in model.emergency.incidents:
            assert inc.first_arrival_s is None or inc.first_arrival_s >= inc.call_s
        for u in model.emergency.units:
            assert u.status in UNIT_STATUSES
            assert u.vehicle is None or 0 <= u.vehicle < c["registered"]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_demand_has_no_trip_to_its_own_node_and_drops_none(path):
    """A whole day's background demand, two seeds: no origin equals its destination, and the
    trips generated are exactly the Poisson totals drawn (none dropped for sharing a node)."""
    sc = load_scenario(path)
    net = _network()
    for seed in (1, 2):
        rng = _CountingRng(seed)
        t = generate_trips(net, sc.traffic, rng, sc.start, sc.end)
        assert (t.origin != t.destination).all()
        if sc.traffic.visitors.per_day == 0:
            assert len(t) == sum(rng.drawn) > 10_000
            continue
        # visitors are drawn last, one Poisson draw of cars a day: each car comes in and goes
        # out (two trips at least, on a run of a whole day) and drives between stops not walked
        # between; a shorter run keeps the trips that set off within it
        cars = rng.drawn[-1]
        others = sum(rng.drawn[:-1])
        visitor_trips = len(t) - others
        assert others > 10_000
        assert visitor_trips <= (sc.traffic.visitors.places + 1) * cars
        if sc.end - sc.start >= 86_400:
            assert visitor_trips >= 2 * cars


class _CountingRng:
    """numpy's generator, with its Poisson draws recorded."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.drawn: list[int] = []

    def __getattr__(self, name):
        return getattr(self.rng, name)

    def poisson(self, lam):
        n = self.rng.poisson(lam)
        self.drawn.append(int(n))
        return n

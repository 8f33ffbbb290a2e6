"""Demand-responsive transport on the engine: rides as fast as free flow allows, shared rides
within the detour limit, requests refused when a pickup would come too late, seats never
exceeded, every accepted rider delivered, and the insertion search's plans always feasible."""

from __future__ import annotations

import itertools
from dataclasses import asdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mesa import Agent
from traffic_helpers import line_network, scenario

from agents.summit.drt import DrtService, DrtSpec, Need, Stop, insert_request, stop_times
from sim.errors import InputError
from sim.model import SummitModel

STREET = [{"length_km": 1.0, "class": "arterial", "lanes": 2, "speed_kmh": 60, "oneway": False}] * 3
KM_S = 3600 / 60  # free-flow seconds per km of STREET


class Rider(Agent):
    """A passenger who asks for a ride at a set time and notes what happens."""

    def __init__(self, model, service, origin, destination, at, wheelchair=False):
        super().__init__(model)
        self.rider_id = self.unique_id
        self.wheelchair = wheelchair
        self.service, self.origin, self.destination = service, origin, destination
        self.accepted = self.asked = self.boarded = self.alighted = self.vehicle = None
        self.load_on_board = None
        model.schedule_event(self.ask, at=at)

    def ask(self):
        self.asked = self.model.time
        self.accepted = self.service.request(self, self.origin, self.destination)

    def on_board(self, vehicle, time):
        assert self.boarded is None
        self.boarded, self.vehicle = time, vehicle.index
        self.load_on_board = len(vehicle.on_board)

    def on_alight(self, vehicle, stop, time):
        assert stop == self.destination and vehicle.index == self.vehicle
        self.alighted = time


def _model(tmp_path, end="01:00", seed=None, **kw):
    tmp_path.mkdir(parents=True, exist_ok=True)
    return SummitModel(scenario(line_network(tmp_path, STREET), end=end, **kw), seed=seed)


def _service(model, **kw):
    spec = dict(name="test drt", vehicles=1, seats=4, start_s=60, end_s=1800, depot="n0",
                max_wait_s=600, max_detour=1.5, wheelchair_places=0, detour_slack_s=300.0,
                dwell_s=30.0, speed_factor=1.0)
    spec.update(kw)
    return DrtService(model, DrtSpec(**spec))


def _conserved(service) -> bool:
    c = service.counts()
    return c["requested"] == c["served"] + c["rejected"] + c["on_board"] + c["waiting_pickup"]


def test_a_lone_ride_takes_the_approach_the_dwell_and_the_direct_time(tmp_path):
    model = _model(tmp_path)
    drt = _service(model, dwell_s=30)
    first = Rider(model, drt, "n1", "n3", at=300)  # the vehicle waits at the depot, n0
    second = Rider(model, drt, "n2", "n0", at=900)  # ... and then at n3, where it left off
    model.run()
    assert first.accepted and second.accepted
    assert first.boarded - first.asked == pytest.approx(1 * KM_S, abs=3)
    assert first.alighted - first.asked == pytest.approx(1 * KM_S + 30 + 2 * KM_S, abs=3)
    assert second.boarded - second.asked == pytest.approx(1 * KM_S, abs=3)  # from n3, not n0
    assert second.alighted - second.boarded == pytest.approx(30 + 2 * KM_S, abs=3)
    s = drt.stats
    assert (s.requests, s.served, s.rejected, s.boardings) == (2, 2, 0, 2)
    assert s.wait_s == pytest.approx([KM_S, KM_S], abs=3)
    assert s.km == pytest.approx(1 + 2 + 1 + 2 + 0, abs=0.05)  # ends at the depot: no pull-in
    assert s.vehicle_hours == pytest.approx((1800 - 60) / 3600, abs=0.01)
    assert drt.vehicles[0].status == "done" and drt.open_requests() == 0


@pytest.mark.parametrize("detour, slack, vehicles, shared, rejected", [
    (1.5, 300, 2, True, 0),  # the second rider is picked up on the way
    (1.0, 0, 2, False, 0),  # no detour allowed: the second vehicle comes
    (1.0, 0, 1, False, 1),  # ... and with one vehicle, the wait would be too long
])
def test_riders_going_the_same_way_share_when_the_detour_allows(tmp_path, detour, slack,
                                                                  vehicles, shared, rejected):
    model = _model(tmp_path)
    drt = _service(model, vehicles=vehicles, max_detour=detour, detour_slack_s=slack,
                   max_wait_s=300, dwell_s=30)
    a = Rider(model, drt, "n0", "n3", at=300)
    b = Rider(model, drt, "n1", "n3", at=305)  # while the vehicle is still at n0 with a
    model.run()
    assert a.accepted and a.alighted is not None
    assert drt.stats.rejected == rejected and b.accepted is (rejected == 0)
    if shared:
        assert a.vehicle == b.vehicle and b.load_on_board == 2
        # a's ride grows by b's stop: a minute to n1, its dwell, two minutes on
        assert a.alighted - (a.boarded + 30) == pytest.approx(3 * KM_S + 30, abs=3)
        assert sum(v.max_load > 0 for v in drt.vehicles) == 1
    elif not rejected:
        assert a.vehicle != b.vehicle and a.load_on_board == b.load_on_board == 1
        assert a.alighted - (a.boarded + 30) == pytest.approx(3 * KM_S, abs=3)
    assert _conserved(drt) and drt.open_requests() == 0


def test_a_pickup_too_far_to_reach_in_time_is_rejected(tmp_path):
    model = _model(tmp_path)
    drt = _service(model, max_wait_s=2.5 * KM_S)
    far = Rider(model, drt, "n3", "n0", at=300)  # three minutes from the depot
    near = Rider(model, drt, "n2", "n0", at=300)  # two minutes
    model.run()
    assert far.accepted is False and far.boarded is None
    assert near.accepted and near.alighted is not None
    assert (drt.stats.requests, drt.stats.rejected, drt.stats.served) == (2, 1, 1)
    assert drt.counts() == {"requested": 2, "served": 1, "rejected": 1, "on_board": 0,
                            "waiting_pickup": 0}


def test_outside_service_hours_requests_are_rejected(tmp_path):
    model = _model(tmp_path)
    drt = _service(model, start_s=600, end_s=1200)
    riders = [Rider(model, drt, "n1", "n2", at=t) for t in (300, 900, 1200)]
    model.run()
    assert [r.accepted for r in riders] == [False, True, False]
    assert drt.stats.rejected == 2 and _conserved(drt)


@pytest.mark.parametrize("max_wait", [3600, 400])
def test_seats_are_never_exceeded(tmp_path, max_wait):
    """Five riders ask at once for a two-seat vehicle: at most two ride at a time, the others
    are picked up a round trip (300 s) or two later; with 400 s to wait, one pair at most can
    come second and the fifth rider is refused."""
    model = _model(tmp_path)
    drt = _service(model, seats=2, max_wait_s=max_wait, dwell_s=30)
    riders = [Rider(model, drt, "n1", "n3", at=300) for _ in range(5)]
    model.run()
    assert max(r.load_on_board for r in riders if r.boarded is not None) <= 2
    assert max(n for _, n, _ in drt.stats.occupancy_samples) == 2
    assert all(n <= seats for _, n, seats in drt.stats.occupancy_samples)
    assert drt.vehicles[0].max_load == 2
    accepted = [r for r in riders if r.accepted]
    assert all(r.alighted is not None for r in accepted)
    assert drt.stats.served == len(accepted) == 5 - drt.stats.rejected
    assert len(accepted) == 5 if max_wait == 3600 else 3 <= len(accepted) <= 4
    assert max(drt.stats.wait_s) <= max_wait
    # the third boarding comes when the vehicle is back from delivering the first
    boarded = sorted(r.boarded for r in accepted)
    assert boarded[1] == boarded[0]
    assert boarded[2] - boarded[0] == pytest.approx(30 + 2 * KM_S + 30 + 2 * KM_S, abs=3)


def test_wheelchair_places_are_kept(tmp_path):
    model = _model(tmp_path)
    none = _service(model, name="no places", wheelchair_places=0)
    one = _service(model, name="one place", wheelchair_places=1, max_wait_s=3600)
    refused = Rider(model, none, "n1", "n3", at=300, wheelchair=True)
    chairs = [Rider(model, one, "n1", "n3", at=300, wheelchair=True) for _ in range(2)]
    model.run()
    assert refused.accepted is False
    assert all(r.accepted and r.alighted is not None for r in chairs)
    assert chairs[0].load_on_board == chairs[1].load_on_board == 1  # one trip each


def test_riders_are_delivered_when_the_plan_was_too_hopeful(tmp_path):
    """Planning with times half the real ones: pickups come later than promised, but every
    accepted rider is still picked up and delivered."""
    model = _model(tmp_path, end="02:00")
    drt = _service(model, speed_factor=0.5, max_wait_s=240, seats=3)
    riders = [Rider(model, drt, o, d, at=300 + 20 * i)
              for i, (o, d) in enumerate(itertools.islice(
                  itertools.cycle([("n1", "n3"), ("n3", "n0"), ("n2", "n1")]), 12))]
    model.run()
    accepted = [r for r in riders if r.accepted]
    assert len(accepted) > 3
    assert all(r.alighted is not None for r in accepted)
    assert max(r.boarded - r.asked for r in accepted) > 240  # later than planned
    assert drt.open_requests() == 0 and _conserved(drt)


def _busy_run(tmp_path, seed, end):
    od = [{"origin": "n0", "destination": "n3", "vph": 900, "start": "00:00", "end": "02:00",
           "arrivals": "poisson"},
          {"origin": "n3", "destination": "n0", "vph": 600, "start": "00:00", "end": "02:00",
           "arrivals": "poisson"}]
    model = _model(tmp_path, end=end, od=od, seed=seed)
    drt = _service(model, vehicles=2, seats=3, end_s=3000, max_wait_s=420)
    nodes = ["n0", "n1", "n2", "n3"]
    riders = []
    for _ in range(40):
        o, d = model.rng.choice(4, size=2, replace=False)
        riders.append(Rider(model, drt, nodes[o], nodes[d], at=float(model.rng.uniform(60, 3000)),
                            wheelchair=bool(model.rng.random() < 0.1)))
    model.run()
    return model, drt, riders


def test_nothing_is_lost_and_the_same_seed_gives_the_same_run(tmp_path):
    _, drt, riders = _busy_run(tmp_path / "a", seed=5, end="01:30")
    c = drt.counts()
    assert c["requested"] == 40 and _conserved(drt)
    assert c["served"] > 10 and c["rejected"] > 0
    assert drt.open_requests() == c["on_board"] + c["waiting_pickup"] == 0
    assert all(r.alighted is not None for r in riders if r.accepted)
    assert all(v.status == "done" for v in drt.vehicles)
    _, again, _ = _busy_run(tmp_path / "b", seed=5, end="01:30")
    assert asdict(again.stats) == asdict(drt.stats)


def test_a_run_ending_mid_ride_leaves_only_open_rides(tmp_path):
    _, drt, riders = _busy_run(tmp_path, seed=5, end="00:35")  # requests until 50 min
    c = drt.counts()
    assert _conserved(drt)
    open_now = [r for r in riders if r.accepted and r.alighted is None]
    assert drt.open_requests() == len(open_now) == c["on_board"] + c["waiting_pickup"] > 0
    assert drt.stats.vehicle_hours == pytest.approx(2 * (35 * 60 - 60) / 3600)


@pytest.mark.parametrize("kw, message", [
    (dict(vehicles=0), "vehicles = 0"),
    (dict(seats=-1), "seats = -1"),
    (dict(wheelchair_places=-1), "wheelchair_places = -1"),
    (dict(max_wait_s=0), "max_wait_s = 0"),
    (dict(max_detour=0.9), "max_detour = 0.9; must be >= 1.0"),
    (dict(end_s=60), "end (60 s) must be after start"),
    (dict(depot="nowhere"), "depot 'nowhere' is not a node"),
])
def test_bad_service_values_are_named(tmp_path, kw, message):
    model = _model(tmp_path)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _service(model, **kw)


# ---- the insertion search on its own ----------------------------------------------------------
def _metric(weights, k):
    """A k x k travel-time matrix closed under shortest paths (the triangle inequality holds)."""
    t = [[0.0 if a == b else float(weights[a * k + b]) for b in range(k)] for a in range(k)]
    for m, a, b in itertools.product(range(k), repeat=3):
        t[a][b] = min(t[a][b], t[a][m] + t[m][b])
    return t


def _check(travel, start, t0, stops, needs, dwell, seats, places):
    """Everything a plan must keep, evaluated directly: arrival times, loads and per rider the
    pickup time and ride. Returns (end time, pickups, rides, loads ok)."""
    times = []
    node, t = start, t0
    for i, s in enumerate(stops):  # consecutive stops at one node: one visit, one dwell
        t = t0 + travel[start][s.node] if i == 0 else (
            t if s.node == node else t + dwell + travel[node][s.node])
        node = s.node
        times.append(t)
    on = {r for r, nd in needs.items() if nd.ride_from_s is not None}
    loads_ok = True
    picked, rides = {}, {}
    for s, t in zip(stops, times, strict=True):
        if s.pickup:
            on.add(s.rider)
            picked[s.rider] = t
        else:
            on.discard(s.rider)
            began = picked[s.rider] + dwell if s.rider in picked else needs[s.rider].ride_from_s
            rides[s.rider] = t - began
        loads_ok &= len(on) <= seats and sum(needs[r].wheelchair for r in on) <= places
    end = times[-1] + dwell if times else t0
    return end, picked, rides, loads_ok


@st.composite
def _case(draw):
    k = draw(st.integers(2, 5))
    travel = _metric(draw(st.lists(st.integers(10, 300), min_size=k * k, max_size=k * k)), k)
    dwell = draw(st.sampled_from([0.0, 20.0, 30.0]))
    seats = draw(st.integers(1, 4))
    places = draw(st.integers(0, 2))
    start = draw(st.integers(0, k - 1))
    # riders on board at the start: their drop-offs, each with a ride limit near its plan
    n_on = draw(st.integers(0, seats))
    drops = [Stop(draw(st.integers(0, k - 1)), r, False) for r in range(n_on)]
    chairs = [draw(st.booleans()) for _ in range(n_on)]
    while sum(chairs) > places:
        chairs[chairs.index(True)] = False
    times = stop_times(travel, start, 0.0, drops, dwell)
    needs = {}
    for s, t, chair in zip(drops, times, chairs, strict=True):
        # a negative slack: traffic has made this rider late already
        needs[s.rider] = Need(chair, 0.0, t + 60 + draw(st.integers(-100, 400)), -60.0)
    requests = draw(st.lists(st.tuples(
        st.integers(0, k - 1), st.integers(0, k - 1), st.booleans(),
        st.integers(0, 900), st.floats(1.0, 2.0), st.integers(0, 300)), max_size=6))
    return travel, dwell, seats, places, start, drops, needs, requests


@settings(max_examples=300, deadline=None)
@given(_case())
def test_every_accepted_insertion_keeps_every_riders_limits(case):
    travel, dwell, seats, places, start, stops, needs, requests = case
    first = 1 if stops else 0  # a vehicle driving to its first stop
    stops, needs = tuple(stops), dict(needs)
    for n, (o, d, chair, wait, detour, slack) in enumerate(requests):
        if o == d:
            continue
        key = 100 + n
        need = Need(chair, wait, detour * travel[o][d] + slack)
        before = _check(travel, start, 0.0, stops, needs, dwell, seats, places)
        ins = insert_request(travel, start, 0.0, stops, needs, key, need, o, d, seats=seats,
                             wheelchair_places=places, dwell_s=dwell, first=first)
        # brute force over every pair of positions, with the direct evaluation above
        best = None
        for i in range(first, len(stops) + 1):
            for j in range(i, len(stops) + 1):
                cand = (*stops[:i], Stop(o, key, True), *stops[i:j], Stop(d, key, False),
                        *stops[j:])
                end, picked, rides, loads_ok = _check(travel, start, 0.0, cand,
                                                      {**needs, key: need}, dwell, seats, places)
                feasible = loads_ok and picked[key] <= need.latest_pickup_s + 1e-6 \
                    and rides[key] <= need.max_ride_s + 1e-6
                for r, nd in needs.items():  # as late as before at worst, else within limits
                    if r in picked:
                        feasible &= picked[r] <= max(nd.latest_pickup_s, before[1][r]) + 1e-6
                    feasible &= rides[r] <= max(nd.max_ride_s, before[2][r]) + 1e-6
                if feasible and (best is None or end - before[0] < best - 1e-6):
                    best = end - before[0]
        if ins is None:
            assert best is None
            continue
        assert best is not None and ins.added_s == pytest.approx(best, abs=1e-6)
        # the accepted plan: the old stops in order, the pickup before the drop-off
        assert [s for s in ins.stops if s.rider != key] == list(stops)
        assert ins.stops.index(Stop(o, key, True)) < ins.stops.index(Stop(d, key, False))
        assert ins.stops[:first] == stops[:first]
        end, picked, rides, loads_ok = _check(travel, start, 0.0, ins.stops,
                                              {**needs, key: need}, dwell, seats, places)
        assert loads_ok
        assert picked[key] == pytest.approx(ins.pickup_s) and picked[key] <= wait + 1e-6
        assert rides[key] <= need.max_ride_s + 1e-6
        for r, nd in needs.items():
            if r in picked:
                assert picked[r] <= max(nd.latest_pickup_s, before[1][r]) + 1e-6
            assert rides[r] <= max(nd.max_ride_s, before[2][r]) + 1e-6
        assert list(ins.times) == pytest.approx(
            stop_times(travel, start, 0.0, ins.stops, dwell))
        stops, needs = ins.stops, {**needs, key: need}

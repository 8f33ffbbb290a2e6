"""Shuttle lines on the engine: seats are never exceeded, full buses deny boarding, dwell
follows boardings, and fewer buses mean longer waits."""

from __future__ import annotations

import numpy as np
import pytest
from mesa import Agent
from traffic_helpers import line_network, scenario

from agents.shuttle import LineSpec, ShuttleLine
from sim.errors import InputError
from sim.model import SummitModel

STREET = [{"length_km": 1.0, "class": "arterial", "lanes": 2, "speed_kmh": 60, "oneway": False}] * 3


class Rider(Agent):
    """A passenger who waits at a stop for a bus to its destination."""

    def __init__(self, model, destination: str, wheelchair: bool = False):
        super().__init__(model)
        self.rider_id = self.unique_id
        self.destination = destination
        self.wheelchair = wheelchair
        self.joined = self.boarded = self.alighted = None
        self.denied = 0
        self.loads: list[int] = []

    def queue_at(self, line: ShuttleLine, stop: str) -> None:
        self.joined = self.model.time
        line.queues[stop].join(self, self.model.time)

    def on_board(self, shuttle, time):
        self.boarded = time
        self.loads.append(len(shuttle.riders))

    def on_alight(self, shuttle, stop, time):
        assert stop == self.destination
        self.alighted = time

    def on_denied(self, shuttle, time):
        self.denied += 1


def _model(tmp_path, end="03:00"):
    tmp_path.mkdir(parents=True, exist_ok=True)
    return SummitModel(scenario(line_network(tmp_path, STREET), end=end))


def _line(model, **kw):
    spec = dict(name="test line", stops=("n0", "n2", "n3"), headway_s=600, start_s=600,
                end_s=7200, vehicles=2, seats=40, layover_s=120)
    spec.update(kw)
    return ShuttleLine(model, LineSpec(**spec))


def test_full_bus_denies_and_seats_are_never_exceeded(tmp_path):
    model = _model(tmp_path)
    line = _line(model, vehicles=1, seats=30)
    riders = [Rider(model, "n3") for _ in range(75)]
    for r in riders:
        r.queue_at(line, "n0")
    model.run()
    assert all(r.alighted is not None for r in riders)
    assert max(load for r in riders for load in r.loads) <= 30
    assert max(bus.max_load for bus in line.buses) == 30
    assert line.stats.denied == 45 + 15  # the second and third busloads wait once and twice
    assert line.stats.boardings == line.stats.alightings == 75
    first = sorted(r.boarded for r in riders)
    assert first[29] < first[30]  # the 31st rider had to wait for the next run


def test_riders_only_board_buses_going_their_way(tmp_path):
    model = _model(tmp_path)
    line = _line(model)
    back = [Rider(model, "n0") for _ in range(5)]
    for r in back:
        r.queue_at(line, "n2")
    model.run()
    # the first runs go n0 -> n3; riders to n0 board only a run coming back
    for r in back:
        assert r.alighted is not None and r.alighted > r.boarded


def test_dwell_grows_with_boardings(tmp_path):
    def leave_time(n):
        model = _model(tmp_path / f"d{n}")
        line = _line(model, vehicles=1, dwell_base_s=10, dwell_per_boarding_s=3)
        for _ in range(n):
            Rider(model, "n3").queue_at(line, "n0")
        model.run()
        lk, _, t_in, _ = model.engine.traversals_log()
        first_leg = int(model.engine.graph.of_link[model.network.link_between("n0", "n1").id])
        return t_in[lk == first_leg].min()

    # a bus leaves when its dwell is over, to within one engine advance (5 s)
    assert leave_time(20) - leave_time(0) == pytest.approx(20 * 3, abs=5.0)


def test_halving_the_fleet_raises_waiting(tmp_path):
    """A 5-minute headway needs three buses on this line (an 11-minute round trip); with two
    instead of four, runs start ever later and riders wait longer (over several seeds)."""
    def mean_wait(vehicles, seed):
        model = _model(tmp_path / f"v{vehicles}-{seed}", end="04:00")
        line = _line(model, vehicles=vehicles, headway_s=300, end_s=3 * 3600, layover_s=120)
        rng = np.random.default_rng(seed)
        riders = [Rider(model, "n3") for _ in range(300)]
        for r, t in zip(riders, np.sort(rng.uniform(900, 9000, 300)), strict=True):
            model.schedule_event(_Joiner(model, r, line).join, at=float(t))
        model.run()
        waits = [r.boarded - r.joined for r in riders]
        return float(np.mean(waits))

    assert mean_wait(4, 1) < 300  # about half the headway when the fleet keeps time
    for seed in (1, 2, 3):
        assert mean_wait(2, seed) > 1.5 * mean_wait(4, seed)


class _Joiner(Agent):
    """Puts a rider in the queue at its time (a Mesa event)."""

    def __init__(self, model, rider, line):
        super().__init__(model)
        self.rider, self.line = rider, line

    def join(self):
        self.rider.queue_at(self.line, "n0")


@pytest.mark.parametrize("kw, message", [
    (dict(stops=("n0",)), "at least 2 needed"),
    (dict(vehicles=0), "vehicles = 0"),
    (dict(seats=-5), "seats = -5"),
    (dict(end_s=0), "end (0 s) must be after start"),
    (dict(stops=("n0", "nowhere")), "stop 'nowhere' is not a node"),
])
def test_bad_line_values_are_named(tmp_path, kw, message):
    model = _model(tmp_path)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _line(model, **kw)


def test_breakdowns_bring_a_spare_and_cost_the_riders_time(tmp_path):
    """Every bus breaks down on a line with a very high rate: a spare drives out from the
    depot, the riders move across, nobody is lost, and their trips take longer."""
    def ride(rate):
        model = _model(tmp_path / f"r{rate}")
        line = _line(model, vehicles=1, depot="n1", breakdowns_per_hour=rate)
        riders = [Rider(model, "n3") for _ in range(30)]
        for r in riders:
            r.queue_at(line, "n0")
        model.run()
        assert all(r.alighted is not None for r in riders)
        return line.stats.breakdowns, np.mean([r.alighted - r.boarded for r in riders])

    none, t_ok = ride(0.0)
    many, t_broken = ride(200.0)
    assert none == 0 and many > 0
    assert t_broken > t_ok + 100  # the spare's drive and the transfer

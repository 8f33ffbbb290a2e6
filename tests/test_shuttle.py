"""Shuttle lines on the engine: seats are never exceeded, full buses deny boarding, dwell
follows boardings, and fewer buses mean longer waits."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from mesa import Agent
from traffic_helpers import line_network, scenario

from agents.summit.shuttle import LineSpec, ShuttleLine
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
                end_s=7200, vehicles=2, seats=40, layover_s=120, wheelchair_places=0)
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
    assert len(line.stats.denied_riders) == 45  # people left behind, however often
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


def _metres(model, *nodes) -> float:
    """Metres along the road through the given nodes, link by link."""
    return sum(model.network.link_between(a, b).length_m for a, b in pairwise(nodes))


def test_line_loads_worked_by_hand(tmp_path):
    """One bus, one departure out (n0 - n2 - n3) and its run back: nine riders from n0 (six to
    n3, three to n2) and two joining at n2 for n3. Out: 9 on board for the 2 km to n2, 8 for the
    1 km to n3; back: empty. Passenger-km 9 x 2 + 8 x 1 = 26, seat-km 10 x (3 + 3) = 60."""
    from sim.metrics import line_metrics

    model = _model(tmp_path)
    line = _line(model, vehicles=1, seats=10, start_s=600, end_s=900)
    far = [Rider(model, "n3") for _ in range(6)]
    near = [Rider(model, "n2") for _ in range(3)]
    later = [Rider(model, "n3") for _ in range(2)]
    for r in far + near:
        r.queue_at(line, "n0")
    for r in later:
        r.queue_at(line, "n2")
    model.run()
    riders = far + near + later
    assert all(r.alighted is not None for r in riders)
    to_n2, to_n3 = _metres(model, "n0", "n1", "n2") / 1000, _metres(model, "n2", "n3") / 1000
    back_n2, back_n0 = _metres(model, "n3", "n2") / 1000, _metres(model, "n2", "n1", "n0") / 1000
    assert to_n2 == pytest.approx(2.0, abs=0.01) and to_n3 == pytest.approx(1.0, abs=0.01)
    # the legs as the line keeps them: (left the stop, run, riders on board, boarded, metres);
    # here (run, riders on board, boarded)
    legs = [(leg[1], leg[2], leg[3]) for leg in line.stats.legs]
    assert legs == [(1, 9, 9), (1, 8, 2), (2, 0, 0), (2, 0, 0)]
    m = line_metrics(line)
    passenger_km = 9 * to_n2 + 8 * to_n3
    seat_km = 10 * (to_n2 + to_n3 + back_n2 + back_n0)
    assert m["passenger_km"] == pytest.approx(passenger_km, abs=0.05)
    assert m["seat_km"] == pytest.approx(seat_km, abs=0.05)
    assert m["load_factor"] == pytest.approx(passenger_km / seat_km, abs=1e-4)
    assert m["load_factor"] == pytest.approx(26 / 60, abs=0.01)
    assert m["runs"] == 2 and m["boardings"] == m["alightings"] == 11
    assert m["boardings_per_seat"] == pytest.approx(11 / (10 * 2))  # 10 seats on each of 2 runs
    # everyone boarded within the first quarter hour: the busiest hour starts at midnight and
    # the fullest leg in it is the first one
    assert m["peak_hour_start_s"] == 0.0
    assert m["max_load"] == 9 and m["max_load_share"] == pytest.approx(0.9)
    assert m["people_denied"] == 0 and m["carried_nobody"] == 0
    waits = [(r.boarded - r.joined) / 60 for r in riders]
    assert m["wait_mean_min"] == pytest.approx(np.mean(waits), abs=0.01)
    assert m["wait_p90_min"] == pytest.approx(np.percentile(waits, 90), abs=0.01)


def test_busiest_hour_and_its_max_load(tmp_path):
    """Two riders in the first hour, five (in one bus) in the fourth: the busiest hour is the
    fourth, its fullest leg carries five, not the day's first riders."""
    from sim.metrics import line_metrics

    model = _model(tmp_path, end="05:00")
    line = _line(model, vehicles=2, seats=8, start_s=600, end_s=4 * 3600)
    for r in [Rider(model, "n3") for _ in range(2)]:
        r.queue_at(line, "n0")
    late = [Rider(model, "n3") for _ in range(5)]

    def come_later():
        for r in late:
            r.queue_at(line, "n0")

    model.schedule_event(come_later, at=3 * 3600 + 60)  # kept alive by this frame until run ends
    model.run()
    m = line_metrics(line)
    assert m["boardings"] == 7
    assert m["peak_hour_start_s"] == 3 * 3600.0
    assert m["max_load"] == 5 and m["max_load_share"] == pytest.approx(5 / 8)


def test_a_line_nobody_uses_carried_nobody(tmp_path):
    from sim.metrics import line_metrics

    model = _model(tmp_path)
    line = _line(model)
    model.run()
    m = line_metrics(line)
    assert line.stats.runs > 0 and m["seat_km"] > 0  # it ran: seats were offered
    assert m["carried_nobody"] == 1 and m["boardings"] == 0
    assert m["load_factor"] == 0.0 and m["passenger_km"] == 0.0
    assert m["boardings_per_seat"] == 0.0 and m["max_load"] == 0
    assert m["peak_hour_start_s"] is None and m["wait_mean_min"] is None


def _departures_from_n0(model) -> np.ndarray:
    """When buses set off from the first stop n0 (entering the road n0 -> n1, dwell included)."""
    lk, _, t_in, _ = model.engine.traversals_log()
    first = int(model.engine.graph.of_link[model.network.link_between("n0", "n1").id])
    return np.sort(t_in[lk == first])


def test_a_line_runs_each_periods_headway(tmp_path):
    """Every 5 minutes on 3 buses from 00:10 to 01:00, then every 15 minutes on one bus to
    02:00 (its end: a departure then too), and an extra run at 01:07: ten, five and one
    departures; in the sparse hour one bus runs while the two others lay over."""
    model = _model(tmp_path)
    line = _line(model, headway_s=None, vehicles=None, start_s=600, end_s=7200,
                 periods=((600, 3600, 300, 3), (3600, 7200, 900, 1)), extra_runs=(4020,))
    model.run()
    left = _departures_from_n0(model)
    dwell = 10.0 + 5.0  # the base dwell, and one engine advance
    assert len(left[(left >= 600) & (left < 3600)]) == 10
    assert len(left[left >= 3600]) == 6
    assert np.all((left[left >= 3600] - [3600, 4020, 4500, 5400, 6300, 7200]) <= dwell)
    assert line.spec.fleet == len(line.buses) == 3
    late = [bus for bus in line.buses if any(t >= 3600 for t in bus.runs)]
    assert len(late) == 2  # one for the timetable, one for the extra run


def test_buses_laid_over_drive_no_km(tmp_path):
    """A line of 3 buses all day and one of 3 buses in its first hour and one in its second
    drive the same km per run: the buses laid over add nothing, so km follow the runs."""
    def line_km(**kw):
        model = _model(tmp_path / str(len(kw)))
        line = _line(model, start_s=600, end_s=7200, depot="n1", **kw)
        model.run()
        return line.stats.km, line.stats.runs

    all_day = line_km(headway_s=300, vehicles=3)
    periods = line_km(headway_s=None, vehicles=None,
                      periods=((600, 3600, 300, 3), (3600, 7200, 900, 1)))
    assert periods[1] == 2 * (10 + 5) and all_day[1] == 2 * 23
    run_km = 6.0  # out n0 - n3 and back, 3 km each way
    pulls_km = 3 * 2 * 1.0  # each bus out from the depot at n1 and back to it at the end
    # (the roads' lengths are measured on the map: within 0.5% of the round kilometres)
    assert all_day[0] == pytest.approx(all_day[1] / 2 * run_km + pulls_km, rel=0.005)
    assert periods[0] == pytest.approx(periods[1] / 2 * run_km + pulls_km, rel=0.005)
    assert periods[0] < 0.7 * all_day[0]

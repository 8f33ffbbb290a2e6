"""Screening gates against queueing theory: no wait below capacity, the fluid queue above it,
parallel gates, opening hours, turning away at closing, FIFO order and bad input."""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.summit.screening import ScreeningGates, deterministic_queue_wait
from sim.errors import InputError


def _feed(gates: ScreeningGates, times) -> list[float]:
    return [gates.arrive(i, t) for i, t in enumerate(times)]


def test_below_capacity_nobody_waits():
    """2 gates x 600/h = 1,200/h against 1,000/h evenly spaced: each person walks straight in."""
    g = ScreeningGates("north", gates=2, throughput_per_gate_per_hour=600)
    times = [i * 3.6 for i in range(1000)]
    clear = _feed(g, times)
    assert g.served == 1000 and g.turned_away == []
    assert max(g.waits()) == 0.0
    assert g.max_queue == 0
    assert clear == pytest.approx([t + 6.0 for t in times])
    assert g.percentile_wait_min(95) == 0.0
    assert deterministic_queue_wait(1000, 2, 600, 1.0) == 0.0


def test_steady_overload_matches_fluid_queue_and_serves_at_capacity():
    """lambda = 1,500/h into mu = 2 x 600/h for one hour: the last arrival waits
    (lambda - mu) / mu x 60 min = 15 min, and people clear at exactly mu while the queue stands."""
    g = ScreeningGates("main hall", gates=2, throughput_per_gate_per_hour=600)
    times = [i * 3600 / 1500 for i in range(1500)]
    clear = np.array(_feed(g, times))
    theory = deterministic_queue_wait(1500, 2, 600, 1.0)
    assert theory == pytest.approx(15.0)
    assert g.wait_s(1499) / 60 == pytest.approx(theory, rel=0.02)
    assert g.percentile_wait_min(100) == pytest.approx(g.wait_s(1499) / 60)
    # Any 10-minute window while the queue stands holds mu x 10 min = 200 completions.
    for t0 in (1000.7, 2000.7, 3000.7):
        assert np.count_nonzero((clear >= t0) & (clear < t0 + 600)) == 200
    # The queue grows at lambda - mu = 300/h: about 300 people wait when arrivals stop.
    assert g.queue_length_at(3599) == pytest.approx(300, abs=2)
    assert g.max_queue == pytest.approx(300, abs=2)


def test_c_simultaneous_arrivals_are_served_at_once():
    g = ScreeningGates("east", gates=4, throughput_per_gate_per_hour=360)  # 10 s each
    clear = _feed(g, [100.0] * 5)
    assert clear[:4] == [110.0] * 4
    assert sorted(g.gate_for(i) for i in range(4)) == [0, 1, 2, 3]
    assert clear[4] == 120.0 and g.wait_s(4) == 10.0
    assert g.queue_length_at(100.0) == 1 and g.max_queue == 1


def test_early_arrivals_wait_for_opening():
    g = ScreeningGates("west", gates=1, throughput_per_gate_per_hour=360, opens_s=3600)
    clear = _feed(g, [0.0, 10.0, 20.0])
    assert clear == [3610.0, 3620.0, 3630.0]
    assert g.waits() == [3600.0, 3600.0, 3600.0]
    assert g.queue_length_at(3599.0) == 3
    assert g.queue_length_at(3600.0) == 2  # the first is in service
    assert g.max_queue == 3


def test_after_closing_people_are_turned_away_and_counted():
    """One 10 s gate open 0-100 s: 15 people at t = 0 fill ten slots; the rest, and anyone later,
    are turned away, and every arrival is either served or turned away."""
    g = ScreeningGates("south", gates=1, throughput_per_gate_per_hour=360, closes_s=100)
    clear = _feed(g, [0.0] * 15)
    assert clear[:10] == [10.0 * (k + 1) for k in range(10)]  # the tenth starts at 90 s
    assert clear[10:] == [math.inf] * 5  # service would start at 100 s = closing
    assert g.arrive("late", 200.0) == math.inf
    assert g.turned_away == [10, 11, 12, 13, 14, "late"]
    assert g.served + len(g.turned_away) == g.arrivals == 16
    assert g.wait_s(12) == math.inf and g.gate_for(12) is None
    assert len(g.waits()) == 10
    # The five still waiting at closing are sent away then.
    assert g.queue_length_at(99.0) == 5
    assert g.queue_length_at(100.0) == 0
    assert g.queue_length_at(200.0) == 0


def test_service_starting_just_before_closing_is_completed():
    g = ScreeningGates("gate 3", gates=1, throughput_per_gate_per_hour=60, closes_s=60.0)
    assert g.arrive("a", 59.0) == 59.0 + 60.0
    assert g.arrive("b", 59.0) == math.inf


def test_fifo_service_starts_follow_arrival_order():
    g = ScreeningGates("bank", gates=3, throughput_per_gate_per_hour=200)
    times = np.cumsum(np.tile([0.0, 0.0, 1.0, 30.0, 2.0, 0.5], 50))
    _feed(g, times)
    starts = [g.start_s(i) for i in range(len(times))]
    assert all(a <= b for a, b in pairwise(starts))
    assert [g.wait_s(i) for i in range(len(times))] == g.waits()


def test_out_of_order_arrival_raises_naming_both_times():
    g = ScreeningGates("north", gates=1, throughput_per_gate_per_hour=600)
    g.arrive("a", 50.0)
    with pytest.raises(ValueError, match=r"40\.0.*50\.0"):
        g.arrive("b", 40.0)
    with pytest.raises(ValueError, match="already arrived"):
        g.arrive("a", 60.0)
    assert g.arrivals == 1


@pytest.mark.parametrize(("kwargs", "field", "shown"), [
    ({"gates": 0}, "gates", "0"),
    ({"gates": -2}, "gates", "-2"),
    ({"gates": 2.5}, "gates", "2.5"),
    ({"gates": True}, "gates", "True"),
    ({"throughput_per_gate_per_hour": 0}, "throughput_per_gate_per_hour", "0"),
    ({"throughput_per_gate_per_hour": -60.0}, "throughput_per_gate_per_hour", "-60.0"),
    ({"throughput_per_gate_per_hour": math.nan}, "throughput_per_gate_per_hour", "nan"),
    ({"opens_s": math.nan}, "opens_s", "nan"),
    ({"opens_s": 100.0, "closes_s": 100.0}, "closes_s", "100.0"),
    ({"opens_s": 100.0, "closes_s": 50.0}, "closes_s", "50.0"),
])
def test_invalid_arguments_raise_input_error_naming_field_and_value(kwargs, field, shown):
    args = {"name": "north", "gates": 2, "throughput_per_gate_per_hour": 600.0, **kwargs}
    with pytest.raises(InputError) as info:
        ScreeningGates(**args)
    message = str(info.value)
    assert f"{field} = {shown}" in message and "must be" in message


@settings(max_examples=100, deadline=None)
@given(
    gaps=st.lists(st.floats(0.0, 30.0, allow_nan=False), min_size=1, max_size=60),
    gates=st.integers(1, 4),
    throughput=st.floats(60.0, 1200.0),
    opens=st.floats(0.0, 200.0),
    open_for=st.one_of(st.just(math.inf), st.floats(1.0, 600.0)),
)
def test_property_gates_never_overbooked_and_waits_non_negative(gaps, gates, throughput, opens,
                                                                open_for):
    g = ScreeningGates("prop", gates, throughput, opens_s=opens, closes_s=opens + open_for)
    times = np.cumsum(gaps).tolist()
    clear = _feed(g, times)
    served = [i for i, c in enumerate(clear) if c != math.inf]
    assert g.served + len(g.turned_away) == len(times)
    assert g.turned_away == [i for i, c in enumerate(clear) if c == math.inf]
    starts = [g.start_s(i) for i in served]
    assert all(w >= 0 for w in g.waits())
    assert all(opens <= s < g.closes_s for s in starts)
    assert all(a <= b for a, b in pairwise(starts))  # FIFO
    assert all(clear[i] == s + g.service_s for i, s in zip(served, starts, strict=True))
    # At each service start (where the count can rise), at most `gates` people are in service,
    # and no gate screens two people at once.
    for s in starts:
        busy = [g.gate_for(i) for i in served if g.start_s(i) <= s < clear[i]]
        assert len(busy) <= gates and len(set(busy)) == len(busy)
    # Queue statistics agree with a direct count: waiting = arrived and not yet left the queue
    # (by starting service, or at closing for those turned away).
    left = [g.start_s(i) if clear[i] != math.inf else max(times[i], g.closes_s)
            for i in range(len(times))]
    counts = [sum(1 for a, lv in zip(times, left, strict=True) if a <= t < lv) for t in times]
    assert g.max_queue == max(counts)
    assert [g.queue_length_at(t) for t in times] == counts

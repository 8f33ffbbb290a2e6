"""Signal plans by time of day (traffic.signal_plans): other cycles and green shares, or flashing
signals (a signalised junction acts as give-way), in periods that may cross midnight; the day
plan (signal_cycle_s, signal_green_ratio) outside them."""

from __future__ import annotations

import numpy as np
import pytest
from traffic_helpers import exits, run, run_reference, scenario, trips, write_network

from sim.clock import format_clock, parse_clock
from sim.errors import InputError

# A T junction: Main road (an urban arterial at 50 km/h) from w through c to e, a local side
# street from c to s. Main arrives at c, a junction of three roads: a signal. c -> e ends at e,
# which is no junction.
NODES = [{"id": "w", "lat": 35.85, "lon": 129.200},
         {"id": "c", "lat": 35.85, "lon": 129.211},
         {"id": "e", "lat": 35.85, "lon": 129.222},
         {"id": "s", "lat": 35.84, "lon": 129.211}]
ROADS = [
    {"name": "Main west", "class": "arterial", "lanes": 1, "speed_kmh": 50, "oneway": False,
     "capacity_vph_per_lane": 1800, "path": ["w", "c"]},
    {"name": "Main east", "class": "arterial", "lanes": 2, "speed_kmh": 50, "oneway": False,
     "capacity_vph_per_lane": 1800, "path": ["c", "e"]},
    {"name": "Side street", "class": "local", "lanes": 1, "speed_kmh": 30, "oneway": False,
     "path": ["c", "s"]},
]
DAY_DELAY_S = 0.5 * 120 * (1 - 0.45) ** 2  # Webster's uniform delay of the day plan, no flow
GIVE_WAY_S = 10.0
FLASHING_NIGHT = {"start": "23:00", "end": "06:00", "flashing": True}


def _t_junction(tmp_path):
    return write_network(tmp_path, NODES, ROADS, name="t_junction")


def _one_car(at: str) -> dict:
    """One car from w to e, leaving at `at`."""
    t = parse_clock(at)
    return {"origin": "w", "destination": "e", "vph": 60, "start": format_clock(t - 30),
            "end": format_clock(t + 30)}


def _delays(model) -> dict[str, float]:
    """Per departure time (HH:MM): the trip's time beyond free flow (its junction delay)."""
    return {format_clock(r["depart_s"] % 86_400)[:5]: r["arrive_s"] - r["depart_s"]
            - r["free_flow_s"] for r in trips(model)}


def test_a_flashing_night_plan_gives_the_give_way_delay(tmp_path):
    net = _t_junction(tmp_path)
    od = [_one_car("03:00"), _one_car("12:00")]
    night = run(scenario(net, od=od, end="13:00",
                         traffic={"signal_plans": [FLASHING_NIGHT]}))
    delays = _delays(night)
    assert delays["03:00"] == pytest.approx(GIVE_WAY_S)
    assert delays["12:00"] == pytest.approx(DAY_DELAY_S)
    assert delays["03:00"] < delays["12:00"]
    # without plans the day plan runs at night too
    day = _delays(run(scenario(net, od=od, end="13:00")))
    assert day["03:00"] == pytest.approx(DAY_DELAY_S) == day["12:00"]


def test_a_period_across_midnight_holds_on_both_sides_of_it_every_day(tmp_path):
    """22:00-06:00 with a 60 s cycle and half green (Webster at no flow: 7.5 s) on a run from
    noon to 07:00 the next day."""
    net = _t_junction(tmp_path)
    od = [_one_car(t) for t in ("21:30", "23:30", "29:30", "30:30")]  # 05:30, 06:30 next day
    plan = {"start": "22:00", "end": "06:00", "cycle_s": 60, "green_ratio": 0.5}
    model = run(scenario(net, od=od, start="12:00", end="31:00",
                         traffic={"signal_plans": [plan]}))
    short = 0.5 * 60 * (1 - 0.5) ** 2
    assert _delays(model) == pytest.approx({"21:30": DAY_DELAY_S, "23:30": short,
                                            "05:30": short, "06:30": DAY_DELAY_S})


def test_a_run_that_starts_inside_a_period_starts_on_its_plan(tmp_path):
    net = _t_junction(tmp_path)
    od = [_one_car("04:00"), _one_car("07:00")]
    model = run(scenario(net, od=od, start="02:00", end="08:00",
                         traffic={"signal_plans": [FLASHING_NIGHT]}))
    assert _delays(model) == pytest.approx({"04:00": GIVE_WAY_S, "07:00": DAY_DELAY_S})


@pytest.mark.parametrize(("plan", "capacity_vph"), [
    (None, 2200 * 0.45),  # the day plan: 45% of the saturation flow
    ({"cycle_s": 90, "green_ratio": 0.3}, 2200 * 0.3),
    ({"flashing": True}, 1800),  # no signal cap: the road's own capacity
])
def test_the_signal_capacity_follows_the_plan(tmp_path, plan, capacity_vph):
    """2,400 veh/h for an hour at 01:00 into the one-lane approach: it discharges at what the
    signal of the hour lets through."""
    net = _t_junction(tmp_path)
    plans = [{"start": "00:00", "end": "06:00", **plan}] if plan else []
    od = [{"origin": "w", "destination": "e", "vph": 2400, "start": "01:00", "end": "02:00"}]
    model = run(scenario(net, od=od, end="06:00", traffic={"signal_plans": plans}))
    out = exits(model, "w", "c")
    busy = out[(out > 3600 + 600) & (out < 3600 + 3000)]  # while the queue stands
    rate = (len(busy) - 1) / (busy[-1] - busy[0]) * 3600
    assert rate == pytest.approx(capacity_vph, rel=0.02)


def test_guidance_tables_are_rebuilt_when_the_plan_changes(tmp_path):
    net = _t_junction(tmp_path)
    od = [_one_car("01:00")]
    model = run(scenario(net, od=od, end="08:00", traffic={
        "signal_plans": [FLASHING_NIGHT], "reroute_interval_s": 86_400}))
    plain = run(scenario(net, od=od, end="08:00", traffic={"reroute_interval_s": 86_400}))
    # at the start (the night plan) and at 06:00 (the day plan again; 23:00 is past the end)
    assert model.engine.guidance.rebuilds == plain.engine.guidance.rebuilds + 2
    assert model.engine.signal_plan == model.engine.day_plan
    assert [c for c in model.controls if c["control"] == "signal_plan"] == [
        {"control": "signal_plan", "start": 82_800.0, "end": 21_600.0, "cycle_s": None,
         "green_ratio": None, "flashing": True}]


def test_a_plan_equal_to_the_day_plan_changes_nothing(tmp_path):
    net = _t_junction(tmp_path)
    od = [{"origin": "w", "destination": "e", "vph": 900, "start": "00:00", "end": "03:00"},
          {"origin": "s", "destination": "w", "vph": 200, "start": "00:00", "end": "03:00"}]
    same = [{"start": "01:00", "end": "02:00", "cycle_s": 120, "green_ratio": 0.45}]
    assert trips(run(scenario(net, od=od, traffic={"signal_plans": same}))) == trips(
        run(scenario(net, od=od)))


def test_fast_and_reference_loops_agree_with_plans_and_speed_factors(tmp_path, grid_spec,
                                                                     write_json):
    """Busy traffic across a grid of signalised and give-way junctions while the plans switch
    (a flashing night, a short-cycle evening) and with speed factors on two road classes."""
    net = write_json(grid_spec)
    pairs = [("n00", "n22", 500), ("n22", "n00", 400), ("n02", "n20", 300),
             ("n20", "n12", 300), ("n10", "n02", 200)]
    od = [{"origin": a, "destination": b, "vph": v, "start": "04:30", "end": "07:30",
           "arrivals": "poisson"} for a, b, v in pairs]
    od.append({"origin": "n00", "destination": "n22", "vph": 4, "start": "05:00",
               "end": "07:00", "kind": "emergency"})
    plans = [{"start": "22:00", "end": "05:30", "flashing": True},
             {"start": "06:30", "end": "06:45", "cycle_s": 60, "green_ratio": 0.35}]
    sc = scenario(net, od=od, start="04:00", end="08:00", traffic={
        "signal_plans": plans, "speed_factors": {"arterial": 0.8, "local": 1.2},
        "reroute_interval_s": 300})
    fast = run(sc)
    ref = run_reference(sc)
    rows = trips(fast)
    assert len(rows) > 3000 and rows == trips(ref)
    for a, b in zip(fast.engine.traversals_log(), ref.engine.traversals_log(), strict=True):
        assert np.array_equal(a, b)
    assert fast.engine.timeseries == ref.engine.timeseries
    # and the plans did change what happened: without them the trips differ
    sc_day = scenario(net, od=od, start="04:00", end="08:00", traffic={
        "speed_factors": {"arterial": 0.8, "local": 1.2}, "reroute_interval_s": 300})
    assert trips(run(sc_day)) != rows


@pytest.mark.parametrize(("period", "field", "value"), [
    ({"start": "23:00", "end": "06:00", "cycle_s": 1000, "green_ratio": 0.5},
     "traffic.signal_plans[0].cycle_s", "1000"),
    ({"start": "23:00", "end": "06:00", "cycle_s": 0, "green_ratio": 0.5},
     "traffic.signal_plans[0].cycle_s", "0"),
    ({"start": "23:00", "end": "06:00", "cycle_s": 60, "green_ratio": 1.2},
     "traffic.signal_plans[0].green_ratio", "1.2"),
    ({"start": "23:00", "end": "23:00", "flashing": True}, "traffic.signal_plans[0]", "23:00"),
    ({"start": "23h00", "end": "06:00", "flashing": True},
     "traffic.signal_plans[0].start", "23h00"),
    ({"start": "23:00", "end": "6:75", "flashing": True},
     "traffic.signal_plans[0].end", "6:75"),
    ({"start": "23:00", "end": "30:00", "flashing": True},
     "traffic.signal_plans[0].end", "30:00"),
    ({"start": "23:00", "end": "06:00", "cycle_s": 60}, "traffic.signal_plans[0]",
     "green_ratio"),
    ({"start": "23:00", "end": "06:00", "flashing": True, "green_ratio": 0.5},
     "traffic.signal_plans[0]", "flashing"),
])
def test_a_bad_period_is_refused_naming_the_field_and_value(tmp_path, period, field, value):
    with pytest.raises(InputError) as err:
        scenario(_t_junction(tmp_path), traffic={"signal_plans": [period]})
    assert field in str(err.value) and value in str(err.value)


def test_overlapping_periods_are_refused_naming_both(tmp_path):
    plans = [{"start": "06:00", "end": "07:00", "cycle_s": 80, "green_ratio": 0.4},
             FLASHING_NIGHT,
             {"start": "05:00", "end": "05:30", "cycle_s": 60, "green_ratio": 0.5}]
    with pytest.raises(InputError) as err:
        scenario(_t_junction(tmp_path), traffic={"signal_plans": plans})
    msg = str(err.value)
    assert "traffic.signal_plans[1] (23:00-06:00)" in msg
    assert "traffic.signal_plans[2] (05:00-05:30)" in msg and "overlap" in msg
    # touching periods do not overlap
    scenario(_t_junction(tmp_path), traffic={"signal_plans": plans[:2]})

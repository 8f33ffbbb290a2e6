"""The engine's array-based read side (counts, the cached traversal log) equals its per-vehicle
definition. (The inlined loop against the reference loop: test_traffic_theory.)"""

from __future__ import annotations

from traffic_helpers import BOTTLENECK, line_network, run, scenario
from traffic_helpers import od as _od


def _congested(tmp_path):
    net = line_network(tmp_path, BOTTLENECK)
    return scenario(net, od=[_od(2400), _od(300, kind="truck"),
                             _od(6, start="00:30", end="00:50", kind="emergency")],
                    motorcades=[{"name": "M", "route": ["n0", "n4"], "depart": "00:45"}],
                    end="01:00")


def test_counts_and_cached_log_match_their_definitions(tmp_path):
    e = run(_congested(tmp_path)).engine
    expected = {"registered": len(e.v_kind), "entered": 0, "arrived": 0, "en_route": 0,
                "stuck": 0, "abandoned": 0, "planned": 0, "forced": 0}
    for veh, state in enumerate(e.v_state):
        if state == 0:  # planned
            expected["planned"] += 1
        else:
            expected["entered"] += 1
            expected[e.vehicle_status(veh)] += 1
            expected["forced"] += e.vehicle_status(veh) == "arrived" and e.v_forced[veh]
    assert e.counts() == expected
    first = e.traversals_log()
    assert first is e.traversals_log()  # computed once per log length
    assert len(first[0]) * 2 == len(e.log) > 0
    assert not first[0].flags.writeable  # shared between readers: read-only

"""Small test networks and scenarios for the traffic engine, written by the tests themselves."""

from __future__ import annotations

import json

from sim.model import SummitModel
from sim.scenario import validate_scenario

DLON_PER_KM = 1 / 90.26  # degrees of longitude per km at 35.85 N


def line_network(tmp_path, segments, *, name="line"):
    """Nodes n0, n1, ... eastwards; segment i is the one-way road n_i -> n_{i+1} with the given
    attributes (class, lanes, speed_kmh, capacity_vph_per_lane, length_km). A fast return road
    from the last node to n0 keeps the network strongly connected."""
    nodes = [{"id": "n0", "lat": 35.85, "lon": 129.2}]
    roads = []
    lon = 129.2
    for i, seg in enumerate(segments):
        lon += seg.get("length_km", 1.0) * DLON_PER_KM
        nodes.append({"id": f"n{i + 1}", "lat": 35.85, "lon": round(lon, 7)})
        road = {"name": seg.get("name", f"segment {i}"), "class": seg.get("class", "expressway"),
                "lanes": seg.get("lanes", 3), "speed_kmh": seg.get("speed_kmh", 60),
                "oneway": seg.get("oneway", True), "path": [f"n{i}", f"n{i + 1}"]}
        if "capacity_vph_per_lane" in seg:
            road["capacity_vph_per_lane"] = seg["capacity_vph_per_lane"]
        roads.append(road)
    last = f"n{len(segments)}"
    roads.append({"name": "return road", "class": "expressway", "lanes": 3, "speed_kmh": 100,
                  "oneway": True, "path": [last, [35.9, (129.2 + lon) / 2], "n0"]})
    return write_network(tmp_path, nodes, roads, name)


def write_network(tmp_path, nodes, roads, name="test"):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"format": "summit-sim-network", "version": 1, "name": name,
                                "nodes": nodes, "roads": roads}), encoding="utf-8")
    return path


def scenario(network_path, *, od=(), start="00:00", end="03:00", contract=False, **extra):
    traffic = {"od": list(od), "contract_chains": contract, **extra.pop("traffic", {})}
    raw = {"name": "test", "start": start, "end": end, "network": {"file": str(network_path)},
           "traffic": traffic, "outputs": {"congestion_map": False}, **extra}
    return validate_scenario(raw)


def run(sc, seed=1, *, core=None) -> SummitModel:
    """A whole run on the given traffic core (None: the default, or SUMMIT_SIM_CORE's)."""
    model = SummitModel(sc, seed=seed, core=core)
    model.run()
    return model


def run_reference(sc, seed=1) -> SummitModel:
    """The same run through the engine's reference loop (small methods, no inlining), for
    comparing every trip with the other cores'."""
    return run(sc, seed, core="reference")


def link_id(model, u, v) -> int:
    return model.network.link_between(u, v).id


def exits(model, u, v):
    """Sorted exit times of vehicles from network link u -> v (uncontracted engines only)."""
    import numpy as np

    e = model.engine
    s = int(e.graph.of_link[link_id(model, u, v)])
    lk, _, _, t_out = e.traversals_log()
    return np.sort(t_out[lk == s])


def trips(model):
    from sim.metrics import trip_records

    return trip_records(model.engine)


def conserved(model) -> bool:
    c = model.engine.counts()
    return c["entered"] == c["arrived"] + c["en_route"] + c["stuck"] + c["abandoned"]


# A 1.8 km approach on a 3-lane expressway feeds a 1-lane link of capacity 1,800 veh/h.
BOTTLENECK = [
    {"length_km": 1.0},
    {"length_km": 1.0},
    {"length_km": 1.0, "lanes": 1, "capacity_vph_per_lane": 1800},
    {"length_km": 1.0},
]


def od(vph, start="00:00", end="01:00", **kw):
    """A steady flow from one end of a 4-link line network (n0) to the other (n4)."""
    return {"origin": "n0", "destination": "n4", "vph": vph, "start": start, "end": end, **kw}

"""Small test networks and scenarios for the traffic engine, written by the tests themselves."""

from __future__ import annotations

import json

from sim.model import SummitModel
from sim.scenario import validate_scenario

# about 1.0 km of longitude per 0.01107 degrees at 35.85 N
DLON_PER_KM = 0.01107


def line_network(tmp_path, segments, *, name="line"):
    """A chain of nodes n0, n1, ... one km apart eastwards; segments: list of dicts with the
    road attributes of n_i -> n_{i+1} (class, lanes, speed_kmh, capacity_vph_per_lane,
    length_km, oneway)."""
    nodes, roads = [], []
    lon = 129.2
    nodes.append({"id": "n0", "lat": 35.85, "lon": lon})
    for i, seg in enumerate(segments):
        lon += seg.get("length_km", 1.0) * DLON_PER_KM
        nodes.append({"id": f"n{i + 1}", "lat": 35.85, "lon": round(lon, 6)})
        road = {"name": seg.get("name", f"road {i}"), "class": seg.get("class", "expressway"),
                "lanes": seg.get("lanes", 3), "speed_kmh": seg.get("speed_kmh", 60),
                "oneway": seg.get("oneway", True), "path": [f"n{i}", f"n{i + 1}"]}
        if "capacity_vph_per_lane" in seg:
            road["capacity_vph_per_lane"] = seg["capacity_vph_per_lane"]
        roads.append(road)
    # a return road closes the loop so the network is strongly connected
    back = [f"n{i}" for i in range(len(segments), -1, -1)]
    mid = [[35.87, 129.2 + 0.5 * (lon - 129.2)]]
    roads.append({"name": "return road", "class": "expressway", "lanes": 3, "speed_kmh": 100,
                  "oneway": True, "path": [back[0], *mid, back[-1]]})
    return write_network(tmp_path, nodes, roads, name)


def write_network(tmp_path, nodes, roads, name="test"):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"format": "summit-sim-network", "version": 1, "name": name,
                                "nodes": nodes, "roads": roads}), encoding="utf-8")
    return path


def scenario(network_path, *, od=(), start="00:00", end="03:00", **extra):
    raw = {"name": "test", "start": start, "end": end,
           "network": {"file": str(network_path)},
           "traffic": {"od": list(od), **extra.pop("traffic", {})}, **extra}
    return validate_scenario(raw)


def run(sc, seed=1) -> SummitModel:
    model = SummitModel(sc, seed=seed)
    model.run()
    return model


def exit_times(model, link_id):
    """Times at which vehicles left a link, from their records (vehicle ids in order)."""
    e = model.engine
    return e

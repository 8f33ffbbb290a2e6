"""Shared fixtures: a small street-style network in the project's own format."""

from __future__ import annotations

import copy
import json

import pytest


def _grid() -> dict:
    """Nine junctions of a downtown block (about 300 m spacing) plus a one-way pair."""
    lat0, lon0, d_lat, d_lon = 35.8500, 129.2100, 0.0027, 0.0033
    nodes = []
    for r in range(3):
        for c in range(3):
            nodes.append({"id": f"n{r}{c}", "lat": round(lat0 + r * d_lat, 5),
                          "lon": round(lon0 + c * d_lon, 5), "name": f"junction {r}-{c}"})
    roads = [
        {"name": "Taejong-ro", "class": "arterial", "lanes": 2, "speed_kmh": 50, "oneway": False,
         "path": ["n00", "n01", [35.8502, 129.2150], "n02"]},
        {"name": "Hwarang-ro", "class": "collector", "lanes": 1, "speed_kmh": 50, "oneway": False,
         "path": ["n10", "n11", "n12"]},
        {"name": "Wonhwa-ro", "class": "arterial", "lanes": 2, "speed_kmh": 60, "oneway": False,
         "path": ["n20", "n21", "n22"]},
        {"name": "West street", "class": "local", "lanes": 1, "speed_kmh": 30, "oneway": False,
         "path": ["n00", "n10", "n20"]},
        {"name": "Middle street", "class": "local", "lanes": 1, "speed_kmh": 30, "oneway": True,
         "path": ["n01", "n11", "n21"]},
        {"name": "East street", "class": "local", "lanes": 1, "speed_kmh": 30, "oneway": False,
         "path": ["n02", "n12", "n22"]},
    ]
    places = [
        {"name": "Test Hall", "kind": "venue", "lat": 35.8552, "lon": 129.2168, "source": "test",
         "approx": False},
        {"name": "Corner Hotel", "kind": "hotel", "lat": 35.8501, "lon": 129.2101, "node": "n00",
         "source": "test", "approx": True, "attrs": {"rooms": 120}},
    ]
    return {"format": "summit-sim-network", "version": 1, "name": "test grid",
            "sources": {"test": "written by the test"}, "nodes": nodes, "roads": roads,
            "places": places}


@pytest.fixture
def grid_spec() -> dict:
    return copy.deepcopy(_grid())


@pytest.fixture
def write_json(tmp_path):
    def write(obj, name="net.json"):
        path = tmp_path / name
        path.write_text(json.dumps(obj), encoding="utf-8")
        return path

    return write

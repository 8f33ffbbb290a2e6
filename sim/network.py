"""The road network: nodes, directed links and named places, validated on load.

Links are derived from road paths (see docs/network-format.md); lengths always come from
coordinates. The network is immutable once built; routing and the traffic engine read it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from .errors import InputError, NetworkError

ROAD_CLASSES = ("expressway", "national", "arterial", "collector", "local", "ramp")

PLACE_KINDS = (
    "venue", "hotel", "station", "bus_terminal", "airport", "car_park", "hospital",
    "fire_station", "safety_centre", "local_unit", "depot", "helipad", "landmark", "interchange",
)

STORAGE_M_PER_VEHICLE = 7.5  # metres of lane one queued car occupies (KHCM; facts doc)

MAX_SNAP_M = 2_000.0  # a place farther than this from every node is a coordinate error

# Upper bounds of a link's attributes (judgements, far beyond any real road): a network file
# with more is a unit or typing error, refused with the link named
MAX_LANES = 20  # lanes per direction
MAX_SPEED_KMH = 300.0
MAX_CAPACITY_VPH_PER_LANE = 10_000.0  # the densest expressway lane carries ~2,400 veh/h
MAX_LINK_LENGTH_M = 1_000_000.0


class ClassDefaults(NamedTuple):
    capacity_vph_per_lane: float
    speed_kmh: float


# Per-lane flow capacity by road class (veh/h). Korean Highway Capacity Manual figures from the
# facts doc: ~2,200 pc/h/lane on expressways (2,000 veh/h with ~10% heavy vehicles); ~1,600 veh/h
# on national roads outside towns; ~2,200 per hour of green at signals, so ~1,000 veh/h/lane on
# signalised arterials (g/C ~0.45) and less on collectors and local streets with more conflicts.
CLASS_DEFAULTS: dict[str, ClassDefaults] = {
    "expressway": ClassDefaults(2000.0, 100.0),
    "ramp": ClassDefaults(1500.0, 50.0),
    "national": ClassDefaults(1600.0, 70.0),
    "arterial": ClassDefaults(1000.0, 60.0),
    "collector": ClassDefaults(800.0, 50.0),
    "local": ClassDefaults(600.0, 30.0),
}


@dataclass(frozen=True, slots=True)
class Node:
    """A junction, stop or access point."""

    id: str
    index: int
    lat: float
    lon: float
    name: str = ""
    source: str = ""
    approx: bool = False


@dataclass(frozen=True, slots=True)
class Link:
    """One directed road segment between two nodes."""

    id: int
    from_node: str
    to_node: str
    road: str
    road_class: str
    lanes: int
    speed_kmh: float
    capacity_vph: float
    length_m: float
    geometry: tuple[tuple[float, float], ...]  # (lat, lon) from from_node to to_node
    oneway: bool = False

    @property
    def free_flow_s(self) -> float:
        return self.length_m / (self.speed_kmh / 3.6)


@dataclass(frozen=True, slots=True)
class Place:
    """A named place snapped to the node of its access."""

    name: str
    kind: str
    lat: float
    lon: float
    node: str
    source: str = ""
    approx: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)
    snap_m: float = 0.0


class RoadNetwork:
    """Nodes, directed links and places, with the arrays routing and the engine need."""

    def __init__(
        self,
        nodes: list[Node],
        links: list[Link],
        places: list[Place] | None = None,
        *,
        name: str = "",
        sources: dict[str, str] | None = None,
        features: list[dict] | None = None,
        notes: list[str] | None = None,
        validate: bool = True,
    ):
        self.name = name
        self.notes = list(notes or [])  # what a reader changed on import (trims, collapses)
        self.sources = dict(sources or {})
        self.features = list(features or [])
        self.nodes = nodes
        self.node_index = {n.id: n.index for n in nodes}
        self.links = links
        self.places = list(places or [])
        self._link_by_pair = {(lk.from_node, lk.to_node): lk for lk in links}
        n_idx = self.node_index
        self.link_from = np.array([n_idx[lk.from_node] for lk in links], dtype=np.int64)
        self.link_to = np.array([n_idx[lk.to_node] for lk in links], dtype=np.int64)
        self.length_m = np.array([lk.length_m for lk in links], dtype=float)
        self.speed_kmh = np.array([lk.speed_kmh for lk in links], dtype=float)
        self.capacity_vph = np.array([lk.capacity_vph for lk in links], dtype=float)
        self.lanes = np.array([lk.lanes for lk in links], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.free_flow_s = self.length_m / (self.speed_kmh / 3.6)
        if validate:
            self.validate()

    # ---- lookups -------------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_links(self) -> int:
        return len(self.links)

    def node(self, node_id: str) -> Node:
        return self.nodes[self.node_index[node_id]]

    def link_between(self, u: str, v: str) -> Link:
        return self._link_by_pair[(u, v)]

    def resolve(self, query: str) -> tuple[str, Place | None]:
        """A place name (case-insensitive) or node id -> (node id, place or None)."""
        q = str(query).strip()
        by_name = {p.name.casefold(): p for p in self.places}
        if q.casefold() in by_name:
            place = by_name[q.casefold()]
            return place.node, place
        if q in self.node_index:
            return q, None
        candidates = [p.name for p in self.places] + [n.id for n in self.nodes]
        close = difflib.get_close_matches(q, candidates, n=3, cutoff=0.6)
        lowered = [c for c in candidates if q.casefold() in c.casefold()][:3]
        hint = close or lowered
        msg = f"unknown place or node {q!r}"
        msg += f"; did you mean: {', '.join(hint)}?" if hint else (
            "; `python run.py network info` lists the places")
        raise InputError(msg)

    def places_of_kind(self, kind: str) -> list[Place]:
        return [p for p in self.places if p.kind == kind]

    # ---- graph views ---------------------------------------------------------------------
    @cached_property
    def graph(self) -> nx.DiGraph:
        """A networkx view with node and link attributes (for analysis and export)."""
        g = nx.DiGraph(name=self.name)
        for n in self.nodes:
            g.add_node(n.id, lat=n.lat, lon=n.lon, name=n.name, approx=n.approx)
        for lk in self.links:
            g.add_edge(
                lk.from_node, lk.to_node, id=lk.id, road=lk.road, road_class=lk.road_class,
                lanes=lk.lanes, speed_kmh=lk.speed_kmh, capacity_vph=lk.capacity_vph,
                length_m=lk.length_m, free_flow_s=lk.free_flow_s,
            )
        return g

    def speed_factor_of_links(self, factors: Mapping[str, float] | None = None) -> np.ndarray:
        """Per link: the factor its road class's free-flow speed is posted speed times (1.0 for
        a class the table does not give); a class that is not a road class is refused."""
        factors = dict(factors or {})
        for name in factors:
            if name not in ROAD_CLASSES:
                raise InputError(f"speed factor for road class {name!r}: not a road class; "
                                 f"allowed: {', '.join(ROAD_CLASSES)}")
        return np.array([float(factors.get(lk.road_class, 1.0)) for lk in self.links])

    def free_flow_times(self, vmax_kmh: float = np.inf,
                        speed_factor: np.ndarray | None = None) -> np.ndarray:
        """Seconds to cross each link at free flow: posted speed times the link's speed factor
        (speed_factor_of_links; none: posted speed), capped at a vehicle's top speed."""
        speed = self.speed_kmh if speed_factor is None else self.speed_kmh * speed_factor
        return self.length_m / (np.minimum(speed, vmax_kmh) / 3.6)

    def adjacency(self, weights: np.ndarray | None = None) -> sparse.csr_array:
        """CSR matrix of link weights (default free-flow seconds), indexed by node index."""
        w = self.free_flow_s if weights is None else np.asarray(weights, dtype=float)
        if w.shape != (self.n_links,):
            raise ValueError(f"weights need one value per link ({self.n_links}), got {w.shape}")
        return sparse.csr_array(
            (w, (self.link_from, self.link_to)), shape=(self.n_nodes, self.n_nodes))

    def strong_components(self) -> list[list[str]]:
        """Strongly connected components as lists of node ids, largest first."""
        if not self.nodes:
            return []
        n, labels = csgraph.connected_components(
            self.adjacency(np.ones(self.n_links)), directed=True, connection="strong")
        groups: list[list[str]] = [[] for _ in range(n)]
        for node in self.nodes:
            groups[labels[node.index]].append(node.id)
        return sorted(groups, key=len, reverse=True)

    @property
    def strongly_connected(self) -> bool:
        return len(self.strong_components()) == 1

    # ---- validation ----------------------------------------------------------------------
    def validate(self) -> None:
        """Raise NetworkError naming every offending id; return quietly when all is sound."""
        problems: list[str] = []
        if not self.nodes:
            raise NetworkError("network has no nodes")
        if not self.links:
            raise NetworkError("network has no links")
        bad_nodes = [n for n in self.nodes
                     if not (-90 <= n.lat <= 90 and -180 <= n.lon <= 180)]  # False for nan
        for n in bad_nodes[:10]:
            problems.append(f"node {n.id}: lat {n.lat!r}, lon {n.lon!r}; must be finite, lat "
                            "within -90..90 and lon within -180..180")
        if len(bad_nodes) > 10:
            problems.append(f"... and {len(bad_nodes) - 10} more nodes with bad coordinates")
        for label, values, unit, most in (
            ("length", self.length_m, "m", MAX_LINK_LENGTH_M),
            ("speed", self.speed_kmh, "km/h", MAX_SPEED_KMH),
            ("capacity", self.capacity_vph, "veh/h", MAX_CAPACITY_VPH_PER_LANE * MAX_LANES),
            ("lanes", self.lanes, "", MAX_LANES),
        ):
            bad = np.flatnonzero(~((values > 0) & (values <= most)))  # nan fails both
            for i in bad[:10]:
                lk = self.links[i]
                problems.append(
                    f"link {lk.id} ({lk.from_node} -> {lk.to_node}, {lk.road or 'unnamed'}): "
                    f"{label} {values[i]:g}{(' ' + unit) if unit else ''}; must be > 0 and at "
                    f"most {most:g}")
            if len(bad) > 10:
                problems.append(f"... and {len(bad) - 10} more links with {label} out of range")
        comps = self.strong_components()
        if len(comps) > 1:
            outside = [nid for comp in comps[1:] for nid in comp]
            shown = ", ".join(outside[:20]) + (" ..." if len(outside) > 20 else "")
            problems.append(
                f"network is not strongly connected: {len(outside)} node(s) in {len(comps) - 1} "
                f"piece(s) cannot reach or be reached from the main network: {shown}")
            main = set(comps[0])
            for p in self.places:
                if p.node not in main:
                    problems.append(
                        f"place {p.name!r} snaps to node {p.node} outside the main network, so it "
                        "cannot be reached both ways")
        names: set[str] = set()
        for p in self.places:
            if p.node not in self.node_index:
                problems.append(f"place {p.name!r}: node {p.node!r} is not in the network")
            if p.kind not in PLACE_KINDS:
                problems.append(
                    f"place {p.name!r}: kind {p.kind!r} is not one of {', '.join(PLACE_KINDS)}")
            if p.snap_m > MAX_SNAP_M:
                problems.append(
                    f"place {p.name!r} at ({p.lat}, {p.lon}) is {p.snap_m / 1000:.1f} km from the "
                    f"nearest node {p.node}; at most {MAX_SNAP_M / 1000:g} km is allowed")
            if p.name.casefold() in names:
                problems.append(f"place name {p.name!r} appears twice")
            names.add(p.name.casefold())
        if problems:
            raise NetworkError("invalid network:\n  " + "\n  ".join(problems))

    # ---- summaries -----------------------------------------------------------------------
    def km_by_class(self) -> dict[str, float]:
        """Directed-link km by road class (a two-way road counts once per direction)."""
        out = {c: 0.0 for c in ROAD_CLASSES}
        for lk in self.links:
            out[lk.road_class] = out.get(lk.road_class, 0.0) + lk.length_m / 1000
        return {c: round(km, 3) for c, km in out.items() if km > 0}

    def info(self) -> dict[str, Any]:
        """The `network info --json` contract."""
        return {
            "name": self.name,
            "nodes": self.n_nodes,
            "links": self.n_links,
            "km_by_class": self.km_by_class(),
            "strongly_connected": self.strongly_connected,
            "places": [
                {"name": p.name, "kind": p.kind, "lat": p.lat, "lon": p.lon, "node": p.node,
                 "approx": p.approx}
                for p in self.places
            ],
        }

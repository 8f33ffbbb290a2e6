"""Turn node, segment and place records from any reader into a validated RoadNetwork."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..geo import LocalProjection, haversine_m, polyline_length_m
from ..network import CLASS_DEFAULTS, Link, Node, Place, RoadNetwork


@dataclass(slots=True)
class Segment:
    """One directed link as a reader sees it, before parallel links are collapsed."""

    u: str
    v: str
    road: str
    road_class: str
    lanes: int
    speed_kmh: float
    geometry: list[tuple[float, float]]  # (lat, lon) from u to v
    capacity_vph: float | None = None  # None: lanes x class default
    length_m: float | None = None  # None: measured along geometry
    oneway: bool = False


@dataclass(slots=True)
class PlaceRecord:
    name: str
    kind: str
    lat: float
    lon: float
    node: str | None = None
    source: str = ""
    approx: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)


def assemble(
    nodes: list[Node],
    segments: list[Segment],
    places: list[PlaceRecord],
    *,
    name: str = "",
    sources: dict[str, str] | None = None,
    features: list[dict] | None = None,
    keep_nodes: set[str] | None = None,
    notes: list[str] | None = None,
) -> RoadNetwork:
    """Collapse parallel links to the shortest, snap places, build and validate the network.

    `keep_nodes` restricts the network to those nodes (used to trim imports to their largest
    strongly connected component); links touching other nodes are dropped.
    """
    best: dict[tuple[str, str], Segment] = {}
    for seg in segments:
        if seg.u == seg.v:
            continue
        if keep_nodes is not None and (seg.u not in keep_nodes or seg.v not in keep_nodes):
            continue
        if seg.length_m is None:
            seg.length_m = polyline_length_m(seg.geometry)
        key = (seg.u, seg.v)
        if key not in best or seg.length_m < best[key].length_m:
            best[key] = seg
    if keep_nodes is not None:
        nodes = [n for n in nodes if n.id in keep_nodes]
    nodes = [Node(n.id, i, n.lat, n.lon, n.name, n.source, n.approx) for i, n in enumerate(nodes)]
    links = []
    for i, seg in enumerate(best.values()):
        cap = seg.capacity_vph
        if cap is None:
            cap = seg.lanes * CLASS_DEFAULTS[seg.road_class].capacity_vph_per_lane
        links.append(Link(
            id=i, from_node=seg.u, to_node=seg.v, road=seg.road, road_class=seg.road_class,
            lanes=seg.lanes, speed_kmh=float(seg.speed_kmh), capacity_vph=float(cap),
            length_m=round(float(seg.length_m), 2),
            geometry=tuple((round(a, 6), round(b, 6)) for a, b in seg.geometry),
            oneway=seg.oneway,
        ))
    snapped = _snap_places(nodes, places)
    return RoadNetwork(nodes, links, snapped, name=name, sources=sources, features=features,
                       notes=notes)


def _snap_places(nodes: list[Node], places: list[PlaceRecord]) -> list[Place]:
    """Give every place a node: its own `node` when named, else the nearest node."""
    if not places:
        return []
    lat = np.array([n.lat for n in nodes])
    lon = np.array([n.lon for n in nodes])
    proj = LocalProjection(float(lat.mean()), float(lon.mean()))
    xy = np.column_stack(proj.to_xy(lat, lon))
    index = {n.id: n for n in nodes}
    out = []
    for p in places:
        if p.node is not None:
            node = index.get(p.node)
            if node is None:  # kept unresolved so validation names it
                out.append(Place(p.name, p.kind, p.lat, p.lon, p.node, p.source, p.approx,
                                 dict(p.attrs), 0.0))
                continue
        else:
            px, py = proj.to_xy(p.lat, p.lon)
            node = nodes[int(np.argmin(np.hypot(xy[:, 0] - px, xy[:, 1] - py)))]
        snap = float(haversine_m(p.lat, p.lon, node.lat, node.lon))
        out.append(Place(p.name, p.kind, p.lat, p.lon, node.id, p.source, p.approx,
                         dict(p.attrs), round(snap, 1)))
    return out

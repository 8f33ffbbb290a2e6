"""The project's own network format (docs/network-format.md): nodes, road paths, places."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import NetworkError, describe_validation_error
from ..network import MAX_CAPACITY_VPH_PER_LANE, MAX_LANES, MAX_SPEED_KMH, Node, RoadNetwork
from .assemble import PlaceRecord, Segment, assemble

FORMAT_NAME = "summit-sim-network"
FORMAT_VERSION = 1

RoadClass = Literal["expressway", "national", "arterial", "collector", "local", "ramp"]
PlaceKind = Literal[
    "venue", "hotel", "station", "bus_terminal", "airport", "car_park", "hospital",
    "fire_station", "safety_centre", "local_unit", "depot", "helipad", "landmark", "interchange",
]
LatLon = tuple[Annotated[float, Field(ge=-90, le=90)], Annotated[float, Field(ge=-180, le=180)]]


class _Strict(BaseModel):
    # every number must be finite: inf and nan are refused with the field named
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)


class NodeSpec(_Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    name: str = ""
    source: str = ""
    approx: bool = False


class RoadSpec(_Strict):
    name: str
    road_class: RoadClass = Field(alias="class")
    lanes: int = Field(le=MAX_LANES)  # at least 1: checked per link, naming the link
    speed_kmh: float = Field(le=MAX_SPEED_KMH)  # > 0: likewise
    oneway: bool = False
    path: list[str | LatLon] = Field(min_length=2)
    capacity_vph_per_lane: float | None = Field(
        default=None, le=MAX_CAPACITY_VPH_PER_LANE)  # > 0: likewise
    note: str = ""


class PlaceSpec(_Strict):
    name: str = Field(min_length=1)
    kind: PlaceKind
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    node: str | None = None
    source: str
    approx: bool = False
    attrs: dict = Field(default_factory=dict)


class FeatureSpec(_Strict):
    """Context drawn on maps only (rivers, lakes, coast); never routed on."""

    name: str
    kind: Literal["river", "lake", "coast", "park", "district"]
    coords: list[LatLon] = Field(min_length=2)
    source: str = ""
    approx: bool = True


class NetworkFile(_Strict):
    format: Literal["summit-sim-network"]
    version: Literal[1]
    name: str = ""
    sources: dict[str, str] = Field(default_factory=dict)
    nodes: list[NodeSpec] = Field(min_length=2)
    roads: list[RoadSpec] = Field(min_length=1)
    places: list[PlaceSpec] = Field(default_factory=list)
    features: list[FeatureSpec] = Field(default_factory=list)


def read_own(path: Path) -> RoadNetwork:
    """Parse, check references and build the network; errors name the file, field and value."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise NetworkError(
            f"network file {str(path)!r} is not valid JSON: line {exc.lineno} column {exc.colno}: "
            f"{exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise NetworkError(f"network file {str(path)!r} is not UTF-8 text: {exc.reason}") from None
    try:
        spec = NetworkFile.model_validate(raw)
    except ValidationError as exc:
        raise NetworkError(describe_validation_error(exc, f"network file {str(path)!r}")) from None
    return build_from_spec(spec, where=str(path))


def build_from_spec(spec: NetworkFile, where: str = "network") -> RoadNetwork:
    problems: list[str] = []
    nodes: list[Node] = []
    seen: set[str] = set()
    for i, n in enumerate(spec.nodes):
        if n.id in seen:
            problems.append(f"nodes[{i}].id = {n.id!r}: duplicate node id")
            continue
        seen.add(n.id)
        nodes.append(Node(n.id, len(nodes), n.lat, n.lon, n.name, n.source, n.approx))
    coords = {n.id: (n.lat, n.lon) for n in nodes}
    used: set[str] = set()
    segments: list[Segment] = []
    for r_i, road in enumerate(spec.roads):
        path = road.path
        where_r = f"roads[{r_i}] ({road.name})"
        if not isinstance(path[0], str) or not isinstance(path[-1], str):
            problems.append(f"{where_r}.path must start and end with a node id")
            continue
        unknown = [p for p in path if isinstance(p, str) and p not in coords]
        if unknown:
            problems.append(f"{where_r}.path: unknown node id(s) {', '.join(map(repr, unknown))}")
            continue
        start, shape = path[0], []
        for item in path[1:]:
            if not isinstance(item, str):
                shape.append(tuple(item))
                continue
            if item == start:
                problems.append(f"{where_r}.path: segment starts and ends at node {item!r}")
            else:
                geom = [coords[start], *shape, coords[item]]
                cap = (None if road.capacity_vph_per_lane is None
                       else road.capacity_vph_per_lane * road.lanes)
                common = dict(road=road.name, road_class=road.road_class, lanes=road.lanes,
                              speed_kmh=road.speed_kmh, capacity_vph=cap, oneway=road.oneway)
                segments.append(Segment(start, item, geometry=geom, **common))
                if not road.oneway:
                    segments.append(Segment(item, start, geometry=geom[::-1], **common))
            used.update((start, item))
            start, shape = item, []
    unused = [n.id for n in nodes if n.id not in used]
    if unused:
        problems.append(
            f"{len(unused)} node(s) are on no road: {', '.join(unused[:20])}"
            + (" ..." if len(unused) > 20 else ""))
    if problems:
        raise NetworkError(f"invalid network file {where!r}:\n  " + "\n  ".join(problems))
    places = [PlaceRecord(p.name, p.kind, p.lat, p.lon, p.node, p.source, p.approx, p.attrs)
              for p in spec.places]
    features = [f.model_dump() for f in spec.features]
    return assemble(nodes, segments, places, name=spec.name, sources=spec.sources,
                    features=features)

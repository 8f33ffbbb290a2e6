"""osmnx-style GraphML, read and written with networkx alone (no osmnx needed).

Reading maps OSM tags to the model: `highway` -> road class, `lanes` (OSM counts both directions
of a two-way way) -> lanes per direction, `maxspeed` -> km/h, `length` -> metres. Files this
project writes carry explicit `road_class`, `lanes_per_direction`, `speed_kmh` and `capacity_vph`
as well, so a round trip keeps every attribute.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from xml.etree.ElementTree import ParseError

import networkx as nx
from pydantic import BaseModel, ValidationError

from .. import __version__
from ..errors import NetworkError, describe_validation_error
from ..network import CLASS_DEFAULTS, MAX_LANES, ROAD_CLASSES, Node, RoadNetwork
from ..ownership import STAMP
from .assemble import PlaceRecord, Segment, assemble
from .own import PlaceSpec

# OSM highway tag -> road class. Korean national roads are mostly tagged trunk.
HIGHWAY_CLASS = {
    "motorway": "expressway",
    "trunk": "national",
    "primary": "arterial",
    "secondary": "collector",
    "tertiary": "collector",
    "unclassified": "local",
    "residential": "local",
    "living_street": "local",
    "service": "local",
    "road": "local",
    "motorway_link": "ramp",
    "trunk_link": "ramp",
    "primary_link": "ramp",
    "secondary_link": "ramp",
    "tertiary_link": "ramp",
}
DEFAULT_LANES = {"expressway": 2, "national": 2, "arterial": 2, "collector": 1, "local": 1,
                 "ramp": 1}
_CLASS_RANK = {c: i for i, c in enumerate(ROAD_CLASSES)}
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_FLOAT = r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_COORD_PAIR = re.compile(rf"({_FLOAT})\s+({_FLOAT})")


def _values(value) -> list:
    """osmnx stores merged tags as lists, written to GraphML as their Python repr."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, str) and value.startswith("["):
        try:
            parsed = ast.literal_eval(value)
            return list(parsed) if isinstance(parsed, list | tuple) else [parsed]
        except (ValueError, SyntaxError):
            return [value]
    return [value]


def _first_number(value, *, mph_ok: bool = False) -> float | None:
    nums = []
    for v in _values(value):
        if isinstance(v, int | float) and not isinstance(v, bool):
            nums.append(float(v))  # typed GraphML attributes: as they are (nan and inf too)
            continue
        text = str(v)
        m = _NUMBER.search(text)
        if m:
            x = float(m.group())
            if mph_ok and "mph" in text:
                x *= 1.609344
            nums.append(x)
    return min(nums) if nums else None


def _as_bool(value) -> bool:
    vals = _values(value)
    return any(str(v).strip().lower() in ("true", "yes", "1", "-1") for v in vals)


def road_class_of(highway) -> str:
    """The most important class among a way's highway tags; unknown tags count as local."""
    classes = [HIGHWAY_CLASS.get(str(h), "local") for h in _values(highway)] or ["local"]
    return min(classes, key=_CLASS_RANK.__getitem__)


def parse_linestring(wkt: str) -> list[tuple[float, float]]:
    """WKT LINESTRING (lon lat, ...) -> [(lat, lon), ...]."""
    return [(float(lat), float(lon)) for lon, lat in _COORD_PAIR.findall(wkt)]


def network_from_nx(g: nx.Graph, *, name: str, where: str, largest_component: bool,
                    places: list[PlaceRecord] | None = None,
                    features: list[dict] | None = None) -> RoadNetwork:
    """Convert an osmnx-style graph (typed values or GraphML strings) into a RoadNetwork."""
    problems: list[str] = []
    nodes: list[Node] = []
    for nid, d in g.nodes(data=True):
        try:
            lat, lon = float(d["y"]), float(d["x"])
        except (KeyError, TypeError, ValueError):
            problems.append(f"node {nid}: needs numeric 'x' (lon) and 'y' (lat), got "
                            f"x={d.get('x')!r}, y={d.get('y')!r}")
            continue
        nodes.append(Node(str(nid), len(nodes), lat, lon, str(d.get("name", "") or ""),
                          str(d.get("source", "") or ""), _as_bool(d.get("approx"))))
    if problems:
        raise NetworkError(f"{where}:\n  " + "\n  ".join(problems[:20]))
    coords = {n.id: (n.lat, n.lon) for n in nodes}
    segments = []
    edges = g.edges(keys=False, data=True) if g.is_multigraph() else g.edges(data=True)
    for u, v, d in edges:
        u, v = str(u), str(v)
        road_class = str(d.get("road_class") or road_class_of(d.get("highway")))
        if road_class not in CLASS_DEFAULTS:
            raise NetworkError(f"{where}: edge {u} -> {v}: road_class {road_class!r} is not one "
                               f"of {', '.join(ROAD_CLASSES)}")
        oneway = _as_bool(d.get("oneway"))
        if d.get("lanes_per_direction") is not None:
            text = d["lanes_per_direction"]
            try:
                lanes_f = float(text)
            except (TypeError, ValueError):
                lanes_f = float("nan")
            if not (1 <= lanes_f <= MAX_LANES and lanes_f == int(lanes_f)):
                raise NetworkError(f"{where}: edge {u} -> {v}: lanes_per_direction = {text!r}: "
                                   f"must be a whole number from 1 to {MAX_LANES}")
            lanes = int(lanes_f)
        else:
            total = _first_number(d.get("lanes"))
            if total is None:
                lanes = DEFAULT_LANES[road_class]
            else:
                lanes = int(total) if oneway else max(1, round(total / 2))
        speed = _first_number(d.get("speed_kmh")) or _first_number(d.get("maxspeed"), mph_ok=True)
        speed = speed or CLASS_DEFAULTS[road_class].speed_kmh
        geom = parse_linestring(str(d["geometry"])) if d.get("geometry") else []
        if len(geom) < 2:
            geom = [coords[u], coords[v]]
        length = _first_number(d.get("length"))
        cap = _first_number(d.get("capacity_vph"))
        names = [str(x) for x in _values(d.get("name")) if str(x) and str(x) != "nan"]
        segments.append(Segment(
            u, v, road="; ".join(dict.fromkeys(names)), road_class=road_class, lanes=lanes,
            speed_kmh=speed, geometry=geom, capacity_vph=cap, length_m=length,
            oneway=_as_bool(d.get("road_oneway")) if "road_oneway" in d else oneway))
    if not segments:
        raise NetworkError(f"{where}: no roads: the file has {len(nodes)} node(s) and no edges "
                           "(ways with a highway tag) between them")
    keep, notes = None, []
    if largest_component:
        keep, notes = _largest_component(g)
    return assemble(nodes, segments, places or [], name=name, features=features,
                    keep_nodes=keep, notes=notes)


def _largest_component(g: nx.Graph) -> tuple[set[str] | None, list[str]]:
    comps = sorted(nx.strongly_connected_components(g), key=len, reverse=True)
    if len(comps) <= 1:
        return None, []
    keep = {str(n) for n in comps[0]}
    dropped = g.number_of_nodes() - len(keep)
    return keep, [f"kept the largest strongly connected component ({len(keep)} nodes); dropped "
                  f"{dropped} node(s) that cannot reach it or be reached from it"]


def read_graphml(path: Path, *, largest_component: bool = True) -> RoadNetwork:
    where = f"GraphML file {str(path)!r}"
    try:
        g = nx.read_graphml(path, force_multigraph=True)
    except (ParseError, nx.NetworkXError, KeyError, ValueError) as exc:
        raise NetworkError(f"{where} cannot be read as GraphML: {exc}") from None
    if not g.is_directed():
        raise NetworkError(f"{where}: the graph is undirected; a road network GraphML (as osmnx "
                           "writes it) must be directed")
    meta = g.graph
    # write_graphml records the places as the project's own network format has them
    places = [PlaceRecord(**p.model_dump()) for p in
              _json_list(meta, "summit_sim_places", where, PlaceSpec)]
    features = _json_list(meta, "summit_sim_features", where)
    return network_from_nx(g, name=str(meta.get("name", path.stem)), where=where,
                           largest_component=largest_component, places=places,
                           features=features)


def _json_list(meta: dict, key: str, where: str, model: type[BaseModel] | None = None) -> list:
    """A graph attribute holding a JSON list of objects (places, features), checked."""
    text = meta.get(key, "[]")
    try:
        items = json.loads(text) if isinstance(text, str) else text
    except ValueError as exc:
        shown = repr(text) if len(repr(text)) <= 60 else repr(text)[:57] + "..."
        raise NetworkError(f"{where}: graph attribute {key} = {shown}: not valid JSON "
                           f"({exc})") from None
    if not isinstance(items, list) or not all(isinstance(x, dict) for x in items):
        raise NetworkError(f"{where}: graph attribute {key}: must be a JSON list of objects, "
                           f"not {str(text)[:60]!r}")
    if model is None:
        return items
    try:
        return [model.model_validate(x) for x in items]
    except ValidationError as exc:
        raise NetworkError(describe_validation_error(exc, f"{where}: graph attribute {key}")
                           ) from None


def write_graphml(net: RoadNetwork, path: str | Path) -> None:
    """Write an osmnx-style GraphML (x/y, length, lanes, maxspeed, highway, geometry) plus our
    explicit attributes so the round trip is exact."""
    class_to_highway = {"expressway": "motorway", "national": "trunk", "arterial": "primary",
                        "collector": "secondary", "local": "residential", "ramp": "motorway_link"}
    g = nx.MultiDiGraph()
    g.graph.update(
        name=net.name, crs="epsg:4326", generator=f"{STAMP.decode()} {__version__}",
        summit_sim_places=json.dumps([
            {"name": p.name, "kind": p.kind, "lat": p.lat, "lon": p.lon, "node": p.node,
             "source": p.source, "approx": p.approx, "attrs": p.attrs} for p in net.places],
            ensure_ascii=False),
        summit_sim_features=json.dumps(net.features, ensure_ascii=False))
    for n in net.nodes:
        g.add_node(n.id, y=n.lat, x=n.lon, name=n.name, source=n.source, approx=n.approx)
    for lk in net.links:
        wkt = "LINESTRING (" + ", ".join(f"{lon} {lat}" for lat, lon in lk.geometry) + ")"
        g.add_edge(
            lk.from_node, lk.to_node, name=lk.road, highway=class_to_highway[lk.road_class],
            oneway=True, lanes=lk.lanes, maxspeed=lk.speed_kmh, length=lk.length_m,
            geometry=wkt, road_class=lk.road_class, lanes_per_direction=lk.lanes,
            speed_kmh=lk.speed_kmh, capacity_vph=lk.capacity_vph, road_oneway=lk.oneway)
    nx.write_graphml(g, path)

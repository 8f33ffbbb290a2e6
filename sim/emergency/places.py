"""The emergency layer's places and data: the stations, hospitals and helipads of the data
file, where units stand, the nodes the layer needs kept, and where calls come from (resident
weights)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from ..errors import InputError, describe_validation_error
from .spec import EmergencyData, HelicopterSpec, HospitalSpec, StationSpec

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "gyeongju_emergency.json"


def load_data(spec, source_path: str | None = None) -> dict:
    if spec.data is None:
        path = DATA_FILE
    else:
        path = Path(spec.data)
        if not path.is_absolute() and source_path:
            path = Path(source_path).parent / path
    where = f"emergency.data = {spec.data!r}"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{where}: file {str(path)!r} does not exist") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{where}: file {str(path)!r} is not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not valid JSON: {exc}") from None
    except OSError as exc:
        raise InputError(f"{where}: file {str(path)!r} cannot be read: "
                         f"{exc.strerror or exc}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{where}: file {str(path)!r} holds a JSON {type(raw).__name__}; "
                         "it must be an object with stations, hospitals and helicopters")
    try:
        EmergencyData.model_validate(raw)
    except ValidationError as exc:
        raise InputError(describe_validation_error(exc, f"{where} (file {str(path)!r})")) from None
    return raw


def resolve_place(net, name: str, where: str) -> tuple[str, object]:
    try:
        return net.resolve(name)
    except InputError as exc:
        raise InputError(f"{where} = {name!r}: {exc}") from None


def station_specs(scenario) -> tuple[list[StationSpec], dict]:
    """The stations (data file or scenario) with the scenario's roster changes applied."""
    spec = scenario.emergency
    data = load_data(spec, scenario.source_path)
    if spec.stations is not None:
        stations = [s.model_copy(deep=True) for s in spec.stations]
    else:
        stations = [StationSpec(**s) for s in data.get("stations", [])]
    names = [s.name for s in stations]
    for name, units in spec.rosters.items():
        if name not in names:
            raise InputError(f"emergency.rosters: station {name!r} is not one of the stations: "
                             f"{', '.join(names)}")
        st = stations[names.index(name)]
        st.units = {**st.units, **units}
    return stations, data


def hospital_specs(scenario, data: dict) -> list[HospitalSpec]:
    spec = scenario.emergency
    return spec.hospitals if spec.hospitals is not None else [
        HospitalSpec(**h) for h in data.get("hospitals", [])]


def standing_nodes(net, scenario, specs: tuple[list[StationSpec], dict] | None = None
                   ) -> set[str]:
    """Where units stand between calls: stations, staging and reinforcement posts, and the
    hospitals and helipads where ambulances hand their patients over. `specs`: what
    station_specs gives, when the caller has it already (it reads the data file)."""
    spec = scenario.emergency
    stations, data = specs or station_specs(scenario)
    nodes = set()
    for i, s in enumerate(stations):
        nodes.add(resolve_place(net, s.place, f"emergency.stations[{i}] ({s.name}).place")[0])
    for group in ("staging", "reinforcements"):
        for i, s in enumerate(getattr(spec, group)):
            nodes.add(resolve_place(net, s.place, f"emergency.{group}[{i}].place")[0])
    for i, h in enumerate(hospital_specs(scenario, data)):
        nodes.add(resolve_place(net, h.place, f"emergency.hospitals[{i}].place")[0])
    nodes.update(p.node for p in net.places_of_kind("helipad"))
    return nodes


def _road_length_around(net) -> np.ndarray:
    """Per node: half the length of each road segment that ends there (a two-way road counted
    once; expressways and ramps, which no house fronts, left out)."""
    from ..traffic.demand import NO_TRIP_END_CLASSES

    seg: dict[tuple[int, int], float] = {}
    for lk in net.links:
        if lk.road_class in NO_TRIP_END_CLASSES:
            continue
        a, b = net.node_index[lk.from_node], net.node_index[lk.to_node]
        key = (a, b) if a < b else (b, a)
        seg[key] = max(seg.get(key, 0.0), lk.length_m)
    out = np.zeros(len(net.nodes))
    for (a, b), length in seg.items():
        out[a] += length / 2.0
        out[b] += length / 2.0
    return out


def resident_weights(net, scenario, standing: set[str] | None = None) -> dict[int, float]:
    """Residents per node index: each zone's population spread over the zone's road nodes (its
    listed nodes and every node within its radius) by the road length around each node, never
    where units stand (`standing`: standing_nodes, found here unless given) unless that node
    is the zone's only one (it then keeps the share)."""
    from ..geo import haversine_m
    from ..traffic.demand import zone_nodes

    zones = scenario.traffic.zones
    if not zones:
        return {}
    length = _road_length_around(net)
    eligible = np.flatnonzero(length > 0)
    lat = np.array([net.nodes[i].lat for i in eligible.tolist()])
    lon = np.array([net.nodes[i].lon for i in eligible.tolist()])
    if standing is None:
        standing = standing_nodes(net, scenario)
    posts = {net.node_index[n] for n in standing}
    weight: dict[int, float] = {}
    for z in zones:
        d = haversine_m(z.lat, z.lon, lat, lon)
        inside = set(eligible[d <= z.radius_m].tolist())
        inside.update(zone_nodes(net, z, at_junctions=False) if z.nodes else ())
        if not inside:  # no road node within the radius: the zone's trip ends (or its error)
            inside.update(zone_nodes(net, z, at_junctions=False))
        nodes = sorted(inside - posts) or sorted(inside)
        w = np.array([max(length[v], 1.0) for v in nodes])
        share = z.population * w / w.sum()
        for v, x in zip(nodes, share.tolist(), strict=True):
            weight[v] = weight.get(v, 0.0) + x
    return weight


def emergency_nodes(net, scenario) -> set[str]:
    """Every node the layer starts or ends a vehicle at (the engine must keep them): posts,
    scripted incidents, hospitals, helipads, evacuations and every node residents' calls can
    come from."""
    spec = scenario.emergency
    standing = standing_nodes(net, scenario)
    nodes = set(standing)
    nodes.update(net.nodes[v].id for v in resident_weights(net, scenario, standing))
    for i, s in enumerate(spec.scripted):
        nodes.add(resolve_place(net, s.place, f"emergency.scripted[{i}].place")[0])
    for i, e in enumerate(spec.evacuations):
        where = f"emergency.evacuations[{i}]"
        nodes.add(resolve_place(net, e.venue, f"{where}.venue")[0])
        nodes.add(resolve_place(net, e.assembly, f"{where}.assembly")[0])
        for field in ("others_to", "reserve_depot"):
            if getattr(e, field):
                nodes.add(resolve_place(net, getattr(e, field), f"{where}.{field}")[0])
        lines = [ln.name for ln in scenario.shuttles.lines]
        for name in e.buses:
            if name not in lines:
                raise InputError(f"{where}.buses: {name!r} is not a shuttle line; lines: "
                                 f"{', '.join(repr(n) for n in lines) or '(none)'}")
    return nodes


def unit_names(scenario) -> list[str]:
    """The names the layer gives its units and helicopters (the same rules as EmergencyLayer),
    without building a model."""
    spec = scenario.emergency
    stations, data = station_specs(scenario)
    rosters = [(s.name, s.units) for s in stations]
    rosters += [(s.name, s.units) for s in spec.staging]
    rosters += [(s.name, s.units) for s in spec.reinforcements]
    names = [f"{name} {utype.replace('_', ' ')} {k + 1}"
             for name, units in rosters for utype, n in units.items() for k in range(n)]
    cspecs = spec.helicopters if spec.helicopters is not None else [
        HelicopterSpec(**c) for c in data.get("helicopters", [])]
    return names + [c.name for c in cspecs]


@dataclass
class Helipad:
    name: str
    node: str
    node_idx: int
    lat: float
    lon: float

"""GeoJSON export: links as LineStrings, places and nodes as Points (RFC 7946, lon-lat order)."""

from __future__ import annotations

import json
from pathlib import Path

from .. import __version__
from ..network import RoadNetwork


def to_geojson(net: RoadNetwork) -> dict:
    feats = []
    for lk in net.links:
        feats.append({
            "type": "Feature",
            "geometry": {"type": "LineString",
                         "coordinates": [[lon, lat] for lat, lon in lk.geometry]},
            "properties": {
                "feature_type": "link", "id": lk.id, "from_node": lk.from_node,
                "to_node": lk.to_node, "road": lk.road, "class": lk.road_class, "lanes": lk.lanes,
                "speed_kmh": lk.speed_kmh, "capacity_vph": lk.capacity_vph,
                "length_m": lk.length_m, "free_flow_s": round(lk.free_flow_s, 2),
                "oneway": lk.oneway},
        })
    for p in net.places:
        feats.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
            "properties": {"feature_type": "place", "name": p.name, "kind": p.kind,
                           "node": p.node, "approx": p.approx, "source": p.source,
                           "snap_m": p.snap_m, **p.attrs},
        })
    for n in net.nodes:
        feats.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [n.lon, n.lat]},
            "properties": {"feature_type": "node", "id": n.id, "name": n.name,
                           "approx": n.approx},
        })
    return {"type": "FeatureCollection", "name": net.name, "features": feats}


def write_geojson(net: RoadNetwork, path: str | Path) -> None:
    from ..ownership import STAMP

    doc = {**to_geojson(net), "generator": f"{STAMP.decode()} {__version__}"}
    Path(path).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

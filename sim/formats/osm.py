"""OpenStreetMap XML (.osm) through osmnx, the optional `osm` extra."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError, NetworkError
from ..network import RoadNetwork
from .graphml import network_from_nx


def read_osm(path: Path, *, largest_component: bool = True) -> RoadNetwork:
    try:
        import osmnx as ox
    except ImportError:
        raise InputError(
            f"reading {str(path)!r} needs osmnx: pip install -e '.[osm]' "
            "(or convert it to GraphML with osmnx elsewhere and load the .graphml)") from None
    where = f"OSM file {str(path)!r}"
    try:
        g = ox.graph_from_xml(path, simplify=True, retain_all=True)
    except Exception as exc:  # osmnx raises many types for bad XML
        raise NetworkError(f"{where} cannot be read as OSM XML: {exc}") from None
    return network_from_nx(g, name=path.stem, where=where, largest_component=largest_component)

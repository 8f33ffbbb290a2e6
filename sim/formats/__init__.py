"""Reading and writing networks: the project's JSON, osmnx-style GraphML, OSM XML, GeoJSON."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..network import RoadNetwork

EMBEDDED_PATH = Path(__file__).resolve().parent.parent / "data" / "gyeongju.json"
_EMBEDDED: RoadNetwork | None = None

READERS = {".json": "own", ".graphml": "graphml", ".osm": "osm", ".xml": "osm"}


def load_network(path: str | Path, *, largest_component: bool | None = None) -> RoadNetwork:
    """Load a network file by its suffix.

    Imported networks (GraphML, OSM) are trimmed to their largest strongly connected component
    by default, and the trim is reported in `network.notes`; the project's own files never are:
    a disconnected piece there is a drawing error and fails validation.
    """
    p = Path(path)
    kind = READERS.get(p.suffix.lower())
    if kind is None:
        raise InputError(
            f"network file {str(p)!r}: suffix {p.suffix or '(none)'!r} is not supported; "
            f"use one of {', '.join(sorted(READERS))}")
    if not p.is_file():
        raise InputError(f"network file {str(p)!r} does not exist")
    if kind == "own":
        from .own import read_own

        return read_own(p)
    trim = True if largest_component is None else largest_component
    if kind == "graphml":
        from .graphml import read_graphml

        return read_graphml(p, largest_component=trim)
    from .osm import read_osm

    return read_osm(p, largest_component=trim)


def embedded_network() -> RoadNetwork:
    """The hand-curated Gyeongju network shipped with the package, loaded once per process
    (the network is immutable and validation costs about 0.1 s)."""
    global _EMBEDDED
    if _EMBEDDED is None:
        _EMBEDDED = load_network(EMBEDDED_PATH)
    return _EMBEDDED

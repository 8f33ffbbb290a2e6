"""Who can use each shuttle line, known before a run: every person's day planned as the summit
layer plans it (the same leg choice, `SummitLayer.plan_leg`), counting the rides each line would
get. A line that no planned trip rides is flagged, with why: nobody starts or ends a trip near
its stops, or only near one of them, or the trips near it go another way."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from agents.summit.delegate import Drive, Ride


@dataclass(frozen=True)
class PlannedRide:
    """A ride a person's planned day takes: the line, when the trip aims to leave, the stops."""

    line: str
    at: float
    board: str
    alight: str


def planned_rides(layer) -> list[PlannedRide]:
    """Every ride on a line in every person's day as the layer would plan it now. The layer's
    cache of planned legs is left as it was, so a run afterwards is the same as without."""
    saved = layer._legs
    layer._legs = {}
    try:
        return [ride for d in layer.delegates for ride in _day_rides(layer, d)]
    finally:
        layer._legs = saved


def _day_rides(layer, d) -> list[PlannedRide]:
    """The rides of one person's day: from the hub to the hotel, to each session, then to the
    departure hub or home (as `Delegate._plan_next` goes)."""
    who = SimpleNamespace(guest=d.guest, wheelchair=d.wheelchair, car_parks=d.car_parks,
                          hotel_node=d.hotel_node, ride_from_car_park=d.ride_from_car_park,
                          car_at=None)
    spec = layer.spec
    margin_s = (spec.early_min + spec.early_spread_min / 2) * 60.0
    trips = []
    here = d.hotel_node
    if d.arrival is not None:
        trips.append((d.arrival.hub, d.hotel_node, d.arrival.time_s))
    for s in d.agenda:
        venue = layer.venue_nodes[s.venue]
        trips.append((here, venue, s.start - margin_s))
        here, last_end = venue, s.end
    if d.departure is not None:
        trips.append((here, d.departure.hub, d.departure.time_s - spec.hub_margin_min * 60))
    elif here != d.hotel_node:
        trips.append((here, d.hotel_node, last_end))
    out = []
    for a, b, at in trips:
        leg = layer.plan_leg(who, a, b, at)
        for step in leg.steps:
            if isinstance(step, Ride):
                out.append(PlannedRide(step.line.spec.name, at, step.board, step.alight))
            elif isinstance(step, Drive) and step.b in who.car_parks:
                who.car_at = step.b
    return out


def rides_by_line(layer, rides: list[PlannedRide] | None = None) -> dict[str, int]:
    """Planned rides per line, every line named (0 for a line no planned trip rides)."""
    counts = {line.spec.name: 0 for line in layer.lines}
    for r in planned_rides(layer) if rides is None else rides:
        counts[r.line] += 1
    return counts


def _demand_places(layer) -> dict[str, set[str]]:
    """Node -> what brings people there: hotels with guests, homes and muster points of those
    who come without a car, car parks, hubs and venues of sessions someone attends."""
    places: dict[str, set[str]] = {}

    def add(node, what):
        places.setdefault(node, set()).add(what)

    for d in layer.delegates:
        if not d.day_visitor:
            add(d.hotel_node, "hotels with guests")
        elif not d.car_parks:  # those who drive set off from their car park
            add(d.hotel_node, "homes and muster points")
        for cp in d.car_parks:
            add(cp, "car parks")
        for travel in (d.arrival, d.departure):
            if travel is not None:
                add(travel.hub, "hubs in use")
        for s in d.agenda:
            add(layer.venue_nodes[s.venue], "venues of sessions")
    return places


def _why_unused(layer, line, places: dict[str, set[str]]) -> str:
    """Why no planned trip rides `line`, in a sentence."""
    spec = layer.spec
    max_walk_s = spec.max_walk_m / (spec.walk_speed_kmh / 3.6)
    names = {p.node: p.name for p in reversed(layer.model.network.places)}
    near: dict[str, set[str]] = {}
    for stop in line.spec.stops:
        for node, what in places.items():
            if layer.walk_s(node, stop) <= max_walk_s:
                near.setdefault(stop, set()).update(what)
    if not near:
        return (f"no hotel with guests, home, car park, hub or venue of a session lies within "
                f"{spec.max_walk_m:g} m of its stops")
    if len(near) == 1:
        (stop, what), = near.items()
        others = [names.get(s, s) for s in line.spec.stops if s != stop]
        return (f"nobody is lodged, lives, parks, travels or meets within {spec.max_walk_m:g} m "
                f"of {' or '.join(others)} (only {names.get(stop, stop)} has trips starting or "
                f"ending near it: {', '.join(sorted(what))})")
    return ("every trip between places near its stops goes another way (on foot, by another "
            "line, by van or by car: quicker as planned, or the line is not running then)")


def unusable_lines(layer, rides: list[PlannedRide] | None = None) -> list[str]:
    """A warning for each line no planned trip rides, naming the line and why."""
    counts = rides_by_line(layer, rides)
    empty = [line for line in layer.lines if counts[line.spec.name] == 0]
    if not empty:
        return []
    places = _demand_places(layer)
    return [f"shuttle line {line.spec.name!r} can be used by nobody: "
            f"{_why_unused(layer, line, places)}" for line in empty]

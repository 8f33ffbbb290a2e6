"""Hotel allocation for summit guests: who sleeps where, by role, zone and room capacity.

Pure functions and small records (no Mesa, no I/O) so the lodging plan can be built, checked and
tested apart from the model. Randomness comes only from the numpy Generator the caller passes in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from sim.errors import InputError
from sim.geo import haversine_m

ZONES = ("bomun", "city", "bulguksa", "overflow")

# Placement priority: guests of an earlier role are all placed before any of the next role, so
# scarce rooms near the venue go to leaders and ministers before delegates, media and staff.
ROLES = ("leader", "minister", "ceo", "senior_official", "delegate", "media", "staff",
         "security", "volunteer")

# Role -> zones to try, in order. Read-only so no caller can change the defaults for everyone.
# Leaders additionally need a free suite (see Guest.suites_needed); that requirement is part of
# what a leader occupies, not of where, so it holds under any rules passed to allocate().
DEFAULT_RULES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "leader": ("bomun", "city"),
    "minister": ("bomun", "city"),
    "ceo": ("bomun", "city", "bulguksa"),
    "senior_official": ("bomun", "city", "bulguksa"),
    "delegate": ("bomun", "city", "bulguksa", "overflow"),
    "media": ("city", "bulguksa", "bomun", "overflow"),
    "staff": ("city", "bulguksa", "overflow"),
    "security": ("city", "bulguksa", "overflow"),
    "volunteer": ("city", "bulguksa", "overflow"),
})

BOMUN_RADIUS_KM = 3.0  # "within 3 km of HICO" is how the 2025 room count (4,463) was framed
BULGUKSA_RADIUS_KM = 2.5  # hotels this close to Bulguksa temple form the Bulguksa cluster
VENUE_PLACE = "HICO"
BULGUKSA_PLACE = "Bulguksa temple"


def _is_int(value) -> bool:
    # bool is an int subclass; True rooms or a guest id of False is a mistake, not a number.
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _allowed(values: Iterable[str]) -> str:
    return ", ".join(values)


@dataclass(frozen=True, slots=True)
class Lodging:
    """A hotel or a pool of rooms, with the network node where its guests board and alight."""

    name: str
    zone: str
    node: str
    rooms: int
    suites: int = 0
    distance_km: float = 0.0
    city: str = "Gyeongju"

    def __post_init__(self):
        where = f"lodging {self.name!r}"
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError(f"lodging name = {self.name!r}; must be a non-empty string")
        if self.zone not in ZONES:
            raise InputError(f"{where}: zone = {self.zone!r}; allowed: {_allowed(ZONES)}")
        if not isinstance(self.node, str) or not self.node:
            raise InputError(f"{where}: node = {self.node!r}; must be a network node id (string)")
        if not _is_int(self.rooms) or self.rooms <= 0:
            raise InputError(f"{where}: rooms = {self.rooms!r}; must be a whole number > 0")
        if not _is_int(self.suites) or self.suites < 0:
            raise InputError(f"{where}: suites = {self.suites!r}; must be a whole number >= 0")
        if (isinstance(self.distance_km, bool) or not isinstance(self.distance_km, int | float)
                or not math.isfinite(self.distance_km) or self.distance_km < 0):
            raise InputError(
                f"{where}: distance_km = {self.distance_km!r}; must be a finite number >= 0")
        if not isinstance(self.city, str) or not self.city:
            raise InputError(f"{where}: city = {self.city!r}; must be a non-empty string")


@dataclass(frozen=True, slots=True)
class Guest:
    """One booking: a person with their party (e.g. a leader and entourage) needing rooms."""

    id: int
    role: str
    economy: str
    party_size: int = 1

    def __post_init__(self):
        if not _is_int(self.id):
            raise InputError(f"guest id = {self.id!r}; must be a whole number")
        where = f"guest {self.id}"
        if self.role not in ROLES:
            raise InputError(f"{where}: role = {self.role!r}; allowed: {_allowed(ROLES)}")
        if not isinstance(self.economy, str) or not self.economy.strip():
            raise InputError(f"{where}: economy = {self.economy!r}; must be a non-empty string")
        if not _is_int(self.party_size) or self.party_size < 1:
            raise InputError(
                f"{where}: party_size = {self.party_size!r}; must be a whole number >= 1")

    @property
    def suites_needed(self) -> int:
        return 1 if self.role == "leader" else 0

    @property
    def rooms_needed(self) -> int:
        """Ordinary rooms: two people share; a minister or CEO gets one room; a leader's
        entourage shares rooms in the leader's hotel."""
        if self.role in ("minister", "ceo"):
            return 1
        if self.role == "leader":
            return math.ceil((self.party_size - 1) / 2)
        return math.ceil(self.party_size / 2)


@dataclass
class Allocation:
    """The result of allocate(): who went where, who found no room, and what each lodging used."""

    assignment: dict[int, str]
    unplaced: list[int]
    rooms_used: dict[str, int]
    suites_used: dict[str, int]
    lodgings: dict[str, Lodging] = field(default_factory=dict, repr=False)
    guests: dict[int, Guest] = field(default_factory=dict, repr=False)

    def summary(self) -> dict:
        """Per zone: guests, people, rooms and suites used and available (the zone's capacity);
        and unplaced guests counted by role. Every zone and role appears, zero or not."""
        zones = {z: {"guests": 0, "people": 0, "rooms_used": 0, "rooms_available": 0,
                     "suites_used": 0, "suites_available": 0} for z in ZONES}
        for lodging in self.lodgings.values():
            row = zones[lodging.zone]
            row["rooms_used"] += self.rooms_used.get(lodging.name, 0)
            row["rooms_available"] += lodging.rooms
            row["suites_used"] += self.suites_used.get(lodging.name, 0)
            row["suites_available"] += lodging.suites
        for gid, name in self.assignment.items():
            row = zones[self.lodgings[name].zone]
            row["guests"] += 1
            row["people"] += self.guests[gid].party_size
        unplaced = dict.fromkeys(ROLES, 0)
        for gid in self.unplaced:
            unplaced[self.guests[gid].role] += 1
        return {"zones": zones, "unplaced": unplaced}


def _check_unique(items: Sequence, kind: type, label: str, key: str, plural: str) -> None:
    """Every item is a `kind` and its `key` is unique (names of lodgings, ids of guests)."""
    seen: set = set()
    for item in items:
        if not isinstance(item, kind):
            raise InputError(f"{label} = {item!r}; must be a {kind.__name__}")
        value = getattr(item, key)
        if value in seen:
            raise InputError(f"{label} {key} = {value!r} appears twice; {plural} must be unique")
        seen.add(value)


def _check_lodgings(lodgings: Sequence[Lodging]) -> None:
    _check_unique(lodgings, Lodging, "lodging", "name", "names")


def _check_guests(guests: Sequence[Guest]) -> None:
    _check_unique(guests, Guest, "guest", "id", "ids")


def _check_rules(rules: Mapping[str, Sequence[str]], roles_present: set[str]) -> None:
    for role, zones in rules.items():
        if role not in ROLES:
            raise InputError(f"rules: role = {role!r}; allowed: {_allowed(ROLES)}")
        if isinstance(zones, str):
            # A bare string would be read zone by zone as letters; ask for a list instead.
            raise InputError(f"rules[{role!r}] = {zones!r}; must be a list of zones")
        for zone in zones:
            if zone not in ZONES:
                raise InputError(f"rules[{role!r}]: zone = {zone!r}; allowed: {_allowed(ZONES)}")
    for role in ROLES:
        if role in roles_present and role not in rules:
            raise InputError(
                f"rules: no entry for role {role!r}, which guests have; give it a list of zones "
                "(an empty list leaves those guests unplaced)")


def allocate(
    guests: Iterable[Guest],
    lodgings: Iterable[Lodging],
    rng: np.random.Generator,
    *,
    rules: Mapping[str, Sequence[str]] = DEFAULT_RULES,
) -> Allocation:
    """Place every guest in a lodging its role allows, or report it unplaced; never overbook.

    Roles go in ROLES order; within a role, guests go in id order shuffled by `rng`. Each guest
    tries its zones in rule order; within a zone it joins the lodging holding most of its economy
    (people already placed), else the closest lodging (smallest distance_km) with room.
    """
    guests = list(guests)
    lodgings = list(lodgings)
    _check_lodgings(lodgings)
    _check_guests(guests)
    _check_rules(rules, {g.role for g in guests})

    by_zone = {z: sorted((lg for lg in lodgings if lg.zone == z),
                         key=lambda lg: (lg.distance_km, lg.name)) for z in ZONES}
    rooms_left = {lg.name: lg.rooms for lg in lodgings}
    suites_left = {lg.name: lg.suites for lg in lodgings}
    # economy -> lodging name -> people of that economy placed there so far
    people_at: dict[str, dict[str, int]] = {}
    assignment: dict[int, str] = {}
    unplaced: list[int] = []

    for role in ROLES:
        # Sorting by id first makes the order independent of how the caller listed the guests,
        # so only the seed decides who is placed first when rooms run short.
        group = sorted((g for g in guests if g.role == role), key=lambda g: g.id)
        for k in rng.permutation(len(group)):
            guest = group[int(k)]
            together = people_at.setdefault(guest.economy, {})
            chosen = _choose(guest, rules[role], by_zone, rooms_left, suites_left, together)
            if chosen is None:
                unplaced.append(guest.id)
                continue
            assignment[guest.id] = chosen.name
            rooms_left[chosen.name] -= guest.rooms_needed
            suites_left[chosen.name] -= guest.suites_needed
            together[chosen.name] = together.get(chosen.name, 0) + guest.party_size

    return Allocation(
        assignment=assignment,
        unplaced=unplaced,
        rooms_used={lg.name: lg.rooms - rooms_left[lg.name] for lg in lodgings},
        suites_used={lg.name: lg.suites - suites_left[lg.name] for lg in lodgings},
        lodgings={lg.name: lg for lg in lodgings},
        guests={g.id: g for g in guests},
    )


def _choose(guest, zones, by_zone, rooms_left, suites_left, together) -> Lodging | None:
    """The lodging this guest takes under the placement rules, or None if nothing allowed fits."""
    rooms, suites = guest.rooms_needed, guest.suites_needed
    for zone in zones:
        fits = [lg for lg in by_zone[zone]
                if rooms_left[lg.name] >= rooms and suites_left[lg.name] >= suites]
        if fits:
            # Zone order comes first; inside the zone, keeping a delegation together beats
            # proximity, and with no compatriots yet (or a tie) the closest lodging wins.
            return min(fits, key=lambda lg: (-together.get(lg.name, 0), lg.distance_km, lg.name))
    return None


def lodgings_from_network(net, *, extra: Iterable[Lodging] = ()) -> list[Lodging]:
    """Lodging records for the network's hotels that state a room count, plus `extra` pools.

    Zone: within 3 km of HICO "bomun"; within 2.5 km of Bulguksa temple "bulguksa"; else "city".
    """
    by_name = {p.name.casefold(): p for p in net.places}
    venue = by_name.get(VENUE_PLACE.casefold())
    if venue is None:
        raise InputError(
            f"network {net.name!r} has no place named {VENUE_PLACE!r}; hotel zones and distances "
            "are measured from it")
    temple = by_name.get(BULGUKSA_PLACE.casefold())  # without it no hotel is in "bulguksa"

    out: list[Lodging] = []
    for p in net.places_of_kind("hotel"):
        # A hotel without a room count cannot be allocated; a caller that knows its rooms
        # passes it in `extra` instead.
        if "rooms" not in p.attrs:
            continue
        km = float(haversine_m(venue.lat, venue.lon, p.lat, p.lon)) / 1000
        if km <= BOMUN_RADIUS_KM:
            zone = "bomun"
        elif (temple is not None and float(haversine_m(temple.lat, temple.lon, p.lat, p.lon))
              / 1000 <= BULGUKSA_RADIUS_KM):
            zone = "bulguksa"
        else:
            zone = "city"
        out.append(Lodging(name=p.name, zone=zone, node=p.node, rooms=p.attrs["rooms"],
                           suites=p.attrs.get("suites", 0), distance_km=km, city="Gyeongju"))
    for lodging in extra:
        # Guests board and alight at the node, so it has to exist in the network they ride.
        if isinstance(lodging, Lodging) and lodging.node not in net.node_index:
            raise InputError(f"lodging {lodging.name!r}: node = {lodging.node!r} is not a node of "
                             f"network {net.name!r}")
        out.append(lodging)
    _check_lodgings(out)
    return out

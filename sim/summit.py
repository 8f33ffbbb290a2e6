"""The summit layer of a run: venues with screening gates, lodging and the hotel plan, shuttle
lines, and the delegates with their agendas, all built from the scenario."""

from __future__ import annotations

import numpy as np

from agents.delegate import STATES, Delegate, Leg
from agents.hotels import ROLES, Guest, Lodging, allocate, lodgings_from_network
from agents.screening import ScreeningGates
from agents.shuttle import LineSpec, ShuttleLine

from .errors import InputError
from .geo import haversine_m
from .routing import Router


def resolve_node(net, name: str, where: str) -> str:
    try:
        return net.resolve(name)[0]
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def summit_nodes(net, scenario) -> set[str]:
    """Every node the summit layer starts or ends a vehicle at (the engine must keep them)."""
    nodes = set()
    for i, v in enumerate(scenario.venues):
        nodes.add(resolve_node(net, v.name, f"venues[{i}]"))
    for i, lg in enumerate(scenario.lodging):
        nodes.add(resolve_node(net, lg.node, f"lodging[{i}] ({lg.name})"))
    for i, line in enumerate(scenario.shuttles.lines):
        for stop in line.stops:
            nodes.add(resolve_node(net, stop, f"shuttles.lines[{i}] ({line.name})"))
        if line.depot:
            nodes.add(resolve_node(net, line.depot, f"shuttles.lines[{i}] ({line.name}).depot"))
    return nodes


class SummitLayer:
    def __init__(self, model, scenario):
        self.model = model
        self.spec = scenario.delegates
        net = model.network
        self.router = Router(net)
        self.denied = 0
        self.gave_up = 0  # delegates who left a stop by taxi after max_wait_min
        self.motorcades: list[dict] = []
        self.motorcade_lead_s = 180.0  # links close this long before a convoy
        # venues
        self.venues: dict[str, ScreeningGates] = {}
        self.venue_nodes: dict[str, str] = {}
        for i, v in enumerate(scenario.venues):
            self.venue_nodes[v.name] = resolve_node(net, v.name, f"venues[{i}]")
            self.venues[v.name] = ScreeningGates(v.name, v.gates, v.throughput_per_gate_per_hour,
                                                 opens_s=v.opens, closes_s=v.closes)
        # shuttle lines (fleet_scale scales every line; a line keeps at least one bus)
        sh = scenario.shuttles
        self.lines: list[ShuttleLine] = []
        for i, ln in enumerate(sh.lines):
            where = f"shuttles.lines[{i}] ({ln.name})"
            self.lines.append(ShuttleLine(model, LineSpec(
                name=ln.name, stops=tuple(resolve_node(net, s, where) for s in ln.stops),
                headway_s=ln.headway_min * 60, start_s=ln.start, end_s=ln.end,
                vehicles=max(1, round(ln.vehicles * sh.fleet_scale)), seats=ln.seats,
                wheelchair_places=ln.wheelchair_places, dwell_base_s=sh.dwell_base_s,
                dwell_per_boarding_s=sh.dwell_per_boarding_s,
                dwell_per_alighting_s=sh.dwell_per_alighting_s, layover_s=ln.layover_min * 60,
                depot=resolve_node(net, ln.depot, where) if ln.depot else None, loop=ln.loop,
                breakdowns_per_hour=sh.breakdowns_per_hour, repair_min=sh.repair_min)))
        # lodging and the hotel plan
        extra = [Lodging(lg.name, lg.zone, resolve_node(net, lg.node, f"lodging ({lg.name})"),
                         lg.rooms, lg.suites, lg.distance_km, lg.city) for lg in scenario.lodging]
        self.lodgings = lodgings_from_network(net, extra=extra)
        node_of = {lg.name: lg.node for lg in self.lodgings}
        guests = self._guests(model.rng)
        self.allocation = allocate(guests, self.lodgings, model.rng)
        if self.allocation.unplaced and not any(lg.zone == "overflow" for lg in self.lodgings):
            short = self.allocation.summary()["unplaced"]
            roles = ", ".join(f"{n} {r}" for r, n in short.items() if n)
            raise InputError(
                f"delegates.total = {self.spec.total}: the lodging cannot take {roles}, and no "
                "[[lodging]] with zone = \"overflow\" is given; add overflow lodging (e.g. "
                "Pohang or Ulsan hotels) or fewer guests")
        # agendas: each session draws its share of the guests in its roles
        agendas: dict[int, list] = {g.id: [] for g in guests}
        by_role: dict[str, list[int]] = {}
        for g in guests:
            by_role.setdefault(g.role, []).append(g.id)
        for s in sorted(scenario.sessions, key=lambda s: s.start):
            pool = [gid for r in s.roles for gid in by_role.get(r, [])]
            k = round(len(pool) * s.share)
            chosen = model.rng.choice(len(pool), size=k, replace=False) if k else []
            for j in sorted(int(c) for c in chosen):
                agendas[pool[j]].append(s)
        # drop overlapping sessions: a guest attends the earlier one
        for gid, sessions in agendas.items():
            kept = []
            for s in sessions:
                if not kept or s.start >= kept[-1].end:
                    kept.append(s)
            agendas[gid] = kept
        wheel = model.rng.random(len(guests)) < self.spec.wheelchair_share
        self.unplaced = len(self.allocation.unplaced)
        self.delegates: list[Delegate] = []
        for g, w in zip(guests, wheel.tolist(), strict=True):
            hotel = self.allocation.assignment.get(g.id)
            if hotel is None:
                continue  # reported as unplaced
            self.delegates.append(Delegate(model, g, hotel, node_of[hotel], agendas[g.id], w))
        self._legs: dict[tuple[str, str, bool], Leg] = {}

    def start(self) -> None:
        """Set every delegate on its way (once the model can find this layer)."""
        for d in self.delegates:
            d.start()

    def _guests(self, rng) -> list[Guest]:
        spec = self.spec
        roles = [r for r in ROLES if spec.roles.get(r, 0) > 0]
        shares = np.array([spec.roles[r] for r in roles], float)
        counts = np.floor(shares / shares.sum() * spec.total).astype(int)
        counts[np.argmax(shares)] += spec.total - counts.sum()
        guests, gid = [], 0
        for role, n in zip(roles, counts.tolist(), strict=True):
            for _ in range(n):
                economy = spec.economies[gid % len(spec.economies)]
                guests.append(Guest(gid, role, economy, spec.party_size.get(role, 1)))
                gid += 1
        return guests

    # ---- how to get somewhere ----------------------------------------------------------------
    def walk_s(self, a: str, b: str) -> float:
        net = self.model.network
        na, nb = net.node(a), net.node(b)
        metres = haversine_m(na.lat, na.lon, nb.lat, nb.lon) * self.spec.detour_factor
        return metres / (self.spec.walk_speed_kmh / 3.6)

    def motorcade(self, delegate, a: str, b: str, t: float) -> None:
        """A leader's convoy from a to b, leaving now, with rolling closures ahead of it."""
        from types import SimpleNamespace

        from .traffic.controls import add_motorcade

        spec = SimpleNamespace(name=f"Leader of {delegate.guest.economy}", route=[a, b],
                               depart=t, lead_s=self.motorcade_lead_s, trail_s=60.0)
        self.motorcades.append(add_motorcade(self.model.engine, spec, spec.name,
                                             listener=delegate))

    def plan_leg(self, a: str, b: str, wheelchair: bool, role: str = "") -> Leg:
        """On foot when close, else the shuttle line with the shortest expected trip, else by
        car. Cached per origin and destination."""
        if role == "leader" and a != b:
            drive = self.router.route(a, b).seconds
            return Leg("motorcade", estimate_s=drive + 60)
        key = (a, b, wheelchair)
        if key in self._legs:
            return self._legs[key]
        walk = self.walk_s(a, b)
        if a == b or walk * self.spec.walk_speed_kmh / 3.6 <= self.spec.max_walk_m:
            leg = Leg("walk", walk_to_s=walk, estimate_s=walk)
        else:
            leg = None
            max_walk_s = self.spec.max_walk_m / (self.spec.walk_speed_kmh / 3.6)
            for line in self.lines:
                stops = list(line.spec.stops)
                for board in stops:
                    w1 = self.walk_s(a, board)
                    if w1 > max_walk_s:
                        continue
                    for alight in stops:
                        if alight == board:  # every line serves any pair of its stops:
                            continue  # back-and-forth lines run both ways, loops go round
                        w2 = self.walk_s(alight, b)
                        if w2 > max_walk_s:
                            continue
                        ride = self.router.route(board, alight).seconds * 1.2
                        est = w1 + line.spec.headway_s / 2 + ride + w2
                        if leg is None or est < leg.estimate_s:
                            leg = Leg("shuttle", w1, w2, line, board, alight, est)
            if leg is None:
                drive = self.router.route(a, b).seconds * 1.3
                leg = Leg("car", estimate_s=drive + 300)  # and five minutes to park
        self._legs[key] = leg
        return leg

    # ---- accounting -------------------------------------------------------------------------
    def state_counts(self) -> dict[str, int]:
        counts = {s: 0 for s in STATES}
        for d in self.delegates:
            counts[d.state] = counts.get(d.state, 0) + 1
        return counts


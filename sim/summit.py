"""The summit layer of a run: venues with screening gates, lodging and the hotel plan, shuttle
lines, and the delegates with their agendas, all built from the scenario."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np
from mesa.agent import AgentSet

from agents.summit.delegate import (
    STATES,
    Delegate,
    DemandRide,
    Drive,
    Leg,
    Motorcade,
    Ride,
    Travel,
    Walk,
)
from agents.summit.hotels import ROLES, Guest, Lodging, allocate, lodgings_from_network
from agents.summit.screening import ScreeningGates
from agents.summit.shuttle import LineSpec, ShuttleLine

from .errors import InputError
from .geo import haversine_m
from .routing import Router

# Planning judgements: how people estimate a trip before they make it (the run then drives it
# through the engine; these only choose modes, routes and departure times).
CAR_TIME_FACTOR = 1.3  # a car trip takes 1.3x its free-flow time in the summit's traffic
BUS_TIME_FACTOR = 1.2  # a shuttle leg: stops and boarding on top of the free-flow time
PARK_S = 300.0  # finding a space and walking from it
VAN_EXTRA_S = 600.0  # a demand-responsive van: the wait for it and its detours
MOTORCADE_MARGIN_S = 60.0  # a convoy's start-up and its lead car's gap
MOTORCADE_LEAD_S = 180.0  # links close this long before a convoy (and 60 s after it)
MIN_TRANSFER_S = 60.0  # changing lines takes a minute at least, however close the stops
# judgement: a guest arriving by train or plane reaches the first session no sooner than an
# hour after the hub (baggage, check-in) plus 1.5x the drive; one leaving keeps the hub
# margin plus half an hour after the last session, and 1.5x the drive
HUB_ARRIVAL_S = 3600.0
HUB_DEPARTURE_S = 1800.0
HUB_DRIVE_FACTOR = 1.5
LINE_PLANNING_AHEAD_S = 3600.0  # riders plan on a line from an hour before it runs


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
    for i, tr in enumerate(scenario.travel):
        nodes.add(resolve_node(net, tr.hub, f"travel[{i}].hub"))
    for i, dv in enumerate(scenario.day_visitors):
        where = f"day_visitors[{i}] ({dv.name})"
        if dv.home != "zones":
            nodes.add(resolve_node(net, dv.home, f"{where}.home"))
        for cp in dv.car_parks:
            nodes.add(resolve_node(net, cp, f"{where}.car_parks"))
    if scenario.shuttles.drt:
        nodes.add(resolve_node(net, scenario.shuttles.drt.depot, "shuttles.drt.depot"))
    return nodes


def scaled_timetable(headway_min: float | None, vehicles: int | None,
                     scale: float) -> tuple[float | None, int | None]:
    """(headway s, buses) of a timetable with the fleet scaled: k x n buses every h / k
    minutes (the same round trip per bus; one bus at least)."""
    if headway_min is None or vehicles is None:
        return None, None
    buses = max(1, round(vehicles * scale))
    return headway_min * 60 * vehicles / buses, buses


def scaled_extra(vehicles: int, scale: float) -> int:
    """A line's extra buses with the fleet scaled (one at least, when it has any)."""
    return max(1, round(vehicles * scale)) if vehicles else 0


class SummitLayer:
    """Delegates, their hotels and agendas, shuttle lines, vans, screening at the venues and
    motorcades (a layer of the model, sim/layers.py)."""

    name = "summit"

    @classmethod
    def applies(cls, scenario) -> bool:
        return scenario.has_summit()

    @classmethod
    def kept_nodes(cls, net, scenario) -> set[str]:
        return summit_nodes(net, scenario)

    def metrics(self) -> dict[str, dict]:
        from .metrics import delegate_metrics, shuttle_metrics

        return {"delegates": delegate_metrics(self),
                "shuttles": shuttle_metrics(self, self.model.engine)}

    def write_outputs(self, folder, metrics: dict, painter) -> None:
        from .picture_data import summit_picture_data
        from .summit_tables import write_summit_tables

        if self.delegates:
            painter.draw("sim.plots:draw_summit_plots", summit_picture_data(self), folder,
                         title=self.model.spec.name)
        write_summit_tables(self, folder, metrics)

    def __init__(self, model, scenario):
        self.model = model
        self.spec = scenario.delegates
        net = model.network
        # free-flow times as the engine drives them (road classes' speed factors included)
        self.router = Router(net, model.engine.net_free_flow("car"))
        self.denied = 0
        self.gave_up = 0  # delegates who left a stop by taxi after max_wait_min
        self.motorcades: list[dict] = []
        self.motorcade_lead_s = MOTORCADE_LEAD_S
        self._from_rows: dict[str, np.ndarray] = {}  # free-flow seconds from a node
        self._to_rows: dict[str, np.ndarray] = {}  # ... and to a node
        # venues
        self.venues: dict[str, ScreeningGates] = {}
        self.venue_nodes: dict[str, str] = {}
        for i, v in enumerate(scenario.venues):
            self.venue_nodes[v.name] = resolve_node(net, v.name, f"venues[{i}]")
            self.venues[v.name] = ScreeningGates(v.name, v.gates, v.throughput_per_gate_per_hour,
                                                 opens_s=v.opens, closes_s=v.closes)
        self._build_lines(scenario)
        # the lines running change only at these times (see running_lines)
        self._line_edges = sorted({t for line in self.lines for s, e in line.spec.spans()
                                   for t in (s - LINE_PLANNING_AHEAD_S, e)})
        # the expected waits change at the periods' bounds (none on all-day timetables)
        self._period_edges = sorted({t for line in self.lines for p in line.spec.periods
                                     for t in p[:2]})
        self._running: dict[int, frozenset] = {}
        self._accessible_sets: dict[frozenset, frozenset] = {}  # running lines -> accessible
        self.drt = self._build_drt(scenario)
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
        visitors = self._day_visitors(scenario, len(guests))
        everyone = guests + [v[0] for v in visitors]
        agendas = self._agendas(scenario, everyone)
        travel = self._travel(scenario, guests, agendas)
        wheel = model.rng.random(len(everyone)) < self.spec.wheelchair_share
        self.unplaced = len(self.allocation.unplaced)
        self.total = len(everyone)
        self.day_visitors = len(visitors)
        people: list[Delegate] = []
        for g, w in zip(guests, wheel.tolist(), strict=False):
            hotel = self.allocation.assignment.get(g.id)
            if hotel is None:
                continue  # reported as unplaced
            arrival, departure = travel.get(g.id, (None, None))
            people.append(Delegate(model, g, hotel, node_of[hotel], agendas[g.id], w,
                                   arrival=arrival, departure=departure))
        for (g, home, name, cps, ride), w in zip(visitors, wheel[len(guests):].tolist(),
                                                 strict=True):
            people.append(Delegate(model, g, name, home, agendas[g.id], w,
                                   car_parks=cps, ride_from_car_park=ride, day_visitor=True))
        # the people placed, in the order they were made (a Mesa AgentSet, as model.agents)
        self.delegates = AgentSet(people, random=model.random)
        self._legs: dict[tuple, Leg] = {}
        self._transfers = self._transfer_points()

    def start(self) -> None:
        """Set every delegate on its way (once the model can find this layer)."""
        for d in self.delegates:
            d.start()

    # ---- building -----------------------------------------------------------------------------
    def _build_lines(self, scenario) -> None:
        """Shuttle lines. `fleet_scale` scales every line's buses and its frequency together:
        n buses every h minutes become k x n buses every h / k minutes (the same round trip per
        bus), so a bigger fleet carries more and a smaller one less; a line keeps one bus."""
        net = self.model.network
        sh = scenario.shuttles
        self.lines: list[ShuttleLine] = []
        for i, ln in enumerate(sh.lines):
            where = f"shuttles.lines[{i}] ({ln.name})"
            headway_s, buses = scaled_timetable(ln.headway_min, ln.vehicles, sh.fleet_scale)
            periods = tuple((p.start, p.end, *scaled_timetable(p.headway_min, p.vehicles,
                                                                sh.fleet_scale))
                            for p in ln.periods)
            self.lines.append(ShuttleLine(self.model, LineSpec(
                name=ln.name, stops=tuple(resolve_node(net, s, where) for s in ln.stops),
                headway_s=headway_s, start_s=ln.start, end_s=ln.end, vehicles=buses,
                periods=periods, extra_runs=tuple(ln.extra_runs),
                extra_runs_back=tuple(ln.extra_runs_back),
                extra_vehicles=scaled_extra(ln.extra_vehicles, sh.fleet_scale), seats=ln.seats,
                wheelchair_places=ln.wheelchair_places, dwell_base_s=sh.dwell_base_s,
                dwell_per_boarding_s=sh.dwell_per_boarding_s,
                dwell_per_alighting_s=sh.dwell_per_alighting_s, layover_s=ln.layover_min * 60,
                depot=resolve_node(net, ln.depot, where) if ln.depot else None, loop=ln.loop,
                breakdowns_per_hour=sh.breakdowns_per_hour, repair_min=sh.repair_min)))

    def _build_drt(self, scenario):
        spec = scenario.shuttles.drt
        if spec is None:
            return None
        from agents.summit.drt import DrtService, DrtSpec

        net = self.model.network
        return DrtService(self.model, DrtSpec(
            name="demand-responsive", vehicles=max(1, round(spec.vehicles *
                                                           scenario.shuttles.fleet_scale)),
            seats=spec.seats, wheelchair_places=spec.wheelchair_places, start_s=spec.start,
            end_s=spec.end, depot=resolve_node(net, spec.depot, "shuttles.drt.depot"),
            max_wait_s=spec.max_wait_min * 60, max_detour=spec.max_detour,
            detour_slack_s=spec.detour_slack_min * 60, dwell_s=spec.dwell_s,
            speed_factor=spec.speed_factor))

    def _guests(self, rng) -> list[Guest]:
        spec = self.spec
        if spec.total == 0:
            return []
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

    def _day_visitors(self, scenario, first_id: int) -> list[tuple]:
        """(guest, home node, home label, car parks, must ride) for every day visitor: homes in the
        traffic zones by population, or all at the group's muster place."""
        from .traffic.demand import zone_nodes

        net, rng = self.model.network, self.model.rng
        zones = scenario.traffic.zones
        out, gid = [], first_id
        for i, dv in enumerate(scenario.day_visitors):
            where = f"day_visitors[{i}] ({dv.name})"
            cps = tuple(resolve_node(net, cp, f"{where}.car_parks") for cp in dv.car_parks)
            if dv.home == "zones":
                pop = np.array([z.population for z in zones], float)
                if not zones or pop.sum() <= 0:
                    raise InputError(f"{where}.home = 'zones': the scenario has no traffic "
                                     "zones with population; name a place instead")
                nodes = [zone_nodes(net, z, at_junctions=scenario.traffic.trip_ends_at_junctions)
                         for z in zones]
                picks = rng.choice(len(zones), size=dv.people, p=pop / pop.sum())
                homes = []
                for z in picks.tolist():
                    homes.append((net.nodes[nodes[z][int(rng.integers(len(nodes[z])))]].id,
                                  f"home ({zones[z].name})"))
            else:
                node = resolve_node(net, dv.home, f"{where}.home")
                homes = [(node, dv.home)] * dv.people
            for home, label in homes:
                out.append((Guest(gid, dv.role, "KOR"), home, label, cps, dv.ride_from_car_park))
                gid += 1
        return out

    def _agendas(self, scenario, people) -> dict[int, list]:
        """Each session draws its share of the people in its roles; a person attends the
        earlier of two overlapping sessions."""
        rng = self.model.rng
        agendas: dict[int, list] = {g.id: [] for g in people}
        by_role: dict[str, list[int]] = {}
        for g in people:
            by_role.setdefault(g.role, []).append(g.id)
        for s in sorted(scenario.sessions, key=lambda s: s.start):
            pool = [gid for r in s.roles for gid in by_role.get(r, [])]
            k = round(len(pool) * s.share)
            chosen = rng.choice(len(pool), size=k, replace=False) if k else []
            for j in sorted(int(c) for c in chosen):
                agendas[pool[j]].append(s)
        for gid, sessions in agendas.items():
            kept = []
            for s in sessions:
                if not kept or s.start >= kept[-1].end:
                    kept.append(s)
            agendas[gid] = kept
        return agendas

    def _travel(self, scenario, guests, agendas) -> dict[int, tuple]:
        """Arrivals and departures at hubs: who, when, and the sessions they can still make
        (an arrival first goes to the hotel; a departure leaves after its last session)."""
        net, rng = self.model.network, self.model.rng
        placed = [g for g in guests if g.id in self.allocation.assignment]
        out: dict[int, list] = {}
        for i, tr in enumerate(scenario.travel):
            hub = resolve_node(net, tr.hub, f"travel[{i}].hub")
            side = 0 if tr.direction == "arrive" else 1
            pool = [g.id for g in placed if g.role in tr.roles
                    and (g.id not in out or out[g.id][side] is None)]
            k = round(len(pool) * tr.share)
            if not k:
                continue
            chosen = sorted(int(c) for c in rng.choice(len(pool), size=k, replace=False))
            times = rng.uniform(tr.start, tr.end, size=k) if tr.end > tr.start else \
                np.full(k, tr.start)
            for j, t in zip(chosen, times.tolist(), strict=True):
                pair = out.setdefault(pool[j], [None, None])
                pair[side] = Travel(hub, float(t))
        for gid, (arrival, departure) in out.items():
            agenda = agendas[gid]
            if arrival is not None:  # at least an hour from the hub to the first session
                reach = arrival.time_s + HUB_ARRIVAL_S + HUB_DRIVE_FACTOR * min(
                    self.drive_s(arrival.hub, self.venue_nodes[s.venue]) for s in agenda) \
                    if agenda else arrival.time_s
                agenda = [s for s in agenda if s.start >= reach]
            if departure is not None:
                margin = self.spec.hub_margin_min * 60 + HUB_DEPARTURE_S
                agenda = [s for s in agenda if s.end + margin + HUB_DRIVE_FACTOR * self.drive_s(
                    self.venue_nodes[s.venue], departure.hub) <= departure.time_s]
            agendas[gid] = agenda
        return {gid: tuple(pair) for gid, pair in out.items()}

    def _transfer_points(self) -> list[tuple]:
        """(line a, stop x, line b, stop y, walk seconds) where a rider can change lines."""
        limit = self.spec.transfer_walk_m
        out = []
        for la in self.lines:
            for lb in self.lines:
                if la is lb:
                    continue
                for x in la.spec.stops:
                    for y in lb.spec.stops:
                        walk = self.walk_s(x, y)
                        if walk * self.spec.walk_speed_kmh / 3.6 <= limit:
                            out.append((la, x, lb, y, max(MIN_TRANSFER_S, walk)))
        return out

    # ---- travel times -------------------------------------------------------------------------
    def drive_s(self, a: str, b: str) -> float:
        """Free-flow driving seconds from a to b (rows cached per origin)."""
        row = self._from_rows.get(a)
        if row is None:
            row = self._from_rows[a] = self.router.times_from(a)[0]
        return float(row[self.model.network.node_index[b]])

    def drive_to_s(self, a: str, b: str) -> float:
        """The same as drive_s, cached per destination (for many origins to a few places)."""
        row = self._to_rows.get(b)
        if row is None:
            row = self._to_rows[b] = self.router.times_to(b)[0]
        return float(row[self.model.network.node_index[a]])

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
                               depart=t, lead_s=self.motorcade_lead_s, trail_s=MOTORCADE_MARGIN_S)
        self.motorcades.append(add_motorcade(self.model.engine, spec, spec.name,
                                             listener=delegate))

    # ---- how to get somewhere ----------------------------------------------------------------
    def plan_leg(self, who, a: str, b: str, at: float) -> Leg:
        """How `who` goes from a to b around time `at`: leaders by motorcade; day visitors
        drive to a park-and-ride car park and back to their car; everyone else by
        `transit_leg`."""
        if a == b:
            return Leg("walk", (), 0.0)
        if who.guest.role == "leader":
            return Leg("motorcade", (Motorcade(a, b),), self.drive_s(a, b) + MOTORCADE_MARGIN_S)
        chair = who.wheelchair
        if who.car_parks:
            if a == who.hotel_node:  # from home: the car park with the quickest way on
                best = None
                park_s = PARK_S
                for cp in who.car_parks:
                    on = self.transit_leg(cp, b, at, walk=not who.ride_from_car_park,
                                          wheelchair=chair)
                    est = CAR_TIME_FACTOR * self.drive_to_s(a, cp) + park_s + on.estimate_s
                    if best is None or est < best[0]:
                        best = (est, cp, on)
                est, cp, on = best
                return Leg("park_ride", (Drive(a, cp, park_s), *on.steps), est)
            if b == who.hotel_node and who.car_at is not None:  # back to the car, then home
                back = self.transit_leg(a, who.car_at, at, walk=not who.ride_from_car_park,
                                        wheelchair=chair)
                drive = CAR_TIME_FACTOR * self.drive_s(who.car_at, b)
                return Leg("park_ride", (*back.steps, Drive(who.car_at, b)),
                           back.estimate_s + drive)
        return self.transit_leg(a, b, at, wheelchair=chair)

    def transit_leg(self, a: str, b: str, at: float, walk: bool = True,
                    wheelchair: bool = False) -> Leg:
        """On foot when close (and allowed); else the best of one shuttle line or two with a
        change among the lines running at `at`; a demand-responsive vehicle when no line
        serves the trip well; else by car. A wheelchair user plans only on lines with
        wheelchair places (else a van, else an accessible taxi). Cached per set of running
        lines."""
        running = self.running_lines(at)
        if wheelchair:
            running = self._accessible(running)
        key = (a, b, walk, running, bisect_right(self._period_edges, at))
        leg = self._legs.get(key)
        if leg is not None:
            return leg
        spec = self.spec
        walk_s = self.walk_s(a, b)
        if a == b:
            leg = Leg("walk", (), 0.0)
        elif walk and walk_s * spec.walk_speed_kmh / 3.6 <= spec.max_walk_m:
            leg = Leg("walk", (Walk(walk_s, b),), walk_s)
        else:
            drive = CAR_TIME_FACTOR * self.drive_s(a, b) + PARK_S
            leg = self._best_by_line(a, b, at, running)
            drt = self.model.spec.shuttles.drt
            if self.drt is not None and (
                    leg is None or leg.estimate_s > drt.when_slower_than_car * drive):
                leg = Leg("drt", (DemandRide(a, b),),
                          CAR_TIME_FACTOR * self.drive_s(a, b) + VAN_EXTRA_S)
            elif leg is None:
                leg = Leg("car", (Drive(a, b, PARK_S),), drive)
        self._legs[key] = leg
        return leg

    def _accessible(self, running: frozenset) -> frozenset:
        out = self._accessible_sets.get(running)
        if out is None:
            out = self._accessible_sets[running] = frozenset(
                line for line in running if line.spec.wheelchair_places > 0)
        return out

    def running_lines(self, at: float) -> frozenset:
        """The lines running around time `at`: from an hour before their first departure to
        their last. One set per span between the lines' start and end times, so the legs
        cached per set look it up without building and hashing a new one."""
        edges = self._line_edges
        i = bisect_left(edges, at)
        on_edge = i < len(edges) and edges[i] == at  # the spans either side may differ
        running = None if on_edge else self._running.get(i)
        if running is None:
            running = frozenset(line for line in self.lines
                                if any(s - LINE_PLANNING_AHEAD_S <= at <= e
                                       for s, e in line.spec.spans()))
            if not on_edge:
                self._running[i] = running
        return running

    def _best_by_line(self, a: str, b: str, at: float, running: frozenset) -> Leg | None:
        spec = self.spec
        max_walk_s = spec.max_walk_m / (spec.walk_speed_kmh / 3.6)
        near_a = {}  # line -> [(stop, walk s)] within walking distance of a, and of b
        near_b = {}
        for line in self.lines:
            if line not in running:
                continue
            for stop in line.spec.stops:
                wa, wb = self.walk_s(a, stop), self.walk_s(stop, b)
                if wa <= max_walk_s:
                    near_a.setdefault(line, []).append((stop, wa))
                if wb <= max_walk_s:
                    near_b.setdefault(line, []).append((stop, wb))
        best: tuple[float, tuple] | None = None

        def ride_s(line, x, y):
            wait = line.spec.expected_wait_s(at)
            return BUS_TIME_FACTOR * self.drive_s(x, y) + wait

        def serves(line, x, y):  # back-and-forth lines serve any pair; a loop only onwards
            if x == y:
                return False
            stops = line.spec.stops
            return not line.spec.loop or y == stops[0] or stops.index(y) > stops.index(x)

        def walk(seconds, to):
            return (Walk(seconds, to),) if seconds > 0 else ()

        for line, boards in near_a.items():
            for x, w1 in boards:
                for y, w2 in near_b.get(line, ()):
                    if not serves(line, x, y):
                        continue
                    est = w1 + ride_s(line, x, y) + w2
                    if best is None or est < best[0]:
                        best = (est, (*walk(w1, x), Ride(line, x, y), *walk(w2, b)))
        for la, x, lb, y, wt in self._transfers:
            if la not in near_a or lb not in near_b:
                continue
            for s, w1 in near_a[la]:
                if not serves(la, s, x):
                    continue
                first = w1 + ride_s(la, s, x) + wt
                if best is not None and first >= best[0]:
                    continue
                for z, w2 in near_b[lb]:
                    if not serves(lb, y, z):
                        continue
                    est = first + ride_s(lb, y, z) + w2
                    if best is None or est < best[0]:
                        best = (est, (*walk(w1, s), Ride(la, s, x), Walk(wt, y), Ride(lb, y, z),
                                      *walk(w2, b)))
        if best is None:
            return None
        est, steps = best
        rides = sum(isinstance(st, Ride) for st in steps)
        return Leg("shuttle" if rides == 1 else "transfer", steps, est)

    # ---- accounting -------------------------------------------------------------------------
    def node_names(self) -> dict[str, str]:
        """Node id -> the name the tables write for it: a venue's, else the first place's
        there (person_trips.csv, stops.csv)."""
        names: dict[str, str] = {}
        for p in self.model.network.places:
            names.setdefault(p.node, p.name)
        names.update({node: venue for venue, node in self.venue_nodes.items()})
        return names

    def simulated(self, time_s: float) -> bool:
        """Whether a session or departure at `time_s` falls within the run: one after its end
        is not simulated, counted apart and never scored (a morning-only run does not make
        the afternoon late)."""
        return time_s <= self.model.end_s

    def scored_records(self, people=None) -> list:
        """Trips to sessions that start within the run (of `people`, default everyone)."""
        return [r for d in (self.delegates if people is None else people) for r in d.records
                if self.simulated(r.start_s)]

    def scored_departures(self) -> list:
        """Departures (trains, flights) due within the run."""
        return [d.departure for d in self.delegates
                if d.departure and self.simulated(d.departure.time_s)]

    def state_counts(self) -> dict[str, int]:
        counts = {s: 0 for s in STATES}
        for d in self.delegates:
            counts[d.state] = counts.get(d.state, 0) + 1
        return counts

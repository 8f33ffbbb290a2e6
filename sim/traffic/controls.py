"""Time-windowed controls on the engine: closures, lane/capacity changes, truck bans, weather,
and the rolling closures a motorcade brings."""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..geo import haversine_m
from ..network import RoadNetwork
from ..routing import Router
from .links import SignalPlan
from .vehicles import VEHICLE_CLASSES

NON_PRIORITY = [c for c, v in VEHICLE_CLASSES.items() if not v.priority]


def select_links(net: RoadNetwork, sel, where: str) -> list[int]:
    """Link ids a selector names (road / path / links / near); errors name the selector."""
    if sel.road:
        want = sel.road.casefold()
        ids = [lk.id for lk in net.links if lk.road.casefold() == want]
        if not ids:
            roads = sorted({lk.road for lk in net.links})
            close = difflib.get_close_matches(sel.road, roads, n=3, cutoff=0.5)
            hint = f"; did you mean: {', '.join(close)}?" if close else ""
            raise InputError(f"{where}: road {sel.road!r} is not in the network{hint}")
        return ids
    if sel.links:
        ids = []
        for u, v in sel.links:
            try:
                ids.append(net.link_between(u, v).id)
            except KeyError:
                raise InputError(f"{where}: there is no link {u} -> {v}") from None
        return ids
    if sel.path:
        return path_links(net, sel.path, where)
    node, _ = _resolve(net, sel.near, where)
    centre = net.node(node)
    lat = np.array([n.lat for n in net.nodes])
    lon = np.array([n.lon for n in net.nodes])
    d = haversine_m(centre.lat, centre.lon, lat, lon)
    inside = d <= sel.radius_m
    return [lk.id for lk in net.links
            if inside[net.node_index[lk.from_node]] or inside[net.node_index[lk.to_node]]]


def path_links(net: RoadNetwork, stops: list[str], where: str) -> list[int]:
    """Links of the free-flow route through the given places or nodes, in order."""
    router = Router(net)
    nodes = [_resolve(net, s, where)[0] for s in stops]
    links: list[int] = []
    for a, b in itertools.pairwise(nodes):
        links.extend(router.route(a, b).links)
    return links


def _resolve(net: RoadNetwork, name: str, where: str) -> tuple[str, object]:
    try:
        return net.resolve(name)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


@dataclass
class _Window:
    """A control that switches on at start and off at end."""

    engine: object
    links: list[int]
    classes: list[str]

    def close(self, t: float) -> None:
        self.engine.set_closed(self.links, self.classes, True)

    def reopen(self, t: float) -> None:
        self.engine.set_closed(self.links, self.classes, False)


@dataclass
class _Capacity:
    engine: object
    links: list[int]
    factor: float

    def on(self, t: float) -> None:
        self.engine.set_capacity_factor(self.links, self.factor)

    def off(self, t: float) -> None:
        self.engine.set_capacity_factor(self.links, 1.0)


@dataclass
class _Weather:
    engine: object
    speed: float
    capacity: float

    def apply(self, t: float) -> None:
        self.engine.set_weather(self.speed, self.capacity)


@dataclass
class _SignalPlans:
    """Signal plans by time of day: at each period's start and end the plan of that moment
    (the day plan outside every period) takes over."""

    engine: object
    periods: list
    day: SignalPlan

    def plan_at(self, t: float) -> SignalPlan:
        for p in self.periods:
            if p.covers(t):
                if p.flashing:
                    return self.day._replace(flashing=True)
                return SignalPlan(p.cycle_s, p.green_ratio)
        return self.day

    def apply(self, t: float) -> None:
        self.engine.set_signal_plan(self.plan_at(t))

    def switches(self, start_s: float, end_s: float) -> list[float]:
        """Times within the run, after its start and before its end, when a period starts or
        ends (every day of the run)."""
        day_s = 86_400.0
        out = set()
        for k in range(int(start_s // day_s), int(end_s // day_s) + 1):
            for p in self.periods:
                for b in (p.start, p.end):
                    t = k * day_s + b % day_s
                    if start_s < t < end_s:
                        out.add(t)
        return sorted(out)


def apply_controls(engine, scenario) -> list[dict]:
    """Schedule every control of the scenario on the engine; returns a log of what was set."""
    net = engine.net
    log: list[dict] = []
    for i, c in enumerate(scenario.closures):
        where = f"closures[{i}]" + (f" ({c.name})" if c.name else "")
        links = select_links(net, c, where)
        classes = [k for k in c.applies_to if k not in c.exempt]
        w = _Window(engine, links, classes)
        engine.at(c.start, w.close)
        engine.at(c.end, w.reopen)
        log.append({"control": "closure", "name": c.name, "links": len(links), "start": c.start,
                    "end": c.end, "classes": classes})
    for i, b in enumerate(scenario.truck_bans):
        links = select_links(net, b, f"truck_bans[{i}]")
        w = _Window(engine, links, ["truck"])
        engine.at(b.start, w.close)
        engine.at(b.end, w.reopen)
        log.append({"control": "truck_ban", "name": b.name, "links": len(links),
                    "start": b.start, "end": b.end})
    for i, ch in enumerate(scenario.capacity_changes):
        links = select_links(net, ch, f"capacity_changes[{i}]")
        cap = _Capacity(engine, links, ch.factor)
        engine.at(ch.start, cap.on)
        engine.at(ch.end, cap.off)
        log.append({"control": "capacity", "name": ch.name, "links": len(links),
                    "factor": ch.factor, "start": ch.start, "end": ch.end})
    weather = scenario.weather
    base = weather.factors_at(weather.condition)
    _Weather(engine, base.speed, base.capacity).apply(engine.now)
    for w in sorted(weather.windows, key=lambda w: w.start):
        f = weather.factors_at(w.condition)
        engine.at(w.start, _Weather(engine, f.speed, f.capacity).apply)
        engine.at(w.end, _Weather(engine, base.speed, base.capacity).apply)
        log.append({"control": "weather", "condition": w.condition, "start": w.start,
                    "end": w.end})
    traffic = scenario.traffic
    if traffic.signal_plans:
        plans = _SignalPlans(engine, traffic.signal_plans,
                             SignalPlan(traffic.signal_cycle_s, traffic.signal_green_ratio))
        plans.apply(engine.now)
        for t in plans.switches(engine.now, engine.end_s):
            engine.at(t, plans.apply)
        for p in traffic.signal_plans:
            log.append({"control": "signal_plan", "start": p.start, "end": p.end,
                        "cycle_s": p.cycle_s, "green_ratio": p.green_ratio,
                        "flashing": p.flashing})
    for i, m in enumerate(scenario.motorcades):
        log.append(add_motorcade(engine, m, f"motorcades[{i}] ({m.name})"))
    return log


MOTORCADE_STRETCH_S = 60.0


def add_motorcade(engine, m, where: str, listener=None) -> dict:
    """The convoy as one priority vehicle on a fixed route; each stretch of it closes `lead_s`
    before the convoy is due and reopens `trail_s` after it has left (free-flow schedule)."""
    net = engine.net
    links = path_links(net, m.route, where)
    fft = engine.net_free_flow("motorcade")
    t = m.depart
    # Police close the route a stretch at a time: consecutive links the convoy covers within
    # MOTORCADE_STRETCH_S close and reopen together (a few closure changes per trip instead of
    # two per link; each change makes the guidance forget its routes).
    stretch: list[int] = []
    t_first = t
    for i, lk in enumerate(links):
        if not stretch:
            t_first = t
        stretch.append(lk)
        t += fft[lk] / engine.weather_speed
        if t - t_first >= MOTORCADE_STRETCH_S or i == len(links) - 1:
            w = _Window(engine, stretch, NON_PRIORITY)
            engine.at(max(engine.now, t_first - m.lead_s), w.close)
            engine.at(t + m.trail_s, w.reopen)
            stretch = []
    first = net.node_index[net.links[links[0]].from_node]
    last = net.node_index[net.links[links[-1]].to_node]
    engine.add_vehicle(m.depart, first, last, kind="motorcade", route=links,
                       label=(m.route[0], m.route[-1]), listener=listener)
    return {"control": "motorcade", "name": m.name, "links": len(links), "start": m.depart,
            "end": t, "lead_s": m.lead_s, "trail_s": m.trail_s}

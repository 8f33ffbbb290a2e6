"""The control-centre map: the model's current state drawn over the road network.

Everything fixed (projected road polylines, the polyline of every simulated link, stop and
station positions, the legend) is computed and drawn once when the view is built; a frame only
changes colours, line widths, marker offsets and texts of artists that already exist, so a frame
of the Leaders' day costs the PNG encoding and little else.

Shown per frame:
- roads coloured by how full they are now (vehicles on the link over what it holds, in PCE);
  closed roads dashed purple;
- shuttles, motorcade cars and responders placed along their link by time (entry time and the
  link's expected exit time at free flow with its junction delay), by type and status;
- delegates waiting at stops: circles sized by the queue;
- incidents with their state (waiting for a unit, unit on scene, cleared in the last 30 min);
- vehicles held off the road by a closure (or a truck ban), red circles sized by how many wait
  at a junction, with the count;
- the main places named (sim.map_places: HICO, the Bomun hotels, the KTX station and the
  scenario's other hubs, City Hall, the bus terminal, Bulguksa), drawn once;
- the clock (HH:MM) and the day.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from ..clock import day_of, format_clock, format_hhmm
from ..map_places import HALO, draw_main_places, main_places, scenario_names
from ..netmap import ROAD_STYLE, city_bounds, map_axes, map_projection

# Congestion classes: vehicles on the link over its storage (PCE), the worse direction shown.
FILL_BOUNDS = (0.05, 0.25, 0.5, 0.75, 0.9)
FILL_COLOURS = ("#c9c3b8", "#1a9850", "#a6d96a", "#fdae61", "#f46d43", "#a50026")
FILL_LABELS = ("under 5% full", "5-25%", "25-50%", "50-75%", "75-90%", "over 90% (jammed)")
CLOSED_COLOUR = "#7b3294"
HELD_COLOUR = "#e41a1c"  # vehicles held off the road by a closure
UNIT_STYLE = {  # responder type: marker, face colour
    "pumper": ("^", "#e31a1c"),
    "tanker": ("v", "#e31a1c"),
    "aerial_ladder": ("^", "#fb9a99"),
    "articulating_boom": ("^", "#fb9a99"),
    "rescue": ("s", "#ff7f00"),
    "hazmat": ("D", "#b15928"),
    "ambulance": ("P", "#ffffff"),
    "command": ("o", "#6a3d9a"),
}
UNIT_DEFAULT = ("o", "#e31a1c")
STATUS_EDGE = {  # responder status: marker edge colour
    "dispatched": "#ffd700",
    "en_route": "#d7301f",
    "on_scene": "#000000",
    "transporting": "#0570b0",
    "at_hospital": "#0570b0",
    "returning": "#7f7f7f",
}
INCIDENT_STYLE = {  # state: marker colour, size
    "unserved": ("#ff0000", 260),
    "on_scene": ("#ff8c00", 200),
    "cleared": ("#9e9e9e", 90),
}
INCIDENT_STATE = {"unserved": "waiting for a unit", "on_scene": "units on scene",
                  "cleared": "cleared"}
CLEARED_SHOWN_S = 1800.0  # a cleared incident stays on the map this long
SHUTTLE_KINDS = ("shuttle", "bus")
TRACKED_KINDS = (*SHUTTLE_KINDS, "motorcade", "emergency")


def _polyline_km(net, proj, link_ids) -> np.ndarray:
    parts = []
    for i in link_ids:
        pts = np.asarray(net.links[i].geometry)
        x, y = proj.to_xy(pts[:, 0], pts[:, 1])
        xy = np.column_stack([x, y]) / 1000.0
        parts.append(xy if not parts else xy[1:])
    return np.concatenate(parts)


class _Path:
    """A polyline with cumulative length, for placing a point at a fraction along it."""

    __slots__ = ("cum", "x", "y")

    def __init__(self, xy: np.ndarray):
        d = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
        self.cum = np.concatenate([[0.0], np.cumsum(d)])
        self.x, self.y = xy[:, 0], xy[:, 1]

    def at(self, frac: float) -> tuple[float, float]:
        s = frac * self.cum[-1]
        return float(np.interp(s, self.cum, self.x)), float(np.interp(s, self.cum, self.y))


class MapView:
    """The map of one model; `frame()` redraws it for the model's current time."""

    def __init__(self, model, *, width_in: float = 12.0, dpi: int = 90, bounds=None):
        self.model = model
        engine = model.engine
        net = self.net = model.network
        self.proj = proj = map_projection(net)
        self.dpi = dpi
        g = engine.graph
        # one drawn segment per road (both directions together): its network link ids
        pairs: dict[frozenset, list[int]] = {}
        for lk in net.links:
            pairs.setdefault(frozenset((lk.from_node, lk.to_node)), []).append(lk.id)
        self.pair_links = list(pairs.values())
        segs = [_polyline_km(net, proj, [ids[0]]) for ids in self.pair_links]
        # index arrays: the sim link of each direction of each segment (-1: one-way)
        of = g.of_link
        self.pair_a = np.array([of[ids[0]] for ids in self.pair_links], dtype=np.int64)
        self.pair_b = np.array([of[ids[1]] if len(ids) > 1 else -1 for ids in self.pair_links],
                               dtype=np.int64)
        self.net_a = np.array([ids[0] for ids in self.pair_links], dtype=np.int64)
        self.net_b = np.array([ids[1] if len(ids) > 1 else ids[0] for ids in self.pair_links],
                              dtype=np.int64)
        widths = np.array([ROAD_STYLE[net.links[ids[0]].road_class][1] + 0.5
                           for ids in self.pair_links])
        self.base_widths = widths
        self.fill_rgba = np.array([to_rgba(c) for c in FILL_COLOURS])
        self.storage = np.maximum(np.asarray(engine.storage, dtype=float), 1e-9)
        self.car_class = engine.class_index["car"]
        # every sim link as a path, built when first needed (vehicles use few of them)
        self._paths: dict[int, _Path] = {}
        self._members = g.members
        self.node_xy = np.column_stack(proj.to_xy(np.array([n.lat for n in net.nodes]),
                                                  np.array([n.lon for n in net.nodes]))) / 1000.0
        self._cursor = 0  # engine vehicles scanned for tracked kinds
        self._tracked: list[int] = []
        self._tracked_set = set(TRACKED_KINDS)

        b = bounds or city_bounds(net, proj)
        # the map takes 72% of the width; the height follows the frame's aspect
        height_in = max(6.0, 0.72 * width_in * (b[3] - b[2]) / (b[1] - b[0]) / 0.93)
        fig = self.figure = Figure(figsize=(width_in, height_in), dpi=dpi)
        fig.patch.set_facecolor("white")
        ax = self.ax = map_axes(fig, (0.01, 0.01, 0.72, 0.93), net, proj, b)
        order = np.argsort(widths)
        self.order = order
        self.roads = LineCollection([segs[i] for i in order], linewidths=widths[order],
                                    colors=FILL_COLOURS[0], zorder=3, capstyle="round")
        ax.add_collection(self.roads)
        self.closed = LineCollection([segs[i] for i in order], linewidths=0.0,
                                     colors=CLOSED_COLOUR, linestyles=(0, (2, 1.5)), zorder=4)
        ax.add_collection(self.closed)
        empty = np.zeros((0, 2))
        self.stops = ax.scatter(empty[:, 0], empty[:, 1], s=[], c="#2b83ba", alpha=0.55,
                                edgecolors="#08306b", linewidths=0.8, zorder=6)
        self.stop_labels = [ax.text(0, 0, "", fontsize=7.5, ha="center", va="center",
                                    color="#08306b", fontweight="bold", zorder=7, visible=False)
                            for _ in range(8)]
        self.shuttles = ax.scatter(empty[:, 0], empty[:, 1], s=26, marker="s", zorder=8,
                                   linewidths=0.5, edgecolors="#222222")
        self.motorcades = ax.scatter(empty[:, 0], empty[:, 1], s=60, marker="*", c="#111111",
                                     zorder=9)
        self.units: dict[str, object] = {}
        for utype, (marker, colour) in UNIT_STYLE.items():
            self.units[utype] = ax.scatter(empty[:, 0], empty[:, 1], s=70, marker=marker,
                                           c=colour, linewidths=1.6, zorder=10)
        self.incidents = ax.scatter(empty[:, 0], empty[:, 1], s=[], marker="*", zorder=11,
                                    edgecolors="#000000", linewidths=0.8)
        self.incident_labels = [ax.text(0, 0, "", fontsize=7.5, zorder=12, visible=False,
                                        bbox=dict(boxstyle="round,pad=0.15", fc="white",
                                                  ec="none", alpha=0.8))
                                for _ in range(6)]
        self.held = ax.scatter(empty[:, 0], empty[:, 1], s=[], c=HELD_COLOUR, alpha=0.85,
                               edgecolors="#67000d", linewidths=0.9, zorder=9)
        self.held_labels = [ax.text(0, 0, "", fontsize=7.5, ha="left", va="bottom",
                                    color="#67000d", fontweight="bold", zorder=9,
                                    visible=False) for _ in range(6)]
        self.clock = ax.text(0.015, 0.975, "", transform=ax.transAxes, fontsize=22,
                             fontweight="bold", va="top", ha="left", zorder=20,
                             family="monospace",
                             bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="#333333"))
        self.day = ax.text(0.16, 0.935, day_of(model.time, model.spec.date),
                           transform=ax.transAxes, fontsize=11, va="center", ha="left",
                           zorder=20, path_effects=HALO)
        self.status = ax.text(0.015, 0.885, "", transform=ax.transAxes, fontsize=9,
                              va="top", ha="left", zorder=20,
                              bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="none",
                                        alpha=0.85))
        ax.add_artist(AnchoredSizeBar(ax.transData, 2, "2 km", "lower left", pad=0.5,
                                      frameon=True, size_vertical=0.05,
                                      fontproperties={"size": 8}))
        fig.text(0.01, 0.985, model.spec.name, fontsize=12, fontweight="bold", va="top")
        venues, hubs = scenario_names(model.spec)
        self.places = main_places(net, venues, hubs)
        # labels clear of the clock and the summary (top left) and the scale bar
        self.labels = draw_main_places(ax, proj, self.places, fontsize=8,
                         keep_clear=[(0.0, 0.74, 0.40, 1.0), (0.0, 0.0, 0.13, 0.07)])
        self._legend(fig)
        self._stop_nodes, self._stop_xy = self._stops()

    # ---- fixed parts ------------------------------------------------------------------------
    def _legend(self, fig) -> None:
        roads = [Line2D([], [], color=c, lw=3, label=lab)
                 for c, lab in zip(FILL_COLOURS, FILL_LABELS, strict=True)]
        roads.append(Line2D([], [], color=CLOSED_COLOUR, lw=2, ls=(0, (2, 1.5)),
                            label="closed (security, motorcade)"))
        fig.legend(handles=roads, loc="upper left", bbox_to_anchor=(0.745, 0.95), fontsize=8,
                   title="Road: vehicles on it / room", title_fontsize=8.5, frameon=False)
        moving = [
            Line2D([], [], marker="s", ls="", mfc="#ffffff", mec="#222222", ms=6,
                   label="shuttle, empty"),
            Line2D([], [], marker="s", ls="", mfc="#fdae61", mec="#222222", ms=6,
                   label="shuttle, half full"),
            Line2D([], [], marker="s", ls="", mfc="#b2182b", mec="#222222", ms=6,
                   label="shuttle, full"),
            Line2D([], [], marker="*", ls="", mfc="#111111", mec="#111111", ms=9,
                   label="motorcade car"),
            Line2D([], [], marker="o", ls="", mfc="#2b83ba", mec="#08306b", alpha=0.6, ms=10,
                   label="people waiting at a stop"),
            Line2D([], [], marker="o", ls="", mfc=HELD_COLOUR, mec="#67000d", alpha=0.85,
                   ms=8, label="vehicles held by a closure\n(size: how many; count if 5+)"),
        ]
        fig.legend(handles=moving, loc="upper left", bbox_to_anchor=(0.745, 0.68), fontsize=8,
                   title="Shuttles, stops, held traffic", title_fontsize=8.5, frameon=False)
        if self.model.emergency is None:
            return  # no responders or incidents to explain
        units = [Line2D([], [], marker=m, ls="", mfc=c, mec="#555555", ms=7,
                        label=t.replace("_", " ")) for t, (m, c) in UNIT_STYLE.items()]
        units += [Line2D([], [], marker="o", ls="", mfc="none", mec=c, mew=2, ms=7,
                         label=f"ring: {s.replace('_', ' ')}")
                  for s, c in STATUS_EDGE.items() if s != "at_hospital"]
        fig.legend(handles=units, loc="upper left", bbox_to_anchor=(0.745, 0.45), fontsize=7.5,
                   title="Busy responders: type, ring: status", title_fontsize=8.5,
                   frameon=False, ncols=2, columnspacing=0.5, handletextpad=0.2)
        incidents = [Line2D([], [], marker="*", ls="", mfc=c, mec="#000000", ms=11,
                            label=INCIDENT_STATE[s]) for s, (c, _) in INCIDENT_STYLE.items()]
        fig.legend(handles=incidents, loc="upper left", bbox_to_anchor=(0.745, 0.2),
                   fontsize=8, title="Incidents", title_fontsize=8.5, frameon=False)

    def _stops(self):
        summit = self.model.summit
        if summit is None:
            return [], np.zeros((0, 2))
        nodes = sorted({s for ln in summit.lines for s in ln.queues})
        idx = [self.net.node_index[s] for s in nodes]
        return nodes, self.node_xy[idx] if idx else np.zeros((0, 2))

    def _path(self, sim_link: int) -> _Path:
        p = self._paths.get(sim_link)
        if p is None:
            p = self._paths[sim_link] = _Path(
                _polyline_km(self.net, self.proj, self._members[sim_link]))
        return p

    # ---- state ------------------------------------------------------------------------------
    def road_fill(self) -> np.ndarray:
        """Per drawn road: the fuller direction's vehicles over storage (PCE)."""
        fill = np.asarray(self.model.engine.occ, dtype=float) / self.storage
        a = fill[self.pair_a]
        b = np.where(self.pair_b >= 0, fill[np.maximum(self.pair_b, 0)], 0.0)
        return np.maximum(a, b)

    def road_closed(self) -> np.ndarray:
        """Per drawn road: closed to cars in either direction now."""
        closed = self.model.engine.net_closed[self.car_class]
        return (closed[self.net_a] > 0) | (closed[self.net_b] > 0)

    def _position(self, veh: int, now: float) -> tuple[float, float] | None:
        """Where an engine vehicle is now: along its link by time, or None if not on a link."""
        e = self.model.engine
        if e.v_state[veh] != 2:  # ON_LINK
            return None
        lk = e.v_link[veh]
        if lk < 0:
            return None
        t0 = e.v_entry[veh]
        span = e.exit_base[e.v_cls[veh]][lk]
        frac = 1.0 if span <= 0 else min(1.0, max(0.0, (now - t0) / span))
        return self._path(lk).at(0.98 * frac + 0.01)

    def _scan_vehicles(self) -> None:
        kinds = self.model.engine.v_kind
        n = len(kinds)
        tracked = self._tracked_set
        self._tracked.extend(v for v in range(self._cursor, n) if kinds[v] in tracked)
        self._cursor = n

    def vehicles(self, now: float) -> dict[str, list]:
        """Tracked vehicles on the road now: shuttles (x, y, load share), motorcade (x, y)."""
        e = self.model.engine
        self._scan_vehicles()
        shuttles, motorcades = [], []
        keep = []
        for v in self._tracked:
            st = e.v_state[v]
            if st == 3:  # ARRIVED: never on the map again
                continue
            keep.append(v)
            kind = e.v_kind[v]
            if kind == "emergency":
                continue  # drawn with its unit
            xy = self._position(v, now)
            if xy is None:
                continue
            if kind == "motorcade":
                motorcades.append(xy)
            else:
                bus = e.v_listener[v]
                riders = getattr(bus, "riders", None)
                seats = getattr(getattr(getattr(bus, "line", None), "spec", None), "seats", 0)
                share = len(riders) / seats if riders is not None and seats else 0.0
                shuttles.append((*xy, share))
        self._tracked = keep
        return {"shuttles": shuttles, "motorcades": motorcades}

    def unit_positions(self, now: float) -> dict[str, list]:
        """Busy responders by type: (x, y, status)."""
        layer = self.model.emergency
        out: dict[str, list] = {}
        if layer is None:
            return out
        for u in layer.units:
            if u.status in ("available", "off_duty"):
                continue
            xy = None
            if u.vehicle is not None:
                xy = self._position(u.vehicle, now)
            if xy is None:
                xy = tuple(self.node_xy[u.node_idx])
            out.setdefault(u.unit_type, []).append((*xy, u.status))
        return out

    def incident_marks(self, now: float) -> list[tuple]:
        layer = self.model.emergency
        if layer is None:
            return []
        out = []
        for inc in layer.incidents:
            if inc.call_s > now:
                continue
            if inc.clear_s is not None and inc.clear_s <= now:
                if now - inc.clear_s > CLEARED_SHOWN_S:
                    continue
                state = "cleared"
            elif inc.first_arrival_s is not None and inc.first_arrival_s <= now:
                state = "on_scene"
            else:
                state = "unserved"
            x, y = self.node_xy[inc.node_idx]
            out.append((x, y, state, inc.name or inc.type.replace("_", " ")))
        return out

    def held_vehicles(self) -> tuple[np.ndarray, np.ndarray]:
        """Junctions where vehicles wait off the road for a closure to end: their (x, y) in
        km and how many wait at each, most first."""
        _, nodes = self.model.engine.held_by_closures()
        if not len(nodes):
            return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
        at, count = np.unique(nodes, return_counts=True)
        order = np.argsort(-count, kind="stable")
        return self.node_xy[at[order]], count[order]

    def stop_queues(self) -> np.ndarray:
        summit = self.model.summit
        counts = dict.fromkeys(self._stop_nodes, 0)
        if summit is not None:
            for ln in summit.lines:
                for stop, q in ln.queues.items():
                    counts[stop] += len(q.waiting)
        return np.array([counts[s] for s in self._stop_nodes], dtype=float)

    # ---- drawing ----------------------------------------------------------------------------
    def update(self) -> None:
        """Bring every artist to the model's current time."""
        now = float(self.model.time)
        fill = self.road_fill()[self.order]
        cls = np.searchsorted(FILL_BOUNDS, fill, side="right")
        self.roads.set_colors(self.fill_rgba[cls])
        self.roads.set_linewidths(self.base_widths[self.order] * np.where(cls >= 3, 1.6, 1.0))
        closed = self.road_closed()[self.order]
        self.closed.set_linewidths(np.where(closed, 2.2, 0.0))

        q = self.stop_queues()
        shown = q > 0
        self.stops.set_offsets(self._stop_xy[shown] if shown.any() else np.zeros((0, 2)))
        # circle area in proportion to the queue (capped at 600 people)
        self.stops.set_sizes(np.clip(8 + 3 * q[shown], 8, 1808))
        biggest = np.argsort(-q)[: len(self.stop_labels)]
        for lab, i in zip(self.stop_labels, biggest, strict=False):
            if q[i] >= 20:
                lab.set_position(self._stop_xy[i])
                lab.set_text(f"{int(q[i])}")
                lab.set_visible(True)
            else:
                lab.set_visible(False)

        veh = self.vehicles(now)
        sh = veh["shuttles"]
        if sh:
            arr = np.asarray(sh)
            self.shuttles.set_offsets(arr[:, :2])
            self.shuttles.set_facecolors(_load_colours(arr[:, 2]))
        else:
            self.shuttles.set_offsets(np.zeros((0, 2)))
        mc = veh["motorcades"]
        self.motorcades.set_offsets(np.asarray(mc) if mc else np.zeros((0, 2)))

        units = self.unit_positions(now)
        busy = 0
        for utype, art in self.units.items():
            pts = units.pop(utype, [])
            busy += len(pts)
            self._set_units(art, pts)
        if units:  # a type without a style of its own
            extra = [p for pts in units.values() for p in pts]
            busy += len(extra)
            self._set_units(self.units["command"], extra)

        marks = self.incident_marks(now)
        if marks:
            self.incidents.set_offsets(np.array([(m[0], m[1]) for m in marks]))
            self.incidents.set_facecolors([INCIDENT_STYLE[m[2]][0] for m in marks])
            self.incidents.set_sizes([INCIDENT_STYLE[m[2]][1] for m in marks])
        else:
            self.incidents.set_offsets(np.zeros((0, 2)))
        active = [m for m in marks if m[2] != "cleared"]
        for lab, m in zip(self.incident_labels, active + [None] * len(self.incident_labels),
                          strict=False):
            if m is None:
                lab.set_visible(False)
                continue
            lab.set_position((m[0] + 0.25, m[1] + 0.2))
            lab.set_text(f"{m[3]}: {INCIDENT_STATE[m[2]]}")
            lab.set_visible(True)

        held_xy, held_n = self.held_vehicles()
        self.held.set_offsets(held_xy)
        # circle area in proportion to the vehicles waiting (capped at 200)
        self.held.set_sizes(np.clip(10 + 4 * held_n, 10, 810))
        for i, lab in enumerate(self.held_labels):
            if i < len(held_n) and held_n[i] >= 5:
                lab.set_position((held_xy[i, 0] + 0.12, held_xy[i, 1] + 0.08))
                lab.set_text(f"{held_n[i]}")
                lab.set_visible(True)
            else:
                lab.set_visible(False)

        self.clock.set_text(format_hhmm(now))
        self.day.set_text(day_of(now, self.model.spec.date))
        e = self.model.engine
        lines = [f"{e.in_network:,} vehicles on the road",
                 f"{len(sh):,} shuttles moving, {int(q.sum()):,} people at stops"]
        if len(held_n):
            lines.append(f"{int(held_n.sum()):,} vehicles held by closures")
        if self.model.emergency is not None:
            lines.append(f"responders busy: {busy}, open incidents: {len(active)}")
        if closed.any():
            lines.append(f"{int(closed.sum())} road segments closed")
        self.status.set_text("\n".join(lines))

    @staticmethod
    def _set_units(art, pts) -> None:
        if not pts:
            art.set_offsets(np.zeros((0, 2)))
            return
        art.set_offsets(np.array([(p[0], p[1]) for p in pts]))
        art.set_edgecolors([STATUS_EDGE.get(p[2], "#333333") for p in pts])

    def frame(self) -> Figure:
        """The figure at the model's current time."""
        self.update()
        return self.figure

    def png(self) -> bytes:
        """The current frame as PNG bytes."""
        self.update()
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=self.dpi, facecolor="white")
        return buf.getvalue()


def _load_colours(share: np.ndarray) -> np.ndarray:
    """White (empty) through orange to dark red (full) for a shuttle's riders over seats."""
    stops = np.array([to_rgba("#ffffff"), to_rgba("#fdae61"), to_rgba("#b2182b")])
    s = np.clip(share, 0.0, 1.0) * 2
    i = np.minimum(s.astype(int), 1)
    f = (s - i)[:, None]
    return stops[i] * (1 - f) + stops[i + 1] * f


def frame_seconds(model, repeats: int = 5) -> float:
    """Median wall seconds of one map frame (update and PNG) of `model` as it stands."""
    import time

    view = MapView(model)
    view.png()  # the first draw lays out the text and legend
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        view.png()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]



def main(argv: list[str] | None = None) -> int:
    """`python -m sim.viz.mapview [SCENARIO] [--at HH:MM]`: time a frame of the map."""
    import argparse

    from .live import LiveModel

    p = argparse.ArgumentParser(prog="python -m sim.viz.mapview",
                                description="median wall time of one frame of the live map")
    p.add_argument("scenario", nargs="?", default="leaders_day")
    p.add_argument("--at", default="08:30", metavar="HH:MM", help="time of day to draw")
    p.add_argument("--emergency", action="store_true", help="switch the emergency layer on")
    args = p.parse_args(argv)
    model = LiveModel(args.scenario, start_at=args.at, emergency=args.emergency)
    secs = frame_seconds(model)
    print(f"{model.spec.name} at {format_clock(model.time)}: {model.engine.in_network:,} "
          f"vehicles on the road; one map frame (update and PNG) {1000 * secs:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The network map a planner sees first: the city and Bomun by road class, the region with its
towns and airports, a Bomun Lake inset, water, places, legend and scale bars."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from . import __version__
from .atomic import atomic_file
from .errors import InputError
from .geo import LocalProjection
from .network import RoadNetwork
from .ownership import STAMP

# (colour, width, z-order) per class, minor first so major roads sit on top.
ROAD_STYLE = {
    "local": ("#bdb6a8", 0.7, 2),
    "collector": ("#8f8677", 1.0, 3),
    "arterial": ("#e3a21a", 1.9, 4),
    "ramp": ("#c8553d", 1.1, 5),
    "national": ("#e0622a", 2.3, 5),
    "expressway": ("#a50f15", 3.0, 6),
}
PLACE_STYLE = {  # marker, colour, size, legend label (None: shares the previous entry)
    "venue": ("*", "#c51b7d", 170, "venue"),
    "hotel": ("s", "#6a3d9a", 34, "hotel"),
    "station": ("D", "#111111", 60, "KTX station / bus terminal / airport"),
    "bus_terminal": ("D", "#111111", 45, None),
    "airport": ("D", "#111111", 60, None),
    "hospital": ("P", "#1a9850", 110, "hospital with ER"),
    "fire_station": ("^", "#e31a1c", 110, "fire station / 119 centre / local unit"),
    "safety_centre": ("^", "#e31a1c", 70, None),
    "local_unit": ("^", "#e31a1c", 50, None),
    "car_park": ("p", "#1f78b4", 60, "car park / shuttle depot"),
    "depot": ("p", "#1f78b4", 50, None),
    "helipad": ("X", "#ff7f00", 60, "helipad"),
    "landmark": ("o", "#5a4a3a", 34, "landmark"),
    "interchange": ("o", "#a50f15", 30, "expressway interchange"),
}
CITY_LABELS = {"venue", "station", "bus_terminal", "hospital", "fire_station", "safety_centre",
               "local_unit", "landmark", "interchange"}
BOMUN_LABELS = {"venue", "hotel", "car_park", "helipad", "safety_centre", "depot"}
WATER, WATER_EDGE, LAND = "#a6cee3", "#74a9cf", "#f5f2eb"
CITY_RADIUS_M = 14_000  # places this close to the centre frame the city panel


class _Labeller:
    """Greedy label placement: try offsets around a point, keep the first that overlaps no
    label already placed (boxes estimated in display points)."""

    OFFSETS: tuple[tuple[int, int], ...] = (
        (5, 4), (5, -11), (-6, 4), (-6, -11), (8, -3), (-9, -3), (5, 12), (-6, 12), (5, -20),
        (-6, -20))

    def __init__(self, ax, fontsize: float):
        self.ax, self.fontsize, self.boxes = ax, fontsize, []

    def _points(self, x: float, y: float):
        return self.ax.transData.transform((x, y)) * 72 / self.ax.figure.dpi

    def block(self, x: float, y: float, radius: float) -> None:
        """Keep labels off a marker."""
        px, py = self._points(x, y)
        self.boxes.append((px - radius, py - radius, px + radius, py + radius))

    def add(self, x: float, y: float, text: str) -> None:
        px, py = self._points(x, y)
        w = 0.6 * self.fontsize * max(len(s) for s in text.split("\n"))
        h = 1.25 * self.fontsize * (text.count("\n") + 1)
        frame = self.ax.get_window_extent().extents * 72 / self.ax.figure.dpi
        inside = []
        for dx, dy in self.OFFSETS:
            left = px + dx if dx > 0 else px + dx - w
            box = (left, py + dy, left + w, py + dy + h)
            if (box[0] >= frame[0] and box[2] <= frame[2] and box[1] >= frame[1]
                    and box[3] <= frame[3]):
                inside.append((dx, dy, box))
        free = [c for c in inside if not any(_overlap(c[2], b) for b in self.boxes)]
        dx, dy, box = (free or inside or [(*self.OFFSETS[0], (px, py, px + w, py + h))])[0]
        self.boxes.append(box)
        self.ax.annotate(
            text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=self.fontsize,
            ha="left" if dx > 0 else "right", va="bottom", zorder=12, color="#1a1a1a",
            bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none", alpha=0.78),
            annotation_clip=True)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _road_lines(net: RoadNetwork, proj: LocalProjection) -> dict[str, list[np.ndarray]]:
    """Polylines in km per class; a two-way road is drawn once."""
    by_class: dict[str, list[np.ndarray]] = {c: [] for c in ROAD_STYLE}
    seen = set()
    for lk in net.links:
        key = frozenset((lk.from_node, lk.to_node))
        if key in seen:
            continue
        seen.add(key)
        pts = np.asarray(lk.geometry)
        x, y = proj.to_xy(pts[:, 0], pts[:, 1])
        by_class[lk.road_class].append(np.column_stack([x, y]) / 1000)
    return by_class


def road_km(net: RoadNetwork) -> float:
    """Kilometres of road (a two-way road counted once)."""
    seen, km = set(), 0.0
    for lk in net.links:
        key = frozenset((lk.from_node, lk.to_node))
        if key not in seen:
            seen.add(key)
            km += lk.length_m / 1000
    return km


def _km(proj, lat, lon):
    x, y = proj.to_xy(lat, lon)
    return x / 1000, y / 1000


def map_projection(net: RoadNetwork) -> LocalProjection:
    """Metric projection centred on City Hall (or the median node)."""
    lat = np.array([n.lat for n in net.nodes])
    lon = np.array([n.lon for n in net.nodes])
    return LocalProjection(*_centre(net, lat, lon))


def draw_water(ax, net, proj, *, scale: float = 1.0) -> None:
    """Rivers, lakes and coast from the network's map features."""
    for feat in net.features:
        pts = np.asarray(feat["coords"])
        x, y = _km(proj, pts[:, 0], pts[:, 1])
        if feat["kind"] == "lake":
            ax.add_patch(Polygon(np.column_stack([x, y]), closed=True, fc=WATER, ec=WATER_EDGE,
                                 lw=0.6, zorder=1))
        else:
            ax.plot(x, y, color=WATER, lw=(4.0 if feat["kind"] == "river" else 2.0) * scale,
                    solid_capstyle="round", zorder=1)


def map_axes(fig, rect, net, proj, bounds, *, scale: float = 0.8):
    """An axes on `fig` framed on `bounds` (projected x0, x1, y0, y1): land, water, no ticks -
    the ground a live or animated map draws its roads and vehicles on."""
    ax = fig.add_axes(rect)
    ax.set_facecolor(LAND)
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    draw_water(ax, net, proj, scale=scale)
    return ax


def _draw_base(ax, net, proj, lines, *, scale: float = 1.0, classes=None):
    ax.set_facecolor(LAND)
    draw_water(ax, net, proj, scale=scale)
    for cls, segs in lines.items():
        if segs and (classes is None or cls in classes):
            colour, width, z = ROAD_STYLE[cls]
            ax.add_collection(LineCollection(segs, colors=colour, linewidths=width * scale,
                                             zorder=z, capstyle="round"))


def _draw_places(ax, net, proj, bounds, *, label_kinds, fontsize, name_fn=lambda p: p.name,
                 size_scale=1.0, no_labels_in=None):
    """Markers for every place inside `bounds`; labels for `label_kinds`, placed greedily
    (most important kinds first) and never inside `no_labels_in`."""
    labeller = _Labeller(ax, fontsize)
    xmin, xmax, ymin, ymax = bounds
    order = sorted(net.places, key=lambda p: list(PLACE_STYLE).index(p.kind))
    shown = []
    for p in order:
        x, y = _km(proj, p.lat, p.lon)
        if not (xmin <= x <= xmax and ymin <= y <= ymax):
            continue
        marker, colour, size, _ = PLACE_STYLE[p.kind]
        ax.scatter([x], [y], marker=marker, s=size * size_scale,
                   c="white" if p.approx else colour, edgecolors=colour, linewidths=1.3,
                   zorder=10)
        labeller.block(x, y, 0.5 * np.sqrt(size * size_scale))
        shown.append((p, x, y))
    for p, x, y in shown:
        if p.kind not in label_kinds:
            continue
        if no_labels_in and (no_labels_in[0] <= x <= no_labels_in[1]
                             and no_labels_in[2] <= y <= no_labels_in[3]):
            continue
        labeller.add(x, y, name_fn(p))


def _frame(ax, bounds, *, ticks: bool):
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    ax.set_aspect("equal", adjustable="box")
    ax.apply_aspect()  # fix the axes box now: label placement needs the final transform
    if not ticks:
        ax.set_xticks([])
        ax.set_yticks([])


def draw_network_map(net: RoadNetwork, out: str | Path, *, dpi: int = 150) -> Path:
    """Draw the network to a PNG (written atomically)."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise InputError(f"--out {str(out)!r}: the map is written as PNG; use a .png file name")
    lat = np.array([n.lat for n in net.nodes])
    lon = np.array([n.lon for n in net.nodes])
    proj = map_projection(net)
    lines = _road_lines(net, proj)

    fig = Figure(figsize=(19, 12.5))  # no pyplot: no global state, no GUI backend
    fig.patch.set_facecolor("white")
    fig.suptitle(f"{net.name or 'Road network'}: {road_km(net):,.0f} km of road, "
                 f"{net.n_nodes} nodes, {net.n_links} directed links, {len(net.places)} places",
                 x=0.02, y=0.985, ha="left", fontsize=15, fontweight="bold")

    # City panel: framed by the places near the centre (city, Bomun, KTX, Bulguksa).
    ax = fig.add_axes((0.035, 0.20, 0.585, 0.74))
    ax.set_anchor("N")
    city = city_bounds(net, proj)
    _frame(ax, city, ticks=True)
    _draw_base(ax, net, proj, lines)
    # Bomun Lake gets its own inset around HICO; the city panel leaves its labels to it.
    hico = next((p for p in net.places if p.name.casefold() == "hico"), None)
    bomun = None
    if hico is not None:
        hx, hy = _km(proj, hico.lat, hico.lon)
        bomun = (hx - 2.9, hx + 2.3, hy - 1.9, hy + 2.3)
    _draw_places(ax, net, proj, city, label_kinds=CITY_LABELS, fontsize=7.5,
                 no_labels_in=bomun)
    ax.set_xlabel("km east of Gyeongju City Hall")
    ax.set_ylabel("km north of Gyeongju City Hall")
    ax.set_title("Gyeongju city, Bomun and the KTX station", loc="left", fontsize=12)
    ax.add_artist(AnchoredSizeBar(ax.transData, 2, "2 km", "lower left", pad=0.6, frameon=True,
                                  size_vertical=0.06, fontproperties={"size": 9}))
    ax.annotate("N", xy=(0.975, 0.965), xytext=(0.975, 0.905), xycoords="axes fraction",
                ha="center", fontsize=12, fontweight="bold",
                arrowprops=dict(arrowstyle="-|>", color="black", lw=1.5))

    # Region panel: everything, with towns (by their 119 units) and airports.
    axr = fig.add_axes((0.645, 0.52, 0.345, 0.42))
    region = _bounds_of(proj, lat, lon, pad=4)
    _frame(axr, region, ticks=False)
    _draw_base(axr, net, proj, lines, scale=0.55,
               classes={"expressway", "national", "arterial", "collector", "ramp"})
    _draw_places(axr, net, proj, region, fontsize=7, size_scale=0.5,
                 label_kinds={"airport", "safety_centre", "local_unit", "hospital"},
                 name_fn=_short_name, no_labels_in=city)
    axr.add_patch(Rectangle((city[0], city[2]), city[1] - city[0], city[3] - city[2],
                            fill=False, ec="#333333", lw=1, ls="--", zorder=11))
    axr.set_title("Region: towns, expressways and airports", fontsize=11)
    axr.add_artist(AnchoredSizeBar(axr.transData, 20, "20 km", "lower right", pad=0.4,
                                   frameon=True, size_vertical=0.3, fontproperties={"size": 8}))

    if bomun is not None:
        axb = fig.add_axes((0.645, 0.03, 0.345, 0.44))
        _frame(axb, bomun, ticks=False)
        _draw_base(axb, net, proj, lines, scale=1.3)
        _draw_places(axb, net, proj, bomun, label_kinds=BOMUN_LABELS, fontsize=7.5,
                     size_scale=1.2)
        axb.set_title("Bomun Lake tourist complex (summit venues and hotels)", fontsize=11)
        axb.add_artist(AnchoredSizeBar(axb.transData, 0.5, "500 m", "lower right", pad=0.4,
                                       frameon=True, size_vertical=0.015,
                                       fontproperties={"size": 8}))
        ax.add_patch(Rectangle((bomun[0], bomun[2]), bomun[1] - bomun[0], bomun[3] - bomun[2],
                               fill=False, ec="#333333", lw=1, ls="--", zorder=11))

    handles = [Line2D([], [], color=c, lw=w + 0.6, label=cls)
               for cls, (c, w, _) in reversed(ROAD_STYLE.items())]
    handles.append(Line2D([], [], color=WATER, lw=5, label="river, lake, coast (approx.)"))
    handles += [Line2D([], [], marker=m, ls="", mfc=c, mec=c, markersize=9 if s > 60 else 7,
                       label=lab) for (m, c, s, lab) in PLACE_STYLE.values() if lab]
    handles.append(Line2D([], [], marker="s", ls="", mfc="white", mec="#555555", markersize=7,
                          label="hollow marker: position approximate"))
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.035, 0.01), ncols=4,
               fontsize=8.5, title="Road class and places", title_fontsize=9.5, frameon=True)
    with atomic_file(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", facecolor="white",
                    metadata={"Software": f"{STAMP.decode()} {__version__} (matplotlib)"})
    return out


def _short_name(p) -> str:
    for suffix in (" 119 Safety Centre", " 119 Local Unit", " International Airport",
                   " Airport"):
        if p.name.endswith(suffix):
            return p.name[: -len(suffix)] + (" airport" if "Airport" in suffix else "")
    return p.name


def _centre(net: RoadNetwork, lat, lon) -> tuple[float, float]:
    """City hall when the network has one, else the median node (robust to far airports)."""
    for p in net.places:
        if "city hall" in p.name.casefold():
            return p.lat, p.lon
    return float(np.median(lat)), float(np.median(lon))


def _bounds_of(proj, lat, lon, pad: float):
    x, y = _km(proj, np.asarray(lat), np.asarray(lon))
    return (float(x.min()) - pad, float(x.max()) + pad, float(y.min()) - pad,
            float(y.max()) + pad)


def city_bounds(net, proj):
    """The city panel's frame: the places within CITY_RADIUS_M of the centre, padded."""
    near = [p for p in net.places
            if np.hypot(*_km(proj, p.lat, p.lon)) <= CITY_RADIUS_M / 1000]
    if not near:
        lat = np.array([n.lat for n in net.nodes])
        lon = np.array([n.lon for n in net.nodes])
        return _bounds_of(proj, lat, lon, pad=0.5)
    return _bounds_of(proj, [p.lat for p in near], [p.lon for p in near], pad=1.5)

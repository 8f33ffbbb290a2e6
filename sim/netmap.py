"""The network map a planner sees first: roads by class, water, places, Bomun inset, scale bar."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from .atomic import atomic_file
from .errors import InputError
from .geo import LocalProjection, haversine_m
from .network import RoadNetwork

# (colour, width, z-order) per class, drawn minor first so major roads sit on top.
ROAD_STYLE = {
    "local": ("#b9b4aa", 0.6, 2),
    "collector": ("#8d8577", 0.9, 3),
    "arterial": ("#e0a030", 1.6, 4),
    "ramp": ("#c8553d", 1.0, 5),
    "national": ("#d9662b", 2.0, 5),
    "expressway": ("#b2182b", 2.6, 6),
}
PLACE_STYLE = {  # marker, colour, size, legend label
    "venue": ("*", "#c51b7d", 150, "venue"),
    "hotel": ("s", "#6a3d9a", 30, "hotel"),
    "station": ("D", "#111111", 60, "station / terminal / airport"),
    "bus_terminal": ("D", "#111111", 45, None),
    "airport": ("D", "#111111", 60, None),
    "car_park": ("p", "#1f78b4", 50, "car park / depot"),
    "depot": ("p", "#1f78b4", 40, None),
    "hospital": ("P", "#1a9850", 90, "hospital (ER)"),
    "fire_station": ("^", "#e31a1c", 80, "fire station / 119 centre / local unit"),
    "safety_centre": ("^", "#e31a1c", 60, None),
    "local_unit": ("^", "#e31a1c", 40, None),
    "helipad": ("X", "#ff7f00", 50, "helipad"),
    "landmark": ("o", "#5a4a3a", 30, "landmark"),
    "interchange": ("o", "#b2182b", 25, "expressway interchange"),
}
LABEL_KINDS = {"venue", "station", "bus_terminal", "hospital", "fire_station", "landmark",
               "safety_centre", "local_unit", "interchange"}
INSET_LABEL_KINDS = {"venue", "hotel", "car_park", "helipad", "safety_centre", "depot"}
WATER = "#9ecae1"
LAND = "#f4f1ea"
MAIN_RADIUS_M = 24_000  # the main panel shows the city and its towns; farther places get arrows


def _segments(net: RoadNetwork, proj: LocalProjection):
    """One polyline per road segment per class (a two-way road drawn once)."""
    by_class: dict[str, list[np.ndarray]] = {c: [] for c in ROAD_STYLE}
    seen = set()
    for lk in net.links:
        key = (min(lk.from_node, lk.to_node), max(lk.from_node, lk.to_node), lk.road_class)
        if key in seen:
            continue
        seen.add(key)
        pts = np.asarray(lk.geometry)
        x, y = proj.to_xy(pts[:, 0], pts[:, 1])
        by_class.setdefault(lk.road_class, []).append(np.column_stack([x, y]) / 1000)
    return by_class


def _draw_layers(ax, net, proj, segs, *, labels: set[str], fontsize: float, bounds=None):
    ax.set_facecolor(LAND)
    for feat in net.features:
        pts = np.asarray(feat["coords"])
        x, y = proj.to_xy(pts[:, 0], pts[:, 1])
        if feat["kind"] == "lake":
            ax.add_patch(Polygon(np.column_stack([x, y]) / 1000, closed=True, fc=WATER,
                                 ec="#6baed6", lw=0.6, zorder=1))
        elif feat["kind"] in ("river", "coast"):
            ax.plot(x / 1000, y / 1000, color=WATER, lw=3.5 if feat["kind"] == "river" else 2,
                    solid_capstyle="round", zorder=1)
    for cls, lines in segs.items():
        if lines:
            colour, width, z = ROAD_STYLE[cls]
            ax.add_collection(LineCollection(lines, colors=colour, linewidths=width, zorder=z,
                                             capstyle="round"))
    for p in net.places:
        marker, colour, size, _ = PLACE_STYLE[p.kind]
        x, y = proj.to_xy(p.lat, p.lon)
        x, y = x / 1000, y / 1000
        if bounds and not (bounds[0] <= x <= bounds[1] and bounds[2] <= y <= bounds[3]):
            continue
        face = "white" if p.approx else colour
        ax.scatter([x], [y], marker=marker, s=size, c=face, edgecolors=colour,
                   linewidths=1.2, zorder=8)
        if p.kind in labels:
            ax.annotate(p.name, (x, y), xytext=(4, 3), textcoords="offset points",
                        fontsize=fontsize, zorder=9, color="#222222",
                        bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.7))


def draw_network_map(net: RoadNetwork, out: str | Path, *, dpi: int = 150) -> Path:
    """Draw the network to a PNG: main panel in km, Bomun inset, overview, legend, scale bar."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise InputError(f"--out {str(out)!r}: the map is written as PNG; use a .png file name")
    lat = np.array([n.lat for n in net.nodes])
    lon = np.array([n.lon for n in net.nodes])
    centre = _centre(net, lat, lon)
    proj = LocalProjection(*centre)
    segs = _segments(net, proj)
    x, y = proj.to_xy(lat, lon)
    near = np.hypot(x, y) <= MAIN_RADIUS_M
    xmin, xmax = x[near].min() / 1000 - 1, x[near].max() / 1000 + 1
    ymin, ymax = y[near].min() / 1000 - 1, y[near].max() / 1000 + 1

    fig = plt.figure(figsize=(16, 13))
    ax = fig.add_axes((0.03, 0.04, 0.70, 0.90))
    _draw_layers(ax, net, proj, segs, labels=LABEL_KINDS, fontsize=7,
                 bounds=(xmin, xmax, ymin, ymax))
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_xlabel("km east of the city centre")
    ax.set_ylabel("km north of the city centre")
    ax.add_artist(AnchoredSizeBar(ax.transData, 5, "5 km", "lower left", pad=0.6, frameon=True,
                                  size_vertical=0.12, fontproperties={"size": 9}))
    ax.annotate("N", xy=(0.97, 0.96), xytext=(0.97, 0.90), xycoords="axes fraction",
                ha="center", fontsize=12, fontweight="bold",
                arrowprops=dict(arrowstyle="-|>", color="black", lw=1.5))
    _far_arrows(ax, net, proj, (xmin, xmax, ymin, ymax))
    title = net.name or "road network"
    ax.set_title(f"{title}: {net.n_nodes} nodes, {net.n_links} directed links, "
                 f"{sum(net.km_by_class().values()):.0f} link-km", fontsize=13, loc="left")

    bomun = _place_xy(net, proj, "HICO")
    if bomun is not None:
        bx, by = bomun
        box = (bx - 2.6, bx + 2.2, by - 1.6, by + 2.2)
        axi = fig.add_axes((0.74, 0.42, 0.25, 0.30))
        _draw_layers(axi, net, proj, segs, labels=INSET_LABEL_KINDS, fontsize=6, bounds=box)
        axi.set_xlim(box[0], box[1])
        axi.set_ylim(box[2], box[3])
        axi.set_aspect("equal")
        axi.set_xticks([])
        axi.set_yticks([])
        axi.set_title("Bomun Lake tourist complex", fontsize=10)
        axi.add_artist(AnchoredSizeBar(axi.transData, 1, "1 km", "lower right", pad=0.4,
                                       frameon=True, size_vertical=0.03,
                                       fontproperties={"size": 7}))
        ax.add_patch(Rectangle((box[0], box[2]), box[1] - box[0], box[3] - box[2], fill=False,
                               ec="#333333", lw=1, ls="--", zorder=10))

    axo = fig.add_axes((0.76, 0.74, 0.21, 0.22))
    for cls, lines in segs.items():
        if lines and cls in ("expressway", "national", "arterial"):
            colour, width, _ = ROAD_STYLE[cls]
            axo.add_collection(LineCollection(lines, colors=colour, linewidths=width * 0.4))
    for p in net.places_of_kind("airport"):
        px, py = proj.to_xy(p.lat, p.lon)
        axo.scatter([px / 1000], [py / 1000], marker="D", s=18, c="#111111", zorder=5)
        axo.annotate(p.name.replace(" International", "").replace(" Airport", ""),
                     (px / 1000, py / 1000), xytext=(3, 2), textcoords="offset points",
                     fontsize=6)
    axo.add_patch(Rectangle((xmin, ymin), xmax - xmin, ymax - ymin, fill=False, ec="#333333",
                            lw=0.8, ls="--"))
    axo.autoscale()
    axo.set_aspect("equal")
    axo.set_xticks([])
    axo.set_yticks([])
    axo.set_facecolor(LAND)
    axo.set_title("Region and airports", fontsize=10)

    handles = [Line2D([], [], color=c, lw=w + 0.5, label=cls)
               for cls, (c, w, _) in reversed(ROAD_STYLE.items())]
    handles += [Line2D([], [], color=WATER, lw=4, label="river / lake (approx.)")]
    handles += [Line2D([], [], marker=m, ls="", color=c, markersize=8 if s > 40 else 6, label=lab)
                for (m, c, s, lab) in PLACE_STYLE.values() if lab]
    handles += [Line2D([], [], marker="o", ls="", mfc="white", mec="#555555", markersize=6,
                       label="hollow: position approximate")]
    fig.legend(handles=handles, loc="lower right", bbox_to_anchor=(0.995, 0.03), fontsize=8.5,
               title="Road class and places", title_fontsize=9, frameon=True)
    with atomic_file(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", facecolor="white")
    plt.close(fig)
    return out


def _centre(net: RoadNetwork, lat, lon) -> tuple[float, float]:
    """City hall when the network has one, else the median node (robust to far airports)."""
    for p in net.places:
        if "city hall" in p.name.casefold():
            return p.lat, p.lon
    return float(np.median(lat)), float(np.median(lon))


def _place_xy(net, proj, name):
    for p in net.places:
        if p.name.casefold() == name.casefold():
            x, y = proj.to_xy(p.lat, p.lon)
            return x / 1000, y / 1000
    return None


def _far_arrows(ax, net, proj, bounds):
    """Places beyond the main panel get an arrow at the frame with their straight-line distance."""
    xmin, xmax, ymin, ymax = bounds
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    for p in net.places:
        px, py = proj.to_xy(p.lat, p.lon)
        px, py = px / 1000, py / 1000
        if xmin <= px <= xmax and ymin <= py <= ymax:
            continue
        if p.kind not in ("airport", "hospital"):
            continue
        dx, dy = px - cx, py - cy
        t = min((xmax - cx) / dx if dx > 0 else (xmin - cx) / dx if dx < 0 else np.inf,
                (ymax - cy) / dy if dy > 0 else (ymin - cy) / dy if dy < 0 else np.inf)
        ex, ey = cx + dx * t * 0.97, cy + dy * t * 0.97
        sx, sy = cx + dx * t * 0.88, cy + dy * t * 0.88
        km = haversine_m(proj.lat0, proj.lon0, p.lat, p.lon) / 1000
        ax.annotate("", xy=(ex, ey), xytext=(sx, sy),
                    arrowprops=dict(arrowstyle="-|>", color="#333333", lw=1.4), zorder=11)
        ax.annotate(f"{p.name}\n{km:.0f} km", (sx, sy), fontsize=7, ha="center", va="center",
                    zorder=11, bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="#999999"))

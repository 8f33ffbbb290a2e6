"""Run plots: the congestion map (links coloured by their peak delay ratio)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.colors import BoundaryNorm
from matplotlib.figure import Figure
from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

from .atomic import atomic_file
from .netmap import LAND, ROAD_STYLE, city_bounds, draw_water, map_projection
from .network import RoadNetwork

RATIO_BOUNDS = [1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 10.0]
RATIO_LABELS = ["< 1.1", "1.1-1.25", "1.25-1.5", "1.5-2", "2-3", "> 3"]


def draw_congestion_map(net: RoadNetwork, peak_ratio: np.ndarray, out: str | Path, *,
                        title: str = "Peak delay ratio by link", dpi: int = 130) -> Path:
    """Each road drawn in the colour of its worse direction's peak 15-minute travel time over
    its uncongested time; unused roads thin grey. The city, and every road that carried
    traffic, side by side."""
    out = Path(out)
    proj = map_projection(net)
    segs, ratios, widths = _segments(net, proj, peak_ratio)
    cmap = colormaps["RdYlGn_r"].resampled(len(RATIO_LABELS))
    norm = BoundaryNorm(RATIO_BOUNDS, cmap.N)
    fig = Figure(figsize=(17, 9.5))
    fig.suptitle(title, x=0.02, ha="left", fontsize=14, fontweight="bold")
    city = city_bounds(net, proj)
    used_any = ratios > 0
    framed = [s for s, u in zip(segs, used_any, strict=True) if u] if used_any.any() else segs
    x_all = np.concatenate([s[:, 0] for s in framed])
    y_all = np.concatenate([s[:, 1] for s in framed])
    whole = (x_all.min() - 2, x_all.max() + 2, y_all.min() - 2, y_all.max() + 2)
    panels = [((0.05, 0.06, 0.58, 0.86), city, 1.0, "City, Bomun and the KTX station"),
              ((0.66, 0.22, 0.32, 0.70), whole, 0.45, "Every road that carried traffic")]
    for rect, bounds, scale, name in panels:
        ax = fig.add_axes(rect)
        ax.set_facecolor(LAND)
        draw_water(ax, net, proj, scale=scale)
        used = ratios > 0
        ax.add_collection(LineCollection([s for s, u in zip(segs, used, strict=True) if not u],
                                         colors="#c9c3b8", linewidths=0.5 * scale, zorder=2))
        order = np.argsort(ratios[used])
        used_segs = [s for s, u in zip(segs, used, strict=True) if u]
        lc = LineCollection([used_segs[i] for i in order], cmap=cmap, norm=norm,
                            linewidths=widths[used][order] * scale, zorder=3, capstyle="round")
        lc.set_array(np.clip(ratios[used][order], 1.0, 9.99))
        ax.add_collection(lc)
        ax.set_xlim(bounds[0], bounds[1])
        ax.set_ylim(bounds[2], bounds[3])
        ax.set_aspect("equal")
        ax.set_title(name, loc="left", fontsize=11)
        if scale == 1.0:
            ax.set_xlabel("km east of the centre")
            ax.set_ylabel("km north of the centre")
            ax.add_artist(AnchoredSizeBar(ax.transData, 2, "2 km", "lower left", pad=0.5,
                                          frameon=True, size_vertical=0.05,
                                          fontproperties={"size": 9}))
        else:
            ax.set_xticks([])
            ax.set_yticks([])
    cax = fig.add_axes((0.67, 0.12, 0.29, 0.025))
    cb = fig.colorbar(lc, cax=cax, orientation="horizontal", ticks=[
        (a + b) / 2 for a, b in itertools.pairwise(RATIO_BOUNDS)])
    cb.ax.set_xticklabels(RATIO_LABELS, fontsize=9)
    cb.set_label("peak 15-min travel time / uncongested time incl. signals (grey: unused)",
                 fontsize=10)
    with atomic_file(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", facecolor="white")
    return out


def _segments(net, proj, peak_ratio):
    """One polyline per road segment (both directions together, the worse ratio shown)."""
    best: dict[frozenset, int] = {}
    for lk in net.links:
        key = frozenset((lk.from_node, lk.to_node))
        if key not in best or peak_ratio[lk.id] > peak_ratio[best[key]]:
            best[key] = lk.id
    segs, ratios, widths = [], [], []
    for lid in best.values():
        lk = net.links[lid]
        pts = np.asarray(lk.geometry)
        x, y = proj.to_xy(pts[:, 0], pts[:, 1])
        segs.append(np.column_stack([x, y]) / 1000)
        ratios.append(peak_ratio[lid])
        widths.append(ROAD_STYLE[lk.road_class][1] + 0.6)
    return segs, np.asarray(ratios), np.asarray(widths)

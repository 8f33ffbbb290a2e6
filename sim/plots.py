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
from .clock import format_clock
from .map_places import draw_main_places, legend_handles, main_places, region_places
from .netmap import LAND, ROAD_STYLE, city_bounds, draw_water, map_projection
from .network import RoadNetwork

RATIO_BOUNDS = [1.0, 1.1, 1.25, 1.5, 2.0, 3.0, 10.0]
RATIO_LABELS = ["< 1.1", "1.1-1.25", "1.25-1.5", "1.5-2", "2-3", "> 3"]


def draw_congestion_map(net: RoadNetwork, peak_ratio: np.ndarray, out: str | Path, *,
                        title: str = "Peak delay ratio by link", dpi: int = 130,
                        venues: list[str] | None = None,
                        hubs: list[str] | None = None) -> Path:
    """Each road drawn in the colour of its worse direction's peak 15-minute travel time over
    its uncongested time; unused roads thin grey. The city, and every road that carried
    traffic, side by side. The city panel names the main places (sim.map_places: HICO, the
    scenario's other `venues` and arrival `hubs`, the Bomun hotels, City Hall, ...), the
    region panel Gyeongju, the KTX station and the airports."""

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
            draw_main_places(ax, proj, main_places(net, venues, hubs), fontsize=9,
                             keep_clear=[(0.0, 0.0, 0.13, 0.07)])
        else:
            ax.set_xticks([])
            ax.set_yticks([])
            draw_main_places(ax, proj, region_places(net, hubs), fontsize=7.5,
                             marker_scale=0.6)
    cax = fig.add_axes((0.67, 0.12, 0.29, 0.025))
    cb = fig.colorbar(lc, cax=cax, orientation="horizontal", ticks=[
        (a + b) / 2 for a, b in itertools.pairwise(RATIO_BOUNDS)])
    cb.ax.set_xticklabels(RATIO_LABELS, fontsize=9)
    cb.set_label("peak 15-min travel time / uncongested time incl. signals (grey: unused)",
                 fontsize=10)
    fig.legend(handles=legend_handles(), loc="upper left", bbox_to_anchor=(0.67, 0.075),
               ncols=2, fontsize=9, title="Places", title_fontsize=9.5, frameon=False,
               columnspacing=1.0, handletextpad=0.3)
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


def draw_summit_plots(data: dict, out_dir: str | Path, *, title: str = "",
                      dpi: int = 120) -> list[Path]:
    """Three pictures of the summit day from `picture_data.summit_picture_data`: punctuality
    per session, waits at the stops, and how full the shuttles ran through the day."""
    out_dir = Path(out_dir)
    return [_on_time_by_session(data, out_dir / "on_time_by_session.png", title, dpi),
            _stop_waits(data, out_dir / "stop_waits.png", title, dpi),
            _shuttle_occupancy(data, out_dir / "shuttle_occupancy.png", title, dpi)]


def _save(fig: Figure, path: Path, dpi: int) -> Path:
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", facecolor="white")
    return path


def _on_time_by_session(data: dict, path: Path, title: str, dpi: int) -> Path:
    rows = data["sessions"]
    height = 0.55 * len(rows) + 2.2
    fig = Figure(figsize=(11, height))
    bottom = 1.3 / height  # room for the axis label and the legend beneath it
    ax = fig.add_axes((0.34, bottom, 0.62, 0.88 - bottom))
    y = np.arange(len(rows))[::-1]
    on_time = [r[3] for r in rows]
    late_5 = [r[4] for r in rows]
    later = [1 - a - b for a, b in zip(on_time, late_5, strict=True)]
    ax.barh(y, on_time, color="#1a9850", label="on time")
    ax.barh(y, late_5, left=on_time, color="#fee08b", label="up to 5 min late")
    ax.barh(y, later, left=np.add(on_time, late_5), color="#d73027", label="more than 5 min late")
    labels = [f"{name} ({format_clock(start)[:5]}), n={n}" for name, start, n, _, _ in rows]
    ax.set_yticks(y, labels, fontsize=9)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    later = data.get("sessions_not_simulated", 0)
    ax.set_xlabel("share of attendees through screening by the session's start" + (
        f"\n({later} session{'s' if later > 1 else ''} after the run's end: not simulated)"
        if later else ""))
    fig.legend(loc="lower center", bbox_to_anchor=(0.65, 0.01), ncols=3, frameon=False)
    ax.set_title(f"{title}: punctuality by session" if title else "Punctuality by session",
                 loc="left")
    for yi, v in zip(y, on_time, strict=True):
        ax.text(0.01, yi, f"{v:.0%}", va="center", fontsize=8, color="white")
    return _save(fig, path, dpi)


def _stop_waits(data: dict, path: Path, title: str, dpi: int) -> Path:
    waits, gave_up, limit = data["waits_min"], data["gave_up"], data["max_wait_min"]
    fig = Figure(figsize=(9, 4.8))
    ax = fig.add_axes((0.1, 0.14, 0.86, 0.74))
    if waits:
        top = max(limit, max(waits))  # hourly hub lines: riders wait longer before giving up
        ax.hist(waits, bins=np.arange(0, top + 2.5, 2.5), color="#4575b4", edgecolor="white")
        ax.axvline(np.median(waits), color="#111111", lw=1.2, ls="--",
                   label=f"median {np.median(waits):.1f} min")
    every = data.get("gave_up_all", gave_up)
    ax.axvline(limit, color="#d73027", lw=1.5,
               label=f"a taxi after {limit:g} min (later where the next bus is due later): "
                     f"{gave_up:,} trips to sessions\n({every:,} trips of every purpose gave up "
                     "waiting)")
    ax.set_xlabel("minutes waited at the stop (trips to sessions by shuttle)")
    ax.set_ylabel("trips")
    ax.legend(frameon=False)
    ax.set_title(f"{title}: waits at shuttle stops" if title else "Waits at shuttle stops",
                 loc="left")
    return _save(fig, path, dpi)


def _shuttle_occupancy(data: dict, path: Path, title: str, dpi: int) -> Path:
    """One row per line, one cell per half hour: how full its fullest bus left (grey: no bus
    left a stop then). A heat map stays readable with twenty lines, where curves would not."""
    grid, labels, first = data["occupancy"], data["line_labels"], data["first_half_hour"]
    last = first + grid.shape[1] - 1
    fig = Figure(figsize=(12, 0.38 * len(labels) + 2.0))
    ax = fig.add_axes((0.25, 0.2, 0.64, 0.68))
    cmap = colormaps["YlOrRd"].with_extremes(bad="#e6e6e6")
    im = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap=cmap, vmin=0, vmax=1,
                   extent=(first / 2, (last + 1) / 2, len(labels) - 0.5, -0.5),
                   interpolation="nearest")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xticks(range(int(np.ceil(first / 2)), int((last + 1) / 2) + 1, 2))
    ax.set_xlabel("hour of the day")
    cax = fig.add_axes((0.91, 0.2, 0.015, 0.68))
    bar = fig.colorbar(im, cax=cax)
    bar.ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    bar.set_label("fullest departure in the half hour (riders / seats)", fontsize=8)
    ax.set_title(f"{title}: how full the shuttles ran" if title else "Shuttle occupancy",
                 loc="left")
    return _save(fig, path, dpi)


"""Pictures of a fit: modelled against observed with the acceptance bands, and a map of the
count sites coloured by GEH."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import ScalarFormatter

from ..atomic import atomic_file
from ..netmap import LAND, ROAD_STYLE, _road_lines, city_bounds, draw_water, map_projection
from ..report import pct
from . import goodness

FITTED, HOLDOUT = "#1f5fa8", "#d2691e"
GEH_COLOURS = [(goodness.GEH_LIMIT, "#2e8b57", "GEH < 5"), (10.0, "#e0a020", "GEH 5-10"),
               (np.inf, "#c0392b", "GEH > 10")]


def _save(fig: Figure, path: Path, dpi: int = 120) -> Path:
    with atomic_file(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", facecolor="white")
    return path


def _points(ax, rows, x_key, y_key):
    for holdout, colour, label in ((False, FITTED, "fitted"), (True, HOLDOUT, "hold-out")):
        sel = [r for r in rows if r["compared"] and r["holdout"] == holdout]
        if sel:
            ax.scatter([r[x_key] for r in sel], [r[y_key] for r in sel], s=36,
                       facecolors=colour if not holdout else "white", edgecolors=colour,
                       linewidths=1.5, label=f"{label} ({len(sel)})", zorder=3)
            for r in sel:
                ax.annotate(r["id"], (r[x_key], r[y_key]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points", color="#444")


def _panel(ax, rows, x_key, y_key, band, *, band_label, xlabel, ylabel, title, floor):
    """One modelled-against-observed panel: the acceptance band (a function of the observed
    values giving its lower and upper edges), the diagonal, fitted and hold-out points."""
    top = max([floor] + [max(r[x_key], r[y_key]) for r in rows if r["compared"]])
    x = np.linspace(0, top * 1.1, 200)
    lower, upper = band(x)
    ax.fill_between(x, np.maximum(lower, 0), upper, color="#2e8b57", alpha=0.12,
                    label=band_label)
    ax.plot(x, x, color="#777", lw=0.8)
    _points(ax, rows, x_key, y_key)
    ax.set_xlim(0, top * 1.1)
    ax.set_ylim(0, top * 1.1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, loc="left", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)


def _geh_band(c):
    """GEH of the mean hour = 5  <=>  M = C + k^2/4 +- k sqrt(C + k^2/16) per hour, k = 5."""
    hour, k = c / 24.0, goodness.GEH_LIMIT
    root = k * np.sqrt(hour + k * k / 16)
    return (hour + k * k / 4 - root) * 24, (hour + k * k / 4 + root) * 24


def _time_band(t):
    """Within 15% of the observed time, or within 1 minute where that is more."""
    band = np.maximum(goodness.TIME_TOLERANCE * t, goodness.TIME_FLOOR_S / 60)
    return t - band, t + band


def draw_fit_scatter(fit: dict, path: str | Path, *, title: str = "") -> Path:
    """Counts (veh/day, with the GEH < 5 band of the mean hour) and travel times (with the
    15%-or-1-minute band), modelled against observed; hold-out rows hollow."""
    fig = Figure(figsize=(13, 6.2))
    fig.suptitle(title or "Fit to observed data", x=0.02, ha="left", fontsize=13,
                 fontweight="bold")
    cs, ts = fit["counts"], fit["travel_times"]
    _panel(fig.add_axes((0.06, 0.1, 0.40, 0.76)),
           [r for r in cs["rows"] if r["unit"] == "veh/day"], "observed", "model", _geh_band,
           band_label="GEH < 5 (mean hour)", floor=1000.0,
           xlabel="observed vehicles a day (both directions)",
           ylabel="modelled vehicles a day",
           title=f"Counts: GEH < 5 on {pct(cs['geh_under_5_share'])} fitted, "
                 f"{pct(cs['holdout_geh_under_5_share'])} hold-out (85% needed)")
    _panel(fig.add_axes((0.56, 0.1, 0.40, 0.76)), ts["rows"], "observed_min", "model_min",
           _time_band, band_label="within 15% (or 1 min)", floor=10.0,
           xlabel="observed minutes", ylabel="modelled minutes (car)",
           title=f"Travel times: within 15% on {pct(ts['within_15pct_share'])} fitted, "
                 f"{pct(ts['holdout_within_15pct_share'])} hold-out (85% needed)")
    return _save(fig, Path(path))


def draw_count_map(net, fit: dict, path: str | Path, *, title: str = "") -> Path:
    """The network with each count site's road drawn in the colour of its GEH; the city and
    the whole region side by side."""
    proj = map_projection(net)
    lines = _road_lines(net, proj)
    fig = Figure(figsize=(15, 8.5))
    fig.suptitle(title or "Count sites by GEH", x=0.02, ha="left", fontsize=13,
                 fontweight="bold")
    by_link: dict = {}  # rows counted on one road link share a line and a label
    for r in fit["counts"]["rows"]:
        pair = (r["from_node"], r["to_node"])
        lk = net._link_by_pair.get(pair) or net._link_by_pair.get(pair[::-1])
        if lk is None or not r["compared"] or r["geh"] is None:
            continue
        by_link.setdefault(frozenset(pair), (lk, []))[1].append(r)
    sites = []
    for lk, rows in by_link.values():
        pts = np.asarray(lk.geometry)
        x, y = proj.to_xy(pts[:, 0], pts[:, 1])
        worst = max(r["geh"] for r in rows)
        colour = next(col for limit, col, _ in GEH_COLOURS if worst < limit)
        label = " / ".join(f"{r['id']} {r['geh']:.1f}" for r in rows)
        sites.append((np.column_stack([x, y]) / 1000, colour, label,
                      any(not r["holdout"] for r in rows)))
    xs = np.concatenate([s[0][:, 0] for s in sites]) if sites else np.array([0.0])
    ys = np.concatenate([s[0][:, 1] for s in sites]) if sites else np.array([0.0])
    whole = (xs.min() - 4, xs.max() + 4, ys.min() - 4, ys.max() + 4)
    for rect, bounds, scale, name in (
            ((0.03, 0.05, 0.55, 0.85), city_bounds(net, proj), 1.0, "City and Bomun"),
            ((0.61, 0.05, 0.37, 0.85), whole, 0.5, "Every count site")):
        ax = fig.add_axes(rect)
        ax.set_facecolor(LAND)
        draw_water(ax, net, proj, scale=scale)
        for cls, segs in lines.items():  # roads in grey: colour is for the sites alone
            if segs:
                ax.add_collection(LineCollection(segs, colors="#b5b0a6", zorder=2,
                                                 linewidths=ROAD_STYLE[cls][1] * scale))
        ax.add_collection(LineCollection([s[0] for s in sites], colors=[s[1] for s in sites],
                                         linewidths=7 * scale, zorder=6, capstyle="round"))
        for seg, _, label, fitted in sites:
            x, y = seg[len(seg) // 2]
            if bounds[0] <= x <= bounds[1] and bounds[2] <= y <= bounds[3]:
                ax.annotate(label, (x, y), fontsize=7 + scale,
                            xytext=(4, 4), textcoords="offset points", zorder=8,
                            fontweight="bold" if fitted else "normal",
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.8,
                                  "lw": 0})
        ax.set_xlim(bounds[0], bounds[1])
        ax.set_ylim(bounds[2], bounds[3])
        ax.set_aspect("equal", adjustable="box")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(name, loc="left", fontsize=10)
    fig.legend(handles=[Line2D([], [], color=col, lw=6, label=label)
                        for _, col, label in GEH_COLOURS],
               loc="lower right", fontsize=9, title="GEH of the mean hour, the worst row of a "
               "road in its colour (bold: fitted rows, plain: hold-out only)", title_fontsize=9)
    return _save(fig, Path(path))


def draw_convergence(cal, path: str | Path) -> Path:
    """The objective of each candidate in order (best so far as a line) and each parameter's
    path through its range."""
    hist = cal.history
    n = np.arange(1, len(hist) + 1)
    obj = np.array([h["objective"] for h in hist])
    fig = Figure(figsize=(12, 6.5))
    fig.suptitle("Calibration: objective and parameters by candidate", x=0.02, ha="left",
                 fontsize=13, fontweight="bold")
    ax = fig.add_axes((0.07, 0.30, 0.40, 0.58))
    ax.scatter(n, obj, s=14, color="#999", label="candidate")
    ax.plot(n, np.minimum.accumulate(obj), color=FITTED, lw=2, label="best so far")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(ScalarFormatter())
    ax.set_xlabel("candidate")
    ax.set_ylabel("objective (1 = every fitted row on its acceptance limit)")
    ax.legend(fontsize=8)
    ax = fig.add_axes((0.57, 0.30, 0.40, 0.58))
    for r in cal.ranges:
        ys = [(h["params"][r.path] - r.low) / (r.high - r.low) for h in hist]
        ax.plot(n, ys, lw=1.2, marker=".", label=f"{r.path} ({r.low:g}-{r.high:g})")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("candidate")
    ax.set_ylabel("place in its range (0 = low, 1 = high)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(-0.08, -0.13), ncol=1,
              frameon=False)
    return _save(fig, Path(path))

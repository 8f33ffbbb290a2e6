"""Emergency pictures: a drill timeline per unit (observed stage times against the simulated
median and 5-95% band) and coverage over the day (share of demand a free unit of each type can
reach within the target, with the gap episodes shaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from ..atomic import atomic_file
from ..clock import format_clock, format_mmss

BAND = "#9ecae1"
MEDIAN = "#08519c"
INSIDE = "#238b45"
OUTSIDE = "#cb181d"
TYPE_COLOURS = {"pumper": "#d7301f", "ambulance": "#2171b5", "aerial_ladder": "#6a51a3",
                "articulating_boom": "#807dba", "rescue": "#fd8d3c", "tanker": "#8c6d31",
                "hazmat": "#31a354", "command": "#525252"}


def _minutes_as_mmss(minutes: float, _pos=None) -> str:
    """An axis tick in minutes written as mm:ss, as the drill table and console write times."""
    return format_mmss(minutes * 60)


def draw_drill_timeline(comparisons, out: str | Path, *, title: str, subtitle: str = "",
                        dpi: int = 120) -> Path:
    """One unit's stages, top to bottom in the order they happen: the simulated 5-95% band (a
    bar), its median (a tick) and the observed time (a dot inside the band, a red diamond with
    its gap outside)."""
    from .stages import STAGE_LABEL, STAGES, TOLERANCE_S

    out = Path(out)
    rows = sorted(comparisons, key=lambda c: (c.incident, STAGES.index(c.stage)))
    several = len({c.incident for c in rows}) > 1
    labels = [(f"{c.incident}: " if several else "") + STAGE_LABEL.get(c.stage, c.stage)
              for c in rows]
    fig = Figure(figsize=(10, 2.3 + 0.55 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    fig.suptitle(title, x=0.01, ha="left", fontsize=13, fontweight="bold")
    context = [subtitle] if subtitle else []
    if rows and not several:
        call = rows[0].observed_clock_s - rows[0].observed_s
        context.append(f"{rows[0].incident}, called at {format_clock(call)}")
    ax.set_title("\n".join(context), loc="left", fontsize=9.5, color="#444444")
    xs = [0.0]
    for c in rows:
        xs.append(c.observed_s / 60)
        if c.band is not None:
            xs += [c.band[0] / 60, c.band[1] / 60]
    lo, hi = min(xs), max(xs)
    pad = max(0.5, 0.06 * (hi - lo))
    x0, x1 = (0.0 if lo >= 0 else lo - pad), hi + pad
    ax.set_xlim(x0, x1)
    for y, c in enumerate(rows):
        band = c.band
        if band is not None:
            b0, b1 = band[0] / 60, band[1] / 60
            width = max(b1 - b0, 0.004 * (x1 - x0))  # a band of one value still shows
            ax.barh(y, width, left=(b0 + b1 - width) / 2, height=0.36, color=BAND,
                    edgecolor=MEDIAN, linewidth=0.6, zorder=2)
            ax.plot([c.median / 60] * 2, [y - 0.24, y + 0.24], color=MEDIAN, linewidth=2.5,
                    zorder=3)
        obs = c.observed_s / 60
        if c.flag:
            ax.plot(obs, y, marker="D", markersize=10, color=OUTSIDE, zorder=4,
                    markeredgecolor="black", markeredgewidth=0.6)
            if band is not None:
                gap = c.observed_s - (band[1] if c.flag.startswith("later") else band[0])
                note = f"observed {format_mmss(c.observed_s)}: {c.flag} by {format_mmss(abs(gap))}"
            else:
                note = f"observed {format_mmss(c.observed_s)}: no run had this stage"
            where = (obs - x0) / (x1 - x0)
            ha = "right" if where > 0.7 else ("left" if where < 0.3 else "center")
            ax.annotate(note, (obs, y), xytext=(0, 10), textcoords="offset points", ha=ha,
                        va="bottom", fontsize=8.5, color=OUTSIDE, fontweight="bold", zorder=5)
        else:
            ax.plot(obs, y, marker="o", markersize=9, color=INSIDE, zorder=4,
                    markeredgecolor="black", markeredgewidth=0.6)
    ax.set_yticks(range(len(rows)), labels, fontsize=10)
    ax.set_ylim(len(rows) - 0.45, -0.75)
    ax.xaxis.set_major_formatter(FuncFormatter(_minutes_as_mmss))
    ax.set_xlabel("mm:ss after the incident's call")
    ax.grid(axis="x", color="#dddddd", zorder=0)
    ax.set_axisbelow(True)
    handles = [Patch(facecolor=BAND, edgecolor=MEDIAN, label="simulated 5-95% of runs"),
               Line2D([], [], color=MEDIAN, linewidth=2.5, label="simulated median"),
               Line2D([], [], marker="o", linestyle="", color=INSIDE, markeredgecolor="black",
                      label=f"observed, inside the band (or within {TOLERANCE_S:.0f} s)"),
               Line2D([], [], marker="D", linestyle="", color=OUTSIDE, markeredgecolor="black",
                      label="observed, OUTSIDE the band")]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8.5,
               frameon=False)
    with atomic_file(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", facecolor="white")
    return out


def draw_coverage(spec, coverage: list, episodes: list[dict], out: str | Path, *,
                  title: str = "", dpi: int = 120) -> Path:
    """Coverage by unit type over the run (`coverage`: (time, share by type) samples), the
    target share, and the gap `episodes` shaded."""
    out = Path(out)
    fig = Figure(figsize=(12, 5))
    ax = fig.add_axes((0.07, 0.14, 0.72, 0.74))
    fig.suptitle(title or "Emergency coverage over the day", x=0.02, ha="left", fontsize=13,
                 fontweight="bold")
    fig.text(0.02, 0.905, f"share of residents and attendees a free unit could reach within "
             f"{spec.coverage_target_min:g} min of the call (handling and turnout included), "
             f"every {spec.coverage_interval_min:g} min", fontsize=9.5, color="#444444")
    times = np.array([t for t, _ in coverage]) / 3600.0
    for utype in spec.coverage_types:
        share = np.array([sh[utype] for _, sh in coverage]) * 100
        ax.step(times, share, where="post", linewidth=1.8,
                color=TYPE_COLOURS.get(utype), label=utype.replace("_", " "))
    ax.axhline(spec.coverage_target_share * 100, color="black", linestyle="--", linewidth=1,
               label=f"target {spec.coverage_target_share * 100:.0f}%")
    for ep in episodes:
        ax.axvspan(ep["start_s"] / 3600, ep["end_s"] / 3600,
                   color=TYPE_COLOURS.get(ep["type"], "#999999"), alpha=0.12, linewidth=0)
    ax.set_ylim(0, 100)
    if len(times):
        x0, x1 = times[0], max(times[-1] + spec.coverage_interval_min / 60, times[0] + 0.1)
        step = next((h for h in (0.25, 0.5, 1, 2, 3, 4, 6) if (x1 - x0) / h <= 12), 12)
        ticks = np.arange(np.ceil(x0 / step) * step, x1 + 1e-9, step)
        ax.set_xticks(ticks, [format_clock(t * 3600)[:5] for t in ticks])
        ax.set_xlim(x0, x1)
    ax.set_xlabel("time of day")
    ax.set_ylabel("% of demand covered")
    ax.grid(color="#e5e5e5")
    handles, labels = ax.get_legend_handles_labels()
    if episodes:
        handles.append(Patch(color="#999999", alpha=0.3))
        labels.append("below target (shaded by type)")
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9,
              frameon=False)
    lines = [f"{len(episodes)} gap episode{'s' if len(episodes) != 1 else ''}"]
    for ep in episodes[:12]:
        lines.append(f"{ep['type'].replace('_', ' ')} {format_clock(ep['start_s'])[:5]}-"
                     f"{format_clock(ep['end_s'])[:5]}, lowest {ep['min_share'] * 100:.1f}%")
    if len(episodes) > 12:
        lines.append(f"... and {len(episodes) - 12} more (coverage_gaps.csv)")
    fig.text(0.805, 0.62, "\n".join(lines), fontsize=8.5, va="top", family="monospace")
    with atomic_file(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", facecolor="white")
    return out

"""Live charts of the control-centre view, from the model's record of each Step (see
`LiveModel.history`): vehicles en route, people waiting at stops, on-time rate so far,
responders available by type, and the share of demand a unit can reach within 7 minutes."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from ..clock import format_clock, format_hhmm

TARGET_ON_TIME = 0.9  # the delegate KPI's target (docs/viz.md)


def _clock_axis(ax, t) -> None:
    if len(t):  # at least an hour wide, so the first steps do not fill the chart
        span = max(t[-1], t[0] + 3600.0) - t[0]
        ax.set_xlim(t[0], t[0] + span)
        # ticks on whole quarter hours, half hours or hours as the span grows
        ax.xaxis.set_major_locator(MultipleLocator(900 if span <= 5400 else 1800
                                                   if span <= 3 * 3600 else 3600
                                                   if span <= 8 * 3600 else 3 * 3600))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_clock(v)[:5]))
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)


def _pct_axis(ax) -> None:
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))


def draw_charts(history, *, coverage_target: float | None = None,
                figsize=(12.0, 5.6), dpi: int = 80) -> Figure:
    """The five live charts as one figure (two rows)."""
    h = history
    t = np.asarray(h.time_s, dtype=float)
    fig = Figure(figsize=figsize, dpi=dpi)
    fig.patch.set_facecolor("white")
    axes = fig.subplots(2, 3)
    fig.subplots_adjust(left=0.06, right=0.985, top=0.92, bottom=0.08, hspace=0.45, wspace=0.28)

    ax = axes[0, 0]
    ax.plot(t, h.en_route, color="#3b3b3b", lw=1.8, marker="o", ms=2.5)
    ax.set_title("Vehicles en route", loc="left", fontsize=10)
    _clock_axis(ax, t)
    ax.set_ylim(bottom=0)

    ax = axes[0, 1]
    ax.plot(t, h.waiting, color="#2b83ba", lw=1.8, marker="o", ms=2.5)
    ax.set_title("People waiting at shuttle stops", loc="left", fontsize=10)
    _clock_axis(ax, t)
    ax.set_ylim(bottom=0)

    ax = axes[0, 2]
    on_time = np.array([np.nan if v is None else v for v in h.on_time], dtype=float)
    ax.plot(t, on_time, color="#1a9850", lw=1.8, marker="o", ms=2.5)
    ax.axhline(TARGET_ON_TIME, color="#d73027", lw=1, ls="--", label="target 90%")
    ax.set_title("On time at screening, so far", loc="left", fontsize=10)
    _clock_axis(ax, t)
    _pct_axis(ax)
    ax.legend(fontsize=8, loc="lower left", frameon=False)
    if np.isnan(on_time).all():
        ax.text(0.5, 0.5, "no session has started yet", ha="center", va="center",
                transform=ax.transAxes, fontsize=9, color="#666666")

    ax = axes[1, 0]
    if h.available:
        for utype, counts in sorted(h.available.items()):
            ax.plot(t, counts, lw=1.5, label=utype.replace("_", " "))
        ax.legend(fontsize=7, ncols=2, loc="lower left", frameon=False)
    else:
        ax.text(0.5, 0.5, "no emergency layer in this scenario", ha="center", va="center",
                transform=ax.transAxes, fontsize=9, color="#666666")
    ax.set_title("Responders available, by type", loc="left", fontsize=10)
    ax.set_ylim(bottom=0)
    _clock_axis(ax, t)

    ax = axes[1, 1]
    if h.coverage:
        for utype, shares in sorted(h.coverage.items()):
            ax.plot(t, [np.nan if s is None else s for s in shares], lw=1.8,
                    label=utype.replace("_", " "))
        if coverage_target is not None:
            ax.axhline(coverage_target, color="#d73027", lw=1, ls="--",
                       label=f"target {coverage_target:.0%}")
        ax.legend(fontsize=8, loc="lower left", frameon=False)
    else:
        ax.text(0.5, 0.5, "no emergency layer in this scenario", ha="center", va="center",
                transform=ax.transAxes, fontsize=9, color="#666666")
    ax.set_title("Demand reachable within 7 min", loc="left", fontsize=10)
    _pct_axis(ax)
    _clock_axis(ax, t)

    axes[1, 2].axis("off")
    last = len(t) - 1
    if last >= 0:
        lines = [f"at {format_hhmm(t[last])}",
                 f"vehicles en route: {h.en_route[last]:,}",
                 f"waiting at stops: {h.waiting[last]:,}"]
        if h.on_time[last] is not None:
            lines.append(f"on time so far: {h.on_time[last]:.1%}")
        for utype, shares in sorted(h.coverage.items()):
            if shares[last] is not None:
                lines.append(f"7-min coverage, {utype.replace('_', ' ')}: {shares[last]:.0%}")
        axes[1, 2].text(0.02, 0.95, "\n".join(lines), va="top", fontsize=10,
                        transform=axes[1, 2].transAxes, linespacing=1.6)
    return fig

"""What-if charts: compare (key KPIs side by side with 95% CI bars), sweep (each key KPI against
each swept parameter: lines with 95% CI bands for numbers, points with whiskers for categories,
every line named), sensitivity (indices as bars) and the Morris mu*-sigma plot. Axes carry
units; shares are drawn in percent. Each is one PNG, written whole or not at all."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from ..atomic import atomic_file
from . import kpis as kinds
from .params import param_axis_label
from .stats import Estimate

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f"]
MAX_LINES = len(COLOURS)


def _save(fig: Figure, out: Path, dpi: int = 110) -> Path:
    with atomic_file(out) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", facecolor="white")
    return out


def _grid(n: int, cols: int) -> tuple[int, int]:
    cols = max(1, min(cols, n))
    return math.ceil(n / cols), cols


def _err(e: Estimate) -> tuple[float, float]:
    if math.isnan(e.low):
        return 0.0, 0.0
    return e.mean - e.low, e.high - e.mean


def draw_compare(labels: Sequence[str], kpis: Sequence[str],
                 estimates: Mapping[str, Mapping[str, Estimate]], out: Path, *,
                 title: str) -> Path:
    """One panel per KPI: a bar per scenario at its mean, whiskers its 95% CI."""
    rows, cols = _grid(max(1, len(kpis)), 3)
    fig = Figure(figsize=(4.4 * cols, 3.2 * rows + 0.6), layout="constrained")
    fig.suptitle(title, fontsize=12, fontweight="bold")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, kpi in zip(axes, kpis, strict=False):
        xs, means, errs, colours = [], [], ([], []), []
        for i, label in enumerate(labels):
            e = estimates[label].get(kpi)
            if e is None:
                continue
            xs.append(i)
            means.append(e.mean)
            lo, hi = _err(e)
            errs[0].append(lo)
            errs[1].append(hi)
            colours.append(COLOURS[i % len(COLOURS)])
        ax.bar(xs, means, yerr=errs, color=colours, capsize=4, alpha=0.85)
        ax.set_xticks(range(len(labels)), [_letter(i) for i in range(len(labels))])
        ax.set_title(kinds.axis_label(kpi), fontsize=9)
        if kinds.kind(kpi) == kinds.SHARE:
            _percent_axis(ax.yaxis)
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(kpis):]:
        ax.set_visible(False)
    fig.legend(handles=[_patch(COLOURS[i % len(COLOURS)], f"{_letter(i)}: {label}")
                        for i, label in enumerate(labels)],
               loc="outside lower center", ncols=min(3, len(labels)), fontsize=8, frameon=False)
    return _save(fig, out)


def _letter(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else f"S{i + 1}"


def _patch(colour: str, label: str):
    from matplotlib.patches import Patch

    return Patch(color=colour, label=label)


def _numeric(labels: Sequence[str]) -> list[float] | None:
    try:
        return [float(x) for x in labels]
    except ValueError:
        return None


def _percent_axis(axis) -> None:
    """Shares (0 to 1) read as percentages on this axis."""
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(xmax=1, decimals=0))


def _series(points: Sequence[dict], param: str, params: Sequence[str]
            ) -> tuple[list[str], list[tuple[str, list[dict]]]]:
    """The other swept parameters, and per combination of their values its label ('snow';
    the legend's title names the parameters) and its points, in sweep order."""
    others = [q for q in params if q != param]
    groups: dict[tuple, list[dict]] = {}
    for p in points:
        groups.setdefault(tuple(p["params"][q] for q in others), []).append(p)
    return others, [(", ".join(map(str, fixed)), pts) for fixed, pts in groups.items()]


def _line(ax, xs, est, colour, label) -> None:
    """A numeric parameter: means joined by a line, the 95% CI as a band."""
    ax.plot(xs, [e.mean for e in est], marker="o", ms=4, color=colour, label=label)
    if any(not math.isnan(e.low) for e in est):
        ax.fill_between(xs, [e.mean if math.isnan(e.low) else e.low for e in est],
                        [e.mean if math.isnan(e.high) else e.high for e in est],
                        color=colour, alpha=0.18, linewidth=0)


def _dots(ax, xs, est, colour, label) -> None:
    """A categorical parameter: a point per value with its 95% CI as a whisker, not joined
    (there is nothing between 'clear' and 'snow')."""
    lo, hi = zip(*(_err(e) for e in est), strict=True)
    ax.errorbar(xs, [e.mean for e in est], yerr=[lo, hi], fmt="o", ms=5, capsize=3,
                color=colour, label=label)


def _sweep_panel(ax, param: str, kpi: str, order: list[str], numeric: list[float] | None,
                 series: list[tuple[str, list[dict]]]) -> None:
    """One KPI against one parameter, a line (or a row of points) per combination of the
    others, in the colour the column's legend gives it."""
    shown = series[:MAX_LINES]
    spread = 0.5 / max(1, len(shown))  # categorical points side by side, not on top
    for n, (label, pts) in enumerate(shown):
        pts = [p for p in pts if kpi in p["kpis"]]
        if not pts:
            continue
        est = [p["kpis"][kpi] for p in pts]
        colour = COLOURS[n % len(COLOURS)]
        if numeric is not None:
            xpos = dict(zip(order, numeric, strict=True))
            _line(ax, [xpos[p["params"][param]] for p in pts], est, colour, label or None)
        else:
            shift = (n - (len(shown) - 1) / 2) * spread
            _dots(ax, [order.index(p["params"][param]) + shift for p in pts], est, colour,
                  label or None)
    if numeric is None:
        ax.set_xticks(range(len(order)), order)
        ax.set_xlim(-0.6, len(order) - 0.4)
    elif _spaced(numeric):
        ax.set_xticks(numeric, order)
    if kinds.kind(kpi) == kinds.SHARE:
        _percent_axis(ax.yaxis)
    ax.set_ylabel(kinds.axis_label(kpi), fontsize=8)
    ax.grid(alpha=0.3)


def _spaced(values: Sequence[float]) -> bool:
    """Whether ticks at exactly these values stay apart (no gap under 1/8 of the range)."""
    xs = sorted(values)
    span = xs[-1] - xs[0]
    return len(xs) <= 8 and (span == 0 or min(b - a for a, b in itertools.pairwise(xs)) >= span / 8)


def _column_legend(ax, others: Sequence[str], n_series: int) -> None:
    """The legend of a column's lines above its top panel: the other parameters (with units)
    as its title, their values as its entries; says so when lines were left out."""
    title = ", ".join(param_axis_label(q) for q in others)
    if n_series > MAX_LINES:
        title += f": first {MAX_LINES} of {n_series} (all in summary.csv)"
    ax.legend(title=title, loc="lower left", bbox_to_anchor=(0, 1.02),
              ncols=min(4, n_series), fontsize=8, title_fontsize=8, frameon=False,
              alignment="left", columnspacing=1.0, handletextpad=0.4)


def draw_sweep(points: Sequence[dict], params: Sequence[str], kpis: Sequence[str], out: Path,
               *, title: str) -> Path:
    """sweep.png: sweep_figure, saved."""
    return _save(sweep_figure(points, params, kpis, title=title), out)


def sweep_figure(points: Sequence[dict], params: Sequence[str], kpis: Sequence[str], *,
                 title: str) -> Figure:
    """Rows: KPIs; columns: swept parameters. A numeric parameter draws a line per combination
    of the other parameters (band: the 95% CI of the mean over the replicates); a categorical
    one (weather) draws points with CI whiskers. Each column's legend names its lines."""
    rows, cols = max(1, len(kpis)), max(1, len(params))
    fig = Figure(figsize=(4.8 * cols, 2.7 * rows + 1.2), layout="constrained")
    fig.suptitle(title, fontsize=12, fontweight="bold")
    axes = fig.subplots(rows, cols, squeeze=False)
    for j, param in enumerate(params):
        order = list(dict.fromkeys(p["params"][param] for p in points))
        numeric = _numeric(order)
        others, series = _series(points, param, params)
        for i, kpi in enumerate(kpis):
            _sweep_panel(axes[i][j], param, kpi, order, numeric, series)
        axes[-1][j].set_xlabel(param_axis_label(param), fontsize=9)
        if others:
            _column_legend(axes[0][j], others, len(series))
    if not kpis:
        axes[0][0].text(0.5, 0.5, "no KPI to chart", ha="center", va="center")
    return fig


def draw_indices(rows: Sequence[dict], method: str, out: Path, *, title: str) -> Path:
    """Bars per parameter for each KPI: Morris mu* (and sigma), or Sobol S1 and ST, with their
    confidence intervals."""
    kpis = list(dict.fromkeys(r["kpi"] for r in rows))
    bars = (("mu_star", "mu_star_conf", "mu*"), ("sigma", None, "sigma")) if method == "morris" \
        else (("S1", "S1_conf", "S1 (first order)"), ("ST", "ST_conf", "ST (total)"))
    n_rows, cols = _grid(max(1, len(kpis)), 2)
    fig = Figure(figsize=(5.5 * cols, 0.5 + n_rows * (1.2 + 0.45 * max(
        (sum(r["kpi"] == k for r in rows) for k in kpis), default=1))), layout="constrained")
    fig.suptitle(title, fontsize=12, fontweight="bold")
    axes = fig.subplots(n_rows, cols, squeeze=False).ravel()
    for ax, kpi in zip(axes, kpis, strict=False):
        mine = [r for r in rows if r["kpi"] == kpi]
        names = [r["param"] for r in mine]
        height = 0.8 / len(bars)
        for b, (key, conf, label) in enumerate(bars):
            y = [i + (b - (len(bars) - 1) / 2) * height for i in range(len(mine))]
            vals = [_num(r.get(key)) for r in mine]
            err = _index_err(vals, [_num(r.get(conf)) for r in mine], method) if conf else None
            ax.barh(y, vals, height=height, xerr=err, capsize=3, color=COLOURS[b], label=label)
        ax.set_yticks(range(len(mine)), names, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_title(kinds.label(kpi), fontsize=9)
        ax.set_xlabel(f"in the KPI's unit ({kinds.unit(kpi) or 'count'})" if method == "morris"
                      else "share of the KPI's variance", fontsize=8)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[len(kpis):]:
        ax.set_visible(False)
    return _save(fig, out)


def _index_err(vals: list[float], conf: list[float], method: str) -> list[list[float]]:
    """Whiskers of the 95% confidence; Morris mu*, a mean of absolute values, stops at 0."""
    low = [min(c, v) if method == "morris" else c for v, c in zip(vals, conf, strict=True)]
    return [low, conf]


# sigma / mu* = 0.1, 0.5 and 1: from below the first, an effect is about linear; above the last,
# strongly non-linear or interacting (Garcia Sanchez et al. 2014, as SALib's covariance plot)
MORRIS_RATIOS = (0.1, 0.5, 1.0)


def _morris_panel(ax, kpi: str, mine: Sequence[dict]) -> None:
    """One KPI: a labelled point per parameter at (mu*, sigma), mu* with its 95% whisker, and
    the sigma/mu* reference lines."""
    xs = [_num(r.get("mu_star")) for r in mine]
    ys = [_num(r.get("sigma")) for r in mine]
    err = [_num(r.get("mu_star_conf")) for r in mine]
    top = max([*(x + e for x, e in zip(xs, err, strict=True)), *ys, 1e-12]) * 1.15
    for ratio in MORRIS_RATIOS:
        ax.plot([0, top], [0, ratio * top], color="0.6", linewidth=0.8, linestyle="--")
        steep = ratio >= 1  # its end is the top corner: the label goes below it, clear of it
        ax.annotate(f"sigma/mu* = {ratio:g}", (top, ratio * top), fontsize=7, color="0.4",
                    ha="right", va="top" if steep else "bottom",
                    xytext=(-14, -3) if steep else (-3, 2), textcoords="offset points")
    for n, (r, x, y, e) in enumerate(zip(mine, xs, ys, err, strict=True)):
        colour = COLOURS[n % len(COLOURS)]
        ax.errorbar([x], [y], xerr=[[min(e, x)], [e]], fmt="o", ms=6, capsize=3, color=colour)
        ax.annotate(r["param"], (x, y), fontsize=8, xytext=(5, 4), textcoords="offset points",
                    color=colour)
    u = kinds.unit(kpi) or "count"
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel(f"mu*: mean |effect| over the range ({u})", fontsize=8)
    ax.set_ylabel(f"sigma: spread of the effects ({u})", fontsize=8)
    ax.set_title(kinds.label(kpi), fontsize=9)
    ax.grid(alpha=0.3)


def draw_morris(rows: Sequence[dict], out: Path, *, title: str) -> Path:
    """morris.png: morris_figure, saved."""
    return _save(morris_figure(rows, title=title), out)


def morris_figure(rows: Sequence[dict], *, title: str) -> Figure:
    """The Morris mu*-sigma plot, one panel per KPI: far right, a parameter matters; high up,
    its effect depends on the other parameters or is not linear; near 0, it can be fixed."""
    kpis = list(dict.fromkeys(r["kpi"] for r in rows))
    n_rows, cols = _grid(max(1, len(kpis)), 2)
    fig = Figure(figsize=(5.2 * cols, 4.4 * n_rows + 0.4), layout="constrained")
    fig.suptitle(title, fontsize=12, fontweight="bold")
    axes = fig.subplots(n_rows, cols, squeeze=False).ravel()
    for ax, kpi in zip(axes, kpis, strict=False):
        _morris_panel(ax, kpi, [r for r in rows if r["kpi"] == kpi])
    for ax in axes[len(kpis):]:
        ax.set_visible(False)
    fig.supxlabel("further right: the KPI moves more with the parameter; higher up: the effect "
                  "depends on the other parameters or is not linear; whiskers: 95% confidence "
                  "of mu*", fontsize=8)
    return fig


def _num(x) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(v) else v

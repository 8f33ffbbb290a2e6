"""What-if charts: compare (key KPIs side by side with 95% CI bars), sweep (each key KPI against
each swept parameter with 95% CI bands) and sensitivity (indices as bars). Each is one PNG,
written whole or not at all."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from ..atomic import atomic_file
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
        ax.set_title(kpi, fontsize=9)
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


def draw_sweep(points: Sequence[dict], params: Sequence[str], kpis: Sequence[str], out: Path,
               *, title: str) -> Path:
    """Rows: KPIs; columns: swept parameters. Each line holds the other parameters fixed; the
    band is the 95% CI of the mean over the replicates."""
    rows, cols = max(1, len(kpis)), max(1, len(params))
    fig = Figure(figsize=(4.6 * cols, 2.9 * rows + 0.5), layout="constrained")
    fig.suptitle(title, fontsize=12, fontweight="bold")
    axes = fig.subplots(rows, cols, squeeze=False)
    for j, param in enumerate(params):
        order = list(dict.fromkeys(p["params"][param] for p in points))
        numeric = _numeric(order)
        xpos = dict(zip(order, numeric or range(len(order)), strict=True))
        others = [q for q in params if q != param]
        lines: dict[tuple, list[dict]] = {}
        for p in points:
            lines.setdefault(tuple(p["params"][q] for q in others), []).append(p)
        for i, kpi in enumerate(kpis):
            ax = axes[i][j]
            for n, (fixed, pts) in enumerate(list(lines.items())[:MAX_LINES]):
                pts = [p for p in pts if kpi in p["kpis"]]
                if not pts:
                    continue
                x = [xpos[p["params"][param]] for p in pts]
                est = [p["kpis"][kpi] for p in pts]
                label = ", ".join(f"{q}={v}" for q, v in zip(others, fixed, strict=True))
                colour = COLOURS[n % len(COLOURS)]
                ax.plot(x, [e.mean for e in est], marker="o", ms=3, color=colour,
                        label=label or None)
                if any(not math.isnan(e.low) for e in est):
                    ax.fill_between(x, [e.low if not math.isnan(e.low) else e.mean for e in est],
                                    [e.high if not math.isnan(e.high) else e.mean for e in est],
                                    color=colour, alpha=0.2, linewidth=0)
            if numeric is None:
                ax.set_xticks(range(len(order)), order)
            ax.set_xlabel(param, fontsize=8)
            ax.set_ylabel(kpi, fontsize=8)
            ax.grid(alpha=0.3)
            if i == 0 and j == 0 and len(lines) > 1:
                ax.legend(fontsize=7)
    if not kpis:
        axes[0][0].text(0.5, 0.5, "no KPI to chart", ha="center", va="center")
    return _save(fig, out)


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
            err = [_num(r.get(conf)) for r in mine] if conf else None
            ax.barh(y, vals, height=height, xerr=err, capsize=3, color=COLOURS[b], label=label)
        ax.set_yticks(range(len(mine)), names, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_title(kpi, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[len(kpis):]:
        ax.set_visible(False)
    return _save(fig, out)


def _num(x) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return 0.0
    return 0.0 if math.isnan(v) else v

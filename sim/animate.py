"""Vehicles moving over the map, for briefings: `python run.py animate RUN_DIR --from 07:00
--to 10:00 --out FILE.gif|FILE.mp4`.

A run records positions only when asked (`--set outputs.positions=true`): `positions.csv.gz`
holds every link traversal (vehicle, kind, simulated link, entry and exit time; exit empty for a
vehicle still on its link when the run ended) and `positions_links.csv` the road links each
simulated link runs along. A vehicle is drawn at the share of its link's length that the share
of its time on the link has passed. Roads are coloured by how full they are (vehicles on the link
over the vehicles it holds), as in the live view. GIF through Pillow; MP4 needs ffmpeg.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .clock import day_of, format_clock, format_hhmm, parse_clock
from .errors import InputError
from .formats import embedded_network, load_network
from .ownership import STAMP, check_output_file

POSITIONS = "positions.csv.gz"
POSITION_LINKS = "positions_links.csv"
POSITION_COLUMNS = ["vehicle", "kind", "link", "entry_s", "exit_s"]
SAMPLES = 24  # points per link polyline, evenly spaced along it
KIND_STYLE = {  # kind: marker, colour, size, z-order, legend label
    "car": ("o", "#6e6e6e", 3, 5, "car"),
    "truck": ("o", "#3f3f3f", 5, 5, "truck"),
    "event": ("o", "#1f78b4", 6, 6, "event vehicle (badge)"),
    "bus": ("s", "#ff7f00", 14, 7, "bus"),
    "shuttle": ("s", "#ff7f00", 16, 7, "shuttle"),
    "emergency": ("^", "#e31a1c", 55, 9, "fire / EMS unit"),
    "motorcade": ("*", "#000000", 70, 9, "motorcade"),
}


def write_positions(engine, out_dir: Path) -> None:
    """Every traversal of the run (and the vehicles still on a link) into `out_dir`."""
    lk, veh, t_in, t_out = engine.traversals_log()
    on_veh, on_link = engine.on_link_now()
    entry_on = np.asarray(engine.v_entry, dtype=float)[on_veh] if len(on_veh) else np.zeros(0)
    kinds = engine.v_kind
    with gzip.open(out_dir / POSITIONS, "wt", encoding="utf-8", newline="",
                   compresslevel=5) as fh:
        fh.write(",".join(POSITION_COLUMNS) + "\n")
        fh.writelines(f"{v},{kinds[v]},{li},{a:.1f},{b:.1f}\n" for v, li, a, b in zip(
            veh.tolist(), lk.tolist(), t_in.tolist(), t_out.tolist(), strict=True))
        fh.writelines(f"{v},{kinds[v]},{li},{a:.1f},\n" for v, li, a in zip(
            on_veh.tolist(), on_link.tolist(), entry_on.tolist(), strict=True))
    used = sorted(set(lk.tolist()) | set(on_link.tolist()))
    members = engine.graph.members
    with open(out_dir / POSITION_LINKS, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["link", "network_links"])
        w.writerows([s, ";".join(str(m) for m in members[s])] for s in used)


class Positions:
    """A run's recorded traversals, sorted by entry time."""

    def __init__(self, run_dir: Path):
        path = run_dir / POSITIONS
        if not path.exists():
            raise InputError(f"{run_dir}: no {POSITIONS} in this run folder; the run did not "
                             "record vehicle positions - run again with "
                             "--set outputs.positions=true")
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        if not rows or rows[0] != POSITION_COLUMNS:
            raise InputError(f"{path}: expected the columns {','.join(POSITION_COLUMNS)}")
        body = rows[1:]
        self.vehicle = np.array([int(r[0]) for r in body], dtype=np.int64)
        kind_names = sorted({r[1] for r in body})
        code = {k: i for i, k in enumerate(kind_names)}
        self.kinds = kind_names
        self.kind = np.array([code[r[1]] for r in body], dtype=np.int64)
        self.link = np.array([int(r[2]) for r in body], dtype=np.int64)
        self.entry = np.array([float(r[3]) for r in body])
        self.exit = np.array([float(r[4]) if r[4] else np.inf for r in body])
        order = np.argsort(self.entry, kind="stable")
        for name in ("vehicle", "kind", "link", "entry", "exit"):
            setattr(self, name, getattr(self, name)[order])
        self.members: dict[int, list[int]] = {}
        with open(run_dir / POSITION_LINKS, newline="", encoding="utf-8") as fh:
            for rec in csv.DictReader(fh):
                self.members[int(rec["link"])] = [int(x) for x in rec["network_links"].split(";")]

    def at(self, t: float) -> np.ndarray:
        """Indices of the traversals under way at time t."""
        n = int(np.searchsorted(self.entry, t, side="right"))
        idx = np.flatnonzero(self.exit[:n] > t)
        return idx


class Animator:
    """Draws frames of a run: the roads once, then vehicles and road colours per frame."""

    def __init__(self, run_dir: Path, *, width_in: float = 11.0, dpi: int = 80):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.collections import LineCollection
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

        from .map_places import (
            HALO,
            draw_main_places,
            legend_handles,
            main_places,
            scenario_names,
        )
        from .netmap import city_bounds, map_axes, map_projection
        from .network import STORAGE_M_PER_VEHICLE
        from .viz.mapview import FILL_BOUNDS, FILL_COLOURS, FILL_LABELS, _polyline_km

        manifest_path = run_dir / "manifest.json"
        if not manifest_path.exists():
            raise InputError(f"{run_dir}: not a run folder (no manifest.json)")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        self.pos = Positions(run_dir)
        self.scenario = scenario = _RunInfo(manifest)
        net = _run_network(manifest)
        proj = map_projection(net)
        links = sorted(self.pos.members)
        self.link_row = np.full(max(links, default=-1) + 2, -1, dtype=np.int64)
        self.link_row[links] = np.arange(len(links))
        # every used simulated link: SAMPLES points evenly spaced along it, and its storage
        pts = np.zeros((len(links), SAMPLES, 2))
        storage = np.zeros(len(links))
        segs = []
        for r, s in enumerate(links):
            members = self.pos.members[s]
            xy = _polyline_km(net, proj, members)
            d = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
            u = np.linspace(0.0, d[-1], SAMPLES)
            pts[r, :, 0] = np.interp(u, d, xy[:, 0])
            pts[r, :, 1] = np.interp(u, d, xy[:, 1])
            storage[r] = max(1.0, float(sum(net.lanes[m] * net.length_m[m]
                                            for m in members)) / STORAGE_M_PER_VEHICLE)
            segs.append(xy)
        self.pts, self.storage = pts, storage
        self.fill_rgba = np.array([_rgba(c) for c in FILL_COLOURS])
        self.fill_bounds = np.asarray(FILL_BOUNDS)

        b = city_bounds(net, proj)
        height_in = max(5.5, 0.78 * width_in * (b[3] - b[2]) / (b[1] - b[0]) / 0.92)
        fig = self.fig = Figure(figsize=(width_in, height_in), dpi=dpi)
        FigureCanvasAgg(fig)
        fig.patch.set_facecolor("white")
        ax = map_axes(fig, (0.01, 0.02, 0.78, 0.92), net, proj, b)
        # every road faint underneath; the used ones coloured by fill on top
        from .netmap import _road_lines

        for cls_segs in _road_lines(net, proj).values():
            ax.add_collection(LineCollection(cls_segs, colors="#d4cec3", linewidths=0.6,
                                             zorder=2))
        self.roads = LineCollection(segs, colors=FILL_COLOURS[0], linewidths=1.2, zorder=3)
        ax.add_collection(self.roads)
        self.dots = {}
        for i, kind in enumerate(self.pos.kinds):
            marker, colour, size, z, _ = KIND_STYLE.get(kind, ("o", "#333333", 6, 6, kind))
            self.dots[i] = ax.scatter([], [], s=size, marker=marker, c=colour, zorder=z,
                                      linewidths=0.3, edgecolors="#111111" if size > 10 else
                                      "none")
        self.clock = ax.text(0.015, 0.975, "", transform=ax.transAxes, fontsize=20,
                             fontweight="bold", va="top", family="monospace", zorder=20,
                             bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="#333333"))
        self.day = ax.text(0.15, 0.94, "", transform=ax.transAxes, fontsize=10,
                           va="center", zorder=20, path_effects=HALO)
        self.count = ax.text(0.015, 0.88, "", transform=ax.transAxes, fontsize=9, va="top",
                             zorder=20, bbox=dict(boxstyle="round,pad=0.25", fc="white",
                                                  ec="none", alpha=0.85))
        ax.add_artist(AnchoredSizeBar(ax.transData, 2, "2 km", "lower left", pad=0.5,
                                      frameon=True, size_vertical=0.05,
                                      fontproperties={"size": 8}))
        fig.text(0.01, 0.985, f"{scenario.name} (seed {manifest.get('seed')})", fontsize=12,
                 fontweight="bold", va="top")
        # the main places named, clear of the clock, the count and the scale bar
        self.labels = draw_main_places(
            ax, proj, main_places(net, *scenario_names(manifest.get("scenario") or {})),
            fontsize=8, keep_clear=[(0.0, 0.78, 0.36, 1.0), (0.0, 0.0, 0.14, 0.07)])
        handles = [Line2D([], [], color=c, lw=3, label=lab)
                   for c, lab in zip(FILL_COLOURS, FILL_LABELS, strict=True)]
        fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.8, 0.93), fontsize=8,
                   title="Road: vehicles on it / room", title_fontsize=8.5, frameon=False)
        kinds = [Line2D([], [], marker=KIND_STYLE[k][0], ls="", mfc=KIND_STYLE[k][1],
                        mec="#111111", ms=7, label=KIND_STYLE[k][4])
                 for k in self.pos.kinds if k in KIND_STYLE]
        fig.legend(handles=kinds, loc="upper left", bbox_to_anchor=(0.8, 0.6), fontsize=8,
                   title="Vehicles", title_fontsize=8.5, frameon=False)
        fig.legend(handles=legend_handles(), loc="upper left", bbox_to_anchor=(0.8, 0.38),
                   fontsize=8, title="Places", title_fontsize=8.5, frameon=False)

    def draw(self, t: float) -> None:
        p = self.pos
        idx = p.at(t)
        rows = self.link_row[p.link[idx]]
        span = p.exit[idx] - p.entry[idx]
        frac = np.where(np.isfinite(span) & (span > 0), (t - p.entry[idx]) / span, 0.5)
        u = np.clip(frac, 0.0, 1.0) * (SAMPLES - 1)
        i = np.minimum(u.astype(np.int64), SAMPLES - 2)
        f = (u - i)[:, None]
        xy = self.pts[rows, i] * (1 - f) + self.pts[rows, i + 1] * f
        for k, art in self.dots.items():
            sel = p.kind[idx] == k
            art.set_offsets(xy[sel] if sel.any() else np.zeros((0, 2)))
        fill = np.bincount(rows, minlength=len(self.storage)) / self.storage
        cls = np.searchsorted(self.fill_bounds, fill, side="right")
        self.roads.set_colors(self.fill_rgba[cls])
        self.roads.set_linewidths(np.where(cls >= 3, 2.4, 1.2))
        self.clock.set_text(format_hhmm(t))
        self.day.set_text(day_of(t, self.scenario.date))
        self.count.set_text(f"{len(idx):,} vehicles on the road")


class _RunInfo:
    """What the animation needs of the run's scenario (from its manifest)."""

    def __init__(self, manifest: dict):
        sc = manifest.get("scenario") or {}
        self.name = sc.get("name", "run")
        self.date = sc.get("date", "")
        self.start = float(sc.get("start", 0.0))
        self.end = float(sc.get("end", 86_400.0))


def _run_network(manifest: dict):
    """The run's road network: the embedded one, or the file its scenario named."""

    net_spec = (manifest.get("scenario") or {}).get("network") or {}
    if not net_spec.get("file"):
        return embedded_network()
    p = Path(net_spec["file"])
    if not p.is_absolute() and manifest.get("scenario_file"):
        p = Path(manifest["scenario_file"]).parent / p
    return load_network(p, largest_component=net_spec.get("largest_component", True))


def _rgba(colour: str):
    from matplotlib.colors import to_rgba

    return to_rgba(colour)


def frame_times(start_s: float, end_s: float, step_s: float) -> np.ndarray:
    n = int(np.floor((end_s - start_s) / step_s + 1e-9)) + 1
    return start_s + step_s * np.arange(n)


def animate_run(run_dir: str | Path, out: str | Path, *, start: str | None = None,
                end: str | None = None, fps: int = 8, step_s: float = 60.0,
                force: bool = False) -> Path:
    """Write the animation of a run folder's recorded positions; returns the file written."""
    run_dir, out = Path(run_dir), Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise InputError(f"--out {str(out)!r}: write a .gif (Pillow) or an .mp4 (ffmpeg)")
    if suffix == ".mp4" and shutil.which("ffmpeg") is None:
        raise InputError("--out .mp4 needs ffmpeg, which is not installed (apt-get install "
                         "ffmpeg), or write a .gif")
    if not run_dir.is_dir():
        raise InputError(f"{run_dir}: no such run folder")
    if step_s <= 0 or fps <= 0:
        raise InputError("--step and --fps must be positive")
    check_output_file(out, force=force)
    anim = Animator(run_dir)
    sc = anim.scenario
    t0 = sc.start if start is None else _clock(start, "--from")
    t1 = sc.end if end is None else _clock(end, "--to")
    if not sc.start <= t0 < t1 <= sc.end:
        raise InputError(f"--from {format_clock(t0)} --to {format_clock(t1)}: must lie within "
                         f"the run ({format_clock(sc.start)}-{format_clock(sc.end)}), from "
                         "before to")
    times = frame_times(t0, t1, step_s)

    from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter

    movie = FuncAnimation(anim.fig, lambda i: anim.draw(float(times[i])), frames=len(times),
                          blit=False, repeat=False, cache_frame_data=False)
    writer = _stamped_gif_writer(PillowWriter)(fps=fps) if suffix == ".gif" else \
        FFMpegWriter(fps=fps, metadata={"comment": STAMP.decode()})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tmp = tmp_dir / out.name
        movie.save(tmp, writer=writer, dpi=anim.fig.dpi)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return out


def _stamped_gif_writer(base):
    """Pillow's GIF writer with the project's stamp as the GIF comment, so that a later
    `--force` knows the file for one of ours."""

    class StampedGif(base):
        def finish(self):
            if self._frames:
                self._frames[0].info["comment"] = STAMP
            super().finish()

    return StampedGif


def _clock(text: str, flag: str) -> float:
    try:
        return parse_clock(text)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{flag} {text!r}: expected a time of day such as 07:30") from exc

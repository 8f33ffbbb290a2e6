"""Draws docs/architecture.png, the one picture of docs/architecture.md (run it again after a
change of structure: python docs/draw_architecture.py)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

COMMANDS = [
    ("run / validate / network", "one run, its checks, the network"),
    ("compare / sweep / sensitivity",
     "sim/whatif/: many runs through one runner (processes or Dask)"),
    ("fit / calibrate", "sim/calibration/: the model against observed Gyeongju data"),
    ("plan", "sim/planning/: shuttle timetables meeting wait and load targets"),
    ("drill", "sim/emergency/drill.py: a drill log against the model"),
    ("viz / animate / bench", "sim/viz/ (Mesa SolaraViz), sim/animate.py, sim/bench.py"),
]
# (x, y, width, height, title, lines, colour): the boxes, in figure units of 0-100
BOXES = [
    (2, 80, 20, 15, "scenario", ["scenarios/*.toml", "sim/scenario.py + specs",
                                 "sim/overrides.py (--set)"], "#e8eef7"),
    (28, 80, 44, 15, "SummitModel  (sim/model.py)", [
        "a Mesa Model; one run of one scenario with one seed",
        "kernel: Mesa's event list + sim/events.py",
        "layers: sim/layers.py (one protocol, one list)"], "#fdf1dc"),
    (78, 80, 20, 15, "outputs/RUN/", ["metrics.json, trips.csv, ...",
                                      "pictures, report.html", "sim/outputs.py"], "#e8f4e8"),
    (2, 42, 30, 30, "traffic engine  (sim/traffic/)", [
        "engine.py      the facade agents call",
        "vehicles.py    the vehicle table",
        "links.py       capacity, signals, closures",
        "kernel.py      the compiled core (numba)",
        "loop_reference.py the rules, for reading",
        "traversal_log.py  link statistics",
        "guidance.py, demand.py, controls.py",
        "spec.py        its part of a scenario"], "#f6e6e6"),
    (36, 42, 30, 30, "summit layer", [
        "sim/summit.py     SummitLayer",
        "agents/summit/    delegates, shuttles,",
        "                  vans, hotels, screening",
        "sim/summit_spec.py its part of a scenario",
        "sim/summit_tables.py, sim/line_use.py",
        "sim/planning/     the plan helper"], "#eef6f6"),
    (70, 42, 28, 30, "emergency layer", [
        "sim/emergency/   EmergencyLayer (layer.py),",
        "                 spec, metrics, drills",
        "agents/emergency/ incidents, units,",
        "                  hospitals, evacuation"], "#eef6f6"),
    (2, 4, 96, 30, "commands  (run.py -> sim/cli.py)",
     [f"{name:<32}{what}" for name, what in COMMANDS], "#f2f2f2"),
]
ARROWS = [((22, 87.5), (28, 87.5), "load"), ((72, 87.5), (78, 87.5), "write"),
          ((40, 80), (17, 72), "advances"), ((50, 80), (51, 72), "layers"),
          ((62, 80), (84, 72), "layers"), ((36, 57), (32, 57), "vehicles")]


def draw(path: Path) -> None:
    fig = Figure(figsize=(12, 8.4))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.axis("off")
    for x, y, w, h, title, lines, colour in BOXES:
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.4", fc=colour,
                                    ec="#555555", lw=1.0))
        ax.text(x + 1, y + h - 2.2, title, fontsize=11, fontweight="bold", va="top")
        for i, line in enumerate(lines):
            ax.text(x + 1, y + h - 6.2 - 3.0 * i, line, fontsize=8.6, va="top",
                    family="monospace")
    for (x0, y0), (x1, y1), label in ARROWS:
        ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle="-|>", mutation_scale=14,
                                     color="#333333", lw=1.2))
        if label:
            ax.text((x0 + x1) / 2 + 0.6, (y0 + y1) / 2 + 0.8, label, fontsize=8,
                    color="#333333")
    ax.text(36, 38.5, "the emergency layer's units drive in the same engine as everyone else",
            fontsize=8, color="#555555")
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    draw(Path(__file__).with_name("architecture.png"))

"""The main places a planner finds their way by, named on the run's maps (the live view, the
congestion map, the animation): HICO and the scenario's other venues, the Bomun hotels as one
group, the KTX station and the scenario's other arrival hubs, City Hall, the express bus
terminal and Bulguksa. Names and positions come from the network's places and the scenario's
venues and hubs; only the short names written on the map are set here.

A small set, placed so that no two labels overlap: short names, offsets tried around each marker,
a leader line where the nearby spots are taken. A hub outside the frame (an airport) gets a
pointer at the frame's edge with its distance from the centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib import patheffects

from .netmap import PLACE_STYLE, _overlap

# the name written on the map, for the places whose full name is long (others: their own name)
SHORT_NAMES = {
    "gyeongju ktx station": "KTX Gyeongju (Singyeongju)",
    "gyeongju city hall": "City Hall",
    "gyeongju express bus terminal": "Express Bus Terminal",
    "gyeongju intercity bus terminal": "Intercity Bus Terminal",
    "gyeongju arts center": "Arts Center",
    "gyeongju national museum": "National Museum",
    "international media center (imc)": "IMC",
    "bulguksa temple": "Bulguksa",
    "gimhae international airport": "Gimhae airport",
    "daegu international airport": "Daegu airport",
    "pohang gyeongju airport": "Pohang airport",
    "ulsan airport": "Ulsan airport",
}
# the landmarks named on every map when the network has them (besides venues and hubs)
LANDMARKS = ("gyeongju city hall", "gyeongju express bus terminal", "bulguksa temple")
MERGE_M = 600.0  # a place this close to one already named is left to that one's label
BOMUN_RADIUS_M = 3000.0  # hotels this close to HICO are "the Bomun hotels"
HOTEL_GROUP = "Bomun hotels"


@dataclass(frozen=True)
class MapPlace:
    """One label on a map: its text, where its marker stands, the marker's kind (a
    netmap.PLACE_STYLE key), whether it is an arrival hub (pointed at when out of view), and
    for a group (the Bomun hotels) every member's position."""

    label: str
    lat: float
    lon: float
    kind: str
    hub: bool = False
    members: tuple[tuple[float, float], ...] = ()


def short_name(name: str) -> str:
    return SHORT_NAMES.get(name.casefold(), name)


def scenario_names(spec) -> tuple[list[str], list[str]]:
    """(venue names, hub names) of a scenario: a Scenario or its JSON dump (a run's manifest)."""
    if spec is None:
        return [], []
    if isinstance(spec, dict):
        return ([v["name"] for v in spec.get("venues") or []],
                [t["hub"] for t in spec.get("travel") or []])
    return [v.name for v in spec.venues], [t.hub for t in spec.travel]


def _metres(a, b) -> float:
    """Distance between two (lat, lon) points, metres (flat earth: places a few km apart)."""
    lat = np.radians((a[0] + b[0]) / 2)
    dy = (a[0] - b[0]) * 111_195.0
    dx = (a[1] - b[1]) * 111_195.0 * np.cos(lat)
    return float(np.hypot(dx, dy))


def main_places(net, venues=None, hubs=None) -> list[MapPlace]:
    """The places to name, most important first. `venues` and `hubs` are the scenario's names
    (places or node ids; those that are not places are skipped); None: every venue of the
    network. The KTX station is named either way (pointed at when out of view if a hub)."""
    by_name = {p.name.casefold(): p for p in net.places}

    def place(name):
        return by_name.get(str(name).strip().casefold())

    hico = place("HICO")
    if venues is None:
        venues = [p.name for p in net.places if p.kind == "venue"]
    hubs = hubs or []
    out: list[MapPlace] = []

    def add(p, *, hub=False):
        if p is None or any(_metres((p.lat, p.lon), (q.lat, q.lon)) < MERGE_M for q in out
                            if not q.members):
            return
        kind = p.kind if p.kind in PLACE_STYLE else "landmark"
        out.append(MapPlace(short_name(p.name), p.lat, p.lon, kind, hub=hub))

    add(hico)
    for name in venues:  # hotels that host a session go with the hotels
        p = place(name)
        if p is not None and p.kind != "hotel":
            add(p)
    for name in dict.fromkeys(hubs):
        add(place(name), hub=True)
    for p in net.places:  # the KTX station, whether the scenario's travellers use it or not
        if p.kind == "station":
            add(p)
    for name in LANDMARKS:
        add(place(name))
    if hico is not None:
        hotels = [(p.lat, p.lon) for p in net.places if p.kind == "hotel"
                  and _metres((p.lat, p.lon), (hico.lat, hico.lon)) <= BOMUN_RADIUS_M]
        if len(hotels) >= 2:
            lat, lon = np.mean(hotels, axis=0)
            out.append(MapPlace(HOTEL_GROUP, float(lat), float(lon), "hotel",
                                members=tuple(hotels)))
    return out


def legend_handles() -> list:
    """Legend entries for the place markers the maps use."""
    from matplotlib.lines import Line2D

    entries = (("venue", "summit venue"), ("hotel", "hotel"),
               ("station", "transport hub"), ("landmark", "landmark"))
    return [Line2D([], [], marker=PLACE_STYLE[k][0], ls="", mfc=PLACE_STYLE[k][1], mec="white",
                   ms=9 if k == "venue" else 6, label=label) for k, label in entries]


def region_places(net, hubs=None) -> list[MapPlace]:
    """For a map of the region: Gyeongju (at City Hall), its KTX station, and the airports
    (the scenario's hubs among them pointed at when out of view)."""
    hubs = {str(h).strip().casefold() for h in (hubs or ())}
    out = []
    for p in net.places:
        key = p.name.casefold()
        if key == "gyeongju city hall":
            out.insert(0, MapPlace("Gyeongju", p.lat, p.lon, "landmark"))
        elif p.kind in ("station", "airport"):
            out.append(MapPlace(short_name(p.name), p.lat, p.lon, p.kind, hub=key in hubs))
    return out


# candidate label offsets (points) around a marker: close ones first, then ones far enough out
# to need a leader line
NEAR = ((6, 3), (6, -12), (-7, 3), (-7, -12), (9, -4), (-10, -4), (-3, 8), (-3, -17))
FAR = tuple((int(r * np.cos(a)), int(r * np.sin(a)))
            for r in (26, 40, 56) for a in np.radians((20, -20, 160, 200, 60, -60, 120, -120,
                                                       90, -90)))
LEADER_FROM = 15.0  # offsets longer than this (points) get a leader line
HALO = [patheffects.withStroke(linewidth=3.0, foreground="white")]


class LabelPlacer:
    """Greedy placement on one axes: each label takes the first offset around its marker whose
    box overlaps no label or marker already placed and stays inside the frame (boxes in display
    points, so place after the axes has its final size and limits)."""

    def __init__(self, ax, fontsize: float = 8.0):
        self.ax, self.fontsize = ax, fontsize
        self.boxes: list[tuple[float, float, float, float]] = []
        self.artists: list = []
        self.placed: list[tuple[str, tuple[float, float, float, float]]] = []

    def _points(self, x: float, y: float) -> tuple[float, float]:
        px, py = self.ax.transData.transform((x, y)) * 72 / self.ax.figure.dpi
        return float(px), float(py)

    def _frame(self):
        return self.ax.get_window_extent().extents * 72 / self.ax.figure.dpi

    def block(self, x: float, y: float, radius: float) -> None:
        """Keep labels off a marker (radius in points)."""
        px, py = self._points(x, y)
        self.boxes.append((px - radius, py - radius, px + radius, py + radius))

    def block_axes_box(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Keep labels off a part of the axes (axes fractions: a clock, a text box)."""
        f = self._frame()
        w, h = f[2] - f[0], f[3] - f[1]
        self.boxes.append((f[0] + x0 * w, f[1] + y0 * h, f[0] + x1 * w, f[1] + y1 * h))

    def _size(self, text: str, bold: bool) -> tuple[float, float]:
        lines = text.split("\n")
        w = (0.62 if bold else 0.58) * self.fontsize * max(len(s) for s in lines) + 3
        return w, 1.3 * self.fontsize * len(lines) + 2

    def add(self, x: float, y: float, text: str, *, bold: bool = False) -> bool:
        """Label the point (x, y); False when it lies outside the frame (nothing drawn)."""
        px, py = self._points(x, y)
        frame = self._frame()
        if not (frame[0] <= px <= frame[2] and frame[1] <= py <= frame[3]):
            return False
        w, h = self._size(text, bold)
        inside = []
        for dx, dy in (*NEAR, *FAR):
            left = px + dx if dx >= 0 else px + dx - w
            bottom = py + dy if dy >= 0 or (dx, dy) in NEAR else py + dy - h
            box = (left, bottom, left + w, bottom + h)
            if box[0] >= frame[0] + 2 and box[2] <= frame[2] - 2 and box[1] >= frame[1] + 2 \
                    and box[3] <= frame[3] - 2:
                inside.append((dx, dy, box))
        free = [c for c in inside if not any(_overlap(c[2], b) for b in self.boxes)]
        dx, dy, box = (free or inside or [(*NEAR[0], (px, py, px + w, py + h))])[0]
        self.boxes.append(box)
        self.placed.append((text, box))
        far = np.hypot(dx, dy) > LEADER_FROM
        # the text box's corner nearest the marker sits at the offset
        ha = "left" if dx >= 0 else "right"
        va = "bottom" if dy >= 0 or (dx, dy) in NEAR else "top"
        art = self.ax.annotate(
            text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=self.fontsize,
            fontweight="bold" if bold else "normal", ha=ha, va=va, zorder=15,
            color="#111111", path_effects=HALO, annotation_clip=False,
            arrowprops=dict(arrowstyle="-", color="#333333", lw=0.8, shrinkA=1, shrinkB=3)
            if far else None)
        self.artists.append(art)
        return True


def _xy(proj, lat, lon) -> tuple[float, float]:
    x, y = proj.to_xy(lat, lon)
    return float(x) / 1000.0, float(y) / 1000.0


def draw_main_places(ax, proj, places: list[MapPlace], *, fontsize: float = 8.0,
                     marker_scale: float = 1.0, keep_clear=(), pointers: bool = True,
                     placer: LabelPlacer | None = None) -> LabelPlacer:
    """Markers and labels for `places` on a map axes in projected km (after its limits and
    aspect are set). `keep_clear`: boxes in axes fractions (x0, y0, x1, y1) no label may cover.
    Hubs outside the frame get a pointer at the edge (`pointers`)."""
    ax.apply_aspect()
    placer = placer or LabelPlacer(ax, fontsize)
    for box in keep_clear:
        placer.block_axes_box(*box)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    shown, away = [], []
    for p in places:
        marker, colour, size, _ = PLACE_STYLE[p.kind]
        size *= marker_scale
        pts = [_xy(proj, la, lo) for la, lo in (p.members or ((p.lat, p.lon),))]
        pts = [q for q in pts if x0 <= q[0] <= x1 and y0 <= q[1] <= y1]
        if not pts:
            if p.hub:
                away.append(p)
            continue
        if p.members:  # a group: every member small, the label at their middle
            size = 0.7 * size
        ax.scatter([q[0] for q in pts], [q[1] for q in pts], marker=marker, s=size, c=colour,
                   edgecolors="white", linewidths=0.8, zorder=14)
        for q in pts:
            placer.block(q[0], q[1], 0.5 * np.sqrt(size) + 1)
        shown.append((p, _xy(proj, p.lat, p.lon)))
    if pointers:  # first: their spots at the edge are fixed
        for p in away:
            _pointer(ax, proj, p, placer)
    for p, (x, y) in shown:
        placer.add(x, y, p.label, bold=p.label == "HICO")
    return placer


def _pointer(ax, proj, p: MapPlace, placer: LabelPlacer) -> None:
    """An arrow at the frame's edge towards a hub out of view, with its straight-line distance
    from the map's origin (City Hall)."""
    x, y = _xy(proj, p.lat, p.lon)
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    dx, dy = x - cx, y - cy
    norm = float(np.hypot(dx, dy))
    ux, uy = dx / norm, dy / norm
    # where the ray from the frame's centre leaves it, 2% inside the edge
    s = min((x1 - x0) * 0.48 / abs(dx) if dx else np.inf,
            (y1 - y0) * 0.48 / abs(dy) if dy else np.inf)
    ex, ey = cx + s * dx, cy + s * dy
    # the text further in, clear of the edge by its size
    fs = placer.fontsize * 0.9
    text = f"{p.label}\n{np.hypot(x, y):.0f} km"
    w, h = placer._size(text, False)
    back = 0.5 * np.hypot(w * ux, h * uy) + 24  # points from the tip to the text's centre
    km_per_pt = (x1 - x0) / (ax.get_window_extent().width * 72 / ax.figure.dpi)
    tx, ty = ex - back * km_per_pt * ux, ey - back * km_per_pt * uy
    ax.annotate(text, (ex, ey), xytext=(tx, ty), fontsize=fs, color="#333333",
                ha="center", va="center", zorder=15, path_effects=HALO,
                arrowprops=dict(arrowstyle="-|>", color="#333333", lw=1.0, shrinkA=2,
                                shrinkB=0),
                annotation_clip=False)
    px, py = placer._points(tx, ty)
    placer.boxes.append((px - w / 2, py - h / 2, px + w / 2, py + h / 2))

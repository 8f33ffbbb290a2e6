"""A generated regional network and a day of demand on it: the scale workload of `bench`.

The embedded Gyeongju network has about 1,500 nodes and a day of some 300,000 trips. To see how
the engine behaves on a region ten times larger, `write_scale_workload` writes a GENERATED road
network (not a real place: no OpenStreetMap extract is at hand) in the project's own network
format (docs/network-format.md), with a scenario of background demand on it:

- the network: a jittered grid of two-way streets (`spacing_m` apart, 300 m by default), every
  `ARTERIAL_EVERY`-th line an arterial (the two nearest the middle national roads), the lines half
  way between them collectors, the rest local streets of which about a tenth of the blocks are
  missing (dead ends and superblocks, but never a piece cut off: the network stays strongly
  connected); two expressways, east-west and north-south, cross it with a system junction
  where they meet, an interchange (a ramp to the grid) at every other arterial they pass, and
  a cordon node 2 km beyond each edge. The grid is placed at Gyeongju's latitude so that
  distances read as they would there; its coordinates are made up.
- the demand: a square of `zones_per_side`^2 zones over the grid, each with `nodes_per_zone`
  trip-end junctions on its collectors and arterials, population falling off from a centre and
  two sub-centres and jobs more concentrated than people; `trips` vehicle trips a day on the
  shipped normal weekday's hourly profile: 94% between the zones (the gravity model), 4% to and
  from the four cordons, 2% through the region on the expressways.

The zones are few on purpose: the engine keeps a next-link table of (trip-end nodes x network
nodes) entries and rebuilds it every re-route interval, so the trip ends, not the zones' size,
set its memory (docs/traffic-model.md): 204 trip ends x 20,063 nodes are 4.1 million entries,
about 150 MB as the Python lists the event loops read. A first draft (arterials every 2.4 km,
12 x 12 zones of three trip ends: 436) passed 11 GB within four minutes of the day's run; with
204 trip ends it still jammed at the morning peak and passed 16 GB, unfinished, after 18
minutes. BENCHMARKS.md has the figures of this one.

Everything is drawn from one seed: the same arguments write the same bytes.
`python -m sim.scale_workload DIR` writes the default 20,000-node, 2-million-trip files.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from pathlib import Path

import numpy as np

# Gyeongju's latitude (city hall, about 35.856 N 129.225 E): the generated region's south-west
# corner sits a little south-west of it so that the grid's middle falls near the city.
ORIGIN_LAT, ORIGIN_LON = 35.70, 129.00
M_PER_DEG_LAT = 111_320.0

ARTERIAL_EVERY = 4  # grid lines between arterials (1.2 km at 300 m blocks)
INTERCHANGE_EVERY = 2  # arterials between expressway interchanges (2.4 km)
DROP_LOCAL_SHARE = 0.10  # local blocks left out (dead ends, superblocks)
JITTER = 0.25  # of a block, each way: the grid is not ruled
CORDON_M = 2000.0  # the expressways' cordon nodes beyond the grid's edge

# (class, lanes per direction, posted km/h)
LOCAL = ("local", 1, 30)
COLLECTOR = ("collector", 1, 50)
ARTERIAL = ("arterial", 2, 60)
NATIONAL = ("national", 2, 70)
EXPRESSWAY = ("expressway", 2, 100)
RAMP = ("ramp", 1, 50)

# the shipped normal weekday's profile (scenarios/normal_weekday.toml: generic Korean
# small-city shape) and its commuting direction by hour
HOURLY = [0.010, 0.006, 0.005, 0.005, 0.006, 0.013, 0.032, 0.068, 0.088, 0.062, 0.052, 0.051,
          0.052, 0.052, 0.054, 0.056, 0.061, 0.074, 0.082, 0.060, 0.042, 0.032, 0.022, 0.015]
TO_WORK = [0.50, 0.50, 0.50, 0.50, 0.50, 0.65, 0.80, 0.80, 0.80, 0.80, 0.50, 0.50, 0.50, 0.50,
           0.50, 0.50, 0.40, 0.20, 0.20, 0.20, 0.20, 0.50, 0.50, 0.50]
INTERNAL_SHARE, EXTERNAL_SHARE, THROUGH_SHARE = 0.94, 0.04, 0.02
POPULATION = 1_000_000  # relative weights only: the gravity model reads shares
JOBS = 450_000

NETWORK_FILE = "scale_network.json"
SCENARIO_FILE = "scale_weekday.toml"


def grid_shape(nodes: int) -> tuple[int, int]:
    """Rows and columns of the smallest near-square grid with at least `nodes` nodes."""
    rows = math.ceil(math.sqrt(nodes))
    return rows, math.ceil(nodes / rows)


def _line_class(i: int, n: int) -> tuple[str, int, int]:
    k = ARTERIAL_EVERY
    if i % k == k // 2:
        middle = (n // 2) // k * k + k // 2  # the arterial nearest the middle
        return NATIONAL if i == middle else ARTERIAL
    if i % k == 0:
        return COLLECTOR
    return LOCAL


def _latlon(x: float, y: float) -> tuple[float, float]:
    lat = ORIGIN_LAT + y / M_PER_DEG_LAT
    lon = ORIGIN_LON + x / (M_PER_DEG_LAT * math.cos(math.radians(ORIGIN_LAT)))
    return round(lat, 6), round(lon, 6)


class _Components:
    """Union-find over node indices (keeps the street grid in one piece)."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, a: int) -> int:
        p = self.parent
        while p[a] != a:
            p[a] = p[p[a]]
            a = p[a]
        return a

    def union(self, a: int, b: int) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return False
        self.parent[ra] = rb
        return True


def generate_network(nodes: int = 20_000, *, seed: int = 1, spacing_m: float = 300.0) -> dict:
    """The generated region as a network file's content (the own format, see the module
    docstring); at least `nodes` grid nodes, plus the expressways' few."""
    rng = np.random.default_rng([seed, 1])
    rows, cols = grid_shape(nodes)
    jit = rng.uniform(-JITTER, JITTER, size=(rows, cols, 2)) * spacing_m
    gx = np.arange(cols)[None, :] * spacing_m + jit[:, :, 0]
    gy = np.arange(rows)[:, None] * spacing_m + jit[:, :, 1]

    def gid(r: int, c: int) -> str:
        return f"g{r}_{c}"

    node_list = [{"id": gid(r, c), "lat": _latlon(gx[r, c], gy[r, c])[0],
                  "lon": _latlon(gx[r, c], gy[r, c])[1]}
                 for r in range(rows) for c in range(cols)]
    # street segments along rows (r, c)-(r, c+1) and columns (r, c)-(r+1, c), in that order
    segs = [(r, c, r, c + 1) for r in range(rows) for c in range(cols - 1)]
    segs += [(r, c, r + 1, c) for c in range(cols) for r in range(rows - 1)]

    def seg_class(s):
        r0, c0, r1, _ = s
        return _line_class(r0, rows) if r0 == r1 else _line_class(c0, cols)

    local = np.array([seg_class(s) is LOCAL for s in segs])
    drop = local & (rng.random(len(segs)) < DROP_LOCAL_SHARE)
    comps = _Components(rows * cols)
    for s, d in zip(segs, drop, strict=True):
        if not d:
            comps.union(s[0] * cols + s[1], s[2] * cols + s[3])
    keep = ~drop
    for i in np.flatnonzero(drop):  # a dropped block that would cut a piece off stays
        r0, c0, r1, c1 = segs[i]
        if comps.union(r0 * cols + c0, r1 * cols + c1):
            keep[i] = True

    roads = []

    def add_road(name, cls, path):
        road_class, lanes, speed = cls
        roads.append({"name": name, "class": road_class, "lanes": lanes, "speed_kmh": speed,
                      "path": path})

    # each grid line is one road per unbroken run of kept blocks
    kept = {segs[i] for i in np.flatnonzero(keep)}
    for horizontal, n_lines, n_along in ((True, rows, cols), (False, cols, rows)):
        for i in range(n_lines):
            cls = _line_class(i, n_lines)
            kind = "row" if horizontal else "column"
            label = {"local": "Local street", "collector": "Collector",
                     "arterial": "Arterial", "national": "National road"}[cls[0]]
            run: list[str] = []
            piece = 0
            for j in range(n_along):
                here = (i, j) if horizontal else (j, i)
                run.append(gid(*here))
                nxt = (i, j + 1) if horizontal else (j + 1, i)
                if j + 1 < n_along and (*here, *nxt) in kept:
                    continue
                if len(run) >= 2:
                    piece += 1
                    add_road(f"{label} {kind} {i}" + (f" ({piece})" if piece > 1 else ""),
                             cls, run)
                run = []

    # expressways: east-west between two rows, north-south between two columns
    r_e, c_e = int(rows * 0.35), int(cols * 0.6)
    y_e = (gy[r_e, :].mean() + gy[r_e + 1, :].mean()) / 2
    x_e = (gx[:, c_e].mean() + gx[:, c_e + 1].mean()) / 2
    x_end, y_end = (cols - 1) * spacing_m, (rows - 1) * spacing_m
    extra = []

    def xnode(nid, x, y, name=""):
        lat, lon = _latlon(x, y)
        extra.append({"id": nid, "lat": lat, "lon": lon, "name": name})
        return nid

    jct = xnode("x_jct", x_e, y_e, "System junction (generated)")
    k = ARTERIAL_EVERY
    for axis, label in (("ew", "East-West Expressway"), ("ns", "North-South Expressway")):
        # interchange positions along the corridor: every arterial it crosses
        n_cross = cols if axis == "ew" else rows
        stops: list[tuple[float, str]] = []
        for i in range(n_cross):
            if i % (k * INTERCHANGE_EVERY) != k // 2:
                continue
            if axis == "ew":
                x, grid_node = gx[:, i].mean(), gid(r_e, i)
                nid = xnode(f"x_ew_{i}", x, y_e, f"{label} IC {i}")
                stops.append((x, nid))
            else:
                y, grid_node = gy[i, :].mean(), gid(i, c_e)
                nid = xnode(f"x_ns_{i}", x_e, y, f"{label} IC {i}")
                stops.append((y, nid))
            add_road(f"{label} IC {i} ramp", RAMP, [nid, grid_node])
        if axis == "ew":
            a = xnode("x_west", -CORDON_M, y_e, "West cordon (generated)")
            b = xnode("x_east", x_end + CORDON_M, y_e, "East cordon (generated)")
            stops += [(-CORDON_M, a), (x_end + CORDON_M, b), (x_e, jct)]
        else:
            a = xnode("x_south", x_e, -CORDON_M, "South cordon (generated)")
            b = xnode("x_north", x_e, y_end + CORDON_M, "North cordon (generated)")
            stops += [(-CORDON_M, a), (y_end + CORDON_M, b), (y_e, jct)]
        stops.sort()
        add_road(label, EXPRESSWAY, [nid for _, nid in stops])

    return {
        "format": "summit-sim-network",
        "version": 1,
        "name": f"Generated region ({rows}x{cols} grid, seed {seed})",
        "sources": {"generated": "sim/scale_workload.py: a GENERATED network for the scale "
                                 "benchmark, not a real place; coordinates near Gyeongju's "
                                 "latitude are made up"},
        "nodes": node_list + extra,
        "roads": roads,
    }


def _junction_ids(net: dict) -> dict[str, int]:
    """Grid junction id (three neighbours or more) -> how many of its neighbours it reaches by
    arterial or national road, plus a half for each by collector: trip ends go where the big
    roads cross, which carry the load a zone puts on its few trip-end nodes."""
    score: dict[str, float] = {}
    degree: dict[str, set[str]] = {}
    weight = {"national": 1.0, "arterial": 1.0, "collector": 0.5}
    for road in net["roads"]:
        w = weight.get(road["class"], 0.0)
        for a, b in itertools.pairwise(road["path"]):
            for x, y in ((a, b), (b, a)):
                degree.setdefault(x, set()).add(y)
                score[x] = score.get(x, 0.0) + w
    return {n: score[n] for n, nb in degree.items() if len(nb) >= 3 and n.startswith("g")}


def generate_demand(net: dict, *, trips: float = 2_000_000, zones_per_side: int = 10,
                    nodes_per_zone: int = 2, seed: int = 1) -> dict:
    """The scenario's [traffic] tables for the generated network (see the module docstring)."""
    rng = np.random.default_rng([seed, 2])
    ids = {n["id"]: n for n in net["nodes"]}
    rows = 1 + max(int(i[1:].split("_")[0]) for i in ids if i.startswith("g"))
    cols = 1 + max(int(i.split("_")[1]) for i in ids if i.startswith("g"))
    junctions = _junction_ids(net)
    grid = [n for n in net["nodes"] if n["id"].startswith("g")]
    lat_lo, lat_hi = min(n["lat"] for n in grid), max(n["lat"] for n in grid)
    lon_lo, lon_hi = min(n["lon"] for n in grid), max(n["lon"] for n in grid)
    m_lon = M_PER_DEG_LAT * math.cos(math.radians((lat_lo + lat_hi) / 2))
    height = (lat_hi - lat_lo) * M_PER_DEG_LAT
    width = (lon_hi - lon_lo) * m_lon
    size = max(height, width)
    # centres of activity (fractions of the grid, north then east): the centre and two
    # sub-centres, with their weight; jobs fall off over 15% of the region's size, people 24%
    centres = [((0.5, 0.5), 1.0), ((0.22, 0.7), 0.45), ((0.75, 0.25), 0.35)]
    zones, pop_w, job_w = [], [], []
    rb = np.linspace(0, rows, zones_per_side + 1).astype(int)
    cb = np.linspace(0, cols, zones_per_side + 1).astype(int)
    for zr in range(zones_per_side):
        for zc in range(zones_per_side):
            block = [f"g{r}_{c}" for r in range(rb[zr], rb[zr + 1])
                     for c in range(cb[zc], cb[zc + 1])]
            lat = float(np.mean([ids[b]["lat"] for b in block]))
            lon = float(np.mean([ids[b]["lon"] for b in block]))
            best = max((junctions.get(b, 0.0) for b in block), default=0.0)
            ends = [b for b in block if b in junctions and junctions[b] == best] or block
            chosen = rng.choice(len(ends), size=min(nodes_per_zone, len(ends)), replace=False)
            dy, dx = (lat - lat_lo) * M_PER_DEG_LAT, (lon - lon_lo) * m_lon
            half = max(abs(ids[block[0]]["lat"] - ids[block[-1]]["lat"]) * M_PER_DEG_LAT,
                       abs(ids[block[0]]["lon"] - ids[block[-1]]["lon"]) * m_lon) / 2
            p = j = 0.0
            for (fr, fc), weight in centres:
                d = math.hypot(dx - fc * width, dy - fr * height)
                p += weight * math.exp(-d / (0.24 * size))
                j += weight * math.exp(-d / (0.15 * size))
            pop_w.append(p + 0.02)  # a rural floor
            job_w.append(j + 0.01)
            zones.append({"name": f"Zone {zr}-{zc}", "lat": round(lat, 6), "lon": round(lon, 6),
                          "radius_m": round(max(half, 300.0) * 1.5),
                          "nodes": [ends[int(i)] for i in sorted(chosen)]})
    pop_w, job_w = np.array(pop_w), np.array(job_w)
    for z, p, j in zip(zones, POPULATION * pop_w / pop_w.sum(), JOBS * job_w / job_w.sum(),
                       strict=True):
        z["population"] = round(float(p))
        z["jobs"] = round(float(j))
    cordons = ["x_west", "x_east", "x_south", "x_north"]
    external = [{"name": f"{c[2:].title()} cordon", "node": c,
                 "trips_per_day": round(trips * EXTERNAL_SHARE / len(cordons))}
                for c in cordons]
    through = [{"name": "East-West Expressway through traffic", "origin": "x_west",
                "destination": "x_east", "trips_per_day": round(trips * THROUGH_SHARE / 2)},
               {"name": "North-South Expressway through traffic", "origin": "x_south",
                "destination": "x_north", "trips_per_day": round(trips * THROUGH_SHARE / 2)}]
    daily = round(trips - sum(x["trips_per_day"] for x in external + through))
    return {"daily_trips": daily, "zones": zones, "external": external, "through": through}


def _toml_value(v) -> str:
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def scenario_toml(demand: dict, *, network_file: str = NETWORK_FILE, seed: int = 1) -> str:
    """The scenario file's text: the generated network and its day of background demand."""
    total = demand["daily_trips"] + sum(x["trips_per_day"] for x in demand["external"]) + sum(
        x["trips_per_day"] for x in demand["through"])
    lines = [
        "# GENERATED by sim/scale_workload.py for the scale benchmark (python run.py bench "
        "--scale):",
        "# a made-up region, not a real place, with background traffic only.",
        f"# {total:,} vehicle trips a day: {demand['daily_trips']:,} between "
        f"{len(demand['zones'])} zones, the rest at the four cordons and through.",
        'name = "Generated region weekday (scale benchmark)"',
        'description = "GENERATED regional network and demand for the scale benchmark: not a '
        'real place."',
        'start = "00:00"',
        'end = "24:00"',
        f"seed = {seed}",
        "",
        "[network]",
        f"file = {_toml_value(network_file)}",
        "",
        "[traffic]",
        f"daily_trips = {demand['daily_trips']}",
        "truck_share = 0.08",
        "gravity_beta_per_min = 0.1",
        "reroute_interval_s = 900",
        'signal_plans = [{ start = "00:00", end = "05:00", flashing = true }]',
        "",
        "[traffic.profile]",
        f"hourly = {_toml_value(HOURLY)}",
        f"to_work = {_toml_value(TO_WORK)}",
        'source = "the shipped normal weekday\'s profile (scenarios/normal_weekday.toml)"',
    ]
    for group in ("zones", "external", "through"):
        for item in demand[group]:
            lines += ["", f"[[traffic.{group}]]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in item.items()]
    return "\n".join(lines) + "\n"


def write_scale_workload(folder: str | Path, *, nodes: int = 20_000, trips: float = 2_000_000,
                         zones_per_side: int = 10, nodes_per_zone: int = 2, seed: int = 1,
                         spacing_m: float = 300.0) -> Path:
    """Write the generated network and its scenario into `folder`; the scenario's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    net = generate_network(nodes, seed=seed, spacing_m=spacing_m)
    demand = generate_demand(net, trips=trips, zones_per_side=zones_per_side,
                             nodes_per_zone=nodes_per_zone, seed=seed)
    (folder / NETWORK_FILE).write_text(json.dumps(net, separators=(",", ":")) + "\n",
                                       encoding="utf-8")
    path = folder / SCENARIO_FILE
    path.write_text(scenario_toml(demand, seed=seed), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m sim.scale_workload", description=__doc__.split(
        "\n")[0])
    p.add_argument("folder")
    p.add_argument("--nodes", type=int, default=20_000)
    p.add_argument("--trips", type=float, default=2_000_000)
    p.add_argument("--zones-per-side", type=int, default=10)
    p.add_argument("--nodes-per-zone", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    path = write_scale_workload(a.folder, nodes=a.nodes, trips=a.trips,
                                zones_per_side=a.zones_per_side,
                                nodes_per_zone=a.nodes_per_zone, seed=a.seed)
    print(path)


if __name__ == "__main__":
    main()

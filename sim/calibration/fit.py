"""Compare a finished run with the observations: counts by GEH, travel times by ratio, emergency
response shares side by side; fitted and hold-out rows reported apart."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ..errors import InputError
from . import goodness
from .observed import Observations

# An observed emergency measure and the run's figure it is compared with: (group of incident
# types in metrics.json `emergency.by_group`, key, factor from the run's unit to the observed)
EMERGENCY_MEASURES = {
    "fire_arrival_within_7min_share": ("fire", "within_7min_rate", 1.0),
    "fire_arrival_within_5min_share": ("fire", "within_5min_rate", 1.0),
    "fire_mean_arrival_time": ("fire", "call_to_arrival_mean_s", 1 / 60),
    "ambulance_arrival_within_5min_share": ("ems", "within_5min_rate", 1.0),
    "ambulance_mean_arrival_time": ("ems", "call_to_arrival_mean_s", 1 / 60),
}


class RunTables:
    """What a fit needs of a run: directed links (nodes, vehicles entered, uncongested time),
    each link's vehicles and travel-time sums per hour of the run, its window and metrics;
    read from a run folder or taken from a finished model."""

    def __init__(self, *, where: str, scenario_name: str, metrics: dict, start_s: float,
                 end_s: float, from_nodes: list[str], to_nodes: list[str], entered, calm_s,
                 hour_n, hour_tt):
        self.where = where
        self.scenario_name = scenario_name
        self.metrics = metrics
        self.start_s, self.end_s = float(start_s), float(end_s)
        self.nodes = sorted(set(from_nodes) | set(to_nodes))
        self.node_index = {n: i for i, n in enumerate(self.nodes)}
        self.link_from = np.array([self.node_index[n] for n in from_nodes], dtype=np.int64)
        self.link_to = np.array([self.node_index[n] for n in to_nodes], dtype=np.int64)
        self.link_by_pair = {pair: i for i, pair in enumerate(zip(from_nodes, to_nodes,
                                                                  strict=True))}
        self.entered = np.asarray(entered, dtype=float)
        self.calm_s = np.asarray(calm_s, dtype=float)
        self.hour_n = np.asarray(hour_n, dtype=float)
        self.hour_tt = np.asarray(hour_tt, dtype=float)
        self.hour_start = self.start_s + 3600.0 * np.arange(self.hour_n.shape[1])
        self.pairs, self.slot = np.unique(np.stack([self.link_from, self.link_to]), axis=1,
                                          return_inverse=True)
        self._graphs: dict[int, csr_matrix] = {}

    @classmethod
    def from_model(cls, model, metrics: dict) -> RunTables:
        from ..metrics import link_hours, uncongested_times

        engine = model.engine
        net = engine.net
        _, n, tt = link_hours(engine)
        return cls(where="this run", scenario_name=model.spec.name, metrics=metrics,
                   start_s=engine.start_s, end_s=engine.end_s,
                   from_nodes=[lk.from_node for lk in net.links],
                   to_nodes=[lk.to_node for lk in net.links],
                   entered=engine.link_summary()["entered"], calm_s=uncongested_times(engine),
                   hour_n=n, hour_tt=tt)

    @classmethod
    def from_folder(cls, run_dir: str | Path) -> RunTables:
        folder = Path(run_dir)
        if not (folder / "metrics.json").is_file():
            raise InputError(f"{folder}: not a finished run (no metrics.json)")
        for name in ("link_stats.csv", "link_hours.csv"):
            if not (folder / name).is_file():
                raise InputError(f"{folder}: no {name}; a run written by an earlier "
                                 "version of summit-sim: run the scenario again")
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        scenario = manifest.get("scenario", {})
        start_s = float(scenario.get("start", 0.0))
        end_s = float(scenario.get("end", 86400.0))
        with open(folder / "link_stats.csv", newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        if rows and "uncongested_s" not in rows[0]:
            raise InputError(f"{folder}: link_stats.csv has no uncongested_s; a run "
                             "written by an earlier version of summit-sim: run it again")
        n_hours = max(1, math.ceil((end_s - start_s) / 3600.0))
        hour_n = np.zeros((len(rows), n_hours))
        hour_tt = np.zeros((len(rows), n_hours))
        with open(folder / "link_hours.csv", newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                h = round((float(r["hour_start_s"]) - start_s) / 3600.0)
                if 0 <= h < n_hours:
                    i, n = int(r["link_id"]), int(r["vehicles"])
                    hour_n[i, h] += n
                    hour_tt[i, h] += n * float(r["mean_tt_s"])
        return cls(where=str(folder), scenario_name=scenario.get("name", ""), metrics=metrics,
                   start_s=start_s, end_s=end_s, from_nodes=[r["from_node"] for r in rows],
                   to_nodes=[r["to_node"] for r in rows],
                   entered=[int(r["entered"]) for r in rows],
                   calm_s=[float(r["uncongested_s"]) for r in rows], hour_n=hour_n,
                   hour_tt=hour_tt)

    @property
    def window_h(self) -> float:
        return (self.end_s - self.start_s) / 3600.0

    def hours_of(self, lo: float, hi: float) -> list[int]:
        """Indices of the run's hours that start inside [lo, hi) hours of the day."""
        starts = self.hour_start / 3600.0
        return [h for h, s in enumerate(starts) if lo - 1e-9 <= s < hi - 1e-9]

    def hour_costs(self, h: int) -> np.ndarray:
        """Each link's mean travel time of vehicles that entered it in hour h; a link no one
        entered costs its uncongested time."""
        n = self.hour_n[:, h]
        return np.where(n > 0, self.hour_tt[:, h] / np.maximum(n, 1), self.calm_s)

    def hour_graph(self, h: int) -> csr_matrix:
        """The road graph weighted by hour h's link times (the quicker of parallel links),
        built once per hour: the routes of one period share it."""
        graph = self._graphs.get(h)
        if graph is None:
            pairs = self.pairs
            cost = np.full(pairs.shape[1], np.inf)
            np.minimum.at(cost, self.slot.ravel(), np.maximum(self.hour_costs(h), 1e-3))
            size = len(self.nodes)
            graph = self._graphs[h] = csr_matrix((cost, (pairs[0], pairs[1])),
                                                 shape=(size, size))
        return graph

    def route_seconds(self, origin: str, destination: str, hours: list[int]) -> float:
        """Mean over the hours of the quickest path's time on each hour's link times."""
        o, d = self.node_index[origin], self.node_index[destination]
        times = [float(dijkstra(self.hour_graph(h), indices=o)[d]) for h in hours]
        return float(np.mean(times))


def _split(rows: list[dict], key: str) -> tuple[float | None, float | None]:
    fitted = [r[key] for r in rows if r["compared"] and not r["holdout"]]
    held = [r[key] for r in rows if r["compared"] and r["holdout"]]
    return goodness.share(fitted), goodness.share(held)


def fit_counts(run: RunTables, obs: Observations) -> dict:
    rows = []
    for site in obs.counts:
        links = []
        for a, b in ((site.from_node, site.to_node), *site.parallel):
            found = [run.link_by_pair[p] for p in ((a, b), (b, a)) if p in run.link_by_pair]
            if not found:
                raise InputError(f"{obs.folder / 'counts.csv'}: site {site.id} ({site.road}): "
                                 f"{a} - {b} is not a link of the run's network")
            links += found
        row = {"id": site.id, "road": site.road, "site": site.site, "observed": site.flow,
               "unit": site.unit, "holdout": site.source.holdout,
               "estimate": site.source.estimate, "from_node": site.from_node,
               "to_node": site.to_node, "compared": True,
               "note": (f"with the later parallel road ({len(site.parallel)} link(s))"
                        if site.parallel else "")}
        if not site.comparable:
            row.update(compared=False, note=site.reference_reason)
            model, g = float(run.entered[links].sum()), math.nan
        elif site.unit == "veh/day":
            model = float(run.entered[links].sum())
            if run.window_h < 23.5:
                row["note"] = "; ".join(filter(None, (
                    row["note"], f"the run covers {run.window_h:.0f} h of the day")))
            g = goodness.geh_daily(model, site.flow)
        else:
            lo, hi = (float(x) for x in site.period.split("-"))
            hours = run.hours_of(lo, hi)
            if not hours:
                row.update(compared=False, note=f"hours {site.period} are outside the run")
                model, g = math.nan, math.nan
            else:
                model = float(run.hour_n[links][:, hours].sum() / len(hours))
                g = goodness.geh(model, site.flow)
        row.update(model=round(model, 1), geh=round(g, 2) if math.isfinite(g) else None,
                   ratio=round(model / site.flow, 3),
                   geh_under_5=bool(g < goodness.GEH_LIMIT) if row["compared"] else None)
        rows.append(row)
    fitted, held = _split(rows, "geh_under_5")
    return {"sites": len(rows),
            "fitted_sites": sum(r["compared"] and not r["holdout"] for r in rows),
            "holdout_sites": sum(r["compared"] and r["holdout"] for r in rows),
            "reference_rows": sum(not r["compared"] for r in rows),
            "geh_under_5_share": fitted, "holdout_geh_under_5_share": held,
            "accepted": goodness.accepted(fitted), "rows": rows}


def fit_travel_times(run: RunTables, obs: Observations) -> dict:
    rows = []
    for route in obs.routes:
        for node in (route.origin_node, route.destination_node):
            if node not in run.node_index:
                raise InputError(f"{obs.folder / 'travel_times.csv'}: route {route.id}: node "
                                 f"{node!r} is not in the run's network")
        row = {"id": route.id, "origin": route.origin, "destination": route.destination,
               "period": route.period, "mode": route.mode, "observed_min": route.minutes,
               "holdout": route.source.holdout, "estimate": route.source.estimate,
               "compared": True, "note": ""}
        hours = run.hours_of(*route.hours)
        if not route.comparable:
            row.update(compared=False, note="a bus's time (with stops) is not compared with "
                                            "a car's")
        if not hours:
            row.update(compared=False, note="its hours are outside the run")
            model = math.nan
        else:
            model = run.route_seconds(route.origin_node, route.destination_node, hours) / 60
        ratio = model / route.minutes if math.isfinite(model) else math.nan
        row.update(model_min=round(model, 2), ratio=round(ratio, 3),
                   within_15pct=(goodness.time_within(model * 60, route.minutes * 60)
                                 if row["compared"] else None))
        rows.append(row)
    fitted, held = _split(rows, "within_15pct")
    ratios = [r["ratio"] for r in rows if r["compared"] and not r["holdout"]]
    return {"routes": len(rows),
            "fitted_routes": sum(r["compared"] and not r["holdout"] for r in rows),
            "holdout_routes": sum(r["compared"] and r["holdout"] for r in rows),
            "not_compared": sum(not r["compared"] for r in rows),
            "within_15pct_share": fitted, "holdout_within_15pct_share": held,
            "mean_ratio": round(float(np.mean(ratios)), 3) if ratios else None,
            "accepted": goodness.accepted(fitted), "rows": rows}


def fit_emergency(run: RunTables, obs: Observations) -> dict:
    em = run.metrics.get("emergency")
    observed = {f.id: {"measure": f.measure, "area": f.area, "year": f.year, "value": f.value,
                       "unit": f.unit, "definition": f.definition, "source": f.source.url}
                for f in obs.emergency}
    model = None
    if em is not None:
        model = {"incidents": em.get("incidents"), "by_group": em.get("by_group", {})}
    pairs = []
    for f in obs.emergency:
        if f.measure not in EMERGENCY_MEASURES or model is None:
            continue
        group, key, factor = EMERGENCY_MEASURES[f.measure]
        value = model["by_group"].get(group, {}).get(key)
        share = f.unit == "%"
        pairs.append({"id": f.id, "measure": f.measure, "area": f.area, "year": f.year,
                      "observed": round(f.value / 100.0 if share else f.value, 4),
                      "model": None if value is None else round(value * factor, 4),
                      "unit": "share" if share else f.unit,
                      "incidents": model["by_group"].get(group, {}).get("incidents")})
    return {"observed": observed, "model": model, "side_by_side": pairs}


def fit_tables(run: RunTables, obs: Observations) -> dict:
    """The fit of one finished run to the observations (see the module's docstring)."""
    fit = {"run": run.where, "observed": str(obs.folder),
           "scenario": run.scenario_name, "window_h": run.window_h,
            "counts": fit_counts(run, obs), "travel_times": fit_travel_times(run, obs),
           "emergency": fit_emergency(run, obs)}
    fit["objective"] = round(objective(fit), 6)
    return fit


def fit_run(run_dir: str | Path, obs: Observations) -> dict:
    """The fit of the run written in `run_dir`."""
    return fit_tables(RunTables.from_folder(run_dir), obs)


def objective(fit: dict) -> float:
    """What calibration minimises, from the fitted rows only (hold-out rows never count): the
    mean of (GEH / 5)^2 over count sites plus the mean of (ln(modelled / observed) / ln 1.15)^2
    over routes, so that each term is 1 where its row sits on its acceptance limit."""
    gehs = [r["geh"] for r in fit["counts"]["rows"] if r["compared"] and not r["holdout"]]
    ratios = [r["ratio"] for r in fit["travel_times"]["rows"]
              if r["compared"] and not r["holdout"]]
    return goodness.objective(gehs, ratios)


class FitProbe:
    """A runner probe: the fit of each finished run to the observations, as KPIs."""

    def __init__(self, obs: Observations):
        self.obs = obs

    def __call__(self, model, metrics: dict) -> dict:
        fit = fit_tables(RunTables.from_model(model, metrics), self.obs)
        return {"fit": {"objective": fit["objective"],
                        "geh_under_5_share": fit["counts"]["geh_under_5_share"],
                        "holdout_geh_under_5_share": fit["counts"]["holdout_geh_under_5_share"],
                        "within_15pct_share": fit["travel_times"]["within_15pct_share"],
                        "holdout_within_15pct_share":
                            fit["travel_times"]["holdout_within_15pct_share"],
                        "mean_ratio": fit["travel_times"]["mean_ratio"]}}


def summary_json(fit: dict) -> dict:
    """The fit without its rows, as `fit --json` prints it."""
    out = {}
    for key in ("counts", "travel_times"):
        out[key] = {k: v for k, v in fit[key].items() if k != "rows"}
    out["emergency"] = fit["emergency"]
    return out

"""KPIs from a finished run: pure functions of the engine's records, rounded so the same run
gives byte-identical metrics.json."""

from __future__ import annotations

import numpy as np

from .traffic.controls import path_links


def _r(x: float, nd: int = 3) -> float:
    return float(round(float(x), nd))


def trip_records(engine) -> list[dict]:
    """One record per vehicle that entered the network (the trips.csv rows)."""
    rows = []
    end = engine.now
    for veh in range(len(engine.v_kind)):
        if engine.v_state[veh] == 0:  # planned: never departed
            continue
        arrive = engine.v_arrive[veh]
        ff = engine.v_ff[veh]
        t_end = arrive if arrive is not None else end
        origin, destination = engine.v_label[veh]
        rows.append({
            "trip_id": veh,
            "kind": engine.v_kind[veh],
            "origin": origin,
            "destination": destination,
            "depart_s": engine.v_depart[veh],
            "arrive_s": arrive,
            "km": engine.v_m[veh] / 1000.0,
            "free_flow_s": ff,
            "delay_s": max(0.0, t_end - engine.v_depart[veh] - ff),
            "status": engine.vehicle_status(veh),
        })
    return rows


def link_peak_ratios(engine) -> np.ndarray:
    """Per link: the highest 15-minute mean travel time over free flow (1.0 = free flow;
    0 where no vehicle used the link)."""
    fft = engine.net_free_flow()
    summary = engine.link_summary()
    tt, n = summary["bin_tt"], summary["bin_n"]
    mean = np.where(n > 0, tt / np.maximum(n, 1), 0.0)
    return mean.max(axis=1) / fft


def link_peak_vc(engine) -> np.ndarray:
    """Per link: the highest 15-minute flow (veh/h) over base capacity."""
    n = engine.link_summary()["bin_n"].astype(float)
    return n.max(axis=1) * (3600.0 / engine.bin_s) / engine.net.capacity_vph


def corridor_times(engine, corridors) -> dict[str, dict]:
    """Per corridor: free-flow minutes, and the worst 15-minute bin's minutes and ratio."""
    out = {}
    fft = engine.net_free_flow()
    summary = engine.link_summary()
    tt, n = summary["bin_tt"], summary["bin_n"]
    for c in corridors:
        links = path_links(engine.net, c.path, f"traffic.corridors ({c.name})")
        ff = fft[links].sum()
        mean = np.where(n[links] > 0, tt[links] / np.maximum(n[links], 1), fft[links, None])
        per_bin = mean.sum(axis=0)
        used = n[links].sum(axis=0) > 0
        peak_bin = int(np.argmax(np.where(used, per_bin, 0))) if used.any() else 0
        peak = per_bin[peak_bin] if used.any() else ff
        out[c.name] = {
            "free_flow_min": _r(ff / 60, 2),
            "peak_min": _r(peak / 60, 2),
            "peak_ratio": _r(peak / ff, 3),
            "peak_start_s": _r(engine.start_s + peak_bin * engine.bin_s, 0),
        }
    return out


def traffic_metrics(engine, corridors=()) -> dict:
    counts = engine.counts()
    trips = trip_records(engine)
    arrived = [t for t in trips if t["arrive_s"] is not None]
    delays = np.array([t["delay_s"] for t in arrived]) / 60.0 if arrived else np.zeros(1)
    veh_km = sum(t["km"] for t in trips)
    veh_h = sum(((t["arrive_s"] if t["arrive_s"] is not None else engine.now) - t["depart_s"])
                for t in trips) / 3600.0
    series = np.array([row[1] for row in engine.timeseries]) if engine.timeseries else np.zeros(1)
    peak_i = int(np.argmax(series))
    used = engine.link_summary()["entered"] > 0
    vc = link_peak_vc(engine)
    ratio = link_peak_ratios(engine)
    return {
        "trips": counts["entered"],
        "arrived": counts["arrived"],
        "en_route": counts["en_route"],
        "stuck": counts["stuck"],
        "planned": counts["planned"],
        "stuck_events": engine.stuck_events,
        "by_kind": _by_kind(trips),
        "vehicle_km": _r(veh_km, 1),
        "vehicle_hours": _r(veh_h, 1),
        "mean_speed_kmh": _r(veh_km / veh_h if veh_h > 0 else 0.0, 2),
        "delay_mean_min": _r(delays.mean(), 3),
        "delay_p50_min": _r(np.percentile(delays, 50), 3),
        "delay_p90_min": _r(np.percentile(delays, 90), 3),
        "peak_en_route": int(series[peak_i]),
        "peak_en_route_s": _r(engine.timeseries[peak_i][0], 0) if engine.timeseries else 0.0,
        "links_used": int(used.sum()),
        "links_over_capacity_share": _r((vc[used] > 1.0).mean() if used.any() else 0.0, 4),
        "links_delay_over_1_5_share": _r((ratio[used] > 1.5).mean() if used.any() else 0.0, 4),
        "link_traversals": engine.traversals,
        "corridors": corridor_times(engine, corridors),
    }


def _by_kind(trips) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in trips:
        out[t["kind"]] = out.get(t["kind"], 0) + 1
    return dict(sorted(out.items()))

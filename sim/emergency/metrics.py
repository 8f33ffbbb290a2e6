"""KPIs of the emergency layer (key names are a contract): a pure function of the layer's
records at the end of a run, rounded so the same run gives byte-identical metrics.json."""

from __future__ import annotations

import numpy as np

from agents.responders import BUSY

KEYS = ("incidents", "served", "unserved", "by_type", "call_to_arrival_p50_s",
        "call_to_arrival_p90_s", "within_7min_rate", "first_engine_240s_rate",
        "full_alarm_480s_rate", "unit_utilization", "er_peak_occupancy", "er_diversions",
        "coverage_min", "coverage_minutes_below_target")
FULL_ALARM_UNITS = 4  # plans with this many units or more have an initial full alarm


def _r(x: float, nd: int = 3) -> float:
    return float(round(float(x), nd))


def _pct(values: list[float], q: float) -> float | None:
    return _r(np.percentile(values, q), 1) if values else None


def _rate(hits: int, n: int) -> float | None:
    return _r(hits / n, 4) if n else None


def emergency_metrics(layer) -> dict:
    spec = layer.spec
    target_s = spec.coverage_target_min * 60.0
    incs = layer.incidents
    served = [i for i in incs if i.first_arrival_s is not None]
    delays = [i.first_arrival_s - i.call_s for i in served]
    by_type = {}
    for kind in sorted({i.type for i in incs}):
        group = [i for i in incs if i.type == kind]
        d = [i.first_arrival_s - i.call_s for i in group if i.first_arrival_s is not None]
        by_type[kind] = {"incidents": len(group), "served": len(d),
                         "call_to_arrival_p50_s": _pct(d, 50),
                         "within_7min_rate": _rate(sum(x <= target_s for x in d), len(group))}
    engines = [i for i in incs if i.plan.units.get("pumper")]
    alarms = [i for i in incs if sum(i.plan.units.values()) >= FULL_ALARM_UNITS]
    end = layer.end_s
    busy = {}
    service = {}
    for u in layer.units:
        b, s = u.busy_s, u.service_s
        if u.status != "off_duty":
            s += max(0.0, end - u._since)
        if u.status in BUSY:
            b += max(0.0, end - u._since)
        busy[u.unit_type] = busy.get(u.unit_type, 0.0) + b
        service[u.unit_type] = service.get(u.unit_type, 0.0) + s
    util = {k: _r(busy[k] / service[k], 4) if service[k] else 0.0 for k in sorted(busy)}
    total_service = sum(service.values())
    util["all"] = _r(sum(busy.values()) / total_service, 4) if total_service else 0.0
    headline = [min(sh[k] for k in spec.coverage_types) for _, sh in layer.coverage]
    below = sum(h < spec.coverage_target_share for h in headline)
    return {
        "incidents": len(incs),
        "served": len(served),
        "unserved": len(incs) - len(served),
        "by_type": by_type,
        "call_to_arrival_p50_s": _pct(delays, 50),
        "call_to_arrival_p90_s": _pct(delays, 90),
        "within_7min_rate": _rate(sum(x <= target_s for x in delays), len(incs)),
        "first_engine_240s_rate": _rate(
            sum(i.first_engine_travel_s is not None and i.first_engine_travel_s <= 240.0
                for i in engines), len(engines)),
        "full_alarm_480s_rate": _rate(
            sum(i.full_alarm_s is not None and i.full_alarm_s <= 480.0 for i in alarms),
            len(alarms)),
        "unit_utilization": util,
        "er_peak_occupancy": {h.name: _r(h.peak / h.er_beds, 3) if h.er_beds else None
                              for h in sorted(layer.hospitals, key=lambda h: h.name)},
        "er_diversions": int(layer.er_diversions),
        "coverage_min": _r(min(headline), 4) if headline else None,
        "coverage_minutes_below_target": _r(below * spec.coverage_interval_min, 1),
    }


INCIDENT_COLUMNS = ["incident_id", "type", "name", "place", "node", "call_s", "status", "unit",
                    "unit_type", "station", "dispatch_s", "turnout_s", "en_route_s",
                    "on_scene_s", "transport_s", "hospital", "hospital_s", "clear_s",
                    "outcome", "incident_clear_s"]


def incident_rows(layer) -> list[list]:
    """incidents.csv: one row per incident and unit (stage times in seconds from midnight), and
    one row with no unit for an incident no unit was ever sent to."""

    def f(x):
        return "" if x is None else f"{x:.1f}"

    rows = []
    for inc in layer.incidents:
        head = [inc.id, inc.type, inc.name, inc.place, inc.node, f(inc.call_s), inc.status]
        tail = [f(inc.clear_s)]
        if not inc.assignments:
            rows.append([*head, "", "", "", "", "", "", "", "", "", "", "", "queued", *tail])
        for rec in inc.assignments:
            u = rec.unit
            rows.append([*head, u.name, u.unit_type, u.station_name, f(rec.dispatch_s),
                         f(rec.turnout_s), f(rec.en_route_s), f(rec.on_scene_s),
                         f(rec.transport_s), rec.hospital, f(rec.hospital_s), f(rec.clear_s),
                         rec.outcome, *tail])
    return rows

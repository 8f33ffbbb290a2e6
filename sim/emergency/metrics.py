"""KPIs of the emergency layer (key names are a contract): a pure function of the layer's
records at the end of a run, rounded so the same run gives byte-identical metrics.json."""

from __future__ import annotations

import numpy as np

from agents.emergency.responders import BUSY

KEYS = ("incidents", "served", "unserved", "by_type", "by_group", "call_to_arrival_p50_s",
        "call_to_arrival_p90_s", "within_7min_rate", "first_engine_240s_rate",
        "full_alarm_480s_rate", "unit_utilization", "er_peak_occupancy", "er_diversions",
        "coverage_min", "coverage_minutes_below_target")
FULL_ALARM_UNITS = 4  # plans with this many units or more have an initial full alarm
# The groups the published Korean statistics count (fires: every fire call; EMS: ambulance
# calls), from the first unit's arrival after the call, within the 5- and 7-minute targets
GROUPS = {"fire": lambda kind: kind.endswith("fire"), "ems": lambda kind: kind == "medical"}


def _r(x: float, nd: int = 3) -> float:
    return float(round(float(x), nd))


def _pct(values: list[float], q: float) -> float | None:
    return _r(np.percentile(values, q), 1) if values else None


def _rate(hits: int, n: int) -> float | None:
    return _r(hits / n, 4) if n else None


def _call_to_arrival(incidents) -> list[float]:
    """Seconds from each call to its first unit on scene (incidents never reached left out)."""
    return [i.first_arrival_s - i.call_s for i in incidents if i.first_arrival_s is not None]


def emergency_metrics(layer) -> dict:
    spec = layer.spec
    target_s = spec.coverage_target_min * 60.0
    incs = layer.incidents
    served = [i for i in incs if i.first_arrival_s is not None]
    delays = _call_to_arrival(served)
    by_type = {}
    for kind in sorted({i.type for i in incs}):
        group = [i for i in incs if i.type == kind]
        d = _call_to_arrival(group)
        by_type[kind] = {"incidents": len(group), "served": len(d),
                         "call_to_arrival_p50_s": _pct(d, 50),
                         "within_7min_rate": _rate(sum(x <= target_s for x in d), len(group))}
    by_group = {}
    for group, kinds in GROUPS.items():
        group_incs = [i for i in incs if kinds(i.type)]
        d = _call_to_arrival(group_incs)
        by_group[group] = {
            "incidents": len(group_incs), "served": len(d),
            "call_to_arrival_mean_s": _r(np.mean(d), 1) if d else None,
            "within_5min_rate": _rate(sum(x <= 300.0 for x in d), len(group_incs)),
            "within_7min_rate": _rate(sum(x <= 420.0 for x in d), len(group_incs))}
    engines = [i for i in incs if i.plan.units.get("pumper")]
    alarms = [i for i in incs if sum(i.plan.units.values()) >= FULL_ALARM_UNITS]
    busy = {}
    service = {}
    for u, b, s in unit_times(layer):
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
        "by_group": by_group,
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
    } | ({"evacuation": evacuation_metrics(layer)} if layer.evacuations else {})


def unit_times(layer) -> list[tuple]:
    """Per unit (units.csv): (unit, seconds busy, seconds on duty) over the run, a status still
    going on at the end counted to the end."""
    end = layer.end_s
    out = []
    for u in layer.units:
        b, s = u.busy_s, u.service_s
        if u.status != "off_duty":
            s += max(0.0, end - u._since)
        if u.status in BUSY:
            b += max(0.0, end - u._since)
        out.append((u, b, s))
    return out


UNIT_COLUMNS = ["unit", "unit_type", "station", "busy_s", "on_duty_s"]


def unit_rows(layer) -> list[list]:
    """units.csv: one row per unit (helicopters not included, as in unit_utilization)."""
    return [[u.name, u.unit_type, u.station_name, f"{b:.1f}", f"{s:.1f}"]
            for u, b, s in unit_times(layer)]


INCIDENT_COLUMNS = ["incident_id", "type", "name", "place", "node", "call_s", "status", "unit",
                    "unit_type", "station", "dispatch_s", "turnout_s", "en_route_s",
                    "on_scene_s", "transport_s", "hospital", "hospital_s", "clear_s",
                    "outcome", "incident_clear_s", "er_diverted"]


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
            rows.append([*head, "", "", "", "", "", "", "", "", "", "", "", "queued", *tail, 0])
        for rec in inc.assignments:
            u = rec.unit
            rows.append([*head, u.name, u.unit_type, u.station_name, f(rec.dispatch_s),
                         f(rec.turnout_s), f(rec.en_route_s), f(rec.on_scene_s),
                         f(rec.transport_s), rec.hospital, f(rec.hospital_s), f(rec.clear_s),
                         rec.outcome, *tail, rec.er_diverted])
    return rows


# ---- venue evacuations ----------------------------------------------------------------------
def _min(x: float | None) -> float | None:
    return None if x is None else _r(x / 60.0, 2)


def responder_delay(layer, evac) -> dict:
    """Responder delay the evacuation's buses caused: on every link a responder (a unit's
    vehicle) entered while the evacuation ran (from the alarm until the venue area was clear or
    the run ended), the buses queued ahead of it there (on the link past their free-flow exit
    time) cost it what the engine charges an emergency vehicle for a queue: the share it does
    not skip times the link's discharge headway per vehicle. A direct estimate: queues the buses
    caused in other traffic are not counted (compare a run without the evacuation for those)."""
    e = layer.model.engine
    end = evac.area_clear_s if evac.area_clear_s is not None else layer.end_s
    buses = np.array(sorted(v for b in evac.buses for v in b.vehicles), dtype=np.int64)
    lk, veh, t_in, t_out = e.traversals_log()
    kinds = np.asarray(e.v_kind, dtype=object)
    resp = (kinds[veh] == "emergency") & (t_in >= evac.start_s) & (t_in <= end)
    legs = np.unique(veh[resp])
    out = {"legs": len(legs), "delayed_legs": 0, "total_s": 0.0, "max_s": 0.0}
    if not len(buses) or not resp.any():
        return out
    is_bus = np.isin(veh, buses)
    ci = e.class_index["shuttle"]
    exit_base = np.asarray(e.exit_base[ci])
    hw = np.asarray(e.hw)
    skip = e.emergency_queue_skip
    per_leg: dict[int, float] = {}
    b_lk, b_in, b_out = lk[is_bus], t_in[is_bus], t_out[is_bus]
    for i in np.flatnonzero(resp).tolist():
        link, t = lk[i], t_in[i]
        on = (b_lk == link) & (b_in + exit_base[link] <= t) & (b_out > t)
        n = int(on.sum())
        if n:
            v = int(veh[i])
            per_leg[v] = per_leg.get(v, 0.0) + (1.0 - skip) * n * hw[link]
    if per_leg:
        out.update(delayed_legs=len(per_leg), total_s=_r(sum(per_leg.values()), 1),
                   max_s=_r(max(per_leg.values()), 1))
    return out


def evacuation_metrics(layer) -> list[dict]:
    """One entry per `[[emergency.evacuations]]`, in scenario order."""
    out = []
    for evac in layer.evacuations:
        spec = evac.spec
        people = evac.evacuees
        row = {"name": evac.name, "venue": spec.venue, "started": evac.started,
               "start_s": None if evac.start_s is None else _r(evac.start_s, 1)}
        if not evac.started:
            out.append(row)
            continue
        t0 = evac.start_s
        last_out = max((ev.out_s for ev in people), default=t0)
        rate = sum(e.per_min for e in spec.exits)
        counts = evac.counts()
        buses = evac.buses
        firsts = [b.first_at_assembly_s for b in buses if b.first_at_assembly_s is not None]
        trig = None
        if spec.trigger is not None:
            inc = next(i for i in layer.incidents if i.scripted and i.name == spec.trigger)
            over = [r.on_scene_s - r.en_route_s - r.expected_s for r in inc.assignments
                    if r.on_scene_s is not None and r.en_route_s is not None
                    and r.expected_s is not None]
            trig = {"incident": inc.name, "units_arrived": len(over),
                    "travel_over_expected_p50_s": _pct(over, 50),
                    "travel_over_expected_max_s": _r(max(over), 1) if over else None}
        row.update({
            "occupants": len(people),
            "delegates": sum(ev.delegate is not None for ev in people),
            "others": sum(ev.delegate is None for ev in people),
            "exits": len(spec.exits),
            "exit_throughput_per_min": _r(rate, 1),
            "building_clear_min": _min(last_out - t0),
            "building_clear_theory_min": _r(spec.inside_min + len(people) / rate, 2),
            "area_clear_min": _min(None if evac.area_clear_s is None
                                   else evac.area_clear_s - t0),
            "moved_by_bus": sum(ev.mode == "bus" for ev in people),
            "walked": sum(ev.mode == "walk" for ev in people),
            "delivered_by_bus_min_p50": _pct([(ev.delivered_s - t0) / 60.0 for ev in people
                                              if ev.mode == "bus" and ev.delivered_s], 50),
            "where_at_end": counts,
            "buses": len(buses),
            "buses_from_lines": dict(sorted(evac.retasked.items())),
            "reserve_buses": sum(b.source == "reserve" for b in buses),
            "first_bus_at_assembly_min": _min(min(firsts) - t0) if firsts else None,
            "bus_trips": sum(b.trips for b in buses),
            "bus_peak_load": max((b.peak for b in buses), default=0),
            "bus_seats_min": min((b.seats for b in buses), default=0),
            "responder_delay": responder_delay(layer, evac),
            "trigger_units": trig,
        })
        out.append(row)
    return out


# ---- coverage over time -------------------------------------------------------------------------
def write_coverage(layer, folder, painter=None) -> None:
    """coverage.csv (time, share by unit type), coverage_gaps.csv (type, start, end, minimum
    share) and the coverage chart, coverage.png (drawn by `painter`, at once if none)."""
    import csv
    from pathlib import Path

    from ..clock import format_clock
    from ..painter import Painter

    folder = Path(folder)
    types = list(layer.spec.coverage_types)
    with open(folder / "coverage.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["time_s", "clock", *types])
        for t, shares in layer.coverage:
            w.writerow([f"{t:.0f}", format_clock(t), *(f"{shares[k]:.4f}" for k in types)])
    with open(folder / "coverage_gaps.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["type", "start_s", "end_s", "start", "end", "min_share"])
        episodes = layer.coverage_episodes()
        for ep in episodes:
            w.writerow([ep["type"], f"{ep['start_s']:.0f}", f"{ep['end_s']:.0f}",
                        format_clock(ep["start_s"]), format_clock(ep["end_s"]),
                        f"{ep['min_share']:.4f}"])
    if layer.coverage:
        (painter or Painter()).draw(
            "sim.emergency.plots:draw_coverage", layer.spec, layer.coverage, episodes,
            folder / "coverage.png",
            title=f"{layer.model.spec.name}: emergency coverage (seed {layer.model.seed_used})")

"""The KPI summary printed at the end of a run."""

from __future__ import annotations

from pathlib import Path

from .clock import format_clock


def pct(x) -> str:
    """A share as a whole percentage ('-' when there is none)."""
    return "-" if x is None else f"{100 * x:.0f}%"


def fit_line(cal) -> str:
    """The calibration record in one line: fitted and hold-out shares within the limits."""
    return (f"counts GEH<5 {pct(cal.geh_under_5_share)} of {cal.count_sites} "
            f"(hold-out {pct(cal.holdout_geh_under_5_share)} of {cal.holdout_count_sites}), "
            f"times within 15% {pct(cal.within_15pct_share)} of {cal.routes} (hold-out "
            f"{pct(cal.holdout_within_15pct_share)} of {cal.holdout_routes}); "
            "docs/validation.md")


def _wheelchair_row(w: dict | None) -> str:
    if not w or not w["trips_to_sessions"]:
        return "no trips to sessions"
    wait = "-" if w["wait_p90_min"] is None else f"{w['wait_p90_min']:.1f} min"
    return (f"{100 * w['on_time_rate']:.1f}% of {w['trips_to_sessions']:,} trips / {wait} / "
            f"{w['gave_up_waiting']:,} ({w['people']:,} people)")


def print_summary(model, metrics: dict, out: Path, wall_s: float) -> None:
    m = metrics["traffic"]
    sc = model.spec
    print(f"{sc.name} (seed {model.seed_used}), {format_clock(sc.start)}-{format_clock(sc.end)}"
          f", {wall_s:.1f} s wall")
    rows = [
        ("trips entered", f"{m['trips']:,}"),
        ("arrived (forced on) / en route / stuck / abandoned",
         f"{m['arrived']:,} ({m['forced']:,}) / {m['en_route']:,} / {m['stuck']:,} / "
         f"{m['abandoned']:,}"),
        ("vehicle-km", f"{m['vehicle_km']:,.0f}"),
        ("mean speed", f"{m['mean_speed_kmh']:.1f} km/h"),
        ("delay per trip, mean / p90", f"{m['delay_mean_min']:.1f} / {m['delay_p90_min']:.1f} min"),
        *_closure_rows(m["closures"]),
        ("peak vehicles en route",
         f"{m['peak_en_route']:,} at {format_clock(m['peak_en_route_s'])}"),
        ("links over capacity (peak 15 min)", f"{100 * m['links_over_capacity_share']:.1f}%"),
    ]
    cal = sc.calibration
    if cal is not None:
        rows.append(("fit to observed data (as calibrated)", fit_line(cal)))
    for name, c in m["corridors"].items():
        rows.append((f"corridor {name}", f"{c['uncongested_min']:.1f} min uncongested, "
                     f"{c['peak_hour_min']:.1f} min in the peak hour "
                     f"({100 * (c['peak_ratio'] - 1):+.0f}%)"))
    d = metrics.get("delegates")
    if d:
        sh = metrics["shuttles"]
        rows += [
            ("people (day visitors; unplaced / unaccounted)",
             f"{d['total']:,} ({d['day_visitors']:,}; {d['unplaced']} / {d['unaccounted']})"),
            ("on time at screening", f"{100 * d['on_time_rate']:.1f}% of "
             f"{d['trips_to_sessions']:,} trips to sessions" + _not_simulated(
                 d.get("trips_to_sessions_not_simulated"), "to sessions")),
            ("late p50 / p90 / max", f"{d['late_p50_min']:.1f} / {d['late_p90_min']:.1f} / "
             f"{d['late_max_min']:.1f} min"),
            ("wheelchair users: on time / stop wait p90 / gave up",
             _wheelchair_row(d.get("wheelchair"))),
            ("stop wait p50 / p90 (trips to sessions)",
             f"{d['wait_p50_min']:.1f} / {d['wait_p90_min']:.1f} min"),
            ("left at the stop by a full bus: people (times)",
             f"{d['people_denied_boarding']:,} ({d['denied_boardings']:,})"),
            ("gave up waiting for a shuttle (took a taxi)",
             f"{d['gave_up_waiting']:,} trips "
             f"({d['gave_up_waiting_by_purpose'].get('to_session', 0):,} to sessions)"),
            ("screening wait p90", f"{d['screening_p90_min']:.1f} min"),
            ("door to door p50 / p90", f"{d['door_to_door_p50_min']:.1f} / "
             f"{d['door_to_door_p90_min']:.1f} min"),
            ("shuttles: fleet, km, load factor / peak-hour max load",
             f"{sh['fleet']}, {sh['km']:,.0f} km, {100 * sh['load_factor']:.0f}% "
             f"(passenger-km / seat-km) / {100 * sh['peak_hour_max_load_share']:.0f}% of seats"),
        ]
        idle = [name for name, ln in sh["by_line"].items() if ln["carried_nobody"]]
        if idle:
            rows.append(("lines that carried nobody", f"{len(idle)} ({', '.join(idle)})"))
        if d["arrived_by_hub"] or d["left_by_hub"]:
            rows.append(("arrived / left by KTX and air (missed)",
                         f"{d['arrived_by_hub']:,} / {d['left_by_hub']:,} "
                         f"({d['missed_departures']})" + _not_simulated(
                             d.get("departures_not_simulated"), "departures")))
        if sh["drt_served"] is not None:
            rows.append(("demand-responsive: served / refused, wait p90",
                         f"{sh['drt_served']:,} / {sh['drt_rejected']:,}, "
                         f"{sh['drt_wait_p90_min']:.1f} min"))
    em = metrics.get("emergency")
    if em:
        rows += [
            ("incidents: served / unserved", f"{em['incidents']} ({em['served']} / "
             f"{em['unserved']})"),
            ("call to arrival p50 / p90, within 7 min",
             f"{em['call_to_arrival_p50_s'] or 0:.0f} / {em['call_to_arrival_p90_s'] or 0:.0f} s"
             f", {100 * (em['within_7min_rate'] or 0):.0f}%"),
            ("coverage min, minutes below target", f"{100 * (em['coverage_min'] or 0):.0f}%, "
             f"{em['coverage_minutes_below_target']:.0f} min"),
            ("ER diversions, unit utilisation", f"{em['er_diversions']}, "
             f"{100 * em['unit_utilization']['all']:.1f}%"),
        ]
        for ev in em.get("evacuation", []):  # venue evacuations
            if ev["started"]:
                area = ev["area_clear_min"]
                rows.append((f"{ev['name']}: building / area clear",
                             f"{ev['building_clear_min']:.1f} / "
                             f"{'not by the end' if area is None else f'{area:.1f}'} min, "
                             f"{ev['occupants']:,} people, {ev['moved_by_bus']:,} by bus"))
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    warning = gridlock_warning(m)
    if warning:
        print(warning)
    print(f"outputs written to {out}/")


def _not_simulated(n: int | None, what: str) -> str:
    """A note of what falls after the run's end (nothing when all of it is within)."""
    return f"; {n:,} {what} after the run's end, not simulated" if n else ""


def _closure_rows(cl: dict) -> list[tuple[str, str]]:
    """Waits for closures to end, under the delay they are not part of (none: no rows)."""
    if not cl["trips_held"]:
        return []
    return [("held by closures: trips, vehicle-hours",
             f"{cl['trips_held']:,}, {cl['held_vehicle_hours']:,.0f} h (not in delay)"),
            ("abandoned: not set off / parked on the way",
             f"{cl['abandoned_before_setting_off']:,} / {cl['abandoned_on_the_way']:,} "
             f"(after {cl['patience_min']:g} min)")]


def gridlock_warning(traffic: dict) -> str | None:
    """A line saying the run ended in gridlock (metrics traffic.gridlock.jammed), else None."""
    g = traffic.get("gridlock")
    if not g or not g["jammed"]:
        return None
    return (f"WARNING: the run ends in gridlock: {100 * g['share_of_trips_arrived']:.0f}% of "
            f"the trips arrived, {100 * g['share_of_links_jammed_at_end']:.0f}% of the links "
            f"used are full at the end, {g['vehicles_held_at_end']:,} vehicles stand still; "
            "KPIs describe a jammed network (traffic.gridlock in metrics.json)")

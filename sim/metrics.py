"""KPIs from a finished run: pure functions of the engine's records, rounded so the same run
gives byte-identical metrics.json."""

from __future__ import annotations

import numpy as np

from .traffic.controls import path_links
from .traffic.vehicles import ABANDONED


def _r(x: float, nd: int = 3) -> float:
    return float(round(float(x), nd))


def trip_table(engine) -> dict[str, np.ndarray]:
    """Columns of trips.csv for every vehicle that entered the network, in vehicle order."""
    key = (len(engine.log), engine.arrived, engine.departed, engine.now, engine.abandoned)
    cached = getattr(engine, "_trip_table", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    state = np.asarray(engine.v_state, dtype=np.int64)
    entered = np.flatnonzero(state != 0)  # 0: planned, never departed
    metres, free = engine.vehicle_totals()
    depart = np.asarray(engine.v_depart, dtype=float)[entered]
    arrive = np.array(engine.v_arrive, dtype=float)  # NaN: not arrived
    arrive = arrive[entered] if len(arrive) else arrive
    now = engine.now
    t_end = np.where(np.isnan(arrive), now, arrive)
    abandoned = state[entered] == ABANDONED
    if abandoned.any():  # a trip given up ends when its driver gave up
        given_up = engine.abandoned_at  # read once: the compiled core builds it on reading
        which = np.flatnonzero(abandoned)
        t_end[which] = [given_up.get(v, now) for v in entered[which].tolist()]
    ff = free[entered]
    forced = np.asarray(engine.v_forced, dtype=bool)[entered]
    # time waited off the road for closures to end (so far, for a wait still going on) is not
    # traffic delay: it is reported on its own, as SUMO keeps departDelay apart from timeLoss
    held = np.asarray(engine.v_held_s, dtype=float)[entered]
    held_at = np.asarray(engine.v_held_at, dtype=float)[entered]
    held = held + np.where(held_at >= 0.0, now - held_at, 0.0)
    # one meaning per status (as engine.vehicle_status): arrived (forced on or not), abandoned
    # (held by closures past the driver's patience), stuck (forced on, not arrived), en route
    status = np.where(~np.isnan(arrive), "arrived", np.where(
        abandoned, "abandoned", np.where(forced, "stuck", "en_route")))
    all_labels, all_kinds = engine.v_label, engine.v_kind
    labels = [all_labels[v] for v in entered.tolist()]
    table = {
        "trip_id": entered,
        "kind": np.array([all_kinds[v] for v in entered.tolist()], dtype=object),
        "origin": np.array([lab[0] for lab in labels], dtype=object),
        "destination": np.array([lab[1] for lab in labels], dtype=object),
        "depart_s": depart,
        "arrive_s": arrive,
        "km": metres[entered] / 1000.0,
        "free_flow_s": ff,
        "delay_s": np.maximum(0.0, t_end - depart - ff - held),
        "status": status.astype(object),
        "forced": forced.astype(np.int64),
        "held_s": held,
        "end_s": t_end,
    }
    engine._trip_table = (key, table)
    return table


def trip_records(engine) -> list[dict]:
    """trip_table as one dict per trip (arrive_s None while en route)."""
    table = trip_table(engine)
    keys = list(table)
    rows = []
    for values in zip(*(table[k].tolist() for k in keys), strict=True):
        row = dict(zip(keys, values, strict=True))
        if row["arrive_s"] != row["arrive_s"]:  # NaN
            row["arrive_s"] = None
        rows.append(row)
    return rows


def link_peak_ratios(engine) -> np.ndarray:
    """Per link: the highest 15-minute mean travel time over the uncongested travel time
    (free flow plus junction delay at zero flow; 1.0 = no congestion; 0 where unused)."""
    fft = uncongested_times(engine)
    summary = engine.link_summary()
    tt, n = summary["bin_tt"], summary["bin_n"]
    mean = np.where(n > 0, tt / np.maximum(n, 1), 0.0)
    return mean.max(axis=1) / fft


def link_peak_vc(engine) -> np.ndarray:
    """Per link: the highest 15-minute flow (veh/h) over base capacity."""
    n = engine.link_summary()["bin_n"].astype(float)
    return n.max(axis=1) * (3600.0 / engine.bin_s) / engine.net.capacity_vph


def link_hours(engine) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per network link and hour of the run (by entry time): hour starts (s), vehicles that
    entered, and the sum of their travel times; the 15-minute bins added up by the hour."""
    summary = engine.link_summary()
    per_hour = max(1, round(3600.0 / engine.bin_s))
    n, tt = summary["bin_n"], summary["bin_tt"]
    hours = -(-n.shape[1] // per_hour)
    pad = hours * per_hour - n.shape[1]
    n = np.pad(n, ((0, 0), (0, pad))).reshape(n.shape[0], hours, per_hour).sum(axis=2)
    tt = np.pad(tt, ((0, 0), (0, pad))).reshape(tt.shape[0], hours, per_hour).sum(axis=2)
    if hours and engine.start_s + (hours - 1) * 3600.0 >= engine.end_s and not n[:, -1].any():
        n, tt, hours = n[:, :-1], tt[:, :-1], hours - 1  # the bin past the end, when empty
    return engine.start_s + 3600.0 * np.arange(hours), n, tt


def uncongested_times(engine) -> np.ndarray:
    """Per network link: free flow at posted speeds plus the junction delay at zero flow,
    spread over a contracted chain's links as its measured travel times are."""
    g = engine.graph
    zero_flow = engine.junction_delay(np.zeros(g.n_links))
    fft = engine.net_free_flow()
    share = fft / np.asarray(engine.fft_base[0])[g.of_link]
    return fft + zero_flow[g.of_link] * share


def corridor_bins(engine, corridors) -> dict[str, tuple[np.ndarray, float, float]]:
    """Per corridor: its travel time (s) in each 15-minute bin of the run, by entry time: the
    sum over its links of their mean travel time in the bin (uncongested where no vehicle
    entered the link then); and its free-flow and uncongested times (corridors.csv)."""
    out = {}
    fft = engine.net_free_flow()
    calm = uncongested_times(engine)
    summary = engine.link_summary()
    tt, n = summary["bin_tt"], summary["bin_n"]
    for c in corridors:
        links = path_links(engine.net, c.path, f"traffic.corridors ({c.name})")
        mean = np.where(n[links] > 0, tt[links] / np.maximum(n[links], 1), calm[links, None])
        out[c.name] = (mean.sum(axis=0), float(fft[links].sum()), float(calm[links].sum()))
    return out


def corridor_times(engine, corridors) -> dict[str, dict]:
    """Per corridor: minutes at posted speeds, uncongested (night: signals, no traffic), and in
    the worst hour (rolling 15-minute bins by entry time), with peak / uncongested."""
    out = {}
    for name, (per_bin, ff, base) in corridor_bins(engine, corridors).items():
        hourly = np.convolve(per_bin, np.ones(4) / 4, mode="valid") if len(per_bin) >= 4 \
            else per_bin
        peak_bin = int(np.argmax(hourly))
        out[name] = {
            "free_flow_min": _r(ff / 60, 2),
            "uncongested_min": _r(base / 60, 2),
            "peak_hour_min": _r(hourly[peak_bin] / 60, 2),
            "peak_ratio": _r(hourly[peak_bin] / base, 3),
            "peak_hour_start_s": _r(engine.start_s + peak_bin * engine.bin_s, 0),
        }
    return out


def traffic_metrics(engine, corridors=()) -> dict:
    counts = engine.counts()
    trips = trip_table(engine)
    arrived = ~np.isnan(trips["arrive_s"])
    delays = trips["delay_s"][arrived] / 60.0 if arrived.any() else np.zeros(1)
    veh_km = float(trips["km"].sum())
    # hours on the road: a wait off the road for a closure to end is not driving
    veh_h = float((trips["end_s"] - trips["depart_s"] - trips["held_s"]).sum()) / 3600.0
    series = np.array([row[1] for row in engine.timeseries]) if engine.timeseries else np.zeros(1)
    peak_i = int(np.argmax(series))
    used = engine.link_summary()["entered"] > 0
    vc = link_peak_vc(engine)
    ratio = link_peak_ratios(engine)
    return {
        # the summary keys later layers report on (metrics contract)
        "vehicle_trips": counts["entered"],
        "mean_delay_min": _r(delays.mean(), 3),
        "en_route_at_end": counts["en_route"],
        "trips": counts["entered"],
        "arrived": counts["arrived"],
        "en_route": counts["en_route"],
        "stuck": counts["stuck"],
        "planned": counts["planned"],
        "stuck_events": engine.stuck_events,
        "forced": counts["forced"],
        "abandoned": counts["abandoned"],
        "closures": closure_wait_metrics(engine, trips),
        "gridlock": gridlock_metrics(engine, counts, used),
        "by_kind": _by_kind(trips["kind"]),
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


def closure_wait_metrics(engine, trips: dict) -> dict:
    """Waits off the road for closures to end, apart from traffic delay: how many trips waited,
    for how long, and how many drivers gave their trips up (before setting off, or on the way:
    they park where they were held)."""
    held = trips["held_s"]
    waited = held > 0
    abandoned = trips["status"] == "abandoned"
    set_off = trips["km"] > 0
    patience = engine.closure_patience_s
    return {
        "trips_held": int(np.count_nonzero(waited)),
        "held_vehicle_hours": _r(float(held.sum()) / 3600.0, 1),
        "held_min_p90_of_held": _r(np.percentile(held[waited], 90) / 60, 1) if waited.any()
        else 0.0,
        "abandoned": int(np.count_nonzero(abandoned)),
        "abandoned_before_setting_off": int(np.count_nonzero(abandoned & ~set_off)),
        "abandoned_on_the_way": int(np.count_nonzero(abandoned & set_off)),
        "still_held_at_end": int(np.count_nonzero(np.asarray(engine.v_held_at) >= 0.0)),
        "patience_min": _r(patience / 60, 1),
    }


# traffic.gridlock.jammed: fewer than half the trips that entered the road arrived, or at least a
# quarter of the links used end with their storage full (a working day ends with well under 1%)
GRIDLOCK_ARRIVED_BELOW = 0.5
GRIDLOCK_LINKS_FULL_AT_LEAST = 0.25


def gridlock_metrics(engine, counts: dict, used: np.ndarray) -> dict:
    """Whether the run ends in gridlock: the share of trips arrived, the share of the links
    used whose storage is full at the end, the vehicles standing at the end, and the verdict."""
    full, held = engine.jam_state()
    arrived = counts["arrived"] / counts["entered"] if counts["entered"] else 1.0
    jammed_links = float(full[used].mean()) if used.any() else 0.0
    return {
        "share_of_trips_arrived": _r(arrived, 4),
        "share_of_links_jammed_at_end": _r(jammed_links, 4),
        "vehicles_held_at_end": int(held),
        "jammed": bool(arrived < GRIDLOCK_ARRIVED_BELOW
                       or jammed_links >= GRIDLOCK_LINKS_FULL_AT_LEAST),
    }


def _by_kind(kinds) -> dict[str, int]:
    names, counts = np.unique(np.asarray(kinds, dtype=str), return_counts=True)
    return {str(k): int(n) for k, n in zip(names, counts, strict=True)}


def _pct(values, q) -> float:
    return _r(np.percentile(values, q), 2) if len(values) else 0.0


def _session_trips(recs) -> tuple[list, list[float], list[float]]:
    """Of trips to sessions: those through screening, their minutes late, and the minutes
    waited at stops on those that rode a shuttle or van (or gave up waiting for one). One
    definition for everyone's KPIs and the wheelchair users'."""
    done = [r for r in recs if r.cleared_s is not None]
    late = [r.late_min for r in done]
    waits = [r.wait_s / 60 for r in done if r.rides or r.mode == "shuttle>car"]
    return done, late, waits


def _on_time_rate(late: list[float], trips: int) -> float:
    """On time at screening: trips not late over every trip (those never through included)."""
    return _r(sum(x == 0 for x in late) / trips, 4)


def _wheelchair(layer) -> dict:
    """Wheelchair users' trips to sessions, with the same definitions as everyone's."""
    people = [d for d in layer.delegates if d.wheelchair]
    recs = layer.scored_records(people)
    _, late, waits = _session_trips(recs)
    return {"people": len(people), "trips_to_sessions": len(recs),
            "on_time_rate": _on_time_rate(late, len(recs)) if recs else None,
            "wait_p90_min": _pct(waits, 90) if waits else None,
            "gave_up_waiting": sum(1 for d in people for t in d.trips if t.mode == "shuttle>car"),
            "by_mode": {m: n for m in ("walk", "shuttle", "transfer", "park_ride", "drt",
                                       "shuttle>car", "car")
                        if (n := sum(r.mode == m for r in recs))}}


def delegate_metrics(layer) -> dict:
    """The `delegates` KPIs: punctuality at screening, stop waits, screening, door to door."""
    from agents.summit.delegate import PURPOSES

    recs = layer.scored_records()
    all_recs = sum(len(d.records) for d in layer.delegates)
    departures = layer.scored_departures()
    done, late, waits = _session_trips(recs)
    door = [(r.cleared_s - r.left_s) / 60 for r in done if r.left_s is not None]
    screening = [w / 60 for g in layer.venues.values() for w in g.waits()]
    counts = layer.state_counts()
    total = layer.total
    trips = dict.fromkeys(PURPOSES, 0)  # by purpose: all, and those that gave up waiting
    gave_up = dict.fromkeys(PURPOSES, 0)
    for d in layer.delegates:
        for t in d.trips:
            p = t.purpose_of(d.day_visitor)
            trips[p] += 1
            if t.mode == "shuttle>car":
                gave_up[p] += 1
    return {
        "total": total,
        # trips to sessions starting within the run; those after its end are not simulated
        "trips_to_sessions": len(recs),
        "trips_to_sessions_not_simulated": all_recs - len(recs),
        "on_time_rate": _on_time_rate(late, len(recs)) if recs else 1.0,
        "late_p50_min": _pct(late, 50),
        "late_p90_min": _pct(late, 90),
        "late_max_min": _r(max(late), 2) if late else 0.0,
        "wait_p50_min": _pct(waits, 50),
        "wait_p90_min": _pct(waits, 90),
        # every full bus passing every waiting person, all trips of the day: events, not people
        "denied_boardings": layer.denied,
        "people_denied_boarding": sum(1 for d in layer.delegates if d.times_denied),
        "screening_p90_min": _pct(screening, 90),
        "door_to_door_p50_min": _pct(door, 50),
        "door_to_door_p90_min": _pct(door, 90),
        "by_mode": {m: sum(r.mode == m for r in recs)
                    for m in ("walk", "shuttle", "transfer", "park_ride", "drt", "shuttle>car",
                              "car", "motorcade")},
        "day_visitors": layer.day_visitors,
        "arrived_by_hub": sum(1 for d in layer.delegates if d.arrival),
        "left_by_hub": sum(1 for d in layer.delegates if d.departure),
        "missed_departures": sum(1 for dep in departures
                                 if dep.reached_s is None or dep.reached_s > dep.time_s),
        "departures_not_simulated": sum(1 for d in layer.delegates if d.departure)
        - len(departures),
        # every trip of the day (to sessions, hotels, homes and hubs; person_trips.csv), while
        # by_mode counts trips to sessions only ("shuttle>car": gave up waiting on the way)
        "gave_up_waiting": layer.gave_up,
        "person_trips": sum(trips.values()),
        "person_trips_by_purpose": trips,
        "gave_up_waiting_by_purpose": gave_up,
        "wheelchair": _wheelchair(layer),
        "turned_away_at_screening": sum(len(g.turned_away) for g in layer.venues.values()),
        "unplaced": layer.unplaced,
        "states_at_end": counts,
        # every guest is placed or reported unplaced, and every placed one is in one state
        "unaccounted": total - layer.unplaced - sum(counts.values()),
    }


PEAK_BIN_S = 900  # a line's busiest hour starts on a quarter hour


def _line_loads(line) -> tuple[float, float, int]:
    """A line's passenger-km and seat-km over the legs it drove in service, and the seats its
    runs offered (seats x runs)."""
    seats = line.spec.seats
    passenger_km = sum(leg[2] * leg[4] for leg in line.stats.legs) / 1000.0
    seat_km = seats * sum(leg[4] for leg in line.stats.legs) / 1000.0
    return passenger_km, seat_km, seats * line.stats.runs


def line_metrics(line) -> dict:
    """One line's loads from the legs its buses drove in service (`LineStats.legs`):
    passenger-km over seat-km (the load factor), boardings per seat offered (seats x runs), and
    the most riders on board on any leg that left a stop within the line's busiest hour (the
    hour, starting on a quarter hour, with the most boardings; the earliest of equals)."""
    st, seats = line.stats, line.spec.seats
    passenger_km, seat_km, offered = _line_loads(line)
    peak_start, max_load = None, 0
    if st.boardings:
        bins: dict[int, int] = {}
        for leg in st.legs:
            if leg[3]:
                k = int(leg[0] // PEAK_BIN_S)
                bins[k] = bins.get(k, 0) + leg[3]
        span = 3600 // PEAK_BIN_S
        # a busiest hour can always start in a quarter hour with boardings (moved later to the
        # first one, it loses none); the earliest of equals
        best = max(sorted(bins) or [0], key=lambda k: sum(bins.get(k + i, 0) for i in range(span)))
        peak_start = float(best * PEAK_BIN_S)
        max_load = max((leg[2] for leg in st.legs
                        if peak_start <= leg[0] < peak_start + 3600), default=0)
    waits = [w / 60 for w in st.waits]
    return {
        "buses": len(line.buses),
        "km": _r(st.km, 1),
        "runs": st.runs,
        "boardings": st.boardings,
        "alightings": st.alightings,
        "passenger_km": _r(passenger_km, 1),
        "seat_km": _r(seat_km, 1),
        "load_factor": _r(passenger_km / seat_km, 4) if seat_km else 0.0,
        "boardings_per_seat": _r(st.boardings / offered, 4) if offered else 0.0,
        "max_load": max_load,
        "max_load_share": _r(max_load / seats, 4),
        "peak_hour_start_s": peak_start,
        "people_denied": len(st.denied_riders),
        "wait_mean_min": _r(np.mean(waits), 2) if waits else None,
        "wait_p90_min": _pct(waits, 90) if waits else None,
        "carried_nobody": int(st.boardings == 0),
    }


def stop_rows(layer) -> list[dict]:
    """One row per stop of each line, in the lines' order and each line's order of stops:
    boardings, alightings, people a full bus left there, and the waits of those who boarded
    there (stops.csv; a line's boardings add up to its `by_line` boardings)."""
    names = layer.node_names()
    rows = []
    for line in layer.lines:
        for i, stop in enumerate(line.spec.stops):
            st = line.queues[stop].stats
            waits = [w / 60 for w in st.waits]
            rows.append({
                "line": line.spec.name, "stop_order": i + 1, "stop": stop,
                "place": names.get(stop, ""), "boardings": st.boardings,
                "alightings": st.alightings, "people_denied": len(st.denied_riders),
                "wait_mean_min": _r(np.mean(waits), 2) if waits else None,
                "wait_p90_min": _pct(waits, 90) if waits else None})
    return rows


def shuttle_metrics(layer, engine) -> dict:
    """The `shuttles` KPIs over every line. `mean_occupancy` and `peak_occupancy` are the
    older unweighted figures over stop departures (terminal departures included), kept for
    comparison; `load_factor` (passenger-km / seat-km) is the one to brief from."""
    buses = [b for line in layer.lines for b in line.buses]
    by_line = {line.spec.name: line_metrics(line) for line in layer.lines}
    loads = [_line_loads(line) for line in layer.lines]
    pkm, skm = sum(x[0] for x in loads), sum(x[1] for x in loads)
    offered = sum(x[2] for x in loads)
    samples = [(load, seats) for line in layer.lines
               for _, load, seats in line.stats.occupancy_samples]
    hours = 0.0
    state, arrive, depart = engine.v_state, engine.v_arrive, engine.v_depart
    for veh in [v for v, kind in enumerate(engine.v_kind) if kind == "shuttle"]:
        if state[veh] != 0:
            end = arrive[veh] if arrive[veh] == arrive[veh] else engine.now  # NaN: not arrived
            hours += float(end - depart[veh]) / 3600.0
    return {
        "fleet": len(buses),
        "lines": len(layer.lines),
        "runs": sum(line.stats.runs for line in layer.lines),
        "vehicle_hours": _r(hours, 2),
        "km": _r(sum(line.stats.km for line in layer.lines), 1),
        "boardings": sum(line.stats.boardings for line in layer.lines),
        "mean_occupancy": _r(np.mean([a / b for a, b in samples]), 4) if samples else 0.0,
        "peak_occupancy": _r(max(a / b for a, b in samples), 4) if samples else 0.0,
        "denied_boardings": sum(line.stats.denied for line in layer.lines),
        "breakdowns": sum(line.stats.breakdowns for line in layer.lines),
        "passenger_km": _r(pkm, 1),
        "seat_km": _r(skm, 1),
        "load_factor": _r(pkm / skm, 4) if skm else 0.0,
        "boardings_per_seat": _r(sum(line.stats.boardings for line in layer.lines) / offered, 4)
        if offered else 0.0,
        "peak_hour_max_load_share": max((m["max_load_share"] for m in by_line.values()),
                                        default=0.0),
        "by_line": by_line,
        **drt_metrics(layer.drt),
    }


def drt_metrics(drt) -> dict:
    """Demand-responsive service KPIs; null when the scenario has no such service."""
    if drt is None:
        return {"drt_served": None, "drt_rejected": None}
    st = drt.stats
    samples = st.occupancy_samples
    waits = [w / 60 for w in st.wait_s]
    return {
        "drt_served": st.served,
        "drt_rejected": st.rejected,
        "drt_vehicles": len(drt.vehicles),
        "drt_requests": st.requests,
        "drt_km": _r(st.km, 1),
        "drt_vehicle_hours": _r(st.vehicle_hours, 2),
        "drt_wait_p50_min": _pct(waits, 50),
        "drt_wait_p90_min": _pct(waits, 90),
        "drt_mean_occupancy": _r(np.mean([a / b for _, a, b in samples]), 4) if samples else 0.0,
        "drt_open_at_end": drt.open_requests(),
    }

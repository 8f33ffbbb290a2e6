"""report.html: one self-contained page per run folder, for a planner or a safety officer.

It holds the scenario summary and provenance (seed, versions, date), the KPI table with the
headline KPIs marked against their targets, every PNG of the folder embedded (base64), and for a
drill review (`python run.py drill`) its comparison table. No scripts, no external links: the page
opens offline and can be mailed as one file.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from pathlib import Path

from .atomic import atomic_file
from .clock import format_clock
from .report import gridlock_warning

# (metrics path, label, comparison, target or scenario key, source)
TARGETS = [
    (("delegates", "on_time_rate"), "Delegates through screening by the session's start",
     ">=", 0.9, "planning target: 9 in 10 trips to sessions on time (ASSUMED by this model; "
     "no published APEC figure)"),
    (("emergency", "within_7min_rate"), "Incidents with a first unit within 7 min of the call",
     ">=", 0.9, "Korean fire service 7-minute arrival target (call to arrival), held to the "
     "90% compliance NFPA 1710 uses"),
    (("emergency", "first_engine_240s_rate"), "First engine travel within 240 s",
     ">=", 0.9, "NFPA 1710 (2020) 4.1.2.1: first engine company travel time <= 240 s, 90%"),
    (("emergency", "full_alarm_480s_rate"), "Initial full alarm travel within 480 s",
     ">=", 0.9, "NFPA 1710 (2020) 4.1.2.1: initial full alarm travel time <= 480 s, 90%"),
    (("emergency", "coverage_min"), "Least share of demand a unit reaches in 7 min",
     ">=", "coverage_target_share", "the scenario's emergency.coverage_target_share "
     "(7-minute coverage target of the plan)"),
]
RATE_KEYS = ("rate", "share", "occupancy", "load_factor", "utilization", "coverage_min")

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans KR",sans-serif;margin:0;
color:#1a1a1a;background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:18px 28px 60px}
h1{font-size:26px;margin:6px 0 2px}h2{font-size:20px;margin:30px 0 8px;border-bottom:2px solid
#333;padding-bottom:3px}h3{font-size:16px;margin:20px 0 6px}
.sub{color:#555;margin:0 0 14px}
table{border-collapse:collapse;margin:6px 0 12px;background:white;font-size:14px}
th,td{border:1px solid #ccc;padding:4px 9px;text-align:left;vertical-align:top}
th{background:#eee}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{background:#d9f0d3;color:#00441b;font-weight:bold}
.fail{background:#fddbc7;color:#67001f;font-weight:bold}
.na{background:#f0f0f0;color:#555}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0}
.card{background:white;border:1px solid #ccc;border-radius:6px;padding:8px 14px;min-width:220px}
.card .v{font-size:24px;font-weight:bold}.card .l{font-size:13px;color:#444}
figure{margin:16px 0 26px;background:white;border:1px solid #ddd;padding:8px}
figure img{max-width:100%;height:auto;display:block}figcaption{font-size:13px;color:#444}
.note{font-size:13px;color:#444}ol.src{font-size:13px;color:#333}
details summary{cursor:pointer;font-weight:bold;margin:8px 0}
.flag{color:#a50026;font-weight:bold}
"""


def _esc(x) -> str:
    return html.escape(str(x), quote=True)


def _get(metrics: dict, path) -> object:
    cur = metrics
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return cur


def flatten(obj, prefix: str = "") -> list[tuple[str, object]]:
    """Every leaf of a metrics dict as (dotted path, value); list items by index."""
    out: list[tuple[str, object]] = []
    if isinstance(obj, dict):
        for k in obj:
            out += flatten(obj[k], f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, list):
        if not obj:
            out.append((prefix, "[]"))
        for i, v in enumerate(obj):
            label = v.get("name") if isinstance(v, dict) and "name" in v else None
            out += flatten(v, f"{prefix}[{i}{': ' + str(label) if label else ''}]")
    else:
        out.append((prefix, obj))
    return out


def _fmt(path: str, value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        last = path.rsplit(".", 1)[-1]
        if any(k in last for k in RATE_KEYS) and 0 <= value <= 1.5:
            return f"{100 * value:.1f}%"
        if last.endswith("_s") and value >= 3600 * 4 and "clock" not in last:
            return f"{value:,.0f} ({format_clock(value)})" if value < 86_400 * 2 else \
                f"{value:,.0f}"
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def target_rows(metrics: dict, manifest: dict | None) -> list[dict]:
    """The headline KPIs with their targets: label, value, target, verdict, source."""
    scenario = (manifest or {}).get("scenario") or {}
    rows = []
    for path, label, op, target, source in TARGETS:
        if path[0] not in metrics:
            continue
        value = _get(metrics, path)
        if isinstance(target, str):
            target = _get(scenario, ("emergency", target))
            if target is None:
                target = 0.7
        verdict = "n/a" if value is None else ("meets" if value >= target else "below")
        rows.append({"key": ".".join(path), "label": label, "value": value, "target": target,
                     "op": op, "verdict": verdict, "source": source})
    return rows


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{_esc(path.stem)}" src="data:image/png;base64,{data}">'


PICTURE_TITLES = {
    "congestion_map": "Peak delay ratio by road: where the network was slowest",
    "on_time_by_session": "Punctuality by session",
    "stop_waits": "Waits at shuttle stops",
    "shuttle_occupancy": "How full the shuttles ran",
    "coverage": "7-minute coverage through the day",
}


def _picture_title(stem: str) -> str:
    if stem in PICTURE_TITLES:
        return PICTURE_TITLES[stem]
    if stem.startswith("timeline_"):
        return f"Drill timeline: {stem[len('timeline_'):].replace('_', ' ')}"
    return stem.replace("_", " ")


def _provenance(manifest: dict) -> str:
    sc = manifest.get("scenario") or {}
    versions = manifest.get("versions") or {}
    net = manifest.get("network") or {}
    rows = [
        ("scenario", sc.get("name", "")),
        ("scenario file", manifest.get("scenario_file") or ""),
        ("overrides (--set)", "; ".join(manifest.get("overrides") or [])),
        ("day", sc.get("date") or ""),
        ("simulated", f"{format_clock(sc['start'])[:5]}-{format_clock(sc['end'])[:5]}"
         if "start" in sc and "end" in sc else ""),
        ("seed", manifest.get("seed", "")),
        ("fit to observed data (as calibrated)", _calibration(sc.get("calibration"))),
        ("summit-sim version", versions.get("summit_sim", "")),
        ("Mesa / numpy / Python", " / ".join(str(versions.get(k, "")) for k in
                                             ("mesa", "numpy", "python"))),
        ("network", f"{net.get('name', '')}: {net.get('nodes', '')} nodes, "
                    f"{net.get('links', '')} links" if net else ""),
        ("run written", manifest.get("written_at", "")),
        ("wall time", f"{manifest['wall_s']:.1f} s" if manifest.get("wall_s") else ""),
    ]
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows if v != "")
    return f"<table>{body}</table>"


def _calibration(record: dict | None) -> str:
    """The scenario's calibration record in one line, as the console prints it."""
    if not record:
        return ""
    from .report import fit_line
    from .scenario import CalibrationRecord

    return fit_line(CalibrationRecord.model_validate(record))


def _target_table(rows: list[dict]) -> str:
    if not rows:
        return "<p class='note'>This run has no KPI with a published target.</p>"
    out = ["<table><tr><th>KPI</th><th>value</th><th>target</th><th>verdict</th>"
           "<th>metrics.json key</th></tr>"]
    for i, r in enumerate(rows, 1):
        cls = {"meets": "pass", "below": "fail"}.get(r["verdict"], "na")
        text = {"meets": "meets target", "below": "BELOW target",
                "n/a": "no cases"}[r["verdict"]]
        value = "n/a" if r["value"] is None else f"{100 * r['value']:.1f}%"
        out.append(f"<tr><td>{_esc(r['label'])}<sup>{i}</sup></td><td class='num'>{value}</td>"
                   f"<td class='num'>{r['op']} {100 * r['target']:.0f}%</td>"
                   f"<td class='{cls}'>{text}</td><td><code>{_esc(r['key'])}</code></td></tr>")
    out.append("</table><ol class='src'>")
    out += [f"<li>{_esc(r['source'])}</li>" for r in rows]
    out.append("</ol>")
    return "".join(out)


def _cards(metrics: dict) -> str:
    picks = [
        (("traffic", "trips"), "vehicle trips"),
        (("traffic", "delay_mean_min"), "mean delay per trip, min"),
        (("traffic", "closures", "abandoned"), "car trips abandoned at closures"),
        (("delegates", "total"), "people of the summit day (guests and day visitors)"),
        (("delegates", "on_time_rate"), "on time at screening"),
        (("shuttles", "fleet"), "shuttles"),
        (("emergency", "incidents"), "incidents"),
        (("emergency", "call_to_arrival_p90_s"), "call to first arrival, p90, s"),
    ]
    out = []
    for path, label in picks:
        v = _get(metrics, path)
        if v is None or (path[1] == "closures" and not v):  # closures: only when they bite
            continue
        out.append(f"<div class='card'><div class='v'>{_esc(_fmt('.'.join(path), v))}</div>"
                   f"<div class='l'>{_esc(label)}</div></div>")
    return f"<div class='cards'>{''.join(out)}</div>"


def _kpi_table(metrics: dict) -> str:
    out = []
    for section in metrics:
        rows = flatten(metrics[section], section)
        out.append(f"<h3>{_esc(section)}</h3><table><tr><th>KPI (metrics.json key)</th>"
                   "<th>value</th></tr>")
        out += [f"<tr><td><code>{_esc(k)}</code></td><td class='num'>{_esc(_fmt(k, v))}</td>"
                f"</tr>" for k, v in rows]
        out.append("</table>")
    return "".join(out)


def _drill(run_dir: Path) -> str:
    info = json.loads((run_dir / "drill.json").read_text(encoding="utf-8"))
    seeds = ", ".join(str(s) for s in info.get("seeds", []))
    if "base_seed" in info:  # the what-if runner's replicates of one base seed
        seeds = f"replicates of base seed {info['base_seed']}: seeds {seeds}"
    else:
        seeds = f"seeds {seeds}"
    out = ["<h2>Drill review</h2>",
           f"<p>Observed log <code>{_esc(Path(info.get('observed_log', '')).name)}</code> "
           f"against {len(info.get('seeds', []))} runs ({_esc(seeds)}): "
           f"{info.get('outside_band', 0)} of {info.get('compared', 0)} observed times lie "
           "outside the runs' 5-95% band. Times are mm:ss after the incident's call.</p>"]
    if info.get("band_note"):
        out.append(f"<p class='note'><strong>{_esc(info['band_note'])}</strong></p>")
    table = run_dir / "drill_table.csv"
    if table.exists():
        with open(table, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        head, body = rows[0], rows[1:]
        out.append("<table><tr>" + "".join(f"<th>{_esc(h)}</th>" for h in head) + "</tr>")
        flag_col = head.index("flag") if "flag" in head else -1
        for r in body:
            cells = []
            for j, c in enumerate(r):
                cls = " class='flag'" if j == flag_col and c else ""
                cells.append(f"<td{cls}>{_esc(c)}</td>")
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</table>")
    return "".join(out)


def render_report(run_dir: Path, metrics: dict | None, manifest: dict | None) -> str:
    run_dir = Path(run_dir)
    metrics = metrics or {}
    manifest = manifest or {}
    sc = manifest.get("scenario") or {}
    drill = (run_dir / "drill.json").exists()
    title = sc.get("name") or (json.loads((run_dir / "drill.json").read_text())["scenario"]
                               if drill else run_dir.name)
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width,initial-scale=1'>",
             f"<title>{_esc(title)}: run report</title><style>{CSS}</style></head><body><main>",
             f"<h1>{_esc(title)}{': drill review' if drill else ''}</h1>"]
    if sc.get("description"):
        parts.append(f"<p class='sub'>{_esc(sc['description'])}</p>")
    if manifest:
        parts.append("<h2>Scenario and provenance</h2>" + _provenance(manifest))
    if metrics:
        warning = gridlock_warning(metrics.get("traffic", {}))
        if warning:
            parts.append(f"<p class='note'><strong>{_esc(warning)}</strong></p>")
        parts.append("<h2>Headline</h2>" + _cards(metrics))
        parts.append("<h2>KPIs against their targets</h2>"
                     + _target_table(target_rows(metrics, manifest)))
        if "delegates" in metrics and sc.get("end", 86_400.0) < 86_400.0:
            parts.append(f"<p class='note'>This run ends at {format_clock(sc['end'])[:5]}: "
                         "trips to sessions that had not cleared screening by then count as "
                         "not on time.</p>")
    if drill:
        parts.append(_drill(run_dir))
    pngs = sorted(run_dir.glob("*.png"))
    if pngs:
        parts.append("<h2>Pictures of the run</h2>")
        for p in pngs:
            parts.append(f"<figure>{_img(p)}<figcaption>{_esc(_picture_title(p.stem))} "
                         f"(<code>{_esc(p.name)}</code>)</figcaption></figure>")
    if metrics:
        parts.append("<h2>Every KPI</h2><p class='note'>All of <code>metrics.json</code>; rates "
                     "as percentages, times in seconds unless the key says minutes "
                     "(<code>_min</code>).</p>" + _kpi_table(metrics))
    parts.append("<p class='note'>Written by summit-sim from the files of this run folder; "
                 "the tables and pictures beside this page hold the same numbers.</p>")
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


def write_report(run_dir: str | Path, metrics: dict | None = None,
                 manifest: dict | None = None) -> Path:
    """Write `report.html` into `run_dir` (metrics and manifest read from the folder when not
    given); returns its path."""
    run_dir = Path(run_dir)
    if metrics is None and (run_dir / "metrics.json").exists():
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    if manifest is None and (run_dir / "manifest.json").exists():
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    out = run_dir / "report.html"
    with atomic_file(out) as tmp:
        tmp.write_text(render_report(run_dir, metrics, manifest), encoding="utf-8")
    return out

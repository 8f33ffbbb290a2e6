"""report.html: one self-contained page per run, with every KPI of metrics.json, every picture
of the run embedded, the headline KPIs against their targets, and nothing to fetch."""

from __future__ import annotations

import base64
import html
import json
import re

import pytest

from sim.cli import main
from sim.emergency.drill import band_note
from sim.report_html import flatten, target_rows, write_report

QUICK = ["--set", "end=08:00", "--set", "traffic.daily_trips=0", "--set", "traffic.external=[]",
         "--set", "traffic.through=[]"]


@pytest.fixture(scope="module")
def som1_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "som1"
    assert main(["run", "som1_day", "--out", str(out), "--quiet", *QUICK]) == 0
    return out


def _text(page: str) -> str:
    return html.unescape(page)


def test_every_run_writes_the_report_and_prints_its_path(tmp_path, capsys):
    out = tmp_path / "weekday"
    assert main(["run", "normal_weekday", "--out", str(out), "--quiet", *QUICK]) == 0
    printed = capsys.readouterr().out
    assert f"report: {out / 'report.html'}" in printed
    assert (out / "report.html").stat().st_size > 1000
    assert "gridlock" not in printed and "WARNING" not in printed


def test_a_run_ending_in_gridlock_says_so_in_the_summary_and_the_report(tmp_path):
    from sim.report import gridlock_warning

    jam = {"share_of_trips_arrived": 0.2552, "share_of_links_jammed_at_end": 0.4459,
           "vehicles_held_at_end": 461_900, "jammed": True}
    line = gridlock_warning({"gridlock": jam})
    assert line.startswith("WARNING: the run ends in gridlock: 26% of the trips arrived, 45% of")
    assert "461,900 vehicles" in line
    assert gridlock_warning({"gridlock": {**jam, "jammed": False}}) is None
    assert gridlock_warning({}) is None  # metrics written before the indicator
    write_report(tmp_path, {"traffic": {"trips": 10, "gridlock": jam}}, None)
    assert line in _text((tmp_path / "report.html").read_text(encoding="utf-8"))


def test_the_report_holds_every_kpi_and_every_picture(som1_run):
    page = (som1_run / "report.html").read_text(encoding="utf-8")
    text = _text(page)
    metrics = json.loads((som1_run / "metrics.json").read_text())
    for key, _ in flatten(metrics):
        assert key in text, key
    pngs = sorted(som1_run.glob("*.png"))
    assert len(pngs) >= 4
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert sorted(base64.b64decode(e) for e in embedded) == sorted(p.read_bytes() for p in pngs)
    manifest = json.loads((som1_run / "manifest.json").read_text())
    assert f"<th>seed</th><td>{manifest['seed']}</td>" in page
    assert manifest["versions"]["summit_sim"] in page and manifest["written_at"] in page


def test_the_report_opens_offline(som1_run):
    page = (som1_run / "report.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page, re.I)
    assert "@import" not in page
    assert "<link" not in page.lower()


def test_kpis_are_marked_against_their_targets():
    metrics = {"delegates": {"on_time_rate": 0.95},
               "emergency": {"within_7min_rate": 0.5, "first_engine_240s_rate": 0.9,
                             "full_alarm_480s_rate": None, "coverage_min": 0.6}}
    manifest = {"scenario": {"emergency": {"coverage_target_share": 0.55}}}
    rows = {r["key"]: r for r in target_rows(metrics, manifest)}
    assert rows["delegates.on_time_rate"]["verdict"] == "meets"
    assert rows["emergency.within_7min_rate"]["verdict"] == "below"
    assert rows["emergency.first_engine_240s_rate"]["verdict"] == "meets"  # 90% is the target
    assert rows["emergency.full_alarm_480s_rate"]["verdict"] == "n/a"
    assert rows["emergency.coverage_min"]["target"] == 0.55
    assert rows["emergency.coverage_min"]["verdict"] == "meets"
    assert all("NFPA 1710" in rows[k]["source"] for k in
               ("emergency.first_engine_240s_rate", "emergency.full_alarm_480s_rate"))


def test_a_drill_review_folder_gets_its_review_in_the_report(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    (tmp_path / "timeline_bomun_pumper_1.png").write_bytes(png)
    (tmp_path / "drill_table.csv").write_text(
        "incident,unit,stage,observed_clock,observed_mmss,sim_median_mmss,sim_p5_mmss,"
        "sim_p95_mmss,sim_runs,runs,flag\nHICO fire,Bomun pumper 1,on_scene,10:48:00,08:00,"
        "06:06,05:00,07:12,3,3,later than band\n", encoding="utf-8")
    (tmp_path / "drill.json").write_text(json.dumps(
        {"scenario": "HICO drill", "observed_log": "log.csv", "seeds": [1, 2, 3],
         "outside_band": 1, "compared": 1, "charts": {},
         "band_note": band_note(3)}), encoding="utf-8")
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert "Drill review" in page and "later than band" in page and "Bomun pumper 1" in page
    assert "<td>06:06</td>" in page and "mm:ss after the incident's call" in page
    assert "the 5-95% band comes from only 3 runs" in page
    assert base64.b64encode(png).decode() in page

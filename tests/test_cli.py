"""The command line: JSON contracts, clear errors with exit code 2, files written whole."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_network_info_json_contract(capsys):
    code, out, _ = run_cli(capsys, "network", "info", "--json")
    assert code == 0
    info = json.loads(out)
    assert {"nodes", "links", "km_by_class", "strongly_connected", "places"} <= set(info)
    assert info["nodes"] >= 400 and info["links"] >= 1000 and info["strongly_connected"] is True
    for p in info["places"]:
        assert set(p) == {"name", "kind", "lat", "lon", "node", "approx"}


def test_network_route_json_contract(capsys):
    code, out, _ = run_cli(capsys, "network", "route", "hico", "Gyeongju KTX station", "--json")
    assert code == 0
    r = json.loads(out)
    assert {"minutes", "km", "roads"} <= set(r)
    assert 12 <= r["km"] <= 35 and 10 <= r["minutes"] <= 40
    assert "Gyeonggam-ro" in r["roads"] or "Bomun-ro" in r["roads"]


def test_route_by_node_id_and_back(capsys):
    code, out, _ = run_cli(capsys, "network", "route", "baeban", "guhwanggyo", "--json")
    there = json.loads(out)
    code2, out2, _ = run_cli(capsys, "network", "route", "guhwanggyo", "baeban", "--json")
    assert code == code2 == 0
    assert json.loads(out2)["km"] == pytest.approx(there["km"], rel=0.3)


def test_unknown_place_is_named_with_exit_2(capsys):
    code, out, err = run_cli(capsys, "network", "route", "HICCO", "Gyeongju KTX station")
    assert code == 2
    assert "unknown place or node 'HICCO'" in err and "HICO" in err
    assert out == ""


def test_bad_network_file_exit_2(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    code, _, err = run_cli(capsys, "network", "info", "--network", str(bad))
    assert code == 2 and "not valid JSON" in err


def test_bad_option_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["network", "export", "--format", "shapefile", "--out", "x"])
    assert exc.value.code == 2
    assert "invalid choice: 'shapefile'" in capsys.readouterr().err


def test_map_writes_a_png_and_nothing_else(capsys, tmp_path):
    out = tmp_path / "map.png"
    code, _, _ = run_cli(capsys, "network", "map", "--out", str(out))
    assert code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]
    code, _, err = run_cli(capsys, "network", "map", "--out", str(tmp_path / "map.jpg"))
    assert code == 2 and "use a .png file name" in err
    assert not (tmp_path / "map.jpg").exists()


def test_export_graphml_loads_back(capsys, tmp_path):
    out = tmp_path / "gyeongju.graphml"
    code, _, _ = run_cli(capsys, "network", "export", "--format", "graphml", "--out", str(out))
    assert code == 0
    code, info_out, _ = run_cli(capsys, "network", "info", "--json", "--network", str(out))
    assert code == 0
    code, embedded_out, _ = run_cli(capsys, "network", "info", "--json")
    assert json.loads(info_out)["links"] == json.loads(embedded_out)["links"]
    assert json.loads(info_out)["places"] == json.loads(embedded_out)["places"]


def test_export_geojson(capsys, tmp_path):
    out = tmp_path / "gyeongju.geojson"
    code, _, _ = run_cli(capsys, "network", "export", "--format", "geojson", "--out", str(out))
    assert code == 0
    assert json.loads(out.read_text())["type"] == "FeatureCollection"


def test_run_py_main_job_runs_the_leaders_day_and_writes_outputs(tmp_path):
    out = tmp_path / "leaders"
    res = subprocess.run([sys.executable, "run.py", "--out", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "Leaders' peak day" in res.stdout and "on time at screening" in res.stdout
    assert f"outputs written to {out}/" in res.stdout
    assert {"metrics.json", "trips.csv", "delegates.csv", "person_trips.csv", "link_stats.csv",
            "timeseries.csv", "congestion_map.png", "manifest.json"} <= {
                p.name for p in out.iterdir()}
    assert [p.name for p in tmp_path.iterdir()] == ["leaders"]  # no temporary left behind


def test_outputs_get_the_usual_file_mode(capsys, tmp_path):
    import os

    out = tmp_path / "net.geojson"
    assert main(["network", "export", "--format", "geojson", "--out", str(out)]) == 0
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask

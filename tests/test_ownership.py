"""The user's files are never touched: `--out` replaces only what summit-sim wrote, only when
asked, and refuses places that hold other things, all before any simulation starts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from traffic_helpers import line_network

import sim.model
from sim.cli import main
from sim.ownership import PROJECT_ROOT

TINY = """name = "tiny"
start = "00:00"
end = "00:40"
seed = 7

[network]
file = "{net}"

[traffic]
contract_chains = false

[[traffic.od]]
origin = "n0"
destination = "n3"
vph = 300
start = "00:00"
end = "00:20"
arrivals = "poisson"

[outputs]
congestion_map = false
"""


@pytest.fixture
def tiny(tmp_path) -> str:
    net = line_network(tmp_path, [{"lanes": 1, "length_km": 0.5}] * 3)
    path = tmp_path / "tiny.toml"
    path.write_text(TINY.format(net=net.name), encoding="utf-8")
    return str(path)


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root with its bytes (folders as empty entries)."""
    out = {}
    for p in sorted(root.rglob("*")):
        out[p.relative_to(root).as_posix()] = p.read_bytes() if p.is_file() else b"<dir>"
    return out


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if a model is built: refusals must come before any work."""
    def refuse(*a, **k):
        raise AssertionError("the simulation started before --out was checked")
    monkeypatch.setattr(sim.model.SummitModel, "__init__", refuse)


def refused(capsys, argv, *needles) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err
    return err


def test_a_folder_with_a_users_file_is_never_replaced(tiny, tmp_path, capsys, no_simulation):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.docx").write_bytes(b"two years of work")
    before = tree(tmp_path)
    for extra in ([], ["--force"]):
        refused(capsys, ["run", tiny, "--quiet", "--out", str(folder), *extra],
                "chapter1.docx", "did not write")
    assert tree(tmp_path) == before


@pytest.mark.parametrize("where", [".", "cwd-parent", "project", "home", "/"])
def test_places_that_hold_other_things_are_refused_even_with_force(
        where, tiny, tmp_path, monkeypatch, capsys, no_simulation):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    target = {".": ".", "cwd-parent": "..", "project": str(PROJECT_ROOT),
              "home": str(tmp_path / "home"), "/": "/"}[where]
    before = tree(tmp_path)
    refused(capsys, ["run", tiny, "--quiet", "--force", "--out", target], target)
    assert tree(tmp_path) == before
    assert (PROJECT_ROOT / "README.md").is_file()


def test_an_existing_file_or_an_unwritable_place_is_refused_before_the_run(
        tiny, tmp_path, capsys, no_simulation):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me")
    refused(capsys, ["run", tiny, "--quiet", "--out", str(a_file)], "notes.txt", "file")
    refused(capsys, ["run", tiny, "--quiet", "--out", str(a_file / "run")], "is a file")
    refused(capsys, ["run", tiny, "--quiet", "--out", "/proc/summit-run"], "/proc",
            "cannot write")
    assert a_file.read_text() == "keep me"
    link = tmp_path / "link"
    link.symlink_to(tmp_path, target_is_directory=True)
    refused(capsys, ["run", tiny, "--quiet", "--out", str(link)], "symbolic link")


def test_an_earlier_run_is_replaced_only_with_force_and_only_unchanged(tiny, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", tiny, "--quiet", "--out", str(out)]) == 0
    record = json.loads((out / "manifest.json").read_text())["output"]
    assert record["written_by"] == "summit-sim" and "trips.csv" in record["files"]
    first = tree(out)
    refused(capsys, ["run", tiny, "--quiet", "--out", str(out)], "--force", "earlier run")
    assert tree(out) == first
    assert main(["run", tiny, "--quiet", "--out", str(out), "--force", "--seed", "8"]) == 0
    assert json.loads((out / "manifest.json").read_text())["seed"] == 8
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no .old, no .part
    # a file the user added, or one the user edited, makes the folder theirs
    (out / "my_notes.md").write_text("observations")
    refused(capsys, ["run", tiny, "--quiet", "--out", str(out), "--force"], "my_notes.md")
    (out / "my_notes.md").unlink()
    with open(out / "trips.csv", "a") as fh:
        fh.write("# checked by hand\n")
    refused(capsys, ["run", tiny, "--quiet", "--out", str(out), "--force"], "trips.csv",
            "changed")
    assert (out / "trips.csv").read_text().endswith("# checked by hand\n")


def test_variants_get_their_own_default_folder_and_record_their_overrides(
        tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", tiny, "--quiet"]) == 0
    assert main(["run", tiny, "--quiet", "--set", "weather=snow"]) == 0
    folders = sorted(p.name for p in (tmp_path / "outputs").iterdir())
    assert len(folders) == 2 and folders[0] == "tiny-seed7", folders
    assert folders[1].startswith("tiny-seed7-weather_snow-")
    snow = json.loads((tmp_path / "outputs" / folders[1] / "manifest.json").read_text())
    assert snow["overrides"] == ["weather=snow"]
    assert snow["scenario"]["weather"]["condition"] == "snow"
    # the same command again replaces its own earlier folder (the same run asked again)
    assert main(["run", tiny, "--quiet", "--set", "weather=snow"]) == 0
    assert sorted(p.name for p in (tmp_path / "outputs").iterdir()) == folders


def test_sweep_and_compare_respect_the_same_rules(tiny, tmp_path, capsys):
    grid = ["--grid", "traffic.od.0.vph=200,300", "--seeds", "2", "--workers", "1", "--quiet"]
    users = tmp_path / "users"
    users.mkdir()
    (users / "budget.xlsx").write_bytes(b"numbers")
    refused(capsys, ["sweep", tiny, *grid, "--out", str(users), "--force"], "budget.xlsx")
    refused(capsys, ["compare", tiny, tiny, "weather=snow", "--seeds", "2", "--workers", "1",
                     "--quiet", "--out", str(users), "--force"], "budget.xlsx")
    assert tree(users) == {"budget.xlsx": b"numbers"}
    out = tmp_path / "sweep"
    assert main(["sweep", tiny, *grid, "--out", str(out)]) == 0
    refused(capsys, ["sweep", tiny, *grid, "--out", str(out)], "--resume", "--force")
    assert main(["sweep", tiny, *grid, "--out", str(out), "--force"]) == 0
    assert {"runs.csv", "sweep.json", "manifest.json"} <= {p.name for p in out.iterdir()}


def test_single_file_outputs_replace_only_their_own_earlier_file(tmp_path, capsys):
    mine = tmp_path / "README.md"
    mine.write_text("# my project: summit-sim notes\n")
    for extra in ([], ["--force"]):
        refused(capsys, ["network", "export", "--format", "geojson", "--out", str(mine),
                         *extra], "README.md", "did not write")
    assert mine.read_text() == "# my project: summit-sim notes\n"
    out = tmp_path / "net.graphml"
    assert main(["network", "export", "--format", "graphml", "--out", str(out)]) == 0
    refused(capsys, ["network", "export", "--format", "graphml", "--out", str(out)], "--force")
    stamp = out.stat().st_mtime_ns
    os.utime(out, ns=(stamp - 10**9, stamp - 10**9))
    assert main(["network", "export", "--format", "graphml", "--out", str(out), "--force"]) == 0
    assert out.stat().st_mtime_ns != stamp - 10**9


def test_a_run_folder_of_an_earlier_version_is_known_by_its_files(
        tiny, tmp_path, monkeypatch, capsys):
    """Folders written before outputs recorded their files: a manifest with the version stamp
    and nothing but a run's file names. The default name takes them over; anything more in the
    folder makes it the user's."""
    monkeypatch.chdir(tmp_path)
    old = tmp_path / "outputs" / "tiny-seed7"
    old.mkdir(parents=True)
    (old / "manifest.json").write_text(json.dumps({"versions": {"summit_sim": "0.1.0"}}))
    (old / "trips.csv").write_text("trip_id\n")
    (old / "notes.txt").write_text("mine")
    refused(capsys, ["run", tiny, "--quiet", "--force"], "notes.txt")
    (old / "notes.txt").unlink()
    refused(capsys, ["run", tiny, "--quiet", "--out", str(old)], "--force")
    assert main(["run", tiny, "--quiet"]) == 0
    assert "output" in json.loads((old / "manifest.json").read_text())

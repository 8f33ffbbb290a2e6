"""`run.py animate`: a run that recorded positions becomes a GIF with one frame per step of the
window; a run that did not gets a clear error saying how to record them."""

from __future__ import annotations

import csv
import gzip
import shutil

import pytest

from sim.animate import POSITION_COLUMNS, animate_run
from sim.cli import main
from sim.errors import InputError

QUICK = ["--set", "end=07:40", "--set", "traffic.daily_trips=0", "--set", "traffic.external=[]",
         "--set", "traffic.through=[]"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("animate")
    with_pos, without = base / "with", base / "without"
    assert main(["run", "som1_day", "--out", str(with_pos), "--quiet", *QUICK,
                 "--set", "outputs.positions=true"]) == 0
    assert main(["run", "som1_day", "--out", str(without), "--quiet", *QUICK]) == 0
    return with_pos, without


def test_positions_are_recorded_only_when_asked(runs):
    with_pos, without = runs
    assert not (without / "positions.csv.gz").exists()
    with gzip.open(with_pos / "positions.csv.gz", "rt", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == POSITION_COLUMNS == ["vehicle", "kind", "link", "entry_s", "exit_s"]
    body = rows[1:]
    assert len(body) > 100 and {r[1] for r in body} >= {"shuttle"}
    assert all(r[4] == "" or float(r[4]) >= float(r[3]) for r in body)


def test_a_small_gif_with_one_frame_per_minute(runs, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "brief.gif"
    assert main(["animate", str(runs[0]), "--from", "07:00", "--to", "07:10",
                 "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    with Image.open(out) as im:
        assert im.n_frames == 11
        assert im.size[0] >= 600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["brief.gif"]  # no temporary left


def test_a_run_without_positions_is_a_clear_error(runs, tmp_path, capsys):
    out = tmp_path / "x.gif"
    assert main(["animate", str(runs[1]), "--from", "07:00", "--to", "07:10",
                 "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--set outputs.positions=true" in err and not out.exists()


def test_bad_windows_and_formats_are_clear_errors(runs, tmp_path, monkeypatch):
    with pytest.raises(InputError, match="within the run"):
        animate_run(runs[0], tmp_path / "a.gif", start="09:00", end="10:00")
    with pytest.raises(InputError, match=r"\.gif"):
        animate_run(runs[0], tmp_path / "a.avi")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="ffmpeg"):
        animate_run(runs[0], tmp_path / "a.mp4")


def test_frames_name_the_main_places_and_read_the_clock_as_hours_and_minutes(runs, tmp_path):
    from sim.animate import Animator

    anim = Animator(runs[0])
    texts = [t for t, _ in anim.labels.placed]
    assert "HICO" in texts and "KTX Gyeongju (Singyeongju)" in texts
    anim.draw(7 * 3600 + 10 * 60)
    assert anim.clock.get_text() == "07:10" and anim.day.get_text() == "Wed 26 Feb 2025"
    anim.draw(7 * 3600 + 600)
    anim.fig.savefig(tmp_path / "f.png", format="png", facecolor="white")
    assert (tmp_path / "f.png").stat().st_size > 20_000

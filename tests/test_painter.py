"""Pictures drawn by a worker process: the same bytes as drawn in place, errors surface in the
main process, and the main process of a run never imports matplotlib."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sim.model import SummitModel
from sim.outputs import write_run
from sim.painter import BackgroundPainter, Painter
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
WINDOW = ["start=\"07:00\"", "end=\"08:00\""]


def test_worker_draws_the_same_pictures_as_the_main_process(tmp_path):
    model = SummitModel(load_scenario("som1_day", WINDOW))
    model.run()
    here = write_run(model, tmp_path / "here")
    with BackgroundPainter() as painter:
        there = write_run(model, tmp_path / "there", painter=painter)
    assert here == there
    pictures = sorted(p.name for p in (tmp_path / "here").glob("*.png"))
    assert pictures == ["congestion_map.png", "on_time_by_session.png",
                        "shuttle_occupancy.png", "stop_waits.png"]
    for name in pictures:
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "there" / name).read_bytes()


def test_an_error_in_the_worker_is_raised_by_wait(tmp_path):
    with BackgroundPainter() as painter:
        painter.draw("sim.plots:draw_congestion_map", None, [], tmp_path / "map.png")
        with pytest.raises(AttributeError):
            painter.wait()
    assert not (tmp_path / "map.png").exists()


class FailingPainter(Painter):
    def wait(self):
        raise RuntimeError("the worker failed")


def test_a_failed_picture_leaves_no_run_folder(tmp_path):
    model = SummitModel(load_scenario("normal_weekday", WINDOW))
    model.run()
    with pytest.raises(RuntimeError, match="the worker failed"):
        write_run(model, tmp_path / "run", painter=FailingPainter())
    assert not (tmp_path / "run").exists() and not list(tmp_path.iterdir())


def test_the_main_process_of_a_run_never_imports_matplotlib(tmp_path):
    code = ("import sys; from sim.cli import main; "
            f"main(['run', 'normal_weekday', '--quiet', '--out', {str(tmp_path / 'run')!r}, "
            "'--set', 'start=\"07:00\"', '--set', 'end=\"07:30\"']); "
            "print('matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "False"
    assert (tmp_path / "run" / "congestion_map.png").stat().st_size > 10_000


def test_the_worker_ends_when_the_main_process_leaves_abruptly():
    code = ("import os\n"
            "from sim.painter import BackgroundPainter\n"
            "if __name__ == '__main__':\n"
            "    painter = BackgroundPainter()\n"
            "    print(painter.process.pid, flush=True)\n"
            "    os._exit(0)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=60)
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    pytest.fail(f"the worker {pid} outlived the main process")


def test_ctrl_c_stops_a_run_cleanly_with_the_worker_silent(tmp_path):
    out = tmp_path / "run"
    run = subprocess.Popen(
        [sys.executable, "run.py", "run", "normal_weekday", "--quiet", "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: (signal.signal(signal.SIGINT, signal.SIG_DFL), os.setpgrp()))
    time.sleep(1.5)  # the worker may still be importing
    os.killpg(run.pid, signal.SIGINT)
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130
    assert "Traceback" not in err and "interrupted; nothing partial was written" in err
    assert not out.exists()


def test_a_script_without_an_entry_guard_still_gets_its_pictures(tmp_path):
    """The worker re-imports an unguarded main script and cannot start: the pictures are then
    drawn in the main process."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from sim.cli import main\n"
        f"main(['run', 'normal_weekday', '--quiet', '--out', {str(tmp_path / 'run')!r},\n"
        "      '--set', 'start=\"07:00\"', '--set', 'end=\"07:20\"'])\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run" / "congestion_map.png").stat().st_size > 10_000


def test_requests_carry_their_arrays_whole_and_writable():
    """A request's arrays travel beside its pickle (out of band) and arrive equal and
    writable, whatever their layout; the rest of the request as pickled."""
    import multiprocessing

    import numpy as np

    from sim.painter import _post, _receive

    big = np.arange(300_000, dtype=np.float64)
    table = np.arange(12, dtype=np.int32).reshape(3, 4)
    job = ("sim.trip_csv:write_trips",
           ({"t": big, "column": table[:, 1], "fortran": np.asfortranarray(table),
             "empty": np.zeros(0), "name": "경주"},),
           {"path": "x.csv"})
    here, there = multiprocessing.Pipe()
    sender = threading.Thread(target=_post, args=(here, job))
    sender.start()
    target, args, kwargs = _receive(there)
    sender.join()
    got = args[0]
    assert target == job[0] and kwargs == job[2] and got["name"] == "경주"
    for key in ("t", "column", "fortran", "empty"):
        assert np.array_equal(got[key], job[1][0][key]) and got[key].dtype == job[1][0][key].dtype
        got[key][...] = 0  # writable, as the caller's were

"""Ctrl-C (SIGINT to the process group, as a terminal sends it) and SIGTERM stop a command with
exit code 130 and one line on stderr, leave no temporary `.NAME.*.part` behind and no process;
a killed command (SIGKILL) leaves no process either."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.outputs import TEST_PAUSE_ENV

ROOT = Path(__file__).resolve().parent.parent
SHORT = ["--set", 'start="07:00"', "--set", 'end="07:30"']

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads the process tree from /proc")


def _parents() -> dict[int, int]:
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rpartition(")")[2].split()
        if fields[0] != "Z":  # a zombie has ended
            out[int(stat.parent.name)] = int(fields[1])
    return out


def descendants(pid: int) -> set[int]:
    parents = _parents()
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = {c for c, pp in parents.items() if pp == p} - found
        found |= kids
        todo.extend(kids)
    return found


def alive(pids: set[int]) -> set[int]:
    parents = _parents()
    return {p for p in pids if p in parents}


def assert_gone(pids: set[int], within_s: float = 10) -> None:
    deadline = time.monotonic() + within_s
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = alive(pids)
    for p in left:  # do not leave them to the next test
        os.kill(p, signal.SIGKILL)
    assert not left, f"still running: {left}"


_started: list[tuple[subprocess.Popen, set[int]]] = []


@pytest.fixture(autouse=True)
def _no_leftovers():
    """Whatever a failing test leaves running is killed after it."""
    yield
    while _started:
        proc, children = _started.pop()
        if proc.poll() is None:
            children |= descendants(proc.pid)
            proc.kill()
            proc.wait()
        for p in alive(children):
            os.kill(p, signal.SIGKILL)


def start(args, tmp_path, **env) -> subprocess.Popen:
    # its own process group, so that a Ctrl-C can be sent as a terminal does: to the group
    proc = subprocess.Popen([sys.executable, str(ROOT / "run.py"), *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env}, process_group=0)
    _started.append((proc, set()))
    return proc


def children_of(proc: subprocess.Popen) -> set[int]:
    """The process's descendants now (remembered, to be killed if the test fails)."""
    found = descendants(proc.pid)
    for p, known in _started:
        if p is proc:
            known |= found
    return found


def wait_for(pred, timeout_s=60.0, what="") -> None:
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def interrupt(proc: subprocess.Popen, how: str) -> None:
    if how == "SIGINT":
        os.killpg(proc.pid, signal.SIGINT)
    elif how == "SIGTERM":
        os.kill(proc.pid, signal.SIGTERM)
    else:  # Ctrl-C, then SIGTERM to the group while the first is being handled
        os.killpg(proc.pid, signal.SIGINT)
        time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGTERM)


def assert_stopped(proc: subprocess.Popen, children: set[int], tmp_path: Path) -> str:
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert not [p for p in tmp_path.rglob(".*.part")]
    assert_gone(children)
    return err


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "twice"])
def test_a_signal_while_the_outputs_are_written_leaves_nothing(tmp_path, how):
    """The run pauses (test hook) once link_stats.csv is in its temporary folder, the picture
    worker drawing and writing trips.csv beside it; the signal comes then (before the fix: a
    `.run.*.part` folder was left and the worker printed BrokenPipeError tracebacks)."""
    marker = tmp_path / "writing"
    proc = start(["run", "normal_weekday", "--quiet", "--out", "run", *SHORT], tmp_path,
                 **{TEST_PAUSE_ENV: str(marker)})
    wait_for(marker.exists, what="the outputs to be written")
    children = children_of(proc)
    assert children  # the picture worker
    interrupt(proc, how)
    err = assert_stopped(proc, children, tmp_path)
    assert "interrupted" in err
    assert not (tmp_path / "run").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["writing"]


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_a_signal_during_the_simulation_leaves_nothing(tmp_path, how):
    proc = start(["run", "normal_weekday", "--quiet", "--out", "run", "--set",
                  'end="12:00"'], tmp_path)
    wait_for(lambda: descendants(proc.pid), what="the picture worker")
    time.sleep(1.0)  # the model is being built or run
    children = children_of(proc)
    interrupt(proc, how)
    assert_stopped(proc, children, tmp_path)
    assert list(tmp_path.iterdir()) == []


def _sweep(tmp_path) -> tuple[subprocess.Popen, set[int]]:
    proc = start(["sweep", "som1_day", "--grid", "shuttles.fleet=11,22", "--seeds", "4",
                  "--workers", "2", "--quiet", "--out", "sweep", "--set", 'end="09:00"'],
                 tmp_path)
    # the resource tracker, the fork server and two workers
    wait_for(lambda: len(descendants(proc.pid)) >= 4, what="the sweep's workers")
    time.sleep(0.3)
    return proc, children_of(proc)


def test_a_killed_sweep_leaves_no_process(tmp_path):
    proc, children = _sweep(tmp_path)
    proc.kill()
    proc.wait(timeout=10)
    assert_gone(children)  # before the fix the workers (and so the rest) never ended
    proc.communicate(timeout=10)  # nothing holds its pipes any more


def test_ctrl_c_stops_a_sweep_and_its_workers(tmp_path):
    proc, children = _sweep(tmp_path)
    interrupt(proc, "SIGINT")
    err = assert_stopped(proc, children, tmp_path)
    assert "--resume" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(importlib.util.find_spec("solara") is None, reason="needs the ui extra")
def test_sigterm_stops_the_live_view_and_frees_its_port(tmp_path):
    port = _free_port()
    proc = start(["viz", "som1_day", "--port", str(port)], tmp_path)
    wait_for(lambda: _listening(port) or proc.poll() is not None, 120, "the live view")
    assert proc.poll() is None
    children = children_of(proc)
    assert children
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    # before the server started: notes on the page's browser files (cached, or a warning)
    assert [ln for ln in err.splitlines() if not ln.startswith(("cached ", "warning: "))] == [
        "interrupted; nothing partial was written"]
    assert_gone(children)
    assert not _listening(port)


def test_a_second_interrupt_waits_until_the_temporary_folder_is_gone(tmp_path, monkeypatch):
    """Ctrl-C arriving while atomic_dir removes its temporary folder acts after the removal."""
    import shutil

    from sim.atomic import atomic_dir

    rmtree = shutil.rmtree

    def interrupted_rmtree(path, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # handled by Python between two bytecodes
        time.sleep(0.01)
        return rmtree(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", interrupted_rmtree)
    with pytest.raises(KeyboardInterrupt), atomic_dir(tmp_path / "out") as tmp:
        (tmp / "a.csv").write_text("x\n")
        raise KeyboardInterrupt  # the first
    assert list(tmp_path.iterdir()) == []

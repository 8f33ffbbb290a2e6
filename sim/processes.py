"""Interruptions and child processes: Ctrl-C and SIGTERM stop a command the same way, and every
process a command starts ends with it, even when the command itself is killed (SIGKILL).

- `terminate_as_interrupt()`: SIGTERM raises KeyboardInterrupt, as Ctrl-C does (the command
  line's main(); the previous handlers come back afterwards).
- `signals_held()`: Ctrl-C and SIGTERM wait until the block is done (cleaning up must not be cut
  short by a second interrupt), then act.
- `sigint_blocked()`: children started inside never receive Ctrl-C (the blocked mask is
  inherited through exec, as the resource tracker of multiprocessing does it): the terminal
  sends it to the whole process group and the parent alone decides what stops; a Ctrl-C that
  comes meanwhile reaches this process once the block is done.
- `end_with(pid)`: in a child, end this process at once when process `pid` ends.
- `process_pool(...)`: a ProcessPoolExecutor whose workers do all that, and stop at once when
  the block fails or is interrupted.
- `end_with_parent()`: a `preexec_fn` for subprocess: the child gets SIGTERM when this process
  dies (Linux; elsewhere nothing).
- `run_child(cmd)`: run a program (the live view's server) that ends with this process.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
import time

_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)
_QUIET_TRACKER = "ignore:resource_tracker:UserWarning"


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def terminate_as_interrupt():
    """SIGTERM raises KeyboardInterrupt inside the block (main thread only; elsewhere nothing)."""
    if not _main_thread():
        yield
        return
    before = {s: signal.getsignal(s) for s in _INTERRUPTS}
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # raises KeyboardInterrupt
    try:
        yield
    finally:
        for s, handler in before.items():
            if handler is not None:
                signal.signal(s, handler)


def ignore_interrupts() -> None:
    """From now on Ctrl-C and SIGTERM do nothing here (the command is already stopping)."""
    if _main_thread():
        for s in _INTERRUPTS:
            signal.signal(s, signal.SIG_IGN)


@contextlib.contextmanager
def signals_held():
    """Ctrl-C and SIGTERM that come inside the block act when it ends. Python runs a signal's
    handler in the main thread between two bytecodes, looking the handler up then: one that
    arrived just before the block is held too."""
    if not _main_thread():
        yield
        return
    held: list[int] = []
    before = {s: signal.signal(s, lambda signum, frame: held.append(signum))
              for s in _INTERRUPTS}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, signal.SIG_DFL if handler is None else handler)
        if held:
            signal.raise_signal(held[0])  # acts now, as the handler in place decides


def _quiet_tracker() -> None:
    """The resource tracker of multiprocessing, started from now on (it takes this process's
    -W options), removes what an interrupted or killed command left registered, e.g. a pool's
    semaphores, without a warning on stderr."""
    if _QUIET_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(_QUIET_TRACKER)


@contextlib.contextmanager
def sigint_blocked(multiprocessing: bool = False):
    """Processes started inside the block never get Ctrl-C (see the module's docstring). For
    processes of multiprocessing say `multiprocessing=True`: its resource tracker is then
    started first (starting it unblocks SIGINT, whatever was blocked before)."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    if multiprocessing and os.name == "posix":
        from multiprocessing import resource_tracker

        _quiet_tracker()
        resource_tracker.ensure_running()
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has ended
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def end_with(pid: int) -> None:
    """In a child process: leave (os._exit, nothing printed) as soon as process `pid` ends,
    however it ends. A daemon thread waits on a pidfd (Linux) or polls."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        fd = None

    def watch() -> None:
        if fd is not None:
            select.select([fd], [], [])
        else:
            while _alive(pid):
                time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name=f"end-with-{pid}", daemon=True).start()


def end_with_parent():
    """A `preexec_fn`: the child is sent SIGTERM when this (the parent) process dies (Linux
    prctl(PR_SET_PDEATHSIG); the thread that starts the child must live as long as the parent,
    e.g. the main thread). Elsewhere, or if prctl is missing, nothing."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()

    def preexec() -> None:
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # the parent died before prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def _pool_worker_start(parent: int, initializer, initargs) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what stops
    end_with(parent)
    if initializer is not None:
        initializer(*initargs)


def stop_processes(procs, timeout: float = 5.0) -> None:
    """Terminate the processes (multiprocessing.Process), wait for them, kill the slow ones."""
    procs = list(procs)
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()


class _Pool:
    """A ProcessPoolExecutor that starts its workers (on demand, in submit) with Ctrl-C blocked
    and each worker watching this process."""

    def __init__(self, executor):
        self.executor = executor

    def submit(self, fn, /, *args, **kwargs):
        with sigint_blocked(multiprocessing=True):
            return self.executor.submit(fn, *args, **kwargs)

    def stop(self) -> None:
        """Stop the runs in flight now and the workers with them."""
        procs = list((getattr(self.executor, "_processes", None) or {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        stop_processes(procs)
        self.close()

    def close(self) -> None:
        """Shut the pool down and let it go: its queues' semaphores are released now, while
        the error is still on its way (the command may leave with os._exit, which runs no
        finalizer, and the resource tracker would then warn about them)."""
        self.executor.shutdown(wait=True)
        self.executor = None
        import gc

        gc.collect()  # a queue of the pool sits in a reference cycle


@contextlib.contextmanager
def process_pool(workers: int, method: str = "spawn", initializer=None, initargs=()):
    """A process pool of `workers` (start method `method`): its workers ignore Ctrl-C, end when
    this process ends, and are stopped at once (runs in flight lost) if the block raises,
    is interrupted or, for a generator, is closed early; else it is shut down normally."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    _quiet_tracker()  # the pool's queues start the tracker
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method),
                                   initializer=_pool_worker_start,
                                   initargs=(os.getpid(), initializer, tuple(initargs)))
    pool = _Pool(executor)
    del executor
    try:
        yield pool
    except BaseException:
        pool.stop()
        raise
    pool.close()


def run_child(cmd: list[str], *, grace_s: float = 5.0, **popen_kwargs) -> int:
    """Run `cmd` until it ends and return its exit code; it ends with this process. It runs in
    its own process group (a Ctrl-C at the terminal reaches this process only) and gets SIGTERM
    if this process dies (Linux). On an interrupt here the group gets SIGTERM, then SIGKILL
    after `grace_s`, and the interrupt goes on once the group is gone."""
    import subprocess

    with sigint_blocked():
        proc = subprocess.Popen(cmd, process_group=0, preexec_fn=end_with_parent(),
                                **popen_kwargs)
    try:
        return proc.wait()
    except BaseException:
        with signals_held():
            _end_group(proc, grace_s)
        raise


def _end_group(proc, grace_s: float) -> None:
    import subprocess

    if not hasattr(os, "killpg"):  # no process groups (Windows)
        proc.kill()
        proc.wait()
        return
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(wait_s)
            if sig == signal.SIGTERM:
                # what the child left in its group (its own children) goes too
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            return
        except subprocess.TimeoutExpired:
            continue

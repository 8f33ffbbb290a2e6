"""Who draws a run's pictures (and writes its largest table): the calling process, or a worker
process beside it.

Pictures cost a second or two of matplotlib (importing it, then drawing and compressing each
PNG) after a run whose simulation uses one core. `BackgroundPainter` starts a worker process
when the command starts: it imports the plotting code while the model is built and run, then
draws from plain data (picklable arguments) while the main process computes the KPIs and writes
the tables. The pictures leave it time for trips.csv too, a row per trip formatted from the
trip table's columns. `wait()` returns once every picture and table is on disk, or raises the
worker's error.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import pickle
import queue
import signal
import threading

from .processes import sigint_blocked, stop_processes


def paint(target: str, /, *args, **kwargs):
    """Call the drawing function named "package.module:function" (named, not passed, so the
    main process need not import matplotlib to ask for a picture)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args, **kwargs)


class Painter:
    """Draws each picture at once, in this process (library use, sweeps, tests)."""

    def draw(self, target: str, /, *args, **kwargs) -> None:
        """Draw with the function `target` ("sim.plots:draw_congestion_map") and arguments."""
        paint(target, *args, **kwargs)

    def write(self, target: str, /, *args, **kwargs) -> None:
        """Write a table from plain data with the function `target`, where pictures are drawn
        ("sim.trip_csv:write_trips": the largest table, off the main process)."""
        self.draw(target, *args, **kwargs)

    def wait(self) -> None:
        """Every picture and table asked for is written."""

    def close(self) -> None:
        """Release the worker, if any."""

    def stop(self) -> None:
        """Stop drawing at once: the run failed or was interrupted."""

    @contextlib.contextmanager
    def stopped_on_error(self):
        """Stop drawing if the block raises (or is interrupted), before the error goes on:
        the caller then removes the folder the pictures were going to."""
        try:
            yield
        except BaseException:
            self.stop()
            raise


def _post(conn, job: tuple) -> None:
    """Send a request with its arrays' memory as it is (pickle protocol 5, out of band): the
    sending thread holds the interpreter lock only to pickle the small rest, not to copy a
    trip table of millions of rows, so the main process computes on meanwhile."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(job, protocol=5, buffer_callback=buffers.append)
    views = [b.raw() for b in buffers]
    conn.send((head, [v.nbytes for v in views]))
    for v in views:
        conn.send_bytes(v)


def _receive(conn) -> tuple:
    """A request sent by _post (its arrays writable, as the caller's were)."""
    head, sizes = conn.recv()
    buffers = []
    for size in sizes:
        buf = bytearray(size)
        conn.recv_bytes_into(buf)
        buffers.append(buf)
    return pickle.loads(head, buffers=buffers)


def _serve(conn, parent: int | None = None) -> None:
    """The worker: import the drawing code while the main process simulates, then draw each
    picture asked for and answer None or the error. It ends, silently, when the main process
    closes its end of the pipe or ends, however it does (os._exit, a kill), or stops it."""
    # Ctrl-C reaches the whole process group: the main process handles it, and its end ends
    # this one (blocked from the start where the main process started the worker)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is not None:
        from .processes import end_with

        end_with(parent)
    from . import (
        plots,  # noqa: F401  (matplotlib)
        trip_csv,
    )
    from .emergency import plots as emergency_plots  # noqa: F401

    trip_csv.warm()

    while True:
        try:
            target, args, kwargs = _receive(conn)
        except (EOFError, OSError):  # the main process is gone, or cut a request short
            return
        try:
            paint(target, *args, **kwargs)
            answer = None
        except Exception as exc:  # raised again in the main process
            answer = exc
        try:
            try:
                conn.send(answer)
            except OSError:
                raise
            except Exception:  # an error that does not pickle
                conn.send(RuntimeError(f"{target}: {answer!r}"))
        except OSError:  # nobody to answer: the main process stopped waiting
            return


class BackgroundPainter(Painter):
    """Draws in one worker process started now, so its imports overlap the simulation. The
    worker is a fresh interpreter (spawn: safe whatever threads run here, on every OS), which
    re-imports the main module: a script using this should guard its entry point, as run.py
    does; if the worker cannot start or dies, the pictures it did not answer for are drawn
    here. Requests go through a sending thread, so asking never waits for the worker to read."""

    def __init__(self):
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, os.getpid()), daemon=True,
                                   name="painter")
        # started with Ctrl-C blocked, which the new interpreter keeps: the main process
        # handles it (a worker interrupted while still importing would print a traceback); a
        # Ctrl-C meanwhile reaches this process when the worker has started
        with sigint_blocked(multiprocessing=True):
            self.process.start()
        child.close()  # the worker holds the only other end: it sees EOF when this one closes
        self._outbox: queue.Queue = queue.Queue()
        self._waiting: list[tuple] = []  # asked for, not answered yet, in order
        threading.Thread(target=self._send, daemon=True).start()

    def _send(self) -> None:
        while (job := self._outbox.get()) is not None:
            # a worker gone (OSError): wait() draws what it did not answer for
            with contextlib.suppress(OSError):
                _post(self._conn, job)
            self._outbox.task_done()
        self._outbox.task_done()

    def draw(self, target: str, /, *args, **kwargs) -> None:
        job = (target, args, kwargs)
        self._waiting.append(job)
        self._outbox.put(job)

    def wait(self) -> None:
        errors = []
        while self._waiting:
            try:
                answer = self._conn.recv()
            except (EOFError, OSError):  # the worker died: draw the rest here
                for target, args, kwargs in self._waiting:
                    paint(target, *args, **kwargs)
                self._waiting.clear()
                break
            self._waiting.pop(0)
            if answer is not None:
                errors.append(answer)
        if errors:
            raise errors[0]

    def stop(self) -> None:
        """End the worker now, whatever it is drawing (a run that failed or was interrupted:
        nothing may write into its folder while the folder is removed)."""
        stop_processes([self.process])
        self._waiting.clear()

    def close(self) -> None:
        """Let the worker go: it ends on reading the end of the pipe (not waited for: its
        interpreter's teardown would only delay the command's exit)."""
        self._outbox.put(None)
        self._outbox.join()
        self._conn.close()

    def __enter__(self) -> BackgroundPainter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

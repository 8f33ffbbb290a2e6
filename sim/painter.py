"""Who draws a run's pictures: the calling process, or a worker process beside it.

Pictures cost a second or two of matplotlib (importing it, then drawing and compressing each
PNG) after a run whose simulation uses one core. `BackgroundPainter` starts a worker process
when the command starts: it imports the plotting code while the model is built and run, then
draws from plain data (picklable arguments) while the main process computes the KPIs and writes
the tables. `wait()` returns once every picture is on disk, or raises the worker's error.
"""

from __future__ import annotations

import importlib
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor


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

    def wait(self) -> None:
        """Every picture asked for is written."""

    def close(self) -> None:
        """Release the worker, if any."""


def _warm_up() -> None:
    """Import the drawing code (matplotlib) in the worker while the main process simulates."""
    from . import plots  # noqa: F401
    from .emergency import plots as emergency_plots  # noqa: F401


class BackgroundPainter(Painter):
    """Draws in one worker process started now, so its imports overlap the simulation. The
    worker is a fresh interpreter (spawn: safe whatever threads run here, on every OS), which
    re-imports the main module: a script using this must guard its entry point, as run.py does."""

    def __init__(self):
        self._pool = ProcessPoolExecutor(max_workers=1,
                                         mp_context=multiprocessing.get_context("spawn"))
        self._jobs: list[Future] = [self._pool.submit(_warm_up)]

    def draw(self, target: str, /, *args, **kwargs) -> None:
        self._jobs.append(self._pool.submit(paint, target, *args, **kwargs))

    def wait(self) -> None:
        jobs, self._jobs = self._jobs, []
        for job in jobs:
            job.result()  # the worker's exception, if any, is raised here

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BackgroundPainter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

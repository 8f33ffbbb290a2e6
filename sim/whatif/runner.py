"""Run many (scenario, seed) pairs and return each run's KPIs as flat dotted names.

Two backends with one interface, `backend.run(jobs)`, which yields (job, kpis) as runs finish:
- local: a process pool on this machine (all cores by default; one worker runs in-process);
- dask: an existing Dask distributed cluster (`--scheduler tcp://HOST:PORT`, the `dist` extra).
  Its workers need summit-sim installed; a scenario's own network file, if it has one, must sit
  at the same path on them (the embedded Gyeongju network needs nothing).

Replicate seeds: replicate i of base seed B runs with
`numpy.random.SeedSequence(B, spawn_key=(i,)).generate_state(1)[0]` (an unsigned 32-bit integer),
i.e. the i-th child of `SeedSequence(B).spawn(n)`. They do not depend on how many replicates
are asked for, so 20 seeds extend 10; `python run.py run SCENARIO --seed S` repeats one run.
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..scenario import Scenario


def replicate_seed(base: int, i: int) -> int:
    return int(np.random.SeedSequence(base, spawn_key=(i,)).generate_state(1)[0])


def replicate_seeds(base: int, n: int) -> list[int]:
    return [replicate_seed(base, i) for i in range(n)]


def flatten(metrics: dict, prefix: str = "") -> dict[str, float]:
    """Nested KPI dict -> {"delegates.on_time_rate": 0.93, ...}; drops text, booleans, nulls and
    non-finite numbers."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, bool) or not isinstance(value, int | float):
            continue
        elif isinstance(value, int):
            out[name] = value
        elif math.isfinite(value):
            out[name] = float(value)
    return out


def run_one(scenario: Scenario, seed: int, probe=None) -> dict[str, float]:
    """One whole run in this process; its KPIs flattened. A probe (a picklable callable of the
    finished model and its metrics, such as calibration's fit to observations) adds KPIs of its
    own, computed where the model is; a probe with an `attach(model)` method is given the model
    before it runs too (to sample it during the day: the optimiser's coverage)."""
    from ..model import SummitModel
    from ..outputs import collect_metrics

    model = SummitModel(scenario, seed=seed)
    if probe is not None and hasattr(probe, "attach"):
        probe.attach(model)
    model.run()
    metrics = collect_metrics(model)
    kpis = flatten(metrics)
    if probe is not None:
        kpis.update(flatten(probe(model, metrics)))
    # a model is a web of reference cycles that the collector, held back during the run, would
    # reach only after many more runs: a worker that runs seed after seed frees it now
    del model
    gc.collect()
    return kpis


@dataclass(frozen=True)
class Job:
    key: Any  # the caller's name for the run, e.g. (combination index, replicate)
    scenario: Scenario
    seed: int
    probe: Any = None  # see run_one


class LocalBackend:
    """Runs on this machine: a pool of worker processes, or in-process with one worker."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._held = None  # the pool kept across run() calls inside kept()

    @contextlib.contextmanager
    def kept(self):
        """One pool for every run() inside the block: a search calls run() once per candidate,
        and a pool each time would start its workers and load the model each time (on 2
        cores that made two workers slower than one). Stopped at once if the block raises."""
        from ..processes import process_pool

        if self.workers == 1 or self._held is not None:
            yield self
            return
        with process_pool(self.workers, _start_method()) as pool:
            self._held = pool
            try:
                yield self
            finally:
                self._held = None

    def describe(self) -> str:
        return f"{self.workers} local worker{'s' if self.workers > 1 else ''}"

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, dict[str, float]]]:
        jobs = list(jobs)
        if self.workers == 1 or len(jobs) <= 1:
            for job in jobs:
                yield job, run_one(job.scenario, job.seed, job.probe)
            return
        yield from self._pool(jobs)

    def _pool(self, jobs: list[Job]) -> Iterator[tuple[Job, dict[str, float]]]:
        if self._held is not None:
            yield from self._drive(self._held, jobs)
            return
        from ..processes import process_pool

        # workers ignore Ctrl-C and end with this process, even killed; an interrupt or a
        # failure here stops the runs in flight at once (process_pool)
        with process_pool(min(self.workers, len(jobs)), _start_method()) as pool:
            yield from self._drive(pool, jobs)

    def _drive(self, pool, jobs: list[Job]) -> Iterator[tuple[Job, dict[str, float]]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        running: dict = {}
        try:
            pending = iter(jobs)
            # at most one run per worker in flight: an interrupt loses only those
            for job in pending:
                running[pool.submit(run_one, job.scenario, job.seed, job.probe)] = job
                if len(running) >= self.workers:
                    break
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: _order(running[f])):
                    job = running.pop(fut)
                    yield job, fut.result()
                    nxt = next(pending, None)
                    if nxt is not None:
                        running[pool.submit(run_one, nxt.scenario, nxt.seed, nxt.probe)] = nxt
        finally:  # a caller stopping early: what has not started does not start
            for fut in running:
                fut.cancel()


def _start_method() -> str:
    import multiprocessing as mp

    return "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


def kept(backend):
    """`backend.kept()` where the backend has it (one pool or client for a block of many
    run() calls), else nothing to keep."""
    return backend.kept() if hasattr(backend, "kept") else contextlib.nullcontext(backend)


def _order(job: Job) -> str:
    return repr(job.key)


_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|ucx|inproc)://[^\s/]+(:\d+)?/?$")


class DaskBackend:
    """Runs on an existing Dask distributed cluster through its scheduler."""

    name = "dask"

    def __init__(self, address: str, *, connect_timeout_s: float = 20):
        if not _ADDRESS.match(address):
            raise InputError(f"--scheduler {address!r}: expected a scheduler address such as "
                             "tcp://HOST:PORT")
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise InputError("--scheduler needs Dask distributed: pip install "
                             "'summit-sim[dist]' (or dask[distributed])") from None
        self.address = address
        self.connect_timeout_s = connect_timeout_s
        self._held = None  # the client kept across run() calls inside kept()

    def describe(self) -> str:
        return f"Dask cluster at {self.address}"

    @contextlib.contextmanager
    def kept(self):
        """One connection to the scheduler for every run() inside the block (a search's
        batches), instead of one a batch."""
        if self._held is not None:
            yield self
            return
        self._held = self._connect()
        try:
            yield self
        finally:
            client, self._held = self._held, None
            client.close()

    def _connect(self):
        from distributed import Client

        try:
            return Client(self.address, timeout=f"{self.connect_timeout_s}s",
                          set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"--scheduler {self.address!r}: cannot reach the Dask scheduler "
                             f"({exc})") from None

    def run(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, dict[str, float]]]:
        from distributed import as_completed

        jobs = list(jobs)
        client = self._held or self._connect()
        futures: dict = {}
        try:
            for job in jobs:
                futures[client.submit(run_one, job.scenario, job.seed, job.probe,
                                      pure=False)] = job
            with client.as_current():
                finished = as_completed(list(futures))
            for fut in finished:
                yield futures[fut], fut.result()
        finally:
            client.cancel([f for f in futures if not f.done()])
            if client is not self._held:
                client.close()


def make_backend(*, workers: int | None = None, scheduler: str | None = None):
    if workers is not None and workers < 1:
        raise InputError(f"--workers {workers}: must be 1 or more")
    if scheduler:
        return DaskBackend(scheduler)
    return LocalBackend(workers)


# KPIs the charts show and the default for sensitivity: the planners' headline figures
KEY_KPIS = (
    "delegates.on_time_rate",
    "delegates.door_to_door_p90_min",
    "delegates.wait_p90_min",
    "shuttles.load_factor",
    "traffic.delay_mean_min",
    "traffic.mean_speed_kmh",
    "emergency.within_7min_rate",
    "emergency.call_to_arrival_p90_s",
)


def key_kpis(available: Iterable[str], chosen: Iterable[str] = ()) -> list[str]:
    """The KPIs to chart: those chosen (each must exist), else the key KPIs that exist."""
    have = set(available)
    chosen = list(chosen)
    for k in chosen:
        if k not in have:
            raise InputError(f"--kpi {k!r}: no such KPI in these runs; they have: "
                             f"{', '.join(sorted(have)) or '(none)'}")
    return chosen or [k for k in KEY_KPIS if k in have]


def cell(value: Any) -> str:
    """A KPI as it is written to CSV: integers as they are, floats shortest round-trip."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)

"""The event loop on the compiled core: kernel.run moves the traffic, this class does what
needs Python between its calls.

It keeps the reference loop's interface (the engine calls both alike) and its rules (kernel.py
is EventLoop method for method). Between calls of kernel.run it: tells a listener of its
vehicle's arrival, then lets the release finish; hands on `on_node` notices; runs controls
(closures, weather, signal plans) and guidance rebuilds; finds fixed routes; moves the
traversal log's buffer into the log; grows a buffer that is nearly full. Guidance tables reach
the core as rows of a pool, a row kept while any vehicle may still follow it.

A full log buffer is added to the log on a worker thread while the core fills a second one
(kernel.call and the log's sums run without the interpreter lock, so on two cores the two
overlap). Buffers reach the log one at a time, in order, so its sums are the same; a reader
of the log waits for the buffer in hand first (TraversalLog.source).
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from numba import njit

from . import kernel as K
from .guidance import Guidance
from .links import LinkState
from .loop_reference import LoopSchedule
from .traversal_log import TraversalLog
from .vehicle_arrays import VehicleArrays
from .vehicles import ARRIVED


@njit(cache=True)
def _rows_read(vi, vf, n, now, reroute, epoch, keep):
    """Mark in `keep` the guidance rows a vehicle may still read; a vehicle that will not read
    its row again loses it (row -1). A vehicle whose row is stale takes the table of the moment
    at its next node before reading a next link (kernel.next_link; time only moves on, so a
    stale row stays stale); an arrived one reads none. Jammed vehicles would otherwise keep
    hours of tables alive."""
    for veh in range(n):
        r = vi[veh, K.V_ROW]
        if r < 0:
            continue
        stale = K.table_stale(vf[veh, K.VF_TAB_T], now, reroute, epoch)
        if vi[veh, K.V_STATE] != ARRIVED and not stale:
            keep[r] = True
        else:
            vi[veh, K.V_ROW] = -1


@njit(cache=True)
def _renumber_rows(vi, n, renumber):
    """The vehicles' rows under their numbers in the collected pool."""
    for veh in range(n):
        r = vi[veh, K.V_ROW]
        if r >= 0:
            vi[veh, K.V_ROW] = renumber[r]


_log_worker: tuple[int, ThreadPoolExecutor] | None = None


def _log_thread() -> ThreadPoolExecutor:
    """The process's one worker thread for log buffers (every loop's, each waiting for its own
    buffer in hand before handing on the next); a new one in a forked child."""
    global _log_worker
    if _log_worker is None or _log_worker[0] != os.getpid():
        _log_worker = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="traversal-log"))
    return _log_worker[1]


def _grown(a: np.ndarray, size: int) -> np.ndarray:
    """a with room for `size` entries along its first axis (the old ones kept)."""
    new = np.zeros((max(size, 2 * len(a)), *a.shape[1:]), dtype=a.dtype)
    new[:len(a)] = a
    return new


class CompiledLoop(LoopSchedule):
    """The engine's event loop on the compiled core (see the module docstring)."""

    def __init__(self, links: LinkState, vehicles: VehicleArrays, log: TraversalLog,
                 guidance: Guidance, *, start_s: float, end_s: float, stuck_after_s: float,
                 reroute_interval_s: float, closure_patience_s: float):
        self.links, self.vehicles, self.log, self.guidance = links, vehicles, log, guidance
        self.start_s, self.end_s = start_s, end_s
        self.stuck_after_s = float(stuck_after_s)
        self.reroute_interval_s = float(reroute_interval_s)
        self.closure_patience_s = float(closure_patience_s)
        L = links.graph.n_links
        classes = links.classes
        self._controls: list = []
        self._closure_rebuild_pending = False
        self._background = [ci for ci, c in enumerate(classes) if c.background]
        self._table = None  # the guidance table the core's rows were taken from
        self._table_rows = np.zeros((0, 0), dtype=np.int32)
        n_dest = max(1, len(guidance.dest))
        self._n_rows = 0
        I = np.zeros(K.N_I, dtype=np.int64)  # noqa: E741
        F = np.zeros(K.N_F)
        F[K.F_NOW] = start_s
        F[K.F_FED_UNTIL] = start_s - 1.0
        F[K.F_EPOCH] = guidance.epoch_t
        F[K.F_REROUTE] = self.reroute_interval_s
        F[K.F_STUCK_AFTER] = self.stuck_after_s
        F[K.F_PATIENCE] = self.closure_patience_s
        F[K.F_END] = end_s
        F[K.F_SKIP] = links.emergency_queue_skip
        n_cells = 2 * L + 64  # each link waits in one list at most, plus each link's departures
        wcell = np.zeros((n_cells, 2), dtype=np.int64)
        wcell[:, 1] = np.arange(1, n_cells + 1)
        wcell[-1, 1] = -1
        I[K.I_W_FREE] = 0
        self._adopt_links(links)
        heap = 1 << 16
        self._arrays = {
            "I": I, "F": F,
            "cls_pce": np.array([c.pce for c in classes], dtype=np.float64),
            "cls_i": np.array([[c.priority, c.background, c.name == "motorcade"]
                               for c in classes], dtype=np.int64),
            "wcell": wcell,
            "rows": np.zeros((0, links.net.n_nodes), dtype=np.int32),
            "cur_rows": np.zeros(n_dest, dtype=np.int64),
            "heap": np.zeros((heap, 4)), "pend": np.zeros((K.MARGIN, 4)),
            "bulk": np.zeros((0, 4)),
            "log_ids": np.zeros(2 * heap, dtype=np.int64), "log_times": np.zeros(2 * heap),
            "notes": np.zeros((2 * K.MARGIN, 2), dtype=np.int64),
            "note_t": np.zeros(2 * K.MARGIN),
            "held_t": np.zeros(2 * K.MARGIN), "held_veh": np.zeros(2 * K.MARGIN, dtype=np.int64),
            "unrouted": np.zeros(2 * K.MARGIN, dtype=np.int64),
            "samples": np.zeros((int((end_s - start_s) // K.SAMPLE_S) + 8, 6)),
        }
        self.I, self.F = I, F
        self._log_in_hand: Future | None = None  # a full buffer being added to the log
        self._spare_log: tuple[np.ndarray, np.ndarray] | None = None  # the other buffer
        self._core: K.Core | None = None
        self._generation = -1
        log.source = self._move_log

    def _adopt_links(self, links: LinkState) -> None:
        """Move the link state the loop changes into the core's two link tables: the link
        state's lists become views of their columns (the link state changes them in place, as
        the loops require), and its class x link tables become arrays."""
        L = links.graph.n_links
        self.li = np.zeros((L, K.N_LI), dtype=np.int64)
        self.lf = np.zeros((L, K.N_LF))
        self.li[:, K.L_LINK_FROM] = links.link_from
        self.li[:, K.L_LINK_TO] = links.link_to
        for col in (K.L_Q_FIRST, K.L_Q_LAST, K.L_Q_DUE_LAST, K.L_W_HEAD, K.L_W_TAIL,
                    K.L_EW_HEAD, K.L_EW_TAIL):
            self.li[:, col] = -1
        for table, col, name in ((self.li, K.L_BLOCKED_ON, "blocked_on"),
                                 (self.li, K.L_WOKEN, "woken"),
                                 (self.li, K.L_MAX_QUEUE, "max_queue"),
                                 (self.lf, K.LF_HW, "hw"), (self.lf, K.LF_STORAGE, "storage"),
                                 (self.lf, K.LF_OCC, "occ"),
                                 (self.lf, K.LF_NEXT_RELEASE, "next_release"),
                                 (self.lf, K.LF_BLOCKED_SINCE, "blocked_since"),
                                 (self.lf, K.LF_LAST_OUT, "last_out"),
                                 (self.lf, K.LF_QUEUE_GAP, "queue_gap"),
                                 (self.lf, K.LF_AT_CAPACITY, "at_capacity")):
            table[:, col] = getattr(links, name)
            setattr(links, name, table[:, col])
        links.exit_base = np.array(links.exit_base, dtype=np.float64)
        links.closed = np.array(links.closed, dtype=np.int64)

    # ---- the core's view -----------------------------------------------------------------
    def _view(self) -> K.Core:
        """The named tuple of arrays the kernel takes, rebuilt when any array was replaced."""
        v = self.vehicles
        if self._core is None or self._generation != v.generation:
            a, lk = self._arrays, self.links
            self._core = K.Core(
                I=a["I"], F=a["F"], cls_pce=a["cls_pce"], cls_i=a["cls_i"], li=self.li,
                lf=self.lf, exit_base=lk.exit_base, closed=lk.closed, wcell=a["wcell"],
                vi=v.vi, vf=v.vf, routes=v.routes, rows=a["rows"], cur_rows=a["cur_rows"],
                heap=a["heap"], pend=a["pend"], bulk=a["bulk"], log_ids=a["log_ids"],
                log_times=a["log_times"], notes=a["notes"], note_t=a["note_t"],
                held_t=a["held_t"], held_veh=a["held_veh"], unrouted=a["unrouted"],
                samples=a["samples"])
            self._generation = v.generation
        return self._core

    def _replace(self, **arrays) -> None:
        self._arrays.update(arrays)
        self._core = None

    def _room(self, used: int, more: int, *keys: str) -> None:
        """Room for `more` entries after `used` in the buffers named (grown together)."""
        a = self._arrays
        if used + more >= len(a[keys[0]]):
            self._replace(**{k: _grown(a[k], used + more) for k in keys})

    def _grow(self) -> None:
        """Room in every buffer the next event may write (and the log's buffer emptied, the
        bulk queue's fed part dropped)."""
        a, I, m = self._arrays, self.I, 2 * K.MARGIN  # noqa: E741
        self._hand_log()
        self._room(I[K.I_HN], m, "heap")
        self._room(I[K.I_NOTE_N], m, "note_t", "notes")
        if I[K.I_HELD_TAIL] + m >= len(a["held_t"]):
            head = I[K.I_HELD_HEAD]  # drop the part already handled
            n = I[K.I_HELD_TAIL] - head
            held_t, held_veh = a["held_t"][head:head + n], a["held_veh"][head:head + n]
            self._replace(held_t=_grown(held_t.copy(), n + m),
                          held_veh=_grown(held_veh.copy(), n + m))
            I[K.I_HELD_HEAD], I[K.I_HELD_TAIL] = 0, n
        self._room(I[K.I_UNROUTED_N], m, "unrouted")
        if I[K.I_BULK_I] > max(len(a["bulk"]) // 2, 1 << 16):  # fed: the rest moves up
            rest = a["bulk"][I[K.I_BULK_I]:I[K.I_BULK_N]].copy()
            self._replace(bulk=rest)
            I[K.I_BULK_I], I[K.I_BULK_N] = 0, len(rest)
        self._room(I[K.I_TS_N], 64, "samples")
        if I[K.I_ERROR]:
            raise RuntimeError(f"compiled traffic core: internal error {int(I[K.I_ERROR])}")

    def _move_log(self) -> None:
        """Everything logged into the log now (its readers call this first)."""
        self._log_done()
        n = int(self.I[K.I_LOG_N])
        if n:
            a = self._arrays
            self.log.extend(a["log_ids"][:2 * n], a["log_times"][:2 * n])
            self.I[K.I_LOG_N] = 0

    def _hand_log(self) -> None:
        """The log buffer to the worker thread; the core logs into the spare one meanwhile."""
        self._log_done()
        n = int(self.I[K.I_LOG_N])
        if not n:
            return
        a = self._arrays
        full = a["log_ids"], a["log_times"]
        spare = self._spare_log or (np.empty_like(full[0]), np.empty_like(full[1]))
        self._spare_log = None
        self._replace(log_ids=spare[0], log_times=spare[1])
        self.I[K.I_LOG_N] = 0
        self._log_in_hand = _log_thread().submit(self._add_to_log, *full, n)

    def _add_to_log(self, ids: np.ndarray, times: np.ndarray, n: int) -> None:
        self.log.extend(ids[:2 * n], times[:2 * n])
        self._spare_log = ids, times

    def _log_done(self) -> None:
        """Wait for the buffer in hand to be in the log (its error, if any, raised here)."""
        if self._log_in_hand is not None:
            in_hand, self._log_in_hand = self._log_in_hand, None
            in_hand.result()

    # ---- guidance rows ----------------------------------------------------------------------
    def _sync_guidance(self) -> None:
        """The current guidance table into the row pool (rows that changed become new rows),
        and when closures last changed."""
        self.F[K.F_EPOCH] = self.guidance.epoch_t
        if not self._background:
            return
        table = self.guidance.tables[self._background[0]]
        if table is None or table is self._table:
            return
        self._table = table
        table = np.asarray(table, dtype=np.int32)
        prev = self._table_rows
        changed = np.ones(len(table), dtype=bool) if prev.shape != table.shape \
            else (table != prev).any(axis=1)
        new = np.flatnonzero(changed)
        a = self._arrays
        if self._n_rows + len(new) > len(a["rows"]):
            self._collect_rows(len(new))
        rows = a["rows"]
        ids = np.arange(self._n_rows, self._n_rows + len(new))
        rows[ids] = table[new]
        a["cur_rows"][new] = ids
        self._n_rows += len(new)
        self._table_rows = table

    def _collect_rows(self, need: int) -> None:
        """Room for `need` more rows: keep only the rows a vehicle may still read or the
        current table refers to (renumbered), and grow the pool when they fill half of it."""
        a, v, F = self._arrays, self.vehicles, self.F
        n_veh = len(v)
        keep = np.zeros(max(self._n_rows, 1), dtype=bool)
        _rows_read(v.vi, v.vf, n_veh, F[K.F_NOW], F[K.F_REROUTE], F[K.F_EPOCH], keep)
        keep[a["cur_rows"]] = True
        kept = np.flatnonzero(keep[:self._n_rows])
        renumber = np.full(max(self._n_rows, 1), -1, dtype=np.int64)
        renumber[kept] = np.arange(len(kept))
        _renumber_rows(v.vi, n_veh, renumber)
        a["cur_rows"][:] = renumber[a["cur_rows"]]
        self._n_rows = len(kept)
        pool = a["rows"]
        size = max(len(pool), 2 * (len(kept) + need), 64)
        if size > len(pool):
            rows = np.zeros((size, pool.shape[1]), dtype=np.int32)
            rows[:len(kept)] = pool[kept]
            self._replace(rows=rows)
        else:  # in place (the rows past the kept ones are written before any is read)
            pool[:len(kept)] = pool[kept]

    # ---- scheduling (as EventLoop) ----------------------------------------------------------
    def push(self, t: float, kind: int, idx: int) -> int:
        self._room(self.I[K.I_HN], K.MARGIN, "heap")
        return int(K.call(self._view(), K.OP_PUSH, float(t), kind, idx, K._NO_FLOATS,
                          K._NO_INTS, K._NO_ROWS))

    def schedule_departure(self, veh: int, t: float) -> None:
        """One vehicle's departure (an agent's): the heap, or the pending heap."""
        self._room(self.I[K.I_HN], K.MARGIN, "heap")
        self._room(self.I[K.I_PN], K.MARGIN, "pend")
        K.call(self._view(), K.OP_DEPARTURES, 0.0, 0, 0, np.array([float(t)]),
               np.array([veh], dtype=np.int64), K._NO_ROWS)

    def schedule_departures(self, times, vehicles) -> None:
        """Departures of many vehicles at once (bulk trips), each with the next sequence
        number: those due within the fed horizon onto the heap, the others merged into the
        bulk queue, kept in (time, sequence) order and fed a minute ahead."""
        times = np.asarray(times, dtype=np.float64)
        m = len(times)
        if not m:
            return
        I, a = self.I, self._arrays  # noqa: E741
        rows = np.empty((m, 4))
        rows[:, 0] = times
        rows[:, 1] = I[K.I_SEQ] + 1 + np.arange(m)
        rows[:, 2] = K.DEPART
        rows[:, 3] = (np.arange(vehicles.start, vehicles.stop, vehicles.step)
                      if isinstance(vehicles, range) else np.asarray(vehicles, dtype=np.int64))
        I[K.I_SEQ] += m
        now = times <= self.F[K.F_FED_UNTIL]
        if now.any():
            self._room(I[K.I_HN], int(now.sum()) + K.MARGIN, "heap")
            K.call(self._view(), K.OP_PUSH_ROWS, 0.0, 0, 0, K._NO_FLOATS, K._NO_INTS,
                   np.ascontiguousarray(rows[now]))
        later = rows[~now]
        # (time, sequence number) order: the rows come in sequence order, so a stable sort by
        # time alone gives it (quicker than lexsort on two million trips)
        later = later[np.argsort(later[:, 0], kind="stable")]
        rest = a["bulk"][I[K.I_BULK_I]:I[K.I_BULK_N]]
        merged = np.concatenate([rest, later])
        if len(rest) and len(later) and later[0, 0] <= rest[-1, 0]:  # batches overlap in time
            merged = merged[np.lexsort((merged[:, 1], merged[:, 0]))]
        self._replace(bulk=np.ascontiguousarray(merged))
        I[K.I_BULK_I], I[K.I_BULK_N] = 0, len(merged)

    def _take_unrouted(self) -> list[int]:
        """The vehicles waiting off the road for a way to open, handed over (LoopSchedule)."""
        n = int(self.I[K.I_UNROUTED_N])
        self.I[K.I_UNROUTED_N] = 0
        return self._arrays["unrouted"][:n].tolist()

    # ---- running ------------------------------------------------------------------------------
    def run(self, t_end: float) -> None:
        """Process every event up to and including t_end."""
        I, F, v = self.I, self.F, self.vehicles  # noqa: E741
        t_end = float(t_end)
        while True:
            self._sync_guidance()
            code = K.call(self._view(), K.OP_RUN, t_end, 0, 0, K._NO_FLOATS, K._NO_INTS,
                          K._NO_ROWS)
            if code == K.DONE:
                break
            if code == K.CALL_ARRIVE:
                veh = int(I[K.I_OUT_A])
                v.listener[veh].on_arrive(veh, float(F[K.F_OUT_T]))
            elif code == K.NOTIFY:
                self._notify()
            elif code == K.NEED_ROUTE:
                self._find_route(int(I[K.I_OUT_A]), int(I[K.I_OUT_B]))
            elif code == K.RUN_CONTROL:
                idx = int(I[K.I_OUT_A])
                action, self._controls[idx] = self._controls[idx], None
                action(float(F[K.F_NOW]))
            elif code == K.RUN_REBUILD:
                self._rebuild(float(F[K.F_NOW]))
            elif code == K.FULL:
                self._grow()
        # the log's buffer moves when full or when the log is read (TraversalLog.source)

    def _notify(self) -> None:
        a, n = self._arrays, int(self.I[K.I_NOTE_N])
        vehs, nodes, times = (a["notes"][:n, 0].tolist(), a["notes"][:n, 1].tolist(),
                              a["note_t"][:n].tolist())
        self.I[K.I_NOTE_N] = 0
        names = self.links.net.nodes
        listeners = self.vehicles.listener
        for veh, node, t in zip(vehs, nodes, times, strict=True):
            listeners[veh].on_node(veh, names[node].id, t)

    def _find_route(self, veh: int, node: int) -> None:
        """A fixed route from node to the vehicle's destination, or the mark that none is open
        (the kernel then holds the vehicle off the road)."""
        s = self.vehicles.store
        route = self.guidance.route(int(s["cls"][veh]), node, int(s["dest"][veh]))
        if not route:
            s["noroute"][veh] = True
        else:
            self.vehicles.set_route(veh, route, -1)

    # ---- what the engine reads -------------------------------------------------------------
    @property
    def now(self) -> float:
        return float(self.F[K.F_NOW])

    @now.setter
    def now(self, t: float) -> None:
        self.F[K.F_NOW] = t

    def _count(self, i: int) -> int:
        return int(self.I[i])

    departed = property(lambda self: self._count(K.I_DEPARTED))
    arrived = property(lambda self: self._count(K.I_ARRIVED))
    in_network = property(lambda self: self._count(K.I_IN_NET))
    waiting_to_enter = property(lambda self: self._count(K.I_WAITING))
    stuck_events = property(lambda self: self._count(K.I_STUCK_EVENTS))
    stuck_now = property(lambda self: self._count(K.I_STUCK_NOW))
    traversals = property(lambda self: self._count(K.I_TRAV))
    events = property(lambda self: self._count(K.I_EVENTS))  # every event the kernel took

    @property
    def timeseries(self) -> list[tuple]:
        """(time, in network, waiting to enter, departed, arrived, stuck) each minute."""
        rows = self._arrays["samples"][:int(self.I[K.I_TS_N])]
        return [(t, int(a), int(b), int(c), int(d), int(e)) for t, a, b, c, d, e in rows.tolist()]

    @property
    def next_event_time(self) -> float:
        return float(self._arrays["heap"][0, 0]) if self.I[K.I_HN] > 0 else float("inf")

    def standing(self, t: float) -> int:
        """As EventLoop.standing."""
        return int(K.call(self._view(), K.OP_QUEUED, float(t), 0, 0, K._NO_FLOATS, K._NO_INTS,
                          K._NO_ROWS)) + self.waiting_to_enter

"""The event loop on the compiled core: kernel.run moves the traffic, this class does what
needs Python between its calls.

It keeps the reference loop's interface (the engine calls both alike) and its rules (kernel.py
is EventLoop method for method). Between calls of kernel.run it: tells a listener of its
vehicle's arrival, then lets the release finish; hands on `on_node` notices; runs controls
(closures, weather, signal plans) and guidance rebuilds; finds fixed routes; moves the
traversal log's buffer into the log; grows a buffer that is nearly full. Guidance tables reach
the core as rows of a pool, a row kept while any vehicle may still follow it.
"""

from __future__ import annotations

import numpy as np

from . import kernel as K
from .guidance import Guidance
from .links import LinkState
from .loop_reference import CLOSURE_REBUILD_S
from .traversal_log import TraversalLog
from .vehicle_arrays import VehicleArrays
from .vehicles import ARRIVED


def _grown(a: np.ndarray, size: int, fill=0) -> np.ndarray:
    """a with room for `size` entries along its first axis (the old ones kept)."""
    new = np.full((max(size, 2 * len(a)), *a.shape[1:]), fill, dtype=a.dtype)
    new[:len(a)] = a
    return new


class CompiledLoop:
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
        w_next = np.arange(1, n_cells + 1, dtype=np.int64)
        w_next[-1] = -1
        I[K.I_W_FREE] = 0
        heap = 1 << 16
        self._arrays = {
            "I": I, "F": F,
            "c_pce": np.array([c.pce for c in classes], dtype=np.float64),
            "c_priority": np.array([c.priority for c in classes], dtype=np.bool_),
            "c_background": np.array([c.background for c in classes], dtype=np.bool_),
            "c_motorcade": np.array([c.name == "motorcade" for c in classes], dtype=np.bool_),
            "link_from": np.asarray(links.link_from, dtype=np.int64),
            "link_to": np.asarray(links.link_to, dtype=np.int64),
            "evt_seq": np.zeros(L, dtype=np.int64),
            "q_first": np.full(L, -1, dtype=np.int64),
            "q_last": np.full(L, -1, dtype=np.int64),
            "q_len": np.zeros(L, dtype=np.int64),
            "q_due_n": np.zeros(L, dtype=np.int64),
            "q_due_last": np.full(L, -1, dtype=np.int64),
            "w_head": np.full(L, -1, dtype=np.int64),
            "w_tail": np.full(L, -1, dtype=np.int64),
            "w_val": np.zeros(n_cells, dtype=np.int64),
            "w_next": w_next,
            "ew_head": np.full(L, -1, dtype=np.int64),
            "ew_tail": np.full(L, -1, dtype=np.int64),
            "ew_len": np.zeros(L, dtype=np.int64),
            "rows": np.zeros((0, links.net.n_nodes), dtype=np.int32),
            "cur_rows": np.zeros(n_dest, dtype=np.int64),
            "ht": np.zeros(heap), "hs": np.zeros(heap, dtype=np.int64),
            "hk": np.zeros(heap, dtype=np.int64), "hi": np.zeros(heap, dtype=np.int64),
            "pt": np.zeros(heap), "ps": np.zeros(heap, dtype=np.int64),
            "pk": np.zeros(heap, dtype=np.int64), "pi": np.zeros(heap, dtype=np.int64),
            "log_ids": np.zeros(2 * heap, dtype=np.int64), "log_times": np.zeros(2 * heap),
            "note_veh": np.zeros(2 * K.MARGIN, dtype=np.int64),
            "note_node": np.zeros(2 * K.MARGIN, dtype=np.int64),
            "note_t": np.zeros(2 * K.MARGIN),
            "held_t": np.zeros(2 * K.MARGIN), "held_veh": np.zeros(2 * K.MARGIN, dtype=np.int64),
            "unrouted": np.zeros(2 * K.MARGIN, dtype=np.int64),
            "samples": np.zeros((int((end_s - start_s) // K.SAMPLE_S) + 8, 6)),
        }
        self.I, self.F = I, F
        self._core: K.Core | None = None
        self._generation = -1
        log.source = self._move_log

    # ---- the core's view -----------------------------------------------------------------
    def _view(self) -> K.Core:
        """The named tuple of arrays the kernel takes, rebuilt when any array was replaced."""
        v = self.vehicles
        if self._core is None or self._generation != v.generation:
            s, a, lk = v.store, self._arrays, self.links
            self._core = K.Core(
                I=a["I"], F=a["F"], c_pce=a["c_pce"], c_priority=a["c_priority"],
                c_background=a["c_background"], c_motorcade=a["c_motorcade"],
                link_from=a["link_from"], link_to=a["link_to"], hw=lk.hw, storage=lk.storage,
                exit_base=lk.exit_base, closed=lk.closed, occ=lk.occ,
                next_release=lk.next_release, blocked_on=lk.blocked_on,
                blocked_since=lk.blocked_since, woken=lk.woken, max_queue=lk.max_queue,
                last_out=lk.last_out, queue_gap=lk.queue_gap, at_capacity=lk.at_capacity,
                evt_seq=a["evt_seq"], q_first=a["q_first"], q_last=a["q_last"],
                q_len=a["q_len"], q_due_n=a["q_due_n"], q_due_last=a["q_due_last"],
                w_head=a["w_head"], w_tail=a["w_tail"], w_val=a["w_val"],
                w_next=a["w_next"], ew_head=a["ew_head"], ew_tail=a["ew_tail"],
                ew_len=a["ew_len"],
                v_cls=s["cls"], v_orig=s["orig"], v_dest=s["dest"], v_slot=s["slot"],
                v_rstart=s["rstart"], v_rlen=s["rlen"], v_rpos=s["rpos"], v_row=s["row"],
                v_tab_t=s["tab_t"], v_link=s["link"], v_entry=s["entry"],
                v_arrive=s["arrive"], v_state=s["state"], v_forced=s["forced"],
                v_held_s=s["held_s"], v_held_at=s["held_at"], v_abandoned_at=s["abandoned"],
                v_listener=s["has_listener"], v_nodes=s["nodes"],
                v_withdrawn=s["withdrawn_flag"], v_noroute=s["noroute"], v_qnext=s["qnext"],
                v_ee=s["ee"], v_wnext=s["wnext"], routes=v.routes, rows=a["rows"],
                cur_rows=a["cur_rows"], ht=a["ht"], hs=a["hs"], hk=a["hk"], hi=a["hi"],
                pt=a["pt"], ps=a["ps"], pk=a["pk"], pi=a["pi"], log_ids=a["log_ids"],
                log_times=a["log_times"], note_veh=a["note_veh"], note_node=a["note_node"],
                note_t=a["note_t"], held_t=a["held_t"], held_veh=a["held_veh"],
                unrouted=a["unrouted"], samples=a["samples"])
            self._generation = v.generation
        return self._core

    def _replace(self, **arrays) -> None:
        self._arrays.update(arrays)
        self._core = None

    def _grow(self) -> None:
        """Room in every buffer the next event may write (and the log's buffer emptied)."""
        a, I, m = self._arrays, self.I, 2 * K.MARGIN  # noqa: E741
        self._move_log()
        if I[K.I_HN] + m >= len(a["ht"]):
            self._replace(**{k: _grown(a[k], I[K.I_HN] + m) for k in ("ht", "hs", "hk", "hi")})
        if I[K.I_NOTE_N] + m >= len(a["note_t"]):
            self._replace(**{k: _grown(a[k], I[K.I_NOTE_N] + m)
                             for k in ("note_veh", "note_node", "note_t")})
        if I[K.I_HELD_TAIL] + m >= len(a["held_t"]):
            head = I[K.I_HELD_HEAD]  # drop the part already handled
            n = I[K.I_HELD_TAIL] - head
            held_t, held_veh = a["held_t"][head:head + n], a["held_veh"][head:head + n]
            self._replace(held_t=_grown(held_t.copy(), n + m),
                          held_veh=_grown(held_veh.copy(), n + m))
            I[K.I_HELD_HEAD], I[K.I_HELD_TAIL] = 0, n
        if I[K.I_UNROUTED_N] + m >= len(a["unrouted"]):
            self._replace(unrouted=_grown(a["unrouted"], I[K.I_UNROUTED_N] + m))
        if I[K.I_TS_N] + 2 >= len(a["samples"]):
            self._replace(samples=_grown(a["samples"], I[K.I_TS_N] + 64))
        if I[K.I_ERROR]:
            raise RuntimeError(f"compiled traffic core: internal error {int(I[K.I_ERROR])}")

    def _move_log(self) -> None:
        n = int(self.I[K.I_LOG_N])
        if n:
            a = self._arrays
            self.log.extend(a["log_ids"][:2 * n], a["log_times"][:2 * n])
            self.I[K.I_LOG_N] = 0

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
        self._table = self.guidance.tables[self._background[0]]
        self._table_rows = table

    def _collect_rows(self, need: int) -> None:
        """Room for `need` more rows: keep only the rows a vehicle or the current table still
        refers to (renumbered), and grow the pool when they fill half of it."""
        a, s = self._arrays, self.vehicles.store
        n_veh = len(self.vehicles)
        row = s["row"][:n_veh]
        live_veh = (row >= 0) & (s["state"][:n_veh] != ARRIVED)
        keep = np.zeros(max(self._n_rows, 1), dtype=bool)
        keep[row[live_veh]] = True
        keep[a["cur_rows"]] = True
        kept = np.flatnonzero(keep[:self._n_rows])
        renumber = np.full(max(self._n_rows, 1), -1, dtype=np.int64)
        renumber[kept] = np.arange(len(kept))
        size = max(len(a["rows"]), 2 * (len(kept) + need), 64)
        rows = np.zeros((size, a["rows"].shape[1]), dtype=np.int32)
        rows[:len(kept)] = a["rows"][kept]
        row[live_veh] = renumber[row[live_veh]]
        row[~live_veh] = -1  # arrived: never read again
        a["cur_rows"][:] = renumber[a["cur_rows"]]
        self._n_rows = len(kept)
        self._replace(rows=rows)

    # ---- scheduling (as EventLoop) ----------------------------------------------------------
    def push(self, t: float, kind: int, idx: int) -> int:
        if self.I[K.I_HN] + K.MARGIN >= len(self._arrays["ht"]):
            self._grow()
        return int(K.push_event(self._view(), float(t), kind, idx))

    def start(self) -> None:
        """The recurring events: the minute's sample, feeding departures, guidance rebuilds."""
        self.push(self.start_s, K.SAMPLE, 0)
        self.push(self.start_s, K.FEED, 0)
        self.push(self.start_s + self.reroute_interval_s, K.REBUILD, 0)

    def at(self, t: float, action) -> None:
        """Run `action(t)` at time t, not before now."""
        self._controls.append(action)
        self.push(max(float(t), self.now), K.CONTROL, len(self._controls) - 1)

    def schedule_departure(self, veh: int, t: float) -> None:
        self.schedule_departures([t], [veh])

    def schedule_departures(self, times, vehicles) -> None:
        """Departures of vehicles at the given times, each with the next sequence number."""
        times = np.asarray(times, dtype=np.float64)
        vehicles = np.asarray(vehicles, dtype=np.int64)
        a, I, m = self._arrays, self.I, len(times) + K.MARGIN  # noqa: E741
        if I[K.I_HN] + m >= len(a["ht"]):
            self._replace(**{k: _grown(a[k], I[K.I_HN] + m) for k in ("ht", "hs", "hk", "hi")})
        if I[K.I_PN] + m >= len(a["pt"]):
            self._replace(**{k: _grown(a[k], I[K.I_PN] + m) for k in ("pt", "ps", "pk", "pi")})
        K.schedule_departures(self._view(), times, vehicles)

    def closures_changed(self) -> None:
        """As EventLoop.closures_changed."""
        self.guidance.epoch_t = self.now
        self.guidance.forget_routes()
        if not self._closure_rebuild_pending:
            self._closure_rebuild_pending = True
            self.at(self.now + CLOSURE_REBUILD_S, self._closure_rebuild)

    def _closure_rebuild(self, t: float) -> None:
        self._closure_rebuild_pending = False
        self.guidance.rebuild(t, closure_change=True)
        if self.links.reopened:
            self.links.reopened = False
            n = int(self.I[K.I_UNROUTED_N])
            retry = self._arrays["unrouted"][:n].tolist()
            self.I[K.I_UNROUTED_N] = 0
            for veh in retry:
                self.push(t, K.DEPART, veh)

    # ---- running ------------------------------------------------------------------------------
    def run(self, t_end: float) -> None:
        """Process every event up to and including t_end."""
        I, F, v = self.I, self.F, self.vehicles  # noqa: E741
        t_end = float(t_end)
        while True:
            self._sync_guidance()
            code = K.run(self._view(), t_end)
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
                t = float(F[K.F_NOW])
                self.links.set_flow(self.log.flow_since_mark(t))
                self.guidance.rebuild(t)
                self.push(t + self.reroute_interval_s, K.REBUILD, 0)
            elif code == K.FULL:
                self._grow()
        self._move_log()

    def _notify(self) -> None:
        a, n = self._arrays, int(self.I[K.I_NOTE_N])
        vehs, nodes, times = (a["note_veh"][:n].tolist(), a["note_node"][:n].tolist(),
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

    @property
    def timeseries(self) -> list[tuple]:
        """(time, in network, waiting to enter, departed, arrived, stuck) each minute."""
        rows = self._arrays["samples"][:int(self.I[K.I_TS_N])]
        return [(t, int(a), int(b), int(c), int(d), int(e)) for t, a, b, c, d, e in rows.tolist()]

    @property
    def next_event_time(self) -> float:
        return float(self._arrays["ht"][0]) if self.I[K.I_HN] > 0 else float("inf")

    def standing(self, t: float) -> int:
        """As EventLoop.standing."""
        return int(K.count_queued(self._view(), float(t))) + self.waiting_to_enter

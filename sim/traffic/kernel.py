"""The compiled core: the event loop's movement rules over arrays, compiled by numba.

The same rules as loop_reference.EventLoop, one function per method there, over the arrays of
a `Core` (a named tuple: link state, vehicle records, the event heaps, the queues, the log's
buffer). `run` processes events until one needs Python and then returns a code saying which:
a listener to tell of an arrival, a control to run, guidance to rebuild, a fixed route to find,
a buffer to empty or grow. loop_compiled.CompiledLoop does that and calls `run` again, always
through `call`, the one entry point.

Two rules keep the result exactly the reference's:
- Events pop in (time, sequence number, kind, index) order, every key unique, so the heap's
  own algorithm does not matter; every sequence number is taken at the same point as there.
- A Python call happens at the same point of an event as there. An arrival's listener is
  called in the middle of a release: the release's rest (the link's next event, waking its
  waiters) waits as a continuation and runs when `run` is called again. A route is found
  before the event changes anything it cannot change again the same way: the event goes back
  on the heap under its own key and is run afresh once the route is there. `on_node` is a
  notice that must not act on the engine (VehicleListener), so notices are handed over at the
  end of the event that raised them.

Layout: tables with a row per sim link (`li`, `lf`) and per vehicle (`vi`, `vf`), their
columns named below (L_, LF_, V_, VF_); events as rows of (time, sequence number, kind, index).
A link's queue is a list threaded through the vehicles (columns L_Q_FIRST, L_Q_LAST, V_QNEXT;
each vehicle's earliest exit VF_EE), as a vehicle is in one queue at most; a link's waiters
live in a pool of list cells (`wcell`). Scalars sit in two small arrays, `I` (counts, indices)
and `F` (times), at the positions named below. Every function runs without numba's reference
counting (`_nrt=False`): the kernel allocates nothing, and counting each array on each call
made it slower than the Python loop. A call from one compiled function to another passes each
array of the Core as its own arguments (about 200 values), so the functions on an ordinary
event's path are inlined into `run` (`inline="always"`); the rarer ones stay calls, as each
inlined copy lengthens the first run's compiling.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

# event kinds, as in loop_reference
LINK, DEPART, PRIO, STUCK, CONTROL, SAMPLE, REBUILD, FEED = range(8)
ARRIVE, NO_PATH, HOLD = -1, -2, -3
DEPARTURE_BUFFER = -1
PLANNED, WAITING, ON_LINK, ARRIVED, ABANDONED = range(5)
FEED_S = 60.0
SAMPLE_S = 60.0

# what run() returns
DONE, CALL_ARRIVE, NOTIFY, NEED_ROUTE, RUN_CONTROL, RUN_REBUILD, FULL = range(7)

# positions in I
(I_HN, I_PN, I_SEQ, I_DEPARTED, I_ARRIVED, I_IN_NET, I_WAITING, I_TRAV, I_STUCK_EVENTS,
 I_STUCK_NOW, I_LOG_N, I_HELD_HEAD, I_HELD_TAIL, I_UNROUTED_N, I_NOTE_N, I_TS_N, I_OUT_A,
 I_OUT_B, I_CONT, I_CONT_LK, I_W_FREE, I_ERROR, I_BULK_I, I_BULK_N, I_EVENTS) = range(25)
N_I = 25
# positions in F
(F_NOW, F_FED_UNTIL, F_EPOCH, F_REROUTE, F_STUCK_AFTER, F_PATIENCE, F_END, F_SKIP, F_OUT_T,
 F_CONT_T, F_CONT_HW) = range(11)
N_F = 11
ERR_WAITERS = 1  # the waiters' pool ran out (a bound broken: a bug)
MARGIN = 4096  # room every buffer must have before an event runs


# columns of the per-vehicle tables: vi (integers), vf (times); the first columns are the
# ones nearly every event reads, so that they share a cache line
(V_QNEXT, V_CLS, V_DEST, V_RLEN, V_RPOS, V_RSTART, V_ROW, V_LINK, V_STATE, V_LISTENER, V_NODES,
 V_FORCED, V_ORIG, V_SLOT, V_WNEXT, V_WITHDRAWN, V_NOROUTE) = range(17)
N_VI = 17
VF_EE, VF_ENTRY, VF_TAB_T, VF_ARRIVE, VF_HELD_S, VF_HELD_AT, VF_ABANDONED_AT, VF_DEPART = range(8)
N_VF = 8
# columns of the per-link tables: li (integers), lf (seconds, PCE)
(L_LINK_FROM, L_LINK_TO, L_BLOCKED_ON, L_WOKEN, L_MAX_QUEUE, L_EVT_SEQ, L_Q_FIRST, L_Q_LAST,
 L_Q_LEN, L_Q_DUE_N, L_Q_DUE_LAST, L_W_HEAD, L_W_TAIL, L_EW_HEAD, L_EW_TAIL, L_EW_LEN) = range(16)
N_LI = 16
(LF_HW, LF_STORAGE, LF_OCC, LF_NEXT_RELEASE, LF_BLOCKED_SINCE, LF_LAST_OUT, LF_QUEUE_GAP,
 LF_AT_CAPACITY) = range(8)
N_LF = 8
C_PRIORITY, C_BACKGROUND, C_MOTORCADE = range(3)  # columns of cls_i


class Core(NamedTuple):
    """Every array the compiled loop reads or writes (see the module docstring). Few arrays,
    each a table, as each array costs the call into the kernel its unpacking."""

    I: np.ndarray  # noqa: E741 (int scalars)
    F: np.ndarray  # float scalars
    cls_pce: np.ndarray  # per vehicle class
    cls_i: np.ndarray  # per vehicle class: C_ columns
    li: np.ndarray  # link x L_ column
    lf: np.ndarray  # link x LF_ column
    exit_base: np.ndarray  # class x link: seconds from entry to the earliest exit
    closed: np.ndarray  # class x link: closures holding it
    wcell: np.ndarray  # waiters' cells: value, next cell
    vi: np.ndarray  # vehicle x V_ column
    vf: np.ndarray  # vehicle x VF_ column
    routes: np.ndarray  # fixed routes, one after another (sim links)
    rows: np.ndarray  # guidance rows: row x node -> next link
    cur_rows: np.ndarray  # destination slot -> row of the table now
    heap: np.ndarray  # events: time, sequence number, kind, index
    pend: np.ndarray  # departures added one by one, not yet fed to the heap: a heap
    bulk: np.ndarray  # departures added in bulk, not yet fed: rows in order, from I_BULK_I
    log_ids: np.ndarray  # traversals: link, vehicle pairs
    log_times: np.ndarray  # traversals: entry, exit pairs
    notes: np.ndarray  # on_node notices: vehicle, node
    note_t: np.ndarray
    held_t: np.ndarray  # background drivers held by closures, in time order
    held_veh: np.ndarray
    unrouted: np.ndarray  # vehicles waiting off the road for a way to open
    samples: np.ndarray  # the minute's counts


# ---- the heaps: rows of (time, sequence number, kind, index), all as float64 ---------------------
@njit(cache=True, inline="always", _nrt=False)
def _less(h, a, t, seq, kind, idx):
    """Row a of h sorts before the event (t, seq, kind, idx)."""
    if h[a, 0] != t:
        return h[a, 0] < t
    if h[a, 1] != seq:
        return h[a, 1] < seq
    if h[a, 2] != kind:
        return h[a, 2] < kind
    return h[a, 3] < idx


@njit(cache=True, _nrt=False)
def heap_push(h, n, t, seq, kind, idx):
    """Push onto a heap of n rows; returns the new size (the caller keeps room)."""
    pos = n
    while pos > 0:
        parent = (pos - 1) >> 1
        if _less(h, parent, t, seq, kind, idx):
            break
        h[pos, 0], h[pos, 1], h[pos, 2], h[pos, 3] = (h[parent, 0], h[parent, 1],
                                                      h[parent, 2], h[parent, 3])
        pos = parent
    h[pos, 0], h[pos, 1], h[pos, 2], h[pos, 3] = t, seq, kind, idx
    return n + 1


@njit(cache=True, inline="always", _nrt=False)
def heap_pop(h, n):
    """Remove the top of a heap of n rows; returns the new size."""
    n -= 1
    if n == 0:
        return 0
    t, seq, kind, idx = h[n, 0], h[n, 1], h[n, 2], h[n, 3]
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        right = child + 1
        if right < n and _less(h, right, h[child, 0], h[child, 1], h[child, 2], h[child, 3]):
            child = right
        if not _less(h, child, t, seq, kind, idx):
            break
        h[pos, 0], h[pos, 1], h[pos, 2], h[pos, 3] = (h[child, 0], h[child, 1], h[child, 2],
                                                      h[child, 3])
        pos = child
    h[pos, 0], h[pos, 1], h[pos, 2], h[pos, 3] = t, seq, kind, idx
    return n


@njit(cache=True, inline="always", _nrt=False)
def next_seq(c):
    c.I[I_SEQ] += 1
    return c.I[I_SEQ]


@njit(cache=True, inline="always", _nrt=False)
def push(c, t, kind, idx):
    seq = next_seq(c)
    c.I[I_HN] = heap_push(c.heap, c.I[I_HN], t, seq, kind, idx)
    return seq


@njit(cache=True, inline="always", _nrt=False)
def schedule_link(c, lk, t):
    c.li[lk, L_EVT_SEQ] = push(c, t, LINK, lk)


@njit(cache=True, _nrt=False)
def schedule_departures(c, times, vehicles):
    """Departures at the given times (in this order: each takes the next sequence number):
    into the heap when within the fed horizon, else into the pending heap."""
    for j in range(len(times)):
        t = times[j]
        seq = next_seq(c)
        if t <= c.F[F_FED_UNTIL]:
            c.I[I_HN] = heap_push(c.heap, c.I[I_HN], t, seq, DEPART, vehicles[j])
        else:
            c.I[I_PN] = heap_push(c.pend, c.I[I_PN], t, seq, DEPART, vehicles[j])


@njit(cache=True, _nrt=False)
def push_rows(c, rows):
    """Events given as rows of (time, sequence number, kind, index) onto the heap."""
    for j in range(rows.shape[0]):
        c.I[I_HN] = heap_push(c.heap, c.I[I_HN], rows[j, 0], rows[j, 1], rows[j, 2],
                              rows[j, 3])


# ---- waiters: per link a FIFO of upstream links (or DEPARTURE_BUFFER) in a pool of cells -------
@njit(cache=True, inline="always", _nrt=False)
def _cell(c, value):
    cell = c.I[I_W_FREE]
    if cell < 0:
        c.I[I_ERROR] = ERR_WAITERS
        return -1
    c.I[I_W_FREE] = c.wcell[cell, 1]
    c.wcell[cell, 0] = value
    c.wcell[cell, 1] = -1
    return cell


@njit(cache=True, _nrt=False)
def waiters_append(c, lk, value):
    cell = _cell(c, value)
    if cell < 0:
        return
    if c.li[lk, L_W_TAIL] < 0:
        c.li[lk, L_W_HEAD] = cell
    else:
        c.wcell[c.li[lk, L_W_TAIL], 1] = cell
    c.li[lk, L_W_TAIL] = cell


@njit(cache=True, _nrt=False)
def waiters_appendleft(c, lk, value):
    cell = _cell(c, value)
    if cell < 0:
        return
    c.wcell[cell, 1] = c.li[lk, L_W_HEAD]
    c.li[lk, L_W_HEAD] = cell
    if c.li[lk, L_W_TAIL] < 0:
        c.li[lk, L_W_TAIL] = cell


@njit(cache=True, _nrt=False)
def waiters_popleft(c, lk):
    cell = c.li[lk, L_W_HEAD]
    value = c.wcell[cell, 0]
    c.li[lk, L_W_HEAD] = c.wcell[cell, 1]
    if c.li[lk, L_W_HEAD] < 0:
        c.li[lk, L_W_TAIL] = -1
    c.wcell[cell, 1] = c.I[I_W_FREE]
    c.I[I_W_FREE] = cell
    return value


@njit(cache=True, _nrt=False)
def waiters_remove(c, lk, value):
    """Remove the first cell holding value (nothing if none does)."""
    prev = -1
    cell = c.li[lk, L_W_HEAD]
    while cell >= 0:
        if c.wcell[cell, 0] == value:
            nxt = c.wcell[cell, 1]
            if prev < 0:
                c.li[lk, L_W_HEAD] = nxt
            else:
                c.wcell[prev, 1] = nxt
            if c.li[lk, L_W_TAIL] == cell:
                c.li[lk, L_W_TAIL] = prev
            c.wcell[cell, 1] = c.I[I_W_FREE]
            c.I[I_W_FREE] = cell
            return
        prev = cell
        cell = c.wcell[cell, 1]


# ---- movement (one function per EventLoop method) -----------------------------------------------
@njit(cache=True, inline="always", _nrt=False)
def table_stale(tab_t, now, reroute, epoch):
    """A vehicle's next-link table, taken at tab_t, is stale: a re-route interval old, or older
    than the last change of closures (the vehicle takes the table of the moment at its next
    node)."""
    return now - tab_t >= reroute or tab_t < epoch


@njit(cache=True, inline="always", _nrt=False)
def next_link(c, veh, node, now):
    if node == c.vi[veh, V_DEST]:
        return ARRIVE
    if c.vi[veh, V_RLEN] >= 0:
        return c.routes[c.vi[veh, V_RSTART] + c.vi[veh, V_RPOS] + 1]
    if table_stale(c.vf[veh, VF_TAB_T], now, c.F[F_REROUTE], c.F[F_EPOCH]):
        c.vi[veh, V_ROW] = c.cur_rows[c.vi[veh, V_SLOT]]
        c.vf[veh, VF_TAB_T] = now
    return c.rows[c.vi[veh, V_ROW], node]


@njit(cache=True, inline="always", _nrt=False)
def open_way(c, veh, node, to_link):
    """to_link if open to the vehicle; else NEED_ROUTE's marker -4 (the caller hands the event
    to Python, which finds the way round), or NO_PATH when Python found none."""
    if to_link < 0 or c.closed[c.vi[veh, V_CLS], to_link] == 0:
        return to_link
    if c.vi[veh, V_NOROUTE]:
        c.vi[veh, V_NOROUTE] = False
        return NO_PATH
    c.I[I_OUT_A] = veh
    c.I[I_OUT_B] = node
    return -4


@njit(cache=True, inline="always", _nrt=False)
def queued(c, lk, t):
    """Vehicles on the link already past their earliest exit time (from the head). Exit times
    rise along a queue and the clock only moves on, so the count from the last call only
    grows by the vehicles now due behind the last one counted: each is passed once."""
    n = c.li[lk, L_Q_DUE_N]
    last = c.li[lk, L_Q_DUE_LAST]
    veh = c.li[lk, L_Q_FIRST] if n == 0 else c.vi[last, V_QNEXT]
    while veh >= 0 and c.vf[veh, VF_EE] <= t:
        n += 1
        last = veh
        veh = c.vi[veh, V_QNEXT]
    c.li[lk, L_Q_DUE_N] = n
    c.li[lk, L_Q_DUE_LAST] = last
    return n


@njit(cache=True, inline="always", _nrt=False)
def record_exit(c, lk, veh, t):
    n = c.I[I_LOG_N]
    c.log_ids[2 * n] = lk
    c.log_ids[2 * n + 1] = veh
    c.log_times[2 * n] = c.vf[veh, VF_ENTRY]
    c.log_times[2 * n + 1] = t
    c.I[I_LOG_N] = n + 1


@njit(cache=True, inline="always", _nrt=False)
def enter(c, veh, lk, t):
    ci = c.vi[veh, V_CLS]
    if c.vi[veh, V_RLEN] >= 0:
        c.vi[veh, V_RPOS] += 1
    c.vi[veh, V_LINK] = lk
    c.vi[veh, V_STATE] = ON_LINK
    c.vf[veh, VF_ENTRY] = t
    c.I[I_TRAV] += 1
    to_exit = c.exit_base[ci, lk]
    if c.vi[veh, V_NODES]:
        n = c.I[I_NOTE_N]
        c.notes[n, 0] = veh
        c.notes[n, 1] = c.li[lk, L_LINK_FROM]
        c.note_t[n] = t
        c.I[I_NOTE_N] = n + 1
    if c.cls_i[ci, C_PRIORITY]:
        skip = 1.0 if c.cls_i[ci, C_MOTORCADE] else c.F[F_SKIP]
        q = queued(c, lk, t)
        per_vehicle = c.lf[lk, LF_HW]
        if q >= 2 and c.lf[lk, LF_QUEUE_GAP] > per_vehicle:
            per_vehicle = c.lf[lk, LF_QUEUE_GAP]
        push(c, t + to_exit + (1.0 - skip) * q * per_vehicle, PRIO, veh)
        return
    c.lf[lk, LF_OCC] += c.cls_pce[ci]
    exit_t = t + to_exit
    was_empty = c.li[lk, L_Q_LEN] == 0
    if not was_empty and c.vf[c.li[lk, L_Q_LAST], VF_EE] > exit_t:
        exit_t = c.vf[c.li[lk, L_Q_LAST], VF_EE]  # FIFO: no overtaking inside a link
    c.vf[veh, VF_EE] = exit_t
    c.vi[veh, V_QNEXT] = -1
    if was_empty:
        c.li[lk, L_Q_FIRST] = veh
    else:
        c.vi[c.li[lk, L_Q_LAST], V_QNEXT] = veh
    c.li[lk, L_Q_LAST] = veh
    c.li[lk, L_Q_LEN] += 1
    if was_empty and c.li[lk, L_BLOCKED_ON] < 0:
        free_at = c.lf[lk, LF_NEXT_RELEASE]
        schedule_link(c, lk, exit_t if exit_t > free_at else free_at)


@njit(cache=True, inline="always", _nrt=False)
def arrive(c, veh, t):
    """Returns CALL_ARRIVE when the vehicle's listener must be told (its id in I_OUT_A)."""
    c.vf[veh, VF_ARRIVE] = t
    c.vi[veh, V_STATE] = ARRIVED
    c.vi[veh, V_LINK] = -1
    c.I[I_ARRIVED] += 1
    if c.vi[veh, V_FORCED]:
        c.I[I_STUCK_NOW] -= 1
    if c.vi[veh, V_LISTENER]:
        c.I[I_OUT_A] = veh
        c.F[F_OUT_T] = t
        return CALL_ARRIVE
    return DONE


@njit(cache=True, _nrt=False)
def wait_for_opening(c, veh, t):
    if c.vf[veh, VF_HELD_AT] < 0.0:
        c.vf[veh, VF_HELD_AT] = t
        if not c.vi[veh, V_LISTENER] and c.cls_i[c.vi[veh, V_CLS], C_BACKGROUND]:
            n = c.I[I_HELD_TAIL]
            c.held_t[n] = t
            c.held_veh[n] = veh
            c.I[I_HELD_TAIL] = n + 1
    n = c.I[I_UNROUTED_N]
    c.unrouted[n] = veh
    c.I[I_UNROUTED_N] = n + 1


@njit(cache=True, _nrt=False)
def hold(c, veh, node, t):
    c.vi[veh, V_LINK] = -1
    c.vi[veh, V_STATE] = WAITING
    c.vi[veh, V_ORIG] = node
    c.vi[veh, V_RLEN] = -1
    c.I[I_WAITING] += 1
    wait_for_opening(c, veh, t)


@njit(cache=True, _nrt=False)
def wake(c, lk, t):
    while c.li[lk, L_W_HEAD] >= 0 and c.lf[lk, LF_OCC] < c.lf[lk, LF_STORAGE]:
        w = waiters_popleft(c, lk)
        if w == DEPARTURE_BUFFER:
            veh = c.li[lk, L_EW_HEAD]
            c.li[lk, L_EW_HEAD] = c.vi[veh, V_WNEXT]
            c.li[lk, L_EW_LEN] -= 1
            if c.li[lk, L_EW_LEN] == 0:
                c.li[lk, L_EW_TAIL] = -1
            else:
                waiters_append(c, lk, DEPARTURE_BUFFER)
            c.I[I_WAITING] -= 1
            enter(c, veh, lk, t)
            continue
        if c.li[w, L_BLOCKED_ON] == lk:
            c.li[w, L_WOKEN] = True
            schedule_link(c, w, t)
            return


@njit(cache=True, _nrt=False)
def block_start(c, lk, to_link, t, register):
    if c.li[lk, L_BLOCKED_ON] < 0:
        c.lf[lk, LF_BLOCKED_SINCE] = t
        push(c, t + c.F[F_STUCK_AFTER], STUCK, lk)
    c.li[lk, L_BLOCKED_ON] = to_link if to_link >= 0 else -2
    if register:
        waiters_append(c, to_link, lk)


@njit(cache=True, inline="always", _nrt=False)
def finish_release(c, lk, t, headway):
    """The rest of a release after the vehicle has gone: the link's next event, its waiters."""
    if c.li[lk, L_Q_LEN] > 0:
        exit_t = c.vf[c.li[lk, L_Q_FIRST], VF_EE]
        release_t = t + headway
        schedule_link(c, lk, exit_t if exit_t > release_t else release_t)
    if c.li[lk, L_W_HEAD] >= 0:
        wake(c, lk, t)


@njit(cache=True, inline="always", _nrt=False)
def release(c, lk, veh, to_link, t):
    pce = c.cls_pce[c.vi[veh, V_CLS]]
    headway = c.lf[lk, LF_HW] * pce
    q = queued(c, lk, t)
    if q >= 2:  # another vehicle waits behind this one: a standing queue
        if q > c.li[lk, L_MAX_QUEUE]:
            c.li[lk, L_MAX_QUEUE] = q
        if c.lf[lk, LF_LAST_OUT] >= 0.0:
            c.lf[lk, LF_QUEUE_GAP] += 0.2 * (t - c.lf[lk, LF_LAST_OUT] - c.lf[lk, LF_QUEUE_GAP])
        c.lf[lk, LF_LAST_OUT] = t
        if c.li[lk, L_BLOCKED_ON] == -1:
            c.lf[lk, LF_AT_CAPACITY] += headway
    elif c.lf[lk, LF_LAST_OUT] >= 0.0:
        c.lf[lk, LF_LAST_OUT] = -1.0
    if c.li[lk, L_BLOCKED_ON] != -1:
        c.lf[lk, LF_AT_CAPACITY] += t - c.lf[lk, LF_BLOCKED_SINCE]
        c.li[lk, L_BLOCKED_ON] = -1
    record_exit(c, lk, veh, t)
    if c.li[lk, L_Q_DUE_N] > 0:  # the head was counted as due
        c.li[lk, L_Q_DUE_N] -= 1
    c.li[lk, L_Q_FIRST] = c.vi[veh, V_QNEXT]
    c.li[lk, L_Q_LEN] -= 1
    if c.li[lk, L_Q_LEN] == 0:
        c.li[lk, L_Q_LAST] = -1
    c.lf[lk, LF_OCC] -= pce
    c.lf[lk, LF_NEXT_RELEASE] = t + headway
    if to_link == ARRIVE:
        c.I[I_IN_NET] -= 1
        if arrive(c, veh, t) == CALL_ARRIVE:
            c.I[I_CONT] = 1
            c.I[I_CONT_LK] = lk
            c.F[F_CONT_T] = t
            c.F[F_CONT_HW] = headway
            return CALL_ARRIVE
    elif to_link == HOLD:
        hold(c, veh, c.li[lk, L_LINK_TO], t)
    else:
        enter(c, veh, to_link, t)
    finish_release(c, lk, t, headway)
    return DONE


@njit(cache=True, inline="always", _nrt=False)
def link_event(c, lk, t):
    """As EventLoop.link_event; NEED_ROUTE before anything changed but the vehicle's guidance
    row (taken again the same way)."""
    if c.li[lk, L_Q_LEN] == 0:
        return DONE
    veh = c.li[lk, L_Q_FIRST]
    node = c.li[lk, L_LINK_TO]
    to_link = next_link(c, veh, node, t)
    to_link = open_way(c, veh, node, to_link)
    if to_link == -4:
        return NEED_ROUTE
    woken = c.li[lk, L_WOKEN]
    c.li[lk, L_WOKEN] = False
    if to_link >= 0:
        pce = c.cls_pce[c.vi[veh, V_CLS]]
        occ = c.lf[to_link, LF_OCC]
        if occ > 0 and (occ + pce > c.lf[to_link, LF_STORAGE] + 1e-9
                        or (c.li[to_link, L_W_HEAD] >= 0 and not woken)):
            if woken:
                waiters_appendleft(c, to_link, lk)
                block_start(c, lk, to_link, t, False)
            else:
                block_start(c, lk, to_link, t, True)
            return DONE
    elif to_link == NO_PATH:
        to_link = HOLD
    return release(c, lk, veh, to_link, t)


@njit(cache=True, _nrt=False)
def depart(c, veh, t):
    """As EventLoop._depart; NEED_ROUTE when a fixed route or a way round a closure must be
    found first (what changed before is taken again the same way)."""
    if c.vi[veh, V_WITHDRAWN] or c.vi[veh, V_STATE] == ABANDONED:
        return DONE
    if c.vi[veh, V_STATE] == PLANNED:
        c.I[I_DEPARTED] += 1
        c.I[I_IN_NET] += 1
        c.I[I_WAITING] += 1
        c.vi[veh, V_STATE] = WAITING
    orig = c.vi[veh, V_ORIG]
    if c.vi[veh, V_RLEN] < 0 and c.vi[veh, V_SLOT] >= 0:
        c.vi[veh, V_ROW] = c.cur_rows[c.vi[veh, V_SLOT]]
        c.vf[veh, VF_TAB_T] = t
    elif c.vi[veh, V_RLEN] < 0 and orig != c.vi[veh, V_DEST]:
        # a routed vehicle setting off (again, after waiting out a closure): Python finds the
        # route, or marks that there is none
        if c.vi[veh, V_NOROUTE]:
            c.vi[veh, V_NOROUTE] = False
            wait_for_opening(c, veh, t)
            return DONE
        c.I[I_OUT_A] = veh
        c.I[I_OUT_B] = orig
        return NEED_ROUTE
    to_link = open_way(c, veh, orig, next_link(c, veh, orig, t))
    if to_link == -4:
        return NEED_ROUTE
    if to_link == ARRIVE:
        c.I[I_WAITING] -= 1
        c.I[I_IN_NET] -= 1
        return arrive(c, veh, t)
    if to_link == NO_PATH:
        wait_for_opening(c, veh, t)
        return DONE
    if c.vf[veh, VF_HELD_AT] >= 0.0:
        c.vf[veh, VF_HELD_S] += t - c.vf[veh, VF_HELD_AT]
        c.vf[veh, VF_HELD_AT] = -1.0
    ci = c.vi[veh, V_CLS]
    if c.cls_i[ci, C_PRIORITY] or (c.li[to_link, L_W_HEAD] < 0
                           and c.lf[to_link, LF_OCC] + c.cls_pce[ci] <= c.lf[to_link, LF_STORAGE]):
        c.I[I_WAITING] -= 1
        enter(c, veh, to_link, t)
    else:
        c.vi[veh, V_WNEXT] = -1
        if c.li[to_link, L_EW_LEN] == 0:
            c.li[to_link, L_EW_HEAD] = veh
        else:
            c.vi[c.li[to_link, L_EW_TAIL], V_WNEXT] = veh
        c.li[to_link, L_EW_TAIL] = veh
        c.li[to_link, L_EW_LEN] += 1
        if c.li[to_link, L_EW_LEN] == 1:
            waiters_append(c, to_link, DEPARTURE_BUFFER)
    return DONE


@njit(cache=True, _nrt=False)
def stuck_check(c, lk, t):
    if c.li[lk, L_BLOCKED_ON] == -1 or c.lf[lk, LF_BLOCKED_SINCE] + c.F[F_STUCK_AFTER] > t + 1e-6:
        return DONE
    if c.li[lk, L_Q_LEN] == 0:
        return DONE
    veh = c.li[lk, L_Q_FIRST]
    to_link = c.li[lk, L_BLOCKED_ON]
    if to_link >= 0:
        waiters_remove(c, to_link, lk)
    if not c.vi[veh, V_FORCED]:
        c.vi[veh, V_FORCED] = True
        c.I[I_STUCK_NOW] += 1
    c.I[I_STUCK_EVENTS] += 1
    c.li[lk, L_WOKEN] = False
    return release(c, lk, veh, to_link, t)


@njit(cache=True, _nrt=False)
def priority_move(c, veh, t):
    lk = c.vi[veh, V_LINK]
    record_exit(c, lk, veh, t)
    to_link = next_link(c, veh, c.li[lk, L_LINK_TO], t)
    if to_link in (ARRIVE, NO_PATH):
        # a priority vehicle with nowhere open to go stops here
        c.I[I_IN_NET] -= 1
        return arrive(c, veh, t)
    enter(c, veh, to_link, t)
    return DONE


@njit(cache=True, _nrt=False)
def give_up_waits(c, t):
    patience = c.F[F_PATIENCE]
    while c.I[I_HELD_HEAD] < c.I[I_HELD_TAIL]:
        h = c.I[I_HELD_HEAD]
        since = c.held_t[h]
        if since + patience > t:
            break
        veh = c.held_veh[h]
        c.I[I_HELD_HEAD] = h + 1
        if c.vf[veh, VF_HELD_AT] != since or c.vi[veh, V_STATE] != WAITING:
            continue
        c.vf[veh, VF_HELD_S] += t - since
        c.vf[veh, VF_HELD_AT] = -1.0
        c.vi[veh, V_STATE] = ABANDONED
        c.vf[veh, VF_ABANDONED_AT] = t
        c.I[I_WAITING] -= 1
        c.I[I_IN_NET] -= 1
        if c.vi[veh, V_FORCED]:
            c.I[I_STUCK_NOW] -= 1


@njit(cache=True, _nrt=False)
def sample(c, t):
    if c.I[I_HELD_HEAD] < c.I[I_HELD_TAIL]:
        give_up_waits(c, t)
    n = c.I[I_TS_N]
    row = c.samples[n]
    row[0] = t
    row[1] = c.I[I_IN_NET]
    row[2] = c.I[I_WAITING]
    row[3] = c.I[I_DEPARTED]
    row[4] = c.I[I_ARRIVED]
    row[5] = c.I[I_STUCK_NOW]
    c.I[I_TS_N] = n + 1
    if t + SAMPLE_S <= c.F[F_END]:
        push(c, t + SAMPLE_S, SAMPLE, 0)


@njit(cache=True, _nrt=False)
def feed(c, t):
    horizon = t + FEED_S
    p = c.pend
    while c.I[I_PN] > 0 and p[0, 0] <= horizon:
        c.I[I_HN] = heap_push(c.heap, c.I[I_HN], p[0, 0], p[0, 1], p[0, 2], p[0, 3])
        c.I[I_PN] = heap_pop(p, c.I[I_PN])
    b = c.bulk
    i = c.I[I_BULK_I]
    while i < c.I[I_BULK_N] and b[i, 0] <= horizon:
        c.I[I_HN] = heap_push(c.heap, c.I[I_HN], b[i, 0], b[i, 1], b[i, 2], b[i, 3])
        i += 1
    c.I[I_BULK_I] = i
    c.F[F_FED_UNTIL] = horizon
    if c.I[I_PN] > 0 or i < c.I[I_BULK_N] or t + FEED_S <= c.F[F_END]:
        c.I[I_HN] = heap_push(c.heap, c.I[I_HN], horizon, 0, FEED, 0)


# ---- the loop ----------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _room(c):
    """Whether every buffer an event may write has MARGIN entries free."""
    return (c.I[I_HN] + MARGIN < c.heap.shape[0] and c.I[I_LOG_N] + MARGIN < len(c.log_times) // 2
            and c.I[I_HELD_TAIL] + MARGIN < len(c.held_t)
            and c.I[I_UNROUTED_N] + MARGIN < len(c.unrouted)
            and c.I[I_NOTE_N] + MARGIN < c.note_t.shape[0]
            and c.I[I_TS_N] + 2 < len(c.samples))


@njit(cache=True, _nrt=False)
def run(c, t_end):
    """Process events up to and including t_end until one needs Python; returns what it needs
    (see the module docstring): DONE when no event up to t_end is left."""
    if c.I[I_CONT] == 1:  # the rest of the release whose arrival Python was told of
        c.I[I_CONT] = 0
        finish_release(c, c.I[I_CONT_LK], c.F[F_CONT_T], c.F[F_CONT_HW])
        if c.I[I_NOTE_N] > 0:
            return NOTIFY
    while c.I[I_HN] > 0:
        if not _room(c):
            return FULL
        if c.I[I_ERROR] != 0:
            return FULL
        t = c.heap[0, 0]
        if t > t_end:
            break
        seq, kind, idx = int(c.heap[0, 1]), int(c.heap[0, 2]), int(c.heap[0, 3])
        c.I[I_HN] = heap_pop(c.heap, c.I[I_HN])
        c.I[I_EVENTS] += 1
        c.F[F_NOW] = t
        code = DONE
        if kind == LINK:
            if c.li[idx, L_EVT_SEQ] != seq:  # a replaced event of the link
                continue
            code = link_event(c, idx, t)
        elif kind == DEPART:
            code = depart(c, idx, t)
        elif kind == PRIO:
            code = priority_move(c, idx, t)
        elif kind == STUCK:
            code = stuck_check(c, idx, t)
        elif kind == SAMPLE:
            sample(c, t)
        elif kind == FEED:
            feed(c, t)
        elif kind == CONTROL:
            c.I[I_OUT_A] = idx
            return RUN_CONTROL
        elif kind == REBUILD:
            return RUN_REBUILD
        if code == NEED_ROUTE:  # back on the heap under its own key, run again after
            c.I[I_HN] = heap_push(c.heap, c.I[I_HN], t, seq, kind, idx)
            return NEED_ROUTE
        if code != DONE:
            return code
        if c.I[I_NOTE_N] > 0:
            return NOTIFY
    return DONE


@njit(cache=True, _nrt=False)
def count_queued(c, t):
    """Vehicles standing in every link's queue past their earliest exit (jam_state)."""
    total = 0
    for lk in range(c.li.shape[0]):
        if c.li[lk, L_Q_LEN] > 0:
            total += queued(c, lk, t)
    return total


# ---- the one way in from Python ----------------------------------------------------------------
OP_RUN, OP_PUSH, OP_PUSH_ROWS, OP_DEPARTURES, OP_QUEUED = range(5)
_NO_FLOATS = np.zeros(0)
_NO_INTS = np.zeros(0, dtype=np.int64)
_NO_ROWS = np.zeros((0, 4))


@njit(cache=True, nogil=True, _nrt=False)
def call(c, op, t, kind, idx, times, ints, rows):
    """Every call from Python goes through here: one compiled entry point loads from the cache
    once per process (each entry point costs a process a quarter of a second to load). It runs
    without the interpreter lock: the log's worker thread adds a full buffer meanwhile.
    OP_RUN: run(c, t) | OP_PUSH: push(c, t, kind, idx), the sequence number |
    OP_PUSH_ROWS: push_rows(c, rows) | OP_DEPARTURES: schedule_departures(c, times, ints) |
    OP_QUEUED: count_queued(c, t)."""
    if op == OP_RUN:
        return run(c, t)
    if op == OP_PUSH:
        return push(c, t, kind, idx)
    if op == OP_PUSH_ROWS:
        push_rows(c, rows)
        return 0
    if op == OP_DEPARTURES:
        schedule_departures(c, times, ints)
        return 0
    return count_queued(c, t)


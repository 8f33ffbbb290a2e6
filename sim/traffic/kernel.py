"""The compiled core: the event loop's movement rules over arrays, compiled by numba.

The same rules as loop_reference.EventLoop, one function per method there, over the arrays of
a `Core` (a named tuple: link state, vehicle records, the event heaps, the queues, the log's
buffer). `run` processes events until one needs Python and then returns a code saying which:
a listener to tell of an arrival, a control to run, guidance to rebuild, a fixed route to find,
a buffer to empty or grow. loop_compiled.CompiledLoop does that and calls `run` again.

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

Layout: per link arrays indexed by sim link; per vehicle arrays by vehicle id; a link's queue
is a list threaded through the vehicles (`q_first`, `q_last`, `v_qnext`; each vehicle's
earliest exit `v_ee`), as a vehicle is in one queue at most; a link's waiters live in a pool
of list cells (`w_val`, `w_next`). Scalars sit in two small arrays, `I` (counts, indices) and
`F` (times), at the positions named below.
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
 I_OUT_B, I_CONT, I_CONT_LK, I_W_FREE, I_ERROR) = range(22)
N_I = 22
# positions in F
(F_NOW, F_FED_UNTIL, F_EPOCH, F_REROUTE, F_STUCK_AFTER, F_PATIENCE, F_END, F_SKIP, F_OUT_T,
 F_CONT_T, F_CONT_HW) = range(11)
N_F = 11
ERR_WAITERS = 1  # the waiters' pool ran out (a bound broken: a bug)
ERR_ROUTE = 2  # a closed next link with no route asked for (a bug)
MARGIN = 4096  # room every buffer must have before an event runs


class Core(NamedTuple):
    """Every array the compiled loop reads or writes (see the module docstring)."""

    I: np.ndarray  # noqa: E741 (int scalars)
    F: np.ndarray  # float scalars
    # classes
    c_pce: np.ndarray
    c_priority: np.ndarray
    c_background: np.ndarray
    c_motorcade: np.ndarray
    # links: fixed and set by Python (controls, weather, signals)
    link_from: np.ndarray
    link_to: np.ndarray
    hw: np.ndarray
    storage: np.ndarray
    exit_base: np.ndarray  # class x link
    closed: np.ndarray  # class x link
    # links: the loop's own
    occ: np.ndarray
    next_release: np.ndarray
    blocked_on: np.ndarray
    blocked_since: np.ndarray
    woken: np.ndarray
    max_queue: np.ndarray
    last_out: np.ndarray
    queue_gap: np.ndarray
    at_capacity: np.ndarray
    evt_seq: np.ndarray
    q_first: np.ndarray
    q_last: np.ndarray
    q_len: np.ndarray
    q_due_n: np.ndarray  # vehicles from the head known past their earliest exit (queued)
    q_due_last: np.ndarray  # the last of them
    w_head: np.ndarray
    w_tail: np.ndarray
    w_val: np.ndarray
    w_next: np.ndarray
    ew_head: np.ndarray
    ew_tail: np.ndarray
    ew_len: np.ndarray
    # vehicles
    v_cls: np.ndarray
    v_orig: np.ndarray
    v_dest: np.ndarray
    v_slot: np.ndarray
    v_rstart: np.ndarray
    v_rlen: np.ndarray  # -1: no fixed route
    v_rpos: np.ndarray
    v_row: np.ndarray
    v_tab_t: np.ndarray
    v_link: np.ndarray
    v_entry: np.ndarray
    v_arrive: np.ndarray
    v_state: np.ndarray
    v_forced: np.ndarray
    v_held_s: np.ndarray
    v_held_at: np.ndarray
    v_abandoned_at: np.ndarray
    v_listener: np.ndarray
    v_nodes: np.ndarray
    v_withdrawn: np.ndarray
    v_noroute: np.ndarray
    v_qnext: np.ndarray
    v_ee: np.ndarray
    v_wnext: np.ndarray
    # routes and guidance rows
    routes: np.ndarray
    rows: np.ndarray  # row x node: next link
    cur_rows: np.ndarray  # destination slot -> row of the table now
    # events: the heap and the departures not yet fed to it
    ht: np.ndarray
    hs: np.ndarray
    hk: np.ndarray
    hi: np.ndarray
    pt: np.ndarray
    ps: np.ndarray
    pk: np.ndarray
    pi: np.ndarray
    # buffers Python empties: the traversal log, notices, held drivers, unrouted, samples
    log_ids: np.ndarray
    log_times: np.ndarray
    note_veh: np.ndarray
    note_node: np.ndarray
    note_t: np.ndarray
    held_t: np.ndarray
    held_veh: np.ndarray
    unrouted: np.ndarray
    samples: np.ndarray


# ---- the heaps -------------------------------------------------------------------------------
@njit(cache=True, inline="always", _nrt=False)
def _less(t1, s1, k1, i1, t2, s2, k2, i2):
    if t1 != t2:
        return t1 < t2
    if s1 != s2:
        return s1 < s2
    if k1 != k2:
        return k1 < k2
    return i1 < i2


@njit(cache=True, _nrt=False)
def heap_push(ht, hs, hk, hi, n, t, seq, kind, idx):
    """Push onto a heap of n entries; returns the new size (the caller keeps room)."""
    pos = n
    while pos > 0:
        parent = (pos - 1) >> 1
        if _less(t, seq, kind, idx, ht[parent], hs[parent], hk[parent], hi[parent]):
            ht[pos], hs[pos], hk[pos], hi[pos] = ht[parent], hs[parent], hk[parent], hi[parent]
            pos = parent
        else:
            break
    ht[pos], hs[pos], hk[pos], hi[pos] = t, seq, kind, idx
    return n + 1


@njit(cache=True, _nrt=False)
def heap_pop(ht, hs, hk, hi, n):
    """Remove the top of a heap of n entries; returns the new size."""
    n -= 1
    if n == 0:
        return 0
    t, seq, kind, idx = ht[n], hs[n], hk[n], hi[n]
    pos = 0
    while True:
        child = 2 * pos + 1
        if child >= n:
            break
        right = child + 1
        if right < n and _less(ht[right], hs[right], hk[right], hi[right],
                               ht[child], hs[child], hk[child], hi[child]):
            child = right
        if _less(ht[child], hs[child], hk[child], hi[child], t, seq, kind, idx):
            ht[pos], hs[pos], hk[pos], hi[pos] = ht[child], hs[child], hk[child], hi[child]
            pos = child
        else:
            break
    ht[pos], hs[pos], hk[pos], hi[pos] = t, seq, kind, idx
    return n


@njit(cache=True, inline="always", _nrt=False)
def next_seq(c):
    c.I[I_SEQ] += 1
    return c.I[I_SEQ]


@njit(cache=True, inline="always", _nrt=False)
def push(c, t, kind, idx):
    seq = next_seq(c)
    c.I[I_HN] = heap_push(c.ht, c.hs, c.hk, c.hi, c.I[I_HN], t, seq, kind, idx)
    return seq


@njit(cache=True, inline="always", _nrt=False)
def schedule_link(c, lk, t):
    c.evt_seq[lk] = push(c, t, LINK, lk)


@njit(cache=True, _nrt=False)
def schedule_departures(c, times, vehicles):
    """Departures at the given times (in this order: each takes the next sequence number):
    into the heap when within the fed horizon, else into the pending heap."""
    for j in range(len(times)):
        t = times[j]
        seq = next_seq(c)
        if t <= c.F[F_FED_UNTIL]:
            c.I[I_HN] = heap_push(c.ht, c.hs, c.hk, c.hi, c.I[I_HN], t, seq, DEPART,
                                  vehicles[j])
        else:
            c.I[I_PN] = heap_push(c.pt, c.ps, c.pk, c.pi, c.I[I_PN], t, seq, DEPART,
                                  vehicles[j])


@njit(cache=True, _nrt=False)
def push_event(c, t, kind, idx):
    """An event pushed from Python (a control, a rebuild, a departure retried)."""
    return push(c, t, kind, idx)


# ---- waiters: per link a FIFO of upstream links (or DEPARTURE_BUFFER) in a pool of cells -------
@njit(cache=True, inline="always", _nrt=False)
def _cell(c, value):
    cell = c.I[I_W_FREE]
    if cell < 0:
        c.I[I_ERROR] = ERR_WAITERS
        return -1
    c.I[I_W_FREE] = c.w_next[cell]
    c.w_val[cell] = value
    c.w_next[cell] = -1
    return cell


@njit(cache=True, _nrt=False)
def waiters_append(c, lk, value):
    cell = _cell(c, value)
    if cell < 0:
        return
    if c.w_tail[lk] < 0:
        c.w_head[lk] = cell
    else:
        c.w_next[c.w_tail[lk]] = cell
    c.w_tail[lk] = cell


@njit(cache=True, _nrt=False)
def waiters_appendleft(c, lk, value):
    cell = _cell(c, value)
    if cell < 0:
        return
    c.w_next[cell] = c.w_head[lk]
    c.w_head[lk] = cell
    if c.w_tail[lk] < 0:
        c.w_tail[lk] = cell


@njit(cache=True, _nrt=False)
def waiters_popleft(c, lk):
    cell = c.w_head[lk]
    value = c.w_val[cell]
    c.w_head[lk] = c.w_next[cell]
    if c.w_head[lk] < 0:
        c.w_tail[lk] = -1
    c.w_next[cell] = c.I[I_W_FREE]
    c.I[I_W_FREE] = cell
    return value


@njit(cache=True, _nrt=False)
def waiters_remove(c, lk, value):
    """Remove the first cell holding value (nothing if none does)."""
    prev = -1
    cell = c.w_head[lk]
    while cell >= 0:
        if c.w_val[cell] == value:
            nxt = c.w_next[cell]
            if prev < 0:
                c.w_head[lk] = nxt
            else:
                c.w_next[prev] = nxt
            if c.w_tail[lk] == cell:
                c.w_tail[lk] = prev
            c.w_next[cell] = c.I[I_W_FREE]
            c.I[I_W_FREE] = cell
            return
        prev = cell
        cell = c.w_next[cell]


# ---- movement (one function per EventLoop method) -----------------------------------------------
@njit(cache=True, _nrt=False)
def next_link(c, veh, node, now):
    if node == c.v_dest[veh]:
        return ARRIVE
    if c.v_rlen[veh] >= 0:
        return c.routes[c.v_rstart[veh] + c.v_rpos[veh] + 1]
    if now - c.v_tab_t[veh] >= c.F[F_REROUTE] or c.v_tab_t[veh] < c.F[F_EPOCH]:
        c.v_row[veh] = c.cur_rows[c.v_slot[veh]]
        c.v_tab_t[veh] = now
    return c.rows[c.v_row[veh], node]


@njit(cache=True, _nrt=False)
def open_way(c, veh, node, to_link):
    """to_link if open to the vehicle; else NEED_ROUTE's marker -4 (the caller hands the event
    to Python, which finds the way round), or NO_PATH when Python found none."""
    if to_link < 0 or c.closed[c.v_cls[veh], to_link] == 0:
        return to_link
    if c.v_noroute[veh]:
        c.v_noroute[veh] = False
        return NO_PATH
    c.I[I_OUT_A] = veh
    c.I[I_OUT_B] = node
    return -4


@njit(cache=True, _nrt=False)
def queued(c, lk, t):
    """Vehicles on the link already past their earliest exit time (from the head). Exit times
    rise along a queue and the clock only moves on, so the count from the last call only
    grows by the vehicles now due behind the last one counted: each is passed once."""
    n = c.q_due_n[lk]
    last = c.q_due_last[lk]
    veh = c.q_first[lk] if n == 0 else c.v_qnext[last]
    while veh >= 0 and c.v_ee[veh] <= t:
        n += 1
        last = veh
        veh = c.v_qnext[veh]
    c.q_due_n[lk] = n
    c.q_due_last[lk] = last
    return n


@njit(cache=True, _nrt=False)
def record_exit(c, lk, veh, t):
    n = c.I[I_LOG_N]
    c.log_ids[2 * n] = lk
    c.log_ids[2 * n + 1] = veh
    c.log_times[2 * n] = c.v_entry[veh]
    c.log_times[2 * n + 1] = t
    c.I[I_LOG_N] = n + 1


@njit(cache=True, _nrt=False)
def enter(c, veh, lk, t):
    ci = c.v_cls[veh]
    if c.v_rlen[veh] >= 0:
        c.v_rpos[veh] += 1
    c.v_link[veh] = lk
    c.v_state[veh] = ON_LINK
    c.v_entry[veh] = t
    c.I[I_TRAV] += 1
    to_exit = c.exit_base[ci, lk]
    if c.v_nodes[veh]:
        n = c.I[I_NOTE_N]
        c.note_veh[n] = veh
        c.note_node[n] = c.link_from[lk]
        c.note_t[n] = t
        c.I[I_NOTE_N] = n + 1
    if c.c_priority[ci]:
        skip = 1.0 if c.c_motorcade[ci] else c.F[F_SKIP]
        q = queued(c, lk, t)
        per_vehicle = c.hw[lk]
        if q >= 2 and c.queue_gap[lk] > per_vehicle:
            per_vehicle = c.queue_gap[lk]
        push(c, t + to_exit + (1.0 - skip) * q * per_vehicle, PRIO, veh)
        return
    c.occ[lk] += c.c_pce[ci]
    exit_t = t + to_exit
    was_empty = c.q_len[lk] == 0
    if not was_empty and c.v_ee[c.q_last[lk]] > exit_t:
        exit_t = c.v_ee[c.q_last[lk]]  # FIFO: no overtaking inside a link
    c.v_ee[veh] = exit_t
    c.v_qnext[veh] = -1
    if was_empty:
        c.q_first[lk] = veh
    else:
        c.v_qnext[c.q_last[lk]] = veh
    c.q_last[lk] = veh
    c.q_len[lk] += 1
    if was_empty and c.blocked_on[lk] < 0:
        free_at = c.next_release[lk]
        schedule_link(c, lk, exit_t if exit_t > free_at else free_at)


@njit(cache=True, _nrt=False)
def arrive(c, veh, t):
    """Returns CALL_ARRIVE when the vehicle's listener must be told (its id in I_OUT_A)."""
    c.v_arrive[veh] = t
    c.v_state[veh] = ARRIVED
    c.v_link[veh] = -1
    c.I[I_ARRIVED] += 1
    if c.v_forced[veh]:
        c.I[I_STUCK_NOW] -= 1
    if c.v_listener[veh]:
        c.I[I_OUT_A] = veh
        c.F[F_OUT_T] = t
        return CALL_ARRIVE
    return DONE


@njit(cache=True, _nrt=False)
def wait_for_opening(c, veh, t):
    if c.v_held_at[veh] < 0.0:
        c.v_held_at[veh] = t
        if not c.v_listener[veh] and c.c_background[c.v_cls[veh]]:
            n = c.I[I_HELD_TAIL]
            c.held_t[n] = t
            c.held_veh[n] = veh
            c.I[I_HELD_TAIL] = n + 1
    n = c.I[I_UNROUTED_N]
    c.unrouted[n] = veh
    c.I[I_UNROUTED_N] = n + 1


@njit(cache=True, _nrt=False)
def hold(c, veh, node, t):
    c.v_link[veh] = -1
    c.v_state[veh] = WAITING
    c.v_orig[veh] = node
    c.v_rlen[veh] = -1
    c.I[I_WAITING] += 1
    wait_for_opening(c, veh, t)


@njit(cache=True, _nrt=False)
def wake(c, lk, t):
    while c.w_head[lk] >= 0 and c.occ[lk] < c.storage[lk]:
        w = waiters_popleft(c, lk)
        if w == DEPARTURE_BUFFER:
            veh = c.ew_head[lk]
            c.ew_head[lk] = c.v_wnext[veh]
            c.ew_len[lk] -= 1
            if c.ew_len[lk] == 0:
                c.ew_tail[lk] = -1
            else:
                waiters_append(c, lk, DEPARTURE_BUFFER)
            c.I[I_WAITING] -= 1
            enter(c, veh, lk, t)
            continue
        if c.blocked_on[w] == lk:
            c.woken[w] = True
            schedule_link(c, w, t)
            return


@njit(cache=True, _nrt=False)
def block_start(c, lk, to_link, t, register):
    if c.blocked_on[lk] < 0:
        c.blocked_since[lk] = t
        push(c, t + c.F[F_STUCK_AFTER], STUCK, lk)
    c.blocked_on[lk] = to_link if to_link >= 0 else -2
    if register:
        waiters_append(c, to_link, lk)


@njit(cache=True, _nrt=False)
def finish_release(c, lk, t, headway):
    """The rest of a release after the vehicle has gone: the link's next event, its waiters."""
    if c.q_len[lk] > 0:
        exit_t = c.v_ee[c.q_first[lk]]
        release_t = t + headway
        schedule_link(c, lk, exit_t if exit_t > release_t else release_t)
    if c.w_head[lk] >= 0:
        wake(c, lk, t)


@njit(cache=True, _nrt=False)
def release(c, lk, veh, to_link, t):
    pce = c.c_pce[c.v_cls[veh]]
    headway = c.hw[lk] * pce
    q = queued(c, lk, t)
    if q >= 2:  # another vehicle waits behind this one: a standing queue
        if q > c.max_queue[lk]:
            c.max_queue[lk] = q
        if c.last_out[lk] >= 0.0:
            c.queue_gap[lk] += 0.2 * (t - c.last_out[lk] - c.queue_gap[lk])
        c.last_out[lk] = t
        if c.blocked_on[lk] == -1:
            c.at_capacity[lk] += headway
    elif c.last_out[lk] >= 0.0:
        c.last_out[lk] = -1.0
    if c.blocked_on[lk] != -1:
        c.at_capacity[lk] += t - c.blocked_since[lk]
        c.blocked_on[lk] = -1
    record_exit(c, lk, veh, t)
    if c.q_due_n[lk] > 0:  # the head was counted as due
        c.q_due_n[lk] -= 1
    c.q_first[lk] = c.v_qnext[veh]
    c.q_len[lk] -= 1
    if c.q_len[lk] == 0:
        c.q_last[lk] = -1
    c.occ[lk] -= pce
    c.next_release[lk] = t + headway
    if to_link == ARRIVE:
        c.I[I_IN_NET] -= 1
        if arrive(c, veh, t) == CALL_ARRIVE:
            c.I[I_CONT] = 1
            c.I[I_CONT_LK] = lk
            c.F[F_CONT_T] = t
            c.F[F_CONT_HW] = headway
            return CALL_ARRIVE
    elif to_link == HOLD:
        hold(c, veh, c.link_to[lk], t)
    else:
        enter(c, veh, to_link, t)
    finish_release(c, lk, t, headway)
    return DONE


@njit(cache=True, _nrt=False)
def link_event(c, lk, t):
    """As EventLoop.link_event; NEED_ROUTE before anything changed but the vehicle's guidance
    row (taken again the same way)."""
    if c.q_len[lk] == 0:
        return DONE
    veh = c.q_first[lk]
    node = c.link_to[lk]
    to_link = next_link(c, veh, node, t)
    to_link = open_way(c, veh, node, to_link)
    if to_link == -4:
        return NEED_ROUTE
    woken = c.woken[lk]
    c.woken[lk] = False
    if to_link >= 0:
        pce = c.c_pce[c.v_cls[veh]]
        occ = c.occ[to_link]
        if occ > 0 and (occ + pce > c.storage[to_link] + 1e-9
                        or (c.w_head[to_link] >= 0 and not woken)):
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
    if c.v_withdrawn[veh] or c.v_state[veh] == ABANDONED:
        return DONE
    if c.v_state[veh] == PLANNED:
        c.I[I_DEPARTED] += 1
        c.I[I_IN_NET] += 1
        c.I[I_WAITING] += 1
        c.v_state[veh] = WAITING
    orig = c.v_orig[veh]
    if c.v_rlen[veh] < 0 and c.v_slot[veh] >= 0:
        c.v_row[veh] = c.cur_rows[c.v_slot[veh]]
        c.v_tab_t[veh] = t
    elif c.v_rlen[veh] < 0 and orig != c.v_dest[veh]:
        # a routed vehicle setting off (again, after waiting out a closure): Python finds the
        # route, or marks that there is none
        if c.v_noroute[veh]:
            c.v_noroute[veh] = False
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
    if c.v_held_at[veh] >= 0.0:
        c.v_held_s[veh] += t - c.v_held_at[veh]
        c.v_held_at[veh] = -1.0
    ci = c.v_cls[veh]
    if c.c_priority[ci] or (c.w_head[to_link] < 0
                           and c.occ[to_link] + c.c_pce[ci] <= c.storage[to_link]):
        c.I[I_WAITING] -= 1
        enter(c, veh, to_link, t)
    else:
        c.v_wnext[veh] = -1
        if c.ew_len[to_link] == 0:
            c.ew_head[to_link] = veh
        else:
            c.v_wnext[c.ew_tail[to_link]] = veh
        c.ew_tail[to_link] = veh
        c.ew_len[to_link] += 1
        if c.ew_len[to_link] == 1:
            waiters_append(c, to_link, DEPARTURE_BUFFER)
    return DONE


@njit(cache=True, _nrt=False)
def stuck_check(c, lk, t):
    if c.blocked_on[lk] == -1 or c.blocked_since[lk] + c.F[F_STUCK_AFTER] > t + 1e-6:
        return DONE
    if c.q_len[lk] == 0:
        return DONE
    veh = c.q_first[lk]
    to_link = c.blocked_on[lk]
    if to_link >= 0:
        waiters_remove(c, to_link, lk)
    if not c.v_forced[veh]:
        c.v_forced[veh] = True
        c.I[I_STUCK_NOW] += 1
    c.I[I_STUCK_EVENTS] += 1
    c.woken[lk] = False
    return release(c, lk, veh, to_link, t)


@njit(cache=True, _nrt=False)
def priority_move(c, veh, t):
    lk = c.v_link[veh]
    record_exit(c, lk, veh, t)
    to_link = next_link(c, veh, c.link_to[lk], t)
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
        if c.v_held_at[veh] != since or c.v_state[veh] != WAITING:
            continue
        c.v_held_s[veh] += t - since
        c.v_held_at[veh] = -1.0
        c.v_state[veh] = ABANDONED
        c.v_abandoned_at[veh] = t
        c.I[I_WAITING] -= 1
        c.I[I_IN_NET] -= 1
        if c.v_forced[veh]:
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
    while c.I[I_PN] > 0 and c.pt[0] <= horizon:
        c.I[I_HN] = heap_push(c.ht, c.hs, c.hk, c.hi, c.I[I_HN], c.pt[0], c.ps[0], c.pk[0],
                              c.pi[0])
        c.I[I_PN] = heap_pop(c.pt, c.ps, c.pk, c.pi, c.I[I_PN])
    c.F[F_FED_UNTIL] = horizon
    if c.I[I_PN] > 0 or t + FEED_S <= c.F[F_END]:
        c.I[I_HN] = heap_push(c.ht, c.hs, c.hk, c.hi, c.I[I_HN], horizon, 0, FEED, 0)


# ---- the loop ----------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _room(c):
    """Whether every buffer an event may write has MARGIN entries free."""
    return (c.I[I_HN] + MARGIN < len(c.ht) and c.I[I_LOG_N] + MARGIN < len(c.log_times) // 2
            and c.I[I_HELD_TAIL] + MARGIN < len(c.held_t)
            and c.I[I_UNROUTED_N] + MARGIN < len(c.unrouted)
            and c.I[I_NOTE_N] + MARGIN < len(c.note_t)
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
        t = c.ht[0]
        if t > t_end:
            break
        seq, kind, idx = c.hs[0], c.hk[0], c.hi[0]
        c.I[I_HN] = heap_pop(c.ht, c.hs, c.hk, c.hi, c.I[I_HN])
        c.F[F_NOW] = t
        code = DONE
        if kind == LINK:
            if c.evt_seq[idx] != seq:  # a replaced event of the link
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
            c.I[I_HN] = heap_push(c.ht, c.hs, c.hk, c.hi, c.I[I_HN], t, seq, kind, idx)
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
    for lk in range(len(c.q_len)):
        if c.q_len[lk] > 0:
            total += queued(c, lk, t)
    return total

"""The event loop, reference version: every event through small methods that state the rules.

Events: one per vehicle per link (the link's head release) plus departures, in one heap ordered
by (time, sequence number); a link's event is replaced in place by the link's next one.
Departures wait in their own queue and join the heap a minute ahead (FEED), which keeps the
heap to about one event per occupied link. Controls (closures, weather, signal plans), guidance
rebuilds and the minute's sample are events too.

The movement rules are in the module docstring of engine.py. loop_fast.FastLoop runs the same
rules with the common cases inlined; tests run both and compare every trip.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
from bisect import bisect_right
from collections import deque

from .guidance import NO_PATH, Guidance
from .links import LinkState
from .traversal_log import TraversalLog
from .vehicles import ABANDONED, ARRIVED, ON_LINK, PLANNED, WAITING, VehicleTable

LINK, DEPART, PRIO, STUCK, CONTROL, SAMPLE, REBUILD, FEED = range(8)  # event kinds
CLOSURE_REBUILD_S = 15.0  # closure changes within this window share one guidance rebuild
FEED_S = 60.0  # departures move from the pending queues to the event heap this far ahead
SAMPLE_S = 60.0  # the time series' step
ARRIVE, HOLD = -1, -3  # HOLD: leave the link and wait off the road at its end (NO_PATH: -2)
DEPARTURE_BUFFER = -1  # a waiter entry meaning "vehicles waiting to enter from the origin"


class LoopSchedule:
    """What every loop does the same way in Python: its recurring events, controls at their
    time, and guidance rebuilt every re-route interval and once for a bunch of closure changes
    (after which the vehicles held off the road try again). The loop gives `now`, `push`,
    `start_s`, `reroute_interval_s`, `guidance`, `links`, `log`, `_controls`,
    `_closure_rebuild_pending` and `_take_unrouted`."""

    def start(self) -> None:
        """The recurring events: the minute's sample, feeding departures, guidance rebuilds."""
        self.push(self.start_s, SAMPLE, 0)
        self.push(self.start_s, FEED, 0)
        self.push(self.start_s + self.reroute_interval_s, REBUILD, 0)

    def at(self, t: float, action) -> None:
        """Run `action(t)` at time t, not before now."""
        self._controls.append(action)
        self.push(max(float(t), self.now), CONTROL, len(self._controls) - 1)

    def _rebuild(self, t: float) -> None:
        """The re-route interval's rebuild: junction delays on the flow measured since the last
        one, new tables, the next rebuild."""
        self.links.set_flow(self.log.flow_since_mark(t))
        self.guidance.rebuild(t)
        self.push(t + self.reroute_interval_s, REBUILD, 0)

    def closures_changed(self) -> None:
        """Closures changed now. They bunch (a motorcade closes link after link): one guidance
        rebuild serves all the changes within CLOSURE_REBUILD_S. Until then the old tables may
        point into a closed link; the stop-line check sends such a vehicle round it on a fresh
        route."""
        self.guidance.epoch_t = self.now
        self.guidance.forget_routes()
        if not self._closure_rebuild_pending:
            self._closure_rebuild_pending = True
            self.at(self.now + CLOSURE_REBUILD_S, self._closure_rebuild)

    def _closure_rebuild(self, t: float) -> None:
        self._closure_rebuild_pending = False
        self.guidance.rebuild(t, closure_change=True)
        # vehicles waiting off the road may have an open way now - but only if a link opened:
        # more closures never open a way (a motorcade's rolling closures would otherwise send
        # every vehicle shut in behind a long closure round the loop at each change)
        if self.links.reopened:
            self.links.reopened = False
            for veh in self._take_unrouted():
                self.push(t, DEPART, veh)


class EventLoop(LoopSchedule):
    """Owns the event heap, the clock and the running counts, and moves the vehicles of a
    VehicleTable over a LinkState, logging each traversal.

    For speed the loop binds the lists it uses from the link state and the vehicle table as
    its own attributes (the same list objects, which their owners change only in place): one
    attribute lookup per use, as when all of it was one class. Vehicle fields keep a `v_`
    prefix here to tell them from link fields."""

    def __init__(self, links: LinkState, vehicles: VehicleTable, log: TraversalLog,
                 guidance: Guidance, *, start_s: float, end_s: float, stuck_after_s: float,
                 reroute_interval_s: float, closure_patience_s: float):
        self.links, self.vehicles, self.log, self.guidance = links, vehicles, log, guidance
        self.start_s, self.end_s = start_s, end_s
        self.now = start_s
        self.stuck_after_s = float(stuck_after_s)
        self.reroute_interval_s = float(reroute_interval_s)
        # a background driver whose every way on is closed waits this long for a reopening,
        # then gives the trip up
        self.closure_patience_s = float(closure_patience_s)
        # link state
        self.net = links.net
        self.classes = links.classes
        self.link_from, self.link_to = links.link_from, links.link_to
        self.closed, self.occ, self.storage = links.closed, links.occ, links.storage
        self.hw, self.exit_base = links.hw, links.exit_base
        self.next_release = links.next_release
        self.blocked_on, self.blocked_since = links.blocked_on, links.blocked_since
        self.woken = links.woken
        # queues: vehicle ids and earliest exit times, with a moving head index; links (and
        # DEPARTURE_BUFFER) waiting for space on each link, in turn; vehicles waiting at their
        # origin to enter each link
        n_links = links.graph.n_links
        self.q_veh: list[list[int]] = [[] for _ in range(n_links)]
        self.q_ee: list[list[float]] = [[] for _ in range(n_links)]
        self.q_head = [0] * n_links
        self.waiters: list[deque[int]] = [deque() for _ in range(n_links)]
        self.entry_wait: list[deque[int]] = [deque() for _ in range(n_links)]
        self.max_queue, self.last_out = links.max_queue, links.last_out
        self.queue_gap, self.at_capacity = links.queue_gap, links.at_capacity
        # vehicle table
        v = vehicles
        self.v_cls, self.v_orig, self.v_dest, self.v_slot = v.cls, v.orig, v.dest, v.slot
        self.v_route, self.v_rpos, self.v_tab, self.v_tab_t = v.route, v.rpos, v.tab, v.tab_t
        self.v_link, self.v_entry, self.v_arrive, self.v_state = v.link, v.entry, v.arrive, \
            v.state
        self.v_forced, self.v_held_s, self.v_held_at = v.forced, v.held_s, v.held_at
        self.v_listener, self.v_special, self.v_nodes = v.listener, v.special, v.nodes
        self.withdrawn = v.withdrawn
        # traversal log: the lists the loop appends to (flushed in place, never replaced)
        self.log_ids, self.log_times = log.new_ids, log.new_times
        # running counts
        self.departed = 0
        self.arrived = 0
        self.stuck_events = 0  # forced moves (a vehicle may be forced more than once)
        self.stuck_now = 0  # vehicles forced on that have not arrived (yet)
        self.in_network = 0
        self.waiting_to_enter = 0
        self.traversals = 0
        self.timeseries: list[tuple] = []
        # vehicles whose every way on is closed wait off the road at a node (not in a queue,
        # blocking no one) and set off again when a closure ends
        self.unrouted: list[int] = []
        self._held: deque[tuple[float, int]] = deque()  # (held since, vehicle), in time order
        # events
        self.heap: list[tuple] = []
        self.evt_seq = [0] * links.graph.n_links  # each link's live event; older ones are void
        self.pending: list[tuple] = []  # a heap: vehicles added one by one
        self.pending_sorted: list[tuple] = []  # bulk trips in departure order, read from _ps_i
        self._ps_i = 0
        self._fed_until = start_s - 1.0
        self.next_seq = itertools.count(1).__next__  # tie-breaker: equal times keep order
        self._controls: list = []
        self._closure_rebuild_pending = False

    # ---- scheduling -------------------------------------------------------------------------
    def push(self, t: float, kind: int, idx: int) -> int:
        seq = self.next_seq()
        heapq.heappush(self.heap, (t, seq, kind, idx))
        return seq

    def _schedule_link(self, lk: int, t: float) -> None:
        self.evt_seq[lk] = self.push(t, LINK, lk)

    def schedule_departure(self, veh: int, t: float) -> None:
        if t <= self._fed_until:
            self.push(t, DEPART, veh)
        else:
            heapq.heappush(self.pending, (t, self.next_seq(), DEPART, veh))

    def schedule_departures(self, times: list[float], vehicles: range) -> None:
        """Departures of many vehicles at once (bulk trips), merged into the sorted queue."""
        batch = []
        for t, veh in zip(times, vehicles, strict=True):
            if t <= self._fed_until:
                self.push(t, DEPART, veh)
            else:
                batch.append((t, self.next_seq(), DEPART, veh))
        batch.sort()
        rest = self.pending_sorted[self._ps_i:]
        merged = rest + batch
        if rest and batch and batch[0] < rest[-1]:  # batches overlap in time
            merged.sort()
        self.pending_sorted, self._ps_i = merged, 0

    def _take_unrouted(self) -> list[int]:
        """The vehicles waiting off the road for a way to open, handed over (LoopSchedule)."""
        retry, self.unrouted = self.unrouted, []
        return retry

    def standing(self, t: float) -> int:
        """Vehicles standing now: in a queue past their earliest exit time, or waiting to
        enter the road (at their origin, or off the road at a closure)."""
        queued = sum(bisect_right(qe, t, h) - h
                     for qe, h in zip(self.q_ee, self.q_head, strict=True) if h < len(qe))
        return queued + self.waiting_to_enter

    @property
    def next_event_time(self) -> float:
        return self.heap[0][0] if self.heap else float("inf")

    # ---- the loop ---------------------------------------------------------------------------
    def run(self, t_end: float) -> None:
        """Process every event up to and including t_end, one at a time through dispatch."""
        heap = self.heap
        while heap and heap[0][0] <= t_end:
            t, seq, kind, idx = heapq.heappop(heap)
            self.now = t
            self.dispatch(t, seq, kind, idx)

    def dispatch(self, t: float, seq: int, kind: int, idx: int) -> None:
        """One event of any kind."""
        if kind == LINK:
            if self.evt_seq[idx] == seq:
                self.evt_seq[idx] = 0
                self.link_event(idx, t)
        elif kind == DEPART:
            self._depart(idx, t)
        elif kind == PRIO:
            self._priority_move(idx, t)
        elif kind == STUCK:
            self._stuck_check(idx, t)
        elif kind == CONTROL:
            self._controls[idx](t)
            self._controls[idx] = None
        elif kind == SAMPLE:
            self._sample(t)
        elif kind == REBUILD:
            self._rebuild(t)
        elif kind == FEED:
            self._feed(t)

    def _feed(self, t: float) -> None:
        """Move the next minute's departures into the event heap."""
        horizon = t + FEED_S
        pending, heap = self.pending, self.heap
        while pending and pending[0][0] <= horizon:
            heapq.heappush(heap, heapq.heappop(pending))
        bulk, i, n = self.pending_sorted, self._ps_i, len(self.pending_sorted)
        push = heapq.heappush
        while i < n and bulk[i][0] <= horizon:
            push(heap, bulk[i])
            i += 1
        self._ps_i = i
        self._fed_until = horizon
        if pending or i < n or t + FEED_S <= self.end_s:
            heapq.heappush(heap, (horizon, 0, FEED, 0))

    def _sample(self, t: float) -> None:
        if self._held:
            self._give_up_waits(t)
        self.timeseries.append((t, self.in_network, self.waiting_to_enter, self.departed,
                                self.arrived, self.stuck_now))
        if t + SAMPLE_S <= self.end_s:
            self.push(t + SAMPLE_S, SAMPLE, 0)

    # ---- movement ---------------------------------------------------------------------------
    def next_link(self, veh: int, node: int) -> int:
        """The link the vehicle takes on from `node`, or ARRIVE (it is at its destination)."""
        if node == self.v_dest[veh]:
            return ARRIVE
        route = self.v_route[veh]
        if route is not None:
            return route[self.v_rpos[veh] + 1]
        row = self.v_tab[veh]
        if self.now - self.v_tab_t[veh] >= self.reroute_interval_s or (
                self.v_tab_t[veh] < self.guidance.epoch_t):
            row = self.guidance.tables[self.v_cls[veh]][self.v_slot[veh]]
            self.v_tab[veh] = row
            self.v_tab_t[veh] = self.now
        return row[node]

    def _depart(self, veh: int, t: float) -> None:
        if veh in self.withdrawn or self.v_state[veh] == ABANDONED:
            return
        if self.v_state[veh] == PLANNED:
            self.departed += 1
            self.in_network += 1
            self.waiting_to_enter += 1
            self.v_state[veh] = WAITING
        if self.v_route[veh] is None and self.v_slot[veh] >= 0:
            self.v_tab[veh] = self.guidance.tables[self.v_cls[veh]][self.v_slot[veh]]
            self.v_tab_t[veh] = t
        elif self.v_route[veh] is None and self.v_orig[veh] != self.v_dest[veh]:
            # a routed vehicle setting off (again, after waiting out a closure)
            route = self.guidance.route(self.v_cls[veh], self.v_orig[veh], self.v_dest[veh])
            if route is None:
                self._wait_for_opening(veh, t)
                return
            self.v_route[veh] = route
            self.v_rpos[veh] = -1
        to_link = self.open_way(veh, self.v_orig[veh], self.next_link(veh, self.v_orig[veh]))
        if to_link == ARRIVE:
            self.waiting_to_enter -= 1
            self.in_network -= 1
            self.arrive(veh, t)
            return
        if to_link == NO_PATH:  # every way on is closed: wait off the road for a reopening
            self._wait_for_opening(veh, t)
            return
        if self.v_held_at[veh] >= 0.0:  # a way has opened: the wait for the closure ends
            self.v_held_s[veh] += t - self.v_held_at[veh]
            self.v_held_at[veh] = -1.0
        pce = self.classes[self.v_cls[veh]].pce
        if self.classes[self.v_cls[veh]].priority or (
                not self.waiters[to_link] and self.occ[to_link] + pce <= self.storage[to_link]):
            self.waiting_to_enter -= 1
            self.enter(veh, to_link, t)
        else:
            self.entry_wait[to_link].append(veh)
            if len(self.entry_wait[to_link]) == 1:
                self.waiters[to_link].append(DEPARTURE_BUFFER)

    def enter(self, veh: int, lk: int, t: float) -> None:
        """The vehicle enters link lk: it joins the queue with its earliest exit time (a
        priority vehicle instead gets its own event past its share of the standing queue)."""
        ci = self.v_cls[veh]
        cls = self.classes[ci]
        if self.v_route[veh] is not None:
            self.v_rpos[veh] += 1
        self.v_link[veh] = lk
        self.v_state[veh] = ON_LINK
        self.v_entry[veh] = t
        self.traversals += 1
        to_exit = self.exit_base[ci][lk]
        if self.v_nodes[veh]:
            self.v_listener[veh].on_node(veh, self.net.nodes[self.link_from[lk]].id, t)
        if cls.priority:
            skip = 1.0 if cls.name == "motorcade" else self.links.emergency_queue_skip
            queued = self._queued(lk, t)
            per_vehicle = max(self.hw[lk], self.queue_gap[lk]) if queued >= 2 else self.hw[lk]
            self.push(t + to_exit + (1.0 - skip) * queued * per_vehicle, PRIO, veh)
            return
        self.occ[lk] += cls.pce
        queue_veh, queue_exit = self.q_veh[lk], self.q_ee[lk]
        exit_t = t + to_exit
        if len(queue_exit) > self.q_head[lk] and queue_exit[-1] > exit_t:
            exit_t = queue_exit[-1]  # FIFO: no overtaking inside a link
        was_empty = len(queue_veh) == self.q_head[lk]
        queue_veh.append(veh)
        queue_exit.append(exit_t)
        if was_empty and self.blocked_on[lk] < 0:
            free_at = self.next_release[lk]
            self._schedule_link(lk, exit_t if exit_t > free_at else free_at)

    def _queued(self, lk: int, t: float) -> int:
        """Vehicles on the link already past their free-flow exit time."""
        h = self.q_head[lk]
        return bisect_right(self.q_ee[lk], t, h) - h

    def link_event(self, lk: int, t: float) -> None:
        """Link lk may release its head vehicle now: onto its next link if that has room (and
        it is its turn among the waiters), else the link waits for space."""
        h = self.q_head[lk]
        queue_veh = self.q_veh[lk]
        if h >= len(queue_veh):
            return
        veh = queue_veh[h]
        node = self.link_to[lk]
        to_link = self.next_link(veh, node)
        woken = self.woken[lk]
        self.woken[lk] = False
        to_link = self.open_way(veh, node, to_link)
        if to_link >= 0:
            pce = self.classes[self.v_cls[veh]].pce
            occ = self.occ[to_link]
            if occ > 0 and (occ + pce > self.storage[to_link] + 1e-9
                            or (self.waiters[to_link] and not woken)):
                if woken:
                    self.waiters[to_link].appendleft(lk)
                    self._block_start(lk, to_link, t, register=False)
                else:
                    self._block_start(lk, to_link, t, register=True)
                return
        elif to_link == NO_PATH:
            to_link = HOLD
        self._release(lk, veh, to_link, t)

    def open_way(self, veh: int, node: int, to_link: int) -> int:
        """`to_link` if it is open to the vehicle; else the first link of the fastest open way
        round from `node` (which becomes its fixed route), or NO_PATH: it will wait off the
        road. Closed next links come from fixed routes, or from tables not yet rebuilt after a
        closure."""
        if to_link < 0 or not self.closed[self.v_cls[veh]][to_link]:
            return to_link
        detour = self.guidance.route(self.v_cls[veh], node, self.v_dest[veh])
        if not detour:
            return NO_PATH
        self.v_route[veh] = detour
        self.v_rpos[veh] = -1
        return detour[0]

    def _block_start(self, lk: int, to_link: int, t: float, *, register: bool) -> None:
        if self.blocked_on[lk] < 0:
            self.blocked_since[lk] = t
            self.push(t + self.stuck_after_s, STUCK, lk)
        self.blocked_on[lk] = to_link if to_link >= 0 else -2
        if register:
            self.waiters[to_link].append(lk)

    def _release(self, lk: int, veh: int, to_link: int, t: float) -> None:
        """The head vehicle leaves lk (onto to_link, or it arrives or is held); the link's
        next release is one headway per PCE later."""
        h = self.q_head[lk]
        queue_exit = self.q_ee[lk]
        pce = self.classes[self.v_cls[veh]].pce
        headway = self.hw[lk] * pce
        queued = bisect_right(queue_exit, t, h) - h
        if queued >= 2:  # another vehicle waits behind this one: a standing queue
            if queued > self.max_queue[lk]:
                self.max_queue[lk] = queued
            if self.last_out[lk] >= 0.0:
                self.queue_gap[lk] += 0.2 * (t - self.last_out[lk] - self.queue_gap[lk])
            self.last_out[lk] = t
            if self.blocked_on[lk] == -1:
                self.at_capacity[lk] += headway
        elif self.last_out[lk] >= 0.0:
            self.last_out[lk] = -1.0
        if self.blocked_on[lk] != -1:
            self.at_capacity[lk] += t - self.blocked_since[lk]
            self.blocked_on[lk] = -1
        self._record_exit(lk, veh, t)
        h += 1
        self.q_head[lk] = h
        queue_veh = self.q_veh[lk]
        if h > 256 and h * 2 > len(queue_veh):  # drop the released part of a long queue
            del queue_veh[:h]
            del queue_exit[:h]
            h = 0
            self.q_head[lk] = 0
        self.occ[lk] -= pce
        self.next_release[lk] = t + headway
        if to_link == ARRIVE:
            self.in_network -= 1
            self.arrive(veh, t)
        elif to_link == HOLD:
            self._hold(veh, self.link_to[lk], t)
        else:
            self.enter(veh, to_link, t)
        if h < len(queue_veh):
            exit_t = queue_exit[h]
            release_t = t + headway
            self._schedule_link(lk, exit_t if exit_t > release_t else release_t)
        if self.waiters[lk]:
            self.wake(lk, t)

    def _hold(self, veh: int, node: int, t: float) -> None:
        """Take a vehicle with no open way on off the road at `node`; it sets off again from
        there when a closure ends (a routed vehicle gets a new route then)."""
        self.v_link[veh] = -1
        self.v_state[veh] = WAITING
        self.v_orig[veh] = node
        self.v_route[veh] = None
        self.waiting_to_enter += 1
        self._wait_for_opening(veh, t)

    def _wait_for_opening(self, veh: int, t: float) -> None:
        """A vehicle waits off the road for a closure to end; a background driver's patience
        runs from the start of the wait (agents' vehicles wait as long as it takes)."""
        if self.v_held_at[veh] < 0.0:
            self.v_held_at[veh] = t
            if self.v_listener[veh] is None and self.classes[self.v_cls[veh]].background:
                self._held.append((t, veh))
        self.unrouted.append(veh)

    def _give_up_waits(self, t: float) -> None:
        """Drivers held longer than their patience give their trips up: one that had not set
        off does not make the trip by car; one held on the way parks where it stands."""
        held, patience = self._held, self.closure_patience_s
        while held and held[0][0] + patience <= t:
            since, veh = held.popleft()
            if self.v_held_at[veh] != since or self.v_state[veh] != WAITING:
                continue  # it set off again since, or this is an older wait of it
            self.v_held_s[veh] += t - since
            self.v_held_at[veh] = -1.0
            self.v_state[veh] = ABANDONED
            self.vehicles.abandoned_at[veh] = t
            self.waiting_to_enter -= 1
            self.in_network -= 1
            if self.v_forced[veh]:
                self.stuck_now -= 1

    def _record_exit(self, lk: int, veh: int, t: float) -> None:
        self.log_ids.append(lk)
        self.log_ids.append(veh)
        self.log_times.append(self.v_entry[veh])
        self.log_times.append(t)

    def wake(self, lk: int, t: float) -> None:
        """Space freed on lk: hand it to the first waiter (an upstream link or the departures)."""
        waiters = self.waiters[lk]
        while waiters and self.occ[lk] < self.storage[lk]:
            w = waiters.popleft()
            if w == DEPARTURE_BUFFER:
                buf = self.entry_wait[lk]
                veh = buf.popleft()
                if buf:
                    waiters.append(DEPARTURE_BUFFER)
                self.waiting_to_enter -= 1
                self.enter(veh, lk, t)
                continue
            if self.blocked_on[w] == lk:
                self.woken[w] = True
                self._schedule_link(w, t)
                return

    def _stuck_check(self, lk: int, t: float) -> None:
        """A link blocked for stuck_after_s pushes its head vehicle on regardless."""
        if self.blocked_on[lk] == -1 or self.blocked_since[lk] + self.stuck_after_s > t + 1e-6:
            return
        h = self.q_head[lk]
        if h >= len(self.q_veh[lk]):
            return
        veh = self.q_veh[lk][h]
        to_link = self.blocked_on[lk]
        with contextlib.suppress(ValueError):
            self.waiters[to_link].remove(lk)
        if not self.v_forced[veh]:
            self.v_forced[veh] = True
            self.stuck_now += 1
        self.stuck_events += 1
        self.woken[lk] = False
        self._release(lk, veh, to_link, t)

    def _priority_move(self, veh: int, t: float) -> None:
        lk = self.v_link[veh]
        self._record_exit(lk, veh, t)
        to_link = self.next_link(veh, self.link_to[lk])
        if to_link == ARRIVE:
            self.in_network -= 1
            self.arrive(veh, t)
        elif to_link == NO_PATH:
            self.in_network -= 1
            self.arrive(veh, t)  # a priority vehicle with nowhere open to go stops here
        else:
            self.enter(veh, to_link, t)

    def arrive(self, veh: int, t: float) -> None:
        self.v_arrive[veh] = t
        self.v_state[veh] = ARRIVED
        self.v_link[veh] = -1
        self.arrived += 1
        if self.v_forced[veh]:
            self.stuck_now -= 1
        lst = self.v_listener[veh]
        if lst is not None:
            lst.on_arrive(veh, t)

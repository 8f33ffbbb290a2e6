"""The event loop, fast version: the reference loop with its two common cases inlined.

A link releases its head vehicle into a link with room (or the vehicle arrives), and a
background vehicle departs onto a link with room: together nearly every event of a day. The
inlined code must do exactly what EventLoop.link_event, _release, _record_exit, _depart, enter
and arrive do; tests run both loops and compare their outputs. Anything else goes through the
reference methods.

Written for CPython's interpreter, not for reading first: every list and method the loop touches
is bound to a local variable once (a local is an array slot, an attribute a dictionary lookup),
the running counts are kept in locals and added to the loop's own at each exit to a reference
method, and the branches are ordered by how often they are taken.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right

from .guidance import NO_PATH
from .loop_reference import ARRIVE, DEPART, LINK, EventLoop
from .vehicles import ARRIVED, ON_LINK, PLANNED


class FastLoop(EventLoop):
    """EventLoop whose run() inlines the common cases (see the module docstring)."""

    def run(self, t_end: float) -> None:
        heap = self.heap
        pop, push, replace = heapq.heappop, heapq.heappush, heapq.heapreplace
        evt_seq, q_veh, q_ee, q_head = self.evt_seq, self.q_veh, self.q_ee, self.q_head
        link_to, v_dest, v_route, v_rpos = self.link_to, self.v_dest, self.v_route, self.v_rpos
        v_tab, v_tab_t, v_slot, v_cls = self.v_tab, self.v_tab_t, self.v_slot, self.v_cls
        v_link, v_entry, v_state, v_orig = self.v_link, self.v_entry, self.v_state, self.v_orig
        closed, occ, storage = self.closed, self.occ, self.storage
        waiters, woken, blocked_on = self.waiters, self.woken, self.blocked_on
        blocked_since, at_capacity, max_queue = (self.blocked_since, self.at_capacity,
                                                 self.max_queue)
        hw, next_release = self.hw, self.next_release
        last_out, queue_gap = self.last_out, self.queue_gap
        exit_base = self.exit_base
        log_id, log_time = self.log_ids.append, self.log_times.append
        next_seq = self.next_seq
        v_special, v_listener = self.v_special, self.v_listener
        pce_of = [c.pce for c in self.classes]
        guidance = self.guidance
        tables = guidance.tables
        epoch = guidance.epoch_t  # re-read after every reference dispatch (closures move it)
        reroute = self.reroute_interval_s
        n_traversals = n_departed = n_arrived = 0
        v_arrive, v_forced = self.v_arrive, self.v_forced
        # A link event stays on top of the heap while it is handled and is then replaced by
        # the link's next event (one sift instead of a pop and a push). That is safe because
        # every event pushed meanwhile sorts after it: its time is no earlier (now is set to t
        # before anything outside the loop runs) and its sequence number is newer.
        while heap:
            # `link` is the event's index: a sim link, or the vehicle of a departure
            t, seq, kind, link = heap[0]
            if t > t_end:
                break
            if kind == LINK:
                if evt_seq[link] != seq:  # a replaced event of the link
                    pop(heap)
                    continue
                head = q_head[link]
                queue_veh = q_veh[link]
                if head >= len(queue_veh):
                    pop(heap)
                    continue
                veh = queue_veh[head]
                ci = v_cls[veh]
                node = link_to[link]
                # the next link (as next_link)
                if node == v_dest[veh]:
                    to_link = ARRIVE
                else:
                    route = v_route[veh]
                    if route is not None:
                        to_link = route[v_rpos[veh] + 1]
                    else:
                        tab_taken = v_tab_t[veh]
                        if t - tab_taken >= reroute or tab_taken < epoch:
                            self.now = t
                            to_link = self.next_link(veh, node)
                        else:
                            to_link = v_tab[veh][node]
                pce = pce_of[ci]
                # anything but a plain release (a closed or full next link, its turn among
                # waiters, nowhere to go, a link that was blocked): the reference method (the
                # hand-over is written out in both branches: a shared flag cost ~2% of the
                # main job's time)
                if to_link >= 0:
                    to_occ = occ[to_link]
                    if closed[ci][to_link] or (to_occ > 0 and (
                            to_occ + pce > storage[to_link] + 1e-9
                            or (waiters[to_link] and not woken[link]))):
                        pop(heap)
                        self.now = t
                        self.traversals += n_traversals
                        n_traversals = 0
                        self.link_event(link, t)
                        continue
                elif to_link == NO_PATH or blocked_on[link] != -1:
                    pop(heap)
                    self.now = t
                    self.traversals += n_traversals
                    n_traversals = 0
                    self.link_event(link, t)
                    continue
                woken[link] = False
                # release the head vehicle (as _release)
                queue_exit = q_ee[link]
                headway = hw[link] * pce
                # another vehicle waits: a queue stands
                if head + 1 < len(queue_exit) and queue_exit[head + 1] <= t:
                    queued = bisect_right(queue_exit, t, head) - head
                    if queued > max_queue[link]:
                        max_queue[link] = queued
                    if last_out[link] >= 0.0:
                        queue_gap[link] += 0.2 * (t - last_out[link] - queue_gap[link])
                    last_out[link] = t
                    if blocked_on[link] == -1:
                        at_capacity[link] += headway
                elif last_out[link] >= 0.0:
                    last_out[link] = -1.0
                if blocked_on[link] != -1:
                    at_capacity[link] += t - blocked_since[link]
                    blocked_on[link] = -1
                log_id(link)
                log_id(veh)
                log_time(v_entry[veh])
                log_time(t)
                head += 1
                q_head[link] = head
                if head > 256 and head * 2 > len(queue_veh):
                    del queue_veh[:head]
                    del queue_exit[:head]
                    head = 0
                    q_head[link] = 0
                occ[link] -= pce
                release_t = t + headway
                next_release[link] = release_t
                if v_special[veh]:
                    self.now = t
                    self.traversals += n_traversals
                    n_traversals = 0
                    if to_link == ARRIVE:
                        self.in_network -= 1
                        self.arrive(veh, t)
                    else:
                        self.enter(veh, to_link, t)
                    to_link = -1  # nothing left to enter below
                elif to_link == ARRIVE:  # (as arrive, for a vehicle without a listener of nodes)
                    v_arrive[veh] = t
                    v_state[veh] = ARRIVED
                    v_link[veh] = -1
                    n_arrived += 1
                    if v_forced[veh]:
                        self.stuck_now -= 1
                    lst = v_listener[veh]
                    if lst is not None:
                        self.now = t
                        lst.on_arrive(veh, t)
            elif kind == DEPART and v_state[link] == PLANNED and not v_special[link] \
                    and v_slot[link] >= 0 and v_route[link] is None:
                # a background vehicle departs (as _depart); anything unusual: the method
                pop(heap)
                veh = link
                ci = v_cls[veh]
                node = v_orig[veh]
                tab = tables[ci]
                to_link = tab[v_slot[veh]][node] if node != v_dest[veh] else NO_PATH
                pce = pce_of[ci]
                if to_link < 0 or closed[ci][to_link] or waiters[to_link] \
                        or occ[to_link] + pce > storage[to_link]:
                    self.now = t
                    self.traversals += n_traversals
                    n_traversals = 0
                    self.dispatch(t, seq, kind, link)
                    continue
                n_departed += 1
                v_state[veh] = ON_LINK
                v_tab[veh] = tab[v_slot[veh]]
                v_tab_t[veh] = t
                route = None
            else:  # every other event: the reference dispatch, with the counts settled first
                pop(heap)
                self.now = t
                self.traversals += n_traversals
                n_traversals = 0
                self.departed += n_departed
                self.arrived += n_arrived
                self.in_network += n_departed - n_arrived
                n_departed = n_arrived = 0
                self.dispatch(t, seq, kind, link)
                epoch = guidance.epoch_t
                continue
            if to_link >= 0:
                # enter the next link (as enter, for a plain vehicle without a listener)
                if route is not None:
                    v_rpos[veh] += 1
                v_link[veh] = to_link
                v_entry[veh] = t
                n_traversals += 1
                occ[to_link] += pce
                to_queue_veh, to_queue_exit = q_veh[to_link], q_ee[to_link]
                exit_t = t + exit_base[ci][to_link]
                was_empty = len(to_queue_veh) == q_head[to_link]
                if not was_empty and to_queue_exit[-1] > exit_t:
                    exit_t = to_queue_exit[-1]  # FIFO: no overtaking inside a link
                to_queue_veh.append(veh)
                to_queue_exit.append(exit_t)
                if was_empty and blocked_on[to_link] < 0:
                    to_free_at = next_release[to_link]
                    new_seq = next_seq()
                    evt_seq[to_link] = new_seq
                    push(heap, (exit_t if exit_t > to_free_at else to_free_at, new_seq, LINK,
                                to_link))
            if kind == LINK:
                # the link's next release: replace its event on top of the heap
                if head < len(queue_veh):
                    exit_t = queue_exit[head]
                    new_seq = next_seq()
                    evt_seq[link] = new_seq
                    replace(heap, (exit_t if exit_t > release_t else release_t, new_seq, LINK,
                                   link))
                else:
                    pop(heap)
                if waiters[link]:
                    self.now = t
                    self.wake(link, t)
        self.traversals += n_traversals
        self.departed += n_departed
        self.arrived += n_arrived
        self.in_network += n_departed - n_arrived

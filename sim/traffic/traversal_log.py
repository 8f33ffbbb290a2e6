"""The traversal log and the link and vehicle statistics computed from it.

Every completed link traversal is logged as (sim link, vehicle) and (entry time, exit time) in
two flat arrays. The event loop appends to two plain lists (`new_ids`, `new_times`), which is
cheaper than converting each value into an array; `flush` moves them into the arrays.
"""

from __future__ import annotations

from array import array

import numpy as np

from .links import LinkState
from .vehicles import VehicleTable

BIN_S = 900.0  # link statistics per 15 minutes of entry time


class TraversalLog:
    """The log of traversals, with link statistics (link_summary), per-vehicle totals and the
    state of jams now; see the module docstring."""

    def __init__(self, links: LinkState, vehicles: VehicleTable, *, start_s: float,
                 end_s: float, bin_s: float = BIN_S):
        self.links, self.vehicles = links, vehicles
        self.start_s, self.end_s = start_s, end_s
        self.bin_s = float(bin_s)
        self._ids = array("q")
        self._times = array("d")
        self._shared = False  # numpy views of the two buffers exist (traversals)
        self.new_ids: list[int] = []
        self.new_times: list[float] = []
        # the compiled core logs into its own buffer: a call that moves it here (extend)
        self.source = None
        self._traversals: tuple | None = None
        self._summary: tuple[int, dict[str, np.ndarray]] | None = None
        # where the flow measured for junction delays starts (a traversal count, a time)
        self._flow_mark = 0
        self._flow_mark_t = start_s

    def flush(self) -> None:
        """Move the traversals logged since the last flush into the log's arrays."""
        if self.source is not None:
            self.source()
        if self.new_ids:
            self._writable()
            self._ids.fromlist(self.new_ids)
            self._times.fromlist(self.new_times)
            self.new_ids.clear()
            self.new_times.clear()

    def _writable(self) -> None:
        """Buffers that may grow: numpy reads them in place once shared, so fresh copies."""
        if self._shared:
            self._ids, self._times = array("q", self._ids), array("d", self._times)
            self._shared = False

    def extend(self, ids: np.ndarray, times: np.ndarray) -> None:
        """Append traversals given as flat arrays (link, vehicle pairs; entry, exit pairs)."""
        self._writable()
        self._ids.frombytes(np.ascontiguousarray(ids, dtype=np.int64).tobytes())
        self._times.frombytes(np.ascontiguousarray(times, dtype=np.float64).tobytes())

    @property
    def times(self) -> array:
        """Entry and exit time of every completed traversal, flat pairs; its length grows with
        each traversal (readers key caches on it). traversals() gives the whole record."""
        self.flush()
        return self._times

    def traversals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every completed traversal: sim link id, vehicle, entry time, exit time (read-only
        arrays, computed once per log length: several readers ask for them after a run)."""
        self.flush()
        n = len(self._times)
        cached = self._traversals
        if cached is not None and cached[0] == n:
            return cached[1]
        # Views of the log's buffers, not copies (a day's log is some 70 MB): the buffers are
        # marked shared, and the next traversal logged goes into fresh copies (flush), as a
        # buffer numpy has seen cannot grow.
        ids = np.frombuffer(self._ids, dtype=np.int64).reshape(-1, 2)
        times = np.frombuffer(self._times, dtype=float).reshape(-1, 2)
        self._shared = True
        out = (ids[:, 0], ids[:, 1], times[:, 0], times[:, 1])
        for a in out:
            a.flags.writeable = False
        self._traversals = (n, out)
        return out

    def flow_since_mark(self, t: float) -> np.ndarray:
        """Veh/h per sim link that left it since the last call (or the start), up to t; the
        mark moves to t."""
        # numpy reads a copy of the log, never a view: a view left alive anywhere (a profiler
        # holding this frame, say) would stop the log from growing (BufferError)
        self.flush()
        n_links = self.links.graph.n_links
        links = np.frombuffer(self._ids[2 * self._flow_mark::2], dtype=np.int64)
        span = t - self._flow_mark_t
        flow = np.bincount(links, minlength=n_links) * (3600.0 / span) \
            if span > 0 else np.zeros(n_links)
        self._flow_mark = len(self._ids) // 2
        self._flow_mark_t = t
        return flow

    # ---- statistics -------------------------------------------------------------------------
    def vehicle_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """Per vehicle: metres driven and free-flow seconds (clear weather, the vehicle's class)
        over the links it has entered, the one it is on included."""
        n_veh = len(self.vehicles)
        lk, veh, _, _ = self.traversals()
        on_veh, on_link = self.vehicles.on_link_now()
        cls = np.asarray(self.vehicles.cls, dtype=np.int64)
        fft = np.asarray(self.links.fft_base)
        length = self.links.graph.length
        # the log's sums, then the link each vehicle is on added last: what one sum over the
        # log and those links together gives (a vehicle is on one link at most), without
        # copying the log (a large region's log is gigabytes)
        def total(logged: np.ndarray, now: np.ndarray) -> np.ndarray:
            out = np.bincount(veh, weights=logged, minlength=n_veh)
            if len(on_veh):
                out = out.astype(float, copy=False)  # numpy sums an empty log as integers
                out[on_veh] += now
            return out

        return (total(length[lk], length[on_link]),
                total(fft[cls[veh], lk], fft[cls[on_veh], on_link]))

    def link_summary(self) -> dict[str, np.ndarray]:
        """Per network link: entries, exits, travel-time sum and max, queue statistics, and per
        15-minute bin (by entry time) exits and travel-time sums, from the traversal log.
        Links of a contracted chain share its counts; travel time is split by free-flow time;
        queue statistics go to the chain's bottleneck link."""
        n = len(self.times)
        if self._summary is not None and self._summary[0] == n:
            return self._summary[1]
        links = self.links
        g = links.graph
        S = g.n_links
        lk, _, t_in, t_out = self.traversals()
        tt = t_out - t_in
        n_bins = int(np.ceil((self.end_s - self.start_s) / self.bin_s)) + 1
        # in place where it can be: each fresh temporary of a day's log is tens of MB of
        # memory the system must hand over page by page
        b = t_in - self.start_s
        np.floor_divide(b, self.bin_s, out=b)
        cell = b.astype(np.int64)
        del b
        np.clip(cell, 0, n_bins - 1, out=cell)
        tt_max = np.zeros(S)
        np.maximum.at(tt_max, lk, tt)
        cell += lk * n_bins
        share = links.network_share("car")
        of = g.of_link
        on_bottleneck = np.zeros(links.net.n_links, dtype=bool)
        on_bottleneck[g.bottleneck] = True
        summary = {
            "entered": (np.bincount(lk, minlength=S)
                        + np.bincount(self.vehicles.on_link_now()[1], minlength=S))[of],
            "exited": np.bincount(lk, minlength=S)[of],
            "tt_sum": np.bincount(lk, weights=tt, minlength=S)[of] * share,
            "tt_max": tt_max[of] * share,
            "max_queue": np.where(on_bottleneck, np.asarray(links.max_queue)[of], 0),
            "seconds_at_capacity": np.where(on_bottleneck,
                                            np.asarray(links.at_capacity)[of], 0.0),
            "bin_n": np.bincount(cell, minlength=S * n_bins).reshape(S, n_bins)[of],
            "bin_tt": np.bincount(cell, weights=tt, minlength=S * n_bins).reshape(S, n_bins)[of]
            * share[:, None],
        }
        self._summary = (n, summary)
        return summary

    def jam_state(self, standing: int) -> tuple[np.ndarray, int]:
        """Now: per network link, whether its queue's storage is full (no room for one more
        car; the links of a contracted chain share its queue), and the vehicles standing (the
        loop counts them: in a queue past their earliest exit, or waiting to enter the road
        at their origin or off the road at a closure)."""
        links = self.links
        full = np.asarray(links.occ) + 1.0 > np.asarray(links.storage) + 1e-9
        return full[links.graph.of_link], standing

"""The traversal log and the link and vehicle statistics computed from it.

Every completed link traversal is logged as (sim link, vehicle) and (entry time, exit time) in
two flat arrays: 32-bit ids and 64-bit times, 24 bytes a traversal (a large region's day logs
tens of millions). The event loop appends to two plain lists (`new_ids`, `new_times`), which is
cheaper than converting each value into an array; `flush` moves them into the arrays.

The link and vehicle statistics are running sums over the log, brought up to its end a chunk
at a time when read (`_sum_up`), in the log's order: each sum is the one numpy's bincount over
the whole log gives, without temporaries of the log's length.
"""

from __future__ import annotations

from array import array

import numpy as np
from numba import njit

from .links import LinkState
from .vehicles import VehicleTable

BIN_S = 900.0  # link statistics per 15 minutes of entry time
ID_CODE = "i"  # the array typecode of the ids: 32-bit
assert array(ID_CODE).itemsize == 4
CHUNK = 1 << 20  # traversals summed at a time (a few MB of temporaries)


@njit(cache=True)
def _add_up(lk, veh, tt, cell, length, fft, cls, count, tt_sum, tt_max, bin_n, bin_tt,
            metres, free_s):
    """Add a chunk of traversals to the running sums, one after another in the log's order
    (as bincount adds; np.maximum.at's rule for the longest time)."""
    for i in range(len(lk)):
        k, v, t = lk[i], veh[i], tt[i]
        count[k] += 1
        tt_sum[k] += t
        m = tt_max[k]
        if m == m and (t != t or t > m):  # NaN wins, as in np.maximum
            tt_max[k] = t
        bin_n[cell[i]] += 1
        bin_tt[cell[i]] += t
        metres[v] += length[k]
        free_s[v] += fft[cls[v], k]


class TraversalLog:
    """The log of traversals, with link statistics (link_summary), per-vehicle totals and the
    state of jams now; see the module docstring."""

    def __init__(self, links: LinkState, vehicles: VehicleTable, *, start_s: float,
                 end_s: float, bin_s: float = BIN_S):
        self.links, self.vehicles = links, vehicles
        self.start_s, self.end_s = start_s, end_s
        self.bin_s = float(bin_s)
        self._ids = array(ID_CODE)
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
        # running sums over the first `_summed` traversals (_sum_up): per sim link traversals,
        # travel-time sum and max; per link and bin traversals and travel-time sum; per vehicle
        # metres and free-flow seconds
        self.n_bins = int(np.ceil((end_s - start_s) / self.bin_s)) + 1
        S = links.graph.n_links
        self._summed = 0
        self._count = np.zeros(S, dtype=np.int64)
        self._tt_sum, self._tt_max = np.zeros(S), np.zeros(S)
        self._bin_n = np.zeros(S * self.n_bins, dtype=np.int32)  # read as 64-bit
        self._bin_tt = np.zeros(S * self.n_bins)
        self._metres, self._free_s = np.zeros(0), np.zeros(0)
        self._length = np.asarray(links.graph.length, dtype=np.float64)
        self._fft = np.asarray(links.fft_base)  # class x link, clear weather (fixed)

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
            self._ids, self._times = array(ID_CODE, self._ids), array("d", self._times)
            self._shared = False

    def extend(self, ids: np.ndarray, times: np.ndarray) -> None:
        """Append traversals given as flat arrays (link, vehicle pairs; entry, exit pairs)."""
        self._writable()
        if len(ids) and (ids.max() > np.iinfo(np.int32).max or ids.min() < 0):
            raise OverflowError("traversal log: a link or vehicle id beyond 32 bits")
        # as bytes, without a copy into a bytes object first
        self._ids.frombytes(memoryview(np.ascontiguousarray(ids, dtype=np.int32)).cast("B"))
        self._times.frombytes(memoryview(np.ascontiguousarray(times, dtype=np.float64)).cast("B"))
        if self._summed + len(ids) // 2 == len(self._times) // 2:
            # the sums were up to date: add the chunk now, while its vehicles and links are
            # fresh in the cache (the compiled core's chunks; the vehicle classes are a view)
            self._add(ids, times, np.asarray(self.vehicles.cls, dtype=np.int64))
            self._summed += len(ids) // 2

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
        # Views of the times, not copies (a day's log is some 70 MB): the buffers are marked
        # shared, and the next traversal logged goes into fresh copies (flush), as a buffer
        # numpy has seen cannot grow. The ids are read as 64-bit integers, as always.
        ids = np.frombuffer(self._ids, dtype=np.int32).astype(np.int64).reshape(-1, 2)
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
        links = np.frombuffer(self._ids[2 * self._flow_mark::2], dtype=np.int32)
        span = t - self._flow_mark_t
        flow = np.bincount(links, minlength=n_links) * (3600.0 / span) \
            if span > 0 else np.zeros(n_links)
        self._flow_mark = len(self._ids) // 2
        self._flow_mark_t = t
        return flow

    # ---- statistics -------------------------------------------------------------------------
    def _sum_up(self) -> int:
        """Bring the running sums up to the log's end, a chunk at a time (copies of the
        chunk, never views of the log: a view would stop the log from growing); returns the
        traversals logged."""
        self.flush()
        n = len(self._times) // 2
        if self._summed < n:
            cls = np.asarray(self.vehicles.cls, dtype=np.int64)
            for a in range(self._summed, n, CHUNK):
                b = min(n, a + CHUNK)
                self._add(np.frombuffer(self._ids[2 * a:2 * b], dtype=np.int32),
                          np.frombuffer(self._times[2 * a:2 * b], dtype=np.float64), cls)
            self._summed = n
        self._vehicle_room()
        return n

    def _vehicle_room(self) -> None:
        """Room in the per-vehicle sums for every vehicle registered (new ones at zero)."""
        n_veh, have = len(self.vehicles), len(self._metres)
        if have < n_veh:
            grow = max(n_veh, have + have // 4)
            self._metres = np.concatenate([self._metres, np.zeros(grow - have)])
            self._free_s = np.concatenate([self._free_s, np.zeros(grow - have)])

    def _add(self, ids: np.ndarray, times: np.ndarray, cls: np.ndarray) -> None:
        """Add traversals (flat pairs, as logged) to the running sums, in their order."""
        self._vehicle_room()
        ids, times = ids.reshape(-1, 2), times.reshape(-1, 2)
        lk = ids[:, 0].astype(np.int64)
        t_in = times[:, 0]
        tt = times[:, 1] - t_in
        # the 15-minute bin of the entry time, by numpy's own floor division
        cell = np.floor_divide(t_in - self.start_s, self.bin_s).astype(np.int64)
        np.clip(cell, 0, self.n_bins - 1, out=cell)
        cell += lk * self.n_bins
        _add_up(lk, ids[:, 1].astype(np.int64), tt, cell, self._length, self._fft, cls,
                self._count, self._tt_sum, self._tt_max, self._bin_n, self._bin_tt,
                self._metres, self._free_s)

    def vehicle_totals(self) -> tuple[np.ndarray, np.ndarray]:
        """Per vehicle: metres driven and free-flow seconds (clear weather, the vehicle's class)
        over the links it has entered, the one it is on included."""
        logged = self._sum_up()
        n_veh = len(self.vehicles)
        on_veh, on_link = self.vehicles.on_link_now()
        cls = np.asarray(self.vehicles.cls, dtype=np.int64)
        fft = np.asarray(self.links.fft_base)
        length = self.links.graph.length

        # the log's sums, then the link each vehicle is on added last: what one sum over the
        # log and those links together gives (a vehicle is on one link at most)
        def total(sums: np.ndarray, now: np.ndarray) -> np.ndarray:
            out = sums[:n_veh].copy()
            if not logged and not len(on_veh):
                return out.astype(np.int64)  # numpy sums an empty log as integers
            out[on_veh] += now
            return out

        return (total(self._metres, length[on_link]),
                total(self._free_s, fft[cls[on_veh], on_link]))

    def link_summary(self) -> dict[str, np.ndarray]:
        """Per network link: entries, exits, travel-time sum and max, queue statistics, and per
        15-minute bin (by entry time) exits and travel-time sums, from the traversal log.
        Links of a contracted chain share its counts; travel time is split by free-flow time;
        queue statistics go to the chain's bottleneck link."""
        n = len(self.times)
        if self._summary is not None and self._summary[0] == n:
            return self._summary[1]
        logged = self._sum_up()
        links = self.links
        g = links.graph
        S = g.n_links
        # numpy sums an empty log as integers
        tt_sum, bin_tt = (self._tt_sum, self._bin_tt) if logged else (
            self._tt_sum.astype(np.int64), self._bin_tt.astype(np.int64))
        share = links.network_share("car")
        of = g.of_link
        on_bottleneck = np.zeros(links.net.n_links, dtype=bool)
        on_bottleneck[g.bottleneck] = True
        summary = {
            "entered": (self._count
                        + np.bincount(self.vehicles.on_link_now()[1], minlength=S))[of],
            "exited": self._count[of],
            "tt_sum": tt_sum[of] * share,
            "tt_max": self._tt_max[of] * share,
            "max_queue": np.where(on_bottleneck, np.asarray(links.max_queue)[of], 0),
            "seconds_at_capacity": np.where(on_bottleneck,
                                            np.asarray(links.at_capacity)[of], 0.0),
            "bin_n": self._bin_n.reshape(S, self.n_bins)[of].astype(np.int64),
            "bin_tt": bin_tt.reshape(S, self.n_bins)[of] * share[:, None],
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

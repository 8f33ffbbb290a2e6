"""The traversal log and the link and vehicle statistics computed from it.

Every completed link traversal is logged: its sim link and vehicle (32-bit ids), and its exit
time. Its entry time is nearly always the exit time of the vehicle's traversal before (a
vehicle enters the next link as it leaves one), so only the other entry times are kept (a
trip's first link, after a wait off the road), with the traversal they belong to: 16 bytes a
traversal, not 24 (a large region's day logs tens of millions). The event loop appends to two
plain lists (`new_ids`, `new_times`: link, vehicle and entry, exit pairs), which is cheaper
than converting each value into an array; `flush` moves them into the log.

The link and vehicle statistics are running sums over the log, added as traversals come in
the log's order: each sum is the one numpy's bincount over the whole log gives, without
temporaries of the log's length.
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


@njit(cache=True, nogil=True)
def _take(ids, times, cell, cls, n_bins, length, fft, first, last_exit, ids32, exits, at, given,
          count, tt_sum, tt_max, bin_n, bin_tt, metres, free_s):
    """Log traversals (flat pairs) into ids32, exits and, where the entry time is not the
    vehicle's exit before, at (traversal numbered from `first`) and given; and add them to the
    running sums, one after another in the log's order (as bincount adds; np.maximum.at's
    rule for the longest time). cell: the bin of each entry time; cls: each one's vehicle
    class; last_exit: per vehicle its last exit logged (NaN: none). Returns how many entry
    times were kept, or -1 for an id beyond 32 bits (nothing logged then)."""
    m = len(cell)
    for j in range(2 * m):
        if ids[j] < 0 or ids[j] > 2147483647:
            return -1
    g = 0
    for i in range(m):
        k, v = ids[2 * i], ids[2 * i + 1]
        t_in, t_out = times[2 * i], times[2 * i + 1]
        ids32[2 * i] = k
        ids32[2 * i + 1] = v
        exits[i] = t_out
        # NaN (no exit yet) never equals; a zero is kept (0.0 equals -0.0)
        if last_exit[v] != t_in or t_in == 0.0:
            at[g] = first + i
            given[g] = t_in
            g += 1
        last_exit[v] = t_out
        t = t_out - t_in
        count[k] += 1
        tt_sum[k] += t
        mx = tt_max[k]
        if mx == mx and (t != t or t > mx):  # NaN wins, as in np.maximum
            tt_max[k] = t
        c = cell[i]
        c = 0 if c < 0 else (n_bins - 1 if c > n_bins - 1 else c)
        c += k * n_bins
        bin_n[c] += 1
        bin_tt[c] += t
        metres[v] += length[k]
        free_s[v] += fft[cls[i], k]
    return g


@njit(cache=True)
def _entries(veh, exit_t, at, given, last_exit, out):
    """Every traversal's entry time into out: the one kept, else its vehicle's exit before."""
    j = 0
    for i in range(len(veh)):
        v = veh[i]
        if j < len(at) and at[j] == i:
            out[i] = given[j]
            j += 1
        else:
            out[i] = last_exit[v]
        last_exit[v] = exit_t[i]


class FlatTimes:
    """The log's entry and exit times as flat pairs (TraversalLog.times): its length at once,
    the values when read (built from the log)."""

    def __init__(self, log: TraversalLog):
        self._log, self._n = log, len(log._exits)

    def __len__(self) -> int:
        return 2 * self._n

    def _pairs(self) -> np.ndarray:
        _, _, t_in, t_out = self._log.traversals()
        return np.stack([t_in[:self._n], t_out[:self._n]], axis=1).ravel()

    def __array__(self, dtype=None, copy=None):
        return self._pairs() if dtype is None else self._pairs().astype(dtype)

    def __getitem__(self, i):
        return self._pairs()[i]

    def __iter__(self):
        return iter(self._pairs().tolist())


class TraversalLog:
    """The log of traversals, with link statistics (link_summary), per-vehicle totals and the
    state of jams now; see the module docstring."""

    def __init__(self, links: LinkState, vehicles: VehicleTable, *, start_s: float,
                 end_s: float, bin_s: float = BIN_S):
        self.links, self.vehicles = links, vehicles
        self.start_s, self.end_s = start_s, end_s
        self.bin_s = float(bin_s)
        self._ids = array(ID_CODE)  # link, vehicle pairs
        self._exits = array("d")
        self._given_at = array("q")  # traversals whose entry time is kept, in order
        self._given = array("d")  # their entry times
        self._last_exit = np.zeros(0)  # per vehicle: its last exit logged (NaN: none)
        self.new_ids: list[int] = []
        self.new_times: list[float] = []
        # the compiled core logs into its own buffer: a call that moves it here (extend)
        self.source = None
        self._traversals: tuple | None = None
        self._summary: tuple[int, dict[str, np.ndarray]] | None = None
        # where the flow measured for junction delays starts (a traversal count, a time)
        self._flow_mark = 0
        self._flow_mark_t = start_s
        # running sums over the log: per sim link traversals, travel-time sum and max; per
        # link and bin traversals and travel-time sum; per vehicle metres and free-flow seconds
        self.n_bins = int(np.ceil((end_s - start_s) / self.bin_s)) + 1
        S = links.graph.n_links
        self._count = np.zeros(S, dtype=np.int64)
        self._tt_sum, self._tt_max = np.zeros(S), np.zeros(S)
        self._bin_n = np.zeros(S * self.n_bins, dtype=np.int32)  # read as 64-bit
        self._bin_tt = np.zeros(S * self.n_bins)
        self._metres, self._free_s = np.zeros(0), np.zeros(0)
        self._length = np.asarray(links.graph.length, dtype=np.float64)
        self._fft = np.asarray(links.fft_base)  # class x link, clear weather (fixed)

    def flush(self) -> None:
        """Move the traversals logged since the last flush into the log."""
        if self.source is not None:
            self.source()
        if self.new_ids:
            ids = np.array(self.new_ids, dtype=np.int64)
            times = np.array(self.new_times, dtype=np.float64)
            self.new_ids.clear()
            self.new_times.clear()
            cls = self.vehicles.cls  # the Python loops' vehicle table: a list
            self._append(ids, times, np.array([cls[v] for v in ids[1::2].tolist()],
                                              dtype=np.int64))

    def extend(self, ids: np.ndarray, times: np.ndarray) -> None:
        """Append traversals given as flat arrays (link, vehicle pairs; entry, exit pairs)."""
        self._append(ids, times, np.asarray(self.vehicles.cls, dtype=np.int64)[ids[1::2]])

    def _append(self, ids: np.ndarray, times: np.ndarray, cls: np.ndarray) -> None:
        """Log traversals (flat pairs) and add them to the running sums; cls: each one's
        vehicle class."""
        if not len(ids):
            return
        self._vehicle_room()
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        times = np.ascontiguousarray(times, dtype=np.float64)
        m = len(times) // 2
        # the 15-minute bin of each entry time, by numpy's own floor division
        cell = np.floor_divide(times[0::2] - self.start_s, self.bin_s).astype(np.int64)
        ids32, exits = np.empty(2 * m, dtype=np.int32), np.empty(m)
        at, given = np.empty(m, dtype=np.int64), np.empty(m)
        k = _take(ids, times, cell, cls, self.n_bins, self._length, self._fft, len(self._exits),
                  self._last_exit, ids32, exits, at, given, self._count, self._tt_sum,
                  self._tt_max, self._bin_n, self._bin_tt, self._metres, self._free_s)
        if k < 0:
            raise OverflowError("traversal log: a link or vehicle id beyond 32 bits")
        # as bytes, without a copy into a bytes object first
        self._ids.frombytes(memoryview(ids32).cast("B"))
        self._exits.frombytes(memoryview(exits).cast("B"))
        self._given_at.frombytes(memoryview(at[:k]).cast("B"))
        self._given.frombytes(memoryview(given[:k]).cast("B"))

    def _vehicle_room(self) -> None:
        """Room in the per-vehicle arrays for every vehicle registered (sums at zero, no exit
        logged yet)."""
        n_veh, have = len(self.vehicles), len(self._metres)
        if have < n_veh:
            grow = max(n_veh, have + have // 4)
            self._metres = np.concatenate([self._metres, np.zeros(grow - have)])
            self._free_s = np.concatenate([self._free_s, np.zeros(grow - have)])
            self._last_exit = np.concatenate([self._last_exit, np.full(grow - have, np.nan)])

    @property
    def times(self) -> FlatTimes:
        """Entry and exit time of every completed traversal, flat pairs; its length grows with
        each traversal (readers key caches on it). traversals() gives the whole record."""
        self.flush()
        return FlatTimes(self)

    def traversals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every completed traversal: sim link id, vehicle, entry time, exit time (read-only
        arrays, built once per log length: several readers ask for them after a run)."""
        self.flush()
        n = len(self._exits)
        cached = self._traversals
        if cached is not None and cached[0] == n:
            return cached[1]
        ids = np.frombuffer(self._ids, dtype=np.int32).astype(np.int64).reshape(-1, 2)
        lk, veh = ids[:, 0], ids[:, 1]
        t_out = np.array(self._exits, dtype=np.float64)
        t_in = np.empty(n)
        self._vehicle_room()
        _entries(veh, t_out, np.array(self._given_at, dtype=np.int64),
                 np.array(self._given, dtype=np.float64),
                 np.full(len(self._last_exit), np.nan), t_in)
        out = (lk, veh, t_in, t_out)
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
        self._flow_mark = len(self._exits)
        self._flow_mark_t = t
        return flow

    # ---- statistics -------------------------------------------------------------------------
    def _sum_up(self) -> int:
        """The running sums up to the log's end (they are added as traversals come); returns
        the traversals logged."""
        self.flush()
        self._vehicle_room()
        return len(self._exits)

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
        logged = self._sum_up()
        if self._summary is not None and self._summary[0] == logged:
            return self._summary[1]
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
        self._summary = (logged, summary)
        return summary

    def jam_state(self, standing: int) -> tuple[np.ndarray, int]:
        """Now: per network link, whether its queue's storage is full (no room for one more
        car; the links of a contracted chain share its queue), and the vehicles standing (the
        loop counts them: in a queue past their earliest exit, or waiting to enter the road
        at their origin or off the road at a closure)."""
        links = self.links
        full = np.asarray(links.occ) + 1.0 > np.asarray(links.storage) + 1e-9
        return full[links.graph.of_link], standing

"""Next-link tables towards many destinations, compiled: the reverse Dijkstra sweeps of
guidance, spread over the machine's cores.

The tables are exactly those of scipy's `csgraph.dijkstra` (its predecessors, mapped to links),
which guidance used before and which the shipped outputs rest on. Distances do not depend on
the algorithm (with weights finite and not negative, the shortest distance of each node is one
number, however the heap orders the nodes), but predecessors may: scipy keeps, of the nodes
that reach a node's shortest distance, the one it scanned first, and it scans nodes in order
of distance. So the predecessor is the candidate nearest the destination; when two candidates
are equally near, scipy's Fibonacci heap decides, and that destination is swept again with
scipy itself (`tied`). The sweeps take nodes out of buckets of distance where the links'
times allow it, else out of a binary heap; they run without the GIL, one share of the
destinations per core.
"""

from __future__ import annotations

import os
import threading

import numpy as np
from numba import njit

NO_PATH = -2  # as guidance.NO_PATH (kept here so that guidance may import this module)


@njit(cache=True, nogil=True)
def _sweep(indptr, indices, data, src, dist, heap, pos):
    """Shortest distances from src over the CSR graph into dist (a binary heap with
    decrease-key; pos: a node's place in the heap, -1 never reached, -2 scanned)."""
    n = len(indptr) - 1
    for k in range(n):
        dist[k] = np.inf
        pos[k] = -1
    dist[src] = 0.0
    heap[0] = src
    pos[src] = 0
    size = 1
    while size > 0:
        u = heap[0]
        pos[u] = -2
        size -= 1
        if size > 0:  # the last node sifts down from the top
            last = heap[size]
            dl = dist[last]
            i = 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and dist[heap[c + 1]] < dist[heap[c]]:
                    c += 1
                if dist[heap[c]] < dl:
                    heap[i] = heap[c]
                    pos[heap[i]] = i
                    i = c
                else:
                    break
            heap[i] = last
            pos[last] = i
        du = dist[u]
        for e in range(indptr[u], indptr[u + 1]):
            v = indices[e]
            if pos[v] == -2:
                continue
            nd = du + data[e]
            if nd < dist[v]:
                dist[v] = nd
                i = pos[v]
                if i == -1:
                    i = size
                    size += 1
                while i > 0:  # sift up
                    p = (i - 1) >> 1
                    if dist[heap[p]] > nd:
                        heap[i] = heap[p]
                        pos[heap[i]] = i
                        i = p
                    else:
                        break
                heap[i] = v
                pos[v] = i


@njit(cache=True, nogil=True)
def _bucket_row(indptr, indices, data, rlink, src, inv_width, dist, state, link, head, pred_d,
                tie, row):
    """One table row towards src, with buckets of distance (Dial's algorithm): a bucket at
    most half as wide as the shortest link holds nodes none of which can shorten another's
    distance, so each bucket's nodes are final in any order, and no node is reached again once
    scanned. Each node's next link is taken from the candidate nearest src as the candidates
    come (pred_d: that candidate's distance; tie: another as near); True when any node's
    nearest candidates tie. `head`: a ring of buckets longer than the longest link;
    link[2k], link[2k + 1]: node k's neighbours in its bucket's list; state: 0 unreached,
    1 in a bucket, 2 scanned."""
    n = len(indptr) - 1
    mask = len(head) - 1  # the ring's length is a power of two
    for k in range(n):
        dist[k] = np.inf
        state[k] = 0
    for b in range(mask + 1):
        head[b] = -1
    dist[src] = 0.0
    state[src] = 1
    link[2 * src] = -1  # next in the bucket
    link[2 * src + 1] = -1  # previous in the bucket
    head[0] = src
    queued = 1
    cur = 0
    while queued > 0:
        b = cur & mask
        u = head[b]
        if u == -1:
            cur += 1
            continue
        nxt = link[2 * u]
        head[b] = nxt
        if nxt != -1:
            link[2 * nxt + 1] = -1
        queued -= 1
        state[u] = 2
        du = dist[u]
        for e in range(indptr[u], indptr[u + 1]):
            # a scanned node is never nearer by u (each link spans two buckets at least)
            v = indices[e]
            nd = du + data[e]
            dv = dist[v]
            if nd < dv:
                if state[v] == 1:  # out of its bucket
                    prv, nx = link[2 * v + 1], link[2 * v]
                    if prv == -1:
                        head[int(dv * inv_width) & mask] = nx
                    else:
                        link[2 * prv] = nx
                    if nx != -1:
                        link[2 * nx + 1] = prv
                else:
                    state[v] = 1
                    queued += 1
                dist[v] = nd
                nb = int(nd * inv_width) & mask
                h = head[nb]
                link[2 * v] = h
                link[2 * v + 1] = -1
                if h != -1:
                    link[2 * h + 1] = v
                head[nb] = v
                pred_d[v] = du
                row[v] = rlink[e]
                tie[v] = False
            elif nd == dv:  # another candidate: the nearer one is scipy's
                if du < pred_d[v]:
                    pred_d[v] = du
                    row[v] = rlink[e]
                    tie[v] = False
                elif du == pred_d[v]:
                    tie[v] = True
    tied = False
    for j in range(n):
        if j == src or dist[j] == np.inf:
            row[j] = NO_PATH
        elif tie[j]:
            tied = True
    return tied


@njit(cache=True, nogil=True)
def _fill(cptr, crow, cdata, clink, src, dist, row):
    """One table row: each node's next link towards src, the one to the candidate scipy scans
    first (see the module docstring); True when two candidates tie."""
    tied = False
    n = len(cptr) - 1
    for j in range(n):
        dj = dist[j]
        row[j] = NO_PATH
        if j == src or dj == np.inf:
            continue
        best = np.inf
        best_k = -1
        ties = 0
        for k in range(cptr[j], cptr[j + 1]):
            v = crow[k]
            if v == j:
                continue  # a loop: scanned already when its end is
            dv = dist[v]
            if dv + cdata[k] == dj:
                if dv < best:
                    best, best_k, ties = dv, k, 0
                elif dv == best:
                    ties += 1
        if ties or best_k < 0:
            tied = True
        else:
            row[j] = clink[best_k]
    return tied


@njit(cache=True, nogil=True)
def _rows(indptr, indices, data, rlink, cptr, crow, cdata, clink, dests, inv_width, ring,
          first, step, table, tied):
    """Rows first, first + step, ... of the table (one thread's share); with buckets of
    1 / inv_width seconds in a ring of `ring` when ring > 0, else with a heap."""
    n = len(indptr) - 1
    dist = np.empty(n)
    work = np.empty(2 * n, dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    head = np.empty(max(ring, 1), dtype=np.int64)
    pred_d = np.empty(n)
    tie = np.empty(n, dtype=np.bool_)
    for i in range(first, len(dests), step):
        if ring > 0:
            tied[i] = _bucket_row(indptr, indices, data, rlink, dests[i], inv_width, dist, pos,
                                  work, head, pred_d, tie, table[i])
        else:
            _sweep(indptr, indices, data, dests[i], dist, work, pos)
            tied[i] = _fill(cptr, crow, cdata, clink, dests[i], dist, table[i])


MAX_RING = 1 << 16  # buckets; beyond, a heap is quicker (links very short beside the longest)


def _buckets(weights: np.ndarray) -> tuple[float, int]:
    """Bucket width (as its inverse) and ring length for the bucket sweep, or ring 0 when the
    weights do not suit it (a link of no length, a ring too long)."""
    if not len(weights) or weights.min() <= 0.0:
        return 0.0, 0
    inv_width = 2.0 / float(weights.min())  # half the shortest link: rounding cannot matter
    ring = 1 << (int(float(weights.max()) * inv_width) + 4).bit_length()
    return (inv_width, ring) if ring <= MAX_RING else (0.0, 0)


def next_link_table(rev, links_of, dests: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per destination and node, the next link towards the destination over `rev` (the
    reversed graph as scipy builds it: row = a link's end, column = its start, parallel links
    summed), and which destinations had tied candidates (their rows are to be taken from scipy).
    `links_of(frm, to)` maps node pairs to the link a table names."""
    n = rev.shape[0]
    indptr, indices = rev.indptr.astype(np.int64), rev.indices.astype(np.int64)
    # rev's entry (row u, column v) is the link v -> u
    rlink = np.asarray(links_of(indices, np.repeat(np.arange(n, dtype=np.int64),
                                                   np.diff(indptr))), dtype=np.int32)
    inv_width, ring = _buckets(rev.data)
    if ring:  # the bucket sweep takes next links as it goes: no links out of each node needed
        cptr, crow = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
        cdata, clink = np.zeros(0), np.zeros(0, dtype=np.int32)
    else:
        csc = rev.tocsc()  # column j: the links out of node j (row: where each leads)
        crow = csc.indices.astype(np.int64)
        cptr = csc.indptr.astype(np.int64)
        cfrm = np.repeat(np.arange(n, dtype=np.int64), np.diff(cptr))
        clink = np.asarray(links_of(cfrm, crow), dtype=np.int32)
        cdata = np.ascontiguousarray(csc.data, dtype=np.float64)
    args = (indptr, indices, np.ascontiguousarray(rev.data, dtype=np.float64), rlink, cptr, crow,
            cdata, clink, np.asarray(dests, dtype=np.int64), inv_width, ring)
    table = np.empty((len(dests), n), dtype=np.int32)
    tied = np.zeros(len(dests), dtype=np.bool_)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = max(1, min(cores or 1, len(dests)))
    if threads == 1:
        _rows(*args, 0, 1, table, tied)
        return table, tied
    errors: list[BaseException] = []

    def share(first: int) -> None:
        try:
            _rows(*args, first, threads, table, tied)
        except BaseException as e:  # raised again below, in the caller's thread
            errors.append(e)

    workers = [threading.Thread(target=share, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    return table, tied

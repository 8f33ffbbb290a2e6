"""trips.csv from the trip table's columns (metrics.trip_table): a pure function of plain
arrays, so the worker beside a run (painter.py) can write the largest table while the main
process writes the rest.

A day has hundreds of thousands of trips and Python formats a row in about 2.5 us, half a
second for the Leaders' day. The rows are therefore formatted by a small compiled function,
digit by digit into one buffer, with the exact result of Python's `TRIP_ROW % row`: a number
with N decimals is the integer nearest to x * 10**N worked out exactly from x's binary
mantissa and exponent, ties to even, as Python's correctly rounded formatting does
(tests/test_trip_csv.py compares the two on awkward and random values). Names are written
from a small table of their encoded bytes. A table with a value the compiled path does not
take (not finite, or too large for a 64-bit integer of its digits) is formatted by Python.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numba import njit

from .tables import csv_text

TRIP_COLUMNS = ["trip_id", "kind", "origin", "destination", "depart_s", "arrive_s", "km",
                "free_flow_s", "delay_s", "status", "forced", "held_s", "end_s"]
# the format of a row, as Python writes it (the compiled path writes the same bytes)
TRIP_ROW = "%d,%s,%s,%s,%.1f,%s,%.3f,%.1f,%.1f,%s,%d,%.1f,%.1f\n"
NAME_COLUMNS = ("kind", "origin", "destination", "status")
FLOAT_COLUMNS = ("depart_s", "arrive_s", "km", "free_flow_s", "delay_s", "held_s", "end_s")
# the compiled path formats values below this magnitude: 12 digits before the point at most,
# so that a cell with its sign, 3 decimals and comma fits the 20 bytes each row keeps for it
LIMIT = 1e12


def write_trips(t: dict, path: str | Path) -> None:
    """One row per trip in the table's order; arrive_s is empty while a trip is en route."""
    with open(path, "wb") as fh:
        fh.write((",".join(TRIP_COLUMNS) + "\n").encode())
        fh.write(trip_rows(t))


def trip_rows(t: dict) -> bytes:
    """The rows of trips.csv, without the header, as UTF-8."""
    values = [np.asarray(t[c], dtype=np.float64) for c in FLOAT_COLUMNS]
    finite = [v[~np.isnan(v)] if c == "arrive_s" else v for c, v in zip(FLOAT_COLUMNS, values,
                                                                        strict=True)]
    if not all(np.all(np.abs(v) < LIMIT) for v in finite):  # inf, NaN or huge: Python's way
        return "".join(map(TRIP_ROW.__mod__, _python_rows(t))).encode()
    # names are node ids, place names, kinds and statuses, a few hundred in all: each column's
    # cells as codes into one table of encoded names (origins and destinations quoted once
    # where they would break the CSV)
    n = len(t["trip_id"])
    encoded: list[bytes] = []
    codes = []
    for c in NAME_COLUMNS:
        cells = t[c]
        code = {}
        for name in set(cells):
            code[name] = len(encoded)
            encoded.append((csv_text(name) if c in ("origin", "destination") else name).encode())
        codes.append(np.fromiter(map(code.__getitem__, cells), dtype=np.int64, count=n))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in encoded])
    text = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    longest = int(max((len(b) for b in encoded), default=0))
    buf = np.empty(n * (2 * 21 + 4 * (longest + 1) + 7 * 20 + 1), dtype=np.uint8)
    ints = np.stack([np.asarray(t["trip_id"], dtype=np.int64),
                     np.asarray(t["forced"], dtype=np.int64)], axis=1)
    used = _format_rows(ints, np.stack(values, axis=1), np.stack(codes, axis=1), text, offsets,
                        buf)
    return buf[:used].tobytes()


def warm() -> None:
    """Load the compiled formatter (about a fifth of a second in a fresh process), so that a
    worker does it while the run goes on rather than when the table is due."""
    empty = {c: np.zeros(0, dtype=object if c in NAME_COLUMNS else float) for c in TRIP_COLUMNS}
    trip_rows(empty)


def _python_rows(t: dict):
    """The table's rows as tuples for TRIP_ROW (arrive_s already text: empty while en route)."""
    arrive = ["" if a != a else f"{a:.1f}" for a in t["arrive_s"].tolist()]  # NaN: en route
    quoted = {name: csv_text(name) for name in {*t["origin"], *t["destination"]}}
    return zip(t["trip_id"].tolist(), t["kind"], map(quoted.__getitem__, t["origin"]),
               map(quoted.__getitem__, t["destination"]), t["depart_s"].tolist(), arrive,
               t["km"].tolist(), t["free_flow_s"].tolist(), t["delay_s"].tolist(), t["status"],
               t["forced"].tolist(), t["held_s"].tolist(), t["end_s"].tolist(), strict=True)


# ---- the compiled path ------------------------------------------------------------------------
@njit(cache=True)
def _put_int(buf, pos, n):
    """Write the integer n in decimal at pos; returns the position after it."""
    if n < 0:
        buf[pos] = 45  # "-"
        pos += 1
        n = -n
    start = pos
    while True:
        buf[pos] = 48 + n % 10
        pos += 1
        n //= 10
        if n == 0:
            break
    end = pos - 1
    while start < end:  # the digits came last first
        buf[start], buf[end] = buf[end], buf[start]
        start += 1
        end -= 1
    return pos


@njit(cache=True)
def _put_fixed(buf, pos, x, decimals):
    """Write x with `decimals` decimals, as Python's "%.<decimals>f" % x: the integer nearest
    to x * 10**decimals, ties to even, from x = m * 2**e exactly (|x| < LIMIT)."""
    if math.copysign(1.0, x) < 0.0:  # -0.0 and negatives round to "-0.0" as in Python
        buf[pos] = 45
        pos += 1
        x = -x
    scale = 10 ** decimals
    q = 0
    if x != 0.0:
        mant, exp = math.frexp(x)  # x = mant * 2**exp, 0.5 <= mant < 1
        m = np.int64(mant * 9007199254740992.0)  # 2**53: exact
        shift = 53 - exp  # x = m / 2**shift
        p = m * scale  # below 2**63: m < 2**53, scale <= 1000
        if shift <= 0:
            q = p << (-shift)
        elif shift < 64:
            q = p >> shift
            rest = p - (q << shift)
            half = np.int64(1) << (shift - 1)
            if rest > half or (rest == half and q % 2 == 1):
                q += 1
        # shift >= 64: x * scale < 1/2, so q stays 0
    pos = _put_int(buf, pos, q // scale)
    if decimals:
        buf[pos] = 46  # "."
        pos += 1
        frac = q % scale
        div = scale // 10
        while div:
            buf[pos] = 48 + (frac // div) % 10
            pos += 1
            div //= 10
    return pos


@njit(cache=True)
def _put_name(buf, pos, text, offsets, code):
    for i in range(offsets[code], offsets[code + 1]):
        buf[pos] = text[i]
        pos += 1
    return pos


@njit(cache=True)
def _format_rows(ints, floats, names, text, offsets, buf):
    """Every row into buf in TRIP_ROW's format; returns the bytes written. Columns: ints
    (trip_id, forced), floats (FLOAT_COLUMNS order; arrive_s NaN: empty), names
    (NAME_COLUMNS order, codes into text by offsets)."""
    pos = 0
    for r in range(ints.shape[0]):
        pos = _put_int(buf, pos, ints[r, 0])
        for c in range(3):  # kind, origin, destination
            buf[pos] = 44
            pos = _put_name(buf, pos + 1, text, offsets, names[r, c])
        buf[pos] = 44
        pos = _put_fixed(buf, pos + 1, floats[r, 0], 1)  # depart_s
        buf[pos] = 44
        pos += 1
        if not np.isnan(floats[r, 1]):  # arrive_s, empty while en route
            pos = _put_fixed(buf, pos, floats[r, 1], 1)
        buf[pos] = 44
        pos = _put_fixed(buf, pos + 1, floats[r, 2], 3)  # km
        for c in (3, 4):  # free_flow_s, delay_s
            buf[pos] = 44
            pos = _put_fixed(buf, pos + 1, floats[r, c], 1)
        buf[pos] = 44
        pos = _put_name(buf, pos + 1, text, offsets, names[r, 3])  # status
        buf[pos] = 44
        pos = _put_int(buf, pos + 1, ints[r, 1])  # forced
        for c in (5, 6):  # held_s, end_s
            buf[pos] = 44
            pos = _put_fixed(buf, pos + 1, floats[r, c], 1)
        buf[pos] = 10
        pos += 1
    return pos

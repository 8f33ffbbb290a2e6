"""trips.csv's compiled writer gives Python's own formatting, byte for byte."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.trip_csv import LIMIT, TRIP_COLUMNS, TRIP_ROW, _put_fixed, _python_rows, trip_rows

# halves, quarters, eighths... are exact in binary: ties that round to even; the others are
# the decimal fractions binary cannot hold, which round by their true value
AWKWARD = [0.0, -0.0, 0.05, 0.15, 0.25, 0.35, 0.45, 0.95, 2.5, 2.675, 1.0005, 0.0005, 0.0015,
           -0.04, -0.05, -0.06, 1e-300, 5e-324, 0.125, 0.375, 1.25, 999.9999, 86399.95,
           123456789.0625, LIMIT - 0.001, 2.0**-10, 2.0**-60, 2.0**-64, 3 * 2.0**-64]


def formatted(x: float, decimals: int) -> str:
    buf = np.empty(64, dtype=np.uint8)
    return bytes(buf[:_put_fixed(buf, 0, x, decimals)]).decode()


def test_awkward_values_round_as_python_rounds_them():
    for x in AWKWARD + [k / 2**j for k in range(-300, 300) for j in range(1, 6)]:
        for decimals in (1, 3):
            assert formatted(x, decimals) == f"{x:.{decimals}f}", (x, decimals)


@settings(max_examples=3000, deadline=None)
@given(st.floats(min_value=-LIMIT, max_value=LIMIT, exclude_max=True, exclude_min=True,
                 allow_nan=False), st.sampled_from([1, 3]))
def test_any_value_rounds_as_python_rounds_it(x, decimals):
    assert formatted(x, decimals) == f"{x:.{decimals}f}"


def table(rng: np.random.Generator, n: int) -> dict:
    names = np.array(["car", "bus", "HICO", "Bomun, lake", 'say "hi"', "경주역", "1203"],
                     dtype=object)
    arrive = rng.uniform(0, 86_400, n)
    arrive[rng.random(n) < 0.2] = np.nan  # en route
    return {"trip_id": np.arange(n) * 7, "kind": names[rng.integers(0, 2, n)],
            "origin": names[rng.integers(0, 7, n)], "destination": names[rng.integers(0, 7, n)],
            "depart_s": rng.uniform(0, 86_400, n).round(2), "arrive_s": arrive,
            "km": rng.exponential(5, n), "free_flow_s": rng.uniform(0, 3000, n),
            "delay_s": np.maximum(0, rng.normal(0, 100, n)), "status": names[rng.integers(0, 3, n)],
            "forced": rng.integers(0, 2, n), "held_s": np.zeros(n),
            "end_s": rng.uniform(0, 86_400, n)}


def python_text(t: dict) -> bytes:
    return "".join(map(TRIP_ROW.__mod__, _python_rows(t))).encode()


def test_a_table_is_written_as_python_writes_it():
    t = table(np.random.default_rng(3), 5000)
    assert trip_rows(t) == python_text(t)
    assert len(trip_rows(t).decode().splitlines()) == 5000


def test_a_value_the_compiled_path_does_not_take_is_written_by_python():
    t = table(np.random.default_rng(4), 50)
    t["km"][7], t["delay_s"][9] = np.inf, 1e20
    text = trip_rows(t)
    assert text == python_text(t)
    assert b",inf," in text


def test_an_empty_table_is_empty():
    empty = {c: np.zeros(0, dtype=object if c in ("kind", "origin", "destination", "status")
                         else float) for c in TRIP_COLUMNS}
    assert trip_rows(empty) == b""

"""Writing tables: one cell format, one quoting rule and one writer for every CSV a run
writes (the traffic's and each layer's)."""

from __future__ import annotations

import csv
from pathlib import Path


def fmt(x, nd=1) -> str:
    """A number with `nd` decimals, empty for None."""
    return "" if x is None else f"{x:.{nd}f}"


def csv_text(text: str) -> str:
    """A name as a CSV cell: quoted when it holds a comma, a quote or a line break."""
    if any(ch in text for ch in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


class Quoted(dict):
    """Names as CSV cells, each quoted once (see csv_text) when first asked for."""

    def __missing__(self, name: str) -> str:
        out = self[name] = csv_text(name)
        return out


def write_csv(path: Path, columns: list[str], rows) -> None:
    """A table: its header, then its rows as csv writes them."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        w.writerows(rows)

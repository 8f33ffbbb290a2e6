"""The worked example of docs/library.md runs as written and prints what the page says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "library.md"


def test_the_library_example_runs_and_prints_what_the_page_shows(tmp_path, monkeypatch):
    text = DOC.read_text(encoding="utf-8")
    code, printed = re.findall(r"```(?:python)?\n(.*?)```", text, flags=re.S)[:2]
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "__main__"})
    assert out.getvalue().strip() == printed.strip()
    assert (tmp_path / "som1-fleet30" / "metrics.json").is_file()

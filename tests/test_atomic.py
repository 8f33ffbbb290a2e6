"""Outputs are whole or absent: a failure inside the block leaves nothing behind."""

from __future__ import annotations

import pytest

from sim.atomic import atomic_dir, atomic_file


def test_failed_file_write_leaves_nothing(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_failed_run_folder_keeps_the_previous_result(tmp_path):
    target = tmp_path / "run"
    with atomic_dir(target) as tmp:
        (tmp / "metrics.json").write_text("{}")
    with pytest.raises(KeyboardInterrupt), atomic_dir(target) as tmp:
        (tmp / "metrics.json").write_text('{"partial": true}')
        raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert (target / "metrics.json").read_text() == "{}"

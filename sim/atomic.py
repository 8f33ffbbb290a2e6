"""Write outputs to a temporary name and rename when complete: a result is whole or absent."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(path: str | Path):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_dir(path: str | Path):
    """Yield a temporary folder beside `path`; it becomes `path` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        _discard_dir(tmp)


def _discard_dir(tmp: Path) -> None:
    """Remove the temporary folder even if Ctrl-C or SIGTERM comes meanwhile (it acts once the
    folder is gone), and retry while something still writes into it."""
    from .processes import signals_held

    interrupted = None
    while True:
        try:
            with signals_held():
                for _ in range(50):
                    if not os.path.lexists(tmp):
                        break
                    shutil.rmtree(tmp, ignore_errors=True)
                    if os.path.lexists(tmp):
                        time.sleep(0.02)  # a file created during the removal
            break
        except KeyboardInterrupt as exc:  # came just before the signals were held, or after
            interrupted = exc
    if interrupted is not None:
        raise interrupted

"""Write outputs to a temporary name and rename when complete: a result is whole or absent."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from .errors import InputError


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
        _discard(tmp)


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, replace: bool = False, command: str = "run",
               key: str | None = None):
    """Yield a temporary folder beside `path`; it becomes `path` only if the block succeeds.
    Its manifest records every file written (see `ownership`). An existing `path` is replaced
    only when `replace` is given and it holds nothing but an earlier output of the project."""
    from .ownership import foreign_entries, refuse_foreign, stamp_folder

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        yield tmp
        stamp_folder(tmp, command, key)
        os.chmod(tmp, 0o777 & ~_umask())
        old = None
        if target.exists() or target.is_symlink():
            if target.is_symlink() or not target.is_dir():
                raise InputError(f"{target} appeared as a file during the run; nothing replaced")
            if any(target.iterdir()):  # checked before the run; again, now, before replacing
                refuse_foreign(target, foreign_entries(target))
                if not replace:
                    raise InputError(f"{target} exists; nothing replaced")
            # move the earlier output aside first, so the new one takes its name in one step
            old = target.parent / f".{target.name}.{os.getpid()}.old"
        from .processes import signals_held

        try:
            with signals_held():  # an interrupt waits until the folder has its name again
                if old is not None:
                    os.rename(target, old)
                try:
                    os.replace(tmp, target)
                except OSError:
                    if old is not None:  # the earlier output goes back where it was
                        os.rename(old, target)
                    raise
        finally:
            if old is not None and os.path.lexists(old) and target.exists():
                _discard(old)
    finally:
        _discard(tmp)


def _discard(tmp: str | Path) -> None:
    """Remove a temporary file or folder even if Ctrl-C or SIGTERM comes meanwhile (it acts
    once the temporary is gone), retrying while something still writes into a folder."""
    from .processes import signals_held

    interrupted = None
    while True:
        try:
            with signals_held():
                for _ in range(50):
                    if not os.path.lexists(tmp):
                        break
                    if os.path.isdir(tmp) and not os.path.islink(tmp):
                        shutil.rmtree(tmp, ignore_errors=True)
                    else:
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(tmp)
                    if os.path.lexists(tmp):
                        time.sleep(0.02)  # a file created during the removal
            break
        except KeyboardInterrupt as exc:  # came just before the signals were held, or after
            interrupted = exc
    if interrupted is not None:
        raise interrupted

"""Write outputs to a temporary name and rename when complete: a result is whole or absent."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
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
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, replace: bool = False, command: str = "run",
               key: str | None = None):
    """Yield a temporary folder beside `path`; it becomes `path` only if the block succeeds.
    Its manifest records every file written (see `ownership`). An existing `path` is replaced
    only when `replace` is given and it holds nothing but an earlier output of the project."""
    from .ownership import foreign_entries, stamp_folder

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
            if any(target.iterdir()):
                odd = foreign_entries(target)
                if odd or not replace:
                    raise InputError(
                        f"{target} {'holds files summit-sim did not write' if odd else 'exists'}"
                        f"{' (' + ', '.join(odd[:5]) + ')' if odd else ''}; nothing replaced")
            # move the earlier output aside first, so the new one takes its name in one step
            old = target.parent / f".{target.name}.{os.getpid()}.old"
            os.rename(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)

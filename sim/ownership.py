"""What the project wrote, and whether it may replace it: the user's files are never touched.

Every output folder carries `manifest.json` whose `output` record names the program, the command
and every file written with its size. A folder may be replaced only when that record lists
exactly what is inside (nothing added, nothing changed since), and only when the user asked for
it (`--force`) or it is the default folder of the very same command run again. Folders that can
never be an output (`/`, the home folder, the project, the working folder or one holding it) are
refused whatever is asked. All of it is checked before a run starts, and again before renaming.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from . import __version__
from .errors import InputError

MANIFEST = "manifest.json"
PROGRAM = "summit-sim"
# single-file outputs carry this token (PNG/GIF/MP4 metadata, GraphML, GeoJSON): a distinct
# token, so that a user's text that merely mentions the project is never taken for an output
STAMP = b"summit-sim-output-v1"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
_SHOWN = 5  # entries named in a refusal


def run_key(*parts) -> str:
    """A short digest naming one command line (scenario, overrides, seed, ...)."""
    text = json.dumps([str(p) if not isinstance(p, list | tuple) else [str(x) for x in p]
                       for p in parts], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def variant_suffix(overrides: list[str]) -> str:
    """Distinct default folder names for variants: `-weather_snow-1a2b3c` (empty: no overrides)."""
    if not overrides:
        return ""
    text = re.sub(r"[^a-z0-9]+", "_", "-".join(overrides).lower()).strip("_")[:40].strip("_")
    digest = hashlib.sha256("\n".join(o.strip() for o in overrides).encode()).hexdigest()[:6]
    return f"-{text}-{digest}" if text else f"-{digest}"


def _files(folder: Path) -> dict[str, int]:
    out = {}
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            p = Path(root) / name
            rel = p.relative_to(folder).as_posix()
            if rel != MANIFEST:
                out[rel] = p.lstat().st_size
        for d in dirs:  # an empty sub-folder is content too
            if not any(Path(root, d).iterdir()):
                out[Path(root, d).relative_to(folder).as_posix() + "/"] = 0
    return out


def stamp_folder(folder: Path, command: str, key: str | None = None) -> None:
    """Record in `folder/manifest.json` what the project wrote there (kept with the run's own
    manifest when it has one)."""
    path = folder / MANIFEST
    manifest = {}
    if path.exists():
        manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["output"] = {"written_by": PROGRAM, "version": __version__, "command": command,
                          "key": key, "files": _files(folder)}
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# what a run folder of the versions before the `output` record held (0.1.0): such a folder is
# recognised by its manifest's version stamp and by holding nothing but these files
LEGACY_RUN_FILES = frozenset({
    "manifest.json", "metrics.json", "trips.csv", "link_stats.csv", "timeseries.csv",
    "delegates.csv", "incidents.csv", "coverage.csv", "coverage_gaps.csv", "positions.csv.gz",
    "report.html", "congestion_map.png", "on_time_by_session.png", "stop_waits.png",
    "shuttle_occupancy.png", "coverage.png"})


def _record(folder: Path) -> dict | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        record = manifest.get("output")
        if isinstance(record, dict) and record.get("written_by") == PROGRAM \
                and isinstance(record.get("files"), dict):
            return record
        if record is None and "summit_sim" in manifest.get("versions", {}):
            entries = list(folder.iterdir())
            if all(p.is_file() and not p.is_symlink() and p.name in LEGACY_RUN_FILES
                   for p in entries):
                return {"written_by": PROGRAM, "command": "run", "key": "legacy",
                        "files": {p.name: p.stat().st_size for p in entries
                                  if p.name != MANIFEST}}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def foreign_entries(folder: Path, record: dict | None = None) -> list[str]:
    """What in `folder` the project did not write (or changed since): empty when it is all ours.
    A folder without the project's record (`_record`, read here unless given) is wholly
    foreign."""
    record = record or _record(folder)
    if record is None:
        return sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    try:
        present = _files(folder)
    except OSError as exc:  # something inside we may not even read is not ours
        return [f"{exc.filename} (unreadable)"]
    listed = record["files"]
    odd = [f"{n} (not written by summit-sim)" for n in present if n not in listed]
    odd += [f"{n} (changed since it was written)" for n, size in present.items()
            if n in listed and listed[n] != size]
    return odd


def refuse_foreign(target: Path, odd: list[str], flag: str = "--out") -> None:
    """Raise the refusal of a folder holding what summit-sim did not write (`odd`), if any."""
    if odd:
        shown = ", ".join(odd[:_SHOWN]) + (f" and {len(odd) - _SHOWN} more"
                                           if len(odd) > _SHOWN else "")
        raise InputError(f"{flag} {str(target)!r} holds files summit-sim did not write ({shown}); "
                         "nothing was written or removed: choose another folder")


def _forbidden(target: Path) -> str | None:
    """Why `target` can never be an output folder, or None."""
    t = target.resolve()
    cwd = Path.cwd().resolve()
    home = Path.home().resolve()
    if t == Path(t.anchor):
        return "the root of the file system"
    if t == home:
        return "your home folder"
    if t == PROJECT_ROOT or t in PROJECT_ROOT.parents:
        return "the summit-sim project folder" if t == PROJECT_ROOT else \
            "a folder holding the summit-sim project"
    if t == cwd:
        return "the working folder"
    if t in cwd.parents:
        return "a folder holding the working folder"
    return None


def _writable_parent(target: Path, flag: str) -> None:
    """The nearest existing ancestor must be a folder we can create entries in (tried for real:
    a probe folder made and removed at once)."""
    parent = target.parent
    while not parent.exists():
        if parent == parent.parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{flag} {str(target)!r}: {str(parent)!r} is a file, not a folder")
    try:
        probe = tempfile.mkdtemp(prefix=".summit-sim-probe.", dir=parent)
        os.rmdir(probe)
    except OSError as exc:
        raise InputError(f"{flag} {str(target)!r}: cannot write in {str(parent)!r} "
                         f"({exc.strerror or exc})") from None


def check_location(target: Path, flag: str = "--out") -> None:
    """`target` can be an output folder: not a place that holds other things by nature, not a
    file or a link, and its parent can be written."""
    why = _forbidden(target)
    if why:
        raise InputError(f"{flag} {str(target)!r} is {why}; summit-sim writes its outputs into "
                         "a folder of their own: choose a new or an earlier output folder")
    if target.is_symlink():
        raise InputError(f"{flag} {str(target)!r} is a symbolic link; give the folder itself")
    if target.exists() and not target.is_dir():
        raise InputError(f"{flag} {str(target)!r} is an existing file, not a folder; "
                         "choose a folder name")
    _writable_parent(target, flag)


def check_output_folder(target: str | Path, *, force: bool = False, key: str | None = None,
                        default: bool = False, flag: str = "--out") -> bool:
    """Check before any work that the command may write the folder `target`; True when an
    earlier output there will be replaced. Raises InputError saying what is there otherwise."""
    target = Path(target)
    check_location(target, flag)
    if not target.exists() or not any(target.iterdir()):
        return target.exists()
    record = _record(target)
    refuse_foreign(target, foreign_entries(target, record), flag)
    # at a default name, the same command again, or a run of an earlier version at its name
    same_run = default and key is not None and record.get("key") in (key, "legacy")
    if not (force or same_run):
        raise InputError(f"{flag} {str(target)!r} holds an earlier {record.get('command')} "
                         f"output of summit-sim ({len(record['files'])} files); add --force to "
                         "replace it, or choose another folder")
    return True


def check_output_file(target: str | Path, *, force: bool = False, default: bool = False,
                      flag: str = "--out") -> None:
    """Check before any work that a single-file output may be written at `target`: a new name,
    or an earlier output of the project (it carries the project's stamp) with --force or at its
    default name."""
    target = Path(target)
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise InputError(f"{flag} {str(target)!r} exists and is not a plain file; choose a new "
                         "file name")
    _writable_parent(target, flag)
    if not target.exists():
        return
    if not is_stamped_file(target):
        raise InputError(f"{flag} {str(target)!r} is an existing file summit-sim did not write; "
                         "nothing was written: choose a new file name")
    if not (force or default):
        raise InputError(f"{flag} {str(target)!r} is an earlier output of summit-sim; add --force "
                         "to replace it, or choose a new file name")


def is_stamped_file(path: Path, limit: int = 1 << 26) -> bool:
    """Whether a file carries the project's stamp (searched in its first 64 MB)."""
    try:
        with open(path, "rb") as fh:
            return STAMP in fh.read(limit)
    except OSError:
        return False

"""The browser-side files the Solara page loads, kept on this machine so the view works offline.

Solara's server serves its front end (the Vuetify app, fonts, require.js, the grid layout Mesa's
page uses) from a local cache and fetches what is missing from a public CDN. A control room may
have no internet, so `ensure_assets()` fills the cache once from the npm registry (`npm pack`,
the packages the CDN itself mirrors). `python run.py viz` calls it before serving.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# the npm packages the page loads, as the CDN paths name them (solara 1.64; the ui extra pins it)
PACKAGES = (
    "@widgetti/solara-vuetify3-app@5.2.0",
    "@widgetti/vue-grid-layout@2.3.13-alpha.2",
    "font-awesome@4.5.0",
    "requirejs@2.3.6",
)


def cache_dir() -> Path:
    """Where Solara's server looks for cached front-end files."""
    try:
        from solara.server import settings

        return Path(settings.assets.proxy_cache_dir)
    except ImportError:  # not installed: the default location
        return Path(sys.prefix) / "share" / "solara" / "cdn"


def missing(directory: Path | None = None) -> list[str]:
    directory = directory or cache_dir()
    return [p for p in PACKAGES if not (directory / p / "package.json").exists()]


def ensure_assets(directory: Path | None = None, *, quiet: bool = True) -> list[str]:
    """Put every package the page needs into the cache; returns the ones it added.
    Raises RuntimeError naming the packages when npm is missing or a download fails."""
    directory = directory or cache_dir()
    todo = missing(directory)
    if not todo:
        return []
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("the live view's browser files are not cached and npm is not "
                           f"installed to fetch them ({', '.join(todo)}); install npm, or "
                           "allow this machine to reach the Solara CDN")
    with tempfile.TemporaryDirectory(prefix="summit-viz-assets-") as tmp:
        for spec in todo:
            proc = subprocess.run([npm, "pack", spec, "--pack-destination", tmp, "--silent"],
                                  capture_output=True, text=True, cwd=tmp, timeout=300)
            if proc.returncode != 0:
                raise RuntimeError(f"npm pack {spec} failed: {proc.stderr.strip()[-400:]}")
            tgz = Path(tmp) / proc.stdout.strip().splitlines()[-1]
            target = directory / spec
            staging = Path(tmp) / "x"
            shutil.rmtree(staging, ignore_errors=True)
            with tarfile.open(tgz) as tf:
                tf.extractall(staging, filter="data")
            # npm tarballs hold the package under package/ (a few under their own name)
            (root,) = [p for p in staging.iterdir() if p.is_dir()]
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                shutil.rmtree(target)
            shutil.move(str(root), str(target))
            if not quiet:
                print(f"cached {spec} for the live view", file=sys.stderr)
    return todo


if __name__ == "__main__":
    added = ensure_assets(quiet=False)
    print(f"live view browser files in {cache_dir()} ({len(added)} added)")

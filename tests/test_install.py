"""summit-sim installed, not only checked out: every folder of sim/, agents/ and scenarios/ is a
listed package with its files as package data, and `pip install .` into a fresh virtual
environment gives a `summit-sim` command that finds the shipped scenarios, drill logs and data
from any folder and writes its outputs under the working folder."""

from __future__ import annotations

import fnmatch
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
    "setuptools"]
# what pip says when it cannot fetch the build backend (no index, no network): building is
# impossible here, which is a reason to skip, not a failure of the project
OFFLINE = ("Could not find a version that satisfies the requirement setuptools",
           "No matching distribution found for setuptools", "Failed to establish a new connection",
           "Temporary failure in name resolution", "Network is unreachable")


def _package_folders() -> dict[Path, str]:
    """Every folder that installs, with the package it becomes (sim/, agents/ and the folders
    pyproject.toml maps, such as scenarios/ as sim.scenarios)."""
    tops = {"sim": "sim", "agents": "agents",
            **{folder: name for name, folder in SETUPTOOLS.get("package-dir", {}).items()}}
    out = {}
    for folder, name in tops.items():
        base = ROOT / folder
        for d in [base, *sorted(p for p in base.rglob("*") if p.is_dir())]:
            rel = d.relative_to(base).parts
            if "__pycache__" not in rel:
                out[d] = ".".join((name, *rel))
    return out


def test_every_folder_and_data_file_is_in_the_package():
    """A folder missing from `packages`, or a data file no package-data pattern takes, would be
    left out of an installed summit-sim while a checkout still runs."""
    folders = _package_folders()
    assert sorted(SETUPTOOLS["packages"]) == sorted(folders.values())
    data = SETUPTOOLS.get("package-data", {})
    left_out = [str(f.relative_to(ROOT)) for d, name in folders.items() for f in d.iterdir()
                if f.is_file() and f.suffix not in (".py", ".pyc")
                and not any(fnmatch.fnmatch(f.name, pat) for pat in data.get(name, []))]
    assert not left_out, f"not package data (pyproject.toml [tool.setuptools.package-data]): " \
                         f"{left_out}"


def _copy_ignore(folder: str, names: list[str]) -> set[str]:
    """The project's own files only: no caches, virtual environments, outputs or earlier builds
    (a stale build/ could hide a file the package leaves out)."""
    return {n for n in names if n.startswith(".") or n in ("__pycache__", "outputs", "build",
                                                            "dist") or n.endswith(".egg-info")}


@pytest.mark.install
def test_the_installed_command_runs_a_shipped_scenario_from_another_folder(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=_copy_ignore)
    venv = tmp_path / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)],
                          capture_output=True, text=True, timeout=120)
    if made.returncode != 0:
        pytest.skip(f"cannot make a virtual environment here: {made.stderr.strip()}")
    python = venv / "bin" / "python"
    # the dependencies (and pip) are this interpreter's: its site-packages as a path of the new
    # environment, after the environment's own, so that only summit-sim itself is installed
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv),
                                                       "platbase": str(venv)}))
    (purelib / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n",
                                              encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--ignore-installed",
         "--disable-pip-version-check", "--quiet", str(src)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    if installed.returncode != 0 and any(m in installed.stderr for m in OFFLINE):
        pytest.skip("pip cannot fetch the build backend (setuptools) here")
    assert installed.returncode == 0, installed.stdout + installed.stderr

    work = tmp_path / "elsewhere"
    work.mkdir()

    def summit_sim(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(venv / "bin" / "summit-sim"), *args], capture_output=True,
                              text=True, timeout=120, env=env, cwd=work)

    where = subprocess.run(
        [str(python), "-c", "import sim, sim.scenario as s; print(sim.__file__); "
                            "print(s.SCENARIO_DIR)"],
        capture_output=True, text=True, timeout=60, env=env, cwd=work)
    module, scenarios = (Path(line) for line in where.stdout.split())
    assert module.is_relative_to(venv) and scenarios.is_relative_to(venv), where.stdout
    assert (scenarios / "drills" / "hico_fire_drill_observed.csv").is_file()

    helped = summit_sim("--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: summit-sim "), helped
    # base = "..." chains (hico_fire_drill -> leaders_day -> normal_weekday), the emergency data
    for name in ("som1_day", "hico_fire_drill"):
        checked = summit_sim("validate", name)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = summit_sim("run", "som1_day", "--set", "end=06:00", "--quiet")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    outputs = [p for p in (work / "outputs").iterdir() if p.is_dir()]
    assert len(outputs) == 1 and (outputs[0] / "metrics.json").is_file(), ran.stdout
    assert not list(src.glob("outputs/*")) and not list(venv.rglob("metrics.json"))

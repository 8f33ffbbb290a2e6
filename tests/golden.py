"""The golden check: every shipped scenario run and its tables hashed, so a restructuring can
show it changed no number. Record on the tree before, check on the tree after:

    python -m tests.golden record /tmp/before.json
    python -m tests.golden check /tmp/before.json

Hashed: every .csv and .json a run writes but `manifest.json` (it records wall times and the
machine); pictures and `report.html` are left out (a picture may change its labels alone).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = {"manifest.json"}


def scenarios() -> list[str]:
    """The shipped scenarios (the drills' observed logs are inputs, not scenarios)."""
    return sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))


def hashes(name: str) -> dict[str, str]:
    """File name -> sha256 of each table one run of a shipped scenario writes."""
    with tempfile.TemporaryDirectory(prefix="summit-golden-") as folder:
        out = Path(folder) / name
        subprocess.run([sys.executable, str(ROOT / "run.py"), "run", name, "--out", str(out),
                        "--quiet"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(out.iterdir())
                if p.suffix in (".csv", ".json") and p.name not in SKIPPED}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("record", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    verb, path = argv
    got = {name: hashes(name) for name in scenarios()}
    if verb == "record":
        Path(path).write_text(json.dumps(got, indent=1) + "\n", encoding="utf-8")
        print(f"recorded {sum(map(len, got.values()))} tables of {len(got)} scenarios in {path}")
        return 0
    want = json.loads(Path(path).read_text(encoding="utf-8"))
    differ = [f"{name}/{f}" for name in sorted(set(want) | set(got))
              for f in sorted(set(want.get(name, {})) | set(got.get(name, {})))
              if want.get(name, {}).get(f) != got.get(name, {}).get(f)]
    for d in differ:
        print(f"differs: {d}")
    tables = sum(map(len, got.values()))
    print(f"{tables - len(differ)} of {tables} tables of {len(got)} scenarios byte-identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Entry point: `python run.py --help` lists the commands."""

import os
import sys

from sim.cli import main

if __name__ == "__main__":
    code = main()
    # Leave without tearing the interpreter down: a full-day run holds millions of small objects
    # whose one-by-one release takes over a second. Every output is already written and closed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

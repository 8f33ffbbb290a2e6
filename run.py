"""Entry point: `python run.py --help` lists the commands."""

import os
import signal
import sys


def _terminated(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminated)  # as Ctrl-C, from the very start
    try:
        from sim.cli import main

        code = main()
    except KeyboardInterrupt:  # while starting, before main() handles it
        print("interrupted; nothing partial was written", file=sys.stderr)
        code = 130
    # Leave without tearing the interpreter down: a full-day run holds millions of small objects
    # whose one-by-one release takes over a second. Every output is already written and closed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

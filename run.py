"""Entry point: `python run.py --help` lists the commands."""

import os
import signal
import sys

if __name__ == "__main__":
    # as Ctrl-C (the handler Python itself installs for SIGINT), from the very start
    signal.signal(signal.SIGTERM, signal.default_int_handler)
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

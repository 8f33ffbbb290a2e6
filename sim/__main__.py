"""The command line as a program: `python run.py`, `python -m sim` and the installed `summit-sim`
command all start here, so all three stop on SIGTERM as on Ctrl-C and leave quickly."""

import gc
import os
import signal
import sys


def main() -> None:
    """Run the command line (sim/cli.py) and leave with its exit code."""
    # as Ctrl-C (the handler Python itself installs for SIGINT), from the very start
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # a command imports a few thousand long-lived objects (modules, classes) and few cycles:
    # collecting them again and again as they arrive costs a tenth of the start-up
    gc.set_threshold(100_000, 50, 100)
    try:
        from .cli import main as cli_main

        code = cli_main()
    except KeyboardInterrupt:  # while starting, before the command line handles it
        print("interrupted; nothing partial was written", file=sys.stderr)
        code = 130
    # Leave without tearing the interpreter down: a full-day run holds millions of small objects
    # whose one-by-one release takes over a second. Every output is already written and closed.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()

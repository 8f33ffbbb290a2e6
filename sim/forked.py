"""Output work done beside the main process: the pictures of a run are drawn in a forked child
while the parent writes the tables, so the two cores share the last seconds of a run.

Where fork is not available, or the process already runs other threads (fork would copy a lock
held by one of them), the work simply runs in this process.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import traceback
from collections.abc import Callable


def start(jobs: list[Callable[[], object]]) -> Callable[[], None]:
    """Run `jobs` in a forked child; returns a `wait()` that joins it and raises if it failed."""
    if not jobs:
        return lambda: None
    if not hasattr(os, "fork") or threading.active_count() > 1:
        for job in jobs:
            job()
        return lambda: None
    sys.stdout.flush()
    sys.stderr.flush()
    # Keep the collector off the objects both processes share: a collection touches every
    # object it scans, and each touched page would be copied (seconds for a large run).
    gc.freeze()
    pid = os.fork()
    if pid == 0:  # the child: do the work and leave without running the parent's cleanup
        gc.disable()
        code = 1
        try:
            for job in jobs:
                job()
            code = 0
        except KeyboardInterrupt:
            pass  # the parent was interrupted too and discards the output folder
        except BaseException:  # reported to the parent by the exit code
            traceback.print_exc()
        finally:
            os._exit(code)

    def wait() -> None:
        _, status = os.waitpid(pid, 0)
        gc.unfreeze()
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError("drawing the run's pictures failed (the error is printed above)")

    return wait

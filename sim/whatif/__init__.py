"""What-if tooling: compare scenarios, sweep parameters over seeds, sensitivity analysis; runs on
local processes or a Dask distributed cluster. See docs/whatif.md."""

from .commands import add_whatif_commands

__all__ = ["add_whatif_commands"]

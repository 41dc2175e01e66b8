"""The ``footgrid`` console script and ``python -m footgrid``: the command line, loaded in a guard.

Loading :mod:`footgrid.cli` takes a moment (argument parsing, the error types); a Ctrl-C in that
moment is reported as an interruption (status 130), not as a traceback from inside an import.
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    """Load the command line and run it; a Ctrl-C while it loads exits with status 130."""
    try:
        from footgrid.cli import console  # lazy: loaded inside the Ctrl-C guard
    except KeyboardInterrupt:  # Ctrl-C while the command line itself loads
        print("footgrid: interrupted", file=sys.stderr)
        sys.stderr.flush()
        # os._exit, not sys.exit: a KeyboardInterrupt raised inside exec() of a string
        # (dataclasses and other libraries build code so while they import) leaves CPython's
        # "unhandled Ctrl-C" flag set even though it was caught here, and the interpreter would
        # end by SIGINT (-2).
        os._exit(130)
    return console()

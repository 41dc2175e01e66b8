"""``python -m footgrid``: the command line."""

import os
import sys

try:
    from footgrid.cli import console
except KeyboardInterrupt:  # Ctrl-C while the command line itself loads
    print("footgrid: interrupted", file=sys.stderr)
    sys.stderr.flush()
    # os._exit, not sys.exit: a KeyboardInterrupt raised inside exec() of a string (dataclasses
    # and other libraries build code so while they import) leaves CPython's "unhandled Ctrl-C"
    # flag set even though it was caught here, and the interpreter would end by SIGINT (-2).
    os._exit(130)

sys.exit(console())

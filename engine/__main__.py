"""``python -m footgrid``: the command line."""

import sys

try:
    from footgrid.cli import console
except KeyboardInterrupt:  # Ctrl-C while the command line itself loads
    print("footgrid: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(console())

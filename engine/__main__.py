"""``python -m footgrid``: the command line."""

import sys

from footgrid.cli import console

sys.exit(console())

"""``python -m footgrid``: the command line (:func:`footgrid.entry.main`)."""

import sys

from footgrid.entry import main

sys.exit(main())

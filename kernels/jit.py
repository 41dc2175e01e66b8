"""JIT options, defined once (as datashader's ``ngjit``): nopython, GIL released, cached."""

from __future__ import annotations

import numba

#: Decorator for every footgrid kernel: compiled once to disk, runs without the GIL so that
#: dask's threaded scheduler gets real parallelism.
ngjit = numba.njit(nogil=True, cache=True)

"""JIT options, defined once (as datashader's ``ngjit``): nopython, GIL released, cached."""

from __future__ import annotations

import numba

#: Decorator for every footgrid kernel: compiled once to disk, runs without the GIL so that
#: dask's threaded scheduler gets real parallelism. Numba checks a cached kernel against its
#: own file only: after editing a helper in another module (e.g. ``kernels/binning.py``, which
#: ``kernels/gridding.py`` inlines), delete ``kernels/__pycache__`` before measuring.
ngjit = numba.njit(nogil=True, cache=True)

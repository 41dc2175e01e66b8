"""Coordinates -> flat cell index on a north-up grid.

Cells are half-open ``[left, right) × [bottom, top)`` like ``numpy.histogram2d`` and datashader;
a point exactly on the grid's far edges (``x == xmax`` or ``y == ymax``) belongs to the last
cell, and anything outside (or NaN) gets index -1. Rows count from the top (y descending), so
the flat index is ``row * nx + col`` with ``row = ny - 1 - (bin along ascending y)``.
"""

from __future__ import annotations

import numpy as np

from kernels.jit import ngjit


@ngjit
def _bin(v: float, edges: np.ndarray, inv_res: float) -> int:
    """Bin of ``v`` along ascending ``edges`` (n + 1 values, uniform spacing), or -1."""
    n = edges.shape[0] - 1
    lo = edges[0]
    if not (v >= lo and v <= edges[n]):  # also rejects NaN
        return -1
    i = int((v - lo) * inv_res)
    if i > n - 1:
        i = n - 1
    # The float estimate can be one off next to an edge: settle it on the edges themselves,
    # exactly as a binary search on ``edges`` would.
    while i > 0 and v < edges[i]:
        i -= 1
    while i < n - 1 and v >= edges[i + 1]:
        i += 1
    return i


@ngjit
def cell_index(x: np.ndarray, y: np.ndarray, xedges: np.ndarray, yedges: np.ndarray) -> np.ndarray:
    """Flat cell index (``row * nx + col``) of every point, -1 outside the grid.

    Parameters
    ----------
    x, y
        Point coordinates in the grid CRS, float64.
    xedges, yedges
        Ascending cell edges, ``nx + 1`` and ``ny + 1`` values (``Grid.xedges``/``yedges``).

    Returns
    -------
    numpy.ndarray
        int64 array of flat indices into the (ny, nx) raster with rows from the top.
    """
    nx = xedges.shape[0] - 1
    ny = yedges.shape[0] - 1
    inv_rx = nx / (xedges[nx] - xedges[0])
    inv_ry = ny / (yedges[ny] - yedges[0])
    out = np.empty(x.shape[0], dtype=np.int64)
    for p in range(x.shape[0]):
        col = _bin(x[p], xedges, inv_rx)
        row = _bin(y[p], yedges, inv_ry)
        if col < 0 or row < 0:
            out[p] = -1
        else:
            out[p] = (ny - 1 - row) * nx + col
    return out


@ngjit
def finite_extent(x: np.ndarray, y: np.ndarray) -> tuple[int, float, float, float, float]:
    """Count and (xmin, ymin, xmax, ymax) of the points whose two coordinates are finite.

    One pass, no temporary arrays; the bounds are meaningless when the count is 0.
    """
    n_ok = 0
    x0 = np.inf
    y0 = np.inf
    x1 = -np.inf
    y1 = -np.inf
    for p in range(x.shape[0]):
        a = x[p]
        b = y[p]
        if np.isfinite(a) and np.isfinite(b):
            n_ok += 1
            x0 = min(x0, a)
            x1 = max(x1, a)
            y0 = min(y0, b)
            y1 = max(y1, b)
    return n_ok, x0, y0, x1, y1

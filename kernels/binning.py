"""Coordinates -> flat cell index on a north-up grid.

Cells are half-open ``[left, right) × [bottom, top)`` like ``numpy.histogram2d`` and datashader;
a point exactly on the grid's far edges (``x == xmax`` or ``y == ymax``) belongs to the last
cell, and anything outside (or NaN) gets index -1. Rows count from the top (y descending), so
the flat index is ``row * nx + col`` with ``row = ny - 1 - (bin along ascending y)``.
"""

from __future__ import annotations

import numpy as np

from footgrid.kernels.jit import ngjit

#: Points binned per step by the chunked kernels: two int64 bin buffers of this length stay in
#: L1 cache, and the binning loop over a chunk compiles to SIMD code.
CHUNK = 1024


@ngjit
def _settled_bin(u: float, lo: float, res: float, n: int) -> int:
    """Exact bin of ``u`` along the edges ``lo + res * i`` (``i = 0..n``), or -1 (scalar path)."""
    if not (u >= lo and u <= lo + res * n):  # also rejects NaN
        return -1
    i = max(min(int((u - lo) / res), n - 1), 0)
    while i > 0 and u < lo + res * i:
        i -= 1
    while i < n - 1 and u >= lo + res * (i + 1):
        i += 1
    return i


#: Grids with ``max(|lo|, |hi|) / res + n`` below this bound bin by the SIMD estimate (see
#: :func:`estimate_is_one_off`); others by the exact scalar loop.
ESTIMATE_BOUND = 2.0**40


@ngjit
def estimate_is_one_off(lo: float, res: float, n: int) -> bool:
    """Whether the float64 estimate ``(u - lo) * n / (hi - lo)`` is within one cell of every bin.

    With ``M = max(|lo|, |lo + res * n|)``, each computed edge is within ``2**-51 * M`` of its
    exact value, and the estimate (one subtraction, one product by the rounded ``n / (hi - lo)``)
    within ``2**-50 * (n + M / res)`` cells of the exact position of ``u``; below
    :data:`ESTIMATE_BOUND` (2**40) that is under 2**-9 cells, so the estimate is off by at most
    one cell, which the two edge comparisons of the SIMD loop settle.
    """
    hi = lo + res * n
    return res > 0.0 and hi > lo and max(abs(lo), abs(hi)) / res + n < ESTIMATE_BOUND


@ngjit
def _inverse_res(lo: float, res: float, n: int) -> float:
    """Cells per coordinate unit for the estimate."""
    return n / ((lo + res * n) - lo)


@ngjit
def _estimate_bin(u: float, lo: float, res: float, inv: float, n: int) -> int:
    """Branch-free bin of ``u`` (-1 outside or NaN), exact when :func:`estimate_is_one_off`.

    The estimate ``(u - lo) * inv`` moves by one cell if it sits on the wrong side of one of
    the two edges around it. Inlined into SIMD loops.
    """
    ok = (u >= lo) & (u <= lo + res * n)
    f = (u - lo) * inv if ok else 0.0
    i = min(int(f), n - 1)
    i = i - ((u < lo + res * i) & (i > 0)) + ((u >= lo + res * (i + 1)) & (i < n - 1))
    return i if ok else -1


@ngjit
def uniform_bins(v: np.ndarray, lo: float, res: float, n: int, out: np.ndarray) -> None:
    """Bin of every value of ``v`` along ``n`` uniform cells, or -1 outside (and for NaN).

    The cell edges are ``lo + res * i`` for ``i = 0..n``, computed in float64 exactly as
    :attr:`footgrid.grid.Grid.xedges` computes them, and a value belongs to the cell whose edges
    enclose it, ``[edge_i, edge_i+1)``, the last cell also taking ``edge_n``: the result equals
    ``numpy.searchsorted(edges, v, side="right") - 1`` with that last-edge rule, like
    ``numpy.histogram2d``.

    The estimate ``(v - lo) * n / (hi - lo)`` is settled on the two edges around it without
    branches, so the loop compiles to SIMD code (about 0.3 ns a value). That is exact when the
    estimate is at most one cell off, which :func:`estimate_is_one_off` guarantees for any grid
    whose coordinates, in cells, stay below 2**40 (a 1 m grid of the whole Earth is below
    2**26); beyond it, an exact scalar loop bins each value.

    Parameters
    ----------
    v
        Coordinates (float64).
    lo, res, n
        First edge, cell size and number of cells.
    out
        Integer array of at least ``v``'s length; its first ``len(v)`` items are written.
    """
    if estimate_is_one_off(lo, res, n):
        inv = _inverse_res(lo, res, n)
        for p in range(v.shape[0]):
            out[p] = _estimate_bin(v[p], lo, res, inv, n)
    else:
        for p in range(v.shape[0]):
            out[p] = _settled_bin(v[p], lo, res, n)


@ngjit
def chunk_bins(
    x: np.ndarray, y: np.ndarray, axes: tuple, col: np.ndarray, row_up: np.ndarray
) -> None:
    """:func:`uniform_bins` of ``x`` and ``y`` (a chunk of points) into ``col`` and ``row_up``.

    ``axes`` is ``(x0, dx, nx, y0, dy, ny)``: the edges ``x0 + dx * i`` and ``y0 + dy * j`` of
    ``Grid.xedges`` and ``Grid.yedges``. ``row_up`` counts rows from the bottom (-1 outside).
    """
    x0, dx, nx, y0, dy, ny = axes
    uniform_bins(x, x0, dx, nx, col)
    uniform_bins(y, y0, dy, ny, row_up)


@ngjit
def chunk_cells(
    x: np.ndarray, y: np.ndarray, axes: tuple, col: np.ndarray, row_up: np.ndarray, out: np.ndarray
) -> None:
    """Flat cell index of a chunk of points into ``out`` (-1 outside), via :func:`chunk_bins`.

    ``col`` and ``row_up`` are scratch of at least the chunk's length.
    """
    nx = axes[2]
    ny = axes[5]
    chunk_bins(x, y, axes, col, row_up)
    for p in range(x.shape[0]):
        i = col[p]
        j = row_up[p]
        out[p] = (ny - 1 - j) * nx + i if (i >= 0) & (j >= 0) else -1


@ngjit
def cell_index(x: np.ndarray, y: np.ndarray, axes: tuple) -> np.ndarray:
    """Flat cell index (``row * nx + col``) of every point, -1 outside the grid.

    Parameters
    ----------
    x, y
        Point coordinates in the grid CRS, float64.
    axes
        ``(x0, dx, nx, y0, dy, ny)``: left edge, cell width, columns, bottom edge, cell height,
        rows; the edges are ``x0 + dx * i`` and ``y0 + dy * j`` (``Grid.xedges``/``yedges``).

    Returns
    -------
    numpy.ndarray
        int64 array of flat indices into the (ny, nx) raster with rows from the top.
    """
    n = x.shape[0]
    out = np.empty(n, dtype=np.int64)
    bx = np.empty(CHUNK, dtype=np.int64)
    by = np.empty(CHUNK, dtype=np.int64)
    for a in range(0, n, CHUNK):
        m = min(CHUNK, n - a)
        chunk_cells(x[a : a + m], y[a : a + m], axes, bx, by, out[a : a + m])
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

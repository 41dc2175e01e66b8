"""One footprint block: a tile's points times their attribution coefficients.

A tile's points are first grouped by cell (``group_by_cell``, a stable counting sort, once per
tile); every block of that tile then walks the occupied cells in order, sums each cell's points
into a few registers (one per block column) and writes them side by side into ``out``
(cell-major, the store's chunk layout), which the caller keeps all-zero elsewhere. At 1 km
fewer than a fifth of a tile's cells hold points, and the points of a cell are contiguous, so
a block reads its inputs once, in order, and writes each occupied cell once (summing in input
order per cell, as a scatter-add would).
"""

from __future__ import annotations

import numpy as np

from footgrid.kernels.jit import ngjit


@ngjit
def group_by_cell(
    local: np.ndarray, key: np.ndarray, emission: np.ndarray, n_cells: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A tile's points grouped by cell (stable: input order kept inside a cell).

    Parameters
    ----------
    local
        Cell index inside the tile, per point (``0 <= local < n_cells``).
    key, emission
        Coefficient row and emission per point, carried along.
    n_cells
        Cells in the tile.

    Returns
    -------
    cells : numpy.ndarray
        The occupied cells, ascending (int64).
    starts : numpy.ndarray
        ``len(cells) + 1`` offsets: the points of ``cells[s]`` are ``starts[s]:starts[s+1]``.
    key, emission : numpy.ndarray
        The inputs in that order.
    """
    n = local.shape[0]
    cursor = np.zeros(n_cells, dtype=np.int64)
    for p in range(n):
        cursor[local[p]] += 1
    n_occ = 0
    for i in range(n_cells):
        if cursor[i] > 0:
            n_occ += 1
    cells = np.empty(n_occ, dtype=np.int64)
    starts = np.empty(n_occ + 1, dtype=np.int64)
    s = 0
    pos = 0
    for i in range(n_cells):
        c = cursor[i]
        if c > 0:
            cells[s] = i
            starts[s] = pos
            cursor[i] = pos
            pos += c
            s += 1
    starts[n_occ] = pos
    key_out = np.empty(n, dtype=key.dtype)
    emission_out = np.empty(n, dtype=emission.dtype)
    for p in range(n):
        q = cursor[local[p]]
        key_out[q] = key[p]
        emission_out[q] = emission[p]
        cursor[local[p]] = q + 1
    return cells, starts, key_out, emission_out


@ngjit
def attribute_block(
    cells: np.ndarray,
    starts: np.ndarray,
    key: np.ndarray,
    emission: np.ndarray,
    coef: np.ndarray,
    col0: int,
    width: int,
    out: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Footprint of one (consumer chunk × tile) block, accumulated in float64, cell-major.

    Column ``j`` of the block (``coef`` column ``col0 + j``, ``j < width``) is written to
    ``out[j // L, cell, j % L]`` with ``L = out.shape[2]``:
    ``Σ_p emission[p] * coef[key[p], col0 + j]`` over the points ``p`` of cell ``s``
    (``starts[s]:starts[s+1]``); points with ``key[p] < 0`` are skipped. Each ``out[g]`` is one
    store chunk's layers side by side per cell (the store's cell-major chunk layout), so a cell's
    values are written contiguously. Only the occupied cells of ``out`` are written: the caller
    passes ``out`` all-zero (and may zero it again with :func:`clear_cells`).

    Parameters
    ----------
    cells, starts, key, emission
        A tile's points grouped by cell (:func:`group_by_cell`).
    coef
        (n_keys, n_columns) coefficients: the columns are consumer × category, flattened.
    col0
        The block's first column in ``coef``.
    width
        The block's columns (``<= out.shape[0] * out.shape[2]``).
    out
        (groups, n_cells, L) output (float32 or float64), zero on entry.

    Returns
    -------
    sums, abs_sums : numpy.ndarray
        Per column, the float64 total and the total of absolute cell values (zero means the
        column's raster is all zeros).
    """
    n_groups, _, group = out.shape
    if width > n_groups * group:
        raise ValueError("attribute_block: out has fewer columns than width")
    acc = np.zeros(width, dtype=np.float64)
    sums = np.zeros(width, dtype=np.float64)
    abs_sums = np.zeros(width, dtype=np.float64)
    for s in range(cells.shape[0]):
        acc[:] = 0.0
        # Slices, not range(starts[s], ...): loops over range(len) index without wrap-around
        # tests and compile to SIMD code (about 25 % faster here).
        ks = key[starts[s] : starts[s + 1]]
        es = emission[starts[s] : starts[s + 1]]
        for p in range(ks.shape[0]):
            k = ks[p]
            if k < 0:
                continue
            e = es[p]
            row = coef[k, col0 : col0 + width]
            for j in range(width):
                acc[j] += e * row[j]
        c = cells[s]
        for g in range(n_groups):
            j0 = g * group
            n = min(group, width - j0)
            dst = out[g, c]
            for jj in range(n):
                v = acc[j0 + jj]
                dst[jj] = v
                sums[j0 + jj] += v
                abs_sums[j0 + jj] += abs(v)
    return sums, abs_sums


@ngjit
def emission_block(
    cells: np.ndarray, starts: np.ndarray, emission: np.ndarray, out: np.ndarray
) -> float:
    """``out[cells[s]] = Σ emission[starts[s]:starts[s+1]]`` (float64 sums); returns the total.

    ``out`` (flat, float32 or float64) is zero on entry; only occupied cells are written.
    """
    total = 0.0
    for s in range(cells.shape[0]):
        acc = 0.0
        es = emission[starts[s] : starts[s + 1]]
        for p in range(es.shape[0]):
            acc += es[p]
        out[cells[s]] = acc
        total += acc
    return total


@ngjit
def clear_cells(out: np.ndarray, cells: np.ndarray) -> None:
    """``out[:, cells, :] = 0`` for a (groups, n_cells, L) block: all-zero again after the
    kernels above (the emission raster is the block of shape (1, n_cells, 1))."""
    for g in range(out.shape[0]):
        for s in range(cells.shape[0]):
            dst = out[g, cells[s]]
            for j in range(dst.shape[0]):
                dst[j] = 0

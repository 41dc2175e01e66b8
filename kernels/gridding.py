"""Fused gridding kernels: points -> block-ordered (cell, value) -> raster, in three passes.

The same arithmetic as ``cell_index`` + a stable partition by square block + a scatter-add per
block, fused so that each pass reads its inputs once and writes only what the next pass needs.
Every kernel works on the arrays it is given (the caller passes each thread its own slices:
loops over ``range(len)`` compile to SIMD code, loops over ``range(start, stop)`` do not, as
Numba cannot prove such an index non-negative).

Points travel between the passes as one integer *key*: ``block << 16 | row_in_block << 8 |
col_in_block`` (blocks at most 256 cells on a side), so the block and the cell inside it are
shifts and masks away. Because the partition is stable and every cell lies in exactly one block,
each cell receives its points in input order: the result is bitwise equal to a direct
``out[cell[p]] += value[p]`` in input order.
"""

from __future__ import annotations

import numpy as np

from footgrid.kernels.binning import (
    CHUNK,
    _estimate_bin,
    _inverse_res,
    chunk_bins,
    chunk_cells,
    estimate_is_one_off,
)
from footgrid.kernels.jit import ngjit

#: Largest block edge the key holds (8 bits for the row and 8 for the column inside a block).
MAX_BLOCK = 256


@ngjit
def _key(col: int, j: int, ny: int, shift: int, n_blocks_x: int) -> int:
    """Key of the cell at column ``col`` and ascending bin ``j`` (-1 if either is -1)."""
    row = ny - 1 - j
    mask = (1 << shift) - 1
    v = ((((row >> shift) * n_blocks_x + (col >> shift)) << 16)
         | ((row & mask) << 8) | (col & mask))  # fmt: skip
    return v if (col >= 0) & (j >= 0) else -1


@ngjit
def block_keys(
    x: np.ndarray,
    y: np.ndarray,
    axes: tuple,
    shift: int,
    n_blocks_x: int,
    key: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Pass 1: the key of every point (-1 outside the grid or NaN) and the points per block.

    Parameters
    ----------
    x, y
        Point coordinates in the grid CRS (float64).
    axes
        ``(x0, dx, nx, y0, dy, ny)``: the grid's left edge, cell width, columns, bottom edge,
        cell height and rows (edges ``x0 + dx * i``, as :func:`kernels.binning.chunk_bins`).
    shift
        log2 of the block edge (0..8).
    n_blocks_x
        Blocks per block row (``ceil(nx / 2**shift)``).
    key
        Output, one per point (int32 when ``n_blocks < 2**15``, else int64).
    counts
        Points per block, incremented.
    """
    x0, dx, nx, y0, dy, ny = axes
    n = x.shape[0]
    # Grids past the estimate's bound (none in practice) go through the exact scalar binning.
    simd = estimate_is_one_off(x0, dx, nx) and estimate_is_one_off(y0, dy, ny)
    inv_x = _inverse_res(x0, dx, nx) if simd else 0.0
    inv_y = _inverse_res(y0, dy, ny) if simd else 0.0
    bx = np.empty(CHUNK, dtype=np.int64)
    by = np.empty(CHUNK, dtype=np.int64)
    for a in range(0, n, CHUNK):
        m = min(CHUNK, n - a)
        xs = x[a : a + m]
        ys = y[a : a + m]
        k = key[a : a + m]
        if simd:
            for p in range(m):
                col = _estimate_bin(xs[p], x0, dx, inv_x, nx)
                j = _estimate_bin(ys[p], y0, dy, inv_y, ny)
                k[p] = _key(col, j, ny, shift, n_blocks_x)
        else:
            chunk_bins(xs, ys, axes, bx, by)
            for p in range(m):
                k[p] = _key(bx[p], by[p], ny, shift, n_blocks_x)
        for p in range(m):
            v = k[p]
            if v >= 0:
                counts[v >> 16] += 1


@ngjit
def place_by_block(
    key: np.ndarray,
    values: np.ndarray,
    fill: np.ndarray,
    sorted_local: np.ndarray,
    sorted_value: np.ndarray,
) -> None:
    """Pass 2: stable counting-sort placement of points by block.

    ``fill[b]`` is where the next point of block ``b`` goes (advanced in place); the caller
    computes it from the per-range counts so that ranges keep their input order. Writes the
    cell inside the block (``row << 8 | col``, uint16) and the value of each point.
    """
    for p in range(key.shape[0]):
        k = key[p]
        if k < 0:
            continue
        b = k >> 16
        j = np.uint64(fill[b])
        sorted_local[j] = k & 0xFFFF
        sorted_value[j] = values[p]
        fill[b] = j + np.uint64(1)


@ngjit
def add_blocks(
    sorted_local: np.ndarray,
    sorted_value: np.ndarray,
    offsets: np.ndarray,
    first: int,
    last: int,
    shift: int,
    n_blocks_x: int,
    nx: int,
    ny: int,
    out: np.ndarray,
) -> float:
    """Pass 3: add the sorted points of blocks ``[first, last)`` into the flat raster ``out``.

    A block's points touch only its cells, so disjoint block ranges can run on threads without
    races. Each block with points is first read row by row (one value per cache line), so that
    the hardware prefetcher streams it into cache instead of the points' random first touches
    waiting for memory once per line. Returns the sum of the values read that way (so that the
    compiler keeps the reads); callers ignore it.
    """
    size = 1 << shift
    unx = np.uint64(nx)
    u8 = np.uint64(8)
    u255 = np.uint64(255)
    sink = 0.0
    for b in range(first, last):
        s = offsets[b]
        e = offsets[b + 1]
        if e == s:
            continue
        r0 = (b // n_blocks_x) << shift
        c0 = (b % n_blocks_x) << shift
        rows = min(size, ny - r0)
        cols = min(size, nx - c0)
        for r in range(rows):
            line = out[(r0 + r) * nx + c0 : (r0 + r) * nx + c0 + cols]
            for c in range(0, cols, 8):
                sink += line[c]
        block = out[r0 * nx + c0 :]
        local = sorted_local[s:e]
        value = sorted_value[s:e]
        for k in range(local.shape[0]):
            cell = np.uint64(local[k])
            block[(cell >> u8) * unx + (cell & u255)] += value[k]
    return sink


@ngjit
def overwrite_blocks(
    sorted_local: np.ndarray,
    sorted_value: np.ndarray,
    offsets: np.ndarray,
    first: int,
    last: int,
    shift: int,
    n_blocks_x: int,
    nx: int,
    ny: int,
    out: np.ndarray,
    buf: np.ndarray,
) -> None:
    """Pass 3, overwriting: blocks ``[first, last)`` of ``out`` become the sums of their points.

    Each block is summed in ``buf`` (float64, at least ``(block - 1) * 256 + block`` items,
    which stay in cache), zeroed then added to, and copied into ``out`` row by row, so the
    raster is written once and never read; blocks without points become zeros.
    """
    size = 1 << shift
    for b in range(first, last):
        s = offsets[b]
        e = offsets[b + 1]
        r0 = (b // n_blocks_x) << shift
        c0 = (b % n_blocks_x) << shift
        rows = min(size, ny - r0)
        cols = min(size, nx - c0)
        for r in range(rows):
            buf[r << 8 : (r << 8) + cols] = 0.0
        local = sorted_local[s:e]
        value = sorted_value[s:e]
        for k in range(local.shape[0]):
            buf[np.uint64(local[k])] += value[k]
        for r in range(rows):
            o = (r0 + r) * nx + c0
            out[o : o + cols] = buf[r << 8 : (r << 8) + cols]


@ngjit
def bin_and_scatter(
    x: np.ndarray, y: np.ndarray, values: np.ndarray, axes: tuple, out: np.ndarray
) -> int:
    """One pass for rasters small enough to stay in cache: bin every point, add its value.

    ``axes`` as :func:`block_keys`; ``out`` is the flat (ny * nx) float64 raster, rows from the
    top. Returns the number of points that fell outside the grid (or had NaN coordinates) and
    were skipped.
    """
    n = x.shape[0]
    bx = np.empty(CHUNK, dtype=np.int64)
    by = np.empty(CHUNK, dtype=np.int64)
    cells = np.empty(CHUNK, dtype=np.int64)
    skipped = 0
    for a in range(0, n, CHUNK):
        m = min(CHUNK, n - a)
        chunk_cells(x[a : a + m], y[a : a + m], axes, bx, by, cells)
        v = values[a : a + m]
        for p in range(m):
            c = cells[p]
            if c < 0:
                skipped += 1
            else:
                out[np.uint64(c)] += v[p]
    return skipped

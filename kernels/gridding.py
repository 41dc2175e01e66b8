"""Fused gridding kernels: points -> tile-ordered (cell, value) -> raster, in three passes.

The same arithmetic as ``cell_index`` + partition by tile + per-tile ``scatter_add`` (the
pipeline's emission tiles), fused so that each pass reads its inputs once and writes only what
the next pass needs. Every kernel works on a range of points or tiles, so that the caller can run
disjoint ranges on threads (the GIL is released).

Because the partition is stable and every cell lies in exactly one tile, each cell receives its
points in input order whichever path is taken: the tiled result is bitwise equal to a direct
``out[cell[p]] += value[p]`` in input order.
"""

from __future__ import annotations

import numpy as np

from kernels.binning import _bin
from kernels.jit import ngjit


@ngjit
def bin_and_count(
    x: np.ndarray,
    y: np.ndarray,
    xedges: np.ndarray,
    yedges: np.ndarray,
    tile_of_col: np.ndarray,
    tile_of_row: np.ndarray,
    start: int,
    stop: int,
    cell: np.ndarray,
    tile: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Pass 1 over points ``[start, stop)``: flat cell index, tile id and points per tile.

    Parameters
    ----------
    x, y
        Point coordinates in the grid CRS (float64).
    xedges, yedges
        Ascending cell edges (``nx + 1`` and ``ny + 1`` values).
    tile_of_col, tile_of_row
        Tile column of every grid column and ``tile row * n_tiles_x`` of every grid row
        (lookup tables: no integer division per point).
    start, stop
        The range of points this call handles.
    cell, tile
        Outputs, full length: flat cell index (``row * nx + col``, rows from the top) and tile
        id of each point; both -1 outside the grid.
    counts
        ``n_tiles`` counters of this range, incremented.
    """
    nx = xedges.shape[0] - 1
    ny = yedges.shape[0] - 1
    inv_rx = nx / (xedges[nx] - xedges[0])
    inv_ry = ny / (yedges[ny] - yedges[0])
    for p in range(start, stop):
        col = _bin(x[p], xedges, inv_rx)
        row = _bin(y[p], yedges, inv_ry)
        if col < 0 or row < 0:
            cell[p] = -1
            tile[p] = -1
            continue
        row = ny - 1 - row
        t = tile_of_row[row] + tile_of_col[col]
        cell[p] = row * nx + col
        tile[p] = t
        counts[t] += 1


@ngjit
def place_by_tile(
    cell: np.ndarray,
    tile: np.ndarray,
    values: np.ndarray,
    start: int,
    stop: int,
    fill: np.ndarray,
    sorted_cell: np.ndarray,
    sorted_value: np.ndarray,
) -> None:
    """Pass 2 over points ``[start, stop)``: stable counting-sort placement by tile.

    ``fill[t]`` is where this range's next point of tile ``t`` goes (advanced in place); the
    caller computes it from the per-range counts so that ranges keep their input order.
    """
    for p in range(start, stop):
        t = tile[p]
        if t < 0:
            continue
        k = fill[t]
        sorted_cell[k] = cell[p]
        sorted_value[k] = values[p]
        fill[t] = k + 1


@ngjit
def scatter_range(
    sorted_cell: np.ndarray, sorted_value: np.ndarray, start: int, stop: int, out: np.ndarray
) -> None:
    """Pass 3: ``out[sorted_cell[k]] += sorted_value[k]`` for ``k`` in ``[start, stop)``.

    Called on whole tiles: the points of a tile touch only that tile's cells, so disjoint tile
    ranges can run on threads without races, and a tile's cells stay in cache.
    """
    for k in range(start, stop):
        out[sorted_cell[k]] += sorted_value[k]


@ngjit
def bin_and_scatter(
    x: np.ndarray,
    y: np.ndarray,
    values: np.ndarray,
    xedges: np.ndarray,
    yedges: np.ndarray,
    out: np.ndarray,
) -> int:
    """One pass for rasters small enough to stay in cache: bin every point, add its value.

    ``out`` is the flat (ny * nx) float64 raster, rows from the top. Returns the number of
    points that fell outside the grid (or had NaN coordinates) and were skipped.
    """
    nx = xedges.shape[0] - 1
    ny = yedges.shape[0] - 1
    inv_rx = nx / (xedges[nx] - xedges[0])
    inv_ry = ny / (yedges[ny] - yedges[0])
    skipped = 0
    for p in range(x.shape[0]):
        col = _bin(x[p], xedges, inv_rx)
        row = _bin(y[p], yedges, inv_ry)
        if col < 0 or row < 0:
            skipped += 1
            continue
        out[(ny - 1 - row) * nx + col] += values[p]
    return skipped

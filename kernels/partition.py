"""Stable counting sort of points by tile."""

from __future__ import annotations

import numpy as np

from kernels.jit import ngjit


@ngjit
def partition_by_tile(
    cell: np.ndarray, nx: int, tile_y: int, tile_x: int, n_tiles_x: int, n_tiles: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group points by tile with a stable counting sort.

    Parameters
    ----------
    cell
        Flat cell index per point (``row * nx + col``); negative means "skip".
    nx
        Grid width in cells.
    tile_y, tile_x
        Tile edge in cells along y and x.
    n_tiles_x, n_tiles
        Tiles along x, and in all.

    Returns
    -------
    order : numpy.ndarray
        Indices of the kept points, grouped by tile, input order kept inside a tile.
    offsets : numpy.ndarray
        ``n_tiles + 1`` offsets: tile ``t`` holds ``order[offsets[t]:offsets[t + 1]]``.
    local : numpy.ndarray
        Per entry of ``order``, the flat cell index inside its tile (``r * width + c``, where
        ``width`` is the tile's own width: tiles on the right edge may be narrower).
    """
    n = cell.shape[0]
    tile_of = np.empty(n, dtype=np.int64)
    counts = np.zeros(n_tiles + 1, dtype=np.int64)
    for p in range(n):
        c = cell[p]
        if c < 0:
            tile_of[p] = -1
            continue
        row = c // nx
        col = c - row * nx
        t = (row // tile_y) * n_tiles_x + col // tile_x
        tile_of[p] = t
        counts[t + 1] += 1
    for t in range(n_tiles):
        counts[t + 1] += counts[t]
    offsets = counts.copy()
    order = np.empty(offsets[n_tiles], dtype=np.int64)
    local = np.empty(offsets[n_tiles], dtype=np.int64)
    fill = offsets[:n_tiles].copy()
    for p in range(n):
        t = tile_of[p]
        if t < 0:
            continue
        c = cell[p]
        row = c // nx
        col = c - row * nx
        k = fill[t]
        order[k] = p
        c0 = (col // tile_x) * tile_x
        width = min(tile_x, nx - c0)
        local[k] = (row % tile_y) * width + (col - c0)
        fill[t] = k + 1
    return order, offsets, local

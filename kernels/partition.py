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


@ngjit
def count_tiles(
    cell: np.ndarray,
    nx: int,
    tile_y: int,
    tile_x: int,
    n_tiles_x: int,
    start: int,
    stop: int,
    tile_of: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Pass 1 of the threaded partition, over points ``[start, stop)``.

    Writes each point's tile id into ``tile_of`` (-1 where ``cell`` is negative) and counts
    the points per tile of this range into ``counts``.
    """
    for p in range(start, stop):
        c = cell[p]
        if c < 0:
            tile_of[p] = -1
            continue
        row = c // nx
        col = c - row * nx
        t = (row // tile_y) * n_tiles_x + col // tile_x
        tile_of[p] = t
        counts[t] += 1


@ngjit
def place_points(
    cell: np.ndarray,
    tile_of: np.ndarray,
    key: np.ndarray,
    emission: np.ndarray,
    nx: int,
    tile_y: int,
    tile_x: int,
    start: int,
    stop: int,
    fill: np.ndarray,
    local: np.ndarray,
    key_out: np.ndarray,
    emission_out: np.ndarray,
) -> None:
    """Pass 2 of the threaded partition: place points ``[start, stop)`` at ``fill[tile]``.

    Writes the local cell index (as :func:`partition_by_tile`), the key and the emission of each
    point at its sorted position; ``fill`` (this range's next slot per tile) is advanced. With
    ``fill`` from the per-range counts (tile-major, then range order), the result is the stable
    order of :func:`partition_by_tile`.
    """
    for p in range(start, stop):
        t = tile_of[p]
        if t < 0:
            continue
        c = cell[p]
        row = c // nx
        col = c - row * nx
        k = fill[t]
        c0 = (col // tile_x) * tile_x
        width = min(tile_x, nx - c0)
        local[k] = (row % tile_y) * width + (col - c0)
        key_out[k] = key[p]
        emission_out[k] = emission[p]
        fill[t] = k + 1

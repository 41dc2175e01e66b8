"""Stable counting sort of points by tile."""

from __future__ import annotations

import numpy as np

from footgrid.kernels.jit import ngjit


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

    Writes the local cell index (``r * width + c`` inside the tile, where ``width`` is the tile's
    own width: tiles on the right edge may be narrower), the key and the emission of each point
    at its sorted position; ``fill`` (this range's next slot per tile) is advanced. With ``fill``
    from the per-range counts (tile-major, then range order), the order is stable: by tile, then
    input order.
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

"""One footprint block: a tile's points times their attribution coefficients.

A tile's points are first mapped to the tile's occupied cells (``occupied_cells``, once per
tile); every block of that tile then sums into a small float64 array of occupied cells × block
columns and scatters it into ``out``, which the caller keeps all-zero elsewhere. At 1 km fewer
than a fifth of a tile's cells hold points, so this touches a fraction of the memory a dense
(cells × columns) accumulator would.
"""

from __future__ import annotations

import numpy as np

from kernels.jit import ngjit


@ngjit
def occupied_cells(local: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """The cells of a tile that hold points, and each point's slot among them.

    Parameters
    ----------
    local
        Cell index inside the tile, per point (``0 <= local < n_cells``).
    n_cells
        Cells in the tile.

    Returns
    -------
    slot : numpy.ndarray
        Per point, the position of its cell in ``cells`` (int32).
    cells : numpy.ndarray
        The occupied cells, ascending (int64).
    """
    slot_of = np.full(n_cells, -1, dtype=np.int32)
    for p in range(local.shape[0]):
        slot_of[local[p]] = 0
    n_occ = 0
    for i in range(n_cells):
        if slot_of[i] == 0:
            n_occ += 1
    cells = np.empty(n_occ, dtype=np.int64)
    s = 0
    for i in range(n_cells):
        if slot_of[i] == 0:
            cells[s] = i
            slot_of[i] = s
            s += 1
    slot = np.empty(local.shape[0], dtype=np.int32)
    for p in range(local.shape[0]):
        slot[p] = slot_of[local[p]]
    return slot, cells


@ngjit
def attribute_block(
    slot: np.ndarray,
    cells: np.ndarray,
    key: np.ndarray,
    emission: np.ndarray,
    coef: np.ndarray,
    col0: int,
    out: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Footprint of one (consumer chunk × tile) block, accumulated in float64.

    ``out[j, cells[slot[p]]] = Σ_p emission[p] * coef[key[p], col0 + j]`` for ``j`` in
    ``range(out.shape[0])``; points with ``key[p] < 0`` are skipped. Only the occupied cells
    of ``out`` are written: the caller passes ``out`` all-zero (and may zero it again with
    :func:`clear_cells`).

    Parameters
    ----------
    slot, cells
        From :func:`occupied_cells` of the tile's points.
    key
        Coefficient row per point (one row per producing region × inventory sector).
    emission
        Emission per point (t/yr).
    coef
        (n_keys, n_columns) coefficients: the columns are consumer × category, flattened.
    col0
        The block's first column in ``coef``.
    out
        (width, n_cells) output (float32 or float64), zero on entry.

    Returns
    -------
    sums, abs_sums : numpy.ndarray
        Per column, the float64 total and the total of absolute cell values (zero means the
        column's raster is all zeros).
    """
    width = out.shape[0]
    acc = np.zeros((cells.shape[0], width), dtype=np.float64)
    for p in range(slot.shape[0]):
        k = key[p]
        if k < 0:
            continue
        e = emission[p]
        s = slot[p]
        for j in range(width):
            acc[s, j] += e * coef[k, col0 + j]
    sums = np.zeros(width, dtype=np.float64)
    abs_sums = np.zeros(width, dtype=np.float64)
    for s in range(cells.shape[0]):
        c = cells[s]
        for j in range(width):
            v = acc[s, j]
            out[j, c] = v
            sums[j] += v
            abs_sums[j] += abs(v)
    return sums, abs_sums


@ngjit
def emission_block(
    slot: np.ndarray, cells: np.ndarray, emission: np.ndarray, out: np.ndarray
) -> float:
    """``out[cells[slot[p]]] = Σ_p emission[p]`` (float64 sums); returns the block total.

    ``out`` (flat, float32 or float64) is zero on entry; only occupied cells are written.
    """
    acc = np.zeros(cells.shape[0], dtype=np.float64)
    for p in range(slot.shape[0]):
        acc[slot[p]] += emission[p]
    total = 0.0
    for s in range(cells.shape[0]):
        out[cells[s]] = acc[s]
        total += acc[s]
    return total


@ngjit
def clear_cells(out: np.ndarray, cells: np.ndarray) -> None:
    """``out[:, cells] = 0``: makes a block written by the kernels above all-zero again."""
    for j in range(out.shape[0]):
        for s in range(cells.shape[0]):
            out[j, cells[s]] = 0

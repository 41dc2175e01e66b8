"""One footprint block: a tile's points times their attribution coefficients."""

from __future__ import annotations

import numpy as np

from kernels.jit import ngjit


@ngjit
def attribute_block(
    local: np.ndarray,
    key: np.ndarray,
    emission: np.ndarray,
    coef: np.ndarray,
    col0: int,
    col1: int,
    n_cells: int,
) -> np.ndarray:
    """Footprint of one (consumer chunk × tile) block, accumulated in float64.

    ``out[local[p], j] += emission[p] * coef[key[p], col0 + j]`` for ``j`` in
    ``range(col1 - col0)``; points with ``key[p] < 0`` are skipped.

    Parameters
    ----------
    local
        Cell index inside the tile, per point.
    key
        Coefficient row per point (one row per producing region × inventory sector).
    emission
        Emission per point (t/yr).
    coef
        (n_keys, n_columns) coefficients: the columns are consumer × category, flattened.
    col0, col1
        The block's column range in ``coef``.
    n_cells
        Cells in the tile.

    Returns
    -------
    numpy.ndarray
        (n_cells, col1 - col0) float64, cell-major so that the inner loop is contiguous.
    """
    width = col1 - col0
    out = np.zeros((n_cells, width), dtype=np.float64)
    for p in range(local.shape[0]):
        k = key[p]
        if k < 0:
            continue
        e = emission[p]
        i = local[p]
        for j in range(width):
            out[i, j] += e * coef[k, col0 + j]
    return out

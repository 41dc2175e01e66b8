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
    out: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Footprint of one (consumer chunk × tile) block, accumulated in float64.

    ``out[j, local[p]] = Σ_p emission[p] * coef[key[p], col0 + j]`` for ``j`` in
    ``range(out.shape[0])``; points with ``key[p] < 0`` are skipped. The sums run in a float64
    scratch laid out cell-major (the inner loop over columns is contiguous) and are cast into
    ``out`` (float32 or float64) at the end.

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
    col0
        The block's first column in ``coef``.
    out
        (width, n_cells) output, overwritten.

    Returns
    -------
    sums, abs_sums : numpy.ndarray
        Per column, the float64 total and the total of absolute cell values (zero means the
        column's raster is all zeros).
    """
    width, n_cells = out.shape
    acc = np.zeros((n_cells, width), dtype=np.float64)
    for p in range(local.shape[0]):
        k = key[p]
        if k < 0:
            continue
        e = emission[p]
        i = local[p]
        for j in range(width):
            acc[i, j] += e * coef[k, col0 + j]
    sums = np.zeros(width, dtype=np.float64)
    abs_sums = np.zeros(width, dtype=np.float64)
    for i in range(n_cells):
        for j in range(width):
            v = acc[i, j]
            out[j, i] = v
            sums[j] += v
            abs_sums[j] += abs(v)
    return sums, abs_sums

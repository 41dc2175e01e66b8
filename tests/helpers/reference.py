"""Scatter-add of point values into a float64 raster; a negative index means "skip"."""

from __future__ import annotations

import numpy as np

from footgrid.kernels.jit import ngjit


@ngjit
def scatter_add(index: np.ndarray, values: np.ndarray, out: np.ndarray) -> None:
    """``out[index[p]] += values[p]`` for every ``index[p] >= 0`` (``out`` flat, float64)."""
    for p in range(index.shape[0]):
        i = index[p]
        if i >= 0:
            out[i] += values[p]


@ngjit
def scatter_add_by_class(
    index: np.ndarray, klass: np.ndarray, values: np.ndarray, out: np.ndarray
) -> None:
    """``out[klass[p], index[p]] += values[p]``; skips points with a negative index or class.

    ``out`` has shape (n_classes, n_cells), float64.
    """
    for p in range(index.shape[0]):
        i = index[p]
        k = klass[p]
        if i >= 0 and k >= 0:
            out[k, i] += values[p]

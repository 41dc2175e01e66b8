"""Region polygons: read them, assign MRIO regions to points, and rasterise the territory.

Polygons come from any vector format GDAL reads through pyogrio (GeoPackage, GeoJSON,
Shapefile, ...) or from GeoParquet (``.parquet`` / ``.geoparquet``). ``field`` names the
attribute holding the MRIO region label; labels are compared as text.

Point-in-polygon is vectorised with a shapely STRtree (``predicate="intersects"``, so points on
a boundary are inside). A point on the shared edge of two polygons takes the label of the first
polygon in file order. Points in no polygon (or with NaN coordinates) get ``None``; the pipeline
drops them under their own reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import geopandas
import numpy as np
import pyproj
import rasterio.features
import shapely

from footgrid.errors import InputError

#: Points are tested in blocks of this many, bounding the memory of shapely point objects.
BLOCK = 1_000_000


def read_polygons(
    path: str | os.PathLike[str], field: str, *, option: str = "regions"
) -> geopandas.GeoDataFrame:
    """Read a polygon layer and check its label field.

    Parameters
    ----------
    path
        Vector file (GeoPackage, GeoJSON, Shapefile, ... via pyogrio; GeoParquet by suffix).
    field
        Attribute naming each polygon (the MRIO region for ``[regions]``, a zone otherwise).
    option
        Where the path and field came from, for the error messages: ``"regions"`` (the
        config's ``[regions]`` section) or ``"polygons"`` (the ``--polygons/--field`` options).

    Returns
    -------
    geopandas.GeoDataFrame
        The polygons (non-empty geometries only) with ``field`` as text.

    Raises
    ------
    InputError
        Missing or unreadable file, missing field (listing the fields present), no CRS, empty
        labels, or non-polygon geometries.
    """
    path = Path(path)
    cli = option != "regions"
    path_key, field_key = (None, None) if cli else ("regions.path", "regions.field")
    if not path.exists():
        raise InputError(
            "the polygon file does not exist",
            file=path,
            key=path_key,
            fix=("check --polygons" if cli else "point [regions] path")
            + " at a GeoPackage, GeoJSON, Shapefile or GeoParquet file",
        )
    try:
        if path.suffix.lower() in (".parquet", ".geoparquet"):
            gdf = geopandas.read_parquet(path)
        else:
            gdf = geopandas.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio / pyarrow raise many types
        raise InputError(
            f"cannot read region polygons: {type(exc).__name__}: {exc}",
            file=path,
            key=path_key,
            fix="give a vector file GDAL can read, or GeoParquet",
        ) from exc
    if field == gdf.geometry.name or field not in gdf.columns:
        present = [c for c in gdf.columns if c != gdf.geometry.name]
        what = (
            f"{field!r} is the polygons' geometry column, not a label field"
            if field == gdf.geometry.name
            else f"the polygons have no field {field!r}"
        )
        raise InputError(
            f"{what}; fields present: {', '.join(map(str, present)) or 'none'}",
            file=path,
            column=field,
            key=field_key,
            fix="pass --field with one of the listed fields"
            if cli
            else "set [regions] field to the attribute holding the MRIO region label",
        )
    if gdf.crs is None:
        raise InputError(
            "region polygons have no CRS",
            file=path,
            fix="write the file with its coordinate reference system (e.g. ogr2ogr -a_srs)",
        )
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)].reset_index(drop=True)
    if gdf.empty:
        raise InputError(
            "the polygon layer has no polygon (it is empty, or every geometry is empty)",
            file=path,
            key=path_key,
            fix="check that the file holds the layer of regions, with geometries",
        )
    kinds = set(gdf.geometry.geom_type.unique())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise InputError(
            f"region file holds non-polygon geometries ({', '.join(sorted(kinds))})",
            file=path,
            fix="use a polygon layer",
        )
    labels = gdf[field]
    missing = labels.isna().to_numpy() | (labels.astype(str).str.strip() == "").to_numpy()
    if missing.any():
        raise InputError(
            f"{int(missing.sum())} region polygons have no {field!r} label",
            file=path,
            column=field,
            row=[int(i) for i in np.flatnonzero(missing)],
            fix="give every polygon a region label, or remove unlabelled polygons",
        )
    gdf[field] = labels.astype(str)
    return gdf


def assign_regions(
    x: np.ndarray,
    y: np.ndarray,
    crs: Any,
    polygons: geopandas.GeoDataFrame,
    field: str,
) -> np.ndarray:
    """Label each point with the region of the polygon containing it.

    Parameters
    ----------
    x, y
        (N,) point coordinates in ``crs``.
    crs
        CRS of the points (anything :class:`pyproj.CRS` accepts).
    polygons
        From :func:`read_polygons`; reprojected to ``crs`` here when they differ.
    field
        The label attribute.

    Returns
    -------
    numpy.ndarray
        (N,) object array of region labels (str), ``None`` where a point is in no polygon.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    out = np.full(x.shape[0], None, dtype=object)
    if len(polygons) == 0 or x.size == 0:
        return out
    point_crs = pyproj.CRS.from_user_input(crs)
    polys = polygons if polygons.crs == point_crs else polygons.to_crs(point_crs)
    labels = polys[field].astype(str).to_numpy(dtype=object)
    tree = shapely.STRtree(np.asarray(polys.geometry.values))
    for start in range(0, x.size, BLOCK):
        stop = min(start + BLOCK, x.size)
        pts = shapely.points(x[start:stop], y[start:stop])
        pidx, gidx = tree.query(pts, predicate="intersects")
        if pidx.size == 0:
            continue
        # Several hits (shared boundaries, overlaps): the first polygon in file order wins.
        order = np.lexsort((gidx, pidx))
        pidx, gidx = pidx[order], gidx[order]
        first = np.flatnonzero(np.r_[True, pidx[1:] != pidx[:-1]])
        out[start + pidx[first]] = labels[gidx[first]]
    return out


def territory_mask(grid: Any, polygons: geopandas.GeoDataFrame) -> np.ndarray:
    """Cells whose centre lies inside any polygon, (ny, nx) bool.

    Parameters
    ----------
    grid
        The output grid (uses ``grid.crs``, ``grid.transform``, ``grid.shape``).
    polygons
        Region polygons in any CRS; reprojected to ``grid.crs``.

    Returns
    -------
    numpy.ndarray
        (ny, nx) bool, rasterised with :func:`rasterio.features.rasterize` (cell-centre rule).
    """
    shape = tuple(int(s) for s in grid.shape)
    if len(polygons) == 0:
        return np.zeros(shape, dtype=bool)
    polys = polygons.to_crs(pyproj.CRS.from_user_input(grid.crs))
    geoms = [g for g in polys.geometry.values if g is not None and not g.is_empty]
    if not geoms:
        return np.zeros(shape, dtype=bool)
    burned = rasterio.features.rasterize(
        ((g, 1) for g in geoms),
        out_shape=shape,
        transform=grid.transform,
        fill=0,
        all_touched=False,
        dtype="uint8",
    )
    return burned.astype(bool)

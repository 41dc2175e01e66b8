"""Gridded inventories (``[[rasters]]``): GeoTIFF, NetCDF and Zarr layers onto the grid.

Each source names a file (or glob), the inventory ``sector`` of its mass, and optionally a fixed
MRIO ``region``; without one, regions come from the ``[regions]`` polygons, split by area (see
:func:`region_split`). Readers: GeoTIFF with rasterio (``band``, 1-based), NetCDF (h5netcdf,
or scipy for NetCDF 3) and Zarr with xarray (``variable``; ``time`` picks one step of a 3-D
variable, by index or by label).

Units (the file's ``units`` attribute, or the ``units`` key):

==========================  ========================================================
``Tonnes``, ``t``, ``Mg``    tonnes per cell per year (EDGAR v8), as they are
``kg``                       kilograms per cell per year, / 1000
``kg m-2 s-1``               flux (older EDGAR): × the cell's area (m²) × seconds of the
                             year / 1000
``t km-2 yr-1``              × the cell's area in km²
==========================  ========================================================

Cell areas: lon/lat cells use the exact area of the ellipsoidal quadrangle between two
meridians and two parallels (closed form through the authalic latitude, the CRS's ellipsoid);
projected cells use :meth:`footgrid.grid.Grid.cell_area` (planar area over the areal scale).
The year has 365 days, or 366 when the selected time step is in a leap year.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyproj
from pandas.api.types import union_categoricals

from footgrid.errors import InputError
from footgrid.grid import Grid
from footgrid.io.points import Points, expand_paths
from footgrid.io.remap import overlap_weights, remap
from footgrid.ledger import Ledger

_SECONDS_DAY = 86_400.0
_MASS = {"tonnes": 1.0, "tonne": 1.0, "t": 1.0, "mg": 1.0, "ton": 1.0, "kg": 1e-3}
_FLUX = re.compile(r"^kg\s*(m-2|/m2|m\*\*-2|m\^-2)\s*(s-1|/s|s\*\*-1|s\^-1)$")
_AREAL = re.compile(r"^t\s*(km-2|/km2|km\*\*-2|km\^-2)\s*(yr-1|/yr|a-1|/a|year-1)$")


@dataclass
class Layer:
    """One source layer: masses in t per cell per year on a north-up source grid.

    ``nodata`` marks the cells holding the file's (or the config's) nodata value.
    """

    file: str
    index: int
    grid: Grid
    mass: np.ndarray
    sector: str
    region: str | None
    nodata: np.ndarray


def unit_kind(units: str) -> str | None:
    """``"mass"``, ``"flux"``, ``"areal"`` or None for a units text."""
    u = " ".join(units.strip().lower().split())
    if u in _MASS or u in ("tonnes/cell/year", "t/cell/yr", "tonnes per cell per year"):
        return "mass"
    if _FLUX.match(u):
        return "flux"
    if _AREAL.match(u):
        return "areal"
    return None


def lonlat_cell_area(grid: Grid) -> np.ndarray:
    """(ny,) area in m² of one cell of each row of a lon/lat grid, on the CRS's ellipsoid.

    ``a² Δλ (q(φ₂) − q(φ₁)) / 2`` with ``q`` the authalic function of the latitude (Snyder 1987,
    eq. 3-12): the exact area of the quadrangle between two meridians and two parallels.
    """
    ell = grid.crs.ellipsoid
    a = ell.semi_major_metre
    e2 = 1.0 - (ell.semi_minor_metre / a) ** 2
    e = np.sqrt(e2)

    def q(phi: np.ndarray) -> np.ndarray:
        s = np.sin(np.radians(phi))
        if e == 0:
            return 2 * s
        return (1 - e2) * (s / (1 - e2 * s * s) - np.log((1 - e * s) / (1 + e * s)) / (2 * e))

    top = np.clip(grid.ymax - grid.res_y * np.arange(grid.ny), -90, 90)
    bottom = np.clip(top - grid.res_y, -90, 90)
    return 0.5 * a * a * np.radians(grid.res_x) * (q(top) - q(bottom))


def source_cell_area(grid: Grid) -> np.ndarray:
    """(ny, nx) area in m² of each source cell."""
    if grid.crs.is_geographic:
        return np.broadcast_to(lonlat_cell_area(grid)[:, None], grid.shape)
    return grid.cell_area()


def to_tonnes(values: np.ndarray, units: str, grid: Grid, year: int | None) -> np.ndarray:
    """Source values in ``units`` as tonnes per cell per year (float64)."""
    kind = unit_kind(units)
    v = np.asarray(values, dtype=np.float64)
    if kind == "mass":
        u = " ".join(units.strip().lower().split())
        return v * _MASS.get(u, 1.0)
    days = 366.0 if year is not None and calendar.isleap(year) else 365.0
    area = source_cell_area(grid)
    if kind == "flux":
        return v * area * (days * _SECONDS_DAY) / 1000.0
    return v * area / 1e6


def read_layers(source: dict[str, Any], number: int) -> list[Layer]:
    """The layers of one ``[[rasters]]`` entry (one per file of its path or glob)."""
    key = f"rasters[{number}]"
    files = expand_paths(source["path"], key=f"{key}.path")
    return [_read_file(f, source, key, number) for f in files]


def _read_file(path: str, source: dict[str, Any], key: str, number: int) -> Layer:
    suffix = Path(path).suffix.lower()
    if suffix in (".tif", ".tiff"):
        values, grid, units, nodata, year = _read_geotiff(path, source, key)
    elif suffix in (".nc", ".nc4", ".cdf", ".zarr") or Path(path).is_dir():
        values, grid, units, nodata, year = _read_xarray(path, source, key)
    else:
        raise InputError(
            f"unsupported raster file type '{suffix}'",
            file=path,
            key=f"{key}.path",
            fix="give a GeoTIFF (.tif), NetCDF (.nc) or Zarr (.zarr) file",
        )
    units = source.get("units") or units
    if not units:
        raise InputError(
            "the raster's units cannot be read from the file",
            file=path,
            key=f"{key}.units",
            fix='set units = "Tonnes" (t per cell per year), "kg m-2 s-1" or "t km-2 yr-1"',
        )
    if unit_kind(units) is None:
        raise InputError(
            f"unknown raster units {units!r}",
            file=path,
            key=f"{key}.units",
            fix='set units to "Tonnes" (t per cell per year), "kg", "kg m-2 s-1" or "t km-2 yr-1"',
        )
    if source.get("nodata") is not None:
        nodata = source["nodata"]
    values = np.asarray(values, dtype=np.float64)
    mass = to_tonnes(values, units, grid, year)
    if nodata is None:
        nod = np.zeros(values.shape, dtype=bool)
    elif np.isnan(nodata):
        nod = np.isnan(values)
    else:
        nod = values == float(nodata)
    return Layer(path, number, grid, mass, str(source["sector"]), source.get("region"), nod)


def account(layer: Layer, ledger: Ledger) -> np.ndarray:
    """The layer's usable masses (flat, float64), its cells counted in ``ledger``.

    Every cell is an input; nodata cells are dropped under ``nodata`` (0 t), NaN/inf under
    ``non_finite`` (0 t), negative ones under ``negative_emission``; they are 0 in the result.
    """
    m = layer.mass.reshape(-1)
    nod = layer.nodata.reshape(-1)
    ok = ~nod
    ledger.add_input(np.where(nod, 0.0, m))
    ledger.drop_counted("nodata", int(nod.sum()), 0.0)
    bad = ok & ~np.isfinite(m)
    ledger.drop_counted("non_finite", int(bad.sum()), 0.0)
    neg = ok & (m < 0)
    ledger.drop("negative_emission", m[neg])
    return np.where(ok & ~bad & ~neg, m, 0.0)


def _crs(path: str, found: Any, source: dict[str, Any], key: str) -> pyproj.CRS:
    given = source.get("crs")
    try:
        if given is not None:
            return pyproj.CRS.from_user_input(given)
    except pyproj.exceptions.CRSError as exc:
        raise InputError(
            f"unknown CRS {given!r}: {exc}", file=path, key=f"{key}.crs",
            fix='give "EPSG:xxxx" or a PROJ string',
        ) from None  # fmt: skip
    if found is None:
        raise InputError(
            "the raster has no CRS",
            file=path,
            key=f"{key}.crs",
            fix='set crs = "EPSG:...." for this [[rasters]] entry',
        )
    return pyproj.CRS.from_user_input(found)


def _read_geotiff(path: str, source: dict[str, Any], key: str) -> tuple:
    import rasterio  # GeoTIFF sources only

    try:
        ds = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(
            f"cannot read the GeoTIFF: {exc}", file=path, key=f"{key}.path",
            fix="check that it is a complete, valid GeoTIFF",
        ) from None  # fmt: skip
    with ds:
        band = int(source.get("band") or 1)
        if not 1 <= band <= ds.count:
            raise InputError(
                f"the GeoTIFF has no band {band} (it has {ds.count})",
                file=path,
                key=f"{key}.band",
                fix=f"set band to a number from 1 to {ds.count}",
            )
        crs = _crs(path, ds.crs.to_wkt() if ds.crs else None, source, key)
        t = ds.transform
        if t.b != 0 or t.d != 0:
            raise InputError(
                "the GeoTIFF is rotated", file=path, key=f"{key}.path",
                fix="warp it to a north-up grid first (gdalwarp)",
            )  # fmt: skip
        values = ds.read(band).astype(np.float64)
        res_x, res_y = t.a, -t.e
        xmin, ymax = t.c, t.f
        if res_y < 0:  # south-up: flip to north-up
            values = values[::-1]
            ymax, res_y = t.f + t.e * ds.height, -res_y
        if res_x < 0:
            values = values[:, ::-1]
            xmin, res_x = t.c + t.a * ds.width, -res_x
        units = ds.units[band - 1] or ds.tags(band).get("units") or ds.tags().get("units")
        grid = Grid(crs, xmin, ymax, res_x, res_y, ds.width, ds.height)
        return values, grid, units, ds.nodatavals[band - 1], None


def _read_xarray(path: str, source: dict[str, Any], key: str) -> tuple:
    import xarray as xr  # NetCDF / Zarr sources only (a heavy import)

    try:
        if path.endswith(".zarr") or Path(path).is_dir():
            ds = xr.open_zarr(path, consolidated=None)
        else:
            try:
                ds = xr.open_dataset(path, engine="h5netcdf")
            except (OSError, ValueError):
                ds = xr.open_dataset(path, engine="scipy")
    except Exception as exc:  # h5py, scipy and zarr raise many types
        raise InputError(
            f"cannot read the raster: {type(exc).__name__}: {exc}",
            file=path,
            key=f"{key}.path",
            fix="check that it is a complete NetCDF or Zarr file",
        ) from None
    with ds:
        names = [str(v) for v in ds.data_vars if ds[v].ndim >= 2]
        var = source.get("variable")
        if var is None:
            if len(names) != 1:
                raise InputError(
                    f"the file holds {len(names)} gridded variables ({', '.join(names)})",
                    file=path, key=f"{key}.variable",
                    fix="set variable to the one holding the emissions",
                )  # fmt: skip
            var = names[0]
        if var not in ds.data_vars:
            raise InputError(
                f"the file has no variable {var!r} (variables: {', '.join(names) or 'none'})",
                file=path,
                key=f"{key}.variable",
                fix="set variable to one of those listed",
            )
        da = ds[var]
        ydim, xdim = _spatial_dims(path, da, key)
        year = None
        extra = [d for d in da.dims if d not in (ydim, xdim)]
        if extra:
            da, year = _pick_time(path, da, extra, source.get("time"), key)
        da = da.transpose(ydim, xdim)
        xs = np.asarray(da[xdim].values, dtype=np.float64)
        ys = np.asarray(da[ydim].values, dtype=np.float64)
        values = np.asarray(da.values, dtype=np.float64)
        found = None
        if "grid_mapping" in da.attrs and da.attrs["grid_mapping"] in ds:
            found = ds[da.attrs["grid_mapping"]].attrs.get("crs_wkt") or ds[
                da.attrs["grid_mapping"]
            ].attrs.get("spatial_ref")
        elif xdim.lower().startswith("lon") and ydim.lower().startswith("lat"):
            found = "EPSG:4326"
        crs = _crs(path, found, source, key)
        units = da.attrs.get("units")
        # xarray turns fill values into NaN: those cells are nodata.
        fill = "_FillValue" in da.encoding or "missing_value" in da.encoding
        nodata = np.nan if fill else None
    rx = _step(path, xs, xdim, key)
    ry = _step(path, ys, ydim, key)
    if rx < 0:
        values, xs, rx = values[:, ::-1], xs[::-1], -rx
    if ry > 0:  # ascending y (EDGAR: latitude south to north): flip to north-up
        values, ys = values[::-1], ys[::-1]
    else:
        ry = -ry
    grid = Grid(crs, xs[0] - rx / 2, ys[0] + ry / 2, rx, ry, xs.size, ys.size)
    return values, grid, units, nodata, year


def _spatial_dims(path: str, da: Any, key: str) -> tuple[str, str]:
    dims = [str(d) for d in da.dims]
    ydim = next((d for d in dims if d.lower() in ("lat", "latitude", "y", "rlat")), None)
    xdim = next((d for d in dims if d.lower() in ("lon", "longitude", "x", "rlon")), None)
    if ydim is None or xdim is None:
        raise InputError(
            f"cannot find the spatial dimensions of {da.name!r} (dims: {', '.join(dims)})",
            file=path,
            key=f"{key}.variable",
            fix="name them lat/lon or y/x",
        )
    return ydim, xdim


def _pick_time(path: str, da: Any, extra: list[str], sel: Any, key: str) -> tuple[Any, int | None]:
    if len(extra) > 1 or sel is None:
        if sel is None and all(da.sizes[d] == 1 for d in extra):
            da = da.isel({d: 0 for d in extra})
            return da, _year_of(da)
        raise InputError(
            f"variable {da.name!r} has the extra dimension(s) {', '.join(extra)} "
            f"({' × '.join(str(da.sizes[d]) for d in extra)} steps) and no step was chosen",
            file=path,
            key=f"{key}.time",
            fix='set time = <index> (0-based) or time = "<label>" to pick one step',
        )
    dim = extra[0]
    try:
        if isinstance(sel, int):
            da = da.isel({dim: sel})
        else:
            da = da.sel({dim: sel})
    except (IndexError, KeyError, ValueError, TypeError) as exc:
        raise InputError(
            f"time {sel!r} is not a step of {dim!r} ({da.sizes[dim]} steps): {exc}",
            file=path,
            key=f"{key}.time",
            fix="give a 0-based index or one of the labels of the time coordinate",
        ) from None
    if dim in da.dims:
        raise InputError(
            f"time {sel!r} selects {da.sizes[dim]} steps of {dim!r}, not one",
            file=path,
            key=f"{key}.time",
            fix="give a full label (e.g. the date) or an index",
        )
    return da, _year_of(da)


def _year_of(da: Any) -> int | None:
    for c in da.coords.values():
        if c.ndim == 0 and np.issubdtype(c.dtype, np.datetime64):
            return int(str(np.datetime_as_string(c.values, unit="Y")))
    return None


def _step(path: str, c: np.ndarray, dim: str, key: str) -> float:
    if c.size < 2:
        raise InputError(
            f"the raster needs at least 2 cells along {dim!r}", file=path, key=f"{key}.path"
        )
    d = np.diff(c)
    if not np.allclose(d, d[0], rtol=1e-6, atol=0):
        raise InputError(
            f"the coordinate {dim!r} is not evenly spaced",
            file=path,
            key=f"{key}.path",
            fix="give a regular grid (resample it first)",
        )
    return float((c[-1] - c[0]) / (c.size - 1))


# ---------------------------------------------------------------------------- onto the grid
def region_split(
    grid: Grid, cells: np.ndarray, polygons: Any, field: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Share of each target cell's area in each region polygon.

    A cell inside one polygon (``contains_properly``) is wholly that region's; a cell on a
    border is split in proportion to the exact areas of its intersections with the polygons
    it touches (shapely, polygons reprojected to the grid CRS vertex by vertex), normalised
    over those polygons: the part of a coastal cell at sea goes to the land regions it
    touches. Cells that touch no polygon get no row (their mass is ``outside_regions``).

    Returns
    -------
    index, region, share, labels
        Position in ``cells``, region code (into ``labels``) and share, one row per pair.
    """
    import shapely  # lazy: only rasters split by region polygons need it (~0.2 s of imports)

    polys = polygons.to_crs(grid.crs)
    labels = sorted(set(polys[field].astype(str)))
    code = {lab: i for i, lab in enumerate(labels)}
    pcode = np.array([code[v] for v in polys[field].astype(str)], dtype=np.int64)
    geoms = np.asarray(polys.geometry.values)
    shapely.prepare(geoms)
    r, c = np.divmod(np.asarray(cells, dtype=np.int64), grid.nx)
    x0 = grid.xmin + grid.res_x * c
    y1 = grid.ymax - grid.res_y * r
    boxes = shapely.box(x0, y1 - grid.res_y, x0 + grid.res_x, y1)
    tree = shapely.STRtree(geoms)
    bi, gi = tree.query(boxes, predicate="intersects")
    inner = shapely.contains_properly(geoms[gi], boxes[bi])
    hits = np.bincount(bi, minlength=len(cells))
    whole = inner & (hits[bi] == 1)
    area = np.full(bi.size, grid.res_x * grid.res_y)
    part = ~whole
    if part.any():
        area[part] = shapely.area(shapely.intersection(boxes[bi[part]], geoms[gi[part]]))
    # Sum per (cell, region): a region may hold several polygons.
    pair = bi * len(labels) + pcode[gi]
    uniq, inv = np.unique(pair, return_inverse=True)
    a = np.bincount(inv, weights=area)
    idx, reg = np.divmod(uniq, len(labels))
    tot = np.bincount(idx, weights=a, minlength=len(cells))
    keep = a > 0
    idx, reg, a = idx[keep], reg[keep], a[keep]
    return idx, reg, a / tot[idx], labels


def read_rasters(sources: list[dict[str, Any]]) -> list[Layer]:
    """Every layer of the config's ``[[rasters]]`` entries, in config then file order."""
    return [layer for i, src in enumerate(sources) for layer in read_layers(src, i)]


def layer_bounds(layers: list[Layer], crs: pyproj.CRS) -> tuple[float, float, float, float] | None:
    """Bounding box in ``crs`` of the layers' cells that hold mass (edges densified)."""
    boxes = []
    for layer in layers:
        m = layer.mass
        has = np.isfinite(m) & (m > 0) & ~layer.nodata
        if not has.any():
            continue
        rows = np.flatnonzero(has.any(axis=1))
        cols = np.flatnonzero(has.any(axis=0))
        g = layer.grid
        x0, x1 = g.xmin + g.res_x * cols[0], g.xmin + g.res_x * (cols[-1] + 1)
        y1, y0 = g.ymax - g.res_y * rows[0], g.ymax - g.res_y * (rows[-1] + 1)
        t = np.linspace(0.0, 1.0, 65)
        bx = np.concatenate([x0 + (x1 - x0) * t, np.full(65, x1), x1 - (x1 - x0) * t,
                             np.full(65, x0)])  # fmt: skip
        by = np.concatenate([np.full(65, y0), y0 + (y1 - y0) * t, np.full(65, y1),
                             y1 - (y1 - y0) * t])  # fmt: skip
        if not g.crs.equals(crs):
            bx, by = pyproj.Transformer.from_crs(g.crs, crs, always_xy=True).transform(bx, by)
        ok = np.isfinite(bx) & np.isfinite(by)
        if ok.any():
            boxes.append((bx[ok].min(), by[ok].min(), bx[ok].max(), by[ok].max()))
    if not boxes:
        return None
    b = np.array(boxes)
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


def raster_points(
    layers: list[Layer],
    grid: Grid,
    ledger: Ledger,
    polygons: Any = None,
    field: str | None = None,
    cache_dir: str | None = None,
    workers: int | None = None,
) -> tuple[Points, np.ndarray]:
    """The layers remapped onto ``grid`` as rows (target cell, sector, region, tonnes).

    Each row enters the pipeline as a point that already knows its cell. Mass beyond the
    grid is dropped under ``outside_grid``, mass of cells in no region under
    ``outside_regions``; nodata, non-finite and negative cells as in :func:`account`.

    Returns
    -------
    points : Points
        One row per (layer, target cell, region) with mass > 0; ``files`` are the layers' files.
    cell : numpy.ndarray
        Flat target cell of each row (int64).
    """
    cells, masses, sectors, regions, offsets = [], [], [], [], [0]
    for layer in layers:
        v = account(layer, ledger)
        w = overlap_weights(layer.grid, grid, cache_dir=cache_dir, threads=workers)
        out, outside = remap(w, v)
        if outside != 0.0:
            partial = (v > 0) & (w.cover < 1.0 - 1e-12)
            ledger.drop_counted("outside_grid", int(partial.sum()), outside)
        nz = np.flatnonzero(out > 0)
        e = out[nz]
        if layer.region is not None:
            reg = np.full(nz.size, str(layer.region), dtype=object)
        elif polygons is not None:
            idx, rcode, share, labels = region_split(grid, nz, polygons, field)
            inside = np.bincount(idx, weights=share, minlength=nz.size) > 0
            ledger.drop_counted("outside_regions", int((~inside).sum()), float(e[~inside].sum()))
            reg = np.asarray(labels, dtype=object)[rcode]
            nz, e = nz[idx], e[idx] * share
        else:
            reg = None
        cells.append(nz)
        masses.append(e)
        sectors.append(np.full(nz.size, layer.sector, dtype=object))
        regions.append(reg)
        offsets.append(offsets[-1] + nz.size)
    cell = np.concatenate(cells) if cells else np.empty(0, np.int64)
    emission = np.concatenate(masses) if masses else np.empty(0)
    sector = _object_categories(pd.Categorical(np.concatenate(sectors) if sectors else []))
    region = None
    if regions and all(r is not None for r in regions):
        region = _object_categories(pd.Categorical(np.concatenate(regions)))
    pts = Points(
        None, None, grid.crs, emission, sector, region, None,
        [layer.file for layer in layers], np.asarray(offsets[:-1] or [0], dtype=np.int64), None,
    )  # fmt: skip
    return pts, cell.astype(np.int64)


def _object_categories(c: Any) -> Any:
    """A Categorical whose categories are plain Python strings (as the points reader makes)."""
    c = pd.Categorical(c)
    cats = pd.Index([str(v) for v in c.categories], dtype=object)
    return pd.Categorical.from_codes(np.asarray(c.codes), categories=cats)


def concat_points(a: Points, b: Points) -> Points:
    """Points ``a`` then ``b`` (both without coordinates); regions kept when both have them."""

    def cat(x: pd.Categorical, y: pd.Categorical) -> pd.Categorical:
        return union_categoricals([_object_categories(x), _object_categories(y)])

    region = None
    if a.region is not None and b.region is not None:
        region = cat(a.region, b.region)
    ids = None
    if a.ids is not None:
        ids = pa.concat_arrays([a.ids, pa.nulls(len(b), a.ids.type)])
    rows_a = a.rows()
    total_a = int(rows_a.max()) + 1 if len(a) else 0
    total_a = max(total_a, int(a.file_offsets[-1]))
    index = np.concatenate([rows_a, total_a + b.rows()])
    return Points(
        None, None, a.crs, np.concatenate([a.emission, b.emission]), cat(a.sector, b.sector),
        region, ids, a.files + b.files,
        np.concatenate([a.file_offsets, total_a + b.file_offsets]), index,
    )  # fmt: skip

"""Reprojecting extensive rasters (tonnes per cell) with their totals kept.

The store's rasters hold tonnes *in* each cell, not tonnes per m²: a nearest or bilinear
reprojection (rioxarray's and GDAL's defaults) samples them as if they were densities and
loses or invents mass wherever the cell sizes change (1 to 10 % of the total from an Albers
grid to EPSG:4326). Here each layer is warped as a density: tonnes / cell area (m²) averaged
with GDAL's ``average`` resampling (weighted by the fraction of each source cell inside the
destination cell), times the destination cell's area; then scaled so that its total equals the
source total exactly. The relative error before that scaling is reported. ``method="sum"``
(GDAL's weighted sum of the tonnes) is the alternative, about 13 times slower.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyproj
import xarray as xr

from footgrid.errors import ConfigError
from footgrid.grid import Grid


@dataclass(frozen=True)
class Reprojection:
    """What a conserving reprojection did.

    Attributes
    ----------
    grid : Grid
        The destination grid.
    source_total, warped_total : float
        Tonnes in all layers before the warp, and right after it (before the scaling).
    max_layer_error : float
        The largest relative error ``|warped - source| / source`` of one layer before scaling.
    """

    grid: Grid
    source_total: float
    warped_total: float
    max_layer_error: float

    @property
    def relative_error(self) -> float:
        """Relative error of the whole total before scaling (0 after it, to rounding)."""
        return abs(self.warped_total - self.source_total) / max(abs(self.source_total), 1e-300)


def source_grid(ds: xr.Dataset) -> Grid:
    """The :class:`Grid` of an opened store (from its CRS and transform)."""
    t = ds.rio.transform()
    return Grid(
        pyproj.CRS.from_user_input(ds.rio.crs.to_wkt()),
        t.c,
        t.f,
        t.a,
        -t.e,
        ds.sizes["x"],
        ds.sizes["y"],
    )


def target_grid(src: Grid, crs: str, resolution: float | None = None) -> Grid:
    """The grid that covers ``src`` in ``crs`` (GDAL's default extent and, unless given, size).

    Raises
    ------
    ConfigError
        When ``crs`` is not a CRS PROJ knows.
    """
    # imported here: heavy, optional or circular; only this path needs it
    from rasterio.crs import CRS

    # imported here: heavy, optional or circular; only this path needs it
    from rasterio.warp import calculate_default_transform

    try:
        dst = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise ConfigError(
            f"unknown CRS {crs!r}: {exc}", key="export.crs", fix='use e.g. "EPSG:4326"'
        ) from None
    kw = {"resolution": resolution} if resolution else {}
    t, w, h = calculate_default_transform(
        CRS.from_wkt(src.crs.to_wkt()),
        CRS.from_wkt(dst.to_wkt()),
        src.nx,
        src.ny,
        *src.bounds,
        **kw,
    )
    return Grid(dst, t.c, t.f, t.a, -t.e, int(w), int(h), src.tile)


def warp_sum(
    data: np.ndarray, src: Grid, dst: Grid, method: str = "density"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Warp ``(..., ny, nx)`` tonnes per cell from ``src`` to ``dst``, each layer's total kept.

    ``method``: ``density`` (average of tonnes / m², times the destination area) or ``sum``.

    Returns the warped layers (float64, scaled), the source totals and the warped totals
    before scaling, one per layer. A layer whose warp lost all its mass (outside ``dst``)
    keeps zeros and shows the loss in its warped total.
    """
    # imported here: heavy, optional or circular; only this path needs it
    from rasterio.crs import CRS

    # imported here: heavy, optional or circular; only this path needs it
    from rasterio.warp import Resampling, reproject

    lead = data.shape[:-2]
    flat = np.ascontiguousarray(data.reshape(-1, src.ny, src.nx), dtype=np.float64)
    out = np.zeros((flat.shape[0], dst.ny, dst.nx), dtype=np.float64)
    density = method == "density"
    reproject(
        flat / src.cell_area()[None] if density else flat,
        out,
        src_transform=src.transform,
        src_crs=CRS.from_wkt(src.crs.to_wkt()),
        dst_transform=dst.transform,
        dst_crs=CRS.from_wkt(dst.crs.to_wkt()),
        resampling=Resampling.average if density else Resampling.sum,
        src_nodata=np.nan,
        dst_nodata=np.nan,
    )
    np.nan_to_num(out, copy=False, nan=0.0)
    if density:
        out *= dst.cell_area()[None]
    before = flat.sum(axis=(1, 2))
    after = out.sum(axis=(1, 2))
    ok = after > 0
    out[ok] *= (before[ok] / after[ok])[:, None, None]
    return out.reshape(*lead, dst.ny, dst.nx), before.reshape(lead), after.reshape(lead)


def reproject_store(
    ds: xr.Dataset,
    crs: str,
    *,
    resolution: float | None = None,
    layers: list[str] | None = None,
    method: str = "density",
) -> tuple[xr.Dataset, Reprojection]:
    """Reproject a store's rasters to ``crs`` with every layer's total kept exactly.

    Parameters
    ----------
    ds
        An opened store (:func:`footgrid.open_store`).
    crs
        The destination CRS (``"EPSG:4326"``, a WKT or PROJ string).
    resolution
        Destination cell size in its units (default: GDAL's, about as many cells as the source).
    layers
        Consumers to keep (default: all).
    method
        ``density`` (default) or ``sum`` (see the module docstring).

    Returns
    -------
    (xarray.Dataset, Reprojection)
        ``emissions``, ``footprint`` (when the store has one) and ``cell_area`` on the new grid
        (loaded in memory), and the report of the warp's error before scaling.
    """
    # imported here: heavy, optional or circular; only this path needs it
    from footgrid.store.layout import Layout, template

    src = source_grid(ds)
    dst = target_grid(src, crs, resolution)
    em, b_em, a_em = warp_sum(ds["emissions"].values, src, dst, method)
    errs = [_rel(b_em, a_em)]
    totals = [float(b_em.sum()), float(a_em.sum())]
    has_fp = "footprint" in ds
    if has_fp:
        fp_src = ds["footprint"] if layers is None else ds["footprint"].sel(consumer=layers)
        consumers = [str(c) for c in fp_src["consumer"].values]
        categories = [str(c) for c in fp_src["category"].values]
        domestic = tuple(bool(v) for v in fp_src["domestic"].values)
        fp = np.empty((len(consumers), len(categories), dst.ny, dst.nx), dtype=np.float64)
        for i in range(len(consumers)):  # one consumer in memory at a time
            fp[i], b, a = warp_sum(fp_src[i].values, src, dst, method)
            errs.append(_rel(b, a))
        dtype = str(ds.footprint.dtype)
        layout = Layout(dst, tuple(consumers), tuple(categories), domestic, dtype=dtype)
    else:
        layout = Layout(dst, dtype=str(ds.emissions.dtype))
    shape = (0, 0, len(layout.consumers), len(layout.categories))
    out = template(layout, np.ones(dst.shape, dtype=bool), np.zeros(shape))
    out = out.drop_vars([v for v in ("totals", "territory") if v in out])
    out["emissions"] = out["emissions"].copy(data=em.astype(layout.dtype))
    if has_fp:
        out["footprint"] = out["footprint"].copy(data=fp.astype(layout.dtype))
        out = out.drop_dims([d for d in ("region", "sector") if d in out.dims])
    out["cell_area"] = out["cell_area"].copy(data=dst.cell_area())
    out.attrs = dict(ds.attrs)
    report = Reprojection(dst, totals[0], totals[1], float(max(errs)))
    out.attrs.update(
        reprojected_from=src.crs.to_wkt(),
        reprojection=f"GDAL {'average of t/m2' if method == 'density' else 'sum'} resampling, "
        "each layer scaled to its source total",
        reprojection_relative_error=report.relative_error,
    )
    return out, report


def _rel(before: np.ndarray, after: np.ndarray) -> float:
    b = np.abs(np.ravel(before))
    d = np.abs(np.ravel(after) - np.ravel(before))
    ok = b > 0
    return float((d[ok] / b[ok]).max()) if ok.any() else 0.0

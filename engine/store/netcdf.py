"""A CF-1.8 NetCDF-4 copy of a store (one file, zlib-compressed, chunked like the store).

What makes it CF: ``Conventions = "CF-1.8"``; UDUNITS units (``t yr-1``: tonnes per year in
the cell, the gas named in ``long_name``; ``m2``; ``m`` or ``degrees_east``/``degrees_north``);
``standard_name`` where CF has one (``cell_area``, the projection or lon/lat axes; there is
none for tonnes of CO2 per cell); ``grid_mapping`` on every raster pointing at the CF grid
mapping variable ``spatial_ref`` (with ``crs_wkt``); ``cell_methods = "area: sum"`` and
``cell_measures = "area: cell_area"`` on the extensive rasters; flags as ``flag_values`` and
``flag_meanings``. CF coordinate variables must be numeric, so the text labels are auxiliary
coordinates ``consumer_label(consumer)``, ``category_label(category)``, ... and the label
dimensions have no coordinate variable. :func:`open_netcdf` opens the file back with the
labels as indexes, equal to the store.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

#: Dimensions labelled by text (auxiliary coordinates ``<dim>_label`` in the file).
LABEL_DIMS = ("consumer", "category", "region", "sector")


def to_cf(ds: xr.Dataset, layers: list[str] | None = None) -> xr.Dataset:
    """The store's dataset with CF metadata, ready for :meth:`xarray.Dataset.to_netcdf`."""
    if layers is not None and "footprint" in ds:
        ds = ds.sel(consumer=list(layers))
    out = ds.copy()
    for dim in LABEL_DIMS:
        if dim in out.coords:
            labels = np.array([str(v) for v in out[dim].values], dtype=object)
            out = out.drop_vars(dim).assign_coords({f"{dim}_label": (dim, labels)})
            out[f"{dim}_label"].attrs["long_name"] = f"{dim} label"
    if "domestic" in out.coords:
        out["domestic"] = out["domestic"].astype(np.int8)
        out["domestic"].attrs.update(
            long_name="home (domestic) consumer",
            flag_values=np.int8([0, 1]),
            flag_meanings="foreign domestic",
        )
        out = out.set_coords("domestic")
    if "territory" in out:
        out["territory"] = out["territory"].astype(np.int8)
        out["territory"].attrs.update(
            long_name="cell centre inside the regions' polygons",
            flag_values=np.int8([0, 1]),
            flag_meanings="outside inside",
            grid_mapping="spatial_ref",
        )
    for name in ("footprint", "emissions"):
        if name in out:
            out[name].attrs.pop("consumers", None)
            out[name].attrs.pop("categories", None)
            # (xarray moves cell_measures into the encoding when it opens the store)
            out[name].attrs.update(cell_methods="area: sum", cell_measures="area: cell_area")
    for name in out.data_vars:
        if "y" in out[name].dims and "x" in out[name].dims:
            out[name].attrs["grid_mapping"] = "spatial_ref"
            out[name].encoding.pop("grid_mapping", None)
        out[name].encoding = {}
    for name in out.coords:
        out[name].encoding = {}
    attrs = {k: v for k, v in ds.attrs.items() if k != "complete"}
    attrs["Conventions"] = "CF-1.8"
    attrs.setdefault("title", "footgrid gridded consumption-based emissions")
    attrs["source"] = f"footgrid {ds.attrs.get('footgrid_version', '')}".strip()
    out.attrs = attrs
    return out


def export_netcdf(
    ds: xr.Dataset,
    path: str | os.PathLike,
    layers: list[str] | None = None,
    *,
    engine: str = "netcdf4",
) -> Path:
    """Write the store as one CF-1.8 NetCDF-4 file (zlib level 4, the store's chunks).

    Parameters
    ----------
    ds
        An opened store (or a reprojected one).
    path
        The ``.nc`` file to write (replaced atomically).
    layers
        Consumers to keep (default: all).
    engine
        ``netcdf4`` or ``h5netcdf``.
    """
    path = Path(path)
    cf = to_cf(ds, layers)
    enc = {}
    for name, var in cf.data_vars.items():
        if var.ndim == 0:
            continue
        e = {"zlib": True, "complevel": 4, "_FillValue": None}
        if "y" in var.dims:
            e["chunksizes"] = tuple(
                min(n, 512) if d in ("y", "x") else 1
                for d, n in zip(var.dims, var.shape, strict=True)
            )
        enc[name] = e
    for name in ("x", "y"):
        enc[name] = {"_FillValue": None}
    for dim in LABEL_DIMS:  # fixed-width characters: CF has no variable-length strings
        if f"{dim}_label" in cf.coords:
            enc[f"{dim}_label"] = {"dtype": "S1"}
    tmp = path.with_name(path.name + ".partial")
    cf.to_netcdf(tmp, engine=engine, format="NETCDF4", encoding=enc)
    tmp.replace(path)
    return path


def open_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Open a file written by :func:`export_netcdf` with the text labels as indexes again."""
    ds = xr.open_dataset(path, decode_coords="all")
    for dim in LABEL_DIMS:
        lab = f"{dim}_label"
        if lab in ds.coords:
            ds = ds.assign_coords({dim: (dim, ds[lab].values.astype(str))}).drop_vars(lab)
    for flag in ("domestic", "territory"):
        if flag in ds.variables:
            keep = {k: v for k, v in ds[flag].attrs.items() if not k.startswith("flag_")}
            ds[flag] = ds[flag].astype(bool).assign_attrs(keep)
    return ds

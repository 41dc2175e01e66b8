"""Exports of a complete store to the formats other tools open: COG folders and CF NetCDF.

``footgrid export STORE --format cog|netcdf --out PATH [--layers ...] [--crs EPSG:...]`` and
the ``[output] cog / netcdf / export_crs`` keys both come here. With a CRS, the rasters are
first reprojected with their totals kept (:mod:`footgrid.store.reproject`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import xarray as xr

from footgrid.errors import InputError
from footgrid.store.cog import export_cog
from footgrid.store.netcdf import export_netcdf
from footgrid.store.reproject import Reprojection, reproject_store

log = logging.getLogger("footgrid")

FORMATS = ("cog", "netcdf")


def export(
    store: str | os.PathLike | xr.Dataset,
    format: str,
    out: str | os.PathLike,
    *,
    layers: list[str] | None = None,
    crs: str | None = None,
    resolution: float | None = None,
) -> tuple[list[Path], Reprojection | None]:
    """Export a store as COGs (``out`` a folder) or one CF NetCDF-4 file (``out`` a ``.nc``).

    Parameters
    ----------
    store
        A store path or an opened store.
    format
        ``cog`` or ``netcdf``.
    out
        Output folder (COG) or file (NetCDF).
    layers
        Consumers to export (default: all).
    crs, resolution
        Reproject first (mass conserved; the warp's error before scaling is in the report).

    Returns
    -------
    (list of Path, Reprojection or None)
        Files written, and the reprojection's report when ``crs`` was given.

    Raises
    ------
    InputError
        Unknown format or consumer label.
    """
    # imported here: heavy, optional or circular; only this path needs it
    from footgrid.store.lifecycle import open_store

    if format not in FORMATS:
        raise InputError(
            f"unknown export format {format!r}", key="--format", fix="use cog or netcdf"
        )
    ds = store if isinstance(store, xr.Dataset) else open_store(store)
    if layers is not None:
        known = [str(c) for c in ds["consumer"].values] if "consumer" in ds.coords else []
        missing = [c for c in layers if c not in known]
        if missing:
            raise InputError(
                f"unknown consumer {missing[0]!r} in the layers to export",
                file=ds.encoding.get("source"),
                key="--layers",
                fix=f"use consumer labels of the store: {', '.join(known[:12]) or 'none'}",
            )
    report = None
    if crs is not None:
        ds, report = reproject_store(ds, crs, resolution=resolution, layers=layers)
        log.info(
            "reprojected to %s: total %.6g t; warp error before scaling %.3g (largest layer %.3g)",
            crs,
            report.source_total,
            report.relative_error,
            report.max_layer_error,
        )
    if format == "cog":
        files = export_cog(ds, Path(out), layers)
    else:
        files = [export_netcdf(ds, Path(out), layers)]
    return files, report


def export_geotiff(ds: xr.Dataset, folder: Path) -> list[Path]:
    """The ``[output] geotiff = true`` alias: the COG export into ``folder``."""
    return export_cog(ds, folder)

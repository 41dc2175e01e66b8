"""Cloud-Optimised GeoTIFFs of a store: one file per consumer, one band per category.

Files (in the output folder):

``emissions.tif``
    The production-based raster, one band.
``footprint_<nnn>_<consumer>.tif``
    Consumer number ``nnn`` (its position in the store, so names never collide even when two
    labels differ only in characters a file name cannot hold); one band per final-demand
    category, each band's description ``"<consumer> / <category>"`` and its tags ``consumer``
    and ``category``.
``consumers.csv``
    ``file, consumer, domestic, band, category``: which consumer and category is in which file
    and band.

Values are tonnes per cell (float32 or the store's dtype), nodata NaN (no cell carries it: 0
is zero tonnes). Written by GDAL's COG driver: 512 × 512 tiles, DEFLATE with the floating-point
predictor, and internal overviews resampled with ``AVERAGE``: an overview cell holds the mean
tonnes per *full-resolution* cell under it, so overview level k (factor 2**k) times 4**k is
the tonnes in the overview cell. Sums stay meaningful; the full-resolution data are exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from footgrid.store.reproject import source_grid

#: Creation options of GDAL's COG driver (also read by GDAL 3.6).
COG_OPTIONS = {
    "compress": "DEFLATE",
    "predictor": "YES",
    "blocksize": 512,
    "overview_resampling": "AVERAGE",
    "resampling": "AVERAGE",
    "bigtiff": "IF_SAFER",
}


def write_cog(
    path: Path,
    bands: np.ndarray,
    ds: xr.Dataset,
    descriptions: list[str],
    tags: list[dict[str, str]] | None = None,
    blocksize: int = 512,
) -> Path:
    """Write ``bands`` (n, ny, nx) on the grid of ``ds`` as one COG at ``path``.

    ``blocksize`` is the tile edge; GDAL makes overviews down to one tile.
    """
    # imported here: heavy, optional or circular; only this path needs it
    import rasterio

    # imported here: heavy, optional or circular; only this path needs it
    from rasterio.crs import CRS

    g = source_grid(ds)
    bands = np.asarray(bands)
    tmp = path.with_name(path.name + ".partial")
    profile = {
        "driver": "COG",
        "width": g.nx,
        "height": g.ny,
        "count": bands.shape[0],
        "dtype": bands.dtype.name,
        "crs": CRS.from_wkt(g.crs.to_wkt()),
        "transform": g.transform,
        "nodata": np.nan,
        **COG_OPTIONS,
        "blocksize": blocksize,
    }
    with rasterio.open(tmp, "w", **profile) as dst:
        for i, desc in enumerate(descriptions, start=1):
            dst.set_band_description(i, desc)
            if tags is not None:
                dst.update_tags(i, **tags[i - 1])
        dst.update_tags(
            units=ds["emissions"].attrs.get("units", ""),
            quantity="tonnes per cell (extensive: sum cells to aggregate)",
            overviews="AVERAGE: mean tonnes per full-resolution cell; times 4**level for the "
            "tonnes in an overview cell",
        )
        dst.write(bands)
    tmp.replace(path)
    return path


def export_cog(
    ds: xr.Dataset, folder: Path, layers: list[str] | None = None, *, blocksize: int = 512
) -> list[Path]:
    """Write ``emissions.tif``, one ``footprint_<nnn>_<consumer>.tif`` per consumer and
    ``consumers.csv`` into ``folder`` (see the module docstring).

    Parameters
    ----------
    ds
        An opened store (or a reprojected one, :func:`footgrid.store.reproject.reproject_store`).
    folder
        Output folder (created).
    layers
        Consumers to write (default: all); ``emissions.tif`` is always written.
    blocksize
        Tile edge of the COGs (512; GDAL builds overviews down to one tile).

    Returns
    -------
    list of Path
        The files written, ``consumers.csv`` last.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    em = ds["emissions"].values
    out = [write_cog(folder / "emissions.tif", em[None], ds, ["emissions"], None, blocksize)]
    if "footprint" not in ds:
        return out
    consumers = [str(c) for c in ds["consumer"].values]
    categories = [str(c) for c in ds["category"].values]
    domestic = ds["domestic"].values if "domestic" in ds.coords else np.zeros(len(consumers))
    wanted = consumers if layers is None else list(layers)
    rows = []
    for i, c in enumerate(consumers):
        if c not in wanted:
            continue
        name = f"footprint_{i:03d}_{_safe(c)}.tif"
        bands = ds["footprint"].isel(consumer=i).values
        desc = [f"{c} / {k}" for k in categories]
        tags = [{"consumer": c, "category": k} for k in categories]
        out.append(write_cog(folder / name, bands, ds, desc, tags, blocksize))
        rows += [(name, c, bool(domestic[i]), b + 1, k) for b, k in enumerate(categories)]
    table = folder / "consumers.csv"
    pd.DataFrame(rows, columns=["file", "consumer", "domestic", "band", "category"]).to_csv(
        table, index=False
    )
    out.append(table)
    return out


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)[:40]

"""Exports of a complete store to the formats other tools open."""

from __future__ import annotations

from pathlib import Path

import xarray as xr


def export_geotiff(ds: xr.Dataset, folder: Path) -> list[Path]:
    """Write ``emissions`` and each consumer's footprint (categories summed) as GeoTIFFs."""
    folder.mkdir(parents=True, exist_ok=True)
    out = [folder / "emissions.tif"]
    ds["emissions"].rio.to_raster(out[0], compress="deflate", tiled=True)
    if "footprint" in ds:
        for c in ds["consumer"].values:
            layer = ds["footprint"].sel(consumer=c).sum("category").astype(ds["footprint"].dtype)
            p = folder / f"footprint_{_safe(str(c))}.tif"
            layer.rio.write_crs(ds.rio.crs).rio.to_raster(p, compress="deflate", tiled=True)
            out.append(p)
    return out


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)

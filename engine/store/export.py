"""Exports of a complete store to the formats other tools open."""

from __future__ import annotations

import json
from pathlib import Path

import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

#: File in an export folder that names the consumer of each footprint file.
MAPPING = "consumers.json"


def export_geotiff(ds: xr.Dataset, folder: Path) -> list[Path]:
    """Write ``emissions`` and each consumer's footprint (categories summed) as GeoTIFFs.

    File names are the consumer labels made safe for file systems, made unique when two
    labels give the same name (``X Y`` and ``X_Y``: ``footprint_X_Y.tif`` and
    ``footprint_X_Y-2.tif``); ``consumers.json`` maps each file name to its consumer.
    """
    folder.mkdir(parents=True, exist_ok=True)
    out = [folder / "emissions.tif"]
    ds["emissions"].rio.to_raster(out[0], compress="deflate", tiled=True)
    if "footprint" in ds:
        names = unique_names([str(c) for c in ds["consumer"].values])
        mapping = {}
        for c, name in zip(ds["consumer"].values, names, strict=True):
            layer = ds["footprint"].sel(consumer=c).sum("category").astype(ds["footprint"].dtype)
            p = folder / f"footprint_{name}.tif"
            layer.rio.write_crs(ds.rio.crs).rio.to_raster(p, compress="deflate", tiled=True)
            out.append(p)
            mapping[p.name] = str(c)
        (folder / MAPPING).write_text(json.dumps(mapping, indent=1, ensure_ascii=False))
    return out


def unique_names(labels: list[str]) -> list[str]:
    """File-safe names of ``labels``, distinct even where two labels sanitise alike.

    Names are compared case-insensitively (macOS and Windows file systems fold case).
    """
    used: set[str] = set()
    out = []
    for label in labels:
        base = _safe(label) or "consumer"
        name, k = base, 1
        while name.lower() in used:
            k += 1
            name = f"{base}-{k}"
        used.add(name.lower())
        out.append(name)
    return out


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)

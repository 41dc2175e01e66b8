"""GeoTIFF export: every consumer gets its own file, whatever its label (read back by rasterio)."""

from __future__ import annotations

import json

import numpy as np
import rasterio
import rioxarray  # noqa: F401
import xarray as xr

from footgrid.store.export import export_geotiff


def test_consumers_whose_names_collide_after_sanitising_get_distinct_files(tmp_path):
    consumers = ["X Y", "X_Y", "x_y", "X/Y"]
    rng = np.random.default_rng(0)
    fp = rng.uniform(0, 1, (4, 2, 3, 5)).astype("f4")
    ds = xr.Dataset(
        {
            "footprint": (("consumer", "category", "y", "x"), fp),
            "emissions": (("y", "x"), fp.sum(axis=(0, 1))),
        },
        coords={
            "consumer": consumers,
            "category": ["HH", "GOV"],
            "y": [2.5, 1.5, 0.5],
            "x": np.arange(5) + 0.5,
        },
    ).rio.write_crs("EPSG:3857")
    files = export_geotiff(ds, tmp_path / "tif")
    assert len({f.name.lower() for f in files}) == len(files) == 5
    mapping = json.loads((tmp_path / "tif" / "consumers.json").read_text())
    assert sorted(mapping.values()) == sorted(consumers)
    for name, consumer in mapping.items():
        with rasterio.open(tmp_path / "tif" / name) as src:
            band = src.read(1)
        i = consumers.index(consumer)
        np.testing.assert_allclose(band, fp[i].sum(axis=0), rtol=1e-6)

"""Exports other tools open: COGs checked with Debian's gdalinfo, GDAL's COG validator and
rasterio; the NetCDF with the CF checker, GDAL and xarray; the store itself with netCDF engines
and GDAL (Zarr v2); reprojection totals against numpy sums of the store."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import rioxarray  # noqa: F401
import xarray as xr

import footgrid
from footgrid.store.cog import export_cog
from footgrid.store.export import export
from footgrid.store.netcdf import open_netcdf
from tests.helpers.cases import make_case

GDALINFO = "/usr/bin/gdalinfo"
VALIDATE = "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_cloud_optimized_geotiff.py"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> xr.Dataset:
    folder = tmp_path_factory.mktemp("exp")
    return footgrid.run(make_case(folder, 800, resolution=25_000, tile=32))


def _gdalinfo(*args: str) -> dict:
    r = subprocess.run([GDALINFO, "-json", *args], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def test_cog_per_consumer_with_bands_per_category(store, tmp_path) -> None:
    files = export_cog(store, tmp_path / "cog", blocksize=16)
    table = (tmp_path / "cog" / "consumers.csv").read_text().splitlines()
    assert table[0] == "file,consumer,domestic,band,category"
    t = store.rio.transform()
    for i, c in enumerate(store.consumer.values):
        path = tmp_path / "cog" / f"footprint_{i:03d}_{c}.tif"
        assert path in files
        info = _gdalinfo(str(path))  # Debian's GDAL 3.6, not rasterio's
        assert info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"] == "COG"
        assert info["geoTransform"] == [t.c, t.a, 0.0, t.f, 0.0, t.e]
        descs = [b["description"] for b in info["bands"]]
        assert descs == [f"{c} / {k}" for k in store.category.values]
        assert all(b["overviews"] for b in info["bands"])
        assert str(info["bands"][0]["noDataValue"]).lower() == "nan"
        r = subprocess.run(
            ["/usr/bin/python3", VALIDATE, str(path)], capture_output=True, text=True
        )
        assert r.returncode == 0 and "is a valid cloud optimized GeoTIFF" in r.stdout, r.stdout
        with rasterio.open(path) as src:
            assert src.crs == rasterio.crs.CRS.from_wkt(store.rio.crs.to_wkt())
            np.testing.assert_array_equal(src.read(), store.footprint.sel(consumer=c).values)
        # Overview 1 (factor 2): mean tonnes per full-resolution cell of each 2x2 block.
        with rasterio.open(path, OVERVIEW_LEVEL=0) as src:
            ov = src.read(1)
        full = store.footprint.sel(consumer=c).isel(category=0).values.astype(np.float64)
        # times the full-resolution cells per overview cell, the overview holds the total
        # (GDAL's windows are fractional where a side is odd, so not to rounding).
        assert ov.sum() * full.size / ov.size == pytest.approx(full.sum(), rel=0.02)


def test_cog_names_never_collide(store, tmp_path) -> None:
    ds = store.assign_coords(consumer=["a/b", "a_b", "a?b", "a b"])
    names = [p.name for p in export_cog(ds, tmp_path / "c")]
    assert len(set(names)) == len(names) == 6


def test_netcdf_is_cf_and_equals_the_store(store, tmp_path, cf_tables) -> None:
    nc = tmp_path / "fp.nc"
    export(store, "netcdf", nc)
    r = subprocess.run(
        [
            str(Path(__import__("sys").executable).parent / "cfchecks"),
            "-v",
            "1.8",
            *cf_tables,
            str(nc),
        ],
        capture_output=True,
        text=True,
    )
    assert "ERRORS detected: 0" in r.stdout, r.stdout[-3000:]
    back = open_netcdf(nc)
    for name in ("footprint", "emissions", "cell_area", "totals", "territory"):
        xr.testing.assert_equal(
            back[name].reset_coords(drop=True), store[name].reset_coords(drop=True).load()
        )
    assert back.attrs["Conventions"] == "CF-1.8"
    assert back.footprint.attrs["units"] == "t yr-1"
    fp = back.footprint
    assert {**fp.attrs, **fp.encoding}["cell_measures"] == "area: cell_area"
    assert "CO2" in back.footprint.attrs["long_name"]
    info = _gdalinfo(f'NETCDF:"{nc}":emissions')
    t = store.rio.transform()
    assert info["geoTransform"] == pytest.approx([t.c, t.a, 0.0, t.f, 0.0, t.e])
    with rasterio.open(f'NETCDF:"{nc}":emissions') as src:
        np.testing.assert_array_equal(src.read(1), store.emissions.values)


@pytest.mark.parametrize("engine", ["netcdf4", "h5netcdf"])
def test_opened_store_writes_to_netcdf(store, tmp_path, engine) -> None:
    store.to_netcdf(tmp_path / "s.nc", engine=engine)
    back = xr.open_dataset(tmp_path / "s.nc", engine=engine)
    np.testing.assert_array_equal(back.footprint.values, store.footprint.values)
    assert back.attrs["complete"] == 1


def test_reprojection_keeps_every_layers_total(store, tmp_path) -> None:
    files, rep = export(store, "cog", tmp_path / "geo", crs="EPSG:4326")
    src_total = float(store.footprint.values.astype(np.float64).sum())
    assert rep.source_total == pytest.approx(float(store.emissions.values.astype(float).sum()))
    with rasterio.open(tmp_path / "geo" / "emissions.tif") as r:
        assert r.crs.to_epsg() == 4326
        assert float(r.read(1).astype(np.float64).sum()) == pytest.approx(rep.source_total, 1e-6)
    got = 0.0
    for f in files:
        if f.name.startswith("footprint_"):
            with rasterio.open(f) as r:
                got += float(r.read().astype(np.float64).sum())
    assert got == pytest.approx(src_total, rel=1e-6)
    # The problem this solves: rioxarray's default (nearest) reprojection changes the total.
    naive = float(np.nansum(store.emissions.rio.reproject("EPSG:4326").values.astype(float)))
    assert abs(naive - rep.source_total) / rep.source_total > 1e-3


def test_zarr_v2_store_opens_in_rasterios_gdal_unmasked(tmp_path) -> None:
    cfg = make_case(tmp_path, 300, output={"zarr_format": 2})
    ds = footgrid.run(cfg)
    with rasterio.open(f'ZARR:"{tmp_path / "out.zarr"}":/cell_area') as src:
        area = src.read(1, masked=True)
    assert not np.ma.is_masked(area)
    np.testing.assert_array_equal(area.data, np.full(area.shape, 50_000.0**2))
    with rasterio.open(f'ZARR:"{tmp_path / "out.zarr"}":/emissions') as src:
        np.testing.assert_array_equal(src.read(1), ds.emissions.values)


def test_both_warp_methods_keep_totals_and_agree_on_the_map(store) -> None:
    from footgrid.store.reproject import reproject_store

    dens, r1 = reproject_store(store, "EPSG:4326", layers=[str(store.consumer.values[0])])
    sums, r2 = reproject_store(
        store, "EPSG:4326", layers=[str(store.consumer.values[0])], method="sum"
    )
    src = store.footprint.isel(consumer=0).values.astype(np.float64).sum()
    for g in (dens, sums):
        assert float(g.footprint.values.astype(np.float64).sum()) == pytest.approx(src, rel=1e-6)
    assert r1.relative_error < 0.05 and r2.relative_error < 0.05
    # The same map to within the warp's redistribution between neighbouring cells.
    a = dens.emissions.values.astype(np.float64)
    b = sums.emissions.values.astype(np.float64)
    assert np.abs(a - b).sum() / b.sum() < 0.25
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9


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
    files = export_cog(ds, tmp_path / "tif")
    tifs = [f for f in files if f.suffix == ".tif"]
    assert len({f.name.lower() for f in tifs}) == len(tifs) == 5
    table = pd.read_csv(tmp_path / "tif" / "consumers.csv", keep_default_na=False)
    assert sorted(table["consumer"].unique()) == sorted(consumers)
    for row in table.itertuples():
        with rasterio.open(tmp_path / "tif" / row.file) as src:
            band = src.read(row.band)
        i, k = consumers.index(row.consumer), ["HH", "GOV"].index(row.category)
        np.testing.assert_allclose(band, fp[i, k], rtol=1e-6)

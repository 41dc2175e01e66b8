"""Gridded inventories end to end: EDGAR/CHRED-layout files beside points through `grid` and
`run`; national totals against pymrio, per-cell conservation, ledger, bad input exits 2."""

from __future__ import annotations

import json

import geopandas
import numpy as np
import pandas as pd
import pymrio
import pytest
import rasterio
import shapely
import xarray as xr

import footgrid
from tests.helpers.files import run_cli, write_config
from tests.helpers.rasters import write_chred_tif, write_edgar_flux, write_edgar_v8

STRESSOR = ("emission_type1", "air")


def test_grid_mixes_points_edgar_and_chred_in_one_ledger(tmp_path):
    rng = np.random.default_rng(0)
    v8 = (rng.lognormal(2, 1, (40, 60)) * (rng.random((40, 60)) < 0.4)).astype(np.float32)
    v8[0, 0] = np.nan
    write_edgar_v8(tmp_path / "ene.nc", v8, 110.0, 30.0)
    chred = rng.lognormal(1, 1, (8, 10)).astype(np.float32)
    chred[2, 3] = -9999
    write_chred_tif(tmp_path / "chred.tif", chred, 500_000.0, 3_600_000.0, 10_000.0)
    pts = pd.DataFrame({"lon": [112.0, 113.5], "lat": [31.0, 32.5], "co2_t": [100.0, 50.0],
                        "sector": ["IND", "IND"]})  # fmt: skip
    pts.to_csv(tmp_path / "firms.csv", index=False)
    cfg = write_config(
        tmp_path,
        {
            "points": {"path": "firms.csv", "emission": "co2_t"},
            "rasters": [
                {"path": "ene.nc", "sector": "ENE"},
                {"path": "chred.tif", "sector": "IND", "units": "t"},
            ],
            "grid": {"crs": "EPSG:8857", "resolution": 10_000},
            "output": {"path": "out.zarr"},
        },
    )
    r = run_cli("grid", str(cfg))
    assert r.returncode == 0, r.stderr
    ds = xr.open_zarr(tmp_path / "out.zarr")
    # Independent totals: the files read with xarray and rasterio.
    with xr.open_dataset(tmp_path / "ene.nc", engine="h5netcdf") as e:
        edgar = float(np.nansum(e["emissions"].values.astype(np.float64)))
    with rasterio.open(tmp_path / "chred.tif") as t:
        band = t.read(1).astype(np.float64)
        tif = float(band[band != t.nodata].sum())
    expect = edgar + tif + 150.0
    assert ds.attrs["input_total"] == pytest.approx(expect, rel=1e-12)
    assert float(ds.emissions.astype("f8").sum()) == pytest.approx(expect, rel=1e-6)
    dropped = json.loads(ds.attrs["dropped"])
    assert dropped["nodata"]["points"] == 2  # the NaN of EDGAR (its fill) and CHRED's -9999
    assert abs(ds.attrs["mass_balance_residual"]) < 1e-9 * expect


def test_aligned_edgar_onto_a_lonlat_grid_is_a_block_sum(tmp_path):
    v = np.random.default_rng(1).integers(0, 64, (20, 30)).astype(np.float32)
    write_edgar_v8(tmp_path / "e.nc", v, 10.0, 40.0)
    cfg = write_config(
        tmp_path,
        {
            "rasters": [{"path": "e.nc", "sector": "ENE"}],
            "grid": {"crs": "EPSG:4326", "resolution": 0.5, "bounds": [10, 40, 13, 42]},
            "output": {"path": "o.zarr", "dtype": "float64"},
        },
    )
    ds = footgrid.grid_emissions(cfg)
    north_up = v[::-1].astype(np.float64)
    blocks = north_up.reshape(4, 5, 6, 5).sum(axis=(1, 3))
    np.testing.assert_array_equal(ds.emissions.values, blocks)


@pytest.fixture(scope="module")
def pym():
    io = pymrio.load_test()
    io.calc_all()
    return io


def test_run_national_totals_equal_pymrio(tmp_path, pym):
    """One EDGAR file per MRIO sector; regions from polygons (six 2° strips); each producing
    row's F value is placed in cells inside its strip: the totals by consumer equal pymrio's
    consumption-based accounts, and footprint sums to emissions in every cell."""
    pym_raw = pymrio.load_test()
    pym_raw.save_all(tmp_path / "mrio")
    F = pym.emissions.F.loc[STRESSOR]
    regions = list(F.index.unique(level=0))
    sectors = list(F.index.unique(level=1))
    strips = [shapely.box(2 * i, 0, 2 * (i + 1), 3) for i in range(len(regions))]
    geopandas.GeoDataFrame({"reg": regions}, geometry=strips, crs=4326).to_file(
        tmp_path / "regions.gpkg"
    )
    rasters = []
    for j, s in enumerate(sectors):
        v = np.zeros((30, 10 * 2 * len(regions)))  # 0.1° cells over lon 0..12, lat 0..3
        for i, r in enumerate(regions):
            v[10 + j, 20 * i + 5 : 20 * i + 7] = F[(r, s)] / 2  # inside strip i
        write_edgar_v8(tmp_path / f"{s}.nc", v, 0.0, 0.0, dtype="float64")
        rasters.append({"path": f"{s}.nc", "sector": s})
    cfg = write_config(
        tmp_path,
        {
            "rasters": rasters,
            "regions": {"path": "regions.gpkg", "field": "reg"},
            "mrio": {"path": "mrio", "format": "pymrio"},
            "grid": {"crs": "EPSG:8857", "resolution": 10_000, "tile": 16},
            "output": {"path": "fp.zarr", "dtype": "float64"},
        },
    )
    r = run_cli("run", str(cfg))
    assert r.returncode == 0, r.stderr
    ds = xr.open_zarr(tmp_path / "fp.zarr")
    by_consumer = ds.totals.sum(("region", "sector", "category")).to_series()
    d_cba = pym.emissions.D_cba_reg.loc[STRESSOR]
    f_y = pym.emissions.F_Y.loc[STRESSOR].groupby(level="region").sum()
    ref = d_cba - f_y.reindex(d_cba.index)
    np.testing.assert_allclose(by_consumer[ref.index].to_numpy(), ref.to_numpy(), rtol=1e-9)
    fp = ds.footprint.values.sum(axis=(0, 1))
    np.testing.assert_allclose(fp, ds.emissions.values, rtol=1e-9, atol=1e-9 * fp.max())
    assert float(ds.emissions.sum()) == pytest.approx(float(F.sum()), rel=1e-12)


@pytest.mark.parametrize(
    ("entry", "fixture", "key"),
    [
        ({"units": "ppm"}, "v8", "rasters[0].units"),
        ({"variable": "co2"}, "v8", "rasters[0].variable"),
        ({}, "flux3d", "rasters[0].time"),
        ({"units": "t"}, "nocrs", "rasters[0].crs"),
        ({"units": "t", "band": 3}, "tif", "rasters[0].band"),
    ],
)
def test_bad_rasters_exit_2_with_file_key_and_fix(tmp_path, entry, fixture, key):
    import rasterio as rio
    from affine import Affine

    if fixture == "v8":
        name = write_edgar_v8(tmp_path / "a.nc", np.ones((3, 3)), 0.0, 0.0).name
    elif fixture == "flux3d":
        name = write_edgar_flux(tmp_path / "a.nc", np.ones((2, 3, 3)), 0, 0, [2000, 2001]).name
    elif fixture == "tif":
        name = write_chred_tif(tmp_path / "a.tif", np.ones((3, 3)), 0.0, 1e6, 1e4).name
    else:
        name = "a.tif"
        with rio.open(tmp_path / name, "w", driver="GTiff", width=2, height=2, count=1,
                      dtype="float32", transform=Affine(1e4, 0, 0, 0, -1e4, 1e6)) as d:  # fmt: skip
            d.write(np.ones((1, 2, 2), dtype=np.float32))
    cfg = write_config(
        tmp_path,
        {
            "rasters": [{"path": name, "sector": "ENE", **entry}],
            "grid": {"crs": "EPSG:8857"},
            "output": {"path": "o.zarr"},
        },
    )
    r = run_cli("grid", str(cfg))
    assert r.returncode == 2, r.stderr
    assert name in r.stderr and key in r.stderr and "Fix:" in r.stderr
    assert "Traceback" not in r.stderr


def test_unknown_raster_key_is_a_config_error_with_suggestion(tmp_path):
    cfg = write_config(
        tmp_path,
        {
            "rasters": [{"path": "a.nc", "sector": "ENE", "varible": "x"}],
            "output": {"path": "o.zarr"},
        },
    )
    r = run_cli("grid", str(cfg))
    assert r.returncode == 2
    assert "rasters[0].varible" in r.stderr and "variable" in r.stderr

"""`grid`: points file -> Zarr store, against numpy.histogram2d, rasterio, and the mass balance."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import rioxarray  # noqa: F401
import xarray as xr

import footgrid
from footgrid.grid import Grid
from tests.helpers.files import random_points, write_config, write_points


def _config(tmp_path, points, **grid):
    return {
        "points": {"path": points.name, "emission": "co2_t"},
        "grid": {"resolution": 25_000, "tile": 16, **grid},
        "output": {"path": "out.zarr", "overwrite": True},
    }


def _assert_balance(ds):
    a = ds.attrs
    dropped = sum(v["emission"] for v in json.loads(a["dropped"]).values())
    assert a["complete"] == 1
    assert a["input_total"] == pytest.approx(a["gridded_total"] + dropped, rel=1e-12)
    assert float(ds.emissions.sum(dtype="f8")) == pytest.approx(a["gridded_total"], rel=1e-6)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_grid_equals_histogram2d_on_projected_points(tmp_path, suffix):
    df = random_points(3000, seed=3)
    pts = write_points(tmp_path / f"firms{suffix}", df)
    ds = footgrid.grid_emissions(write_config(tmp_path, _config(tmp_path, pts)))
    crs = pyproj.CRS.from_wkt(ds.attrs["grid_crs"])
    assert ds.rio.crs == crs
    x, y = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(df.lon, df.lat)
    xe = np.append(ds.x.values - 12_500, ds.x.values[-1] + 12_500)
    ye = np.append(ds.y.values[::-1] - 12_500, ds.y.values[0] + 12_500)
    ref, _, _ = np.histogram2d(x, y, bins=[xe, ye], weights=df.co2_t)
    np.testing.assert_allclose(ds.emissions.values, ref.T[::-1], rtol=1e-6)  # float32 store
    _assert_balance(ds)


def test_dropped_points_are_counted_by_reason(tmp_path):
    df = random_points(500, seed=4)
    df.loc[0, "lon"] = np.nan
    df.loc[1, "lat"] = np.inf
    df.loc[2, "lat"] = 95.0
    df.loc[3, "co2_t"] = np.nan
    df.loc[4, "co2_t"] = -12.5
    df.loc[5, "sector"] = None
    df.loc[6, ["lon", "lat"]] = [60.0, 10.0]  # outside explicit bounds below
    pts = write_points(tmp_path / "firms.parquet", df)
    g = Grid.from_bounds((-1.5e6, -1.2e6, 1.5e6, 1.2e6), 25_000, "EPSG:3857")
    cfg = _config(tmp_path, pts, crs="EPSG:3857", bounds=[-9e6, 1e6, -1e6, 6e6])
    cfg["grid"]["bounds"] = [1.05e7, 2.4e6, 1.4e7, 5.2e6]
    ds = footgrid.grid_emissions(write_config(tmp_path, cfg))
    dropped = json.loads(ds.attrs["dropped"])
    assert dropped["invalid_coordinates"]["points"] == 3
    assert dropped["missing_emission"] == {"points": 1, "emission": 0.0}
    assert dropped["negative_emission"] == {"points": 1, "emission": -12.5}
    assert dropped["missing_sector"]["points"] == 1
    assert dropped["outside_grid"]["points"] == 1
    assert dropped["outside_grid"]["emission"] == pytest.approx(df.co2_t[6])
    _assert_balance(ds)
    del g


def test_geotiff_pixel_matches_rasterio_index(tmp_path):
    df = pd.DataFrame(
        {"lon": [116.39, 121.47, 113.26], "lat": [39.91, 31.23, 23.13], "co2_t": [5.0, 7.0, 11.0],
         "sector": ["ELEC"] * 3}
    )  # fmt: skip
    pts = write_points(tmp_path / "firms.csv", df)
    cfg = _config(tmp_path, pts)
    cfg["output"]["geotiff"] = True
    ds = footgrid.grid_emissions(write_config(tmp_path, cfg))
    with rasterio.open(tmp_path / "out_geotiff" / "emissions.tif") as src:
        band = src.read(1)
        x, y = pyproj.Transformer.from_crs(4326, src.crs, always_xy=True).transform(
            df.lon.to_numpy(), df.lat.to_numpy()
        )
        for xi, yi, e in zip(x, y, df.co2_t, strict=True):
            row, col = src.index(xi, yi)
            assert band[row, col] == pytest.approx(e)
        assert src.transform == ds.rio.transform()
    reopened = xr.open_zarr(tmp_path / "out.zarr")
    grid_crs = pyproj.CRS.from_wkt(ds.attrs["grid_crs"])
    assert reopened.rio.crs == grid_crs
    assert reopened.rio.transform() == ds.rio.transform()
    assert reopened.rio.transform().a == 25_000


def test_store_chunks_follow_the_tile_and_are_compressed(tmp_path, small_points):
    ds = footgrid.grid_emissions(write_config(tmp_path, _config(tmp_path, small_points)))
    assert ds.emissions.encoding["chunks"] == (16, 16)
    assert ds.emissions.encoding["compressors"]
    assert ds.emissions.dtype == np.float32
    assert ds.cell_area.values[0, 0] == pytest.approx(25_000**2)
    assert ds.territory.values.all()


def test_glob_of_files_and_x_y_columns_with_crs(tmp_path):
    df = random_points(400, seed=7)
    x, y = pyproj.Transformer.from_crs(4326, 3857, always_xy=True).transform(df.lon, df.lat)
    df = df.assign(px=x, py=y).drop(columns=["lon", "lat"])
    write_points(tmp_path / "a.parquet", df.iloc[:150])
    write_points(tmp_path / "b.parquet", df.iloc[150:])
    cfg = {
        "points": {"path": "*.parquet", "x": "px", "y": "py", "crs": "EPSG:3857",
                   "emission": "co2_t"},
        "grid": {"crs": "EPSG:3857", "resolution": 50_000},
        "output": {"path": "out.zarr"},
    }  # fmt: skip
    ds = footgrid.grid_emissions(write_config(tmp_path, cfg))
    assert ds.attrs["input_points"] == 400
    assert float(ds.emissions.sum(dtype="f8")) == pytest.approx(df.co2_t.sum(), rel=1e-6)


def test_geoparquet_points(tmp_path):
    import geopandas as gpd

    df = random_points(300, seed=8)
    gdf = gpd.GeoDataFrame(
        df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326
    )
    gdf.to_parquet(tmp_path / "firms.parquet")
    cfg = {
        "points": {"path": "firms.parquet", "emission": "co2_t"},
        "grid": {"resolution": 50_000},
        "output": {"path": "out.zarr"},
    }
    ds = footgrid.grid_emissions(write_config(tmp_path, cfg))
    assert float(ds.emissions.sum(dtype="f8")) == pytest.approx(df.co2_t.sum(), rel=1e-6)


def test_geographic_grid_stores_geodesic_cell_areas(tmp_path):
    df = random_points(500, seed=9)
    pts = write_points(tmp_path / "firms.parquet", df)
    cfg = {
        "points": {"path": pts.name, "emission": "co2_t"},
        "grid": {"crs": "EPSG:4326", "resolution": 0.5, "tile": 16},
        "output": {"path": "out.zarr"},
    }
    ds = footgrid.grid_emissions(write_config(tmp_path, cfg))
    g = Grid.from_bounds(
        (df.lon.min(), df.lat.min(), df.lon.max(), df.lat.max()), 0.5, "EPSG:4326", 16
    )
    assert ds.sizes["y"] == g.ny and ds.sizes["x"] == g.nx
    np.testing.assert_allclose(ds.cell_area.values, g.cell_area(), rtol=1e-12)
    # Geodesic areas: smaller towards the pole, about 51.5 * 55.6 km² at 22.25°N.
    assert ds.cell_area.values[0, 0] < ds.cell_area.values[-1, 0]
    assert float(ds.emissions.sum(dtype="f8")) == pytest.approx(df.co2_t.sum(), rel=1e-6)

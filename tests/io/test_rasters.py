"""Raster readers (EDGAR v8, older EDGAR flux, CHRED-like GeoTIFF), units, errors, and the
split of border cells between regions, against xarray/rasterio/gdalinfo/pyproj/shapely."""

from __future__ import annotations

import json
import subprocess

import geopandas
import numpy as np
import pyproj
import pytest
import shapely

from footgrid.errors import InputError
from footgrid.grid import Grid
from footgrid.io.rasters import (
    account,
    lonlat_cell_area,
    read_layers,
    region_split,
    unit_kind,
)
from footgrid.ledger import Ledger
from tests.helpers.rasters import CHINA_ALBERS, write_chred_tif, write_edgar_flux, write_edgar_v8


def _src(path, **kw):
    base = {"path": str(path), "sector": "ENE", "region": None, "variable": None, "band": None,
            "units": None, "crs": None, "nodata": None, "time": None}  # fmt: skip
    base.update(kw)
    return base


def test_edgar_v8_layout_is_read_north_up_in_tonnes(tmp_path):
    rng = np.random.default_rng(0)
    v = rng.lognormal(2, 1, (20, 30)).astype(np.float32)
    path = write_edgar_v8(tmp_path / "v8.nc", v, 110.0, 30.0)
    (layer,) = read_layers(_src(path), 0)
    g = layer.grid
    assert (g.xmin, g.ymax, g.nx, g.ny) == (pytest.approx(110.0), pytest.approx(32.0), 30, 20)
    assert g.res_x == pytest.approx(0.1) and g.crs.equals(pyproj.CRS.from_epsg(4326))
    # Row 0 of the layer is the north: EDGAR stores south first.
    np.testing.assert_array_equal(layer.mass, v[::-1].astype(np.float64))


def test_lonlat_cell_area_is_the_ellipsoidal_quadrangle():
    """Closed form vs pyproj.Geod on the cell's outline with densified parallels."""
    g = Grid(pyproj.CRS.from_epsg(4326), 10.0, 89.9, 0.1, 0.1, 1, 1799)
    ours = lonlat_cell_area(g)
    geod = pyproj.Geod(ellps="WGS84")
    for row in (0, 500, 899, 1798):
        top = 89.9 - 0.1 * row
        lons = np.r_[np.linspace(10, 10.1, 200), np.linspace(10.1, 10, 200)]
        lats = np.r_[np.full(200, top - 0.1), np.full(200, top)]
        ref = abs(geod.polygon_area_perimeter(lons, lats)[0])
        assert ours[row] == pytest.approx(ref, rel=1e-6)
    # The whole sphere of cells adds up to the ellipsoid's area.
    world = Grid(pyproj.CRS.from_epsg(4326), -180.0, 90.0, 0.1, 0.1, 3600, 1800)
    total = lonlat_cell_area(world).sum() * 3600
    a, b = geod.a, geod.b
    e = np.sqrt(1 - (b / a) ** 2)
    exact = 2 * np.pi * a * a * (1 + (1 - e * e) / e * np.arctanh(e))
    assert total == pytest.approx(exact, rel=1e-12)


def test_older_flux_layout_converts_with_area_and_seconds(tmp_path):
    flux = np.full((2, 4, 5), 1e-9)
    flux[1] *= 2
    path = write_edgar_flux(tmp_path / "old.nc", flux, 0.0, 40.0, years=[2015, 2016])
    (layer,) = read_layers(_src(path, time=1), 0)  # 2016: a leap year
    geod = pyproj.Geod(ellps="WGS84")
    lons = np.r_[np.linspace(0, 0.1, 50), np.linspace(0.1, 0, 50)]
    lats = np.r_[np.full(50, 40.3), np.full(50, 40.4)]  # the top row: 40.3-40.4
    area = abs(geod.polygon_area_perimeter(lons, lats)[0])
    assert layer.mass[0, 0] == pytest.approx(2e-9 * area * 366 * 86400 / 1000, rel=1e-6)
    (by_label,) = read_layers(_src(path, time="2015-01-01"), 0)
    assert by_label.mass[0, 0] == pytest.approx(1e-9 * area * 365 * 86400 / 1000, rel=1e-6)


def test_chred_like_geotiff_with_nodata(tmp_path):
    v = np.arange(12, dtype=np.float32).reshape(3, 4) * 10
    v[1, 2] = -9999
    path = write_chred_tif(tmp_path / "chred.tif", v, 0.0, 3_500_000.0, 10_000.0)
    info = json.loads(subprocess.run(["gdalinfo", "-json", str(path)], capture_output=True,
                                     text=True, check=True).stdout)  # fmt: skip
    (layer,) = read_layers(_src(path, units="t"), 0)
    assert layer.grid.xmin == info["geoTransform"][0]
    assert layer.grid.ymax == info["geoTransform"][3]
    assert layer.grid.res_x == info["geoTransform"][1]
    assert info["bands"][0]["noDataValue"] == -9999
    assert layer.nodata.sum() == 1 and layer.nodata[1, 2]
    led = Ledger()
    m = account(layer, led)
    assert m.sum() == pytest.approx(v[v != -9999].sum())
    assert led.dropped["nodata"] == [1, 0.0]
    assert led.input_total == pytest.approx(v[v != -9999].sum())


def test_areal_units_use_the_projected_cell_area(tmp_path):
    v = np.ones((2, 2), dtype=np.float32)
    path = write_chred_tif(tmp_path / "a.tif", v, 0.0, 3_000_000.0, 10_000.0)
    (layer,) = read_layers(_src(path, units="t km-2 yr-1"), 0)
    crs = pyproj.CRS.from_user_input(CHINA_ALBERS)
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(5000, 2995000)
    scale = pyproj.Proj(crs).get_factors(lon, lat).areal_scale
    assert layer.mass[0, 0] == pytest.approx(100.0 / scale, rel=1e-9)


def test_nan_negative_and_infinite_cells_are_in_the_ledger(tmp_path):
    v = np.ones((4, 4), dtype=np.float32)
    v[0, 0], v[0, 1], v[0, 2] = np.nan, -3.0, np.inf
    path = write_edgar_v8(tmp_path / "bad.nc", v, 0.0, 0.0)
    (layer,) = read_layers(_src(path), 0)
    led = Ledger()
    m = account(layer, led)
    assert m.sum() == 13.0
    assert led.dropped["negative_emission"] == [1, -3.0]
    assert led.dropped["non_finite"][0] + led.dropped.get("nodata", [0])[0] == 2
    assert led.input_total - led.dropped_total == pytest.approx(13.0)


@pytest.mark.parametrize(
    ("kw", "key", "text"),
    [
        ({"units": "furlongs"}, "rasters[0].units", "unknown raster units"),
        ({"variable": "co2"}, "rasters[0].variable", "no variable 'co2'"),
    ],
)
def test_netcdf_errors_name_file_key_and_fix(tmp_path, kw, key, text):
    path = write_edgar_v8(tmp_path / "v8.nc", np.ones((3, 3)), 0.0, 0.0)
    with pytest.raises(InputError) as exc:
        read_layers(_src(path, **kw), 0)
    assert exc.value.key == key and str(path) in exc.value.message
    assert text in exc.value.message and exc.value.fix


def test_missing_units_band_crs_and_time_are_errors(tmp_path):
    tif = write_chred_tif(tmp_path / "c.tif", np.ones((2, 2)), 0.0, 1e6, 1e4)
    with pytest.raises(InputError, match="units cannot be read") as exc:
        read_layers(_src(tif), 0)
    assert exc.value.key == "rasters[0].units"
    with pytest.raises(InputError, match="no band 2") as exc:
        read_layers(_src(tif, band=2, units="t"), 0)
    assert exc.value.key == "rasters[0].band"
    import rasterio
    from affine import Affine

    bare = tmp_path / "bare.tif"  # georeferenced, but without a CRS
    with rasterio.open(bare, "w", driver="GTiff", width=2, height=2, count=1, dtype="float32",
                       transform=Affine(1e4, 0, 0, 0, -1e4, 1e6)) as dst:  # fmt: skip
        dst.write(np.ones((1, 2, 2), dtype=np.float32))
    with pytest.raises(InputError, match="no CRS") as exc:
        read_layers(_src(bare, units="t"), 0)
    assert exc.value.key == "rasters[0].crs" and "crs =" in exc.value.fix
    flux = write_edgar_flux(tmp_path / "f.nc", np.ones((3, 2, 2)), 0.0, 0.0, [2010, 2011, 2012])
    with pytest.raises(InputError, match="no step was chosen") as exc:
        read_layers(_src(flux), 0)
    assert exc.value.key == "rasters[0].time"


def test_unit_names():
    assert unit_kind("Tonnes") == "mass" and unit_kind("kg m-2 s-1") == "flux"
    assert unit_kind("t km-2 yr-1") == "areal" and unit_kind("kg/m2/s") == "flux"
    assert unit_kind("ppm") is None


def test_border_cell_is_split_by_shapely_areas():
    """Two regions share a wavy border through a row of cells; coast leaves one cell half at
    sea. Shares equal the shapely intersection areas (normalised over the regions)."""
    crs = pyproj.CRS.from_epsg(8857)
    grid = Grid(crs, 0.0, 40_000.0, 10_000.0, 10_000.0, 4, 4)
    border = [(0, 0), (13_000, 0), (17_000, 20_000), (21_000, 40_000), (0, 40_000)]
    west = shapely.Polygon(border)
    east = shapely.Polygon([(13_000, 0), (35_000, 0), (35_000, 40_000), (21_000, 40_000),
                            (17_000, 20_000)])  # fmt: skip
    polys = geopandas.GeoDataFrame({"reg": ["W", "E"]}, geometry=[west, east], crs=crs)
    cells = np.arange(16)
    idx, reg, share, labels = region_split(grid, cells, polys, "reg")
    assert labels == ["E", "W"]
    for i in range(16):
        r, c = divmod(i, 4)
        box = shapely.box(c * 1e4, 4e4 - (r + 1) * 1e4, (c + 1) * 1e4, 4e4 - r * 1e4)
        a = {"W": box.intersection(west).area, "E": box.intersection(east).area}
        tot = a["W"] + a["E"]
        got = {labels[g]: s for j, g, s in zip(idx, reg, share, strict=True) if j == i}
        if tot == 0:
            assert got == {}
            continue
        for lab in ("W", "E"):
            assert got.get(lab, 0.0) == pytest.approx(a[lab] / tot, abs=1e-12)
    # Column 3 is half at sea (35 km coast): wholly given to E, the only region it touches.
    assert {labels[g] for j, g in zip(idx, reg, strict=True) if j == 3} == {"E"}

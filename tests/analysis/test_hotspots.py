"""Top cells and zonal sums: zonal sums against shapely point-in-polygon aggregation."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import Polygon, box

from footgrid.analysis import layers as L
from footgrid.analysis.hotspots import OUTSIDE, rasterize_zones, top_cells, zonal_sums
from footgrid.errors import InputError
from tests.helpers.stores import ALBERS, build_dataset

NY, NX = 20, 30


@pytest.fixture(scope="module")
def grid():
    ds = build_dataset(ny=NY, nx=NX, consumers=("CN",), categories=("all",))
    return L.grid_info(ds)


def cell_box(grid, r0, c0, r1, c1):
    """Polygon covering rows r0..r1-1 and columns c0..c1-1 (edges on cell edges)."""
    t = grid.transform
    return box(t.c + c0 * t.a, t.f + r1 * t.e, t.c + c1 * t.a, t.f + r0 * t.e)


def test_zonal_sums_equal_shapely_point_in_polygon(grid, tmp_path):
    rng = np.random.default_rng(7)
    t = grid.transform
    # Points strictly inside cells (never on an edge), several per cell in places.
    n = 600
    rows = rng.integers(0, NY, n)
    cols = rng.integers(0, NX, n)
    px = t.c + (cols + rng.uniform(0.05, 0.95, n)) * t.a
    py = t.f + (rows + rng.uniform(0.05, 0.95, n)) * t.e
    emission = rng.lognormal(2.0, 1.5, n)
    layer = np.zeros((NY, NX))
    np.add.at(layer, (rows, cols), emission)

    # Polygon-aligned zones: rectangles, an L shape, a square with a hole, a split zone
    # (two polygons with one label) and a polygon partly outside the grid.
    ell = shapely.union(cell_box(grid, 0, 0, 8, 3), cell_box(grid, 5, 3, 8, 9))
    holed = Polygon(
        cell_box(grid, 10, 10, 18, 18).exterior.coords,
        [cell_box(grid, 12, 12, 15, 15).exterior.coords],
    )
    polys = gpd.GeoDataFrame(
        {
            "name": ["ell", "holed", "split", "split", "edge"],
            "geometry": [
                ell,
                holed,
                cell_box(grid, 0, 20, 4, 25),
                cell_box(grid, 15, 0, 20, 4),
                cell_box(grid, 14, 26, 25, 35),  # extends beyond the grid
            ],
        },
        crs=ALBERS,
    )
    path = tmp_path / "zones.gpkg"
    polys.to_file(path, driver="GPKG")

    zones = rasterize_zones(str(path), "name", grid)
    table = zonal_sums({"total": layer}, zones).set_index("name")

    points = shapely.points(px, py)
    expected = {}
    for name, group in polys.groupby("name"):
        zone = shapely.union_all(group.geometry.to_numpy())
        expected[name] = emission[shapely.contains(zone, points)].sum()
    for name, value in expected.items():
        assert table.loc[name, "total"] == pytest.approx(value, rel=1e-12, abs=1e-12)
    inside_any = shapely.contains(shapely.union_all(polys.geometry.to_numpy()), points)
    assert table.loc[OUTSIDE, "total"] == pytest.approx(emission[~inside_any].sum(), rel=1e-12)
    assert table["total"].sum() == pytest.approx(emission.sum(), rel=1e-12)
    assert table["total_share"].sum() == pytest.approx(1.0)
    # Ranked descending, the outside row last.
    ranked = table.drop(index=OUTSIDE)["total"].to_numpy()
    assert np.all(np.diff(ranked) <= 0)
    assert table.index[-1] == OUTSIDE


def test_zones_are_centre_assigned(grid):
    t = grid.transform
    # Covers 40 % of cell (0, 0) and the centre of cell (0, 1): only (0, 1) joins the zone.
    poly = box(t.c + 0.6 * t.a, t.f + 1 * t.e, t.c + 2 * t.a, t.f)
    zones = rasterize_zones(gpd.GeoDataFrame({"z": ["a"]}, geometry=[poly], crs=ALBERS), "z", grid)
    assert zones.index[0, 0] == -1
    assert zones.index[0, 1] == 0
    assert (zones.index == 0).sum() == 1


def test_polygons_in_another_crs_are_reprojected(grid):
    to_ll = pyproj.Transformer.from_crs(ALBERS, "EPSG:4326", always_xy=True)
    r, c = 5, 7
    x, y = grid.x[c], grid.y[r]
    # A small lon/lat square around one cell centre (well inside the cell).
    lon, lat = to_ll.transform(x, y)
    square = box(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01)
    gdf = gpd.GeoDataFrame({"z": ["one"]}, geometry=[square], crs="EPSG:4326")
    zones = rasterize_zones(gdf, "z", grid)
    assert np.argwhere(zones.index == 0).tolist() == [[r, c]]


def test_zonal_area_column(grid):
    zones = rasterize_zones(
        gpd.GeoDataFrame({"z": ["a"]}, geometry=[cell_box(grid, 0, 0, 2, 3)], crs=ALBERS), "z", grid
    )
    table = zonal_sums({"v": np.ones((NY, NX))}, zones, areas=np.full((NY, NX), 1e8))
    assert table.loc[0, "area_km2"] == pytest.approx(6 * 100.0)
    assert table.loc[0, "v"] == 6.0


def test_top_cells_order_ties_and_coordinates(grid):
    values = np.zeros((NY, NX))
    values[3, 4] = 10.0
    values[1, 2] = 5.0
    values[7, 8] = 5.0  # tie with (1, 2): row-major order decides
    values[0, 0] = 1.0
    table = top_cells(values, grid, n=10, areas=np.full((NY, NX), 1e8))
    assert len(table) == 4  # zero cells are never listed
    assert table[["row", "col"]].to_numpy().tolist() == [[3, 4], [1, 2], [7, 8], [0, 0]]
    assert table["value"].tolist() == [10.0, 5.0, 5.0, 1.0]
    np.testing.assert_allclose(table["share"], [10 / 21, 5 / 21, 5 / 21, 1 / 21])
    np.testing.assert_allclose(table["per_km2"], table["value"] / 100.0)
    to_ll = pyproj.Transformer.from_crs(ALBERS, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(grid.x[4], grid.y[3])
    assert table.loc[0, ["x", "y"]].tolist() == [grid.x[4], grid.y[3]]
    assert table.loc[0, "lon"] == pytest.approx(lon) and table.loc[0, "lat"] == pytest.approx(lat)
    assert top_cells(values, grid, n=2)["rank"].tolist() == [1, 2]


def test_bad_polygon_inputs(grid, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        rasterize_zones(str(tmp_path / "missing.gpkg"), "name", grid)
    path = tmp_path / "z.geojson"
    gpd.GeoDataFrame({"a": ["x"]}, geometry=[cell_box(grid, 0, 0, 1, 1)], crs=ALBERS).to_file(
        path, driver="GeoJSON"
    )
    with pytest.raises(InputError, match="no field 'name'") as err:
        rasterize_zones(str(path), "name", grid)
    assert err.value.column == "name"

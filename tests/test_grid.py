"""The Grid value: snapping, auto CRS, cell areas, tiles."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest

from footgrid.errors import ConfigError
from footgrid.grid import Grid


def test_from_bounds_snaps_outward_to_whole_cells():
    g = Grid.from_bounds((1234.0, -5678.0, 98765.0, 4321.0), 1000, "EPSG:3857")
    assert (g.xmin, g.ymin, g.xmax, g.ymax) == (1000.0, -6000.0, 99000.0, 5000.0)
    assert g.shape == (11, 98)
    assert g.transform.a == 1000 and g.transform.e == -1000
    assert g.x[0] == 1500.0 and g.y[0] == 4500.0 and np.all(np.diff(g.y) < 0)


def test_degenerate_bounds_give_one_cell():
    g = Grid.from_bounds((5.0, 5.0, 5.0, 5.0), 10, "EPSG:3857")
    assert g.shape == (1, 1)


def test_bad_bounds_and_resolution_are_config_errors():
    with pytest.raises(ConfigError, match="xmin <= xmax"):
        Grid.from_bounds((10, 0, 0, 10), 1, "EPSG:3857")
    with pytest.raises(ConfigError, match="positive"):
        Grid.from_bounds((0, 0, 10, 10), -1, "EPSG:3857")


def test_auto_crs_is_albers_equal_area_fitted_to_the_data():
    lon = np.array([73.5, 134.8])
    lat = np.array([18.2, 53.5])
    crs = Grid.auto_crs(lon, lat)
    conv = crs.coordinate_operation
    assert conv.method_name == "Albers Equal Area"
    params = {p.name: p.value for p in conv.params}
    assert 100 <= params["Longitude of false origin"] <= 108
    assert params["Latitude of 1st standard parallel"] < params["Latitude of 2nd standard parallel"]
    g = Grid.from_bounds((-3e6, -2e6, 3e6, 2e6), 10_000, crs)
    assert g.is_equal_area
    np.testing.assert_array_equal(g.cell_area(), 1e8)


def test_geographic_cell_area_is_geodesic_per_row():
    g = Grid.from_bounds((100.0, 20.0, 101.0, 50.0), 0.5, "EPSG:4326")
    area = g.cell_area()
    geod = pyproj.Geod(ellps="WGS84")
    for row in (0, 17, g.ny - 1):
        top = g.ymax - row * 0.5
        ref, _ = geod.polygon_area_perimeter([100, 100.5, 100.5, 100], [top - 0.5] * 2 + [top] * 2)
        assert area[row, 0] == pytest.approx(abs(ref), rel=1e-9)
    assert area[0, 0] < area[-1, 0]  # cells shrink towards the pole
    assert np.all(area[:, 0:1] == area)


def test_non_equal_area_projection_uses_areal_scale():
    g = Grid.from_bounds((0, 5e6, 1e5, 5.1e6), 10_000, "EPSG:3857")
    assert not g.is_equal_area
    # At ~41°N Web Mercator inflates areas by 1/cos²(lat): about 1.75.
    lat = np.degrees(2 * np.arctan(np.exp(5.05e6 / 6378137)) - np.pi / 2)
    expected = 1e8 * np.cos(np.radians(lat)) ** 2
    assert g.cell_area().mean() == pytest.approx(expected, rel=5e-3)


@pytest.mark.parametrize(("ny", "nx", "tile"), [(10, 10, 4), (16, 16, 16), (1, 37, 16), (33, 5, 8)])
def test_tiles_cover_the_grid_exactly_once(ny, nx, tile):
    g = Grid("EPSG:3857", 0.0, float(ny), 1.0, 1.0, nx, ny, tile)
    hits = np.zeros(g.shape, dtype=int)
    for _, rows, cols in g.tiles():
        hits[rows, cols] += 1
    assert (hits == 1).all()
    ty, tx = g.chunks
    assert sum(ty) == ny and sum(tx) == nx and len(ty) * len(tx) == g.n_tiles


def test_grid_is_immutable_and_tokenizes_deterministically():
    from dask.base import tokenize

    a = Grid.from_bounds((0, 0, 10, 10), 1, "EPSG:3857")
    b = Grid.from_bounds((0, 0, 10, 10), 1, "EPSG:3857")
    assert tokenize(a) == tokenize(b)
    with pytest.raises(AttributeError):
        a.nx = 3  # type: ignore[misc]

"""Map furniture: the north arrow against pyproj's meridian convergence, the scale bar length,
neighbouring land clipped and projected."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pyproj
import pytest
from affine import Affine
from shapely.geometry import box

from footgrid.analysis.context import _nice, map_context
from footgrid.analysis.layers import GridInfo
from tests.helpers.stores import ALBERS


def _grid(lon: float, lat: float, res: float = 10_000.0, n: int = 100) -> GridInfo:
    x, y = pyproj.Transformer.from_crs("EPSG:4326", ALBERS, always_xy=True).transform(lon, lat)
    left, top = x - n * res / 2, y + n * res / 2
    t = Affine(res, 0, left, 0, -res, top)
    xs = left + res * (np.arange(n) + 0.5)
    ys = top - res * (np.arange(n) + 0.5)
    return GridInfo(ALBERS, t, (n, n), xs, ys)


@pytest.mark.parametrize(("lon", "lat"), [(105.0, 35.0), (120.0, 30.0), (85.0, 45.0)])
def test_north_arrow_follows_the_meridian_convergence(lon, lat):
    ctx = map_context(_grid(lon, lat))
    angle = math.degrees(math.atan2(ctx.north[0], ctx.north[1]))  # clockwise from +y
    conv = pyproj.Proj(ALBERS).get_factors(lon, lat).meridian_convergence
    assert angle == pytest.approx(-conv, abs=0.3)  # north is rotated against the convergence


def test_scale_bar_length_is_one_two_or_five():
    for length, want in [(0.9, 0.5), (1.0, 1.0), (3.7, 2.0), (740.0, 500.0), (1999.0, 1000.0)]:
        assert _nice(length) == pytest.approx(want)
    assert _nice(0.0) == 0.0


def test_neighbouring_land_is_clipped_and_projected():
    grid = _grid(105.0, 35.0)
    far = box(-10, 40, 0, 50)  # Europe: far outside the grid, clipped away
    near = box(103, 33, 107, 37)
    ctx = map_context(grid, neighbours=gpd.GeoDataFrame(geometry=[far, near], crs="EPSG:4326"))
    assert len(ctx.land) == 1
    ring = ctx.land[0]
    ref = (
        np.column_stack(
            pyproj.Transformer.from_crs("EPSG:4326", ALBERS, always_xy=True).transform(103, 33)
        ).ravel()
        / 1e3
    )  # km
    assert np.min(np.hypot(*(ring - ref).T)) < 1.0

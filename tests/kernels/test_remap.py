"""The mass-conserving remap against an exact shapely overlay and numpy block sums."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footgrid.grid import Grid
from footgrid.io.remap import overlap_weights, remap
from tests.helpers.overlay import cell_polygons, overlay, project_polys, tv_distance

LONLAT = pyproj.CRS.from_epsg(4326)
EQUAL_EARTH = pyproj.CRS.from_epsg(8857)


def _reference(src: Grid, tgt: Grid, values, area_crs=None, cut_lon=None):
    polys = cell_polygons(src.crs, src.xmin, src.ymax, src.res_x, src.res_y, src.nx, src.ny,
                          cut_lon)  # fmt: skip
    return overlay(project_polys(polys, src.crs, tgt.crs), tgt, values, area_crs)


def _ours(src: Grid, tgt: Grid, values):
    w = overlap_weights(src, tgt)
    out, outside = remap(w, values)
    return out, outside, w


def _target_around(src: Grid, crs, res: float, pad: float = 0.0, shift=(0.0, 0.0)) -> Grid:
    tr = pyproj.Transformer.from_crs(src.crs, crs, always_xy=True)
    xs = np.linspace(src.xmin, src.xmax, 50)
    ys = np.linspace(src.ymin, src.ymax, 50)
    X, Y = np.meshgrid(xs, ys)
    px, py = tr.transform(X, Y)
    b = (px.min() - pad + shift[0], py.min() - pad + shift[1],
         px.max() + pad + shift[0], py.max() + pad + shift[1])  # fmt: skip
    return Grid.from_bounds(b, res, crs)


@st.composite
def cases(draw):
    lon0 = draw(st.floats(-170, 160))
    lat0 = draw(st.floats(-75, 65))
    res = draw(st.sampled_from([0.1, 0.25, 0.5]))
    nx, ny = draw(st.integers(2, 8)), draw(st.integers(2, 8))
    projected_source = draw(st.booleans())
    if projected_source:
        scrs = pyproj.CRS.from_proj4(
            f"+proj=laea +lat_0={lat0:.2f} +lon_0={lon0:.2f} +datum=WGS84 +units=m +type=crs"
        )
        sres = res * 100_000
        src = Grid(scrs, draw(st.floats(-5e4, 5e4)), draw(st.floats(-5e4, 5e4)), sres, sres,
                   nx, ny)  # fmt: skip
    else:
        src = Grid(LONLAT, lon0, lat0 + res * ny, res, res, nx, ny)
    kind = draw(st.sampled_from(["eqearth", "albers", "laea", "lonlat"]))
    if kind == "eqearth":
        crs = EQUAL_EARTH
    elif kind == "albers":
        lat1, lat2 = lat0 - 5, lat0 + 5 if abs(lat0) > 1 else lat0 + 9  # |lat1 + lat2| > 0
        crs = pyproj.CRS.from_proj4(
            f"+proj=aea +lat_1={lat1:.1f} +lat_2={lat2:.1f} +lat_0={lat0:.1f} "
            f"+lon_0={lon0 + 3:.1f} +datum=WGS84 +units=m +type=crs"
        )
    elif kind == "laea":
        crs = pyproj.CRS.from_proj4(
            f"+proj=laea +lat_0={lat0 + 1:.1f} +lon_0={lon0 - 2:.1f} +datum=WGS84 +type=crs"
        )
    else:
        crs = LONLAT
    ratio = draw(st.floats(0.3, 4.0))
    cell_m = res * 111_000 * max(np.cos(np.radians(lat0 + res * ny / 2)), 0.2)
    tres = ratio * (cell_m if crs.is_projected else cell_m / 111_000)
    partial = draw(st.booleans())
    span = max(nx, ny) * (cell_m if crs.is_projected else cell_m / 111_000)
    shift = (span * 0.4, -span * 0.3) if partial else (0.0, 0.0)
    pad = 0.0 if partial else 2 * tres
    tgt = _target_around(src, crs, tres, pad, shift)
    values = np.random.default_rng(draw(st.integers(0, 2**16))).lognormal(0, 1, (ny, nx))
    return src, tgt, values, partial


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_random_grids_match_the_exact_overlay(case):
    """TV distance to the shapely overlay <= 1 % (the stated tolerance), totals equal."""
    src, tgt, values, partial = case
    area_crs = None
    if not tgt.crs.is_projected:  # measure true areas of the lon/lat pieces in an LAEA
        c = tgt.xmin + tgt.res_x * tgt.nx / 2, tgt.ymin + tgt.res_y * tgt.ny / 2
        area_crs = pyproj.CRS.from_proj4(f"+proj=laea +lat_0={c[1]} +lon_0={c[0]} +type=crs")
    ref, ref_total = _reference(src, tgt, values, area_crs)
    out, outside, _ = _ours(src, tgt, values)
    total = values.sum()
    assert out.sum() + outside == pytest.approx(total, rel=1e-12)
    if not partial:
        assert out.sum() == pytest.approx(total, rel=1e-12)
        # The reference measures densified polygons: its own total is good to ~1e-8.
        assert ref_total == pytest.approx(total, rel=1e-7)
    assert out.sum() == pytest.approx(ref_total, rel=1e-2, abs=1e-9 * total)
    if ref_total > 1e-6 * total:
        assert tv_distance(ref, out) <= 1e-2


def test_edgar_cells_onto_10_km_equal_area_within_a_tenth_of_a_percent():
    """The default case of the issue: 0.1° cells onto 10 km Equal Earth (TV <= 0.1 %)."""
    src = Grid(LONLAT, 100.0, 45.0, 0.1, 0.1, 30, 30)
    tgt = _target_around(src, EQUAL_EARTH, 10_000, pad=20_000)
    values = np.random.default_rng(3).lognormal(0, 2, (30, 30))
    ref, _ = _reference(src, tgt, values)
    out, outside, _ = _ours(src, tgt, values)
    assert outside == pytest.approx(0, abs=1e-9 * values.sum())
    assert out.sum() == pytest.approx(values.sum(), rel=1e-13)
    assert tv_distance(ref, out) <= 1e-3


@pytest.mark.parametrize("crs", [LONLAT, EQUAL_EARTH])
@pytest.mark.parametrize("k", [2, 5, 10])
def test_aligned_grids_equal_a_numpy_block_sum_exactly(crs, k):
    rng = np.random.default_rng(k)
    res = 0.1 if crs.is_geographic else 1000.0
    x0 = 10.0 if crs.is_geographic else 20_000.0
    y1 = 50.0 if crs.is_geographic else 4_000_000.0
    src = Grid(crs, x0, y1, res, res, 6 * k, 4 * k)
    tgt = Grid(crs, x0 - 2 * k * res, y1 + k * res, k * res, k * res, 10, 7)
    values = rng.integers(0, 1000, (4 * k, 6 * k)) / 8.0  # sums exact in float64
    out, outside, w = _ours(src, tgt, values)
    blocks = values.reshape(4, k, 6, k).sum(axis=(1, 3))
    expect = np.zeros((7, 10))
    expect[1:5, 2:8] = blocks
    np.testing.assert_array_equal(out.reshape(7, 10), expect)
    assert outside == 0.0
    assert np.all(w.frac == 1.0)


def test_aligned_finer_target_splits_each_cell_into_equal_parts():
    src = Grid(EQUAL_EARTH, 0.0, 8000.0, 4000.0, 4000.0, 3, 2)
    tgt = Grid(EQUAL_EARTH, 0.0, 8000.0, 1000.0, 1000.0, 12, 8)
    values = np.arange(1.0, 7.0).reshape(2, 3)
    out, _, w = _ours(src, tgt, values)
    np.testing.assert_array_equal(w.frac, np.full(96, 1 / 16))
    np.testing.assert_array_equal(out.reshape(8, 12), np.kron(values, np.ones((4, 4))) / 16)


def test_cells_across_the_antimeridian_of_the_target_are_split():
    """Equal Earth centred at 150.05°E cuts the world at -29.95°: a column of 0.1° cells
    straddles it and is sampled; masses match the overlay of the cells split at the cut."""
    crs = pyproj.CRS.from_proj4("+proj=eqearth +lon_0=150.05 +datum=WGS84 +units=m +type=crs")
    src = Grid(LONLAT, -30.5, 10.0, 0.1, 0.1, 10, 10)
    half_w, half_h = 17_243_959.06, 8_392_927.6
    tgt = Grid.from_bounds((-half_w, -half_h, half_w, half_h), 25_000, crs)
    values = np.random.default_rng(5).lognormal(0, 1, (10, 10))
    out, outside, w = _ours(src, tgt, values)
    assert w.sampled == 10
    assert outside == pytest.approx(0, abs=1e-12 * values.sum())
    ref, ref_total = _reference(src, tgt, values, cut_lon=-29.95)
    assert ref_total == pytest.approx(values.sum(), rel=1e-6)
    assert tv_distance(ref, out) <= 1e-2
    # Mass lands near both edges of the map (the straddling cells' two halves).
    cols = np.flatnonzero(out.reshape(tgt.ny, tgt.nx).sum(axis=0))
    assert cols.min() < 10 and cols.max() > tgt.nx - 10


@pytest.mark.parametrize(
    "crs",
    [EQUAL_EARTH, pyproj.CRS.from_epsg(3571)],  # pole as a line, and at the centre (LAEA)
)
def test_cells_at_the_pole(crs):
    src = Grid(LONLAT, 0.0, 90.0, 2.0, 1.0, 20, 4)
    tgt = _target_around(src, crs, 50_000, pad=100_000)
    values = np.random.default_rng(7).lognormal(0, 1, (4, 20))
    out, outside, _ = _ours(src, tgt, values)
    assert out.sum() == pytest.approx(values.sum(), rel=1e-12)
    assert outside == pytest.approx(0, abs=1e-12 * values.sum())
    ref, _ = _reference(src, tgt, values)
    assert tv_distance(ref, out) <= 1e-2


def test_corners_that_do_not_project_are_sampled():
    """Beyond the horizon of an orthographic view corners do not project: those cells are
    sampled, their samples fall outside the grid, and nothing is lost."""
    ortho = pyproj.CRS.from_proj4("+proj=ortho +lat_0=0 +lon_0=0 +datum=WGS84 +type=crs")
    src = Grid(LONLAT, 88.0, 4.0, 0.5, 0.5, 8, 8)
    tgt = Grid.from_bounds((6.0e6, -1e6, 6.4e6, 1e6), 10_000, ortho)
    values = np.random.default_rng(11).lognormal(0, 1, (8, 8))
    out, outside, w = _ours(src, tgt, values)
    assert w.sampled == 32
    assert out.sum() == pytest.approx(values[:, :4].sum(), rel=1e-12)
    assert outside == pytest.approx(values[:, 4:].sum(), rel=1e-12)


def test_a_lonlat_target_from_a_projected_source():
    """A CHRED-like Albers 10 km grid onto a 0.1° lon/lat grid (areas measured in LAEA)."""
    from tests.helpers.rasters import CHINA_ALBERS

    crs = pyproj.CRS.from_user_input(CHINA_ALBERS)
    src = Grid(crs, 0.0, 3_500_000.0, 10_000.0, 10_000.0, 8, 6)
    tgt = _target_around(src, LONLAT, 0.1, pad=0.2)
    values = np.random.default_rng(9).lognormal(0, 1, (6, 8))
    out, _, _ = _ours(src, tgt, values)
    assert out.sum() == pytest.approx(values.sum(), rel=1e-12)
    laea = pyproj.CRS.from_proj4("+proj=laea +lat_0=31 +lon_0=105 +type=crs")
    ref, _ = _reference(src, tgt, values, area_crs=laea)
    assert tv_distance(ref, out) <= 1e-2


def test_weights_are_cached_per_pair_of_grids(tmp_path):
    from footgrid.io import remap as module

    src = Grid(LONLAT, 0.0, 10.0, 0.5, 0.5, 4, 4)
    tgt = _target_around(src, EQUAL_EARTH, 30_000)
    a = overlap_weights(src, tgt, cache_dir=tmp_path)
    assert overlap_weights(src, tgt) is a
    module._MEMORY.clear()
    b = overlap_weights(src, tgt, cache_dir=tmp_path)  # read back from disk
    assert b is not a
    np.testing.assert_array_equal(a.frac, b.frac)
    np.testing.assert_array_equal(a.dst, b.dst)
    assert len(list(tmp_path.glob("remap_*.npz"))) == 1

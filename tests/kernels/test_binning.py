"""Gridding kernels against numpy.histogram2d (the independent reference)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from footgrid.grid import Grid
from footgrid.kernels.binning import estimate_is_one_off, uniform_bins
from tests.helpers.reference import scatter_add, scatter_add_by_class


def _grid(nx: int, ny: int, res: float, x0: float, y0: float, tile: int = 16) -> Grid:
    return Grid.from_bounds((x0, y0, x0 + nx * res, y0 + ny * res), res, "EPSG:3857", tile)


@st.composite
def points_on_grid(draw):
    nx = draw(st.integers(1, 40))
    ny = draw(st.integers(1, 40))
    res = draw(st.sampled_from([1.0, 0.1, 0.3, 1000.0, 7.7]))
    x0 = draw(st.sampled_from([0.0, -123.4, 5000.0, 1e6]))
    y0 = draw(st.sampled_from([0.0, -77.7, 3.3, -2e6]))
    g = _grid(nx, ny, res, x0, y0)
    n = draw(st.integers(0, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Mix of interior points, points exactly on edges (incl. the far edges) and outside.
    x = rng.uniform(g.xmin - 2 * res, g.xmax + 2 * res, n)
    y = rng.uniform(g.ymin - 2 * res, g.ymax + 2 * res, n)
    kind = rng.integers(0, 5, n)
    x = np.where(kind == 1, g.xedges[rng.integers(0, g.nx + 1, n)], x)
    y = np.where(kind == 2, g.yedges[rng.integers(0, g.ny + 1, n)], y)
    x = np.where(kind == 3, g.xmax, x)
    y = np.where(kind == 3, g.ymax, y)
    x = np.where(kind == 4, np.nan, x)
    w = rng.lognormal(0, 2, n)
    return g, x, y, w


@settings(max_examples=200, deadline=None)
@given(points_on_grid())
def test_scatter_equals_histogram2d(case):
    g, x, y, w = case
    idx = g.cell_index(x, y)
    out = np.zeros(g.nx * g.ny)
    scatter_add(idx, w, out)
    ok = np.isfinite(x) & np.isfinite(y)
    ref, _, _ = np.histogram2d(x[ok], y[ok], bins=[g.xedges, g.yedges], weights=w[ok])
    # histogram2d is (x bins, ascending y bins); our raster is (rows from the top, cols).
    ref = ref.T[::-1]
    np.testing.assert_allclose(out.reshape(g.ny, g.nx), ref, rtol=1e-9, atol=0)
    # Mass balance: gridded + outside == input.
    outside = w[idx < 0].sum()
    assert np.isclose(out.sum() + outside, w.sum(), rtol=1e-12, atol=1e-12)


def test_far_edges_belong_to_last_cells():
    g = _grid(4, 3, 1.0, 0.0, 0.0)
    x = np.array([4.0, 0.0, 4.0, 0.0, 4.0 + 1e-9, -1e-9])
    y = np.array([3.0, 0.0, 0.0, 3.0, 1.0, 1.0])
    idx = g.cell_index(x, y)
    # (x=4, y=3): top-right cell; (0, 0): bottom-left; (4, 0): bottom-right; (0, 3): top-left.
    assert idx.tolist() == [3, 2 * 4 + 0, 2 * 4 + 3, 0, -1, -1]


def test_scatter_by_class_matches_per_class_bincount():
    rng = np.random.default_rng(1)
    n, ncell, ncls = 5000, 97, 5
    idx = rng.integers(-1, ncell, n)
    cls = rng.integers(-1, ncls, n)
    w = rng.random(n)
    out = np.zeros((ncls, ncell))
    scatter_add_by_class(idx, cls, w, out)
    for k in range(ncls):
        m = (cls == k) & (idx >= 0)
        np.testing.assert_allclose(out[k], np.bincount(idx[m], w[m], minlength=ncell))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 50),
    st.integers(1, 50),
    st.integers(1, 20),
    st.integers(1, 5),
    st.integers(0, 2**31 - 1),
)
def test_partition_equals_a_stable_argsort_by_tile(nx, ny, tile, workers, seed):
    from footgrid.execution.blocks import partition

    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 500))
    cell = rng.integers(-1, nx * ny, n)
    key = rng.integers(-1, 7, n)
    e = rng.random(n)
    g = _grid(nx, ny, 1.0, 0.0, 0.0, tile)
    tp = partition(g, cell, e, key, workers)
    rows, cols = cell // nx, cell % nx
    tid = np.where(cell >= 0, rows // tile * g.n_tiles_x + cols // tile, -1)
    order = np.argsort(tid, kind="stable")
    order = order[tid[order] >= 0]
    np.testing.assert_array_equal(tp.key, key[order])
    np.testing.assert_array_equal(tp.emission, e[order])
    np.testing.assert_array_equal(np.diff(tp.offsets), np.bincount(tid[order], minlength=g.n_tiles))
    width = np.minimum(tile, nx - cols // tile * tile)
    local = (rows % tile) * width + cols % tile
    np.testing.assert_array_equal(tp.local, local[order])


def _searchsorted_bins(v: np.ndarray, lo: float, res: float, n: int) -> np.ndarray:
    """Reference: the bin of each value among the edges ``lo + res * arange(n + 1)``."""
    edges = lo + res * np.arange(n + 1, dtype=np.float64)
    i = np.searchsorted(edges, v, side="right") - 1
    i = np.where(v == edges[-1], n - 1, i)
    return np.where((v >= edges[0]) & (v <= edges[-1]), i, -1)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([0.0, -123.4, 1e6, -2.6e6, 5e8, -1.09e9, 1e15, 4.5e15, -1e16]),
    st.sampled_from([1.0, 0.1, 0.3, 7.7, 1000.0, 1e-3, 0.5]),
    st.integers(1, 3000),
    st.integers(0, 2**32 - 1),
)
def test_uniform_bins_equal_searchsorted_on_the_edges(lo, res, n, seed):
    """The SIMD estimate-and-settle binning is exact up to its bound (1.09e9 / 1e-3 is just
    under 2**40 cells), and past it, where float64 rounding of huge coordinates makes the
    estimate several cells off, the exact scalar path takes over."""
    rng = np.random.default_rng(seed)
    edges = lo + res * np.arange(n + 1, dtype=np.float64)
    m = 400
    v = rng.uniform(edges[0] - 3 * res, edges[-1] + 3 * res, m)
    pick = rng.integers(0, n + 1, m)
    kind = rng.integers(0, 4, m)
    v = np.where(kind == 1, edges[pick], v)  # exactly on an edge
    v = np.where(kind == 2, np.nextafter(edges[pick], -np.inf), v)  # just below one
    v = np.where(kind == 3, np.nan, v) if seed % 2 else v
    out = np.full(m, -7, dtype=np.int64)
    uniform_bins(v, lo, res, n, out)
    np.testing.assert_array_equal(out, _searchsorted_bins(v, lo, res, n))


def test_uniform_bins_fall_back_to_the_exact_path_where_the_estimate_is_far_off():
    # At 1e16 an ulp is 2: the edges lo + 0.5 * i repeat, so the estimate (v - lo) / res misses
    # the last of equal edges by several cells; the exact path must still match searchsorted.
    lo, res, n = 1e16, 0.5, 64
    assert not estimate_is_one_off(lo, res, n)
    v = lo + np.arange(0, 40, 2, dtype=np.float64)
    out = np.empty(v.size, dtype=np.int32)
    uniform_bins(v, lo, res, n, out)
    expected = _searchsorted_bins(v, lo, res, n)
    np.testing.assert_array_equal(out, expected)
    estimate = np.minimum(((v - lo) / res).astype(np.int64), n - 1)
    assert (np.abs(estimate - expected) >= 2).any()


def test_real_grids_take_the_simd_path():
    from benchmarks.data import china_grid

    for g in (china_grid(1000.0), china_grid(100.0), _grid(40_075, 20_000, 1.0, -2.0e7, -1.0e7)):
        assert estimate_is_one_off(g.xmin, g.res_x, g.nx)
        assert estimate_is_one_off(g.ymin, g.res_y, g.ny)
    assert not estimate_is_one_off(0.0, 1e-6, 2**41)

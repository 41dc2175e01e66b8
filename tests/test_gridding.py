"""``grid_array``: the production-only gridding of plain arrays, against independent references."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.data import china_grid, clustered_xy
from footgrid.execution.blocks import partition
from footgrid.gridding import GridScratch, grid_array
from tests.helpers.reference import scatter_add


def test_grid_array_equals_the_pipeline_tiles_bitwise() -> None:
    """grid_array == cell_index + partition by tile + per-tile scatter_add (the pipeline's way)."""
    x, y, w = clustered_xy(50_000, seed=3, centres=40)
    g = china_grid(100_000.0, tile=8)
    cell = g.cell_index(x, y)
    tp = partition(g, cell, w, np.zeros_like(cell), workers=1)
    ref = np.zeros(g.shape)
    for t, rows, cols in g.tiles():
        local, _, e = tp.tile(t)
        block = np.zeros((rows.stop - rows.start) * (cols.stop - cols.start))
        scatter_add(local, e, block)
        ref[rows, cols] = block.reshape(rows.stop - rows.start, cols.stop - cols.start)
    for method in ("tiled", "direct"):
        for workers in (1, 3):
            for block in (None, 1, 4):
                out = grid_array(x, y, w, g, method=method, workers=workers, block=block)
                np.testing.assert_array_equal(out, ref)


def test_grid_array_int64_keys_and_grids_past_the_estimate_bound() -> None:
    """More than 2**15 blocks (64-bit keys) and a grid whose coordinates are too large for the
    SIMD binning estimate (exact scalar binning) give numpy's histogram2d, bitwise."""
    from footgrid.grid import Grid

    rng = np.random.default_rng(11)
    for g, block in (
        (Grid.from_bounds((0, 0, 300, 200), 1.0, "EPSG:3857", tile=16), 1),  # 60 000 blocks
        (Grid.from_bounds((1e15, 0, 1e15 + 0.5, 0.5), 1 / 64, "EPSG:3857", tile=8), 4),
    ):
        x = rng.uniform(g.xmin, g.xmax, 20_000)
        y = rng.uniform(g.ymin, g.ymax, 20_000)
        x[:50] = g.xedges[rng.integers(0, g.nx + 1, 50)]  # exactly on edges
        w = rng.integers(1, 100, 20_000).astype(np.float64)  # integer sums: order-free, exact
        h, _, _ = np.histogram2d(y, x, bins=[g.yedges, g.xedges], weights=w)
        for accumulate in (True, False):
            out = np.zeros(g.shape) if accumulate else np.full(g.shape, np.nan)
            grid_array(x, y, w, g, method="tiled", block=block, workers=3, out=out,
                       accumulate=accumulate)  # fmt: skip
            np.testing.assert_array_equal(out, h[::-1])
        np.testing.assert_array_equal(grid_array(x, y, w, g, method="direct"), h[::-1])
    with pytest.raises(ValueError, match="positive number of threads"):
        grid_array(x, y, w, g, workers=0)


def test_grid_array_edges_and_empty() -> None:
    g = china_grid(1_000_000.0)
    xmin, ymin, xmax, ymax = g.bounds
    x = np.array([xmin, xmax, xmin, np.nan, xmax + 1.0])
    y = np.array([ymax, ymin, ymin, 0.0, ymin])
    w = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    h, _, _ = np.histogram2d(y[:3], x[:3], bins=[g.yedges, g.xedges], weights=w[:3])
    for method in ("tiled", "direct"):
        np.testing.assert_array_equal(grid_array(x, y, w, g, method=method), h[::-1])
        assert grid_array(x[:0], y[:0], w[:0], g, method=method).sum() == 0.0
    with pytest.raises(ValueError, match="1-D arrays of one length"):
        grid_array(x, y[:2], w, g)
    for bad in (0, 3, 512):
        with pytest.raises(ValueError, match="power of two from 1 to 256, got"):
            grid_array(x, y, w, g, method="tiled", block=bad)


def test_grid_array_batches_into_out_with_reused_scratch() -> None:
    """Batches added into one ``out`` (scratch reused, sizes shrinking and growing) equal one
    call, and equal numpy's histogram2d (the independent reference)."""
    x, y, w = clustered_xy(30_000, seed=5, centres=30)
    g = china_grid(200_000.0, tile=8)
    h, _, _ = np.histogram2d(y, x, bins=[g.yedges, g.xedges], weights=w)
    for method in ("tiled", "direct"):
        scratch, raster = GridScratch(), np.zeros(g.shape)
        for a, b in ((0, 20_000), (20_000, 20_100), (20_100, 30_000)):
            back = grid_array(
                x[a:b], y[a:b], w[a:b], g, method=method, out=raster, scratch=scratch, block=4
            )
            assert back is raster
        np.testing.assert_allclose(raster, h[::-1], rtol=1e-12, atol=1e-9)
        # reusing the raster for a new set: zero it, same result as a fresh call
        raster.fill(0)
        grid_array(x, y, w, g, method=method, out=raster, scratch=scratch)
        np.testing.assert_array_equal(raster, grid_array(x, y, w, g, method=method))
        # or let the call overwrite it (every cell, also those without points)
        added = grid_array(x, y, w, g, method=method, out=np.zeros(g.shape), accumulate=True)
        raster.fill(np.nan)
        back = grid_array(x, y, w, g, method=method, out=raster, accumulate=False, block=2)
        assert back is raster
        np.testing.assert_array_equal(raster, added)
        np.testing.assert_allclose(raster, h[::-1], rtol=1e-12, atol=1e-9)
        raster.fill(np.nan)
        grid_array(x[:0], y[:0], w[:0], g, method=method, out=raster, accumulate=False)
        assert not raster.any()
    with pytest.raises(ValueError, match="C-contiguous float64"):
        grid_array(x, y, w, g, out=np.zeros(g.shape, dtype=np.float32))
    with pytest.raises(ValueError, match="C-contiguous float64"):
        grid_array(x, y, w, g, out=np.zeros(g.shape)[:, ::-1])


def test_grid_scratch_refuses_a_second_thread() -> None:
    import threading

    x, y, w = clustered_xy(1000, seed=1, centres=5)
    g = china_grid(200_000.0, tile=8)
    scratch = GridScratch()
    grid_array(x, y, w, g, method="tiled", scratch=scratch)
    errors = []

    def other() -> None:
        try:
            grid_array(x, y, w, g, method="tiled", scratch=scratch)
        except RuntimeError as exc:
            errors.append(str(exc))

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert errors and "two threads" in errors[0]


def test_grid_array_docstring_example() -> None:
    import doctest

    import footgrid.gridding

    result = doctest.testmod(footgrid.gridding, verbose=False)
    assert result.attempted >= 1 and result.failed == 0

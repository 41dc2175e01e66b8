"""The benchmarks are tests too: each runs at a tiny size, writes its JSON, methods agree.

No timing is asserted (timings depend on the machine); what is checked is that every method of
every benchmark gives the same answer and that the results files are written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import (  # noqa: E402
    bench_coefficients,
    bench_end_to_end,
    bench_gridding,
    bench_scaling,
    run,
)
from benchmarks.data import china_grid, clustered_xy  # noqa: E402
from engine.gridding import GridScratch, grid_array  # noqa: E402
from engine.tiles import partition  # noqa: E402
from kernels import scatter_add  # noqa: E402


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
    from engine.grid import Grid

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

    import engine.gridding

    result = doctest.testmod(engine.gridding, verbose=False)
    assert result.attempted >= 1 and result.failed == 0


def test_b1_gridding_quick(tmp_path: Path) -> None:
    res = bench_gridding.main(
        ["--points", "20000", "--resolutions", "50000", "--repeat", "1", "--settle", "0",
         "--out-dir", str(tmp_path)]
    )  # fmt: skip
    saved = json.loads((tmp_path / "gridding.json").read_text())
    assert saved["cases"][0]["targets"]["all_agree"]
    assert set(res["cases"][0]["methods"]) >= {"footgrid", "numpy.bincount", "datashader"}


def test_b2_coefficients_quick(tmp_path: Path) -> None:
    out = tmp_path / "coefficients_quick.json"
    res = bench_coefficients.main(["--quick", "--sizes", "60", "--repeat", "1", "--out", str(out)])
    assert out.exists()
    assert res["cases"][0]["max_rel_diff"] <= 1e-10


@pytest.mark.slow
def test_b3_end_to_end_quick(tmp_path: Path) -> None:
    argv = ["--points", "3000", "--resolutions", "100000", "--workers", "1", "--repeat", "1"]
    res = bench_end_to_end.main(
        [*argv, "--workdir", str(tmp_path / "w"), "--out-dir", str(tmp_path)]
    )
    assert (tmp_path / "end_to_end.json").exists()
    case = res["cases"][0]
    assert case["agreement"]["allclose"]
    totals = {k: v["consumers"] for k, v in case["methods"].items()}
    assert set(totals.values()) == {50}


@pytest.mark.slow
def test_b4_scaling_and_runner_quick(tmp_path: Path) -> None:
    res = run.main(["--quick", "--only", "B1", "B4", "--repeat", "1", "--out-dir", str(tmp_path),
                    "--workdir", str(tmp_path / "w")])  # fmt: skip
    assert (tmp_path / "scaling_quick.json").exists()
    assert (tmp_path / "summary_quick.json").exists()
    series = res["B4"]["series"]
    assert [s["unit"] for s in series] == ["points", "firms", "consumers"]
    assert all(np.isfinite(s["exponent"]) for s in series)
    assert bench_scaling.exponent([1, 10, 100], [2.0, 20.0, 200.0]) == pytest.approx(1.0)

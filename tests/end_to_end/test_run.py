"""`run`: footprint tiles against a brute-force numpy computation and the conservation laws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import footgrid
from tests.helpers.cases import CATEGORIES, REGIONS, SECTORS, firms, make_case, write_tables


def _brute_force(ds, df: pd.DataFrame, Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """footprint[c, k, y, x] by explicit inverse and one np.bincount per column."""
    x = Z.sum(1) + Y.sum(1)
    L = np.linalg.inv(np.eye(len(x)) - Z / x[None, :])
    M = (L @ Y) / x[:, None]
    row = (
        df.province.map({r: i for i, r in enumerate(REGIONS)}).to_numpy() * len(SECTORS)
        + df.sector.map({s: i for i, s in enumerate(SECTORS)}).to_numpy()
    )
    crs = pyproj.CRS.from_wkt(ds.attrs["grid_crs"])
    px, py = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(df.lon, df.lat)
    res = float(ds.x[1] - ds.x[0])
    col = np.floor((px - (ds.x.values[0] - res / 2)) / res).astype(int)
    r = np.floor(((ds.y.values[0] + res / 2) - py) / res).astype(int)
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    flat = r * nx + col
    out = np.zeros((len(REGIONS), len(CATEGORIES), ny * nx))
    for c in range(len(REGIONS)):
        for k in range(len(CATEGORIES)):
            w = df.co2_t.to_numpy() * M[row, c * len(CATEGORIES) + k]
            out[c, k] = np.bincount(flat, weights=w, minlength=ny * nx)
    return out.reshape(len(REGIONS), len(CATEGORIES), ny, nx)


def test_footprint_equals_brute_force_and_conserves(tmp_path):
    cfg = make_case(tmp_path, 3000)
    ds = footgrid.run(cfg)
    Z, Y = write_tables(tmp_path / "ref")
    ref = _brute_force(ds, firms(3000), Z, Y)
    fp = ds.footprint.values
    assert fp.dtype == np.float32
    np.testing.assert_allclose(fp, ref, rtol=2e-6, atol=1e-3)
    # Conservation: sum over consumers and categories == emissions, in every cell.
    np.testing.assert_allclose(
        fp.astype("f8").sum((0, 1)), ds.emissions.values, rtol=1e-6, atol=1e-3
    )
    # Per consumer: raster sums == totals == national ledger.
    tot = ds.totals.sum(("region", "sector")).values
    np.testing.assert_allclose(fp.astype("f8").sum((2, 3)), tot, rtol=1e-6)
    assert tot.sum() == pytest.approx(ds.attrs["input_total"] - ds.attrs["dropped_total"])
    assert ds.attrs["footprint_residual"] < 1e-9
    assert ds.attrs["mass_balance_residual"] == pytest.approx(0, abs=1e-6)
    assert list(ds.consumer.values) == REGIONS
    assert list(ds.category.values) == CATEGORIES
    # 8 // 3 categories = 2 consumers per chunk, stored cell-major (transpose codec)
    assert ds.footprint.encoding["chunks"] == (2, 3, 16, 16)


def test_float64_output_equals_brute_force_tightly(tmp_path):
    # float64 blocks share the per-thread scratch logic of float32 ones (another buffer).
    cfg = make_case(tmp_path, 3000, output={"dtype": "float64"})
    ds = footgrid.run(cfg)
    Z, Y = write_tables(tmp_path / "ref")
    fp = ds.footprint.values
    assert fp.dtype == np.float64 and ds.emissions.dtype == np.float64
    np.testing.assert_allclose(fp, _brute_force(ds, firms(3000), Z, Y), rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(fp.sum((0, 1)), ds.emissions.values, rtol=1e-12, atol=1e-6)


def test_categories_summed_and_consumer_groups(tmp_path):
    (tmp_path / "groups.csv").write_text("region,consumer\nCN-A,CN\nCN-B,CN\n")
    cfg = make_case(
        tmp_path, 500, consumers={"groups": "groups.csv", "categories": "sum", "home": "CN"}
    )
    ds = footgrid.run(cfg)
    assert list(ds.category.values) == ["all"]
    assert sorted(ds.consumer.values) == ["CN", "JP", "US"]
    assert ds.domestic.sel(consumer="CN").item() and not ds.domestic.sel(consumer="US").item()
    fp = ds.footprint.values.astype("f8")
    np.testing.assert_allclose(fp.sum((0, 1)), ds.emissions.values, rtol=1e-6, atol=1e-3)


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tile=st.integers(16, 64), chunk=st.integers(1, 4))
def test_tile_size_and_consumer_chunk_do_not_change_the_result(tmp_path_factory, tile, chunk):
    base = tmp_path_factory.mktemp("base")
    ref = footgrid.run(make_case(base, 800, tile=16)).footprint.values
    other = tmp_path_factory.mktemp("other")
    got = footgrid.run(make_case(other, 800, tile=tile, compute={"consumer_chunk": chunk}))
    np.testing.assert_array_equal(got.footprint.values, ref)


def test_firm_table_splits_each_firm_by_consumer(tmp_path):
    import pyarrow.parquet as pq

    cfg = make_case(tmp_path, 400, output={"firm_table": True})
    ds = footgrid.run(cfg)
    table = pq.read_table(tmp_path / "out_firms.parquet").to_pandas()
    assert set(table.columns) == {"firm_id", "consumer", "category", "tonnes"}
    assert (table.tonnes > 0).all()
    # Per firm: the split adds up to its emission; per consumer: to the national ledger.
    df = firms(400).set_index("firm_id")
    per_firm = table.groupby("firm_id").tonnes.sum()
    np.testing.assert_allclose(per_firm.to_numpy(), df.co2_t.loc[per_firm.index].to_numpy())
    assert len(per_firm) == 400
    per_consumer = table.groupby("consumer", observed=True).tonnes.sum()
    ledger = ds.totals.sum(("region", "sector", "category")).to_series()
    np.testing.assert_allclose(per_consumer.loc[ledger.index].to_numpy(), ledger.to_numpy())


def test_run_leaves_the_interpreter_as_it_found_it(tmp_path):
    """The library touches neither the garbage collector nor starts threads that outlive a run."""
    import gc
    import threading

    cfg = make_case(tmp_path, 200, output={"path": "out.zarr", "overwrite": True})
    footgrid.run(cfg)  # warm: Numba and dask start their own long-lived helpers once
    threads = {t.name for t in threading.enumerate()}
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            footgrid.run(cfg)
            assert gc.isenabled() is enabled
            assert gc.get_freeze_count() == 0
        finally:
            gc.enable()
    assert {t.name for t in threading.enumerate()} <= threads


@pytest.mark.parametrize("before", [True, False])
def test_importing_the_engine_leaves_the_collector_as_it_was(before):
    import subprocess
    import sys

    code = (
        "import gc\n"
        f"{'gc.enable()' if before else 'gc.disable()'}\n"
        "import footgrid\n"
        "print(gc.isenabled())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(before)

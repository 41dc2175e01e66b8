"""Larger-than-memory points (dask dataframe + shuffle by tile) == the in-memory path."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import footgrid
from tests.helpers.cases import firms, make_case
from tests.helpers.files import scaled


def _split_parquet(folder, n, row_group):
    """Rewrite the case's firms as two Parquet files of small row groups (many partitions)."""
    df = firms(n)
    df.loc[5, "co2_t"] = -3.0  # dropped: negative emission
    df.loc[6, "lon"] = np.nan  # dropped: invalid coordinates
    (folder / "firms.parquet").unlink()
    (folder / "parts").mkdir()
    half = n // 2
    for name, part in (("a", df.iloc[:half]), ("b", df.iloc[half:])):
        table = pa.Table.from_pandas(part, preserve_index=False)
        pq.write_table(table, folder / "parts" / f"{name}.parquet", row_group_size=row_group)
    df.to_parquet(folder / "all.parquet", index=False)


def _case(folder, n, big, **compute):
    cfg = make_case(folder, n, compute={"larger_than_memory": big, **compute})
    _split_parquet(folder, n, row_group=max(1, n // 7))
    text = cfg.read_text().replace('path = "firms.parquet"', 'path = "parts/*.parquet"')
    cfg.write_text(text)
    return cfg


@pytest.mark.parametrize("bounds", ["auto", "explicit"])
def test_partitioned_equals_in_memory(tmp_path, bounds):
    n = 3000
    cfgs = []
    for big in (False, True):
        cfg = _case(tmp_path / str(big), n, big)
        if bounds == "explicit":
            text = cfg.read_text().replace(
                "tile = 16", "tile = 16\nbounds = [-1e6, -1e6, 8e5, 1.2e6]"
            )
            cfg.write_text(text)
        cfgs.append(cfg)
    ref = footgrid.run(cfgs[0])
    got = footgrid.run(cfgs[1])
    np.testing.assert_array_equal(got.footprint.values, ref.footprint.values)
    np.testing.assert_array_equal(got.emissions.values, ref.emissions.values)
    np.testing.assert_allclose(got.totals.values, ref.totals.values, rtol=1e-12)
    assert json.loads(got.attrs["dropped"]).keys() == json.loads(ref.attrs["dropped"]).keys()
    for reason, v in json.loads(ref.attrs["dropped"]).items():
        w = json.loads(got.attrs["dropped"])[reason]
        assert w["points"] == v["points"] and w["emission"] == pytest.approx(v["emission"])
    assert got.attrs["input_total"] == pytest.approx(ref.attrs["input_total"], rel=1e-12)
    assert got.attrs["mass_balance_residual"] == pytest.approx(0, abs=1e-6)
    if bounds == "explicit":
        assert "outside_grid" in json.loads(got.attrs["dropped"])


@pytest.mark.slow
def test_partitioned_on_a_local_cluster(tmp_path):
    from distributed import LocalCluster

    n = scaled(2000, 500_000)
    ref = footgrid.run(_case(tmp_path / "mem", n, False))
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        got = footgrid.run(_case(tmp_path / "big", n, True, scheduler=cluster.scheduler_address))
    np.testing.assert_array_equal(got.footprint.values, ref.footprint.values)


def test_partitioned_duplicate_ids_are_an_error(tmp_path):
    cfg = _case(tmp_path, 500, True)
    df = firms(500)
    df.loc[400, "firm_id"] = df.loc[3, "firm_id"]
    df.to_parquet(tmp_path / "parts" / "b.parquet", index=False)
    with pytest.raises(footgrid.InputError, match="appears 2 times"):
        footgrid.run(cfg)


def test_partitioned_firm_table_is_a_clear_error(tmp_path):
    cfg = _case(tmp_path, 300, True)
    cfg.write_text(
        cfg.read_text().replace("overwrite = true", "overwrite = true\nfirm_table = true")
    )
    with pytest.raises(footgrid.ConfigError, match="firm_table"):
        footgrid.run(cfg)
    assert not (tmp_path / "out.zarr").exists()

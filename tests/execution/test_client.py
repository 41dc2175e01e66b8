"""The Python API on a caller's dask-distributed Client (a real LocalCluster of processes):
``run(cfg, client=client)`` and ``scheduler = "default"``; references: the threaded run's arrays
and numpy sums of the input points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster, get_task_stream

import footgrid
from tests.helpers.cases import make_case


def test_default_scheduler_without_a_client_is_a_config_error(tmp_path) -> None:
    # Runs before the module's client exists (pytest keeps the file order).
    cfg = make_case(tmp_path, 50, compute={"scheduler": "default"})
    with pytest.raises(footgrid.ConfigError, match="no dask-distributed client is active"):
        footgrid.run(cfg)


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def test_run_on_a_given_client_equals_the_threaded_run(tmp_path, client) -> None:
    cfg = make_case(tmp_path, 600)
    threads = footgrid.run(cfg).load()
    cfg2 = make_case(tmp_path / "c", 600)
    with get_task_stream(client) as ts:
        on_client = footgrid.run(cfg2, client=client)
    assert any(t["key"][0].startswith("block-") for t in ts.data)  # the blocks ran there
    np.testing.assert_array_equal(on_client.footprint.values, threads.footprint.values)
    points = pd.read_parquet(tmp_path / "firms.parquet")
    assert float(on_client.emissions.values.astype(np.float64).sum()) == pytest.approx(
        points["co2_t"].sum(), rel=1e-6
    )
    assert client.status == "running"  # the caller's client is left open
    assert len(client.scheduler_info()["workers"]) == 2


def test_default_scheduler_uses_the_active_client(tmp_path, client) -> None:
    cfg = make_case(tmp_path, 300, compute={"scheduler": "default"})
    with client.as_current(), get_task_stream(client) as ts:
        ds = footgrid.run(cfg)
    assert ts.data
    points = pd.read_parquet(tmp_path / "firms.parquet")
    assert float(ds.emissions.values.astype(np.float64).sum()) == pytest.approx(
        points["co2_t"].sum(), rel=1e-6
    )

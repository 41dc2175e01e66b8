"""Ensembles with ``[compute] larger_than_memory = true`` == the in-memory ensemble store."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import footgrid
from footgrid.execution import partitioned
from tests.helpers.cases import firms, make_case

N = 2500


def _case(folder, big, uncertainty):
    cfg = make_case(
        folder,
        N,
        tile=16,
        uncertainty={"members": 9, "seed": 3, **uncertainty},
        compute={"larger_than_memory": big},
        output={"dtype": "float64"},
    )
    df = firms(N)
    df.loc[5, "co2_t"] = -3.0  # dropped: negative emission (the draw ids keep the input rows)
    df.loc[6, "lon"] = np.nan  # dropped: invalid coordinates
    df["rsd"] = np.linspace(0.0, 0.6, N)
    (folder / "firms.parquet").unlink()
    (folder / "parts").mkdir()
    for name, part in (("a", df.iloc[: N // 2]), ("b", df.iloc[N // 2 :])):
        table = pa.Table.from_pandas(part, preserve_index=False)
        pq.write_table(table, folder / "parts" / f"{name}.parquet", row_group_size=N // 9)
    cfg.write_text(cfg.read_text().replace('path = "firms.parquet"', 'path = "parts/*.parquet"'))
    return cfg


@pytest.mark.parametrize(
    "uncertainty",
    [
        {"emission_rsd": "rsd"},
        {
            "emission_rsd": {"ELEC": 0.1, "STEEL": 0.3, "TEXT": 0.2},
            "mrio_rsd": 0.05,
            "emission_correlation": "sector",
        },
    ],
    ids=["source-column", "sector-mrio"],
)
def test_partitioned_ensemble_store_equals_the_in_memory_one(tmp_path, monkeypatch, uncertainty):
    monkeypatch.setattr(partitioned, "PARTITION_ROWS", N // 5)  # several partitions per file
    ref = footgrid.run(_case(tmp_path / "mem", False, uncertainty))
    got = footgrid.run(_case(tmp_path / "big", True, uncertainty))
    assert set(got.variables) == set(ref.variables)
    assert {"member_area_share", "member_held", "member_hub_total"} <= set(ref.variables)
    assert ref.emissions_std.values.any()
    for v in ref.variables:
        if v == "totals":  # the national ledger: sums in another order
            np.testing.assert_allclose(got[v].values, ref[v].values, rtol=1e-12)
        else:
            np.testing.assert_array_equal(got[v].values, ref[v].values, err_msg=v)

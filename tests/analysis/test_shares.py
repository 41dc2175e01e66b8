"""Share tables from the ledger against direct numpy sums."""

from __future__ import annotations

import numpy as np
import pytest

from footgrid.analysis import layers as L
from footgrid.analysis.shares import ledger_frame, share_tables
from tests.helpers.stores import build_dataset, make_store


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    path = make_store(tmp_path_factory.mktemp("shares"), home=("CN", "JP"), seed=4)
    return L.open_store(path)


def test_by_consumer_matches_numpy(ds):
    tables = share_tables(ds, L.gridded_consumer_totals(ds))
    t = ds["totals"].values
    consumers = [str(c) for c in ds["consumer"].values]
    domestic = ds["domestic"].values
    by = tables["by_consumer"].set_index("consumer")
    per = t.sum(axis=(0, 1, 3))
    for i, c in enumerate(consumers):
        assert by.loc[c, "total"] == pytest.approx(per[i], rel=1e-12)
        assert by.loc[c, "share"] == pytest.approx(per[i] / t.sum(), rel=1e-12)
        assert bool(by.loc[c, "domestic"]) == bool(domestic[i])
        if domestic[i]:
            assert np.isnan(by.loc[c, "share_of_foreign"])
        else:
            assert by.loc[c, "share_of_foreign"] == pytest.approx(
                per[i] / per[~domestic].sum(), rel=1e-12
            )
    # The fixture's ledger splits each gridded (consumer, category) total over producing rows.
    np.testing.assert_allclose(by["gridded"], by["total"], rtol=1e-6)
    np.testing.assert_allclose(
        tables["by_consumer"]["total"], sorted(per, reverse=True), rtol=1e-12
    )


def test_regions_sectors_categories_and_domestic_foreign(ds):
    tables = share_tables(ds)
    t = ds["totals"].values
    domestic = ds["domestic"].values
    foreign = t[:, :, ~domestic, :]
    regions = [str(r) for r in ds["region"].values]
    by_region = tables["by_region"].set_index("region")
    for i, r in enumerate(regions):
        assert by_region.loc[r, "total"] == pytest.approx(t[i].sum(), rel=1e-12)
        assert by_region.loc[r, "foreign"] == pytest.approx(foreign[i].sum(), rel=1e-12)
        assert by_region.loc[r, "export_driven_share"] == pytest.approx(
            foreign[i].sum() / t[i].sum(), rel=1e-12
        )
    by_sector = tables["by_sector"]
    assert by_sector["total"].sum() == pytest.approx(t.sum(), rel=1e-12)
    assert by_sector["share"].sum() == pytest.approx(1.0)
    by_category = tables["by_category"]
    np.testing.assert_allclose(
        by_category["domestic"] + by_category["foreign"], by_category["total"], rtol=1e-12
    )
    df = tables["domestic_foreign"].set_index("driver")
    assert df.loc["foreign (export-driven)", "total"] == pytest.approx(foreign.sum(), rel=1e-12)
    assert df.loc["foreign (export-driven)", "share"] == pytest.approx(
        foreign.sum() / t.sum(), rel=1e-12
    )
    assert df.loc["domestic", "share"] + df.loc["foreign (export-driven)", "share"] == (
        pytest.approx(1.0)
    )


def test_ledger_frame_is_long_and_complete():
    ds = build_dataset(ny=4, nx=5, seed=2)
    frame = ledger_frame(ds)
    assert len(frame) == ds["totals"].size
    assert list(frame.columns) == ["region", "sector", "consumer", "category", "domestic", "value"]
    assert frame["value"].sum() == pytest.approx(float(ds["totals"].sum()), rel=1e-12)
    assert set(frame.loc[frame["domestic"], "consumer"]) == {"CN"}


def test_zero_ledger_gives_nan_shares_not_warnings():
    ds = build_dataset(ny=3, nx=3, seed=3)
    ds["totals"] = ds["totals"] * 0.0
    tables = share_tables(ds)
    assert tables["by_consumer"]["share"].isna().all()
    assert tables["domestic_foreign"]["share"].isna().all()

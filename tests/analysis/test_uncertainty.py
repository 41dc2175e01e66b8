"""The report of an ensemble store: share ranges against numpy on the store, figures written."""

from __future__ import annotations

import numpy as np

import footgrid
from footgrid.analysis.concentration import area_share_holding
from footgrid.analysis.report import write_report
from footgrid.analysis.uncertainty import area_share_ranges, hub_ranges, share_ranges
from tests.helpers.cases import make_case


def test_ensemble_report_has_share_ranges_and_a_cv_map(tmp_path):
    cfg = make_case(
        tmp_path,
        600,
        resolution=200_000,
        uncertainty={"members": 12, "emission_rsd": 0.3, "mrio_rsd": 0.1},
        consumers={"home": ["CN-A", "CN-B"]},
    )
    ds = footgrid.run(cfg)
    table = share_ranges(ds)
    per = ds.member_footprint_total.values
    shares = per / per.sum(axis=1, keepdims=True)
    det = ds.totals.sum(("region", "sector", "category")).values
    by_name = table.set_index("item")
    for i, c in enumerate(ds.consumer.values):
        row = by_name.loc[str(c)]
        assert row["deterministic"] == np.float64(det[i] / det.sum())
        np.testing.assert_allclose(row["mean"], shares[:, i].mean(), rtol=1e-12)
        np.testing.assert_allclose(row["low"], np.percentile(shares[:, i], 5), rtol=1e-12)
        assert row["low"] < row["mean"] < row["high"]
    foreign = by_name.loc["foreign share"]
    np.testing.assert_allclose(foreign["mean"], ds.member_foreign_share.values.mean(), rtol=1e-12)
    # Area shares: the exact deterministic one, the members' range by numpy on the store.
    areas = area_share_ranges(ds)
    exact = area_share_holding(
        ds.emissions.values, ds.cell_area.values, [0.5, 0.75, 0.9], mask=ds.territory.values
    )
    np.testing.assert_allclose(areas["deterministic"], exact, rtol=1e-12)
    members = ds.member_area_share.values
    np.testing.assert_allclose(areas["low"], np.percentile(members, 5, axis=0), rtol=1e-12)
    np.testing.assert_allclose(areas["high"], np.percentile(members, 95, axis=0), rtol=1e-12)
    assert (areas["low"] < areas["high"]).all()
    hubs = hub_ranges(ds)
    assert len(hubs) == ds.sizes["hub"] > 0
    np.testing.assert_allclose(hubs["mean"], ds.member_hub_total.values.mean(axis=0))
    index = write_report(ds, tmp_path / "report")
    html = index.read_text()
    assert "Uncertainty" in html and "uncertainty_cv.png" in html
    assert "uncertainty_lorenz.png" in html and "of the territory holds 75 %" in html
    for name in (
        "uncertainty_cv.png",
        "uncertainty_shares.png",
        "uncertainty_shares.csv",
        "uncertainty_lorenz.png",
        "uncertainty_area_shares.csv",
        "uncertainty_hubs.csv",
    ):
        assert (tmp_path / "report" / name).stat().st_size > 0  # fmt: skip

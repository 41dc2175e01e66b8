"""MRIO uncertainty: perturbed tables, member coefficients re-solved, national totals vs pymrio."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymrio
import pytest

import footgrid
from footgrid.mrio.attribution import build_attribution
from footgrid.mrio.consumers import build_consumer_map
from footgrid.mrio.perturb import member_coefficients, perturbed_tables
from footgrid.mrio.tables import MRIOTables, load_mrio
from tests.helpers.cases import CATEGORIES, REGIONS, SECTORS, firms, make_case, write_tables


def test_perturbed_tables_keep_the_mean_and_have_the_relative_deviation():
    rng = np.random.default_rng(0)
    Z, Y = rng.uniform(1, 10, (6, 6)), rng.uniform(1, 10, (6, 4))
    Y[0, 0] = 0.0
    s = np.sqrt(np.log1p(np.array([0.2**2])))
    draws = np.array([perturbed_tables(Z, Y, s, s, 3, m)[0] for m in range(4000)])
    ratio = draws / Z
    assert np.abs(ratio.mean(axis=0) - 1).max() < 5 * 0.2 / np.sqrt(4000)
    assert np.abs(ratio.std(axis=0, ddof=1) / 0.2 - 1).max() < 0.1
    # Entries are independent: neighbouring entries of one member are uncorrelated.
    flat = ratio.reshape(4000, -1)
    assert abs(np.corrcoef(flat[:, 0], flat[:, 1])[0, 1]) < 5 / np.sqrt(4000)
    assert perturbed_tables(Z, Y, s, s, 3, 1)[1][0, 0] == 0.0


def test_member_coefficients_equal_a_fresh_attribution_on_the_perturbed_tables(tmp_path):
    write_tables(tmp_path / "mrio")
    mrio = load_mrio(tmp_path / "mrio", "tables")
    df = firms(300)
    cmap = build_consumer_map(mrio.cols)
    att, _ = build_attribution(mrio, df.province, df.sector, df.co2_t, consumer_map=cmap)
    coefs = member_coefficients(mrio, cmap, att, 0.15, seed=5, members=3)
    s = np.sqrt(np.log1p(np.array([0.15**2])))
    for m in range(3):
        Z, Y = perturbed_tables(mrio.Z, mrio.Y, s, s, 5, m)
        fresh = MRIOTables(Z=Z, Y=Y, rows=mrio.rows, cols=mrio.cols, source="member")
        ref, _ = build_attribution(fresh, df.province, df.sector, df.co2_t, consumer_map=cmap)
        np.testing.assert_allclose(coefs[m], ref.coef, rtol=1e-12, atol=1e-15)
        assert not np.allclose(coefs[m], att.coef, rtol=1e-3)


def _pymrio_totals(Z: np.ndarray, Y: np.ndarray, frame: pd.DataFrame) -> pd.Series:
    """Consumption-based totals per final-demand region with pymrio (calc_L, calc_accounts)."""
    rows = pd.MultiIndex.from_product([REGIONS, SECTORS], names=["region", "sector"])
    cols = pd.MultiIndex.from_product([REGIONS, CATEGORIES], names=["region", "category"])
    Z_df, Y_df = pd.DataFrame(Z, rows, rows), pd.DataFrame(Y, rows, cols)
    x = pymrio.calc_x(Z_df, Y_df)
    L = pymrio.calc_L(pymrio.calc_A(Z_df, x))
    e = frame.groupby(["province", "sector"]).co2_t.sum().reindex(rows, fill_value=0.0)
    S = pd.DataFrame([e.to_numpy() / x.to_numpy().ravel()], index=["co2"], columns=rows)
    Y_region = Y_df.T.groupby(level="region", sort=False).sum().T
    d_cba, _, _, _ = pymrio.calc_accounts(S, L, Y_region)
    return d_cba.loc["co2"].groupby(level="region").sum()


@pytest.mark.parametrize("rsd_kind", ["number", "folder"])
def test_member_national_totals_equal_pymrio_on_the_perturbed_tables(tmp_path, rsd_kind):
    members = 3
    cfg = make_case(tmp_path, 800, resolution=200_000)
    Z, Y = write_tables(tmp_path / "mrio")
    if rsd_kind == "folder":  # standard deviations in the tables layout: 10 % of Z, 30 % of Y
        write_tables(tmp_path / "sd")  # labels; the values are replaced below
        sd = tmp_path / "sd"
        pd.DataFrame(0.1 * Z, columns=[str(i) for i in range(Z.shape[1])]).to_csv(
            sd / "Z.csv", index=False
        )
        pd.DataFrame(0.3 * Y, columns=[str(i) for i in range(Y.shape[1])]).to_parquet(
            sd / "Y.parquet"
        )
        rsd, s_z, s_y = "sd", 0.1, 0.3
    else:
        rsd, s_z, s_y = 0.2, 0.2, 0.2
    cfg.write_text(
        cfg.read_text()
        + f"\n[uncertainty]\nmembers = {members}\nseed = 2\n"
        + (f'mrio_rsd = "{rsd}"\n' if isinstance(rsd, str) else f"mrio_rsd = {rsd}\n")
    )
    ds = footgrid.run(cfg)
    frame = pd.read_parquet(tmp_path / "firms.parquet")
    got = ds.member_footprint_total.to_pandas()
    sig_z, sig_y = (np.sqrt(np.log1p(np.array([v**2]))) for v in (s_z, s_y))
    for m in range(members):
        Zm, Ym = perturbed_tables(Z, Y, sig_z, sig_y, 2, m)
        ref = _pymrio_totals(Zm, Ym, frame)
        np.testing.assert_allclose(got.loc[m, list(ref.index)], ref.to_numpy(), rtol=1e-9)
    # The deterministic footprint is the unperturbed one; members differ from it and each other.
    det = _pymrio_totals(Z, Y, frame)
    np.testing.assert_allclose(
        ds.totals.sum(("region", "sector", "category")).to_pandas()[det.index], det, rtol=1e-9
    )
    assert got.std(axis=0).min() > 0

"""Attribution against pymrio: national totals equal D_cba_reg - F_Y on pymrio's test MRIO;
consumer grouping, category split, concordance weights, label errors and zero-output rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymrio
import pytest

from footgrid.errors import InputError, MRIOError
from footgrid.mrio.attribution import build_attribution
from footgrid.mrio.concordance import load_concordance
from footgrid.mrio.consumers import build_consumer_map
from footgrid.mrio.tables import load_mrio

STRESSOR = ("emission_type1", "air")


@pytest.fixture(scope="module")
def pym() -> pymrio.IOSystem:
    io = pymrio.load_test()
    io.calc_all()
    return io


@pytest.fixture(scope="module")
def mrio(pym):
    return load_mrio(pymrio.load_test())


def points_from_F(io: pymrio.IOSystem, seed: int = 0) -> pd.DataFrame:
    """Points whose emissions per (region, sector) equal the F row: each row split over 1-4
    points with random shares, shuffled, region and sector as categoricals and as text."""
    rng = np.random.default_rng(seed)
    F = io.emissions.F.loc[STRESSOR]
    reg, sec, em = [], [], []
    for (r, s), value in F.items():
        k = int(rng.integers(1, 5))
        shares = rng.dirichlet(np.ones(k))
        reg += [r] * k
        sec += [s] * k
        em += list(value * shares)
    df = pd.DataFrame({"region": reg, "sector": sec, "emission": em})
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def reference_by_region(io: pymrio.IOSystem) -> pd.Series:
    d_cba = io.emissions.D_cba_reg.loc[STRESSOR]
    f_y = io.emissions.F_Y.loc[STRESSOR].groupby(level="region").sum()
    return d_cba - f_y.reindex(d_cba.index)


def reference_by_region_category(io: pymrio.IOSystem) -> pd.DataFrame:
    """pymrio's calc_accounts on one final-demand category at a time (columns = regions)."""
    out = {}
    for cat in io.Y.columns.unique(level="category"):
        Y_k = io.Y.xs(cat, level="category", axis=1)
        d_cba, _, _, _ = pymrio.calc_accounts(io.emissions.S, io.L, Y_k)
        out[cat] = d_cba.loc[STRESSOR].groupby(level="region").sum()
    return pd.DataFrame(out)


def test_totals_equal_pymrio_consumption_accounts(pym, mrio, tmp_path) -> None:
    pts = points_from_F(pym)
    att, key_id = build_attribution(
        mrio, pts["region"].to_numpy(), pts["sector"].to_numpy(), pts["emission"].to_numpy()
    )
    assert key_id.dtype == np.int64 and key_id.min() >= 0 and key_id.max() < len(att.keys)
    assert len(att.keys) == 48 and att.valid.all()
    assert att.consumers == tuple(f"reg{i}" for i in range(1, 7))
    assert len(att.categories) == 7 and att.M.shape == (48, 6, 7)
    assert att.coef.shape == (48, 42) and att.coef.flags.c_contiguous

    e_key = att.emission_by_key(key_id, pts["emission"].to_numpy())
    totals = att.totals(e_key)
    by_consumer = pd.Series(totals.sum(axis=(0, 2)), index=list(att.consumers))
    ref = reference_by_region(pym)
    np.testing.assert_allclose(by_consumer.to_numpy(), ref[by_consumer.index].to_numpy(), rtol=1e-9)

    # The kernel's arithmetic (one coefficient row per point) gives the same totals.
    per_point = pts["emission"].to_numpy()[:, None] * att.coef[key_id]
    by_cell = per_point.sum(axis=0).reshape(6, 7)
    np.testing.assert_allclose(by_cell, totals.sum(axis=0), rtol=1e-12)
    # Conservation: every emission is attributed to some final demand.
    np.testing.assert_allclose(totals.sum(), pts["emission"].sum(), rtol=1e-12)

    # Per category against pymrio's calc_accounts, one category at a time.
    ref_k = reference_by_region_category(pym)
    ours = pd.DataFrame(totals.sum(axis=0), index=list(att.consumers), columns=att.categories)
    ref_k = ref_k.loc[ours.index, list(ours.columns)]
    np.testing.assert_allclose(ours.to_numpy(), ref_k.to_numpy(), rtol=1e-9, atol=1e-9 * ref.max())

    # Per producing row: pymrio's D_cba by (producing region, sector) is the consumption-based
    # footprint attributed to the *demanded* sector; our ledger is by producing row, whose sum
    # over consumers is the production-based account D_pba.
    d_pba = pym.emissions.D_pba.loc[STRESSOR].to_numpy()
    np.testing.assert_allclose(totals.sum(axis=(1, 2)), d_pba, rtol=1e-9)


def test_categorical_inputs_and_cache(pym, mrio, tmp_path, caplog) -> None:
    caplog.set_level("INFO", logger="footgrid")
    pts = points_from_F(pym, seed=3)
    reg = pd.Categorical(pts["region"], categories=[*sorted(pts["region"].unique()), "unused"])
    sec = pts["sector"].astype("category")
    att, key_id = build_attribution(mrio, reg, sec, pts["emission"].to_numpy(), cache_dir=tmp_path)
    att2, key_id2 = build_attribution(
        mrio,
        pts["region"].to_numpy(dtype=object),
        pts["sector"].to_numpy(dtype=object),
        pts["emission"].to_numpy(),
        cache_dir=tmp_path,
    )
    assert "coefficient cache hit" in caplog.text
    assert att.keys.equals(att2.keys)
    np.testing.assert_array_equal(key_id, key_id2)
    np.testing.assert_array_equal(att.coef, att2.coef)


def test_consumer_groups_categories_sum_and_home(pym, mrio, tmp_path) -> None:
    groups = tmp_path / "groups.csv"
    groups.write_text("region,consumer\nreg1,AB\nreg2,AB\nreg3,reg3\n")
    cmap = build_consumer_map(mrio.cols, groups=groups, categories="sum", home="AB")
    assert cmap.consumers == ("AB", "reg3", "reg4", "reg5", "reg6")
    assert cmap.categories == ("all",)
    assert cmap.domestic.tolist() == [True, False, False, False, False]
    assert cmap.home == ["AB"]
    pts = points_from_F(pym)
    att, key_id = build_attribution(
        mrio,
        pts["region"].to_numpy(),
        pts["sector"].to_numpy(),
        pts["emission"].to_numpy(),
        consumer_map=cmap,
    )
    assert att.M.shape == (48, 5, 1) and att.domestic.tolist() == cmap.domestic.tolist()
    totals = att.totals(att.emission_by_key(key_id, pts["emission"].to_numpy()))
    ref = reference_by_region(pym)
    got = totals.sum(axis=(0, 2))
    np.testing.assert_allclose(got[0], ref["reg1"] + ref["reg2"], rtol=1e-9)
    np.testing.assert_allclose(got[1:], ref[["reg3", "reg4", "reg5", "reg6"]], rtol=1e-9)
    # Grouping is a pure column sum of M.
    M_full = np.asarray(att.M)
    assert np.allclose(M_full.sum(axis=(1, 2)), 1.0, atol=1e-12)


def test_consumer_map_errors(mrio, tmp_path) -> None:
    with pytest.raises(InputError, match="unknown categories mode 'split'"):
        build_consumer_map(mrio.cols, categories="split")
    with pytest.raises(InputError, match=r"home consumer 'reg9'.*nearest: reg6, reg5"):
        build_consumer_map(mrio.cols, home="reg9")
    bad = tmp_path / "g.csv"
    bad.write_text("region,consumer\nregl,AB\n")
    with pytest.raises(InputError, match=r"not final-demand regions.*'regl'.*nearest valid: reg6"):
        build_consumer_map(mrio.cols, groups=bad)
    bad.write_text("region,consumer\nreg1,AB\nreg1,CD\n")
    with pytest.raises(InputError, match=r"'reg1' is mapped to several consumers \(AB, CD\)"):
        build_consumer_map(mrio.cols, groups=bad)
    bad.write_text("region,group\nreg1,AB\n")
    with pytest.raises(InputError, match=r"lacks column\(s\) consumer"):
        build_consumer_map(mrio.cols, groups=bad)
    with pytest.raises(InputError, match="does not exist"):
        build_consumer_map(mrio.cols, groups=tmp_path / "missing.csv")
    cmap = build_consumer_map(mrio.cols, home=["reg1", "reg2"])
    assert cmap.home == ["reg1", "reg2"]
    with pytest.raises(ValueError, match="expected an"):
        cmap.aggregate(np.zeros((3, 5)))


def test_concordance_split_weights_are_exact(mrio, tmp_path) -> None:
    conc_file = tmp_path / "conc.csv"
    conc_file.write_text(
        "inventory_sector,mrio_sector,weight\n"
        "AGRI,food,0.3\nAGRI,manufactoring,0.7\n"
        "POWER,electricity,1\n"
    )
    conc = load_concordance(conc_file, mrio.sectors)
    regions = np.array(["reg2", "reg2", "reg5", "reg2"], dtype=object)
    sectors = np.array(["AGRI", "POWER", "AGRI", "AGRI"], dtype=object)
    att, key_id = build_attribution(
        mrio, regions, sectors, np.array([1.0, 2.0, 3.0, 4.0]), concordance=conc
    )
    assert list(att.keys) == [("reg2", "AGRI"), ("reg2", "POWER"), ("reg5", "AGRI")]
    assert key_id.tolist() == [0, 1, 2, 0]
    rows = {lab: i for i, lab in enumerate(mrio.rows)}
    Mf = att.M.reshape(len(mrio.rows), -1)
    for k, r in enumerate(["reg2", "reg5"]):
        expected = 0.3 * Mf[rows[(r, "food")]] + 0.7 * Mf[rows[(r, "manufactoring")]]
        np.testing.assert_array_equal(att.coef[2 * k if r == "reg5" else 0], expected)
    np.testing.assert_array_equal(att.coef[1], Mf[rows[("reg2", "electricity")]])
    np.testing.assert_allclose(att.coef.sum(axis=1), 1.0, atol=1e-12)
    w = att.weights.toarray()
    assert w[0, rows[("reg2", "food")]] == 0.3 and w[0, rows[("reg2", "manufactoring")]] == 0.7
    # The ledger distributes the key's emissions over both rows with the same weights.
    totals = att.totals(att.emission_by_key(key_id, np.array([1.0, 2.0, 3.0, 4.0])))
    per_row = totals.sum(axis=(1, 2))
    assert per_row[rows[("reg2", "food")]] == pytest.approx(0.3 * 5.0, rel=1e-12)
    assert per_row[rows[("reg2", "manufactoring")]] == pytest.approx(0.7 * 5.0, rel=1e-12)


def test_unknown_labels_list_nearest(mrio, tmp_path) -> None:
    e = np.ones(4)
    with pytest.raises(InputError) as err:
        build_attribution(
            mrio,
            np.array(["reg1", "reg7", "reg1", "reg7"]),
            np.array(["food"] * 4),
            e,
            source_file="firms.csv",
        )
    msg = err.value.message
    assert "'reg7'" in msg and "nearest valid labels to 'reg7': reg6, reg5" in msg
    assert "rows 1, 3" in msg and "firms.csv" in msg and "column 'region'" in msg
    with pytest.raises(
        InputError, match=r"not an MRIO sector.*'fod'.*nearest valid labels to 'fod': food.*row 2"
    ):
        build_attribution(mrio, np.array(["reg1"] * 3), np.array(["food", "food", "fod"]), e[:3])
    conc_file = tmp_path / "c.csv"
    conc_file.write_text("inventory_sector,mrio_sector,weight\nA,food,1\n")
    conc = load_concordance(conc_file, mrio.sectors)
    with pytest.raises(InputError, match=r"not an inventory_sector of the concordance.*'B'"):
        build_attribution(
            mrio, np.array(["reg1", "reg1"]), np.array(["A", "B"]), e[:2], concordance=conc
        )
    with pytest.raises(InputError, match=r"1 points have no region label.*row 1"):
        build_attribution(
            mrio, np.array(["reg1", None], dtype=object), np.array(["food"] * 2), e[:2]
        )
    with pytest.raises(InputError, match="non-finite emission"):
        build_attribution(mrio, np.array(["reg1"]), np.array(["food"]), np.array([np.nan]))
    with pytest.raises(InputError, match="zero_output"):
        build_attribution(mrio, np.array(["reg1"]), np.array(["food"]), e[:1], zero_output="spread")


def zero_row_mrio(pym: pymrio.IOSystem):
    """pymrio's test MRIO with ('reg3', 'mining') producing nothing and buying nothing."""
    io = pymrio.load_test()
    i = list(io.Z.index).index(("reg3", "mining"))
    io.Z.iloc[i, :] = 0.0
    io.Z.iloc[:, i] = 0.0
    io.Y.iloc[i, :] = 0.0
    return load_mrio(io), i


def test_emissions_on_zero_output_rows(pym, tmp_path) -> None:
    mrio0, i = zero_row_mrio(pym)
    regions = np.array(["reg3", "reg3", "reg1", "reg3"], dtype=object)
    sectors = np.array(["mining", "food", "food", "mining"], dtype=object)
    e = np.array([5.0, 1.0, 2.0, 7.0])
    with pytest.raises(MRIOError) as err:
        build_attribution(mrio0, regions, sectors, e, source_file="firms.csv")
    msg = err.value.message
    assert "('reg3', 'mining') receives 12" in msg and "zero_output" in msg and "drop" in msg

    att, key_id = build_attribution(mrio0, regions, sectors, e, zero_output="drop")
    keep = att.valid[key_id]
    assert keep.tolist() == [False, True, True, False]
    assert not att.coef[~att.valid].any()
    totals = att.totals(att.emission_by_key(key_id, e))
    np.testing.assert_allclose(totals.sum(), e[keep].sum(), rtol=1e-12)
    assert not totals[i].any()

    # Zero emissions on a zero-output row are harmless under "error".
    att, key_id = build_attribution(mrio0, regions, sectors, np.array([0.0, 1.0, 2.0, 0.0]))
    assert att.valid.all()


def test_region_without_the_mrio_sector(tmp_path) -> None:
    io = pymrio.load_test()
    keep = [lab for lab in io.Z.index if lab != ("reg2", "food")]
    io.Z = io.Z.loc[keep, keep]
    io.Y = io.Y.loc[keep]
    mrio2 = load_mrio(io)
    with pytest.raises(InputError, match=r"no producing row \('reg2', 'food'\)"):
        build_attribution(mrio2, np.array(["reg2"]), np.array(["food"]), np.ones(1))


def test_many_points_are_vectorised(mrio) -> None:
    rng = np.random.default_rng(9)
    n = 1_000_000
    rows = list(mrio.rows)
    pick = rng.integers(0, len(rows), n)
    regions = np.array([r for r, _ in rows], dtype=object)[pick]
    sectors = np.array([s for _, s in rows], dtype=object)[pick]
    e = rng.random(n)
    att, key_id = build_attribution(mrio, regions, sectors, e)
    assert len(att.keys) == 48
    # keys are (region, sector) sorted; check the mapping against a direct lookup
    lookup = {lab: k for k, lab in enumerate(att.keys)}
    sample = rng.integers(0, n, 1000)
    assert all(lookup[(regions[p], sectors[p])] == key_id[p] for p in sample)
    np.testing.assert_allclose(
        att.totals(att.emission_by_key(key_id, e)).sum(), e.sum(), rtol=1e-12
    )

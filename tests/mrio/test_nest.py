"""`footgrid.nest`: reconstruction of a true nested table (numpy einsum), aggregation back to the
global table, foreign footprints against pymrio on the un-nested table, GRAS margins (with
negative entries), and the errors on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pymrio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import footgrid
from footgrid.errors import InputError, MRIOError
from footgrid.mrio.leontief import attribution_coefficients
from footgrid.mrio.tables import MRIOTables
from tests.helpers.nesting import make_global, true_split, write_concordance, write_subnational

REGIONS = ["AT", "CN", "US", "JP"]
SECTORS = ["agri", "elec", "steel", "serv"]
CATS = ["HH", "GOV", "GFCF"]
PROVINCES = ["CN-11", "CN-31", "CN-44"]
RENAME = {s: f"p_{s}" for s in SECTORS}


def _case(tmp: Path, seed: int = 0, *, homogeneous: bool = False, totals: bool = False):
    g = make_global(REGIONS, SECTORS, CATS, seed=seed, zeros=0.2)
    t = true_split(g, "CN", PROVINCES, seed=seed + 1, homogeneous=homogeneous)
    foreign = [r for r in REGIONS if r != "CN"]
    sub = write_subnational(tmp / "sub", t, 1, foreign, rename=RENAME, totals=totals)
    conc = write_concordance(tmp / "conc.csv", RENAME)
    return g, t, sub, conc


def _aggregator(nested: pd.MultiIndex, glob: pd.MultiIndex, country: str) -> np.ndarray:
    """(n_global, n_nested) 0/1 matrix summing the provinces back into ``country``."""
    gi = {lab: i for i, lab in enumerate(glob)}
    A = np.zeros((len(glob), len(nested)))
    for j, (r, s) in enumerate(nested):
        A[gi[(r if (r, s) in gi else country, s)], j] = 1.0
    return A


@pytest.mark.parametrize("seed", [0, 7])
def test_reconstruction_recovers_the_true_nested_table(tmp_path, seed) -> None:
    g, t, sub, conc = _case(tmp_path, seed)
    tables, report = footgrid.nest(g, sub, country="CN", concordance=conc)
    assert isinstance(tables, MRIOTables)
    assert tables.rows.equals(t.rows) and tables.cols.equals(t.cols)
    assert tables.regions == ["AT", *PROVINCES, "US", "JP"]
    np.testing.assert_allclose(tables.Z, t.Z, rtol=1e-12, atol=1e-12 * t.Z.max())
    np.testing.assert_allclose(tables.Y, t.Y, rtol=1e-12, atol=1e-12 * t.Y.max())
    # The provincial table is consistent with the global one: no differences, no fallbacks.
    rel = report.comparison.filter(like="rel_diff").to_numpy()
    assert np.abs(rel).max() < 1e-12
    assert report.fallbacks.empty and report.gras is None


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    n_prov=st.integers(1, 4),
    totals=st.booleans(),
    zero_pair=st.booleans(),
)
def test_aggregation_gives_the_global_table(tmp_path_factory, seed, n_prov, totals, zero_pair):
    """Any provincial table (unrelated to the global one): provinces summed = global table."""
    tmp = tmp_path_factory.mktemp("agg")
    g = make_global(REGIONS, SECTORS, CATS, seed=seed, zeros=0.3)
    provinces = [f"P{i}" for i in range(n_prov)]
    other = true_split(
        make_global(REGIONS, SECTORS, CATS, seed=seed + 1), "CN", provinces, seed=seed
    )
    sub = write_subnational(tmp / "sub", other, 1, ["AT", "US", "JP"], totals=totals)
    if zero_pair:  # no provincial information on the pair (agri, elec): output-share fallback
        Zp = pd.read_csv(sub / "Z.csv").to_numpy()
        S = len(SECTORS)
        Zp[0::S, 1::S] = 0.0
        pd.DataFrame(Zp).to_csv(sub / "Z.csv", index=False)
    conc = write_concordance(tmp / "c.csv", {s: s for s in SECTORS})
    tables, report = footgrid.nest(g, sub, country="CN", concordance=conc)
    A = _aggregator(tables.rows, g.rows, "CN")
    Ak = _aggregator(tables.cols, g.cols, "CN")
    np.testing.assert_allclose(A @ tables.Z @ A.T, g.Z, rtol=1e-12, atol=0)
    np.testing.assert_allclose(A @ tables.Y @ Ak.T, g.Y, rtol=1e-12, atol=0)
    foreign = ~tables.rows.get_level_values("region").isin(provinces)
    np.testing.assert_allclose(tables.x[foreign], (A @ tables.x)[A @ foreign > 0], rtol=0)
    glob_foreign = ~g.rows.get_level_values("region").isin(["CN"])
    np.testing.assert_allclose(tables.x[foreign], g.x[glob_foreign], rtol=1e-12)
    dom = report.fallbacks[report.fallbacks["block"] == "domestic Z"]
    z_cc = g.Z.reshape(4, 4, 4, 4)[1, 0, 1, 1]
    assert (("agri", "elec") in set(zip(dom["from"], dom["to"], strict=True))) == (
        zero_pair and z_cc != 0
    )


def test_homogeneous_provinces_keep_foreign_footprints(tmp_path) -> None:
    g, t, sub, conc = _case(tmp_path, 3, homogeneous=True, totals=True)
    tables, _ = footgrid.nest(g, sub, country="CN", concordance=conc)
    np.testing.assert_allclose(tables.Z, t.Z, rtol=1e-12, atol=1e-12 * t.Z.max())
    # Emissions: random per global row; provinces emit sigma_p(i) of C's sector i.
    rng = np.random.default_rng(5)
    F = pd.Series(rng.uniform(0, 100, len(g.rows)), index=g.rows)
    io = pymrio.IOSystem(
        Z=pd.DataFrame(g.Z, index=g.rows, columns=g.rows),
        Y=pd.DataFrame(g.Y, index=g.rows, columns=g.cols),
    )
    io.emissions = pymrio.Extension(
        name="emissions", F=pd.DataFrame([F.to_numpy()], index=["co2"], columns=g.rows)
    )
    io.calc_all()
    ref = io.emissions.D_cba_reg.loc["co2"]
    e = np.array(
        [
            F[(r, s)]
            if r in REGIONS
            else t.sigma[PROVINCES.index(r), SECTORS.index(s)] * F[("CN", s)]
            for r, s in tables.rows
        ]
    )
    M = attribution_coefficients(tables.Z, tables.Y, allow_negative_y=True)
    fp = pd.Series(e @ M, index=tables.cols).groupby(level="region").sum()
    for r in ["AT", "US", "JP"]:
        assert fp[r] == pytest.approx(ref[r], rel=1e-9)
    assert fp[PROVINCES].sum() == pytest.approx(ref["CN"], rel=1e-9)


def _perturbed(tmp: Path, negative: bool):
    """A provincial table that does not match the global one (noise, optional inventory
    changes < 0 in global and provincial final demand)."""
    cats = [*CATS, "INV"] if negative else CATS
    g = make_global(REGIONS, SECTORS, cats, seed=11)
    if negative:
        Y = g.Y.copy()
        Y[:, 3::4] = np.random.default_rng(2).uniform(-3, 1, (Y.shape[0], len(REGIONS)))
        g = MRIOTables(Z=g.Z, Y=Y, rows=g.rows, cols=g.cols, source="s", allow_negative_y=True)
    t = true_split(g, "CN", PROVINCES, seed=12)
    sub = write_subnational(tmp / "sub", t, 1, ["AT", "US", "JP"], rename=RENAME)
    rng = np.random.default_rng(3)
    for name in ("Z.csv", "exports.csv"):
        df = pd.read_csv(sub / name)
        df.iloc[:, :] = df.to_numpy() * rng.uniform(0.7, 1.3, df.shape)
        df.to_csv(sub / name, index=False)
    imp = pd.read_csv(sub / "imports.csv")
    imp.iloc[:, 1:] = imp.iloc[:, 1:].to_numpy() * rng.uniform(0.7, 1.3, imp.iloc[:, 1:].shape)
    imp.to_csv(sub / "imports.csv", index=False)
    Zp = pd.read_csv(sub / "Z.csv")  # no provincial flow agri -> elec: output-share fallback
    Zp.iloc[0 :: len(SECTORS), 1 :: len(SECTORS)] = 0.0
    Zp.to_csv(sub / "Z.csv", index=False)
    return g, sub, write_concordance(tmp / "conc.csv", RENAME)


@pytest.mark.parametrize("negative", [False, True])
def test_gras_meets_both_margins(tmp_path, negative) -> None:
    g, sub, conc = _perturbed(tmp_path, negative)
    if negative:
        with pytest.raises(InputError, match=r"negative.*gras"):
            footgrid.nest(g, sub, country="CN", concordance=conc)
    tables, report = footgrid.nest(g, sub, country="CN", concordance=conc, method="gras", tol=1e-11)
    res = report.gras
    assert res is not None and res.converged and res.iterations > 1
    assert ("domestic Z", "agri", "elec") in set(
        report.fallbacks[["block", "from", "to"]].itertuples(index=False, name=None)
    )
    S, K, P = len(SECTORS), g.Y.shape[1] // len(REGIONS), len(PROVINCES)
    prov = tables.rows.get_level_values("region").isin(PROVINCES)
    provc = tables.cols.get_level_values("region").isin(PROVINCES)
    balanced = prov[:, None] | provc[None, :]  # the blocks GRAS adjusts (Y part)
    assert res.negatives == int((tables.Y[balanced] < 0).sum())
    assert (res.negatives > 0) == negative
    # Independent targets, from the inputs with numpy.
    sub_Z = pd.read_csv(sub / "Z.csv").to_numpy()
    sub_Y = pd.read_parquet(sub / "Y.parquet").to_numpy()
    sub_E = pd.read_csv(sub / "exports.csv").to_numpy()
    sub_I = pd.read_csv(sub / "imports.csv").iloc[:, 1:].to_numpy()
    x_sub = (sub_Z.sum(1) + sub_Y.sum(1) + sub_E.sum(1)).reshape(P, S)
    xC = (g.Z.sum(1) + g.Y.sum(1)).reshape(4, S)[1]
    row_target = xC * x_sub / x_sub.sum(axis=0)
    colz_sub = (sub_Z.sum(0) + sub_I[:, : P * S].sum(0)).reshape(P, S)
    colC = g.Z.sum(0).reshape(4, S)[1]
    coly_sub = (sub_Y.sum(0) + sub_I[:, P * S :].sum(0)).reshape(P, K)
    colyC = g.Y.sum(0).reshape(4, K)[1]
    scale = max(np.abs(g.x).max(), 1.0)
    tol = 1e-11 * scale * 1.01
    x = tables.Z.sum(1) + tables.Y.sum(1)
    np.testing.assert_allclose(x[prov].reshape(P, S), row_target, rtol=0, atol=tol)
    np.testing.assert_allclose(x[~prov], g.x[g.rows.get_level_values("region") != "CN"],
                               rtol=0, atol=tol)  # fmt: skip
    zc = tables.Z.sum(0)
    np.testing.assert_allclose(zc[prov].reshape(P, S), colC * colz_sub / colz_sub.sum(0),
                               rtol=0, atol=tol)  # fmt: skip
    np.testing.assert_allclose(zc[~prov], g.Z.sum(0)[g.rows.get_level_values("region") != "CN"],
                               rtol=0, atol=tol)  # fmt: skip
    yc = tables.Y.sum(0)
    np.testing.assert_allclose(yc[provc].reshape(P, K), colyC * coly_sub / coly_sub.sum(0),
                               rtol=0, atol=tol)  # fmt: skip
    # Foreign -> foreign blocks untouched; signs kept.
    fr = ~prov
    gf = g.rows.get_level_values("region") != "CN"
    np.testing.assert_array_equal(tables.Z[np.ix_(fr, fr)], g.Z[np.ix_(gf, gf)])
    if negative:
        assert (tables.Y < 0).any()
    md = report.to_markdown()
    assert "Converged after" in md and "gras" in md


def _bad(tmp_path, edit, match, exc=InputError, **kw):
    g, _, sub, conc = _case(tmp_path, 0)
    edit(sub, conc)
    with pytest.raises(exc, match=match) as info:
        footgrid.nest(g, sub, concordance=conc, **{"country": "CN", **kw})
    assert info.value.fix
    return info.value


def test_error_sector_missing_from_concordance(tmp_path) -> None:
    def edit(sub, conc):
        df = pd.read_csv(conc)
        df[df["inventory_sector"] != "p_steel"].to_csv(conc, index=False)

    err = _bad(tmp_path, edit, "lacks the provincial sector 'p_steel'")
    assert err.file and err.file.endswith("conc.csv")


def test_error_country_not_in_global(tmp_path) -> None:
    err = _bad(tmp_path, lambda s, c: None, "'XX' is not a region", country="XX")
    assert err.key == "--country"


def test_error_negative_flow_under_proportional(tmp_path) -> None:
    def edit(sub, conc):
        df = pd.read_csv(sub / "imports.csv")
        df.iloc[1, 3] = -1.0
        df.to_csv(sub / "imports.csv", index=False)

    err = _bad(tmp_path, edit, "negative")
    assert err.row == [1] and err.file.endswith("imports.csv")
    assert ">= 0" in err.fix  # an import used by a sector: negative under either method

    def edit_y(sub, conc):
        df = pd.read_parquet(sub / "Y.parquet")
        df.iloc[5, 2] = -1.0
        df.to_parquet(sub / "Y.parquet")

    err = _bad(tmp_path / "y", edit_y, "negative")
    assert err.row == [5] and "gras" in err.fix


def test_error_exports_exceed_output(tmp_path) -> None:
    def edit(sub, conc):
        df = pd.read_csv(sub / "Z.csv")
        df.iloc[4, :] = -df.iloc[4, :].abs() * 100
        df.to_csv(sub / "Z.csv", index=False)

    err = _bad(tmp_path, edit, "exports exceed output")
    assert err.row == [4]


def test_error_non_finite(tmp_path) -> None:
    def edit(sub, conc):
        df = pd.read_csv(sub / "exports.csv")
        df.iloc[2, 0] = np.inf
        df.to_csv(sub / "exports.csv", index=False)

    err = _bad(tmp_path, edit, "non-finite")
    assert err.row == [2] and err.file.endswith("exports.csv")


def test_error_unknown_destination_and_category(tmp_path) -> None:
    def edit(sub, conc):
        df = pd.read_csv(sub / "exports.csv")
        df.rename(columns={"JP": "JPN"}).to_csv(sub / "exports.csv", index=False)

    err = _bad(tmp_path, edit, r"'JPN', which is not a foreign region.*nearest: JP")
    assert err.column == "JPN"

    def edit2(sub, conc):
        df = pd.read_csv(sub / "cols.csv")
        df.loc[df["category"] == "GOV", "category"] = "government"
        df.to_csv(sub / "cols.csv", index=False)

    err = _bad(tmp_path / "b", edit2, "category 'government'")
    assert err.file.endswith("cols.csv") and "--category-concordance" in err.fix


def test_category_concordance_and_bad_global(tmp_path) -> None:
    g, t, sub, conc = _case(tmp_path, 0)
    df = pd.read_csv(sub / "cols.csv")
    df["category"] = df["category"].str.lower()
    df.to_csv(sub / "cols.csv", index=False)
    cc = write_concordance(tmp_path / "cats.csv", {k: k.lower() for k in CATS})
    tables, _ = footgrid.nest(g, sub, country="CN", concordance=conc, category_concordance=cc)
    np.testing.assert_allclose(tables.Y, t.Y, rtol=1e-12, atol=1e-12 * t.Y.max())
    # A global table whose regions do not share sectors cannot be nested.
    keep = ~(
        (g.rows.get_level_values("region") == "US") & (g.rows.get_level_values("sector") == "serv")
    )
    bad = MRIOTables(Z=g.Z[np.ix_(keep, keep)], Y=g.Y[keep], rows=g.rows[keep], cols=g.cols,
                     source="g")  # fmt: skip
    with pytest.raises(MRIOError, match="same sectors"):
        footgrid.nest(bad, sub, country="CN", concordance=conc, category_concordance=cc)
    with pytest.raises(InputError, match="unknown nesting method"):
        footgrid.nest(g, sub, country="CN", concordance=conc, method="ras")


def test_error_province_unknown_or_clashing(tmp_path) -> None:
    def edit(sub, conc):
        df = pd.read_csv(sub / "cols.csv")
        df.loc[0, "region"] = "CN-99"
        df.to_csv(sub / "cols.csv", index=False)

    err = _bad(tmp_path, edit, "province 'CN-99' that rows.csv does not have")
    assert err.row == [0] and err.file.endswith("cols.csv")

    def clash(sub, conc):
        for name in ("rows.csv", "cols.csv"):
            df = pd.read_csv(sub / name)
            df["region"] = df["region"].replace("CN-44", "US")
            df.to_csv(sub / name, index=False)

    err = _bad(tmp_path / "c", clash, "province 'US' has the name of a region")
    assert err.file.endswith("rows.csv")

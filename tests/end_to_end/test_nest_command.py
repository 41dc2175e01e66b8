"""`footgrid nest`: the nested MRIO it writes is read by pymrio (its consumption-based accounts
agree with footgrid's totals of a `run` on it) and by `footgrid run`; bad input exits 2."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymrio
import pytest

import footgrid
from footgrid.mrio.nest_report import write_tables
from tests.helpers.cases import CATEGORIES, SECTORS, firms
from tests.helpers.files import run_cli, write_config
from tests.helpers.nesting import make_global, true_split, write_concordance, write_subnational

RENAME = {s: s.lower() for s in SECTORS}


def _inputs(tmp_path):
    g = make_global(["US", "CN", "JP"], SECTORS, CATEGORIES, seed=4)
    glob = tmp_path / "global"
    write_tables(g, glob)
    t = true_split(g, "CN", ["CN-A", "CN-B"], seed=5)
    sub = write_subnational(tmp_path / "sub", t, 1, ["US", "JP"], rename=RENAME)
    conc = write_concordance(tmp_path / "conc.csv", RENAME)
    return glob, sub, conc


def test_nest_command_pymrio_and_run_agree(tmp_path) -> None:
    glob, sub, conc = _inputs(tmp_path)
    out = tmp_path / "nested"
    res = run_cli("nest", str(glob), str(sub), "--country", "CN", "--concordance", str(conc),
                  "--out", str(out), "--pymrio", "--method", "gras")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "GRAS converged" in res.stdout
    for name in ("rows.csv", "cols.csv", "Z.parquet", "Y.parquet", "nest_report.md",
                 "nest_report.csv", "nest_fallbacks.csv"):  # fmt: skip
        assert (out / name).is_file()
    rep = pd.read_csv(out / "nest_report.csv", index_col="sector")
    assert list(rep.index) == SECTORS and "exports_rel_diff" in rep.columns

    pts = firms(1500)
    pts.to_parquet(tmp_path / "firms.parquet", index=False)
    cfg = write_config(
        tmp_path,
        {
            "points": {
                "path": "firms.parquet",
                "emission": "co2_t",
                "region": "province",
                "id": "firm_id",
            },
            "mrio": {"path": "nested", "format": "auto"},
            "grid": {"resolution": 100_000, "tile": 16},
            "compute": {"scheduler": "threads"},
            "output": {"path": "out.zarr", "overwrite": True},
        },
    )
    ds = footgrid.run(cfg)
    ours = ds.totals.sum(("region", "sector")).to_pandas()  # consumer x category

    io = pymrio.load(out / "pymrio")
    F = pts.groupby(["province", "sector"])["co2_t"].sum()
    F = F.reindex(pd.MultiIndex.from_tuples(list(io.Z.index)), fill_value=0.0)
    io.emissions = pymrio.Extension(
        name="emissions", F=pd.DataFrame([F.to_numpy()], index=["co2"], columns=io.Z.index)
    )
    io.calc_all()
    ref = pd.DataFrame(
        {
            k: pymrio.calc_accounts(io.emissions.S, io.L, io.Y.xs(k, level="category", axis=1))[0]
            .loc["co2"]
            .groupby(level="region")
            .sum()
            for k in CATEGORIES
        }
    )
    ref = ref.loc[list(ours.index), list(ours.columns)]
    np.testing.assert_allclose(
        ours.to_numpy(), ref.to_numpy(), rtol=1e-9, atol=1e-9 * ref.max().max()
    )
    np.testing.assert_allclose(
        ours.to_numpy().sum(), io.emissions.D_cba_reg.loc["co2"].sum(), rtol=1e-12
    )


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--country", "XX"], "is not a region of the global MRIO"),
        (["--country", "CN", "--concordance", "missing.csv"], "does not exist"),
    ],
)
def test_nest_command_bad_input_exits_2(tmp_path, extra, needle) -> None:
    glob, sub, conc = _inputs(tmp_path)
    args = ["nest", str(glob), str(sub), "--concordance", str(conc), "--out", str(tmp_path / "o")]
    res = run_cli(*args, *extra, cwd=tmp_path)
    assert res.returncode == 2
    assert needle in res.stderr and "Fix:" in res.stderr and "Traceback" not in res.stderr

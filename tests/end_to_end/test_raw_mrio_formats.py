"""Raw MRIO downloads from ``[mrio] format`` (Eora26, OECD ICIO, GLORIA, WIOD), built in
their exact layouts from pymrio's test system; national totals against pymrio's consumption
accounts computed on pymrio's own parse of the same files."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pymrio
import pytest
from pymrio.tools.ioparser import ParserWarning

import footgrid
from tests.helpers.files import write_config
from tests.helpers.raw_mrio import (
    write_eora26_folder,
    write_gloria_folder,
    write_oecd_csv,
    write_wiod_xlsx,
)


def _reference(io: pymrio.IOSystem, F: pd.Series) -> pd.Series:
    """pymrio's consumption-based account of emissions F (per Z row), by consumer region."""
    io.calc_system()
    S = (F / io.x["indout"].replace(0, np.nan)).fillna(0).to_frame("co2").T
    Y = io.Y.T.groupby(level="region", sort=False).sum().T  # one column per consumer region
    d_cba, _, _, _ = pymrio.calc_accounts(S, io.L, Y)
    return d_cba.loc["co2"].groupby(level="region").sum()


def _points(io: pymrio.IOSystem, folder) -> pd.Series:
    rng = np.random.default_rng(5)
    rows = io.A.index if io.Z is None else io.Z.index
    F = pd.Series(rng.lognormal(5, 1, len(rows)), index=rows)
    pd.DataFrame(
        {
            "lon": rng.uniform(100, 110, len(rows)),
            "lat": rng.uniform(20, 30, len(rows)),
            "co2_t": F.to_numpy(),
            "sector": rows.get_level_values(1).astype(str),
            "region": rows.get_level_values(0).astype(str),
        }
    ).to_parquet(folder / "firms.parquet", index=False)
    return F


@pytest.mark.parametrize("fmt", ["eora26", "oecd", "gloria", "wiod"])
def test_raw_download_national_totals_equal_pymrios(tmp_path, fmt) -> None:
    if fmt == "eora26":
        src = write_eora26_folder(pymrio.load_test(), tmp_path / "eora26")
        io = pymrio.parse_eora26(src, year=2010)
    elif fmt == "oecd":
        src = write_oecd_csv(pymrio.load_test(), tmp_path / "oecd").parent
        io = pymrio.parse_oecd(src, year=2010)
    elif fmt == "wiod":
        src = write_wiod_xlsx(pymrio.load_test(), tmp_path / "wiod").parent
        with warnings.catch_warnings():  # pymrio: no satellite accounts in this download
            warnings.simplefilter("ignore", ParserWarning)
            io = pymrio.parse_wiod(src, year=2009)
    else:  # GLORIA: A and Y only (pymrio's parse has neither Z nor x)
        src = write_gloria_folder(pymrio.load_test(), tmp_path / "gloria")
        io = pymrio.parse_gloria(src, year=2022, version=59)
        assert io.Z is None and io.x is None
    F = _points(io, tmp_path)
    cfg = {
        "points": {"path": "firms.parquet", "emission": "co2_t", "region": "region"},
        "mrio": {"path": src.name, "format": fmt},
        "grid": {"resolution": 100_000, "tile": 16},
        "output": {"path": "out.zarr", "overwrite": True},
    }
    ds = footgrid.run(write_config(tmp_path, cfg))
    got = ds["totals"].sum(("region", "sector", "category")).to_series()
    got.index = got.index.astype(str)
    ref = _reference(io, F)
    np.testing.assert_allclose(got[ref.index].to_numpy(), ref.to_numpy(), rtol=1e-9)
    assert float(ds.attrs["input_total"]) == pytest.approx(F.sum(), rel=1e-12)

"""Reading a sub-national MRIO: imports.csv (its csv-module fast path and the pandas path for
errors) against pandas.read_csv of the same file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from footgrid.errors import InputError
from footgrid.mrio.subnational import read_subnational
from tests.helpers.nesting import make_global, true_split, write_subnational

REGIONS = ["AT", "CN", "US"]
SECTORS = ["agri", "elec", "serv"]
CATS = ["HH", "GFCF"]


def _sub(tmp_path):
    g = make_global(REGIONS, SECTORS, CATS, seed=3, zeros=0.2)
    t = true_split(g, "CN", ["CN-11", "CN-31"], seed=4)
    return write_subnational(tmp_path / "sub", t, 1, ["AT", "US"])


def test_imports_read_as_pandas_reads_them(tmp_path) -> None:
    sub = _sub(tmp_path)
    ref = pd.read_csv(sub / "imports.csv")
    # The same table with a byte-order mark, quoted origins and a blank line.
    lines = (sub / "imports.csv").read_text().splitlines()
    body = [f'"{line.split(",", 1)[0]}",{line.split(",", 1)[1]}' for line in lines[1:]]
    (sub / "imports.csv").write_text("\ufeff" + "\n".join([lines[0], body[0], "", *body[1:]]))
    got = read_subnational(sub)
    assert got.origins == list(ref["origin"])
    np.testing.assert_array_equal(got.imports, ref.iloc[:, 1:].to_numpy(dtype=np.float64))


@pytest.mark.parametrize(
    ("value", "match"), [("abc", "non-numeric import 'abc'"), ("nan", "non-finite")]
)
def test_bad_import_value_names_the_column(tmp_path, value, match) -> None:
    sub = _sub(tmp_path)
    df = pd.read_csv(sub / "imports.csv", dtype=str)
    df.iloc[1, 2] = value
    df.to_csv(sub / "imports.csv", index=False)
    with pytest.raises(InputError, match=match) as info:
        read_subnational(sub)
    err = info.value
    assert err.file.endswith("imports.csv") and err.row == [1]
    if value == "abc":
        assert err.column == df.columns[2]

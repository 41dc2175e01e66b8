"""Sector concordance files: reading, weights summing to 1, unknown MRIO sectors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from footgrid.errors import InputError
from footgrid.mrio.concordance import load_concordance

SECTORS = ["food", "mining", "manufactoring", "electricity"]


def write(tmp_path, text: str, name: str = "conc.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_codes_as_text_and_split_weights(tmp_path) -> None:
    path = write(
        tmp_path,
        "inventory_sector,mrio_sector,weight\n01,food,0.25\n01,manufactoring,0.75\n"
        "0700, mining ,1.0\n",
    )
    df = load_concordance(path, SECTORS)
    assert list(df.columns) == ["inventory_sector", "mrio_sector", "weight"]
    assert df["inventory_sector"].tolist() == ["01", "01", "0700"]
    assert df["mrio_sector"].tolist() == ["food", "manufactoring", "mining"]
    assert df["weight"].dtype == np.float64
    assert df["weight"].tolist() == [0.25, 0.75, 1.0]


def test_parquet(tmp_path) -> None:
    path = tmp_path / "conc.parquet"
    pd.DataFrame(
        {"inventory_sector": ["A", "A"], "mrio_sector": ["food", "mining"], "weight": [0.5, 0.5]}
    ).to_parquet(path)
    assert load_concordance(path, SECTORS)["weight"].sum() == 1.0


def test_weights_within_tolerance(tmp_path) -> None:
    thirds = "\n".join(f"A,{s},{1 / 3!r}" for s in SECTORS[:3])
    path = write(tmp_path, "inventory_sector,mrio_sector,weight\n" + thirds + "\n")
    df = load_concordance(path, SECTORS)
    assert abs(df["weight"].sum() - 1.0) < 1e-12


def test_weights_not_summing_to_one_name_code_and_sum(tmp_path) -> None:
    path = write(
        tmp_path,
        "inventory_sector,mrio_sector,weight\nA,food,0.5\nA,mining,0.4\nB,food,1\n"
        "C,food,1.000001\n",
    )
    with pytest.raises(InputError) as err:
        load_concordance(path, SECTORS)
    msg = err.value.message
    assert "2 inventory code(s) do not sum to 1" in msg
    assert "'A' sums to 0.9" in msg and "'C' sums to 1.000001" in msg
    assert "conc.csv" in msg and "column 'weight'" in msg and "Fix:" in msg


def test_unknown_mrio_sector_lists_nearest(tmp_path) -> None:
    path = write(tmp_path, "inventory_sector,mrio_sector,weight\nA,fod,1\nB,electricity,1\n")
    with pytest.raises(
        InputError, match=r"'fod'; nearest valid: food.*column 'mrio_sector', row 0"
    ):
        load_concordance(path, SECTORS)


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        ("A,food,abc\n", r"not finite numbers >= 0, e.g. 'abc'.*row 0"),
        ("A,food,-0.5\nA,mining,1.5\n", r"not finite numbers >= 0.*row 0"),
        ("A,food,\n", r"not finite numbers >= 0"),
        ("A,food,inf\n", r"not finite numbers >= 0"),
        (",food,1\n", r"empty sector codes.*row 0"),
        ("A,food,0.5\nA,food,0.5\n", r"lists the pair \('A', 'food'\) more than once.*row 1"),
    ],
)
def test_malformed_rows(tmp_path, body: str, pattern: str) -> None:
    path = write(tmp_path, "inventory_sector,mrio_sector,weight\n" + body)
    with pytest.raises(InputError, match=pattern):
        load_concordance(path, SECTORS)


def test_missing_file_and_columns(tmp_path) -> None:
    with pytest.raises(InputError, match=r"does not exist.*concordance\.path"):
        load_concordance(tmp_path / "none.csv", SECTORS)
    path = write(tmp_path, "code,mrio_sector,share\nA,food,1\n")
    with pytest.raises(InputError, match=r"lacks column\(s\) inventory_sector, weight; found code"):
        load_concordance(path, SECTORS)

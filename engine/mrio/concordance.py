"""Sector concordance: inventory sector codes -> MRIO sectors with split weights.

File (CSV, or Parquet by suffix) with columns ``inventory_sector, mrio_sector, weight``: each
inventory code is split over one or more MRIO sectors; the weights of one code must sum to 1
(within :data:`WEIGHT_TOL`) and be >= 0. Codes are read as text, so ``"01"`` stays ``"01"``.
Without a concordance the inventory codes must equal MRIO sector labels (weight 1).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from footgrid.errors import InputError
from footgrid.io.labels import check_known, read_label_table

COLUMNS = ("inventory_sector", "mrio_sector", "weight")
#: Tolerance on the sum of a code's weights.
WEIGHT_TOL = 1e-9


def load_concordance(path: str | os.PathLike[str], mrio_sectors: Sequence[str]) -> pd.DataFrame:
    """Read and validate a sector concordance.

    Parameters
    ----------
    path
        CSV (or ``.parquet``) file with columns ``inventory_sector, mrio_sector, weight``.
    mrio_sectors
        The MRIO's sector labels (every ``mrio_sector`` must be one of them).

    Returns
    -------
    pandas.DataFrame
        Columns ``inventory_sector`` (str), ``mrio_sector`` (str), ``weight`` (float64), one
        row per (inventory_sector, mrio_sector) pair, in file order.

    Raises
    ------
    InputError
        Missing file or columns; empty codes; non-numeric, non-finite or negative weights;
        a pair listed twice; an unknown MRIO sector (listing the nearest valid labels); or a
        code whose weights do not sum to 1 (naming the code and its sum).
    """
    path = Path(path)
    df = read_label_table(
        path,
        COLUMNS,
        "sector concordance",
        labels=COLUMNS[:2],
        key="concordance.path",
        empty="sector codes",
    )
    inv, sec = df["inventory_sector"], df["mrio_sector"]
    weight = pd.to_numeric(df["weight"], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(weight) | (weight < 0)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise InputError(
            f"sector concordance has {rows.size} weight(s) that are not finite numbers >= 0, "
            f"e.g. {df['weight'].iloc[rows[0]]!r}",
            file=path,
            column="weight",
            row=[int(i) for i in rows],
            fix="give every weight as a number between 0 and 1",
        )
    out = pd.DataFrame({"inventory_sector": inv, "mrio_sector": sec, "weight": weight})
    dup = out.duplicated(["inventory_sector", "mrio_sector"]).to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputError(
            f"sector concordance lists the pair ({out['inventory_sector'].iloc[i]!r}, "
            f"{out['mrio_sector'].iloc[i]!r}) more than once",
            file=path,
            row=[int(j) for j in np.flatnonzero(dup)],
            fix="list each (inventory_sector, mrio_sector) pair once, with the summed weight",
        )
    valid = [str(s) for s in mrio_sectors]
    check_known(
        out["mrio_sector"],
        list(valid),
        path,
        "mrio_sector",
        "sector concordance names {n} MRIO sector(s) that the MRIO does not have",
        "use the MRIO's sector labels exactly",
    )
    sums = out.groupby("inventory_sector", sort=False)["weight"].sum()
    off = sums[(sums - 1.0).abs() > WEIGHT_TOL]
    if len(off):
        shown = ", ".join(f"{code!r} sums to {total:.12g}" for code, total in off.head(5).items())
        raise InputError(
            f"sector concordance weights of {len(off)} inventory code(s) do not sum to 1: {shown}",
            file=path,
            column="weight",
            fix="make the weights of each inventory_sector add up to 1",
        )
    return out.reset_index(drop=True)

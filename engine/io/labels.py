"""Small text tables (MRIO labels, consumer groups, sector concordance): one reader, one set of
checks, the same errors."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pandas as pd

from footgrid.errors import InputError


def read_label_table(
    path: Path,
    columns: tuple[str, ...],
    what: str,
    *,
    labels: tuple[str, ...] | None = None,
    key: str | None = None,
    empty: str = "labels",
) -> pd.DataFrame:
    """Read a CSV (or Parquet) table of text columns and check it.

    Parameters
    ----------
    path
        The file.
    columns
        Required columns (kept as text, nothing turned into NaN).
    what
        How messages name the file, e.g. ``"consumer groups file"``.
    labels
        Columns that must be non-empty on every line (stripped of spaces); default ``columns``.
    key
        Config key that names the file, for the "does not exist" error.
    empty
        How the message names the labels that must not be empty.

    Raises
    ------
    InputError
        Missing or unreadable file, missing columns (listing those found), empty labels
        (naming the rows).
    """
    labels = columns if labels is None else labels
    if not path.is_file():
        raise InputError(
            f"{what} does not exist",
            file=path,
            key=key,
            fix=f"give a CSV with columns {','.join(columns)}",
        )
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(path)
            df = df.astype({c: str for c in labels if c in df.columns})
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the {what}: {exc}", file=path) from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {', '.join(missing)}; found {', '.join(map(str, df.columns))}",
            file=path,
            fix=f"use the header line {','.join(columns)}",
        )
    for c in labels:
        df[c] = df[c].astype(str).str.strip()
    blank = (df[list(labels)] == "").any(axis=1).to_numpy()
    if blank.any():
        raise InputError(
            f"{what} has empty {empty}",
            file=path,
            column=", ".join(labels),
            row=[int(i) for i in np.flatnonzero(blank)],
            fix=f"fill in {' and '.join(labels)} on every line",
        )
    return df


def check_known(
    values: pd.Series, valid: list[str], path: Path, column: str, what: str, fix: str
) -> None:
    """Raise when ``values`` hold labels outside ``valid``, naming the rows and the nearest.

    The message reads ``"<what> <n> ..., e.g. 'x'; nearest valid: a, b"``, so ``what`` carries
    the file and the kind of label (e.g. ``"consumer groups file names {n} region(s) that are
    not final-demand regions of the MRIO"``, with ``{n}`` filled in here).
    """
    unknown = ~values.isin(set(valid)).to_numpy()
    if not unknown.any():
        return
    rows = np.flatnonzero(unknown)
    bad = str(values.iloc[int(rows[0])])
    near = difflib.get_close_matches(bad, sorted(valid), n=5, cutoff=0.0)
    raise InputError(
        f"{what.format(n=rows.size)}, e.g. {bad!r}; nearest valid: {', '.join(near)}",
        file=path,
        column=column,
        row=[int(i) for i in rows],
        fix=fix,
    )

"""Read a sub-national MRIO (provinces of one country) for :func:`footgrid.mrio.nest.nest`.

Folder layout (the tables layout of :mod:`footgrid.mrio.tables`, with provinces as regions):

``rows.csv``
    Columns ``region,sector``: the n' (province, sector) rows of Z and Y, in order.
``cols.csv``
    Columns ``region,category``: the m' (province, final-demand category) columns of Y.
``Z.csv`` | ``Z.parquet``, ``Y.csv`` | ``Y.parquet``
    Intra-country intermediate flows (n' × n') and final demand (n' × m'), as in the tables
    layout (one header line, no index column).
``exports.csv``
    One line per line of ``rows.csv``, in that order; a header naming destination regions of
    the global MRIO (exports of that province-sector to each, intermediate and final
    together), or the single column ``total``.
``imports.csv``
    A first column ``origin`` naming regions of the global MRIO (or one line ``total``), then
    one column per line of ``rows.csv`` and then per line of ``cols.csv``, in that order (the
    imports from that origin used by that province-sector or by that province's final-demand
    category), with a header line (its names are not read, the order counts).

Errors name the file, the row and the fix (:class:`footgrid.errors.InputError`).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from footgrid.errors import InputError
from footgrid.mrio.tables import COL_NAMES, ROW_NAMES, _read_labels, _read_matrix

#: Header (exports) or origin (imports) naming "no destination / origin detail".
TOTAL = "total"


@dataclass(frozen=True, eq=False)
class SubnationalMRIO:
    """A provincial MRIO as read from its folder (values unchecked for sign).

    Attributes
    ----------
    folder : pathlib.Path
    rows, cols : pandas.MultiIndex
        (province, sector) rows and (province, category) columns, labels as str.
    Z, Y : numpy.ndarray
        (n', n') and (n', m') float64.
    exports : numpy.ndarray
        (n', d) float64, columns ``destinations``.
    destinations : list of str
        Global regions, or ``["total"]``.
    imports : numpy.ndarray
        (o, n' + m') float64, rows ``origins``.
    origins : list of str
        Global regions, or ``["total"]``.
    """

    folder: Path
    rows: pd.MultiIndex
    cols: pd.MultiIndex
    Z: np.ndarray
    Y: np.ndarray
    exports: np.ndarray
    destinations: list[str]
    imports: np.ndarray
    origins: list[str]

    @property
    def provinces(self) -> list[str]:
        """Provinces in order of first appearance in ``rows.csv``."""
        return list(pd.unique(self.rows.get_level_values("region")))


def read_subnational(folder: str | os.PathLike[str]) -> SubnationalMRIO:
    """Read a sub-national MRIO folder (see the module docstring).

    Raises
    ------
    InputError
        Missing files, wrong shapes, non-numeric or non-finite values, duplicate labels,
        provinces in ``cols.csv`` that ``rows.csv`` lacks, duplicate destinations or origins.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            "sub-national MRIO folder does not exist",
            file=folder,
            fix="give a folder with rows.csv, cols.csv, Z, Y, exports.csv and imports.csv",
        )
    rows = _read_labels(folder / "rows.csv", ROW_NAMES)
    cols = _read_labels(folder / "cols.csv", COL_NAMES)
    for name, idx in (("rows.csv", rows), ("cols.csv", cols)):
        dup = np.flatnonzero(idx.duplicated())
        if dup.size:
            raise InputError(
                f"sub-national {name} lists {idx[dup[0]]!r} more than once",
                file=folder / name,
                row=[int(i) for i in dup],
                fix="list each (province, label) pair once",
            )
    provinces = set(rows.get_level_values("region"))
    extra = np.flatnonzero(~cols.get_level_values("region").isin(provinces))
    if extra.size:
        raise InputError(
            f"cols.csv names province {cols[extra[0]][0]!r} that rows.csv does not have",
            file=folder / "cols.csv",
            row=[int(i) for i in extra],
            fix="use the provinces of rows.csv (column region)",
        )
    n, m = len(rows), len(cols)
    Z = _read_matrix(folder, "Z", (n, n))
    Y = _read_matrix(folder, "Y", (n, m))
    exports, destinations = _read_exports(folder / "exports.csv", n)
    imports, origins = _read_imports(folder / "imports.csv", n + m)
    for name, arr, axis_name in (
        ("Z", Z, "row"),
        ("Y", Y, "row"),
        ("exports.csv", exports, "row"),
        ("imports.csv", imports, "origin row"),
    ):
        bad = ~np.isfinite(arr)
        if bad.any():
            r = np.flatnonzero(bad.any(axis=1))
            raise InputError(
                f"sub-national {name} has {int(bad.sum())} non-finite value(s) "
                f"(NaN or infinite), first in {axis_name} {int(r[0])}",
                file=_file(folder, name),
                row=[int(i) for i in r],
                fix="give every flow as a finite number (0 where there is none)",
            )
    return SubnationalMRIO(folder, rows, cols, Z, Y, exports, destinations, imports, origins)


def _file(folder: Path, name: str) -> Path:
    if name in ("Z", "Y"):
        pq = folder / f"{name}.parquet"
        return pq if pq.is_file() else folder / f"{name}.csv"
    return folder / name


def _read_csv(path: Path, text_first: bool = False) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(
            f"sub-national {path.name} does not exist",
            file=path,
            fix=f"write {path.name} into the sub-national folder (see footgrid nest --help)",
        )
    try:
        if text_first:  # numbers parsed by the C parser; the first column kept as text
            head = pd.read_csv(path, nrows=0).columns
            return pd.read_csv(path, dtype={head[0]: str} if len(head) else None)
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path.name}: {exc}", file=path) from exc


def _numbers(df: pd.DataFrame, path: Path, what: str) -> np.ndarray:
    """The table as float64; a column that did not parse as numbers raises, naming the row."""
    numeric = [pd.api.types.is_numeric_dtype(t) for t in df.dtypes]
    if all(numeric):
        return df.to_numpy(dtype=np.float64)
    out = np.empty(df.shape, dtype=np.float64)
    for j, c in enumerate(df.columns):
        if numeric[j]:
            out[:, j] = df[c].to_numpy(dtype=np.float64)
            continue
        col = df[c].astype(str).str.strip()
        num = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(num) & ~col.str.lower().isin(["nan"]).to_numpy()
        if bad.any():
            r = np.flatnonzero(bad)
            raise InputError(
                f"{path.name} has a non-numeric {what} {col.iloc[int(r[0])]!r}",
                file=path,
                column=str(c),
                row=[int(i) for i in r],
                fix="write numbers only (0 where there is no flow)",
            )
        out[:, j] = num
    return out


def _read_exports(path: Path, n: int) -> tuple[np.ndarray, list[str]]:
    df = _read_csv(path)
    names = [str(c).strip() for c in df.columns]
    if len(df) != n:
        raise InputError(
            f"exports.csv has {len(df)} data lines, expected {n} (one per line of rows.csv)",
            file=path,
            fix="write one line per (province, sector) of rows.csv, in its order",
        )
    if not names or (TOTAL in names and names != [TOTAL]):
        raise InputError(
            f"exports.csv header {','.join(names)!r} mixes 'total' with destinations",
            file=path,
            fix="name destination regions of the global MRIO, or give the single column total",
        )
    _unique(names, path, "destination")
    return _numbers(df, path, "export"), names


def _read_wide(path: Path) -> tuple[list[str], list[str], np.ndarray] | None:
    """Header, first column and the numbers of a wide CSV read with the csv module (pandas
    builds one Series per column: 0.9 s for 10 lines x 1000 columns on a loaded machine);
    None when it does not parse cleanly, and pandas reads it and names the problem."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            lines = [r for r in csv.reader(fh) if r]
        header, body = lines[0], lines[1:]
        values = np.array([r[1:] for r in body], dtype=np.float64)
    except (OSError, UnicodeError, IndexError, ValueError, csv.Error):
        return None
    if values.ndim != 2 or values.shape[1] != len(header) - 1:
        return None
    return header, [r[0] for r in body], values


def _read_imports(path: Path, width: int) -> tuple[np.ndarray, list[str]]:
    fast = _read_wide(path)
    if fast is not None:
        columns, first, values = fast
    else:
        df = _read_csv(path, text_first=True)
        columns, first, values = (
            list(df.columns),
            list(df.iloc[:, 0]) if len(df.columns) else [],
            None,
        )
    if len(columns) == 0 or str(columns[0]).strip() != "origin":
        raise InputError(
            "imports.csv must start with the column origin",
            file=path,
            fix="write the header origin,<one column per line of rows.csv then cols.csv>",
        )
    if len(columns) - 1 != width:
        raise InputError(
            f"imports.csv has {len(columns) - 1} value columns, expected {width} (one per "
            "line of rows.csv, then one per line of cols.csv)",
            file=path,
            fix="write one column per (province, sector) of rows.csv, then per (province, "
            "category) of cols.csv, in their order",
        )
    origins = [str(o).strip() for o in first]
    if not origins or (TOTAL in origins and origins != [TOTAL]):
        raise InputError(
            "imports.csv origins mix 'total' with regions (or there are none)",
            file=path,
            column="origin",
            fix="name origin regions of the global MRIO, or give the single line total",
        )
    _unique(origins, path, "origin")
    return (_numbers(df.iloc[:, 1:], path, "import") if values is None else values), origins


def _unique(names: list[str], path: Path, what: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise InputError(
                f"{path.name} names the {what} {name!r} twice",
                file=path,
                row=None if what == "destination" else i,
                column=name if what == "destination" else "origin",
                fix=f"name each {what} once",
            )
        seen.add(name)

"""Load an MRIO (Z, Y and their labels) from anything pymrio reads, or from plain tables.

Sources (``format``):

``pymrio``
    A :class:`pymrio.IOSystem` object, or a folder (or zip) written by pymrio's ``save_all`` /
    ``save`` / ``archive``: read with :func:`pymrio.load` (core tables only) or
    :func:`pymrio.load_all` (zip).
``eora26`` | ``oecd`` | ``wiod`` | ``gloria``
    The raw downloads, read with ``pymrio.parse_eora26`` / ``parse_oecd`` / ``parse_wiod`` /
    ``parse_gloria`` (a folder or the file those take).
``exiobase3``
    An EXIOBASE 3 zip as downloaded (``IOT_2019_ixi.zip`` ...) or its extracted folder: read
    with :func:`pymrio.parse_exiobase3`. EXIOBASE 3 ships A and x but no Z; Z = A · diag(x) is
    rebuilt with :func:`pymrio.calc_Z`.
``tables``
    A folder with ``rows.csv`` (columns ``region,sector``, the n rows of Z and Y in order),
    ``cols.csv`` (columns ``region,category``, the m columns of Y in order), ``Z.csv`` or
    ``Z.parquet`` (n × n) and ``Y.csv`` or ``Y.parquet`` (n × m). CSV: one header line (names
    ignored, order counts), no index column. Parquet: one column per MRIO column.
``auto``
    An IOSystem object -> ``pymrio``; a zip file -> ``exiobase3`` (pymrio archives and EXIOBASE
    3 zips share the layout, both load); a folder with ``file_parameters.json`` (a pymrio
    save, or an extracted EXIOBASE 3 download) -> ``pymrio``, reading only the core tables;
    a folder with ``rows.csv`` -> ``tables``.

Total output is always recomputed as x = Z·1 + Y·1, so the system is balanced by construction.
Tables with A and Y but neither Z nor x get x = (I − A)⁻¹·Y·1 first
(:func:`output_from_coefficients`).

Validation (all errors are :class:`footgrid.errors.MRIOError` naming the file, the matrix, the
first offending (region, sector) / (region, category) labels and the fix):

- every entry of Z and Y finite;
- Z >= 0;
- Y >= 0 by default. Real MRIOs do contain negative final demand -- EXIOBASE and WIOD record
  *changes in inventories* (and valuables) that are negative for many rows; pymrio's bundled
  test system has none. ``negative_final_demand="allow"`` accepts them: the coefficient rows
  still sum to 1, but entries for those columns can be negative (a stock draw-down "returns"
  emissions). The alternative is to zero or drop those columns before loading.
- x > 0 for every row or Z column with a non-zero entry (see
  :func:`footgrid.mrio.leontief.check_arrays`).
"""

from __future__ import annotations

import logging
import os
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.linalg

from footgrid.errors import InputError, MRIOError
from footgrid.io.labels import read_label_table
from footgrid.mrio.leontief import check_arrays

if TYPE_CHECKING:
    import pymrio

#: Raw downloads read through pymrio's parsers (``pymrio.parse_<format>``).
RAW_FORMATS = ("exiobase3", "eora26", "oecd", "wiod", "gloria")
FORMATS = ("auto", "pymrio", "tables", *RAW_FORMATS)
log = logging.getLogger("footgrid")
NEGATIVE_FINAL_DEMAND = ("error", "allow")
ROW_NAMES = ("region", "sector")
COL_NAMES = ("region", "category")
_PYMRIO_PARA = "file_parameters.json"


@dataclass(frozen=True, eq=False)
class MRIOTables:
    """Z, Y and their labels, validated (see the module docstring).

    Attributes
    ----------
    Z : numpy.ndarray
        (n, n) float64 inter-industry flows; row i sells to column j.
    Y : numpy.ndarray
        (n, m) float64 final demand.
    rows : pandas.MultiIndex
        n producing rows, levels ``("region", "sector")``, labels as str.
    cols : pandas.MultiIndex
        m final-demand columns, levels ``("region", "category")``, labels as str.
    source : str
        The path read, or ``"IOSystem"``.
    allow_negative_y : bool
        Whether negative final demand was accepted (``negative_final_demand="allow"``).
    """

    Z: np.ndarray
    Y: np.ndarray
    rows: pd.MultiIndex
    cols: pd.MultiIndex
    source: str
    allow_negative_y: bool = field(default=False)

    def __post_init__(self) -> None:
        rows = _as_labels(self.rows, ROW_NAMES, "rows", self.source)
        cols = _as_labels(self.cols, COL_NAMES, "cols", self.source)
        Z, Y, x = check_arrays(
            self.Z,
            self.Y,
            allow_negative_y=self.allow_negative_y,
            rows=list(rows),
            cols=list(cols),
            source=self.source,
        )
        if Z.shape[0] != len(rows) or Y.shape[1] != len(cols):
            raise MRIOError(
                f"MRIO labels do not match the matrices: Z is {Z.shape}, Y is {Y.shape}, but "
                f"there are {len(rows)} row labels and {len(cols)} column labels",
                file=self.source,
                fix="give one (region, sector) label per row of Z and Y and one "
                "(region, category) label per column of Y",
            )
        for name, idx in (("row", rows), ("column", cols)):
            dup = idx.duplicated()
            if dup.any():
                raise MRIOError(
                    f"MRIO {name} labels are not unique: {idx[dup][0]!r} appears more than once",
                    file=self.source,
                    fix=f"make every {name} label unique",
                )
        for a in (Z, Y, x):
            a.setflags(write=False)
        object.__setattr__(self, "_x", x)
        object.__setattr__(self, "Z", Z)
        object.__setattr__(self, "Y", Y)
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "cols", cols)

    @property
    def x(self) -> np.ndarray:
        """Total output x = Z·1 + Y·1, (n,) float64 (computed once, by the validation)."""
        return self._x

    @property
    def regions(self) -> list[str]:
        """Producing regions in order of first appearance."""
        return list(pd.unique(self.rows.get_level_values("region")))

    @property
    def sectors(self) -> list[str]:
        """MRIO sectors in order of first appearance."""
        return list(pd.unique(self.rows.get_level_values("sector")))


def load_mrio(
    source: str | os.PathLike[str] | pymrio.IOSystem,
    format: str = "auto",
    *,
    negative_final_demand: str = "error",
) -> MRIOTables:
    """Load and validate an MRIO.

    Parameters
    ----------
    source
        A :class:`pymrio.IOSystem`, a pymrio saved folder or archive, an EXIOBASE 3 zip or
        folder, or a plain tables folder (see the module docstring).
    format
        ``auto`` | ``pymrio`` | ``exiobase3`` | ``tables``.
    negative_final_demand
        ``error`` (default): negative Y entries are an error. ``allow``: keep them (the
        coefficient rows still sum to 1).

    Returns
    -------
    MRIOTables

    Raises
    ------
    InputError
        Unknown format, missing files, unreadable tables (naming the file and the fix).
    MRIOError
        Invalid numbers (see the module docstring).
    """
    if format not in FORMATS:
        raise InputError(
            f"unknown MRIO format {format!r}",
            key="mrio.format",
            fix=f"use one of {', '.join(FORMATS)}",
        )
    if negative_final_demand not in NEGATIVE_FINAL_DEMAND:
        raise InputError(
            f"unknown negative_final_demand policy {negative_final_demand!r}",
            key="mrio.negative_final_demand",
            fix="use 'error' or 'allow'",
        )
    allow = negative_final_demand == "allow"
    if _is_iosystem(source):
        if format not in ("auto", "pymrio"):
            raise InputError(
                f"an IOSystem object was given with format {format!r}",
                key="mrio.format",
                fix="use format 'auto' or 'pymrio' for an IOSystem",
            )
        return _from_iosystem(source, "IOSystem", allow)
    path = Path(os.fspath(source))  # type: ignore[arg-type]
    if not path.exists():
        raise InputError(
            "MRIO source does not exist",
            file=path,
            fix="point [mrio] path at a pymrio folder, an EXIOBASE 3 zip or a tables folder",
        )
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "tables":
        return _from_tables(path, allow)
    io = _read_pymrio(path, fmt)
    return _from_iosystem(io, str(path), allow)


def detect_format(path: str | os.PathLike[str]) -> str:
    """Guess the MRIO format of a path (``pymrio``, ``exiobase3`` or ``tables``).

    Raises
    ------
    InputError
        When the path is none of the known layouts; the message lists what was found.
    """
    path = Path(path)
    if path.is_file():
        if zipfile.is_zipfile(path):
            return "exiobase3"
        raise InputError(
            "MRIO source is a file but not a zip archive",
            file=path,
            fix="give a pymrio saved folder, an EXIOBASE 3 zip, or a tables folder with "
            "rows.csv, cols.csv, Z.csv|Z.parquet, Y.csv|Y.parquet",
        )
    if (path / _PYMRIO_PARA).is_file():
        return "pymrio"
    if (path / "rows.csv").is_file():
        return "tables"
    found = sorted(p.name for p in path.iterdir())[:10]
    raise InputError(
        f"cannot tell the MRIO format of this folder (found: {', '.join(found) or 'nothing'})",
        file=path,
        fix="a pymrio folder has file_parameters.json; a tables folder has rows.csv, cols.csv, "
        "Z.csv|Z.parquet and Y.csv|Y.parquet; or set [mrio] format explicitly",
    )


def _is_iosystem(obj: object) -> bool:
    if isinstance(obj, (str, os.PathLike)):
        return False
    try:
        # pymrio costs ~1 s to import; only pymrio-format inputs need it
        import pymrio
    except ImportError:  # pragma: no cover - pymrio is a dependency
        return False
    return isinstance(obj, pymrio.IOSystem)


def _read_pymrio(path: Path, fmt: str) -> pymrio.IOSystem:
    # pymrio costs ~1 s to import; only pymrio-format inputs need it
    import pymrio

    try:
        if fmt in RAW_FORMATS:
            # pymrio warns for every optional part a download lacks (WIOD's satellite
            # accounts...): those notes go to the log, at footgrid's verbosity.
            with warnings.catch_warnings(record=True) as notes:
                warnings.simplefilter("always")
                io = getattr(pymrio, f"parse_{fmt}")(path, **_raw_keywords(path, fmt))
            for note in notes:
                log.info("pymrio: %s", note.message)
        elif zipfile.is_zipfile(path):
            io = pymrio.load_all(path)
        else:
            io = pymrio.load(path, subset=["Z", "Y", "A", "x"])
    except Exception as exc:  # pymrio raises ReadError, KeyError, ValueError, ...
        raise InputError(
            f"pymrio could not read the MRIO as format {fmt!r}: {type(exc).__name__}: {exc}",
            file=path,
            fix="check the path and [mrio] format (pymrio | exiobase3 | tables)",
        ) from exc
    if io is None:
        raise InputError(
            f"pymrio could not read the MRIO as format {fmt!r}",
            file=path,
            fix="check the path and [mrio] format",
        )
    return io


def _raw_keywords(path: Path, fmt: str) -> dict[str, object]:
    """The year (and Eora's price) pymrio's parsers need for a folder of one download."""
    if not path.is_dir():
        return {}
    if fmt == "eora26":
        found = sorted(path.glob("Eora26_*_*_T.txt")) or sorted(path.glob("Eora26_*_*_*.zip"))
        m = re.match(r"Eora26_(\d{4})_([a-z]+)_", found[0].name) if found else None
        return {"year": int(m.group(1)), "price": m.group(2)} if m else {}
    if fmt == "oecd":
        found = sorted(path.glob("ICIO*_*.[cCzZ]*"))
        m = re.match(r"ICIO\d{4}_(\d{4})\.", found[0].name) if found else None
        return {"year": int(m.group(1))} if m else {}
    if fmt == "wiod":
        found = sorted(path.glob("wiot[0-9][0-9]*.xlsx"))
        m = re.match(r"wiot(\d\d)", found[0].name) if found else None
        return {"year": (1900 if int(m.group(1)) >= 90 else 2000) + int(m.group(1))} if m else {}
    if fmt == "gloria":
        found = sorted(path.glob("GLORIA_MRIOs_*_*"))
        m = re.match(r"GLORIA_MRIOs_(\d+)_(\d{4})", found[0].name) if found else None
        return {"year": int(m.group(2)), "version": int(m.group(1))} if m else {}
    return {}


def _from_iosystem(io: pymrio.IOSystem, source: str, allow_negative_y: bool) -> MRIOTables:
    # pymrio costs ~1 s to import; only pymrio-format inputs need it
    import pymrio

    Z = getattr(io, "Z", None)
    Y = getattr(io, "Y", None)
    if Y is None:
        raise MRIOError(
            "the MRIO has no final demand matrix Y",
            file=source,
            fix="load an MRIO with Y",
        )
    if Z is None:
        A = getattr(io, "A", None)
        x = getattr(io, "x", None)
        if A is None:
            raise MRIOError(
                "the MRIO has neither Z nor A",
                file=source,
                fix="load an MRIO with Z, or with A (and Y, or x)",
            )
        if x is None:
            x = output_from_coefficients(A, Y, source)
        Z = pymrio.calc_Z(A, x)
    if not isinstance(Z, pd.DataFrame) or not isinstance(Y, pd.DataFrame):
        raise MRIOError(
            "the IOSystem's Z and Y must be pandas DataFrames with labels",
            file=source,
            fix="build the IOSystem with labelled DataFrames",
        )
    if not Z.columns.equals(Z.index):
        if set(Z.columns) != set(Z.index) or len(Z.columns) != len(Z.index):
            raise MRIOError(
                "the columns of Z are not the same (region, sector) labels as its rows",
                file=source,
                fix="give Z the same labels on both axes",
            )
        Z = Z.reindex(columns=Z.index)
    if not Y.index.equals(Z.index):
        if set(Y.index) != set(Z.index) or len(Y.index) != len(Z.index):
            missing = [lab for lab in Z.index if lab not in set(Y.index)][:5]
            raise MRIOError(
                f"the rows of Y are not the rows of Z (e.g. missing {missing})",
                file=source,
                fix="give Y the same (region, sector) rows as Z",
            )
        Y = Y.reindex(index=Z.index)
    return MRIOTables(
        Z=Z.to_numpy(dtype=np.float64),
        Y=Y.to_numpy(dtype=np.float64),
        rows=Z.index,
        cols=Y.columns,
        source=source,
        allow_negative_y=allow_negative_y,
    )


def output_from_coefficients(A: pd.DataFrame, Y: pd.DataFrame, source: str) -> pd.DataFrame:
    """Total output x = L·y = (I − A)⁻¹ · Y·1 by an LU solve, validated.

    For tables that ship A and Y without x or Z (EXIOBASE 3 as some mirrors ship it,
    everything ``pymrio.parse_gloria`` returns). The solve must be finite and reproduce
    ``(I − A)·x = Y·1`` to 1e-9 relative; a negative output (an unproductive A) is an error.
    """
    y = Y.reindex(index=A.index).to_numpy(dtype=np.float64).sum(axis=1)
    a = A.to_numpy(dtype=np.float64)
    ia = np.eye(len(a)) - a
    try:
        x = scipy.linalg.lu_solve(scipy.linalg.lu_factor(ia), y)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise MRIOError(
            f"cannot compute total output from A and Y: {exc}",
            file=source,
            fix="check A (I - A must be invertible) or give x or Z",
        ) from None
    resid = np.abs(ia @ x - y).max() / max(np.abs(y).max(), 1e-300)
    if not np.isfinite(x).all() or resid > 1e-9:
        raise MRIOError(
            f"total output from A and Y does not solve (I - A) x = Y 1 (residual {resid:.3g})",
            file=source,
            fix="check A (its columns must sum below 1) or give x or Z",
        )
    neg = np.flatnonzero(x < -1e-9 * max(np.abs(x).max(), 1e-300))
    if neg.size:
        raise MRIOError(
            f"total output from A and Y is negative for {neg.size} rows, e.g. "
            f"{A.index[neg[0]]!r} (x = {x[neg[0]]:.6g})",
            file=source,
            fix="check A and Y (an unproductive A or negative final demand); or give x or Z",
        )
    return pd.DataFrame({"indout": np.maximum(x, 0.0)}, index=A.index)


def _from_tables(folder: Path, allow_negative_y: bool) -> MRIOTables:
    rows = _read_labels(folder / "rows.csv", ROW_NAMES)
    cols = _read_labels(folder / "cols.csv", COL_NAMES)
    Z = _read_matrix(folder, "Z", (len(rows), len(rows)))
    Y = _read_matrix(folder, "Y", (len(rows), len(cols)))
    return MRIOTables(
        Z=Z,
        Y=Y,
        rows=rows,
        cols=cols,
        source=str(folder),
        allow_negative_y=allow_negative_y,
    )


def _read_labels(path: Path, names: tuple[str, str]) -> pd.MultiIndex:
    df = read_label_table(path, names, f"MRIO label file {path.name}")
    return pd.MultiIndex.from_frame(df[list(names)])


def _read_matrix(folder: Path, name: str, shape: tuple[int, int]) -> np.ndarray:
    csv, parquet = folder / f"{name}.csv", folder / f"{name}.parquet"
    if parquet.is_file() or csv.is_file():
        path = parquet if parquet.is_file() else csv
        read = pd.read_parquet if path is parquet else pd.read_csv
        try:
            arr = read(path).to_numpy(dtype=np.float64)
        except (OSError, ValueError, TypeError) as exc:
            raise InputError(
                f"cannot read MRIO matrix {name} as numbers: {exc}",
                file=path,
                fix=f"store {name} with numeric columns only"
                if path is parquet
                else f"write {name}.csv as a header line then numbers only, no index column",
            ) from exc
    else:
        raise InputError(
            f"MRIO matrix {name} is missing (neither {name}.csv nor {name}.parquet)",
            file=folder,
            fix=f"write {name}.csv or {name}.parquet into the tables folder",
        )
    if arr.shape != shape:
        raise InputError(
            f"MRIO matrix {name} has shape {arr.shape}, expected {shape} from rows.csv and "
            "cols.csv",
            file=path,
            fix="write one line per row of rows.csv and one column per "
            + ("row of rows.csv" if name == "Z" else "row of cols.csv")
            + " (no index column)",
        )
    return arr


def _as_labels(index: object, names: tuple[str, str], what: str, source: str) -> pd.MultiIndex:
    if not isinstance(index, pd.MultiIndex) or index.nlevels != 2:
        raise MRIOError(
            f"MRIO {what} must be a 2-level MultiIndex {names}, got {type(index).__name__}",
            file=source,
            fix=f"label the {what} with ({names[0]}, {names[1]}) pairs",
        )
    arrays = [index.get_level_values(i).astype(str) for i in range(2)]
    return pd.MultiIndex.from_arrays(arrays, names=list(names))

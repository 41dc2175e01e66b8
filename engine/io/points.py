"""Reading and validating the point-source (firm) inventory: CSV, Parquet or GeoParquet."""

from __future__ import annotations

import glob
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pyproj
from pandas.api.types import union_categoricals

from footgrid.errors import InputError
from footgrid.io.presets import filter_rows, map_regions
from footgrid.kernels.validate import CHECKS, first_failure
from footgrid.ledger import Ledger


@dataclass
class Points:
    """Validated points, in the order read (files in sorted order, rows in file order).

    Coordinates are in ``crs`` (EPSG:4326 lon/lat unless the config gives x/y and a CRS).
    Labels are pandas Categoricals so that 10^7 points cost 10^7 small integers, not strings.
    ``index`` is each point's row in the concatenated input, or None while that is simply
    0 … n-1 (nothing dropped yet); :meth:`rows` gives it either way.
    """

    cx: np.ndarray | None
    cy: np.ndarray | None
    crs: pyproj.CRS
    emission: np.ndarray
    sector: pd.Categorical
    region: pd.Categorical | None
    ids: pa.Array | None
    files: list[str]
    file_offsets: np.ndarray
    index: np.ndarray | None

    def __len__(self) -> int:
        return int(self.emission.shape[0])

    def where(self, i: int) -> tuple[str, int]:
        """(file, data row within that file) of point ``i`` of this (possibly subset) set."""
        g = i if self.index is None else int(self.index[i])
        f = int(np.searchsorted(self.file_offsets, g, side="right") - 1)
        return self.files[f], int(g - self.file_offsets[f])

    def subset(self, keep: np.ndarray) -> Points:
        """The points where ``keep`` is True (provenance is kept through ``row``)."""
        return Points(
            None if self.cx is None else self.cx[keep],
            None if self.cy is None else self.cy[keep],
            self.crs,
            self.emission[keep],
            self.sector[keep],
            None if self.region is None else self.region[keep],
            None if self.ids is None else self.ids.filter(pa.array(keep)),
            self.files,
            self.file_offsets,
            np.flatnonzero(keep) if self.index is None else self.index[keep],
        )

    def rows(self) -> np.ndarray:
        """Each point's row (0-based) in the concatenated input files."""
        return np.arange(len(self)) if self.index is None else self.index

    def release_coordinates(self) -> None:
        """Free the coordinates once the points are indexed to cells (saves 16 B a point)."""
        self.cx = None
        self.cy = None

    def lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """Longitude and latitude (EPSG:4326) of every point."""
        if self.crs.equals(pyproj.CRS.from_epsg(4326)):
            return self.cx, self.cy
        return transform_points(self.cx, self.cy, self.crs, pyproj.CRS.from_epsg(4326))

    def project(self, crs: pyproj.CRS, inplace: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Coordinates in ``crs`` (vectorised pyproj; non-finite results stay non-finite).

        With ``inplace``, the points themselves move to ``crs`` (their coordinate arrays are
        overwritten when writable, which saves allocating 16 B a point) and those arrays are
        returned.
        """
        if self.crs.equals(crs):
            return self.cx, self.cy
        if not inplace:
            return transform_points(self.cx, self.cy, self.crs, crs)
        writable = all(
            a.flags.writeable and a.flags.c_contiguous and a.dtype == np.float64
            for a in (self.cx, self.cy)
        )
        self.cx, self.cy = transform_points(self.cx, self.cy, self.crs, crs, inplace=writable)
        self.crs = crs
        return self.cx, self.cy


#: Points per thread below which projecting on one thread is as fast.
_PROJECT_CHUNK = 1_000_000


def transform_points(
    x: np.ndarray, y: np.ndarray, src: pyproj.CRS, dst: pyproj.CRS, inplace: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Reproject points with pyproj on all cores (pyproj releases the GIL; one Transformer per
    thread, since a Transformer is not thread-safe). With ``inplace``, ``x`` and ``y`` (writable,
    C-contiguous float64) are overwritten and returned."""
    n = x.shape[0]
    out_x = x if inplace else np.empty(n, dtype=np.float64)
    out_y = y if inplace else np.empty(n, dtype=np.float64)
    parts = max(1, min(os.cpu_count() or 1, n // _PROJECT_CHUNK))
    bounds = np.linspace(0, n, parts + 1).astype(np.int64)

    def run(i: int) -> None:
        sl = slice(int(bounds[i]), int(bounds[i + 1]))
        t = pyproj.Transformer.from_crs(src, dst, always_xy=True)
        if inplace:
            t.transform(x[sl], y[sl], errcheck=False, inplace=True)
        else:
            out_x[sl], out_y[sl] = t.transform(x[sl], y[sl], errcheck=False)

    if parts == 1:
        run(0)
    else:
        with ThreadPoolExecutor(parts) as pool:
            list(pool.map(run, range(parts)))
    return out_x, out_y


def expand_paths(pattern: str, key: str = "points.path") -> list[str]:
    """The files a path or glob names, sorted; an error names the pattern when none exists."""
    if any(ch in pattern for ch in "*?["):
        files = sorted(glob.glob(pattern))
        if not files:
            raise InputError(
                "the glob matches no file",
                file=pattern,
                key=key,
                fix="check the path and pattern",
            )
        return files
    if not Path(pattern).is_file():
        raise InputError(
            "input file not found" if not Path(pattern).exists() else "input path is not a file",
            file=pattern,
            key=key,
            fix="check the path (it is relative to the config file)",
        )
    return [pattern]


def read_points(cfg: dict[str, Any], ledger: Ledger) -> Points:
    """Read, validate and concatenate the ``[points]`` files.

    Points with invalid coordinates, missing or negative emission, missing sector or region are
    removed and counted in ``ledger`` under their reason. Structural problems (missing file or
    column, wrong dtype, infinite emission, duplicated ids, lon/lat swapped) raise
    :class:`~footgrid.errors.InputError` naming the file, column, row and the fix.
    """
    files = expand_paths(cfg["path"])
    parts = [_columns(f, *_filtered(f, cfg), cfg) for f in files]
    pts = _assemble(parts, files, cfg, ledger)
    del parts
    # Arrow's allocator keeps freed buffers for reuse; the tables are gone, give them back.
    pa.default_memory_pool().release_unused()
    return pts


def _filtered(path: str, cfg: dict[str, Any]) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """The file's table, with the rows of ``[points] gas`` / ``year`` only when they are set
    (see :mod:`footgrid.io.presets`)."""
    table, ready = _read_table(path, cfg)
    if not (cfg.get("gas_column") or cfg.get("year_column")):
        return table, ready
    return filter_rows(path, table, cfg), {}


def points_from_frame(df: pd.DataFrame, source: str, cfg: dict[str, Any], ledger: Ledger) -> Points:
    """Validate one in-memory chunk of points (e.g. a dask dataframe partition).

    Same checks and drops as :func:`read_points`; ``source`` names the chunk in errors. Firm ids
    are not checked for uniqueness here (only the whole table can tell).
    """
    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except pa.ArrowException as exc:
        raise InputError(
            f"cannot read the points chunk: {str(exc).splitlines()[0]}",
            file=source,
            key="points.path",
            fix="give every column a single type (numbers or text)",
        ) from None
    parts = [_columns(source, table, {}, cfg)]
    return _assemble(parts, [source], cfg, ledger, check_ids=False)


def _assemble(
    parts: list[dict[str, Any]],
    files: list[str],
    cfg: dict[str, Any],
    ledger: Ledger,
    check_ids: bool = True,
) -> Points:
    offsets = np.cumsum([0] + [len(p["emission"]) for p in parts]).astype(np.int64)

    def cat(name: str) -> np.ndarray:
        arrays = [p[name] for p in parts]
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    crs = parts[0]["crs"]
    for p in parts[1:]:  # a glob of GeoParquet files: each read in its own CRS
        if p["crs"] != crs:
            t = pyproj.Transformer.from_crs(p["crs"], crs, always_xy=True)
            p["cx"], p["cy"] = (
                np.asarray(v, dtype=np.float64) for v in t.transform(p["cx"], p["cy"])
            )
    cx, cy, em = cat("cx"), cat("cy"), cat("emission")
    sector = _categorical([p["sector"] for p in parts])
    region = _categorical([p["region"] for p in parts]) if cfg["region"] else None
    ids = _concat_ids([p["id"] for p in parts]) if cfg["id"] else None
    pts = Points(cx, cy, crs, em, sector, region, ids, files, offsets, None)
    _check_infinite_emission(pts, cfg)
    _check_total(pts, cfg)
    ledger.add_input(em)
    _check_swapped(pts, cfg)
    if ids is not None and check_ids:
        _check_unique_ids(pts, cfg)

    code = first_failure(
        cx,
        cy,
        em,
        np.asarray(sector.codes),
        np.asarray(region.codes) if region is not None else np.empty(0, dtype=np.int8),
        bool(crs.is_geographic),
    )
    if not code.any():
        return pts
    for i, reason in enumerate(CHECKS, start=1):
        ledger.drop(reason, em[code == i])
    return pts.subset(code == 0)


# ---------------------------------------------------------------------------- reading
def _read_table(path: str, cfg: dict[str, Any]) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """The file as an Arrow table, and its numeric point columns already as float64 arrays.

    Parquet numeric columns (coordinates, emission) come back in the second item: fresh,
    writable arrays that belong to the caller (see :func:`_read_parquet`).
    """
    suffix = Path(path).suffix.lower()
    try:
        if suffix in (".parquet", ".pq", ".geoparquet"):
            return _read_parquet(path, cfg)
        if suffix in (".csv", ".txt", ".gz"):
            table = pacsv.read_csv(
                path,
                # Only empty cells are missing: ``NA`` (Namibia), ``null``, ``nan`` and ``N/A``
                # are labels; numeric columns treat them as missing in ``_numeric``.
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in _label_columns(cfg)},
                    null_values=[""],
                    strings_can_be_null=True,
                ),
            )
            table.column_names  # noqa: B018  (names that are not UTF-8 fail here, not later)
            return table, {}
    except (pa.ArrowException, OSError, ValueError, MemoryError) as exc:
        # Corrupt or truncated files raise any of ArrowInvalid, ArrowIOError, ArrowMemoryError,
        # ArrowNotImplementedError (unknown encodings); unreadable ones PermissionError.
        kind = "CSV" if suffix in (".csv", ".txt", ".gz") else "Parquet"
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise InputError(
            f"cannot read the {kind} file: {first}",
            file=path,
            key="points.path",
            fix=f"check that it is a complete, valid {kind} file",
        ) from None
    raise InputError(
        f"unsupported points file type '{suffix}'",
        file=path,
        key="points.path",
        fix="give a .csv, .parquet or GeoParquet file",
    )


def _read_parquet(path: str, cfg: dict[str, Any]) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """Read the configured columns of a Parquet file one row group at a time.

    Numeric coordinate and emission columns are copied, row group by row group, into one
    float64 array each (nulls become NaN, as ``to_numpy`` does); the rest stays Arrow (text
    labels dictionary-encoded, other label and id columns in their own type). Reading the
    whole table and then concatenating its chunks would touch every byte twice in fresh
    memory; here Arrow's buffers for one row group are reused for the next (0.3 s instead of
    0.5-1.4 s for 10 M points). Unused columns are not read. If a configured column is missing
    or duplicated, every column is read so that the error lists them.
    """
    schema = pq.read_schema(path)
    names = schema.names

    def once(c: str) -> bool:
        return names.count(c) == 1

    def kind(c: str) -> pa.DataType:
        return schema.field(c).type

    label_cols = _label_columns(cfg)
    # Text labels come back dictionary-encoded (repetitive strings cost one small int a row).
    text = [
        c
        for c in (cfg["sector"], cfg["region"])
        if c and once(c) and (pa.types.is_string(kind(c)) or pa.types.is_large_string(kind(c)))
    ]
    geo = _geo_metadata(schema)
    if cfg["x"] is not None:
        coords = [cfg["x"], cfg["y"]]
    elif cfg["lon"] not in names and geo is not None:
        coords = [geo.get("primary_column", "geometry")]
    else:
        coords = [cfg["lon"], cfg["lat"]]
    wanted = list(dict.fromkeys([*coords, cfg["emission"], *label_cols]))
    pf = pq.ParquetFile(path, read_dictionary=text)
    if not all(once(c) for c in wanted):
        return pf.read(), {}
    numeric = {
        c: np.empty(pf.metadata.num_rows)
        for c in dict.fromkeys([*coords, cfg["emission"]])
        if c not in label_cols and (pa.types.is_integer(kind(c)) or pa.types.is_floating(kind(c)))
    }
    chunks: dict[str, list[pa.Array]] = {c: [] for c in wanted if c not in numeric}
    start = 0
    for i in range(pf.num_row_groups):
        group = pf.read_row_group(i, columns=wanted)
        stop = start + group.num_rows
        for c, out in numeric.items():
            out[start:stop] = group.column(c).to_numpy()
        for c, parts in chunks.items():
            parts.extend(group.column(c).chunks)
        start = stop
        del group
    types = pf.schema_arrow
    columns = {c: pa.chunked_array(parts, types.field(c).type) for c, parts in chunks.items()}
    columns.update({c: pa.chunked_array([pa.array(a)]) for c, a in numeric.items()})
    table = pa.table([columns[c] for c in wanted], names=wanted, metadata=schema.metadata)
    return table, numeric


def _label_columns(cfg: dict[str, Any]) -> list[str]:
    return [c for c in (cfg["sector"], cfg["region"], cfg["id"]) if c]


def _require(path: str, table: pa.Table, column: str, key: str) -> pa.ChunkedArray:
    if table.column_names.count(column) > 1:
        raise InputError(
            f"the points file has {table.column_names.count(column)} columns named '{column}'",
            file=path,
            column=column,
            key=f"points.{key}",
            fix="give every column of the file a unique name",
        )
    if column not in table.column_names:
        raise InputError(
            f"the points file has no column '{column}' (columns present: "
            f"{', '.join(table.column_names)})",
            file=path,
            column=column,
            key=f"points.{key}",
            fix=f'rename the column or set [points] {key} = "<column name>" in the config',
        )
    return table.column(column)


#: Texts a numeric CSV column may use for a missing value (Arrow's default null values); label
#: columns keep them as labels.
NA_TOKENS = frozenset(
    ["#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
     "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null"]
)  # fmt: skip


def _numeric(path: str, col: pa.ChunkedArray, name: str, key: str) -> np.ndarray:
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        return col.to_numpy().astype(np.float64, copy=False)
    if pa.types.is_null(col.type):
        return np.full(len(col), np.nan)
    if pa.types.is_boolean(col.type) or not (
        pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
    ):
        raise InputError(
            f"column '{name}' must be numeric, found type {col.type}",
            file=path,
            column=name,
            key=f"points.{key}",
            fix="store numbers in this column",
        )
    s = pd.Series(col.to_numpy(zero_copy_only=False), dtype=object)
    s = s.where(~s.isin(NA_TOKENS))  # CSV cells that spell a missing number
    num = pd.to_numeric(s, errors="coerce")
    bad = np.flatnonzero(num.isna().to_numpy() & s.notna().to_numpy() & (s.astype(str) != ""))
    if bad.size:
        raise InputError(
            f"column '{name}' must be numeric, found {s.iloc[bad[0]]!r}",
            file=path,
            column=name,
            row=bad.tolist(),
            key=f"points.{key}",
            fix="correct or remove those rows",
        )
    return num.to_numpy(dtype=np.float64)


def _as_text(path: str, col: pa.ChunkedArray, name: str, key: str) -> pa.ChunkedArray:
    """A label column as Arrow strings; types that have no text form are an error.

    Dictionary-encoded text (how Parquet stores repetitive labels, read as such) is kept
    encoded: turning it into one string per row is what costs.
    """
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        return col
    if pa.types.is_dictionary(col.type) and (
        pa.types.is_string(col.type.value_type) or pa.types.is_large_string(col.type.value_type)
    ):
        return col
    try:
        return pc.cast(col, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise InputError(
            f"column '{name}' must hold text labels, found type {col.type} "
            f"({str(exc).splitlines()[0]})",
            file=path,
            column=name,
            key=f"points.{key}",
            fix="store the labels as text (UTF-8 strings) or integers",
        ) from None


def _labels(col: pa.ChunkedArray) -> pd.Categorical:
    """Labels as a Categorical via Arrow's dictionary encoding (no Python string per row)."""
    if pa.types.is_dictionary(col.type):
        unified = pa.Table.from_arrays([col], names=["c"]).unify_dictionaries().column(0)
        enc = unified.combine_chunks()
    else:
        enc = pc.dictionary_encode(col).combine_chunks()
    codes = enc.indices.to_numpy(zero_copy_only=False)
    codes = np.where(enc.indices.is_null().to_numpy(zero_copy_only=False), -1, codes)
    cats = pd.Index(enc.dictionary.to_pylist(), dtype=object)
    return pd.Categorical.from_codes(codes.astype(np.int32), categories=cats)


def _ids(path: str, table: pa.Table, column: str) -> pa.Array:
    """Firm ids as one Arrow array: integers kept as integers (int64), anything else as text
    (compact: no Python object per row; dictionary-encoded Parquet columns decoded)."""
    col = _require(path, table, column, "id")
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    if pa.types.is_integer(col.type):
        return col.combine_chunks().cast(pa.int64())
    return _as_text(path, col, column, "id").combine_chunks()


def _concat_ids(arrays: list[pa.Array]) -> pa.Array:
    """Ids of several files as one array: one type, or text (``large_string``) when the files
    differ (string and large_string, or integer ids in one file and text in another)."""
    if len({a.type for a in arrays}) > 1:
        arrays = [a.cast(pa.large_string()) for a in arrays]
    return pa.concat_arrays(arrays)


def _columns(
    path: str, table: pa.Table, ready: dict[str, np.ndarray], cfg: dict[str, Any]
) -> dict[str, Any]:
    """The point columns of one file; ``ready`` holds numeric columns already read as float64."""

    given: set[str] = set()

    def number(key: str) -> np.ndarray:
        name = cfg[key]
        col = _require(path, table, name, key)
        if name not in ready:
            return _numeric(path, col, name, key)
        # One array per role: coordinates are projected in place later.
        arr = ready[name].copy() if name in given else ready[name]
        given.add(name)
        return arr

    out: dict[str, Any] = {}
    if cfg["x"] is not None:
        out["cx"], out["cy"] = number("x"), number("y")
        out["crs"] = pyproj.CRS.from_user_input(cfg["crs"])
    elif cfg["lon"] not in table.column_names and _geo_metadata(table.schema) is not None:
        out["cx"], out["cy"], out["crs"] = _geoparquet_xy(path, table)
    else:
        out["cx"], out["cy"] = number("lon"), number("lat")
        out["crs"] = pyproj.CRS.from_epsg(4326)
    out["emission"] = number("emission")
    out["sector"] = _labels(_text(path, table, cfg["sector"], "sector"))
    out["region"] = _labels(_text(path, table, cfg["region"], "region")) if cfg["region"] else None
    if cfg.get("region_codes") and out["region"] is not None:
        out["region"] = map_regions(out["region"], cfg["region_codes"])
    if cfg["id"]:
        out["id"] = _ids(path, table, cfg["id"])
    return out


def _text(path: str, table: pa.Table, column: str, key: str) -> pa.ChunkedArray:
    return _as_text(path, _require(path, table, column, key), column, key)


def _geo_metadata(schema: pa.Schema) -> dict | None:
    meta = schema.metadata or {}
    raw = meta.get(b"geo")
    return json.loads(raw) if raw else None


def _geoparquet_xy(path: str, table: pa.Table) -> tuple[np.ndarray, np.ndarray, pyproj.CRS]:

    geo = _geo_metadata(table.schema)
    name = geo.get("primary_column", "geometry")
    info = geo.get("columns", {}).get(name, {})
    crs = pyproj.CRS.from_user_input(info["crs"]) if info.get("crs") else pyproj.CRS(4326)
    column = table.column(name)
    if not (pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type)):
        raise InputError(
            f"the GeoParquet geometry column holds {column.type}, not WKB binary",
            file=path,
            column=name,
            fix="write the file with geopandas (to_parquet) or another GeoParquet writer",
        )
    raw = column.to_numpy(zero_copy_only=False)
    import shapely  # lazy: only GeoParquet points need it (~0.2 s of imports)

    geoms = shapely.from_wkb(raw, on_invalid="ignore")
    garbage = np.flatnonzero(shapely.is_missing(geoms) & pd.notna(raw))
    if garbage.size:
        raise InputError(
            "GeoParquet geometries that are not valid WKB",
            file=path,
            column=name,
            row=garbage.tolist(),
            fix="repair or remove those rows (null and empty geometries are dropped as "
            "invalid coordinates)",
        )
    geoms[shapely.is_empty(geoms)] = None  # empty geometries: no coordinates (dropped, counted)
    kinds = shapely.get_type_id(geoms)
    bad = np.flatnonzero((kinds != 0) & ~shapely.is_missing(geoms))
    if bad.size:
        raise InputError(
            "GeoParquet points must have Point geometries",
            file=path,
            column=name,
            row=bad.tolist(),
            fix="convert the geometries to points (e.g. centroids) first",
        )
    return shapely.get_x(geoms), shapely.get_y(geoms), crs


def _categorical(parts: list[pd.Categorical]) -> pd.Categorical:
    if len(parts) == 1:
        return parts[0]
    return union_categoricals(parts)


# ---------------------------------------------------------------------------- checks
def _locate(pts: Points, rows: np.ndarray) -> tuple[str, list[int]]:
    file, _ = pts.where(int(rows[0]))
    same = [pts.where(int(r))[1] for r in rows if pts.where(int(r))[0] == file]
    return file, same


def _check_infinite_emission(pts: Points, cfg: dict[str, Any]) -> None:
    bad = np.flatnonzero(np.isinf(pts.emission))
    if bad.size:
        file, rows = _locate(pts, bad[:20])
        raise InputError(
            "emission is infinite",
            file=file,
            column=cfg["emission"],
            row=rows,
            fix="correct those rows (emissions are tonnes per year)",
        )


def _check_total(pts: Points, cfg: dict[str, Any]) -> None:
    """The finite emissions must add up to a finite float64 total (the ledger's)."""
    e = pts.emission[np.isfinite(pts.emission)]
    with np.errstate(over="ignore"):
        total = e.sum()
    if not np.isfinite(total):
        big = np.flatnonzero(np.abs(pts.emission) > 1e300)
        file, rows = _locate(pts, big[:20])
        raise InputError(
            "the emissions add up to more than the largest float64 number (1.8e308 t)",
            file=file,
            column=cfg["emission"],
            row=rows,
            fix="correct those rows (emissions are tonnes per year; check the units)",
        )


def _check_swapped(pts: Points, cfg: dict[str, Any]) -> None:
    if not pts.crs.is_geographic or len(pts) == 0:
        return
    lon, lat = pts.cx, pts.cy
    if not (np.abs(np.nanmax(lat, initial=0)) > 90 or np.abs(np.nanmin(lat, initial=0)) > 90):
        return  # the common case, in two cheap passes
    finite = np.isfinite(lon) & np.isfinite(lat)
    n = int(finite.sum())
    if n == 0:
        return
    lat_out = np.abs(lat[finite]) > 90
    swapped_ok = (np.abs(lat[finite]) <= 180) & (np.abs(lon[finite]) <= 90)
    if lat_out.mean() > 0.5 and (lat_out & swapped_ok).sum() >= lat_out.sum() * 0.9:
        first = np.flatnonzero(finite)[np.flatnonzero(lat_out)[:5]]
        file, rows = _locate(pts, first)
        raise InputError(
            f"{lat_out.mean():.0%} of the points have latitude outside [-90, 90] but would be "
            "valid with longitude and latitude swapped",
            file=file,
            column=cfg["lat"],
            row=rows,
            fix=f'swap the config keys: lon = "{cfg["lat"]}", lat = "{cfg["lon"]}"',
        )


def _check_unique_ids(pts: Points, cfg: dict[str, Any]) -> None:
    ids = pts.ids
    # Empty ids are not duplicates of each other (the firm table shows them as null).
    if pc.count_distinct(ids, mode="only_valid").as_py() == len(ids) - ids.null_count:
        return
    counts = pc.value_counts(ids)
    dup_values = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    dup_values = dup_values.drop_null()
    is_dup = pc.is_in(ids, value_set=dup_values).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(is_dup)
    first_id = ids[int(rows[0])].as_py()
    same = pc.equal(ids, pa.scalar(first_id, ids.type)).to_numpy(zero_copy_only=False)
    same = np.flatnonzero(same)
    file, local = _locate(pts, same[:20])
    raise InputError(
        f"firm id {first_id!r} appears {same.size} times ({rows.size} rows have duplicated ids)",
        file=file,
        column=cfg["id"],
        row=local,
        fix="make the ids unique, or remove [points] id to run without firm ids",
    )

"""Per-firm attribution table: firm id, consumer, category, tonnes (Parquet or GeoParquet,
written in batches)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pyproj

from footgrid.io.points import Points
from footgrid.mrio.attribution import Attribution

#: Firms per written batch: bounds the memory of the long table to ~batch × consumers rows.
BATCH = 200_000


def write_firm_table(
    path: Path,
    pts: Points,
    key: np.ndarray,
    att: Attribution,
    *,
    categories: bool = False,
    geometry: tuple[np.ndarray, np.ndarray, pyproj.CRS] | None = None,
) -> Path:
    """Write each firm's emissions split by consumer (and category), rows with tonnes > 0.

    Columns: ``firm_id`` (the ``[points] id`` column with its type -- integer ids stay int64,
    others are text -- or the 0-based input row when there is no id column), ``consumer``,
    ``category`` (with ``categories``; else the categories are summed), ``tonnes`` (float64),
    and with ``geometry`` = (x, y, crs) of every point a WKB ``geometry`` column of points with
    GeoParquet 1.0 metadata (readable by ``geopandas.read_parquet``, GDAL, QGIS, DuckDB).
    Firms dropped before attribution are absent; the store's ``dropped`` attribute counts them.
    """
    n_cons, n_cat = len(att.consumers), len(att.categories)
    split = att.coef.reshape(-1, n_cons, n_cat)
    per_col = split.reshape(-1, n_cons * n_cat) if categories else split.sum(axis=2)
    ids = pts.ids if pts.ids is not None else pa.array(pts.rows(), type=pa.int64())
    consumers = pa.array(att.consumers, type=pa.string())
    cats = pa.array(att.categories, type=pa.string())
    fields = [("firm_id", ids.type), ("consumer", pa.dictionary(pa.int32(), pa.string()))]
    if categories:
        fields.append(("category", pa.dictionary(pa.int32(), pa.string())))
    fields.append(("tonnes", pa.float64()))
    if geometry is not None:
        fields.append(("geometry", pa.binary()))
    schema = pa.schema(fields)
    if geometry is not None:
        geo = {
            "version": "1.0.0",
            "primary_column": "geometry",
            "columns": {
                "geometry": {
                    "encoding": "WKB",
                    "geometry_types": ["Point"],
                    "crs": json.loads(geometry[2].to_json()),
                }
            },
        }
        schema = schema.with_metadata({b"geo": json.dumps(geo).encode()})
    tmp = path.with_name(path.name + ".partial")
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for s in range(0, len(pts), BATCH):
            sl = slice(s, min(s + BATCH, len(pts)))
            k = key[sl]
            ok = k >= 0
            tonnes = pts.emission[sl][ok, None] * per_col[k[ok]]  # (b, C) or (b, C·K)
            firm, col = np.nonzero(tonnes > 0)
            fid = ids.slice(sl.start, sl.stop - sl.start).filter(pa.array(ok)).take(pa.array(firm))
            cons = col // n_cat if categories else col
            data = {
                "firm_id": fid,
                "consumer": pa.DictionaryArray.from_arrays(
                    pa.array(cons.astype(np.int32)), consumers
                ),
            }
            if categories:
                data["category"] = pa.DictionaryArray.from_arrays(
                    pa.array((col % n_cat).astype(np.int32)), cats
                )
            data["tonnes"] = pa.array(tonnes[firm, col])
            if geometry is not None:
                rows = np.flatnonzero(ok)[firm] + sl.start
                import shapely  # lazy: only GeoParquet firm tables need it (~0.2 s of imports)

                pts_geom = shapely.points(geometry[0][rows], geometry[1][rows])
                data["geometry"] = pa.array(shapely.to_wkb(pts_geom), type=pa.binary())
            writer.write_table(pa.table(data, schema=schema))
    tmp.replace(path)
    return path

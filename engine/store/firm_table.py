"""Per-firm attribution table: firm id, consumer, tonnes (Parquet, written in batches)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from footgrid.io.points import Points
from footgrid.mrio.attribution import Attribution

#: Firms per written batch: bounds the memory of the long table to ~batch × consumers rows.
BATCH = 200_000


def write_firm_table(path: Path, pts: Points, key: np.ndarray, att: Attribution) -> Path:
    """Write each firm's emissions split by consumer (categories summed), rows with tonnes > 0.

    Columns: ``firm_id`` (the ``[points] id`` column, or the 0-based input row when there is no
    id column), ``consumer``, ``tonnes`` (float64). Firms dropped before attribution are absent;
    the store's ``dropped`` attribute counts them.
    """
    n_cons, n_cat = len(att.consumers), len(att.categories)
    per_consumer = att.coef.reshape(-1, n_cons, n_cat).sum(axis=2)  # (R, C)
    ids = pts.ids if pts.ids is not None else pa.array(pts.rows())
    consumers = pa.array(att.consumers, type=pa.string())
    schema = pa.schema(
        [
            ("firm_id", pa.string() if pts.ids is not None else pa.int64()),
            ("consumer", pa.dictionary(pa.int32(), pa.string())),
            ("tonnes", pa.float64()),
        ]
    )
    tmp = path.with_name(path.name + ".partial")
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for s in range(0, len(pts), BATCH):
            sl = slice(s, min(s + BATCH, len(pts)))
            k = key[sl]
            ok = k >= 0
            tonnes = pts.emission[sl][ok, None] * per_consumer[k[ok]]  # (b, C)
            firm, cons = np.nonzero(tonnes > 0)
            fid = ids.slice(sl.start, sl.stop - sl.start).filter(pa.array(ok)).take(pa.array(firm))
            table = pa.table(
                {
                    "firm_id": fid.cast(schema.field("firm_id").type),
                    "consumer": pa.DictionaryArray.from_arrays(
                        pa.array(cons.astype(np.int32)), consumers
                    ),
                    "tonnes": pa.array(tonnes[firm, cons]),
                },
                schema=schema,
            )
            writer.write_table(table)
    tmp.replace(path)
    return path

"""Totals and shares from the national ledger ``totals(region, sector, consumer, category)``.

Every table is a pandas DataFrame with plain columns (no index), sorted by size, ready to be
written as CSV and Markdown. "Foreign" (export-driven) means driven by a consumer whose
``domestic`` coordinate is False; "domestic" by one whose ``domestic`` is True.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["ledger_frame", "share_tables"]


def ledger_frame(ds: xr.Dataset) -> pd.DataFrame:
    """The ``totals`` ledger as a long table with a ``domestic`` column.

    Parameters
    ----------
    ds
        An output store with ``totals`` and the ``domestic(consumer)`` coordinate.

    Returns
    -------
    pandas.DataFrame
        Columns ``region, sector, consumer, category, domestic, value`` (float64).
    """
    tot = ds["totals"].transpose("region", "sector", "consumer", "category")
    values = np.asarray(tot.values, dtype=np.float64)
    labels = {d: [str(v) for v in ds[d].values] for d in tot.dims}
    domestic = dict(
        zip(labels["consumer"], np.asarray(ds["domestic"].values, dtype=bool).tolist(), strict=True)
    )
    index = pd.MultiIndex.from_product([labels[d] for d in tot.dims], names=list(tot.dims))
    frame = pd.DataFrame({"value": values.ravel()}, index=index).reset_index()
    frame.insert(4, "domestic", frame["consumer"].map(domestic).astype(bool))
    return frame


def _share(values: pd.Series, total: float) -> pd.Series:
    if total == 0:
        return pd.Series(np.nan, index=values.index)
    return values / total


def share_tables(ds: xr.Dataset, gridded: pd.Series | None = None) -> dict[str, pd.DataFrame]:
    """Totals and shares by consumer, producing region, producing sector and category.

    Parameters
    ----------
    ds
        An output store with ``totals``.
    gridded
        Optional gridded footprint per consumer (``layers.gridded_consumer_totals``): added
        as a ``gridded`` column to the consumer table, to compare map and ledger.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``by_consumer`` (total, share, share_of_foreign), ``by_region`` and ``by_sector``
        (total, share, foreign, export-driven share of that row), ``by_category``,
        ``domestic_foreign`` (domestic vs foreign with shares; the foreign share is the
        export-driven share of all emissions).
    """
    frame = ledger_frame(ds)
    total = float(frame["value"].sum())
    foreign_total = float(frame.loc[~frame["domestic"], "value"].sum())
    frame["foreign"] = np.where(frame["domestic"], 0.0, frame["value"])

    by_consumer = frame.groupby(["consumer", "domestic"], sort=False)["value"].sum().reset_index()
    by_consumer = by_consumer.rename(columns={"value": "total"})
    by_consumer["share"] = _share(by_consumer["total"], total)
    foreign_share = by_consumer["total"].where(~by_consumer["domestic"])
    by_consumer["share_of_foreign"] = _share(foreign_share, foreign_total)
    if gridded is not None:
        by_consumer["gridded"] = by_consumer["consumer"].map(gridded).astype(np.float64)
    by_consumer = _rank(by_consumer, "total")

    tables = {"by_consumer": by_consumer}
    for key, column in (("by_region", "region"), ("by_sector", "sector")):
        grouped = frame.groupby(column, sort=False)[["value", "foreign"]].sum().reset_index()
        grouped = grouped.rename(columns={"value": "total"})
        grouped["share"] = _share(grouped["total"], total)
        grouped["export_driven_share"] = (
            grouped["foreign"]
            .where(grouped["total"] > 0)
            .div(grouped["total"].where(grouped["total"] > 0))
        )
        tables[key] = _rank(grouped[[column, "total", "share", "foreign", "export_driven_share"]])

    by_category = frame.groupby("category", sort=False)[["value", "foreign"]].sum().reset_index()
    by_category = by_category.rename(columns={"value": "total"})
    by_category["domestic"] = by_category["total"] - by_category["foreign"]
    by_category["share"] = _share(by_category["total"], total)
    tables["by_category"] = _rank(
        by_category[["category", "total", "share", "domestic", "foreign"]]
    )

    domestic_total = total - foreign_total
    tables["domestic_foreign"] = pd.DataFrame(
        {
            "driver": ["domestic", "foreign (export-driven)", "all"],
            "total": [domestic_total, foreign_total, total],
            "share": [
                domestic_total / total if total else np.nan,
                foreign_total / total if total else np.nan,
                1.0 if total else np.nan,
            ],
        }
    )
    return tables


def _rank(table: pd.DataFrame, column: str = "total") -> pd.DataFrame:
    """Sort by ``column`` descending (stable, so ties keep ledger order) and reset the index."""
    return table.sort_values(column, ascending=False, kind="stable").reset_index(drop=True)

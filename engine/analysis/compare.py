"""Compare two output stores (two years, two MRIOs, two configs): tables and difference maps.

Tables compare the ledgers (``totals``) by consumer, producing region, producing sector and
category, and the headline figures (totals, export-driven share, concentration). Difference
maps (B - A) are drawn when both stores share one grid (same CRS, transform and shape);
otherwise the page says why they are missing and the tables still come out. Labels present in
only one store count as 0 in the other.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pandas as pd
import xarray as xr

from footgrid.analysis import layers as L
from footgrid.analysis.maps import plot_difference
from footgrid.analysis.page import Page, ensure_dir, write_table
from footgrid.analysis.report import _analyse, _headline, _static, _units, layer_title
from footgrid.analysis.shares import share_tables

__all__ = ["compare_tables", "same_grid", "write_comparison"]


def same_grid(a: L.GridInfo, b: L.GridInfo) -> bool:
    """True when two grids have the same CRS, transform (to 1e-9 of a cell) and shape."""
    if a.shape != b.shape or not a.crs.equals(b.crs):
        return False
    ta, tb = np.array(a.transform[:6]), np.array(b.transform[:6])
    return bool(np.allclose(ta, tb, rtol=0, atol=1e-9 * max(abs(a.transform.a), 1.0)))


def _side_by_side(ta: pd.DataFrame, tb: pd.DataFrame, key: str, la: str, lb: str):
    a = ta.set_index(key)["total"].rename(la)
    b = tb.set_index(key)["total"].rename(lb)
    both = pd.concat([a, b], axis=1).fillna(0.0)
    both["change"] = both[lb] - both[la]
    both["relative_change"] = (both["change"] / both[la].where(both[la] != 0)).astype(float)
    both = both.sort_values(lb, ascending=False, kind="stable")
    return both.rename_axis(key).reset_index()


def compare_tables(
    tables_a: dict[str, pd.DataFrame],
    tables_b: dict[str, pd.DataFrame],
    labels: tuple[str, str] = ("A", "B"),
) -> dict[str, pd.DataFrame]:
    """Side-by-side ledger tables (``shares.share_tables`` of two stores).

    Parameters
    ----------
    tables_a, tables_b
        Share tables of store A and B.
    labels
        Column names for A and B.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``by_consumer``, ``by_region``, ``by_sector``, ``by_category``, ``domestic_foreign``,
        each with columns ``<key>, A, B, change, relative_change`` (relative to A; NaN where
        A is 0).
    """
    la, lb = labels
    keys = {
        "by_consumer": "consumer",
        "by_region": "region",
        "by_sector": "sector",
        "by_category": "category",
        "domestic_foreign": "driver",
    }
    return {
        name: _side_by_side(tables_a[name], tables_b[name], key, la, lb)
        for name, key in keys.items()
    }


def _headline_rows(ha: dict, hb: dict, la: str, lb: str) -> pd.DataFrame:
    def flat(h: dict) -> dict[str, float]:
        row = {"gridded emissions": h["total"]}
        for k, label in (
            ("ledger_total", "ledger total"),
            ("foreign", "foreign-driven"),
        ):
            if h.get(k) is not None:
                row[label] = h[k]
        if h.get("foreign_share") is not None:
            row["foreign share"] = h["foreign_share"]
        for layer, c in h["concentration"].items():
            for f, a in c["area_share"].items():
                row[f"{layer}: area share holding {100 * f:.0f} %"] = a
            row[f"{layer}: extent (km², 90 %)"] = c["extent_km2_90"]
            row[f"{layer}: Gini"] = c["gini"]
        return row

    a, b = flat(ha), flat(hb)
    metrics = list(dict.fromkeys([*a, *b]))
    frame = pd.DataFrame(
        {
            "metric": metrics,
            la: [a.get(m, np.nan) for m in metrics],
            lb: [b.get(m, np.nan) for m in metrics],
        }
    )
    frame["change"] = frame[lb] - frame[la]
    return frame


def write_comparison(
    store_a: str | os.PathLike | xr.Dataset,
    store_b: str | os.PathLike | xr.Dataset,
    out_dir: str | os.PathLike,
    *,
    labels: tuple[str, str] | None = None,
    title: str | None = None,
) -> pathlib.Path:
    """Write the comparison of two stores: tables (CSV + Markdown), difference maps, HTML.

    Parameters
    ----------
    store_a, store_b
        Output stores (paths or Datasets); differences are B - A.
    out_dir
        Output folder (created).
    labels
        Names for A and B in tables (default the store folder names, else "A"/"B").
    title
        Page title.

    Returns
    -------
    pathlib.Path
        Path of ``index.html``.
    """

    def name(store, default: str) -> str:
        if isinstance(store, xr.Dataset):
            return default
        return os.path.basename(os.fspath(store).rstrip("/")) or default

    la, lb = labels or (name(store_a, "A"), name(store_b, "B"))
    if la == lb:
        la, lb = f"A ({la})", f"B ({lb})"
    ds_a, ds_b = L.open_store(store_a), L.open_store(store_b)
    out = ensure_dir(out_dir)
    page = Page(title or f"footgrid comparison: {lb} vs {la}")
    page.paragraph(f"Differences are {lb} minus {la}.", css="note")

    grid_a, grid_b = L.grid_info(ds_a), L.grid_info(ds_b)
    aligned = same_grid(grid_a, grid_b)
    areas_a, terr_a = _static(ds_a)
    areas_b, terr_b = _static(ds_b)
    names = [n for n in L.layer_names(ds_a) if n in L.layer_names(ds_b)]

    # Keep layer A only while its B counterpart is computed: two layers at a time, at most.
    held: dict[str, np.ndarray] = {}
    maps: list[tuple[str, str]] = []

    def keep_a(layer_name: str, values: np.ndarray) -> None:
        held[layer_name] = values if aligned else np.empty(0)

    def diff_b(layer_name: str, values: np.ndarray) -> None:
        if not aligned:
            return
        diff = values - held.pop(layer_name)
        src = f"diff_{layer_name}.png"
        plot_difference(
            diff,
            areas_b,
            terr_a | terr_b,
            grid_b,
            out / src,
            title=f"Change in {layer_title(layer_name).lower()}: {lb} - {la}",
            units=_units(ds_b),
        )
        maps.append((layer_name, src))

    # Layer by layer: A then B, so at most two full layers are in memory.
    analysis_a = _analyse(ds_a, [], areas_a, terr_a)
    analysis_b = _analyse(ds_b, [], areas_b, terr_b)
    for layer_name in names:
        part_a = _analyse(ds_a, [layer_name], areas_a, terr_a, keep_a)
        part_b = _analyse(ds_b, [layer_name], areas_b, terr_b, diff_b)
        analysis_a.stats.update(part_a.stats)
        analysis_a.outside.update(part_a.outside)
        analysis_b.stats.update(part_b.stats)
        analysis_b.outside.update(part_b.outside)
        held.clear()

    ledgers = all("totals" in d.variables and L.has_footprint(d) for d in (ds_a, ds_b))
    for ds, analysis in ((ds_a, analysis_a), (ds_b, analysis_b)):
        if L.has_footprint(ds):
            analysis.gridded = L.gridded_consumer_totals(ds)
        if ledgers:
            analysis.tables = share_tables(ds, analysis.gridded)
    ha, hb = _headline(ds_a, analysis_a), _headline(ds_b, analysis_b)

    page.heading("Headline figures")
    summary = _headline_rows(ha, hb, la, lb)
    path = write_table(summary, out, "compare_headline")
    page.table(summary, csv=path.name)

    page.heading("Difference maps")
    if aligned:
        for layer_name, src in maps:
            page.image(src, caption=f"{layer_title(layer_name)}: {lb} - {la}")
    else:
        page.paragraph(
            "No difference maps: the two stores use different grids (CRS, transform or shape). "
            "Re-run one of them on the other's [grid] to map the change."
        )

    if ledgers:
        tables = compare_tables(analysis_a.tables, analysis_b.tables, (la, lb))
        for key, caption in (
            ("domestic_foreign", "Domestic vs foreign"),
            ("by_consumer", "By consumer"),
            ("by_category", "By final-demand category"),
            ("by_region", "By producing region"),
            ("by_sector", "By producing sector"),
        ):
            path = write_table(tables[key], out, f"compare_{key}")
            page.heading(caption)
            page.table(tables[key].head(25), csv=path.name)
    return page.write(out)

"""The report's world section: per-nation footprint maps and the spatial extent of every consumer.

For a store in which every nation is a consumer (``footgrid demo --world``):

- **Spatial extent** per consumer: the minimum area holding 50 %, 75 % and 90 % of that
  consumer's footprint (:func:`footgrid.analysis.concentration.minimum_area_holding`, cells
  ranked by density, the last cell taken in part), over every cell of the grid (a footprint
  reaches the sea cells next to coasts, so no territory mask). ``extent_km2_90`` is the
  spatial extent; CSV ``world_extent.csv``, a table and a bar figure ``world_extent.png``.
- **Per-nation maps**: small multiples of the largest consumers' footprints on one colour
  scale, with country outlines (``world_nations.png``).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from footgrid.analysis import layers as L
from footgrid.analysis.concentration import minimum_area_holding
from footgrid.analysis.context import map_context
from footgrid.analysis.maps import DPI, Display, plot_small_multiples
from footgrid.analysis.page import Page, write_table

__all__ = ["consumer_extents", "plot_extents", "write_world_section"]

#: Shares of each consumer's footprint for the extent columns.
FRACTIONS = (0.5, 0.75, 0.9)
#: Consumers shown as small multiples.
TOP_NATIONS = 6


def consumer_extents(
    ds: xr.Dataset,
    *,
    names: Mapping[str, str] | None = None,
    fractions: tuple[float, ...] = FRACTIONS,
) -> pd.DataFrame:
    """Footprint and minimum area holding each fraction of it, per consumer (all categories).

    Parameters
    ----------
    ds
        An opened footgrid store with a ``footprint`` variable.
    names
        Consumer label -> display name (a ``name`` column); default the labels.
    fractions
        Shares of each consumer's footprint.

    Returns
    -------
    pandas.DataFrame
        ``consumer, name, footprint_t, share, extent_km2_<X>`` for each fraction, sorted by
        footprint (largest first); the extent is NaN for a consumer without footprint.
    """
    areas = np.asarray(ds["cell_area"].transpose("y", "x").values, dtype=np.float64)
    fp = ds["footprint"].transpose("consumer", "category", "y", "x")
    rows = []
    for c in ds["consumer"].values:
        values = np.asarray(fp.sel(consumer=c).sum("category").values, dtype=np.float64)
        total = float(values.sum())
        km2 = minimum_area_holding(values, areas, fractions) / 1e6
        rows.append([str(c), total, *km2.tolist()])
    cols = ["consumer", "footprint_t", *(f"extent_km2_{round(100 * f)}" for f in fractions)]
    table = pd.DataFrame(rows, columns=cols)
    table.insert(1, "name", [(names or {}).get(c, c) for c in table["consumer"]])
    grand = table["footprint_t"].sum()
    table.insert(3, "share", table["footprint_t"] / grand if grand > 0 else np.nan)
    order = np.argsort(-table["footprint_t"].to_numpy(), kind="stable")
    return table.iloc[order].reset_index(drop=True)


def plot_extents(table: pd.DataFrame, path: str | os.PathLike) -> str | os.PathLike:
    """Horizontal bars of every consumer's spatial extent (km² holding 90 %), largest on top.

    Parameters
    ----------
    table
        From :func:`consumer_extents` (needs ``name`` and ``extent_km2_90``).
    path
        Output PNG.

    Returns
    -------
    path
    """
    t = table.dropna(subset=["extent_km2_90"]).sort_values("extent_km2_90", kind="stable")
    fig = Figure(figsize=(7.5, 0.6 + 0.19 * max(len(t), 1)), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(np.arange(len(t)), t["extent_km2_90"] / 1e6, color="#d95f0e")
    ax.set_yticks(np.arange(len(t)), t["name"], fontsize=7)
    ax.set_xlabel("million km² holding 90 % of the consumer's footprint")
    ax.set_title("Spatial extent of each nation's footprint")
    ax.margins(y=0.01)
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    return path


def write_world_section(
    page: Page,
    ds: xr.Dataset,
    out: pathlib.Path,
    *,
    polygons=None,
    names: Mapping[str, str] | None = None,
    top: int = TOP_NATIONS,
) -> list[tuple[str, str]]:
    """Add the world section (extent table and figure, per-nation maps) to a report page.

    Parameters
    ----------
    page
        The report page.
    ds
        The opened store.
    out
        The report folder (files are written there).
    polygons
        GeoDataFrame of country outlines drawn on the maps (optional).
    names
        Consumer label -> display name.
    top
        How many of the largest consumers get a map.

    Returns
    -------
    list of (label, file)
        The CSV links of the section, for the report's file list.
    """
    table = consumer_extents(ds, names=names)
    csv = write_table(table, out, "world_extent")
    page.heading("Every nation: footprint and spatial extent")
    page.paragraph(
        "For every consumer nation: its footprint (all final-demand categories) and the "
        "smallest area holding 50, 75 and 90 % of it (cells ranked by density, the last cell "
        "counted in part; all grid cells, so coastal sea cells count). extent_km2_90 is the "
        "spatial extent."
    )
    page.table(table, csv=csv.name)
    plot_extents(table, out / "world_extent.png")
    page.image("world_extent.png", caption="Spatial extent (90 %) of every nation's footprint")

    grid = L.grid_info(ds)
    areas = np.asarray(ds["cell_area"].transpose("y", "x").values, dtype=np.float64)
    territory = np.asarray(ds["territory"].transpose("y", "x").values, dtype=bool)
    context = map_context(grid, polygons=polygons, step_deg=60.0)
    fp = ds["footprint"].transpose("consumer", "category", "y", "x")
    panels = {}
    for c, name in zip(table["consumer"][:top], table["name"][:top], strict=True):
        values = np.asarray(fp.sel(consumer=c).sum("category").values, dtype=np.float64)
        panels[f"{name} ({c})"] = Display(values, areas, territory, grid, 400)
    if panels:
        plot_small_multiples(
            panels,
            areas,
            territory,
            grid,
            out / "world_nations.png",
            title="Where each nation's consumption emits (largest consumers)",
            context=context,
        )
        page.image(
            "world_nations.png",
            caption=f"Footprints of the {len(panels)} largest consumer nations (shared scale)",
        )
    return [("spatial extent of every nation", csv.name)]

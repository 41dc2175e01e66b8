"""Producing sectors in the report: shares per consumer, consumer x category, sector layers.

The store keeps sectors in the national ledger only (``totals(region, sector, consumer,
category)``); its grid is split by consumer and category, not by sector. Tables and shares come
from the ledger (:func:`sector_shares`, :func:`category_shares`). Maps by producing sector need
the inputs: :func:`sector_layers` re-reads the run's points, links them to their coefficient rows
(the Leontief solve is cached by the run, so this is quick) and scatters each point's tonnes
driven by the chosen consumers, split by MRIO sector through the concordance weights, onto the
store's grid: one (ny, nx) layer per sector, no pipeline re-run. Their sum over all sectors is
the store's layer of the same consumers (checked in the report, within float32 storage).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from footgrid.analysis.layers import GridInfo
from footgrid.analysis.shares import ledger_frame
from footgrid.errors import InputError

__all__ = [
    "Linked",
    "SectorLayers",
    "category_shares",
    "link",
    "plot_sector_shares",
    "sector_layers",
    "sector_shares",
]

#: Sectors drawn as their own colour in the share figure; the rest are "other".
FIGURE_SECTORS = 7


def _pick(frame: pd.DataFrame, consumers: str) -> pd.DataFrame:
    if consumers == "foreign":
        return frame[~frame["domestic"]]
    if consumers == "domestic":
        return frame[frame["domestic"]]
    return frame


def sector_shares(ds: xr.Dataset) -> pd.DataFrame:
    """Share of each producing sector in each consumer's footprint (and in foreign, domestic
    and all), from the ledger.

    Parameters
    ----------
    ds
        A store with ``totals``.

    Returns
    -------
    pandas.DataFrame
        Wide: one row per driver (``foreign``, ``domestic``, ``all``, then the consumers by
        size), columns ``driver, total`` and one share column per sector (sectors by their
        foreign-driven size, largest first); each row's shares sum to 1.
    """
    frame = ledger_frame(ds)
    drivers = {
        "foreign": _pick(frame, "foreign"),
        "domestic": _pick(frame, "domestic"),
        "all": frame,
    }
    by = frame.groupby("consumer", sort=False)["value"].sum().sort_values(ascending=False)
    for c in by.index:
        drivers[str(c)] = frame[frame["consumer"] == c]
    order = _pick(frame, "foreign").groupby("sector", sort=False)["value"].sum()
    if not order.sum() > 0:
        order = frame.groupby("sector", sort=False)["value"].sum()
    sectors = list(order.sort_values(ascending=False, kind="stable").index)
    rows = []
    for name, part in drivers.items():
        total = float(part["value"].sum())
        per = part.groupby("sector", sort=False)["value"].sum().reindex(sectors).fillna(0.0)
        share = per / total if total > 0 else per * np.nan
        rows.append({"driver": name, "total": total, **{f"{s}_share": v for s, v in share.items()}})
    return pd.DataFrame(rows)


def category_shares(ds: xr.Dataset) -> pd.DataFrame:
    """Share of each final-demand category in each consumer's footprint, from the ledger.

    Returns
    -------
    pandas.DataFrame
        One row per consumer (largest first) plus ``foreign`` and ``all``; columns
        ``consumer, domestic, total`` and ``<category>_share`` (summing to 1 per row).
    """
    frame = ledger_frame(ds)
    cats = list(dict.fromkeys(frame["category"]))
    pivot = frame.pivot_table(
        index=["consumer", "domestic"], columns="category", values="value", aggfunc="sum"
    ).reindex(columns=cats)
    pivot = pivot.reset_index()
    foreign = frame[~frame["domestic"]].groupby("category")["value"].sum().reindex(cats)
    every = frame.groupby("category")["value"].sum().reindex(cats)
    extra = pd.DataFrame(
        [
            {"consumer": "foreign", "domestic": False, **foreign.to_dict()},
            {"consumer": "all", "domestic": None, **every.to_dict()},
        ]
    )
    table = pd.concat([pivot, extra], ignore_index=True)
    table["total"] = table[cats].sum(axis=1)
    for c in cats:
        table[f"{c}_share"] = np.where(table["total"] > 0, table[c] / table["total"], np.nan)
    table = table[["consumer", "domestic", "total", *[f"{c}_share" for c in cats]]]
    head = table.iloc[:-2].sort_values("total", ascending=False, kind="stable")
    return pd.concat([head, table.iloc[-2:]], ignore_index=True)


def plot_sector_shares(
    shares: pd.DataFrame, path: str | os.PathLike, *, drivers: list[str] | None = None
) -> str | os.PathLike:
    """Stacked horizontal bars: the producing-sector mix of each driver's footprint.

    Parameters
    ----------
    shares
        From :func:`sector_shares`.
    path
        Output PNG.
    drivers
        Rows to show (default: every row), top to bottom.

    Returns
    -------
    path
    """
    table = shares.set_index("driver")
    if drivers is not None:
        table = table.loc[[d for d in drivers if d in table.index]]
    cols = [c for c in table.columns if c.endswith("_share")]
    main, rest = cols[:FIGURE_SECTORS], cols[FIGURE_SECTORS:]
    data = table[main].fillna(0.0).copy()
    if rest:
        data["other_share"] = table[rest].fillna(0.0).sum(axis=1)
    fig = Figure(figsize=(9, 0.42 * len(data) + 1.6))
    ax = fig.add_axes((0.14, 0.9 / (0.42 * len(data) + 1.6), 0.84, 0.42 * len(data) /
                       (0.42 * len(data) + 1.6)))  # fmt: skip
    y = np.arange(len(data))[::-1]
    left = np.zeros(len(data))
    for i, col in enumerate(data.columns):
        v = data[col].to_numpy()
        colour = "0.75" if col == "other_share" else f"C{i}"
        ax.barh(y, v, left=left, color=colour, height=0.7, label=col.removesuffix("_share"))
        for yy, ll, vv in zip(y, left, v, strict=True):
            if vv >= 0.06:
                ax.text(ll + vv / 2, yy, f"{100 * vv:.0f}", ha="center", va="center", fontsize=7)
        left += v
    ax.set_yticks(y, list(data.index), fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_xticks(np.linspace(0, 1, 6), [f"{p} %" for p in range(0, 101, 20)], fontsize=8)
    ax.set_xlabel("share of the driver's footprint by producing sector (numbers: %)")
    ax.legend(ncols=min(8, len(data.columns)), fontsize=7, loc="lower center",
              bbox_to_anchor=(0.5, 1.0), frameon=False)  # fmt: skip
    fig.savefig(path, dpi=110, metadata={"Software": None})
    return path


@dataclass(frozen=True)
class SectorLayers:
    """Per-sector layers of one driver (e.g. the foreign consumers) on a store's grid.

    Attributes
    ----------
    layers
        MRIO sector -> (ny, nx) float64 tonnes.
    totals
        MRIO sector -> national total of that driver's tonnes in that sector (all points, on or
        off the grid).
    off_grid
        Tonnes of points that fall outside the grid (kept in ``totals``).
    combined
        (ny, nx) sum over all sectors (equals the store's layer of the same consumers).
    """

    layers: dict[str, np.ndarray]
    totals: pd.Series
    off_grid: float
    combined: np.ndarray


@dataclass(frozen=True)
class Linked:
    """A run's points linked to their coefficient rows (:func:`link`), reusable across
    :func:`sector_layers` calls."""

    pts: object
    att: object
    key: np.ndarray
    keep: np.ndarray

    def __iter__(self):
        return iter((self.pts, self.att, self.key, self.keep))


def link(config: str | os.PathLike) -> Linked:
    """Read the run's points and link them to their coefficient rows (the cached solve).

    Raises
    ------
    InputError
        The config has no ``[points]`` (raster-only runs are not split by sector here).
    """
    from footgrid.config import load_config  # lazy: the report only needs it for sector maps
    from footgrid.io.points import read_points  # lazy: pyarrow readers
    from footgrid.ledger import Ledger  # lazy: as above
    from footgrid.mrio.link import link_rows  # lazy: the MRIO stack (scipy, LU cache)

    cfg = load_config(config)
    if cfg.points is None:
        raise InputError(
            "sector maps need the run's [points] (a raster-only run has no sector per cell)",
            file=cfg.source,
            key="points",
        )
    pts = read_points(cfg.points, Ledger())
    att, key, keep = link_rows(cfg, pts.region, pts.sector, pts.emission, pts.where)
    return Linked(pts, att, key, keep)


def sector_layers(
    config: str | os.PathLike | Linked,
    ds: xr.Dataset,
    grid: GridInfo,
    *,
    consumers: str = "foreign",
    sectors: list[str] | None = None,
    by: str = "mrio",
    top: int | None = None,
) -> SectorLayers:
    """The footprint of some consumers split by producing MRIO sector, one layer per sector.

    Parameters
    ----------
    config
        The run's config (its points, MRIO, concordance and consumers), or its :func:`link`.
    ds
        The run's store (for its consumer labels and the ``domestic`` flags).
    grid
        The store's grid.
    consumers
        ``"foreign"``, ``"domestic"``, ``"all"`` or one consumer label.
    sectors
        Sectors to return layers for (default: all; ``totals`` always covers all).
    by
        ``"mrio"``: the MRIO's producing sectors (the ledger's, split by the concordance
        weights); ``"inventory"``: the points' own sector codes (e.g. steel and cement apart
        where the MRIO has one metals sector).
    top
        Return layers only for the ``top`` sectors of the largest totals (after ``sectors``).

    Returns
    -------
    SectorLayers

    Raises
    ------
    InputError
        The config has no ``[points]`` (raster-only runs are not split by sector here) or an
        unknown consumer.
    """
    pts, att, key, keep = config if isinstance(config, Linked) else link(config)
    labels = [str(c) for c in att.consumers]
    domestic = np.asarray(att.domestic, dtype=bool)
    if consumers == "foreign":
        pick = ~domestic
    elif consumers == "domestic":
        pick = domestic
    elif consumers == "all":
        pick = np.ones(len(labels), dtype=bool)
    elif consumers in labels:
        pick = np.array([c == consumers for c in labels])
    else:
        raise InputError(
            f"unknown consumer '{consumers}' for sector maps",
            fix="use foreign, domestic, all or one of " + ", ".join(labels[:10]),
        )
    m = att.M[:, pick, :].sum(axis=(1, 2))  # (n,) share of each MRIO row's tonnes
    if by == "mrio":
        row_sector = np.asarray(att.mrio_rows.get_level_values(1).astype(str))
        names = list(dict.fromkeys(row_sector))
        onehot = np.zeros((row_sector.size, len(names)))
        onehot[np.arange(row_sector.size), [names.index(s) for s in row_sector]] = 1.0
        per_key = np.asarray(att.weights @ (m[:, None] * onehot))  # (R, S)
    elif by == "inventory":
        names = [str(c) for c in pts.sector.categories]
        share = np.asarray(att.weights @ m).ravel()  # (R,)
        key_sector = np.asarray(att.keys.get_level_values(1).astype(str))
        per_key = np.zeros((share.size, len(names)))
        index = {n: i for i, n in enumerate(names)}
        cols = np.array([index.get(s, -1) for s in key_sector])
        rows = np.flatnonzero(cols >= 0)
        per_key[rows, cols[rows]] = share[rows]
    else:
        raise InputError(f"sector layers by '{by}'", fix='use by="mrio" or by="inventory"')
    ok = keep & (key >= 0)
    e = np.where(ok, pts.emission, 0.0)
    k = np.where(ok, key, 0)
    x, y = pts.project(grid.crs)
    inv = ~grid.transform
    col, row = inv * (np.asarray(x), np.asarray(y))
    col = np.floor(col)
    row = np.floor(row)
    ny, nx = grid.shape
    on = np.isfinite(col) & np.isfinite(row) & (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
    cell = np.where(on, row * nx + col, 0).astype(np.int64)
    tonnes = {j: e * per_key[k, j] for j in range(len(names))}
    totals = {s: float(tonnes[j].sum()) for j, s in enumerate(names)}
    off = float(sum(float(t[~on].sum()) for t in tonnes.values()))
    wanted = names if sectors is None else [s for s in sectors if s in names]
    if top is not None:
        wanted = sorted(wanted, key=lambda s: -totals[s])[:top]
    layers = {
        s: np.bincount(cell[on], weights=tonnes[names.index(s)][on], minlength=ny * nx).reshape(
            ny, nx
        )
        for s in wanted
    }
    every = sum(tonnes.values()) if tonnes else np.zeros(e.shape)
    combined = np.bincount(cell[on], weights=np.asarray(every)[on], minlength=ny * nx)
    series = pd.Series(totals).sort_values(ascending=False, kind="stable")
    return SectorLayers(layers, series, off, combined.reshape(ny, nx))

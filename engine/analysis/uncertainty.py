"""The uncertainty part of a report on an ensemble store: share ranges, error bars, a CV map.

From the per-member scalars (``member_footprint_total``, ``member_foreign_share``) and the
statistics rasters (``emissions_mean``, ``emissions_std``) of an ensemble store; nothing is
recomputed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from footgrid.analysis.page import Page, write_table

__all__ = ["has_ensemble", "plot_cv", "plot_share_ranges", "share_ranges", "write_section"]


def has_ensemble(ds: xr.Dataset) -> bool:
    """Whether ``ds`` is an ensemble store (per-member totals and statistics rasters)."""
    return "member_footprint_total" in ds.variables and "emissions_std" in ds.variables


def share_ranges(ds: xr.Dataset, low: float = 0.05, high: float = 0.95) -> pd.DataFrame:
    """Each consumer's share of the footprint and the foreign share, with member ranges.

    Returns
    -------
    pandas.DataFrame
        Columns ``item, deterministic, mean, low, high`` (shares in [0, 1]); one row per
        consumer (largest first) and a last row ``foreign share``.
    """
    per = np.asarray(ds["member_footprint_total"].values, dtype=np.float64)
    shares = per / per.sum(axis=1, keepdims=True)
    det = np.asarray(ds["totals"].sum(("region", "sector", "category")).values, dtype=np.float64)
    det = det / det.sum()
    foreign = np.asarray(ds["member_foreign_share"].values, dtype=np.float64)
    dom = np.asarray(ds["domestic"].values, dtype=bool)
    rows = [
        (str(c), det[i], shares[:, i].mean(), *np.quantile(shares[:, i], [low, high]))
        for i, c in enumerate(ds["consumer"].values)
    ]
    rows.sort(key=lambda r: -r[1])
    rows.append(
        ("foreign share", det[~dom].sum(), foreign.mean(), *np.quantile(foreign, [low, high]))
    )
    return pd.DataFrame(rows, columns=["item", "deterministic", "mean", "low", "high"])


def plot_share_ranges(table: pd.DataFrame, path: str | os.PathLike, top: int = 15) -> None:
    """Error bars (member range) on the shares of :func:`share_ranges` (top consumers)."""
    t = pd.concat([table.iloc[:-1].head(top), table.iloc[-1:]])
    fig = Figure(figsize=(7, 0.35 * len(t) + 1.2))
    ax = fig.subplots()
    y = np.arange(len(t))[::-1]
    err = np.vstack([t["mean"] - t["low"], t["high"] - t["mean"]]).clip(min=0)
    ax.errorbar(t["mean"], y, xerr=err, fmt="o", capsize=3, label="ensemble mean, 5-95 %")
    ax.plot(t["deterministic"], y, "x", color="k", label="deterministic")
    ax.set_yticks(y, t["item"])
    ax.set_xlabel("share of the footprint")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def plot_cv(ds: xr.Dataset, path: str | os.PathLike) -> None:
    """Map of the coefficient of variation (std / mean) of the cells' emissions."""
    mean = np.asarray(ds["emissions_mean"].values, dtype=np.float64)
    std = np.asarray(ds["emissions_std"].values, dtype=np.float64)
    cv = np.divide(std, mean, out=np.full(mean.shape, np.nan), where=mean > 0)
    fig = Figure(figsize=(7, 6))
    ax = fig.subplots()
    im = ax.imshow(cv, cmap="viridis", interpolation="nearest")
    fig.colorbar(im, ax=ax, label="coefficient of variation of emissions")
    ax.set_axis_off()
    ax.set_title("Ensemble coefficient of variation (std / mean)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_section(page: Page, ds: xr.Dataset, out: Path) -> list[tuple[str, str]]:
    """The report's "Uncertainty" section: share ranges (table, error bars) and the CV map.

    Returns the (caption, file) links of the tables written.
    """
    n = int(ds.sizes["member"])
    table = share_ranges(ds)
    path = write_table(table, out, "uncertainty_shares")
    page.heading("Uncertainty")
    page.paragraph(
        f"{n} ensemble members ([uncertainty] in the config): each consumer's share of the "
        "footprint and the foreign share, deterministic and over the members (mean, 5-95 %)."
    )
    page.table(table.head(25), csv=path.name)
    plot_share_ranges(table, out / "uncertainty_shares.png")
    page.image("uncertainty_shares.png", caption="Shares with the members' 5-95 % range")
    plot_cv(ds, out / "uncertainty_cv.png")
    page.image("uncertainty_cv.png", caption="Coefficient of variation of the cells' emissions")
    return [("uncertainty of shares", path.name)]

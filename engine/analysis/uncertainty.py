"""The uncertainty part of a report on an ensemble store: share ranges, error bars, a CV map,
the members' band on the Lorenz curve, area shares and hub totals with their ranges.

From the per-member scalars (``member_footprint_total``, ``member_foreign_share``,
``member_area_share``, ``member_held``, ``member_hub_total``) and the statistics rasters
(``emissions_mean``, ``emissions_std``) of an ensemble store; only the deterministic curve
and area shares are computed here (:mod:`footgrid.analysis.concentration` on ``emissions``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from footgrid.analysis.concentration import concentration
from footgrid.analysis.page import Page, write_table
from footgrid.execution.ensemble_scalars import AREA_SHARE_RTOL

__all__ = [
    "area_share_ranges",
    "has_ensemble",
    "hub_ranges",
    "plot_cv",
    "plot_lorenz_band",
    "plot_share_ranges",
    "share_ranges",
    "write_section",
]


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


def _deterministic(ds: xr.Dataset, fractions: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Exact area shares holding ``fractions`` and Lorenz curve of the store's emissions."""
    areas = np.asarray(ds["cell_area"].values, dtype=np.float64)
    territory = np.asarray(ds["territory"].values, dtype=bool)
    values = np.asarray(ds["emissions"].values, dtype=np.float64)
    c = concentration(values, areas, fractions, mask=territory)
    return c.area_share, c.lorenz


def area_share_ranges(
    ds: xr.Dataset, low: float = 0.05, high: float = 0.95, *, det: tuple | None = None
) -> pd.DataFrame:
    """Smallest share of territory holding each fraction of the emissions, with member ranges.

    ``det`` is ``_deterministic(ds, fractions)`` when the caller has it already.

    Returns
    -------
    pandas.DataFrame
        Columns ``fraction, deterministic, mean, low, high`` (area shares in [0, 1]); the
        members' values are good to a relative :data:`AREA_SHARE_RTOL`.
    """
    fractions = np.asarray(ds["fraction"].values, dtype=np.float64)
    det_share, _ = det if det is not None else _deterministic(ds, fractions)
    per = np.asarray(ds["member_area_share"].values, dtype=np.float64)
    lo, hi = np.nanquantile(per, [low, high], axis=0)
    return pd.DataFrame(
        {"fraction": fractions, "deterministic": det_share, "mean": np.nanmean(per, axis=0),
         "low": lo, "high": hi}
    )  # fmt: skip


def hub_ranges(ds: xr.Dataset, low: float = 0.05, high: float = 0.95) -> pd.DataFrame:
    """Each deterministic hub's emissions, with the members' mean and range (exact)."""
    per = np.asarray(ds["member_hub_total"].values, dtype=np.float64)
    lo, hi = np.quantile(per, [low, high], axis=0)
    return pd.DataFrame(
        {"hub": np.asarray(ds["hub"].values), "deterministic": ds["hub_total"].values,
         "mean": per.mean(axis=0), "low": lo, "high": hi}
    )  # fmt: skip


def plot_lorenz_band(
    ds: xr.Dataset,
    path: str | os.PathLike,
    low: float = 0.05,
    high: float = 0.95,
    *,
    det: tuple | None = None,
) -> None:
    """The members' 5-95 % band of the Lorenz curve of the emissions, densest land first on a
    log area axis (as the report's Lorenz figure), with the deterministic curve and the range
    of the area share holding 75 % (``det`` as for :func:`area_share_ranges`)."""
    x = np.asarray(ds["lorenz_area"].values, dtype=np.float64)
    held = np.asarray(ds["member_held"].values, dtype=np.float64)
    fractions = np.asarray(ds["fraction"].values, dtype=np.float64)
    det_share, (lx, ly) = det if det is not None else _deterministic(ds, fractions)
    x_lo = x[0]
    fig = Figure(figsize=(7, 5))
    ax = fig.subplots()
    band_lo, band_hi = np.nanquantile(held, [low, high], axis=0)
    ax.fill_between(x, band_lo, band_hi, color="C0", alpha=0.3, linewidth=0,
                    label=f"members, {100 * low:.0f}-{100 * high:.0f} %")  # fmt: skip
    if np.all(np.isfinite(lx)):
        area, share = 1.0 - lx[::-1], 1.0 - ly[::-1]
        keep = area > 0
        ax.plot(area[keep], share[keep], color="k", linewidth=1.4, label="deterministic")
        if keep.any():  # start where the densest cell does, as the report's Lorenz figure
            x_lo = max(float(area[keep].min()), x[0])
    i75 = int(np.argmin(np.abs(fractions - 0.75)))
    per = np.asarray(ds["member_area_share"].values, dtype=np.float64)[:, i75]
    if np.isfinite(per).any() and det_share[i75] > 0:
        lo75, hi75 = np.nanquantile(per, [low, high])
        err = [[max(det_share[i75] - lo75, 0.0)], [max(hi75 - det_share[i75], 0.0)]]
        ax.errorbar([det_share[i75]], [fractions[i75]], xerr=err, fmt="o", color="C3",
                    capsize=3, label="area holding 75 %, members' range")  # fmt: skip
    ax.axhline(0.75, color="0.6", linewidth=0.6, linestyle=":")
    ax.set_xscale("log")
    ax.set_xlim(x_lo, 1.0)
    ax.set_ylim(0, 1)
    ax.set_xlabel("share of territory area, densest cells first (log)")
    ax.set_ylabel("share of the emissions held")
    ax.set_title("Concentration with the ensemble's band", fontsize=10)
    ax.grid(True, which="both", linewidth=0.3)
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
    links = [("uncertainty of shares", path.name)]
    if "member_area_share" in ds.variables:
        det = _deterministic(ds, np.asarray(ds["fraction"].values, dtype=np.float64))
        areas = area_share_ranges(ds, det=det)
        a_path = write_table(areas, out, "uncertainty_area_shares")
        row = areas.iloc[int(np.argmin(np.abs(areas["fraction"].to_numpy() - 0.75)))]
        page.paragraph(
            f"{100 * row['deterministic']:.3g} % of the territory holds 75 % of the emissions "
            f"(members, 5-95 %: {100 * row['low']:.3g}-{100 * row['high']:.3g} %; each member's "
            f"area share from density bins, good to {100 * AREA_SHARE_RTOL:.1f} % relative)."
        )
        page.table(areas, csv=a_path.name)
        plot_lorenz_band(ds, out / "uncertainty_lorenz.png", det=det)
        page.image("uncertainty_lorenz.png", caption="Lorenz curve with the members' 5-95 % band")
        links.append(("uncertainty of area shares", a_path.name))
    if "member_hub_total" in ds.variables and ds.sizes.get("hub", 0):
        hubs = hub_ranges(ds)
        h_path = write_table(hubs, out, "uncertainty_hubs")
        page.paragraph(
            "Emissions of the hubs of the deterministic emissions (clusters of the densest "
            "cells holding 75 %, largest first), held fixed, in each member: mean and 5-95 % "
            "range (the members re-drawn for the hubs' points: exact)."
        )
        page.table(hubs.head(25), csv=h_path.name)
        links.append(("uncertainty of hub totals", h_path.name))
    return links

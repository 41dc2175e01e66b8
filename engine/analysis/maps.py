"""PNG maps: one layer, small multiples, Lorenz curves, difference maps.

Figures are built with ``matplotlib.figure.Figure`` and saved through the Agg canvas, so no
pyplot state or GUI backend is involved (safe in threads, on clusters and in tests).

Maps show **density** (layer value per km² of cell area), so cells of different area (geographic
grids) compare fairly; the colour bar reads ``<units> per km²``. Large grids are block-summed
for display to at most ``max_px`` cells per side (values and areas summed per block, then
divided): no information is invented and a 5000 x 4000 grid plots in well under a second.
Zero cells are not coloured; the territory is drawn in light grey under the layer and
outlined (contour of the territory mask). Extents are in the grid CRS, in km for metre CRSs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import ListedColormap, LogNorm, Normalize, SymLogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator
from numpy.typing import ArrayLike

from footgrid.analysis.context import MapContext, draw_context
from footgrid.analysis.layers import GridInfo

__all__ = [
    "Display",
    "plot_difference",
    "plot_layer",
    "plot_lorenz",
    "plot_small_multiples",
]

CMAP = "YlOrRd"
DIFF_CMAP = "RdBu_r"
LAND = "#e6e6e6"
OUTLINE = "#404040"
DPI = 110


class Display:
    """A layer coarsened for display: density per km², territory and extent."""

    def __init__(
        self,
        values: ArrayLike,
        areas: ArrayLike,
        territory: ArrayLike,
        grid: GridInfo,
        max_px: int,
    ) -> None:
        v = np.asarray(values, dtype=np.float64)
        a = np.broadcast_to(np.asarray(areas, dtype=np.float64), v.shape)
        t = np.broadcast_to(np.asarray(territory, dtype=bool), v.shape)
        ny, nx = v.shape
        f = max(1, math.ceil(max(ny, nx) / max_px))
        py, px = -ny % f, -nx % f
        if f > 1:
            v = np.pad(v, ((0, py), (0, px)))
            a = np.pad(a, ((0, py), (0, px)))
            t = np.pad(t, ((0, py), (0, px)))
            shape = (v.shape[0] // f, f, v.shape[1] // f, f)
            v = v.reshape(shape).sum(axis=(1, 3))
            a = a.reshape(shape).sum(axis=(1, 3))
            t = t.reshape(shape).any(axis=(1, 3))
        self.density = np.divide(v * 1e6, a, out=np.zeros_like(v), where=a > 0)
        self.territory = np.asarray(t)
        left, _, _, top = grid.extent
        scale = 1e-3 if grid.metres else 1.0
        right = left + (nx + px) * grid.transform.a
        bottom = top + (ny + py) * grid.transform.e
        self.extent = (left * scale, right * scale, bottom * scale, top * scale)
        unit = "km" if grid.metres else (grid.crs.axis_info[0].unit_name or "CRS units")
        self.xlabel = f"x ({unit})"
        self.ylabel = f"y ({unit})"


def _draw_base(ax, disp: Display) -> None:
    """Territory in light grey plus its outline."""
    land = np.ma.masked_array(np.ones_like(disp.density), mask=~disp.territory)
    ax.imshow(
        land,
        extent=disp.extent,
        cmap=ListedColormap([LAND]),
        norm=Normalize(0.0, 1.0),
        interpolation="nearest",
    )
    if disp.territory.any():
        # Pad with a ring of "outside" so that a territory touching the grid edge (or filling
        # it) is still outlined; contour levels then always exist.
        t = np.pad(disp.territory.astype(np.float64), 1)
        ny, nx = disp.territory.shape
        left, right, bottom, top = disp.extent
        dx = (right - left) / nx
        dy = (top - bottom) / ny
        xs = left + dx * (np.arange(nx + 2) - 0.5)
        ys = top - dy * (np.arange(ny + 2) - 0.5)
        ax.contour(xs, ys, t, levels=[0.5], colors=OUTLINE, linewidths=0.6)
    ax.set_xlim(disp.extent[0], disp.extent[1])
    ax.set_ylim(disp.extent[2], disp.extent[3])
    ax.set_aspect("equal")


def _log_norm(arrays: Sequence[np.ndarray]) -> LogNorm | None:
    """Shared log scale over the positive values; None when nothing is positive.

    The lower end is the smallest positive density but at most 6 decades below the maximum,
    so a few near-zero cells do not wash out the map (lower values take the lowest colour).
    """
    positives = [a[a > 0] for a in arrays]
    positives = [p for p in positives if p.size]
    if not positives:
        return None
    vmax = max(float(p.max()) for p in positives)
    vmin = max(min(float(p.min()) for p in positives), vmax * 1e-6)
    if vmin >= vmax:
        vmin = vmax / 10.0
    return LogNorm(vmin=vmin, vmax=vmax, clip=True)


def _draw_layer(ax, disp: Display, norm: LogNorm | None):
    _draw_base(ax, disp)
    if norm is None:
        ax.text(
            0.5,
            0.5,
            "no emissions in this layer",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=9,
        )
        return None
    data = np.ma.masked_less_equal(disp.density, 0.0)
    return ax.imshow(data, extent=disp.extent, cmap=CMAP, norm=norm, interpolation="nearest")


def _map_figure(extent, width: float = 8.0, *, title_in: float = 0.45):
    """A figure holding one map axis (equal aspect, no ticks) and a colour-bar axis at its
    right, placed by hand: constrained layout measured every tick label of every map and
    took most of the report's time."""
    left, right, bottom, top = extent
    aspect = (top - bottom) / (right - left) if right > left else 1.0
    map_w = width * 0.84
    map_h = map_w * aspect
    height = map_h + title_in + 0.15
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.01, 0.15 / height, 0.84, map_h / height))
    cax = fig.add_axes((0.88, (0.15 + 0.1 * map_h) / height, 0.022, 0.8 * map_h / height))
    _bare(ax)
    return fig, ax, cax


def _bare(ax) -> None:
    """No ticks, no tick labels: the graticule and scale bar say where and how far."""
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(NullLocator())
        axis.set_minor_locator(NullLocator())


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value: float, _pos=None) -> str:
    """``10³`` for 1000 (plain Unicode, no mathtext); other values as ``%g``."""
    if value <= 0:
        return ""
    e = math.log10(value)
    if abs(e - round(e)) < 1e-9:
        return "10" + str(round(e)).translate(_SUPERSCRIPT)
    return f"{value:g}"


def _colorbar(fig: Figure, image, cax, label: str) -> None:
    """A colour bar with decade ticks only (minor log ticks cost more than the map)."""
    bar = fig.colorbar(image, cax=cax, label=label)
    bar.minorticks_off()
    if isinstance(image.norm, LogNorm):  # 10³ in plain text: mathtext costs ~1 s to start
        bar.ax.yaxis.set_major_locator(LogLocator(base=10.0, numticks=12))
        bar.ax.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))


def _save(fig: Figure, path: str | os.PathLike) -> os.PathLike | str:
    # zlib level 1: a third of level 6's encoding time, files ~25 % larger.
    fig.savefig(path, dpi=DPI, metadata={"Software": None}, pil_kwargs={"compress_level": 1})
    return path


def plot_layer(
    values: ArrayLike,
    areas: ArrayLike,
    territory: ArrayLike,
    grid: GridInfo,
    path: str | os.PathLike,
    *,
    title: str,
    units: str = "t CO2 / yr",
    max_px: int = 1200,
    context: MapContext | None = None,
) -> str | os.PathLike:
    """One layer as a PNG map (log colour scale, territory outline, colour bar).

    Parameters
    ----------
    values, areas, territory
        (ny, nx) layer, cell areas (m²) and territory mask.
    grid
        The store's grid.
    path
        Output PNG.
    title
        Map title.
    units
        Units of ``values`` (the colour bar reads "<units> per km²").
    max_px
        Display resolution cap (cells per side).
    context
        Borders, graticule and place labels (:func:`footgrid.analysis.context.map_context`).

    Returns
    -------
    path
    """
    disp = Display(values, areas, territory, grid, max_px)
    fig, ax, cax = _map_figure(disp.extent)
    image = _draw_layer(ax, disp, _log_norm([disp.density]))
    if context is not None:
        draw_context(ax, context)
    if image is not None:
        _colorbar(fig, image, cax, f"{units} per km² (log scale)")
    else:
        cax.set_axis_off()
    ax.set_title(title)
    return _save(fig, path)


def plot_small_multiples(
    layers: Mapping[str, ArrayLike | Display],
    areas: ArrayLike,
    territory: ArrayLike,
    grid: GridInfo,
    path: str | os.PathLike,
    *,
    title: str,
    units: str = "t CO2 / yr",
    ncols: int = 3,
    max_px: int = 500,
    context: MapContext | None = None,
) -> str | os.PathLike:
    """Several layers (e.g. the top consumers) on one shared log colour scale.

    Parameters
    ----------
    layers
        Panel title -> (ny, nx) layer, or a ``Display`` already coarsened (so a caller need
        not hold several full-size layers at once).
    areas, territory, grid
        As for ``plot_layer``.
    path
        Output PNG.
    title
        Figure title.
    units
        Units of the layers.
    ncols
        Panels per row.
    max_px
        Display resolution cap per panel.
    context
        Borders and graticule drawn on every panel (place labels on none: panels are small).

    Returns
    -------
    path
    """
    disps = {
        k: v if isinstance(v, Display) else Display(v, areas, territory, grid, max_px)
        for k, v in layers.items()
    }
    n = max(1, len(disps))
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    first = next(iter(disps.values()), None)
    left, right, bottom, top = first.extent if first is not None else (0, 1, 0, 1)
    aspect = (top - bottom) / (right - left) if right > left else 1.0
    pw, gap, head = 3.4, 0.3, 0.6
    ph = pw * aspect
    width = 0.15 + ncols * pw + (ncols - 1) * 0.1 + 1.1
    height = head + nrows * (ph + gap)
    fig = Figure(figsize=(width, height))
    norm = _log_norm([d.density for d in disps.values()])
    image = None
    for i, (name, disp) in enumerate(disps.items()):
        r, c = divmod(i, ncols)
        ax = fig.add_axes(
            (
                (0.15 + c * (pw + 0.1)) / width,
                (height - head - (r + 1) * (ph + gap) + 0.05) / height,
                pw / width,
                ph / height,
            )
        )
        _bare(ax)
        drawn = _draw_layer(ax, disp, norm)
        if context is not None:
            draw_context(ax, context, label_places=False, furniture=i == 0)
        image = drawn if drawn is not None else image
        ax.set_title(name, fontsize=10)
    if image is not None:
        cax = fig.add_axes(((ncols * (pw + 0.1) + 0.15) / width, 0.2, 0.2 / width, 0.6))
        _colorbar(fig, image, cax, f"{units} per km² (log scale, shared)")
    fig.suptitle(title)
    return _save(fig, path)


def plot_lorenz(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: str | os.PathLike,
    *,
    title: str = "Lorenz curves over territory area",
) -> str | os.PathLike:
    """Lorenz curves (left, linear, with the diagonal) and the same curves densest-first on a
    log area axis (right) with "x % of land holds 75 %" marked per layer.

    Parameters
    ----------
    curves
        Layer name -> (x, y) from ``concentration.lorenz_curve``; all-NaN curves are skipped.
    path
        Output PNG.
    title
        Figure title.

    Returns
    -------
    path
    """
    fig = Figure(figsize=(11, 5.2), layout="constrained")
    ax, ax_log = fig.subplots(1, 2)
    ax.plot(
        [0, 1],
        [0, 1],
        color="0.6",
        linestyle="--",
        linewidth=1,
        label="uniform density",
    )
    for name, (x, y) in curves.items():
        if np.all(np.isfinite(x)):
            ax.plot(x, y, linewidth=1.6, label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("cumulative share of territory area (lowest density first)")
    ax.set_ylabel("cumulative share of the layer")
    ax.set_title("Lorenz curves", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, linewidth=0.3)
    # Densest first on a log area axis: where the curves actually bend.
    lo = 1.0
    for i, (name, (x, y)) in enumerate(curves.items()):
        if not np.all(np.isfinite(x)):
            continue
        area, held = 1.0 - x[::-1], 1.0 - y[::-1]  # ascending area share, densest first
        keep = area > 0
        colour = f"C{i}"
        ax_log.plot(area[keep], held[keep], linewidth=1.6, color=colour, label=name)
        if keep.any():
            lo = min(lo, float(area[keep].min()))
            a75 = float(np.interp(0.75, held, area))
            if a75 > 0:
                ax_log.plot([a75], [0.75], marker="o", color=colour, markersize=4)
                ax_log.annotate(f"{100 * a75:.2g} % of land holds 75 %", (a75, 0.75),
                                xytext=(6, -12 - 11 * i), textcoords="offset points",
                                fontsize=8, color=colour)  # fmt: skip
    ax_log.axhline(0.75, color="0.6", linewidth=0.6, linestyle=":")
    ax_log.set_xscale("log")
    ax_log.set_xlim(max(lo, 1e-6) if lo < 1.0 else 1e-3, 1.0)
    ax_log.set_ylim(0, 1)
    ax_log.set_xlabel("share of territory area, densest cells first (log)")
    ax_log.set_ylabel("share of the layer held")
    ax_log.set_title("Concentration: densest land first", fontsize=10)
    ax_log.grid(True, which="both", linewidth=0.3)
    fig.suptitle(title)
    return _save(fig, path)


def plot_difference(
    diff: ArrayLike,
    areas: ArrayLike,
    territory: ArrayLike,
    grid: GridInfo,
    path: str | os.PathLike,
    *,
    title: str,
    units: str = "t CO2 / yr",
    max_px: int = 1200,
    context: MapContext | None = None,
) -> str | os.PathLike:
    """A difference layer (B - A) on a symmetric log scale (blue = less, red = more).

    Parameters
    ----------
    diff
        (ny, nx) difference of two layers on the same grid.
    areas, territory, grid
        As for ``plot_layer``.
    path
        Output PNG.
    title
        Map title.
    units
        Units of the layers.
    max_px
        Display resolution cap.

    Returns
    -------
    path
    """
    disp = Display(diff, areas, territory, grid, max_px)
    fig = Figure(figsize=(8, 6.5), layout="constrained")
    ax = fig.add_subplot()
    _draw_base(ax, disp)
    magnitude = np.abs(disp.density)
    nonzero = magnitude[magnitude > 0]
    if nonzero.size == 0:
        ax.text(0.5, 0.5, "no difference", transform=ax.transAxes, ha="center", va="center")
    else:
        vmax = float(nonzero.max())
        linthresh = max(float(np.quantile(nonzero, 0.05)), vmax * 1e-6)
        if linthresh >= vmax:
            linthresh = vmax / 10.0
        norm = SymLogNorm(linthresh=linthresh, vmin=-vmax, vmax=vmax, base=10)
        data = np.ma.masked_equal(disp.density, 0.0)
        image = ax.imshow(
            data, extent=disp.extent, cmap=DIFF_CMAP, norm=norm, interpolation="nearest"
        )
        fig.colorbar(image, ax=ax, label=f"change, {units} per km²", shrink=0.85)
    ax.set_title(title)
    ax.set_xlabel(disp.xlabel)
    ax.set_ylabel(disp.ylabel)
    return _save(fig, path)

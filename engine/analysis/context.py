"""Map context: region borders, a lon/lat graticule and place labels, in a grid's coordinates.

:func:`map_context` builds it once per report (borders from the report's polygon layer, labels
from the hubs); :func:`draw_context` draws it on a map axis whose data coordinates are the grid's
CRS units (times ``scale``: kilometres for metre grids, as :class:`footgrid.analysis.maps.Display`
uses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyproj
import shapely
from matplotlib.collections import LineCollection, PolyCollection

from footgrid.analysis.layers import GridInfo

__all__ = ["MapContext", "draw_context", "map_context"]

BORDER = "#555555"
GRATICULE = "#9a9a9a"
NEIGHBOUR_FILL = "#f2efe6"
NEIGHBOUR_EDGE = "#8c8c8c"
SEA = "#eaf2f8"


@dataclass(frozen=True)
class MapContext:
    """Lines and labels in display coordinates (grid CRS units times the display scale)."""

    borders: list[np.ndarray] = field(default_factory=list)
    meridians: list[tuple[float, np.ndarray]] = field(default_factory=list)
    parallels: list[tuple[float, np.ndarray]] = field(default_factory=list)
    labels: list[tuple[str, float, float]] = field(default_factory=list)
    land: list[np.ndarray] = field(default_factory=list)
    coast: list[np.ndarray] = field(default_factory=list)
    north: tuple[float, float] | None = None
    metres: bool = True


def _lines(geoms) -> list[np.ndarray]:
    out = []
    for line in shapely.get_parts(shapely.boundary(np.asarray(geoms, dtype=object))):
        for part in shapely.get_parts(line):
            out.append(shapely.get_coordinates(part))
    return out


def _rings(geoms) -> list[np.ndarray]:
    """Exterior rings of polygons (holes left out: the fill is context only)."""
    polys = shapely.get_parts(np.asarray(geoms, dtype=object))
    polys = polys[shapely.get_type_id(polys) == 3]
    return [shapely.get_coordinates(shapely.get_exterior_ring(p)) for p in polys]


def map_context(
    grid: GridInfo,
    *,
    polygons=None,
    labels: list[tuple[str, float, float]] | None = None,
    step_deg: float = 10.0,
    neighbours=None,
) -> MapContext:
    """Borders, graticule, labels, neighbouring land and the north direction for one grid.

    Parameters
    ----------
    grid
        The store's grid.
    polygons
        GeoDataFrame of region polygons (any CRS) whose borders are drawn.
    labels
        (name, lon, lat) of places to label.
    step_deg
        Graticule spacing in degrees.
    neighbours
        GeoDataFrame (EPSG:4326) of the land around the territory (neighbouring countries,
        the country's own outline): filled light and outlined (the coastline), clipped to the
        grid's lon/lat box plus 5°.

    Returns
    -------
    MapContext
    """
    scale = 1e-3 if grid.metres else 1.0
    to_grid = pyproj.Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
    borders: list[np.ndarray] = []
    if polygons is not None and len(polygons):
        geoms = polygons.to_crs(grid.crs).geometry.values
        tol = (grid.extent[1] - grid.extent[0]) / 1500
        borders = [c * scale for c in _lines(shapely.simplify(geoms, tol, preserve_topology=True))]
    left, right, bottom, top = grid.extent
    corners = np.array([[left, bottom], [left, top], [right, bottom], [right, top]])
    to_ll = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    xs = np.linspace(left, right, 21)
    ys = np.linspace(bottom, top, 21)
    ex = np.concatenate([xs, xs, np.full(21, left), np.full(21, right), corners[:, 0]])
    ey = np.concatenate([np.full(21, bottom), np.full(21, top), ys, ys, corners[:, 1]])
    lon, lat = to_ll.transform(ex, ey)
    lon, lat = np.asarray(lon), np.asarray(lat)
    ok = np.isfinite(lon) & np.isfinite(lat)
    meridians, parallels = [], []
    if ok.any():
        lo0 = np.floor(lon[ok].min() / step_deg) * step_deg
        lo1 = np.ceil(lon[ok].max() / step_deg) * step_deg
        la0 = max(-80.0, np.floor(lat[ok].min() / step_deg) * step_deg)
        la1 = min(80.0, np.ceil(lat[ok].max() / step_deg) * step_deg)
        t = np.linspace(0.0, 1.0, 100)
        for m in np.arange(lo0, lo1 + step_deg / 2, step_deg):
            x, y = to_grid.transform(np.full(t.size, m), la0 + (la1 - la0) * t)
            meridians.append((float(m), np.column_stack([x, y]) * scale))
        for p in np.arange(la0, la1 + step_deg / 2, step_deg):
            x, y = to_grid.transform(lo0 + (lo1 - lo0) * t, np.full(t.size, p))
            parallels.append((float(p), np.column_stack([x, y]) * scale))
    land: list[np.ndarray] = []
    coast: list[np.ndarray] = []
    if neighbours is not None and len(neighbours) and ok.any():
        box = (lon[ok].min() - 5, max(-89.0, lat[ok].min() - 5), lon[ok].max() + 5,
               min(89.0, lat[ok].max() + 5))  # fmt: skip
        geoms = shapely.clip_by_rect(np.asarray(neighbours.geometry.values, dtype=object), *box)
        geoms = geoms[~shapely.is_empty(geoms)]
        geoms = shapely.transform(
            geoms, lambda c: np.column_stack(to_grid.transform(c[:, 0], c[:, 1])) * scale
        )
        # Display resolution: ~1/1500 of the map width; islands under ~5x5 of that go.
        tol = (right - left) * scale / 1500
        parts = shapely.get_parts(geoms)
        parts = shapely.simplify(parts[shapely.area(parts) >= 25 * tol**2], tol)
        parts = parts[~shapely.is_empty(parts) & (shapely.area(parts) >= 25 * tol**2)]
        land = [r for r in _rings(parts) if np.isfinite(r).all()]
        coast = [c for c in _lines(parts) if np.isfinite(c).all()]
    north = None
    cx, cy = (left + right) / 2, (bottom + top) / 2
    clon, clat = to_ll.transform(cx, cy)
    if np.isfinite(clon) and np.isfinite(clat) and clat < 89:
        nx_, ny_ = to_grid.transform(clon, clat + 0.5)
        d = np.array([nx_ - cx, ny_ - cy])
        if np.isfinite(d).all() and np.hypot(*d) > 0:
            north = (float(d[0] / np.hypot(*d)), float(d[1] / np.hypot(*d)))
    placed = []
    for name, lo, la in labels or []:
        x, y = to_grid.transform(lo, la)
        placed.append((str(name), float(x) * scale, float(y) * scale))
    return MapContext(borders, meridians, parallels, placed, land, coast, north, grid.metres)


def _deg(value: float, pos: str, neg: str) -> str:
    return f"{abs(value):.0f}°{pos if value >= 0 else neg}"


def _nice(length: float) -> float:
    """The largest 1, 2 or 5 times a power of ten not above ``length``."""
    if not length > 0:
        return 0.0
    p = 10 ** math.floor(math.log10(length))
    return max(m * p for m in (1, 2, 5) if m * p <= length)


def draw_scale_bar(ax, *, metres: bool = True) -> None:
    """A scale bar (lower left, about a fifth of the width) and a north arrow (upper right).

    The bar length is true at the map centre (equal-area projections distort distances away
    from it: the bar is a hint, as the graticule is).
    """
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    w, h = x1 - x0, y1 - y0
    length = _nice(w / 5)
    if length <= 0:
        return
    bx, by = x0 + 0.04 * w, y0 + 0.06 * h
    ax.plot([bx, bx + length], [by, by], color="black", linewidth=2.2, solid_capstyle="butt",
            zorder=6)  # fmt: skip
    for t in (bx, bx + length / 2, bx + length):
        ax.plot([t, t], [by, by + 0.012 * h], color="black", linewidth=0.8, zorder=6)
    unit = "km" if metres else ""
    ax.text(bx + length / 2, by + 0.018 * h, f"{length:,.0f} {unit}".strip(), ha="center",
            va="bottom", fontsize=7, zorder=6)  # fmt: skip


def draw_north(ax, north: tuple[float, float] | None) -> None:
    """A north arrow in the upper right corner, pointing to true north at the map centre."""
    if north is None:
        return
    ax.annotate("N", xy=(0.94 + 0.045 * north[0], 0.88 + 0.06 * north[1]), xytext=(0.94, 0.88),
                xycoords="axes fraction", textcoords="axes fraction", ha="center", va="center",
                fontsize=9, fontweight="bold", zorder=7,
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.2,
                            "shrinkA": 6, "shrinkB": 0})  # fmt: skip


def draw_land(ax, ctx: MapContext) -> None:
    """Sea background and the neighbouring land (fill and coastline), under the layer."""
    ax.set_facecolor(SEA if ctx.land else "white")
    if ctx.land:
        ax.add_collection(PolyCollection(ctx.land, facecolors=NEIGHBOUR_FILL, edgecolors="none",
                                         zorder=-1))  # fmt: skip
    if ctx.coast:
        ax.add_collection(LineCollection(ctx.coast, colors=NEIGHBOUR_EDGE, linewidths=0.4,
                                         zorder=2.5))  # fmt: skip


def draw_context(ax, ctx: MapContext, *, label_places: bool = True, furniture: bool = True) -> None:
    """Draw land, borders, graticule (labelled at the axis edges), place labels, and (with
    ``furniture``) a scale bar and north arrow on ``ax``.

    Call after the axis limits are set; the limits are kept.
    """
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    draw_land(ax, ctx)
    if ctx.borders:  # one collection: thousands of coastline parts, one artist
        ax.add_collection(LineCollection(ctx.borders, colors=BORDER, linewidths=0.35, zorder=3))
    lines = [line for _, line in ctx.meridians] + [line for _, line in ctx.parallels]
    if lines:  # one artist for the whole graticule
        ax.add_collection(LineCollection(lines, colors=GRATICULE, linewidths=0.3,
                                         linestyles=":", zorder=2))  # fmt: skip
    for value, line in ctx.meridians:
        inside = (line[:, 0] >= x0) & (line[:, 0] <= x1) & (line[:, 1] >= y0) & (line[:, 1] <= y1)
        if inside.any():
            k = np.flatnonzero(inside)[np.argmin(line[inside, 1])]
            if min(line[k, 0] - x0, x1 - line[k, 0]) < 0.05 * (x1 - x0):
                continue  # at a corner the label would run into its neighbour
            ax.text(line[k, 0], y0, _deg(value, "E", "W"), fontsize=6, color="#666666",
                    ha="center", va="bottom", zorder=4)  # fmt: skip
    for value, line in ctx.parallels:
        inside = (line[:, 0] >= x0) & (line[:, 0] <= x1) & (line[:, 1] >= y0) & (line[:, 1] <= y1)
        if inside.any():
            k = np.flatnonzero(inside)[np.argmin(line[inside, 0])]
            if min(line[k, 1] - y0, y1 - line[k, 1]) < 0.04 * (y1 - y0):
                continue
            ax.text(x0, line[k, 1], " " + _deg(value, "N", "S"), fontsize=6, color="#666666",
                    ha="left", va="center", zorder=4)  # fmt: skip
    if label_places:
        for name, x, y in ctx.labels:
            if x0 <= x <= x1 and y0 <= y <= y1:
                ax.plot([x], [y], marker="o", markersize=2.5, color="black", zorder=5)
                ax.annotate(name, (x, y), xytext=(3, 3), textcoords="offset points",
                            fontsize=7, zorder=5,
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                                  "alpha": 0.7})  # fmt: skip
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    if furniture:
        draw_scale_bar(ax, metres=ctx.metres)
        draw_north(ax, ctx.north)

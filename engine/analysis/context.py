"""Map context: region borders, a lon/lat graticule and place labels, in a grid's coordinates.

:func:`map_context` builds it once per report (borders from the report's polygon layer, labels
from the hubs); :func:`draw_context` draws it on a map axis whose data coordinates are the grid's
CRS units (times ``scale``: kilometres for metre grids, as :class:`footgrid.analysis.maps.Display`
uses).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyproj
import shapely
from matplotlib.collections import LineCollection

from footgrid.analysis.layers import GridInfo

__all__ = ["MapContext", "draw_context", "map_context"]

BORDER = "#555555"
GRATICULE = "#9a9a9a"


@dataclass(frozen=True)
class MapContext:
    """Lines and labels in display coordinates (grid CRS units times the display scale)."""

    borders: list[np.ndarray] = field(default_factory=list)
    meridians: list[tuple[float, np.ndarray]] = field(default_factory=list)
    parallels: list[tuple[float, np.ndarray]] = field(default_factory=list)
    labels: list[tuple[str, float, float]] = field(default_factory=list)


def _lines(geoms) -> list[np.ndarray]:
    out = []
    for line in shapely.get_parts(shapely.boundary(np.asarray(geoms, dtype=object))):
        for part in shapely.get_parts(line):
            out.append(shapely.get_coordinates(part))
    return out


def map_context(
    grid: GridInfo,
    *,
    polygons=None,
    labels: list[tuple[str, float, float]] | None = None,
    step_deg: float = 10.0,
) -> MapContext:
    """Borders, graticule and labels for maps of one grid.

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

    Returns
    -------
    MapContext
    """
    scale = 1e-3 if grid.metres else 1.0
    to_grid = pyproj.Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True)
    borders: list[np.ndarray] = []
    if polygons is not None and len(polygons):
        geoms = polygons.to_crs(grid.crs).geometry.values
        borders = [c * scale for c in _lines(geoms)]
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
    placed = []
    for name, lo, la in labels or []:
        x, y = to_grid.transform(lo, la)
        placed.append((str(name), float(x) * scale, float(y) * scale))
    return MapContext(borders, meridians, parallels, placed)


def _deg(value: float, pos: str, neg: str) -> str:
    return f"{abs(value):.0f}°{pos if value >= 0 else neg}"


def draw_context(ax, ctx: MapContext, *, label_places: bool = True) -> None:
    """Draw borders, graticule (labelled at the axis edges) and place labels on ``ax``.

    Call after the axis limits are set; the limits are kept.
    """
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    if ctx.borders:  # one collection: thousands of coastline parts, one artist
        ax.add_collection(LineCollection(ctx.borders, colors=BORDER, linewidths=0.35, zorder=3))
    for value, line in ctx.meridians:
        ax.plot(line[:, 0], line[:, 1], color=GRATICULE, linewidth=0.3, linestyle=":", zorder=2)
        inside = (line[:, 0] >= x0) & (line[:, 0] <= x1) & (line[:, 1] >= y0) & (line[:, 1] <= y1)
        if inside.any():
            k = np.flatnonzero(inside)[np.argmin(line[inside, 1])]
            ax.text(line[k, 0], y0, _deg(value, "E", "W"), fontsize=6, color="#666666",
                    ha="center", va="bottom", zorder=4)  # fmt: skip
    for value, line in ctx.parallels:
        ax.plot(line[:, 0], line[:, 1], color=GRATICULE, linewidth=0.3, linestyle=":", zorder=2)
        inside = (line[:, 0] >= x0) & (line[:, 0] <= x1) & (line[:, 1] >= y0) & (line[:, 1] <= y1)
        if inside.any():
            k = np.flatnonzero(inside)[np.argmin(line[inside, 0])]
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

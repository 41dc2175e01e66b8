"""Exact polygon-overlay reference for remapping masses (shapely), independent of footgrid's
clipping kernel: source cells as densified polygons, true areas in an equal-area CRS."""

from __future__ import annotations

import numpy as np
import pyproj
import shapely

#: Points per source-cell edge when the cell is turned into a polygon.
DENSIFY = 16


def cell_polygons(crs, xmin, ymax, rx, ry, nx, ny, cut_lon=None):
    """Densified polygons of every source cell (row-major from the top), in the source CRS.

    With ``cut_lon`` (lon/lat sources), each cell is split at that meridian into a
    MultiPolygon, so that projecting it never joins the two sides of a CRS's cut.
    """
    t = np.linspace(0, 1, DENSIFY + 1)[:-1]
    out = []
    for r in range(ny):
        for c in range(nx):
            x0, x1 = xmin + rx * c, xmin + rx * (c + 1)
            y1, y0 = ymax - ry * r, ymax - ry * (r + 1)
            parts = [(x0, x1)]
            if cut_lon is not None and x0 < cut_lon < x1:
                parts = [(x0, cut_lon - 1e-9), (cut_lon + 1e-9, x1)]
            polys = []
            for a, b in parts:
                xs = np.concatenate([a + (b - a) * t, np.full(DENSIFY, b), b - (b - a) * t,
                                     np.full(DENSIFY, a)])  # fmt: skip
                ys = np.concatenate([np.full(DENSIFY, y0), y0 + (y1 - y0) * t,
                                     np.full(DENSIFY, y1), y1 - (y1 - y0) * t])  # fmt: skip
                polys.append((xs, ys))
            out.append(polys)
    return out


def project_polys(polys, src, dst):
    """Project the (xs, ys) rings of :func:`cell_polygons` to ``dst`` as shapely geometries."""
    tr = pyproj.Transformer.from_crs(src, dst, always_xy=True)
    geoms = []
    for parts in polys:
        rings = []
        for xs, ys in parts:
            px, py = tr.transform(xs, ys)
            if np.all(np.isfinite(px)) and np.all(np.isfinite(py)):
                rings.append(shapely.make_valid(shapely.Polygon(np.c_[px, py])))
        geoms.append(shapely.union_all(rings) if rings else shapely.Polygon())
    return np.array(geoms, dtype=object)


def overlay(source_polys, target, values, area_crs=None) -> tuple[np.ndarray, float]:
    """Masses per target cell by exact intersection areas.

    ``source_polys`` are the source cells already in the target CRS. Areas are measured in the
    target CRS when it is equal-area (``area_crs`` None), else each piece is projected to
    ``area_crs`` (segmentized first) and measured there.

    Returns the (n_target,) masses and the total that lands in the grid.
    """
    rows, cols = np.divmod(np.arange(target.nx * target.ny), target.nx)
    x0 = target.xmin + target.res_x * cols
    y1 = target.ymax - target.res_y * rows
    boxes = shapely.box(x0, y1 - target.res_y, x0 + target.res_x, y1)
    tree = shapely.STRtree(boxes)

    def area(g):
        if area_crs is None:
            return shapely.area(g)
        seg = shapely.segmentize(g, max(target.res_x, target.res_y) / 32)
        tr = pyproj.Transformer.from_crs(target.crs, area_crs, always_xy=True)
        return shapely.area(shapely.transform(seg, lambda xy: np.c_[tr.transform(*xy.T)]))

    out = np.zeros(target.nx * target.ny)
    v = np.asarray(values, dtype=np.float64).ravel()
    for s, g in enumerate(source_polys):
        if v[s] == 0 or g.is_empty:
            continue
        whole = area(g)
        if whole <= 0:
            continue
        hit = tree.query(g, predicate="intersects")
        if hit.size == 0:
            continue
        pieces = shapely.intersection(boxes[hit], g)
        a = np.array([area(p) for p in pieces])
        out[hit] += v[s] * a / whole
    return out, float(out.sum())


def tv_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Total-variation distance Σ|a − b| / (2 Σa)."""
    return float(np.abs(a - b).sum() / (2 * np.abs(a).sum()))

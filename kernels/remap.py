"""Overlap weights between source-cell quadrilaterals and the cells of a north-up target grid.

Each source cell is the quadrilateral of its four corner nodes, already projected to the target
CRS. It is clipped exactly against every target cell its bounding box touches (Sutherland-Hodgman
against the four sides of the cell; the cell is convex, so the clipped area is exact for any
simple quadrilateral, convex or not). The fraction of the source cell in a target cell is the
clipped area over the quadrilateral's area, both measured in the target grid's index space
(columns right, rows down: one target cell has area 1, so aligned grids clip on integers).

Corners within ``SNAP`` cells of a target edge are moved onto it, so that aligned grids (same
CRS, one resolution a whole multiple of the other) give fractions of exactly 1 and no slivers.
A quadrilateral inside the grid's box has its fractions normalised by the sum of its clipped
areas (they add to 1 up to rounding); one that crosses the grid's edge keeps area fractions
and the rest (1 - their sum) is outside the grid.
"""

from __future__ import annotations

import numpy as np

from footgrid.kernels.jit import ngjit

#: Corner coordinates this close to a whole number of target cells are snapped onto the edge.
SNAP = 1e-9

#: The clipped polygon of a quadrilateral against four half-planes has at most 8 vertices.
_MAXV = 16


@ngjit
def _snap(u: float) -> float:
    r = np.floor(u + 0.5)
    return r if abs(u - r) < SNAP else u


@ngjit
def _clip_half(
    px: np.ndarray, py: np.ndarray, n: int, qx: np.ndarray, qy: np.ndarray, axis: int,
    bound: float, keep_above: bool,
) -> int:  # fmt: skip
    """Clip polygon (px, py)[:n] to the half-plane ``coord >= bound`` (or ``<=``) into (qx, qy)."""
    m = 0
    if n == 0:
        return 0
    sx, sy = px[n - 1], py[n - 1]
    s_val = sx if axis == 0 else sy
    s_in = s_val >= bound if keep_above else s_val <= bound
    for i in range(n):
        ex, ey = px[i], py[i]
        e_val = ex if axis == 0 else ey
        e_in = e_val >= bound if keep_above else e_val <= bound
        if e_in != s_in:
            t = (bound - s_val) / (e_val - s_val)
            if axis == 0:
                qx[m] = bound
                qy[m] = sy + t * (ey - sy)
            else:
                qx[m] = sx + t * (ex - sx)
                qy[m] = bound
            m += 1
        if e_in:
            qx[m] = ex
            qy[m] = ey
            m += 1
        sx, sy, s_val, s_in = ex, ey, e_val, e_in
    return m


@ngjit
def _area(px: np.ndarray, py: np.ndarray, n: int) -> float:
    """Signed shoelace area of polygon (px, py)[:n]."""
    a = 0.0
    for i in range(n):
        j = i + 1 if i + 1 < n else 0
        a += px[i] * py[j] - px[j] * py[i]
    return 0.5 * a


@ngjit
def _cell_box(
    X: np.ndarray, Y: np.ndarray, r: int, c: int, axes: tuple, ux: np.ndarray, vy: np.ndarray
) -> None:
    """The corners of source cell (r, c) in target index space (u right, v down), snapped."""
    xmin, rx, _, ymin, ry, ny = axes
    ymax = ymin + ry * ny
    for k in range(4):
        rr = r + (1 if k >= 2 else 0)
        cc = c + (1 if k == 1 or k == 2 else 0)
        ux[k] = _snap((X[rr, cc] - xmin) / rx)
        vy[k] = _snap((ymax - Y[rr, cc]) / ry)


@ngjit
def _bbox_cells(ux: np.ndarray, vy: np.ndarray, nx: int, ny: int) -> tuple[int, int, int, int]:
    """Target columns [c0, c1) and rows [r0, r1) under a quad's bounding box (clamped)."""
    u0 = min(min(ux[0], ux[1]), min(ux[2], ux[3]))
    u1 = max(max(ux[0], ux[1]), max(ux[2], ux[3]))
    v0 = min(min(vy[0], vy[1]), min(vy[2], vy[3]))
    v1 = max(max(vy[0], vy[1]), max(vy[2], vy[3]))
    c0 = max(int(np.floor(u0)), 0)
    c1 = min(int(np.ceil(u1)), nx)
    r0 = max(int(np.floor(v0)), 0)
    r1 = min(int(np.ceil(v1)), ny)
    if c1 <= c0 or r1 <= r0:
        return 0, 0, 0, 0
    return c0, c1, r0, r1


@ngjit
def quad_overlaps(
    X: np.ndarray, Y: np.ndarray, row0: int, row1: int, skip: np.ndarray, axes: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overlap fractions of the source cells in rows ``[row0, row1)`` with the target cells.

    Parameters
    ----------
    X, Y
        (ny_src + 1, nx_src + 1) float64 corner nodes of the source grid in the target CRS.
    row0, row1
        The source rows to do (threads take disjoint row ranges).
    skip
        (ny_src, nx_src) bool: cells left out (handled by the caller, e.g. by sampling).
    axes
        The target grid's ``(xmin, res_x, nx, ymin, res_y, ny)``.

    Returns
    -------
    src, dst, frac
        Flat source cell, flat target cell (``row * nx + col``, rows from the top) and the
        fraction of the source cell's area in that target cell (> 0), in source-cell order.
    """
    nxs = X.shape[1] - 1
    nxt, nyt = axes[2], axes[5]
    ux = np.empty(4)
    vy = np.empty(4)
    # Pass 1: an upper bound of the pieces (the cells under each bounding box).
    total = 0
    for r in range(row0, row1):
        for c in range(nxs):
            if skip[r, c]:
                continue
            _cell_box(X, Y, r, c, axes, ux, vy)
            c0, c1, r0, r1 = _bbox_cells(ux, vy, nxt, nyt)
            total += (c1 - c0) * (r1 - r0)
    src = np.empty(total, dtype=np.int64)
    dst = np.empty(total, dtype=np.int64)
    frac = np.empty(total, dtype=np.float64)
    ax = np.empty(_MAXV)
    ay = np.empty(_MAXV)
    bx = np.empty(_MAXV)
    by = np.empty(_MAXV)
    m = 0
    for r in range(row0, row1):
        for c in range(nxs):
            if skip[r, c]:
                continue
            _cell_box(X, Y, r, c, axes, ux, vy)
            c0, c1, r0, r1 = _bbox_cells(ux, vy, nxt, nyt)
            if c1 == c0:
                continue
            quad = _area(ux, vy, 4)
            if quad == 0.0:
                continue
            inside = (
                min(min(ux[0], ux[1]), min(ux[2], ux[3])) >= 0.0
                and max(max(ux[0], ux[1]), max(ux[2], ux[3])) <= nxt
                and min(min(vy[0], vy[1]), min(vy[2], vy[3])) >= 0.0
                and max(max(vy[0], vy[1]), max(vy[2], vy[3])) <= nyt
            )
            start = m
            s = r * nxs + c
            whole = 0.0
            for tr in range(r0, r1):
                for tc in range(c0, c1):
                    for k in range(4):
                        ax[k] = ux[k]
                        ay[k] = vy[k]
                    n = _clip_half(ax, ay, 4, bx, by, 0, float(tc), True)
                    n = _clip_half(bx, by, n, ax, ay, 0, float(tc + 1), False)
                    n = _clip_half(ax, ay, n, bx, by, 1, float(tr), True)
                    n = _clip_half(bx, by, n, ax, ay, 1, float(tr + 1), False)
                    if n < 3:
                        continue
                    a = _area(ax, ay, n) / quad
                    if a <= 0.0:
                        continue
                    src[m] = s
                    dst[m] = tr * nxt + tc
                    frac[m] = a
                    whole += a
                    m += 1
            if inside and whole > 0.0:
                for i in range(start, m):
                    frac[i] /= whole
    return src[:m].copy(), dst[:m].copy(), frac[:m].copy()


@ngjit
def quad_shapes(X: np.ndarray, Y: np.ndarray, bounds: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Per source cell: a code and the diagonal of its quad's bounding box.

    Codes: 0 usable, 1 all four corners beyond one edge of ``bounds`` (xmin, ymin, xmax,
    ymax) (outside the grid), 2 a non-finite corner, 3 positive and 4 negative orientation.
    """
    ny, nx = X.shape[0] - 1, X.shape[1] - 1
    x0, y0, x1, y1 = bounds
    code = np.zeros((ny, nx), dtype=np.uint8)
    diag = np.full((ny, nx), np.nan)
    for r in range(ny):
        for c in range(nx):
            ax, ay = X[r, c], Y[r, c]
            bx, by = X[r, c + 1], Y[r, c + 1]
            cx, cy = X[r + 1, c + 1], Y[r + 1, c + 1]
            dx, dy = X[r + 1, c], Y[r + 1, c]
            s = ax + ay + bx + by + cx + cy + dx + dy
            if not np.isfinite(s):  # inf - inf and NaN both give NaN; inf stays inf
                code[r, c] = 2
                continue
            lo_x, hi_x = min(min(ax, bx), min(cx, dx)), max(max(ax, bx), max(cx, dx))
            lo_y, hi_y = min(min(ay, by), min(cy, dy)), max(max(ay, by), max(cy, dy))
            if hi_x < x0 or lo_x > x1 or hi_y < y0 or lo_y > y1:
                code[r, c] = 1
                continue
            a = (
                (ax * by - bx * ay)
                + (bx * cy - cx * by)
                + (cx * dy - dx * cy)
                + (dx * ay - ax * dy)
            )
            code[r, c] = 3 if a >= 0 else 4
            w, h = hi_x - lo_x, hi_y - lo_y
            diag[r, c] = np.sqrt(w * w + h * h)
    return code, diag


@ngjit
def by_source(
    src: np.ndarray, dst: np.ndarray, frac: np.ndarray, n_source: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights grouped by source cell (a stable counting sort): CSR ``offsets``, ``dst``, ``frac``.

    The pieces of source cell ``s`` are ``offsets[s]:offsets[s + 1]``.
    """
    offsets = np.zeros(n_source + 1, dtype=np.int64)
    ordered = True
    for i in range(src.shape[0]):
        offsets[src[i] + 1] += 1
        if i > 0 and src[i] < src[i - 1]:
            ordered = False
    for s in range(n_source):
        offsets[s + 1] += offsets[s]
    if ordered:  # already grouped (the clipping kernel's output): no copy
        return offsets, dst, frac
    fill = offsets[:-1].copy()
    out_d = np.empty_like(dst)
    out_f = np.empty_like(frac)
    for i in range(src.shape[0]):
        j = fill[src[i]]
        out_d[j] = dst[i]
        out_f[j] = frac[i]
        fill[src[i]] = j + 1
    return offsets, out_d, out_f


@ngjit
def spread(
    offsets: np.ndarray, dst: np.ndarray, frac: np.ndarray, values: np.ndarray, n_target: int
) -> np.ndarray:
    """Target sums ``out[dst] += frac * values[s]`` over the pieces of every non-zero cell ``s``.

    ``offsets``, ``dst``, ``frac`` as from :func:`by_source`; float64 accumulation.
    """
    out = np.zeros(n_target, dtype=np.float64)
    for s in range(values.shape[0]):
        v = np.float64(values[s])
        if v == 0.0:
            continue
        for i in range(offsets[s], offsets[s + 1]):
            out[dst[i]] += frac[i] * v
    return out


@ngjit
def coverage(offsets: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Sum of the fractions of each source cell (1 inside the grid, less across its edge)."""
    n = offsets.shape[0] - 1
    out = np.zeros(n, dtype=np.float64)
    for s in range(n):
        a = 0.0
        for i in range(offsets[s], offsets[s + 1]):
            a += frac[i]
        out[s] = a
    return out

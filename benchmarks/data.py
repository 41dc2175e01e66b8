"""Deterministic synthetic inputs shaped like China's firm inventory.

Points cluster around a few thousand centres (cities and industrial parks: Pareto-distributed
sizes, Gaussian spread of 5–50 km) with a uniform background, on an Albers equal-area grid of
China's extent fitted the way ``Grid.auto_crs`` fits it (about 5 200 × 4 000 km).
"""

from __future__ import annotations

import numpy as np
import pyproj

from footgrid.grid import Grid

#: China's longitude/latitude box (mainland and Hainan).
CHINA_LONLAT = (73.0, 135.0, 18.0, 54.0)
#: The extent gridded by the benchmarks, in :func:`china_crs` metres (5 200 × 4 000 km).
CHINA_BOUNDS = (-2_600_000.0, -2_000_000.0, 2_600_000.0, 2_000_000.0)


def china_crs() -> pyproj.CRS:
    """Albers equal-area conic fitted to China's extent by :meth:`Grid.auto_crs`."""
    lon0, lon1, lat0, lat1 = CHINA_LONLAT
    return Grid.auto_crs(np.array([lon0, lon1]), np.array([lat0, lat1]))


def china_grid(resolution: float, tile: int = 512) -> Grid:
    """The benchmark grid of China's extent at ``resolution`` metres."""
    return Grid.from_bounds(CHINA_BOUNDS, resolution, china_crs(), tile)


def clustered_xy(
    n: int, seed: int = 0, *, centres: int = 3000, uniform: float = 0.1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` points (x, y in :func:`china_crs` metres) and lognormal emissions (t/yr).

    A fraction ``uniform`` is spread uniformly over the extent grown by 2 % (so a few points
    fall outside the grid); the rest cluster around ``centres`` centres. Points come in random
    order, as an inventory sorted by firm id would.
    """
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = CHINA_BOUNDS
    cx = rng.uniform(xmin, xmax, centres)
    cy = rng.uniform(ymin, ymax, centres)
    sigma = np.clip(rng.lognormal(np.log(15_000.0), 0.6, centres), 5_000.0, 50_000.0)
    size = rng.pareto(1.2, centres) + 1.0
    n_uni = round(n * uniform)
    n_clu = n - n_uni
    which = rng.choice(centres, n_clu, p=size / size.sum())
    gx, gy = 0.02 * (xmax - xmin), 0.02 * (ymax - ymin)
    x = np.concatenate(
        [cx[which] + rng.standard_normal(n_clu) * sigma[which],
         rng.uniform(xmin - gx, xmax + gx, n_uni)]
    )  # fmt: skip
    y = np.concatenate(
        [cy[which] + rng.standard_normal(n_clu) * sigma[which],
         rng.uniform(ymin - gy, ymax + gy, n_uni)]
    )  # fmt: skip
    perm = rng.permutation(n)
    w = rng.lognormal(5.0, 1.5, n)
    return x[perm], y[perm], w

"""The plan type both execution plans share, and the steps they share to make one.

A plan knows what a run writes before any block is computed: the grid, the territory, the
ledger of dropped tonnes, the store layout, the national ledger ``totals`` and the
coefficients. :meth:`Plan.compute_blocks` then computes and writes the blocks. The in-memory
plan (:mod:`footgrid.execution.in_memory`) and the larger-than-memory plan
(:mod:`footgrid.execution.partitioned`) differ only in how they get there.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyproj

from footgrid import store
from footgrid.config import Config
from footgrid.errors import ConfigError, InputError
from footgrid.execution.blocks import BlockId, BlockSpec, align_up
from footgrid.grid import Grid
from footgrid.io.points import Points
from footgrid.kernels.binning import finite_extent
from footgrid.ledger import Ledger
from footgrid.mrio.attribution import Attribution
from footgrid.store.layout import footprint_chunk_consumers

Bounds = tuple[float, float, float, float]


class Plan(abc.ABC):
    """What a run writes, before its blocks are computed.

    Attributes
    ----------
    grid, territory, ledger, layout
        The grid, the territory mask, the ledger of input and dropped tonnes, the store layout.
    totals
        The national ledger (region, sector, consumer, category), None without an MRIO.
    coef
        Coefficients per key (keys × consumers·categories), None without an MRIO.
    """

    def __init__(
        self,
        cfg: Config,
        grid: Grid,
        territory: np.ndarray,
        ledger: Ledger,
        layout: store.Layout,
        totals: np.ndarray | None = None,
        coef: np.ndarray | None = None,
    ) -> None:
        self.cfg = cfg
        self.grid = grid
        self.territory = territory
        self.ledger = ledger
        self.layout = layout
        self.totals = totals
        self.coef = coef
        #: The run's :class:`footgrid.execution.ensemble.Ensemble` under ``[uncertainty]``.
        self.ensemble: Any = None

    def spec(self, path: str) -> BlockSpec:
        """What every block of this plan needs, writing into the store at ``path``."""
        n_cons, n_cat = len(self.layout.consumers), len(self.layout.categories)
        k = footprint_chunk_consumers(n_cons, n_cat, self.cfg.output["zarr_format"])
        spec = BlockSpec(
            path,
            self.grid,
            self.coef,
            n_cons,
            n_cat,
            align_up(self.cfg.compute["consumer_chunk"], k),
            self.layout.dtype,
            k,
        )
        return spec if self.ensemble is None else self.ensemble.spec(spec)

    @abc.abstractmethod
    def compute_blocks(
        self, path: str, skip: frozenset[BlockId], progress: bool
    ) -> dict[BlockId, np.ndarray]:
        """Compute and write every block not in ``skip``; returns each block's sums."""

    def finish(self, final: Path) -> None:  # noqa: B027  (optional hook)
        """Write what follows a complete store (e.g. the per-firm table); nothing by default."""


# ----------------------------------------------------------------------------- shared steps
def read_regions(cfg: Config) -> Any:
    """The ``[regions]`` polygons (a GeoDataFrame), or None."""
    if cfg.regions is None:
        return None
    from footgrid.io.polygons import read_polygons  # lazy: geopandas and shapely cost ~0.5 s

    return read_polygons(cfg.regions["path"], cfg.regions["field"])


def territory_for(grid: Grid, polygons: Any) -> np.ndarray:
    """Cells inside the regions' polygons; every cell without polygons."""
    if polygons is None:
        return np.ones(grid.shape, dtype=bool)
    from footgrid.io.polygons import territory_mask  # lazy: geopandas and shapely cost ~0.5 s

    return territory_mask(grid, polygons)


def regions_from_polygons(pts: Points, polygons: Any, field: str, ledger: Ledger) -> Points:
    """Give points without a region column the region of the polygon they fall in.

    Points in no polygon are dropped under ``outside_regions``. Points that already carry a
    region (``[points] region``) are returned unchanged.
    """
    if pts.region is not None:
        return pts
    from footgrid.io.polygons import assign_regions  # lazy: geopandas and shapely cost ~0.5 s

    labels = assign_regions(pts.cx, pts.cy, pts.crs, polygons, field)
    inside = pd.notna(labels)
    ledger.drop("outside_regions", pts.emission[~inside])
    pts = pts.subset(inside)
    pts.region = pd.Categorical(labels[inside])
    return pts


def finite_bounds(x: np.ndarray, y: np.ndarray) -> Bounds | None:
    """(xmin, ymin, xmax, ymax) of the finite points, or None when there is none."""
    n_ok, x0, y0, x1, y1 = finite_extent(
        np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    )
    return (x0, y0, x1, y1) if n_ok else None


def merge_bounds(boxes: list[Bounds | None]) -> Bounds | None:
    """The union of bounding boxes (None entries skipped)."""
    kept = [b for b in boxes if b is not None]
    if not kept:
        return None
    b = np.array(kept, dtype=np.float64)
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


def input_name(cfg: Config) -> str | None:
    """The inventory path errors name: ``[points] path``, else the first ``[[rasters]]``."""
    if cfg.points is not None:
        return cfg.points["path"]
    return cfg.rasters[0]["path"] if cfg.rasters else None


def grid_crs(cfg: Config, lonlat_bounds: Callable[[], Bounds | None], polygons: Any) -> pyproj.CRS:
    """The grid CRS: ``[grid] crs``, or an Albers equal-area fitted to the data (``auto``).

    ``lonlat_bounds`` is called (only for ``auto``) to get the points' lon/lat extent.
    """
    g = cfg.grid
    if g["crs"] == "auto":
        box = lonlat_bounds()
        if box is None and polygons is not None:
            box = tuple(polygons.to_crs(4326).total_bounds)
        if box is None:
            raise InputError(
                "no valid point to fit the automatic grid CRS to",
                file=input_name(cfg),
                key="grid.crs",
                fix="check the coordinates, or set [grid] crs",
            )
        return Grid.auto_crs(np.array([box[0], box[2]]), np.array([box[1], box[3]]))
    try:
        return pyproj.CRS.from_user_input(g["crs"])
    except pyproj.exceptions.CRSError as exc:
        raise ConfigError(
            f"unknown CRS {g['crs']!r}: {exc}",
            file=cfg.source,
            key="grid.crs",
            fix='use "auto", "EPSG:xxxx" or a PROJ string',
        ) from None


def grid_from(
    cfg: Config, crs: pyproj.CRS, xy_bounds: Callable[[], Bounds | None], polygons: Any
) -> Grid:
    """The grid of ``[grid]`` in ``crs``; ``xy_bounds`` gives the data extent for ``auto``."""
    g = cfg.grid
    res = g["resolution"]
    if isinstance(res, list):
        res = res[0] if len(res) == 1 else tuple(res)
    if g["bounds"] == "auto":
        boxes = [xy_bounds()]
        if polygons is not None:
            boxes.append(tuple(polygons.to_crs(crs).total_bounds))
        bounds = merge_bounds(boxes)
        if bounds is None:
            raise InputError(
                "no valid point to fit the grid bounds to",
                file=input_name(cfg),
                key="grid.bounds",
                fix="check the coordinates, or give [grid] bounds",
            )
    else:
        bounds = tuple(g["bounds"])
    return Grid.from_bounds(bounds, res, crs, g["tile"])


def layout_for(grid: Grid, att: Attribution | None, dtype: str) -> store.Layout:
    """The store layout of a run with attribution ``att`` (None: production only)."""
    if att is None:
        return store.Layout(grid, dtype=dtype)
    return store.Layout(
        grid,
        consumers=tuple(att.consumers),
        categories=tuple(att.categories),
        domestic=tuple(bool(d) for d in att.domestic),
        regions=tuple(att.mrio_rows.unique(level=0)),
        sectors=tuple(att.mrio_rows.unique(level=1)),
        dtype=dtype,
    )


def totals_cube(att: Attribution, layout: store.Layout, e_by_key: np.ndarray) -> np.ndarray:
    """The national ledger (region, sector, consumer, category) of ``e_by_key`` tonnes per key,
    with zeros for (region, sector) pairs the MRIO does not have."""
    totals = att.totals(e_by_key)
    rows = att.mrio_rows
    r_index = {r: i for i, r in enumerate(layout.regions)}
    s_index = {s: i for i, s in enumerate(layout.sectors)}
    cube = np.zeros((len(layout.regions), len(layout.sectors), *totals.shape[1:]))
    ri = np.array([r_index[r] for r in rows.get_level_values(0)])
    si = np.array([s_index[s] for s in rows.get_level_values(1)])
    cube[ri, si] = totals
    return cube

"""The in-memory plan: all points read at once, partitioned by tile, one dask task per block.

The tile's points are grouped by cell once (a task of its own) and shared by all its blocks;
graph names derive from ``dask.base.tokenize``, so the same inputs give the same graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from dask.base import tokenize

from footgrid.config import Config
from footgrid.execution.blocks import BlockId, BlockSpec, TiledPoints, compute_block, partition
from footgrid.execution.ensemble import Ensemble, member_coef, tile_draws
from footgrid.execution.plan import (
    Plan,
    finite_bounds,
    grid_crs,
    grid_from,
    layout_for,
    read_regions,
    regions_from_polygons,
    territory_for,
    totals_cube,
)
from footgrid.execution.scheduler import Scheduler
from footgrid.grid import Grid
from footgrid.io.points import Points, read_points
from footgrid.kernels import group_by_cell
from footgrid.ledger import Ledger
from footgrid.mrio.attribution import Attribution
from footgrid.mrio.link import link_rows
from footgrid.store.firm_table import write_firm_table


class InMemoryPlan(Plan):
    """Points in memory, partitioned by tile (see the module docstring)."""

    def __init__(self, cfg: Config, with_mrio: bool, scheduler: Scheduler) -> None:
        ledger = Ledger()
        pts = read_points(cfg.points, ledger)
        polygons = read_regions(cfg)
        if polygons is not None:
            pts = regions_from_polygons(pts, polygons, cfg.regions["field"], ledger)
        grid, (x, y) = _make_grid(cfg, pts, polygons)
        cell = grid.cell_index(x, y)
        del x, y
        pts.release_coordinates()
        outside = cell < 0
        if outside.any():
            ledger.drop("outside_grid", pts.emission[outside])
            pts = pts.subset(~outside)
            cell = cell[~outside]
        key = np.full(len(pts), -1, dtype=np.int64)
        att = totals = None
        layout = layout_for(grid, None, cfg.output["dtype"])
        if with_mrio:
            att, key, keep = link_rows(cfg, pts.region, pts.sector, pts.emission, pts.where)
            if not keep.all():
                ledger.drop("zero_output", pts.emission[~keep])
                key = np.where(keep, key, -1)
            layout = layout_for(grid, att, cfg.output["dtype"])
            kept = key >= 0
            totals = totals_cube(att, layout, att.emission_by_key(key[kept], pts.emission[kept]))
            if not kept.all():  # points without a coefficient row leave the grid too
                cell = np.where(kept, cell, -1)
        super().__init__(
            cfg,
            grid,
            territory_for(grid, polygons),
            ledger,
            layout,
            totals,
            None if att is None else att.coef,
        )
        self.scheduler = scheduler
        self.points: Points = pts
        self.key = key
        self.attribution: Attribution | None = att
        self.tiled: TiledPoints = partition(grid, cell, pts.emission, key, scheduler.threads)
        if cfg.uncertainty is not None:
            draws = tile_draws(cfg, pts, grid, cell, scheduler.threads)
            self.ensemble = Ensemble(cfg, draws, member_coef(cfg, att))

    def compute_blocks(
        self, path: str, skip: frozenset[BlockId], progress: bool
    ) -> dict[BlockId, np.ndarray]:
        """One task per block, on the run's scheduler."""
        dsk, keys, blocks = block_graph(self.spec(path), self.tiled, skip)
        results = self.scheduler.get(dsk, keys, progress=progress)
        return {b: np.atleast_1d(r) for b, r in zip(blocks, results, strict=True)}

    def finish(self, final: Path) -> None:
        """The per-firm table, when ``[output] firm_table`` asks for it."""
        if self.attribution is not None and self.cfg.output["firm_table"]:
            path = final.with_name(final.stem + "_firms.parquet")
            write_firm_table(path, self.points, self.key, self.attribution)


def block_graph(
    spec: BlockSpec, tp: TiledPoints, skip: frozenset[BlockId] = frozenset()
) -> tuple[dict[Any, Any], list[tuple], list[BlockId]]:
    """The dask graph (a plain dict) of every block not in ``skip``, its keys and blocks.

    Per non-empty tile: one task grouping its points by cell, and one task per block
    (:meth:`BlockSpec.blocks_of_tile`, computed by :meth:`BlockSpec.compute`). Each task
    returns its block's float64 sums.
    """
    token = tokenize(spec, tp)
    dsk: dict[Any, Any] = {f"spec-{token}": spec}
    keys: list[tuple] = []
    blocks: list[BlockId] = []
    for t in tp.nonempty().tolist():
        todo = spec.blocks_of_tile(t, skip)
        if not todo:
            continue
        rows, cols = tp.grid.tile_slices(t)
        pkey = (f"points-{token}", t)
        size = (rows.stop - rows.start) * (cols.stop - cols.start)
        dsk[pkey] = (group_by_cell, *tp.tile(t), size)
        for b in todo:
            k = (f"block-{token}", b.tile, b.chunk)
            dsk[k] = (compute_block, f"spec-{token}", b, pkey)
            keys.append(k)
            blocks.append(b)
    return dsk, keys, blocks


def _make_grid(
    cfg: Config, pts: Points, polygons: Any
) -> tuple[Grid, tuple[np.ndarray, np.ndarray]]:
    """The grid, and the points projected to its CRS (projected once, used twice)."""
    crs = grid_crs(cfg, lambda: finite_bounds(*pts.lonlat()), polygons)
    xy = pts.project(crs, inplace=True)  # the lon/lat are not needed once projected
    return grid_from(cfg, crs, lambda: finite_bounds(*xy), polygons), xy

"""The in-memory plan: all points read at once, partitioned by tile, one dask task per block.

The tile's points are grouped by cell once (a task of its own) and shared by all its blocks;
graph names derive from ``dask.base.tokenize``, so the same inputs give the same graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
from dask.base import tokenize

from footgrid.config import Config
from footgrid.execution.blocks import BlockId, BlockSpec, TiledPoints, compute_block, partition
from footgrid.execution.ensemble import Ensemble, member_coef, tile_draws
from footgrid.execution.plan import (
    Bounds,
    Plan,
    finite_bounds,
    grid_crs,
    grid_from,
    layout_for,
    merge_bounds,
    read_regions,
    regions_from_polygons,
    territory_for,
    totals_cube,
)
from footgrid.execution.scheduler import Scheduler
from footgrid.grid import Grid
from footgrid.io.points import Points, read_points
from footgrid.io.rasters import Layer, concat_points, layer_bounds, raster_points, read_rasters
from footgrid.kernels import group_by_cell
from footgrid.ledger import Ledger
from footgrid.mrio.attribution import Attribution
from footgrid.mrio.link import link_rows
from footgrid.progress import phase
from footgrid.store.firm_table import write_firm_table


class InMemoryPlan(Plan):
    """Points in memory, partitioned by tile (see the module docstring)."""

    def __init__(self, cfg: Config, with_mrio: bool, scheduler: Scheduler) -> None:
        ledger = Ledger()
        pts = None
        if cfg.points is not None:
            with phase("reading and validating points"):
                pts = read_points(cfg.points, ledger)
        layers = []
        if cfg.rasters:
            with phase("reading gridded inventories"):
                layers = read_rasters(list(cfg.rasters))
        with phase("assigning regions from polygons") if cfg.regions else nullcontext():
            polygons = read_regions(cfg)
            if polygons is not None and pts is not None:
                pts = regions_from_polygons(pts, polygons, cfg.regions["field"], ledger)
        with phase("placing points on the grid"):
            grid, xy = _make_grid(cfg, pts, polygons, layers)
        # The GeoParquet firm table needs each point's place (in the grid's CRS).
        keep_xy = cfg.output["firm_table"] == "geoparquet" and pts is not None and not layers
        if pts is not None:
            cell = grid.cell_index(*xy)
            pts.release_coordinates()
            outside = cell < 0
            if outside.any():
                ledger.drop("outside_grid", pts.emission[outside])
                pts = pts.subset(~outside)
                cell = cell[~outside]
                xy = (xy[0][~outside], xy[1][~outside])
        xy = xy if keep_xy else None
        if layers:  # gridded inventories: rows that already know their cell
            field = cfg.regions["field"] if polygons is not None else None
            with phase("remapping gridded inventories"):
                rpts, rcell = raster_points(
                    layers, grid, ledger, polygons, field, workers=scheduler.threads
                )
            del layers
            if pts is None:
                pts, cell = rpts, rcell
            else:
                pts, cell = concat_points(pts, rpts), np.concatenate([cell, rcell])
        key = np.full(len(pts), -1, dtype=np.int64)
        att = totals = None
        layout = layout_for(grid, None, cfg.output["dtype"])
        if with_mrio:
            with phase("MRIO attribution"):
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
        self.xy = None if xy is None else (*xy, grid.crs)
        self.tiled: TiledPoints = partition(grid, cell, pts.emission, key, scheduler.threads)
        if cfg.uncertainty is not None:
            draws = tile_draws(cfg, pts, grid, cell, scheduler.threads)
            self.ensemble = Ensemble(cfg, draws, member_coef(cfg, att), self._hub_points)

    def compute_blocks(
        self, path: str, skip: frozenset[BlockId], progress: bool
    ) -> dict[BlockId, np.ndarray]:
        """One task per block, on the run's scheduler (inputs scattered to a cluster's workers)."""
        scatter = self.scheduler.scatter if self.scheduler.client is not None else None
        dsk, keys, blocks = block_graph(self.spec(path), self.tiled, skip, scatter)
        results = self.scheduler.get(dsk, keys, progress=progress)
        return {b: np.atleast_1d(r) for b, r in zip(blocks, results, strict=True)}

    def _hub_points(self, labels: np.ndarray) -> Iterator[tuple[np.ndarray, ...]]:
        """(hub, emission, sigma, draw) of the points in ``labels`` > 0, tile by tile."""
        for t in self.tiled.nonempty().tolist():
            rows, cols = self.grid.tile_slices(t)
            local, _, emission = self.tiled.tile(t)
            hub = labels[rows, cols].ravel()[local]
            inside = hub > 0
            if inside.any():
                _, draw, sigma = self.ensemble.draws.tile(t)
                yield hub[inside], emission[inside], sigma[inside], draw[inside]

    def finish(self, final: Path) -> None:
        """The per-firm table, when ``[output] firm_table`` asks for it."""
        if self.attribution is not None and self.cfg.output["firm_table"]:
            path = final.with_name(final.stem + "_firms.parquet")
            keep = self.cfg.consumers.get("categories", "keep") == "keep"
            write_firm_table(
                path, self.points, self.key, self.attribution, categories=keep, geometry=self.xy
            )


def block_graph(
    spec: BlockSpec,
    tp: TiledPoints,
    skip: frozenset[BlockId] = frozenset(),
    scatter: Callable[[list, bool], list] | None = None,
) -> tuple[dict[Any, Any], list[tuple], list[BlockId]]:
    """The dask graph (a plain dict) of every block not in ``skip``, its keys and blocks.

    Per non-empty tile: one task grouping its points by cell, and one task per block
    (:meth:`BlockSpec.blocks_of_tile`, computed by :meth:`BlockSpec.compute`). Each task
    returns its block's float64 sums.

    ``scatter(objects, broadcast)`` (a cluster's ``client.scatter``) sends the spec (with the
    coefficients: keys × layers) to every worker and each tile's points to one worker, and the
    graph refers to them: without it they are literals of the graph, which a cluster's
    scheduler receives, holds and forwards (70 MiB for 2 M points and 343 layers; the graph
    then grows with the points and the layers, and distributed warns about it).
    """
    token = tokenize(spec, tp)
    tiles = [t for t in tp.nonempty().tolist() if spec.blocks_of_tile(t, skip)]
    data: list[Any] = [tp.tile(t) for t in tiles]
    spec_ref: Any = spec
    if scatter is not None and tiles:
        [spec_ref] = scatter([spec], True)
        data = scatter(data, False)
    dsk: dict[Any, Any] = {f"spec-{token}": spec_ref}
    keys: list[tuple] = []
    blocks: list[BlockId] = []
    for t, pts in zip(tiles, data, strict=True):
        todo = spec.blocks_of_tile(t, skip)
        rows, cols = tp.grid.tile_slices(t)
        pkey = (f"points-{token}", t)
        size = (rows.stop - rows.start) * (cols.stop - cols.start)
        dsk[pkey] = (_group, pts, size)
        for b in todo:
            k = (f"block-{token}", b.tile, b.chunk)
            dsk[k] = (compute_block, f"spec-{token}", b, pkey)
            keys.append(k)
            blocks.append(b)
    return dsk, keys, blocks


def _group(pts: tuple[np.ndarray, np.ndarray, np.ndarray], size: int) -> tuple:
    """:func:`footgrid.kernels.group_by_cell` of one tile's ``(local, key, emission)``."""
    return group_by_cell(*pts, size)


def _make_grid(
    cfg: Config, pts: Points | None, polygons: Any, layers: list[Layer]
) -> tuple[Grid, tuple[np.ndarray, np.ndarray] | None]:
    """The grid, and the points projected to its CRS (projected once, used twice)."""

    def lonlat() -> Bounds | None:
        boxes = [None if pts is None else finite_bounds(*pts.lonlat())]
        return merge_bounds([*boxes, layer_bounds(layers, pyproj.CRS.from_epsg(4326))])

    crs = grid_crs(cfg, lonlat, polygons)
    # The lon/lat are not needed once projected.
    xy = None if pts is None else pts.project(crs, inplace=True)

    def xy_bounds() -> Bounds | None:
        return merge_bounds([None if xy is None else finite_bounds(*xy), layer_bounds(layers, crs)])

    return grid_from(cfg, crs, xy_bounds, polygons), xy

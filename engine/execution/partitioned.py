"""Points larger than memory: a dask dataframe, tile ids per partition, a shuffle by tile.

With ``[compute] larger_than_memory = true`` the client never holds all points. The points are
read as a dask dataframe (Parquet row groups or CSV blocks) and go through three kinds of tasks:

1. per partition: validate (same checks and drop reasons as the in-memory reader), assign
   regions, and summarise: extents for the grid, tonnes per (region, inventory sector) key for
   the MRIO attribution and the ledger of dropped points;
2. per partition: cell index, tile id, cell inside the tile, coefficient row and a sequence
   number that keeps the input order;
3. ``shuffle`` by tile (tasks on threads, peer-to-peer on a dask-distributed cluster), then per
   shuffled partition, for each of its tiles in input order: the emission tile and the
   footprint blocks of every consumer chunk, written straight into the store.

The blocks are bit-identical to the in-memory path's: same points, same order inside a tile,
same kernels. Under ``[uncertainty]`` the tile frames also carry each point's ``sigma`` and
draw id (its input row: the partition's first row, from the summary pass, plus its row in the
partition), so the ensemble store equals the in-memory one; the members' hub totals re-read
the partitions for the points in the hubs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from footgrid.config import Config
from footgrid.errors import ConfigError, InputError
from footgrid.execution.blocks import BlockId, BlockSpec
from footgrid.execution.ensemble import Ensemble, member_coef, point_draws, rsd_column
from footgrid.execution.plan import (
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
from footgrid.io.points import NA_TOKENS, Points, expand_paths, points_from_frame
from footgrid.kernels import group_by_cell
from footgrid.ledger import Ledger
from footgrid.mrio.link import link_rows

log = logging.getLogger("footgrid")

#: Sequence numbers: partition index in the high bits, row in the partition in the low ones.
_ROW_BITS = 32


def _columns(cfg: Config) -> list[str]:
    p = cfg.points
    names = [p["x"], p["y"]] if p["x"] is not None else [p["lon"], p["lat"]]
    names += [p["emission"], p["sector"]]
    names += [c for c in (p["region"], p["id"]) if c]
    rsd = rsd_column(cfg)
    return names if rsd is None or rsd in names else [*names, rsd]


#: Target rows per partition when grouping Parquet row groups.
PARTITION_ROWS = 1_000_000


def _read_row_groups(part: tuple[str, tuple[int, ...]], columns: list[str]) -> pd.DataFrame:
    file, groups = part
    table = pq.ParquetFile(file).read_row_groups(list(groups), columns=columns)
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype()}.get)


def read_frame(cfg: Config) -> dd.DataFrame:
    """The ``[points]`` files as a dask dataframe of the configured columns.

    Parquet: one partition per run of row groups of about ``PARTITION_ROWS`` rows, read with
    pyarrow (``dask.dataframe.from_map``). CSV: ``dask.dataframe.read_csv`` blocks of 64 MB.
    """
    files = expand_paths(cfg.points["path"])
    cols = _columns(cfg)
    suffixes = {Path(f).suffix.lower() for f in files}
    if suffixes <= {".parquet", ".pq"}:
        parts = []
        for f in files:
            try:
                meta = pq.ParquetFile(f).metadata
            except (pa.ArrowInvalid, OSError) as exc:
                raise InputError(
                    f"cannot read the Parquet file: {str(exc).splitlines()[0]}",
                    file=f,
                    key="points.path",
                    fix="check that it is a complete, valid Parquet file",
                ) from None
            missing = [c for c in cols if c not in meta.schema.names]
            if missing:
                raise InputError(
                    f"the points file has no column '{missing[0]}' (columns present: "
                    f"{', '.join(meta.schema.names)})",
                    file=f,
                    column=missing[0],
                    fix="rename the column or set the [points] key naming it",
                )
            batch: list[int] = []
            rows = 0
            for g in range(meta.num_row_groups):
                batch.append(g)
                rows += meta.row_group(g).num_rows
                if rows >= PARTITION_ROWS:
                    parts.append((f, tuple(batch)))
                    batch, rows = [], 0
            if batch or meta.num_row_groups == 0:
                parts.append((f, tuple(batch)))
        meta_df = _read_row_groups((parts[0][0], ()), cols)
        return dd.from_map(_read_row_groups, parts, columns=cols, meta=meta_df)
    if suffixes <= {".csv"}:
        labels = {c: "string" for c in (cfg.points["sector"], cfg.points["region"])}
        labels.update({cfg.points["id"]: "string"} if cfg.points["id"] else {})
        labels.pop(None, None)
        # As read_points: only empty label cells are missing (``NA`` is Namibia).
        na = {c: [""] if c in labels else sorted(NA_TOKENS | {""}) for c in cols}
        return dd.read_csv(
            files, usecols=cols, dtype=labels, blocksize="64MB", keep_default_na=False,
            na_values=na,
        )  # fmt: skip
    raise InputError(
        f"larger-than-memory points must be all Parquet or all CSV, got {sorted(suffixes)}",
        file=cfg.points["path"],
        key="compute.larger_than_memory",
        fix="convert the inputs to Parquet",
    )


def _partition_points(
    df: pd.DataFrame, i: int, cfg: Config, polygons: Any, ledger: Ledger
) -> Points:
    source = f"{cfg.points['path']} (partition {i})"
    pts = points_from_frame(df, source, cfg.points, ledger)
    if polygons is not None:
        pts = regions_from_polygons(pts, polygons, cfg.regions["field"], ledger)
    return pts


def _summary(
    df: pd.DataFrame, i: int, cfg: Config, polygons: Any, crs: Any, grid: Grid | None
) -> dict[str, Any]:
    """Pass over one partition: ledger, extents and tonnes per key (inside ``grid`` if given)."""
    ledger = Ledger()
    pts = _partition_points(df, i, cfg, polygons, ledger)
    out: dict[str, Any] = {"lonlat": finite_bounds(*pts.lonlat()) if crs is None else None}
    out["rows"] = len(df)
    if crs is not None:
        x, y = pts.project(crs)
        out["xy"] = finite_bounds(x, y)
        if grid is not None:
            outside = grid.cell_index(x, y) < 0
            ledger.drop("outside_grid", pts.emission[outside])
            pts = pts.subset(~outside)
    out["ledger"] = ledger
    if pts.region is not None:
        frame = pd.DataFrame(
            {
                "region": np.asarray(pts.region.astype(str), dtype=object),
                "sector": np.asarray(pts.sector.astype(str), dtype=object),
                "emission": pts.emission,
            }
        )
        out["keys"] = frame.groupby(["region", "sector"], sort=True)["emission"].agg(
            ["sum", "count"]
        )
    return out


def _tile_frame(
    df: pd.DataFrame,
    i: int,
    cfg: Config,
    polygons: Any,
    grid: Grid,
    keys: pd.MultiIndex | None,
    valid: np.ndarray | None,
    row0: int | None = None,
    with_cell: bool = False,
) -> pd.DataFrame:
    """Per point of one partition: tile, cell inside the tile, coefficient row, order; and
    with ``row0`` (the partition's first input row, under ``[uncertainty]``) the members'
    ``sigma`` and ``draw`` (:func:`footgrid.execution.ensemble.point_draws`)."""
    pts = _partition_points(df, i, cfg, polygons, Ledger())
    draws = None
    if row0 is not None:
        rsd = rsd_column(cfg)
        column = None if rsd is None else pd.to_numeric(df[rsd], errors="coerce").to_numpy()
        draws = point_draws(cfg, pts, column, row0)
    x, y = pts.project(grid.crs)
    cell = grid.cell_index(x, y)
    seq = (np.int64(i) << _ROW_BITS) + pts.rows().astype(np.int64)
    if keys is not None:
        pairs = pd.MultiIndex.from_arrays(
            [np.asarray(pts.region.astype(str)), np.asarray(pts.sector.astype(str))]
        )
        key = keys.get_indexer(pairs).astype(np.int64)
        cell = np.where((key >= 0) & valid[np.maximum(key, 0)], cell, -1)
    else:
        key = np.full(len(pts), -1, dtype=np.int64)
    ok = cell >= 0
    cell, key, seq, e = cell[ok], key[ok], seq[ok], pts.emission[ok]
    row, col = np.divmod(cell, grid.nx)
    ty, tx = row // grid.tile, col // grid.tile
    width = np.minimum(grid.tile, grid.nx - tx * grid.tile)
    frame = pd.DataFrame(
        {
            "tile": ty * grid.n_tiles_x + tx,
            "local": (row - ty * grid.tile) * width + (col - tx * grid.tile),
            "key": key,
            "emission": e,
            "seq": seq,
        }
    )
    if draws is not None:
        frame["sigma"], frame["draw"] = draws[0][ok], draws[1][ok]
    if with_cell:
        frame["cell"] = cell
    return frame


def _hub_frame(frame: pd.DataFrame, hub_cells: np.ndarray, hub_of: np.ndarray) -> pd.DataFrame:
    """The points of one tile frame inside hubs (cells ``hub_cells``, sorted), with their hub."""
    cell = frame["cell"].to_numpy()
    at = np.minimum(np.searchsorted(hub_cells, cell), max(hub_cells.size - 1, 0))
    inside = hub_cells[at] == cell if hub_cells.size else np.zeros(cell.size, dtype=bool)
    out = frame.loc[inside, ["tile", "seq", "emission", "sigma", "draw"]]
    return out.assign(hub=hub_of[at[inside]])


def _blocks(frame: pd.DataFrame, spec: BlockSpec, skip: frozenset[BlockId]) -> dict:
    """Every block of the tiles in one shuffled partition, points in input order."""
    frame = frame.sort_values(["tile", "seq"], kind="stable")
    tiles = frame["tile"].to_numpy()
    local = np.ascontiguousarray(frame["local"].to_numpy(), dtype=np.int64)
    key = np.ascontiguousarray(frame["key"].to_numpy(), dtype=np.int64)
    e = np.ascontiguousarray(frame["emission"].to_numpy(), dtype=np.float64)
    draws = None
    if "sigma" in frame:
        draws = (
            np.ascontiguousarray(frame["draw"].to_numpy(), dtype=np.int64),
            np.ascontiguousarray(frame["sigma"].to_numpy(), dtype=np.float64),
        )
    starts = np.flatnonzero(np.r_[True, tiles[1:] != tiles[:-1]]) if len(tiles) else []
    ends = np.r_[starts[1:], len(tiles)] if len(tiles) else []
    out: dict[BlockId, np.ndarray] = {}
    for s, t_end in zip(starts, ends, strict=True):
        t = int(tiles[s])
        rows, cols = spec.grid.tile_slices(t)
        size = (rows.stop - rows.start) * (cols.stop - cols.start)
        pts = group_by_cell(local[s:t_end], key[s:t_end], e[s:t_end], size)
        if draws is not None:  # (cells, starts, key, emission, sigma, draw)
            grouped = group_by_cell(local[s:t_end], draws[0][s:t_end], draws[1][s:t_end], size)
            pts = (*pts, grouped[3], grouped[2])
        for b in spec.blocks_of_tile(t, skip):
            out[b] = spec.compute(b, pts)
    return out


class PartitionedPlan(Plan):
    """The larger-than-memory counterpart of the in-memory plan (see the module docstring)."""

    def __init__(self, cfg: Config, with_mrio: bool, scheduler: Scheduler) -> None:
        if with_mrio and cfg.output["firm_table"]:
            raise ConfigError(
                "the per-firm table is not written for larger-than-memory points",
                file=cfg.source,
                key="output.firm_table",
                fix="set [output] firm_table = false, or [compute] larger_than_memory = false",
            )
        polygons = read_regions(cfg)
        ddf = read_frame(cfg)
        parts = ddf.to_delayed()
        _check_unique_ids(cfg, ddf, scheduler)

        def summaries(crs: Any, grid: Grid | None) -> list[dict[str, Any]]:
            tasks = [
                dask.delayed(_summary)(p, i, cfg, polygons, crs, grid) for i, p in enumerate(parts)
            ]
            return list(dask.compute(*tasks, **scheduler.dask_kwargs))

        def lonlat_bounds() -> Any:
            return merge_bounds([s["lonlat"] for s in summaries(None, None)])

        crs = grid_crs(cfg, lonlat_bounds, polygons)
        if cfg.grid["bounds"] != "auto":
            grid = grid_from(cfg, crs, lambda: None, polygons)
            first = summaries(crs, grid)
        else:
            first = summaries(crs, None)
            grid = grid_from(cfg, crs, lambda: merge_bounds([s["xy"] for s in first]), polygons)
        ledger = Ledger()
        for s in first:
            ledger.merge(s["ledger"])
        att = totals = None
        layout = layout_for(grid, None, cfg.output["dtype"])
        if with_mrio:
            att, e_by_key = _attribution(cfg, first, ledger)
            layout = layout_for(grid, att, cfg.output["dtype"])
            totals = totals_cube(att, layout, e_by_key)
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
        self._parts = parts
        self._polygons = polygons
        self._keys = None if att is None else att.keys
        self._valid = None if att is None else att.valid
        #: Each partition's first input row (the draw ids of independent sources).
        self._rows0 = np.cumsum([0] + [int(s["rows"]) for s in first])[:-1].tolist()
        if cfg.uncertainty is not None:
            self.ensemble = Ensemble(cfg, None, member_coef(cfg, att), self._hub_points)

    def _frames(self, with_draws: bool, with_cell: bool = False) -> list[Any]:
        """One delayed :func:`_tile_frame` per partition."""
        return [
            dask.delayed(_tile_frame)(
                p,
                i,
                self.cfg,
                self._polygons,
                self.grid,
                self._keys,
                self._valid,
                self._rows0[i] if with_draws else None,
                with_cell,
            )
            for i, p in enumerate(self._parts)
        ]

    def _hub_points(self, labels: np.ndarray) -> Iterator[tuple[np.ndarray, ...]]:
        """(hub, emission, sigma, draw) of the points in ``labels`` > 0, in tile then input
        order (as the in-memory plan's), from a second read of the partitions.

        Run on local threads: the run's scheduler is closed when the ensemble finishes.
        """
        flat = labels.ravel()
        hub_cells = np.flatnonzero(flat > 0)
        hub_of = flat[hub_cells].astype(np.int32)
        tasks = [dask.delayed(_hub_frame)(f, hub_cells, hub_of) for f in self._frames(True, True)]
        kwargs = {"scheduler": "threads", "num_workers": self.scheduler.threads}
        parts = [p for p in dask.compute(*tasks, **kwargs) if len(p)]
        if not parts:
            return
        frame = pd.concat(parts).sort_values(["tile", "seq"], kind="stable")
        yield (
            np.ascontiguousarray(frame["hub"].to_numpy(), dtype=np.int32),
            np.ascontiguousarray(frame["emission"].to_numpy(), dtype=np.float64),
            np.ascontiguousarray(frame["sigma"].to_numpy(), dtype=np.float64),
            np.ascontiguousarray(frame["draw"].to_numpy(), dtype=np.int64),
        )

    def compute_blocks(
        self, path: str, skip: frozenset[BlockId], progress: bool
    ) -> dict[BlockId, np.ndarray]:
        """Tile ids per partition, a shuffle by tile, then every block of each partition."""
        meta = pd.DataFrame(
            {
                "tile": np.array([], dtype=np.int64),
                "local": np.array([], dtype=np.int64),
                "key": np.array([], dtype=np.int64),
                "emission": np.array([], dtype=np.float64),
                "seq": np.array([], dtype=np.int64),
            }
        )
        ensemble = self.ensemble is not None
        if ensemble:
            meta["sigma"] = np.array([], dtype=np.float64)
            meta["draw"] = np.array([], dtype=np.int64)
        frames = self._frames(ensemble)
        tiled = dd.from_delayed(frames, meta=meta, verify_meta=False)
        shuffled = tiled.shuffle("tile", npartitions=max(1, len(self._parts)))
        spec = self.spec(path)
        tasks = [dask.delayed(_blocks)(p, spec, skip) for p in shuffled.to_delayed()]
        out: dict[BlockId, np.ndarray] = {}
        for part in self.scheduler.compute(tasks, progress):
            out.update(part)
        return out


def _attribution(
    cfg: Config, summaries: list[dict[str, Any]], ledger: Ledger
) -> tuple[Any, np.ndarray]:
    """Attribution from the tonnes per (region, sector) key of every partition."""
    table = pd.concat([s["keys"] for s in summaries if "keys" in s])
    table = table.groupby(level=[0, 1], sort=True).sum()
    sums = table["sum"]
    if sums.empty:
        raise InputError(
            "no valid point is left to attribute",
            file=cfg.points["path"],
            fix="check the points and the dropped counts",
        )
    regions = pd.Categorical(sums.index.get_level_values(0).astype(str))
    sectors = pd.Categorical(sums.index.get_level_values(1).astype(str))
    e = sums.to_numpy(dtype=np.float64)
    att, key, keep = link_rows(cfg, regions, sectors, e)
    counts = table["count"].to_numpy()
    ledger.drop_counted("zero_output", int(counts[~keep].sum()), float(e[~keep].sum()))
    return att, att.emission_by_key(key[keep], e[keep])


def _check_unique_ids(cfg: Config, ddf: dd.DataFrame, scheduler: Scheduler) -> None:
    col = cfg.points["id"]
    if not col:
        return
    counts = ddf[col].value_counts()
    (dup,) = dask.compute(counts[counts > 1], **scheduler.dask_kwargs)
    if len(dup):
        first = dup.index[0]
        raise InputError(
            f"firm id {first!r} appears {int(dup.iloc[0])} times (duplicated ids: "
            f"{', '.join(map(repr, dup.index[:5]))})",
            file=cfg.points["path"],
            column=col,
            fix="make the ids unique, or remove [points] id to run without firm ids",
        )

"""The pipeline: config -> points -> grid -> (MRIO attribution) -> tiles -> Zarr store.

``grid`` makes the production-based raster only; ``run`` adds the footprint by consumer and
final-demand category and the exact national ledger ``totals``.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import xarray as xr

from footgrid import store
from footgrid._version import __version__
from footgrid.config import Config, load_config
from footgrid.errors import ConfigError, InputError
from footgrid.execution.blocks import block_graph, consumer_chunks, partition
from footgrid.execution.scheduler import compute
from footgrid.grid import Grid
from footgrid.io.points import Points, read_points
from footgrid.kernels.binning import finite_extent
from footgrid.ledger import Ledger
from footgrid.progress import display, phase

log = logging.getLogger("footgrid")


@dataclass
class Prepared:
    """Points on the grid, ready to tile: everything ``grid`` and ``run`` share."""

    cfg: Config
    grid: Grid
    points: Points
    cell: np.ndarray
    territory: np.ndarray
    ledger: Ledger


def prepare(cfg: Config) -> Prepared:
    """Read and validate the points, assign regions, build the grid, index points to cells."""
    ledger = Ledger()
    with phase("reading and validating points"):
        pts = read_points(cfg.points, ledger)
    polygons = None
    if cfg.regions is not None:
        from footgrid.io.polygons import read_polygons

        with phase("assigning regions from polygons"):
            polygons = read_polygons(cfg.regions["path"], cfg.regions["field"])
            pts = regions_from_polygons(pts, polygons, cfg.regions["field"], ledger)
    with phase("remapping points to the grid"):
        grid, (x, y) = _make_grid(cfg, pts, polygons)
        cell = grid.cell_index(x, y)
    del x, y
    pts.release_coordinates()
    outside = cell < 0
    if outside.any():
        ledger.drop("outside_grid", pts.emission[outside])
        pts = pts.subset(~outside)
        cell = cell[~outside]
    if polygons is not None:
        from footgrid.io.polygons import territory_mask

        territory = territory_mask(grid, polygons)
    else:
        territory = np.ones(grid.shape, dtype=bool)
    return Prepared(cfg, grid, pts, cell, territory, ledger)


def regions_from_polygons(pts: Points, polygons: Any, field: str, ledger: Ledger) -> Points:
    """Give points without a region column the region of the polygon they fall in.

    Points in no polygon are dropped under ``outside_regions``. Points that already carry a
    region (``[points] region``) are returned unchanged.
    """
    if pts.region is not None:
        return pts
    import pandas as pd

    from footgrid.io.polygons import assign_regions

    labels = assign_regions(pts.cx, pts.cy, pts.crs, polygons, field)
    inside = pd.notna(labels)
    ledger.drop("outside_regions", pts.emission[~inside])
    pts = pts.subset(inside)
    pts.region = pd.Categorical(labels[inside])
    return pts


def _make_grid(
    cfg: Config, pts: Points, polygons: Any
) -> tuple[Grid, tuple[np.ndarray, np.ndarray]]:
    """The grid, and the points projected to its CRS (projected once, used twice)."""

    def lonlat_bounds() -> tuple[float, float, float, float] | None:
        lon, lat = pts.lonlat()
        return finite_bounds(lon, lat)

    crs = grid_crs(cfg, lonlat_bounds, polygons)

    xy = pts.project(crs, inplace=True)  # the lon/lat are not needed once projected

    def xy_bounds() -> tuple[float, float, float, float] | None:
        return finite_bounds(*xy)

    return grid_from(cfg, crs, xy_bounds, polygons), xy


def finite_bounds(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float] | None:
    """(xmin, ymin, xmax, ymax) of the finite points, or None when there is none."""
    n_ok, x0, y0, x1, y1 = finite_extent(
        np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    )
    return (x0, y0, x1, y1) if n_ok else None


def merge_bounds(boxes: list) -> tuple[float, float, float, float] | None:
    """The union of bounding boxes (None entries skipped)."""
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    b = np.array(boxes, dtype=np.float64)
    return (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())


def grid_crs(cfg: Config, lonlat_bounds: Any, polygons: Any) -> pyproj.CRS:
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
                file=cfg.points["path"],
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


def grid_from(cfg: Config, crs: pyproj.CRS, xy_bounds: Any, polygons: Any) -> Grid:
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
                file=cfg.points["path"],
                key="grid.bounds",
                fix="check the coordinates, or give [grid] bounds",
            )
    else:
        bounds = tuple(g["bounds"])
    return Grid.from_bounds(bounds, res, crs, g["tile"])


def _run_token(cfg: Config) -> str:
    """Identifies the inputs of a run, so that --resume continues only the same run."""
    h = hashlib.blake2b(digest_size=12)
    h.update(cfg.text.encode())
    h.update(__version__.encode())
    paths = [cfg.points["path"]]
    for sec in (cfg.regions, cfg.mrio, cfg.concordance):
        if sec is not None:
            paths.append(sec["path"])
    for p in paths:
        if not isinstance(p, str):  # an in-memory IOSystem (run(..., mrio=...)): no file
            continue
        for f in sorted(glob.glob(p)) if any(c in p for c in "*?[") else [p]:
            f = Path(f)
            if f.is_file():
                st = f.stat()
                h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def grid_emissions(
    config: str | os.PathLike | dict | Config, *, progress: bool = False, client: Any = None
) -> xr.Dataset:
    """Production-based gridding: scatter the points' emissions onto the grid.

    Writes the store of ``[output] path`` (``emissions``, ``territory``, ``cell_area``, CRS and
    the mass-balance attributes) and returns it opened lazily with xarray.

    Parameters
    ----------
    config
        Path to a TOML config, a mapping of the same structure, or a :class:`Config`.
    progress
        Show the progress of each phase (a bar on a terminal, one line per phase otherwise).
    client
        A ``distributed.Client`` to run the blocks on, in place of ``[compute] scheduler``.
    """
    cfg = _with_client(load_config(config), client)
    return _execute(cfg, with_mrio=False, resume=False, progress=progress, client=client)


def run(
    config: str | os.PathLike | dict | Config,
    *,
    resume: bool = False,
    progress: bool = False,
    mrio: Any = None,
    client: Any = None,
) -> xr.Dataset:
    """The whole pipeline: gridding plus attribution to consumers through the MRIO.

    Writes ``footprint(consumer, category, y, x)``, ``emissions``, ``totals``, ``territory``,
    ``cell_area`` and attributes into the Zarr store of ``[output] path`` and returns it opened
    lazily with xarray.

    Parameters
    ----------
    config
        Path to a TOML config, a mapping of the same structure, or a :class:`Config`.
    resume
        Finish an interrupted run of the same config, skipping the blocks already written.
    progress
        Show the progress of each phase (a bar on a terminal, one line per phase otherwise).
    mrio
        An in-memory :class:`pymrio.IOSystem` (with Z and Y, or A and Y, or A and x), used in
        place of ``[mrio] path``; the config then needs no ``[mrio]`` section.
    client
        A ``distributed.Client`` to run the blocks on, in place of ``[compute] scheduler``
        (``scheduler = "default"`` uses the active default client without passing it).
    """
    cfg = _with_client(load_config(config), client)
    if mrio is not None:
        cfg = _with_mrio(cfg, mrio)
    if not cfg.has_mrio:
        raise ConfigError(
            "`run` needs an [mrio] section (use `grid` for production-based gridding only)",
            file=cfg.source,
            key="mrio",
            fix='add [mrio] path = "..."',
        )
    return _execute(cfg, with_mrio=True, resume=resume, progress=progress, client=client)


def _with_mrio(cfg: Config, mrio: Any) -> Config:
    """``cfg`` reading the MRIO from the IOSystem ``mrio`` (its ``[mrio]`` keys kept)."""
    import dataclasses

    from footgrid.config import SCHEMA

    if not (hasattr(mrio, "Y") and callable(getattr(mrio, "calc_all", None))):
        raise ConfigError(
            f"mrio= must be a pymrio.IOSystem, got {type(mrio).__name__}",
            key="mrio",
            fix="pass a pymrio.IOSystem, or set [mrio] path in the config",
        )
    body = {k: d for k, (_, d) in SCHEMA["mrio"].items()}
    body.update(cfg.mrio or {})
    body.update(path=mrio, format="pymrio")
    return dataclasses.replace(cfg, mrio=body)


def _with_client(cfg: Config, client: Any) -> Config:
    """``cfg`` with its blocks on ``client`` (``scheduler = "default"``) when one is given."""
    import dataclasses

    if client is None:
        return cfg
    return dataclasses.replace(cfg, compute={**cfg.compute, "scheduler": "default"})


@dataclass
class Plan:
    """What a run writes, before its blocks are computed.

    ``blocks(path, skip, progress)`` computes and writes every block whose label is not in
    ``skip`` and returns ``{label: sums}``; ``finish(path)`` runs once the store is complete.
    """

    grid: Grid
    territory: np.ndarray
    ledger: Ledger
    layout: store.Layout
    totals: np.ndarray | None
    blocks: Any
    finish: Any = None
    close: Any = None


def _plan_in_memory(cfg: Config, with_mrio: bool) -> Plan:
    prep = prepare(cfg)
    pts, ledger = prep.points, prep.ledger
    dtype = cfg.output["dtype"]
    key = np.full(len(pts), -1, dtype=np.int64)
    coef = att = totals = None
    layout = store.Layout(prep.grid, dtype=dtype)
    cell = prep.cell
    if with_mrio:
        from footgrid.mrio.link import attribute

        with phase("MRIO attribution"):
            att, key, keep = attribute(cfg, pts)
        kept_key, kept_e = key, pts.emission
        if not keep.all():
            ledger.drop("zero_output", pts.emission[~keep])
            kept_key, kept_e = key[keep], pts.emission[keep]
            key = np.where(keep, key, -1)
        coef = att.coef
        layout = layout_for(prep.grid, att, dtype)
        e_by_key = np.bincount(kept_key, weights=kept_e, minlength=len(att.keys))
        totals = totals_cube(att.mrio_rows, layout, att.totals(e_by_key))
        if (key < 0).any():  # points without a coefficient row leave the grid too
            cell = np.where(key >= 0, cell, -1)
    threads = cfg.compute["workers"] if cfg.compute["scheduler"] == "threads" else None
    tp = partition(prep.grid, cell, pts.emission, key, threads)
    del cell

    def blocks(path: str, skip: set[str], progress: bool) -> dict[str, np.ndarray]:
        n_cons, n_cat = len(layout.consumers), len(layout.categories)
        chunk = cfg.compute["consumer_chunk"]
        bg = block_graph(path, tp, coef, n_cons, n_cat, chunk, dtype, skip)
        results = compute(
            bg.dsk, bg.keys, cfg.compute["scheduler"], cfg.compute["workers"], progress=progress
        )
        return {lab: np.atleast_1d(r) for lab, r in zip(bg.labels, results, strict=True)}

    def finish(final: Path) -> None:
        if att is not None and cfg.output["firm_table"]:
            from footgrid.store.firm_table import write_firm_table

            write_firm_table(final.with_name(final.stem + "_firms.parquet"), pts, key, att)

    return Plan(prep.grid, prep.territory, ledger, layout, totals, blocks, finish)


def layout_for(grid: Grid, att: Any, dtype: str) -> store.Layout:
    """The store layout of a run with attribution ``att``."""
    return store.Layout(
        grid,
        consumers=tuple(att.consumers),
        categories=tuple(att.categories),
        domestic=tuple(bool(d) for d in att.domestic),
        regions=tuple(att.mrio_rows.unique(level=0)),
        sectors=tuple(att.mrio_rows.unique(level=1)),
        dtype=dtype,
    )


def _execute(
    cfg: Config, *, with_mrio: bool, resume: bool, progress: bool, client: Any = None
) -> xr.Dataset:
    from footgrid.execution.scheduler import use_client

    with display(progress), use_client(client):
        return _execute_plan(cfg, with_mrio=with_mrio, resume=resume, progress=progress)


def _execute_plan(cfg: Config, *, with_mrio: bool, resume: bool, progress: bool) -> xr.Dataset:
    final = Path(cfg.output["path"])
    store.prepare_output(final, cfg.output["overwrite"], resume)
    if cfg.compute["larger_than_memory"]:
        from footgrid.execution.partitioned import plan_partitioned

        plan = plan_partitioned(cfg, with_mrio)
    else:
        plan = _plan_in_memory(cfg, with_mrio)
    ledger, layout = plan.ledger, plan.layout

    token = _run_token(cfg)
    partial = store.partial_path(final)
    done: dict[str, np.ndarray] = {}
    try:
        if resume and partial.exists() and store.read_attrs(partial).get("run_token") == token:
            done = store.done_blocks(partial)
            log.info("resuming: %d blocks already written", len(done))
        else:
            if resume and partial.exists():
                log.warning("the interrupted store was made from other inputs; starting afresh")
            ds = store.template(layout, plan.territory, plan.totals)
            attrs = _attrs(cfg, plan.grid, ledger, run_token=token)
            store.create(partial, ds, layout, attrs, zarr_format=cfg.output["zarr_format"])
    except BaseException:
        if plan.close is not None:
            plan.close()
        raise

    try:
        sums = plan.blocks(str(partial), set(done), progress)
    finally:
        if plan.close is not None:
            plan.close()
    sums.update(done)
    gridded = float(sum(float(v[0]) for lab, v in sums.items() if lab.startswith("e_")))
    attrs = _attrs(cfg, plan.grid, ledger, run_token=token, gridded_total=gridded)
    if layout.has_footprint:
        n_cat = len(layout.categories)
        per_col = np.zeros(len(layout.consumers) * n_cat)
        chunks = consumer_chunks(len(layout.consumers), cfg.compute["consumer_chunk"])
        for lab, v in sums.items():
            if lab.startswith("f_"):
                c0 = chunks[int(lab.split("_")[1])].start * n_cat
                per_col[c0 : c0 + len(v)] += v
        ledger_cols = plan.totals.sum(axis=(0, 1)).ravel()
        scale = max(abs(ledger_cols).sum(), 1e-300)
        attrs["footprint_residual"] = float(np.abs(per_col - ledger_cols).sum() / scale)
        attrs["home"] = [c for c, d in zip(layout.consumers, layout.domestic, strict=True) if d]
    store.finish(partial, final, attrs)
    log.info(
        "gridded %.6g t of %.6g t input; dropped %.6g t; residual %.3g t",
        gridded,
        ledger.input_total,
        ledger.dropped_total,
        ledger.residual(gridded),
    )
    ds = store.open_store(final)
    _export_outputs(cfg, ds, final)
    if plan.finish is not None:
        with phase("firm table") if cfg.output["firm_table"] else contextlib.nullcontext():
            plan.finish(final)
    return ds


def _export_outputs(cfg: Config, ds: xr.Dataset, final: Path) -> None:
    """The ``[output] cog / geotiff / netcdf`` exports next to the store."""
    from footgrid.store.export import export

    o = cfg.output
    crs = o["export_crs"]
    if o["cog"]:
        with phase("export: COG"):
            folder = final.with_name(final.stem + ("_geotiff" if o["geotiff"] else "_cog"))
            export(ds, "cog", folder, crs=crs)
    if o["netcdf"]:
        with phase("export: NetCDF"):
            export(ds, "netcdf", final.with_name(final.stem + ".nc"), crs=crs)


def totals_cube(rows: Any, layout: store.Layout, totals: np.ndarray) -> np.ndarray:
    """(n, C, K) ledger rows -> (region, sector, C, K) with zeros for absent pairs."""
    r_index = {r: i for i, r in enumerate(layout.regions)}
    s_index = {s: i for i, s in enumerate(layout.sectors)}
    cube = np.zeros((len(layout.regions), len(layout.sectors), *totals.shape[1:]))
    ri = np.array([r_index[r] for r in rows.get_level_values(0)])
    si = np.array([s_index[s] for s in rows.get_level_values(1)])
    cube[ri, si] = totals
    return cube


def _attrs(cfg: Config, grid: Grid, led: Ledger, **extra: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "units": store.UNITS,
        "footgrid_version": __version__,
        "config": cfg.text,
        "input_points": led.input_points,
        "input_total": led.input_total,
        "dropped": led.dropped_json(),
        "dropped_points": led.dropped_points,
        "dropped_total": led.dropped_total,
        "grid_crs": grid.crs.to_wkt(),
    }
    if "gridded_total" in extra:
        attrs["mass_balance_residual"] = led.residual(extra["gridded_total"])
    attrs.update(extra)
    return attrs

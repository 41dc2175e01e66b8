"""The pipeline: config -> points -> grid -> (MRIO attribution) -> tiles -> Zarr store.

``grid`` makes the production-based raster only; ``run`` adds the footprint by consumer and
final-demand category and the exact national ledger ``totals``.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import xarray as xr

from engine import store
from engine.config import Config, load_config
from engine.errors import ConfigError, InputError
from engine.execute import compute
from engine.grid import Grid
from engine.ledger import Ledger
from engine.points import Points, read_points
from engine.tiles import block_graph, done_sums, partition

log = logging.getLogger("footgrid")


def engine_version() -> str:
    """The installed footgrid version."""
    try:
        return version("footgrid")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


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
    _check_paths(cfg)
    ledger = Ledger()
    pts = read_points(cfg.points, ledger)
    polygons = None
    if cfg.regions is not None:
        from engine.regions import assign_regions, read_polygons

        polygons = read_polygons(cfg.regions["path"], cfg.regions["field"])
        if pts.region is None:
            import pandas as pd

            labels = assign_regions(pts.cx, pts.cy, pts.crs, polygons, cfg.regions["field"])
            inside = pd.notna(labels)
            ledger.drop("outside_regions", pts.emission[~inside])
            pts = pts.subset(inside)
            pts.region = pd.Categorical(labels[inside])
    grid = _make_grid(cfg, pts, polygons)
    x, y = pts.project(grid.crs)
    cell = grid.cell_index(x, y)
    del x, y
    pts.release_coordinates()
    outside = cell < 0
    if outside.any():
        ledger.drop("outside_grid", pts.emission[outside])
        pts = pts.subset(~outside)
        cell = cell[~outside]
    if polygons is not None:
        from engine.regions import territory_mask

        territory = territory_mask(grid, polygons)
    else:
        territory = np.ones(grid.shape, dtype=bool)
    return Prepared(cfg, grid, pts, cell, territory, ledger)


def _make_grid(cfg: Config, pts: Points, polygons: Any) -> Grid:
    g = cfg.grid
    if g["crs"] == "auto":
        lon, lat = pts.lonlat()
        if polygons is not None and len(pts) == 0:
            b = polygons.to_crs(4326).total_bounds
            lon, lat = np.array([b[0], b[2]]), np.array([b[1], b[3]])
        crs = Grid.auto_crs(lon, lat)
    else:
        try:
            crs = pyproj.CRS.from_user_input(g["crs"])
        except pyproj.exceptions.CRSError as exc:
            raise ConfigError(
                f"unknown CRS {g['crs']!r}: {exc}",
                file=cfg.source,
                key="grid.crs",
                fix='use "auto", "EPSG:xxxx" or a PROJ string',
            ) from None
    res = g["resolution"]
    res = tuple(res) if isinstance(res, list) else res
    if res is not None and isinstance(res, tuple) and len(res) == 1:
        res = res[0]
    if g["bounds"] == "auto":
        x, y = pts.project(crs)
        ok = np.isfinite(x) & np.isfinite(y)
        boxes = []
        if ok.any():
            boxes.append((x[ok].min(), y[ok].min(), x[ok].max(), y[ok].max()))
        if polygons is not None:
            boxes.append(tuple(polygons.to_crs(crs).total_bounds))
        if not boxes:
            raise InputError(
                "no valid point to fit the grid bounds to",
                file=cfg.points["path"],
                key="grid.bounds",
                fix="check the coordinates, or give [grid] bounds",
            )
        b = np.array(boxes)
        bounds = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
    else:
        bounds = tuple(g["bounds"])
    return Grid.from_bounds(bounds, res, crs, g["tile"])


def _check_paths(cfg: Config) -> None:
    out = Path(cfg.output["path"]).resolve()
    inputs = {"points.path": cfg.points["path"]}
    for section, key in (
        ("regions", "path"),
        ("mrio", "path"),
        ("concordance", "path"),
    ):
        sec = getattr(cfg, section)
        if sec is not None:
            inputs[f"{section}.{key}"] = sec[key]
    if cfg.consumers.get("groups"):
        inputs["consumers.groups"] = cfg.consumers["groups"]
    for key, p in inputs.items():
        p = Path(p).resolve()
        if p == out or out in p.parents or p in out.parents:
            raise ConfigError(
                f"the output path {out} is the same as (or inside) the input {key}",
                file=cfg.source,
                key="output.path",
                fix="write the store somewhere else",
            )


def _run_token(cfg: Config) -> str:
    """Identifies the inputs of a run, so that --resume continues only the same run."""
    h = hashlib.blake2b(digest_size=12)
    h.update(cfg.text.encode())
    h.update(engine_version().encode())
    paths = [cfg.points["path"]]
    for sec in (cfg.regions, cfg.mrio, cfg.concordance):
        if sec is not None:
            paths.append(sec["path"])
    for p in paths:
        for f in sorted(glob.glob(p)) if any(c in p for c in "*?[") else [p]:
            f = Path(f)
            if f.is_file():
                st = f.stat()
                h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def grid(config: str | os.PathLike | dict | Config, *, progress: bool = False) -> xr.Dataset:
    """Production-based gridding: scatter the points' emissions onto the grid.

    Writes the store of ``[output] path`` (``emissions``, ``territory``, ``cell_area``, CRS and
    the mass-balance attributes) and returns it opened lazily with xarray.

    Parameters
    ----------
    config
        Path to a TOML config, a mapping of the same structure, or a :class:`Config`.
    progress
        Show a progress bar of blocks written (on a terminal).
    """
    cfg = load_config(config)
    return _execute(cfg, with_mrio=False, resume=False, progress=progress)


def run(
    config: str | os.PathLike | dict | Config,
    *,
    resume: bool = False,
    progress: bool = False,
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
        Show a progress bar of blocks written (on a terminal).
    """
    cfg = load_config(config)
    if not cfg.has_mrio:
        raise ConfigError(
            "`run` needs an [mrio] section (use `grid` for production-based gridding only)",
            file=cfg.source,
            key="mrio",
            fix='add [mrio] path = "..."',
        )
    return _execute(cfg, with_mrio=True, resume=resume, progress=progress)


def _execute(cfg: Config, *, with_mrio: bool, resume: bool, progress: bool) -> xr.Dataset:
    final = Path(cfg.output["path"])
    store.prepare_output(final, cfg.output["overwrite"], resume)
    prep = prepare(cfg)
    pts, ledger = prep.points, prep.ledger
    dtype = cfg.output["dtype"]

    key = np.full(len(pts), -1, dtype=np.int64)
    coef = None
    totals = None
    layout = store.Layout(prep.grid, dtype=dtype)
    if with_mrio:
        from engine.attribution_setup import attribute

        att, key, keep = attribute(cfg, pts)
        if not keep.all():
            ledger.drop("zero_output", pts.emission[~keep])
            key = np.where(keep, key, -1)
        coef = att.coef
        e_by_key = np.bincount(key[keep], weights=pts.emission[keep], minlength=len(att.keys))
        totals = att.totals(e_by_key)
        layout = store.Layout(
            prep.grid,
            consumers=tuple(att.consumers),
            categories=tuple(att.categories),
            domestic=tuple(bool(d) for d in att.domestic),
            regions=tuple(att.mrio_rows.unique(level=0)),
            sectors=tuple(att.mrio_rows.unique(level=1)),
            dtype=dtype,
        )
        totals = _totals_cube(att.mrio_rows, layout, totals)
        cell = np.where(key >= 0, prep.cell, -1)
    else:
        cell = prep.cell
        att = None

    tp = partition(prep.grid, cell, pts.emission, key)
    token = _run_token(cfg)
    partial = store.partial_path(final)
    skip: set[str] = set()
    if resume and partial.exists() and store.read_attrs(partial).get("run_token") == token:
        skip = store.done_blocks(partial)
        log.info("resuming: %d blocks already written", len(skip))
    else:
        if resume and partial.exists():
            log.warning("the interrupted store was made from other inputs; starting afresh")
        ds = store.template(layout, prep.territory, totals)
        store.create(partial, ds, layout, _attrs(cfg, prep, run_token=token))

    n_cons = len(layout.consumers)
    n_cat = len(layout.categories)
    bg = block_graph(
        str(partial),
        tp,
        coef,
        n_cons,
        n_cat,
        cfg.compute["consumer_chunk"],
        dtype,
        skip,
    )
    results = compute(
        bg.dsk,
        bg.keys,
        cfg.compute["scheduler"],
        cfg.compute["workers"],
        progress=progress,
    )
    sums = dict(zip(bg.keys, results, strict=True))
    earlier = done_sums(str(partial), skip)

    gridded = float(
        sum(float(sums[k]) for k in bg.emission_keys)
        + sum(float(v[0]) for lab, v in earlier.items() if lab.startswith("e_"))
    )
    attrs = _attrs(cfg, prep, run_token=token, gridded_total=gridded)
    if with_mrio:
        per_col = np.zeros(n_cons * n_cat)
        for k in bg.footprint_keys:
            ci = k[1]
            c0 = ci * cfg.compute["consumer_chunk"] * n_cat
            per_col[c0 : c0 + len(sums[k])] += sums[k]
        for lab, v in earlier.items():
            if lab.startswith("f_"):
                ci = int(lab.split("_")[1])
                c0 = ci * cfg.compute["consumer_chunk"] * n_cat
                per_col[c0 : c0 + len(v)] += v
        ledger_cols = totals.sum(axis=(0, 1)).ravel()
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
    if cfg.output["geotiff"]:
        store.export_geotiff(ds, final.with_name(final.stem + "_geotiff"))
    if with_mrio and cfg.output["firm_table"]:
        from engine.firm_table import write_firm_table

        write_firm_table(final.with_name(final.stem + "_firms.parquet"), pts, key, att)
    return ds


def _totals_cube(rows: Any, layout: store.Layout, totals: np.ndarray) -> np.ndarray:
    """(n, C, K) ledger rows -> (region, sector, C, K) with zeros for absent pairs."""
    r_index = {r: i for i, r in enumerate(layout.regions)}
    s_index = {s: i for i, s in enumerate(layout.sectors)}
    cube = np.zeros((len(layout.regions), len(layout.sectors), *totals.shape[1:]))
    ri = np.array([r_index[r] for r in rows.get_level_values(0)])
    si = np.array([s_index[s] for s in rows.get_level_values(1)])
    cube[ri, si] = totals
    return cube


def _attrs(cfg: Config, prep: Prepared, **extra: Any) -> dict[str, Any]:
    led = prep.ledger
    attrs: dict[str, Any] = {
        "units": store.UNITS,
        "footgrid_version": engine_version(),
        "config": cfg.text,
        "input_points": led.input_points,
        "input_total": led.input_total,
        "dropped": led.dropped_json(),
        "dropped_points": led.dropped_points,
        "dropped_total": led.dropped_total,
        "grid_crs": prep.grid.crs.to_wkt(),
    }
    if "gridded_total" in extra:
        attrs["mass_balance_residual"] = led.residual(extra["gridded_total"])
    attrs.update(extra)
    return attrs

"""The pipeline: config -> plan (points, grid, attribution) -> blocks -> Zarr store.

``grid_emissions`` makes the production-based raster only; ``run`` adds the footprint by
consumer and final-demand category and the exact national ledger ``totals``.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from footgrid import store
from footgrid._version import __version__
from footgrid.config import Config, load_config
from footgrid.errors import ConfigError
from footgrid.execution.blocks import BlockId
from footgrid.execution.in_memory import InMemoryPlan
from footgrid.execution.partitioned import PartitionedPlan
from footgrid.execution.scheduler import scheduler_for
from footgrid.grid import Grid
from footgrid.ledger import Ledger

log = logging.getLogger("footgrid")


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
        for f in sorted(glob.glob(p)) if any(c in p for c in "*?[") else [p]:
            f = Path(f)
            if f.is_file():
                st = f.stat()
                h.update(f"{f}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def grid_emissions(
    config: str | os.PathLike | dict | Config, *, progress: bool = False
) -> xr.Dataset:
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
    _no_batch(cfg)
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
    _no_batch(cfg)
    if not cfg.has_mrio:
        raise ConfigError(
            "`run` needs an [mrio] section (use `grid` for production-based gridding only)",
            file=cfg.source,
            key="mrio",
            fix='add [mrio] path = "..."',
        )
    return _execute(cfg, with_mrio=True, resume=resume, progress=progress)


def _no_batch(cfg: Config) -> None:
    if cfg.batch is not None:
        raise ConfigError(
            "a [batch] config is a set of runs",
            file=cfg.source,
            key="batch",
            fix="run it with `footgrid run CONFIG` or footgrid.batch.run_batch(CONFIG)",
        )


def _execute(cfg: Config, *, with_mrio: bool, resume: bool, progress: bool) -> xr.Dataset:
    final = Path(cfg.output["path"])
    store.prepare_output(final, cfg.output["overwrite"], resume)
    with scheduler_for(cfg.compute["scheduler"], cfg.compute["workers"]) as scheduler:
        kind = PartitionedPlan if cfg.compute["larger_than_memory"] else InMemoryPlan
        plan = kind(cfg, with_mrio, scheduler)
        ledger, layout = plan.ledger, plan.layout
        token = _run_token(cfg)
        partial = store.partial_path(final)
        done: dict[BlockId, np.ndarray] = {}
        if resume and partial.exists() and store.read_attrs(partial).get("run_token") == token:
            done = {BlockId.from_label(k): v for k, v in store.done_blocks(partial).items()}
            log.info("resuming: %d blocks already written", len(done))
        else:
            if resume and partial.exists():
                log.warning("the interrupted store was made from other inputs; starting afresh")
            ds = store.template(layout, plan.territory, plan.totals)
            if plan.ensemble is not None:
                ds = plan.ensemble.template(ds, layout.grid)
            store.create(partial, ds, layout, _attrs(cfg, plan.grid, ledger, run_token=token))
        sums = plan.compute_blocks(str(partial), frozenset(done), progress)
    sums.update(done)
    gridded = float(sum(float(v[0]) for b, v in sums.items() if not b.is_footprint))
    attrs = _attrs(cfg, plan.grid, ledger, run_token=token, gridded_total=gridded)
    if layout.has_footprint:
        per_col = plan.spec(str(partial)).column_sums(sums)
        ledger_cols = plan.totals.sum(axis=(0, 1)).ravel()
        scale = max(abs(ledger_cols).sum(), 1e-300)
        attrs["footprint_residual"] = float(np.abs(per_col - ledger_cols).sum() / scale)
        attrs["home"] = [c for c, d in zip(layout.consumers, layout.domestic, strict=True) if d]
    if plan.ensemble is not None:
        plan.ensemble.finish(partial, plan.spec(str(partial)), layout.domestic)
        attrs.update(plan.ensemble.attrs())
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
    plan.finish(final)
    return ds


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

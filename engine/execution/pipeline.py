"""The pipeline: config -> plan (points, grid, attribution) -> blocks -> Zarr store.

``grid_emissions`` makes the production-based raster only; ``run`` adds the footprint by
consumer and final-demand category and the exact national ledger ``totals``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from footgrid import store
from footgrid._version import __version__
from footgrid.config import SCHEMA, Config, load_config
from footgrid.errors import ConfigError
from footgrid.execution.blocks import BlockId
from footgrid.execution.in_memory import InMemoryPlan
from footgrid.execution.plan import Plan
from footgrid.execution.scheduler import scheduler_for, use_client
from footgrid.grid import Grid
from footgrid.io.fingerprint import input_fingerprint
from footgrid.ledger import Ledger
from footgrid.progress import display, phase

log = logging.getLogger("footgrid")


def _run_token(cfg: Config, with_mrio: bool = True) -> str:
    """Identifies the command and the inputs (by content) of a run: --resume continues only
    the same run (not a ``grid`` by a ``run``, not other inputs)."""
    h = hashlib.blake2b(digest_size=12)
    h.update(b"run" if with_mrio else b"grid")
    h.update(cfg.text.encode())
    h.update(__version__.encode())
    h.update(input_fingerprint(cfg).encode())
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
    _no_batch(cfg)
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
    _no_batch(cfg)
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


def _no_batch(cfg: Config) -> None:
    if cfg.batch is not None:
        raise ConfigError(
            "a [batch] config is a set of runs",
            file=cfg.source,
            key="batch",
            fix="run it with `footgrid run CONFIG` or footgrid.batch.run_batch(CONFIG)",
        )


def _with_mrio(cfg: Config, mrio: Any) -> Config:
    """``cfg`` reading the MRIO from the IOSystem ``mrio`` (its ``[mrio]`` keys kept)."""

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
    if client is None:
        return cfg
    return dataclasses.replace(cfg, compute={**cfg.compute, "scheduler": "default"})


def _execute(
    cfg: Config, *, with_mrio: bool, resume: bool, progress: bool, client: Any = None
) -> xr.Dataset:
    url = cfg.output["path"]
    if "://" in url:  # an fsspec URL: staged locally, uploaded at the end
        # lazy: only URL outputs need the upload (and fsspec)
        from footgrid.store import remote

        local = remote.staging_path(url, cfg.output["staging"] or None)
        local.parent.mkdir(parents=True, exist_ok=True)
        cfg = dataclasses.replace(cfg, output={**cfg.output, "path": str(local)})
    with display(progress), use_client(client), store.output_lock(cfg.output["path"]):
        if "://" not in url:
            return _execute_locked(cfg, with_mrio=with_mrio, resume=resume, progress=progress)
        remote.prepare_remote(url, cfg.output["overwrite"], resume)
        if not (resume and store.is_complete(local)):  # else: only the upload was interrupted
            cfg = dataclasses.replace(cfg, output={**cfg.output, "overwrite": True})
            _execute_locked(cfg, with_mrio=with_mrio, resume=resume, progress=progress)
        with phase("uploading the store"):
            remote.upload(local, url)
        shutil.rmtree(local.parent, ignore_errors=True)
        return remote.open_remote(url)


def _execute_locked(cfg: Config, *, with_mrio: bool, resume: bool, progress: bool) -> xr.Dataset:
    final = Path(cfg.output["path"])
    store.prepare_output(final, cfg.output["overwrite"], resume)
    c = cfg.compute
    with scheduler_for(c["scheduler"], c["workers"], c["worker_timeout"]) as scheduler:
        kind: type[Plan] = InMemoryPlan
        if cfg.compute["larger_than_memory"]:
            # lazy: dask.dataframe costs ~0.4 s of imports, only larger-than-memory runs use it
            from footgrid.execution.partitioned import PartitionedPlan

            kind = PartitionedPlan
        plan = kind(cfg, with_mrio, scheduler)
        ledger, layout = plan.ledger, plan.layout
        token = _run_token(cfg, with_mrio)
        partial = store.partial_path(final)
        done: dict[BlockId, np.ndarray] = {}
        if resume and store.run_token_of(partial) == token:
            done = {BlockId.from_label(k): v for k, v in store.done_blocks(partial).items()}
            log.info("resuming: %d blocks already written", len(done))
        else:
            if resume and partial.exists():
                log.warning(
                    "the interrupted store was made by another command or from other inputs; "
                    "starting afresh"
                )
            ds = store.template(layout, plan.territory, plan.totals)
            if plan.ensemble is not None:
                ds = plan.ensemble.template(ds, layout.grid)
            attrs = _attrs(cfg, plan.grid, ledger, run_token=token)
            store.create(partial, ds, layout, attrs, zarr_format=cfg.output["zarr_format"])
        sums = plan.compute_blocks(str(partial), frozenset(done), progress)
    sums = dict(sorted({**done, **sums}.items()))  # one summation order, resumed or not
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
    _export_outputs(cfg, ds, final)
    with phase("firm table") if cfg.output["firm_table"] else contextlib.nullcontext():
        plan.finish(final)
    return ds


def _export_outputs(cfg: Config, ds: xr.Dataset, final: Path) -> None:
    """The ``[output] cog / geotiff / netcdf`` exports next to the store."""
    o = cfg.output
    if not (o["cog"] or o["netcdf"]):
        return
    # lazy: exports load rasterio's GDAL, cftime and the reprojection code (~0.5 s)
    from footgrid.store.export import export

    crs = o["export_crs"]
    if o["cog"]:
        with phase("export: COG"):
            folder = final.with_name(final.stem + ("_geotiff" if o["geotiff"] else "_cog"))
            export(ds, "cog", folder, crs=crs)
    if o["netcdf"]:
        with phase("export: NetCDF"):
            export(ds, "netcdf", final.with_name(final.stem + ".nc"), crs=crs)


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

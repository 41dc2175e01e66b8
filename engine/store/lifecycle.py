"""A store's life: checked before a run, created as ``<path>.partial``, committed by a rename.

Writes are atomic: until :func:`finish` renames the partial store, the final path is absent (or
still the previous complete store) and the partial store says ``complete = False``.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import dask
import numpy as np
import xarray as xr
import zarr

from footgrid.errors import InputError
from footgrid.store.chunks import write_block
from footgrid.store.journal import DONE_DIR
from footgrid.store.layout import Layout, encoding


def partial_path(path: str | os.PathLike) -> Path:
    """Where a run writes before the store is complete (renamed to ``path`` at the end)."""
    p = Path(path)
    return p.with_name(p.name + ".partial")


def prepare_output(path: str | os.PathLike, overwrite: bool, resume: bool) -> None:
    """Check that ``path`` may be written: an existing complete store needs ``overwrite``."""
    p = Path(path)
    if p.exists() and not overwrite and not resume:
        raise InputError(
            "the output store already exists",
            file=p,
            key="output.overwrite",
            fix="set [output] overwrite = true, or choose another [output] path",
        )
    if p.exists() and resume and not overwrite and is_complete(p):
        raise InputError(
            "the output store is already complete; there is nothing to resume",
            file=p,
            key="output.overwrite",
            fix="set [output] overwrite = true to recompute it",
        )


def create(path: Path, ds: xr.Dataset, layout: Layout, attrs: dict[str, Any]) -> None:
    """Write the template's metadata and small arrays into a fresh store at ``path``."""
    if path.exists():
        shutil.rmtree(path)
    ds = ds.assign_attrs(_jsonable({**attrs, "complete": False}))
    ds.to_zarr(
        path,
        mode="w",
        compute=False,
        encoding=encoding(ds, layout),
        consolidated=False,
        zarr_format=3,
    )
    (path / DONE_DIR).mkdir()
    g = layout.grid
    if g.constant_cell_area is None:
        for _, rows, cols in g.tiles():
            write_block(str(path), "cell_area", (rows, cols), g.cell_area(rows, cols))


def read_attrs(path: Path) -> dict[str, Any]:
    """Attributes of the store at ``path`` (without opening it with xarray)."""
    return dict(zarr.open_group(path, mode="r").attrs)


def finish(partial: Path, final: Path, attrs: dict[str, Any]) -> None:
    """Mark the store complete, consolidate its metadata and move it to its final path.

    The rename is the commit point: until it happens, ``final`` is absent (or still the
    previous complete store), and the partial store says ``complete = False``.
    """
    group = zarr.open_group(partial, mode="r+")
    group.attrs.update(_jsonable({**attrs, "complete": True}))
    shutil.rmtree(partial / DONE_DIR, ignore_errors=True)
    with warnings.catch_warnings():
        # Consolidated metadata is a zarr-python extension for v3; xarray reads it and warns
        # without it, so we write it on purpose.
        warnings.simplefilter("ignore", zarr.errors.ZarrUserWarning)
        zarr.consolidate_metadata(partial)
    if final.exists():
        old = final.with_name(final.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        partial.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        partial.rename(final)


def is_complete(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds a store whose run finished."""
    try:
        return bool(read_attrs(Path(path)).get("complete", False))
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, ValueError):
        return False


def open_store(path: str | os.PathLike) -> xr.Dataset:
    """Open a complete footgrid store lazily, with its CRS as the ``spatial_ref`` coordinate.

    Raises
    ------
    InputError
        The store is missing, is not a Zarr store, or is incomplete (an interrupted run).
    """
    p = Path(path)
    if not p.is_dir():
        raise InputError(
            "the store does not exist",
            file=p,
            fix="pass the .zarr folder written by `footgrid run CONFIG` or `footgrid grid CONFIG`",
        )
    if not is_complete(p):
        raise InputError(
            "the store is incomplete (its run was interrupted), or is not a footgrid store",
            file=p,
            fix="finish it with `footgrid run CONFIG --resume`",
        )
    try:
        ds = xr.open_zarr(p, decode_coords="all", consolidated=_is_consolidated(p))
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(
            f"cannot read the store as Zarr ({exc})",
            file=p,
            fix="pass the .zarr folder written by footgrid",
        ) from None
    # Small label coordinates (e.g. ``domestic``) are loaded eagerly; rasters stay lazy. With
    # dask's synchronous ``get`` given as a function: looking a scheduler up by name (or by
    # default) imports distributed (0.1-0.2 s) to find a client, for a few bytes.
    small = {
        k: ds[k].load(scheduler=dask.get) for k in ds.coords if k not in ds.dims and ds[k].ndim <= 1
    }
    return ds.assign_coords(small)


def _is_consolidated(path: Path) -> bool:
    """Whether the store carries consolidated metadata (footgrid's own stores always do)."""
    if (path / ".zmetadata").is_file():  # Zarr v2
        return True
    try:
        meta = json.loads((path / "zarr.json").read_text())
    except (OSError, ValueError):
        return False
    return meta.get("consolidated_metadata") is not None


def _jsonable(attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in attrs.items():
        if isinstance(v, np.generic):
            v = v.item()
        elif isinstance(v, dict | list | tuple):
            v = json.loads(json.dumps(v, default=float))
        out[k] = v
    return out

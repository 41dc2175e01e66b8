"""A store's life: checked before a run, created as ``<path>.partial``, committed by a rename.

Writes are atomic at every point a run can be killed:

- :func:`create` builds the store in ``<path>.partial.creating`` (metadata, small arrays,
  ``cell_area``) and renames it to ``<path>.partial`` when it is whole, so a partial store
  always has every array's metadata and ``cell_area``;
- :func:`finish` writes the final attributes (``complete = false``), consolidates, renames the
  partial store to ``path`` and only then sets ``complete = true`` by an atomic replace of the
  root ``zarr.json``. A store killed between the rename and that replace reads as incomplete,
  and ``--resume`` (:func:`prepare_output`) moves it back to ``<path>.partial`` and finishes it;
- :func:`output_lock` lets one run at a time write a given path.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import socket
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import numpy as np
import xarray as xr
import zarr

from footgrid.errors import ConfigError, InputError
from footgrid.store.chunks import write_block
from footgrid.store.journal import DONE_DIR
from footgrid.store.layout import Layout, encoding

log = logging.getLogger("footgrid")


def partial_path(path: str | os.PathLike) -> Path:
    """Where a run writes before the store is complete (renamed to ``path`` at the end)."""
    p = Path(path)
    return p.with_name(p.name + ".partial")


def prepare_output(path: str | os.PathLike, overwrite: bool, resume: bool) -> None:
    """Check that ``path`` may be written: an existing complete store needs ``overwrite``.

    With ``resume``, a store that was renamed into place but not yet marked complete (a run
    killed inside :func:`finish`) is moved back to its partial path, to be finished.
    """
    p = Path(path)
    if p.is_file() or (p.is_symlink() and not p.exists()):
        raise InputError(
            "the output path is a file (or a broken link), not a store",
            file=p,
            key="output.path",
            fix="set [output] path to a new .zarr path",
        )
    partial = partial_path(p)
    if resume and p.is_dir() and not is_complete(p) and (p / DONE_DIR).is_dir():
        if not partial.exists():
            log.info("the interrupted run had renamed its store already; finishing it")
            p.rename(partial)
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


def create(
    path: Path, ds: xr.Dataset, layout: Layout, attrs: dict[str, Any], zarr_format: int = 3
) -> None:
    """Write the template's metadata, small arrays and ``cell_area`` into a fresh store at ``path``.

    The store is built beside ``path`` and renamed to it once whole (see the module).
    ``zarr_format`` 3 (default) or 2 (read by GDAL 3.4 to 3.10, which do not read Zarr v3).

    Raises
    ------
    ConfigError
        When the gridded tonnes (``input_total - dropped_total`` of ``attrs``) could overflow
        ``[output] dtype`` (float32 above 3.4e38 t): the store would hold ``inf``.
    """
    _check_range(layout, attrs)
    staging = path.with_name(path.name + ".creating")
    for old in (staging, path):
        if old.exists():
            shutil.rmtree(old)
    ds = ds.assign_attrs(_jsonable({**attrs, "complete": 0}))
    ds.to_zarr(
        staging,
        mode="w",
        compute=False,
        encoding=encoding(ds, layout, zarr_format),
        consolidated=False,
        zarr_format=zarr_format,
    )
    (staging / DONE_DIR).mkdir()
    g = layout.grid
    # Written whole even when constant: GDAL reads a fill value as nodata.
    for _, rows, cols in g.tiles():
        write_block(str(staging), "cell_area", (rows, cols), g.cell_area(rows, cols))
    staging.rename(path)


def _check_range(layout: Layout, attrs: dict[str, Any]) -> None:
    dtype = np.dtype(layout.dtype)
    if dtype.kind != "f":
        return
    top = float(np.finfo(dtype).max)
    total = float(attrs.get("input_total", 0.0)) - float(attrs.get("dropped_total", 0.0))
    if not total < top:
        raise ConfigError(
            f"the gridded emissions total {total:.4g} t exceeds the largest {dtype} value "
            f"({top:.4g}); cells and footprints would be stored as inf",
            key="output.dtype",
            fix='set [output] dtype = "float64", or check the emission column\'s units',
        )


def read_attrs(path: Path) -> dict[str, Any]:
    """Attributes of the store at ``path`` (without opening it with xarray)."""
    return dict(zarr.open_group(path, mode="r").attrs)


def run_token_of(path: Path) -> str | None:
    """The ``run_token`` attribute of the store in progress at ``path`` (None: no such store)."""
    try:
        return read_attrs(path).get("run_token")
    except (OSError, ValueError, KeyError, zarr.errors.GroupNotFoundError):
        return None


def finish(partial: Path, final: Path, attrs: dict[str, Any]) -> None:
    """Write the final attributes, consolidate, move the store to ``final``, mark it complete.

    Crash-safe at every point: ``complete = true`` is written last, by an atomic replace of
    ``final/zarr.json``, after the rename; the journal of blocks is removed after that.
    Until then the store reads as incomplete and ``--resume`` finishes it.
    """
    group = zarr.open_group(partial, mode="r+")
    group.attrs.update(_jsonable({**attrs, "complete": 0}))
    with warnings.catch_warnings():
        # Consolidated metadata is a zarr-python extension for v3; xarray reads it and warns
        # without it, so we write it on purpose.
        warnings.simplefilter("ignore", zarr.errors.ZarrUserWarning)
        zarr.consolidate_metadata(partial)
    old = final.with_name(final.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    partial.rename(final)
    _mark_complete(final)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(final / DONE_DIR, ignore_errors=True)


def _mark_complete(path: Path) -> None:
    """Set ``complete = 1`` in the root metadata of ``path``: each file replaced atomically.

    Zarr v3 keeps the root attributes in ``zarr.json``; Zarr v2 in ``.zattrs`` and, for
    consolidated readers, in ``.zmetadata`` (written last: the commit point).
    """
    if (path / ".zattrs").is_file():
        _replace_json(path / ".zattrs", lambda d: d.update(complete=1))
        _replace_json(path / ".zmetadata", lambda d: d["metadata"][".zattrs"].update(complete=1))
    else:
        _replace_json(path / "zarr.json", lambda d: d["attributes"].update(complete=1))


def _replace_json(meta: Path, change: Any) -> None:
    """Apply ``change`` to the JSON document ``meta``: a new file, fsynced, then a rename."""
    doc = json.loads(meta.read_text())
    change(doc)
    tmp = meta.with_name("." + meta.name.lstrip(".") + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(doc, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, meta)
    path = meta.parent
    with contextlib.suppress(OSError):  # not every file system can fsync a folder
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file of output ``path``: ``<path>.lock``."""
    p = Path(path)
    return p.with_name(p.name + ".lock")


@contextlib.contextmanager
def output_lock(path: str | os.PathLike) -> Iterator[Path]:
    """Hold the lock of output ``path`` for one run: no other run may write it meanwhile.

    The lock is ``<path>.lock``, made whole under a temporary name and hard-linked into place
    (atomic and exclusive; an exclusive create where links are not supported); it names the
    host, process and start time. A lock whose process is gone (same host, no such process)
    is stale and taken over with a warning; otherwise the run stops with an error naming the
    other run. The lock is removed when the run ends, whatever the outcome.

    Raises
    ------
    InputError
        Another run holds the lock, or the output folder cannot be written.
    """
    lock = lock_path(path)
    info = {"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            if _take(lock, info):
                break
            other = _read_lock(lock)
            if other is None:  # released meanwhile
                continue
            if _stale(other):
                log.warning("taking over the stale lock %s of a run that ended (%s)", lock, other)
                with contextlib.suppress(FileNotFoundError):
                    if _read_lock(lock) == other:
                        lock.unlink()
                continue
            raise InputError(
                f"another footgrid run is writing this output ({_describe(other)})",
                file=Path(path),
                key="output.path",
                fix="wait for that run to end, or choose another [output] path; if no such "
                f"run exists any more, delete {lock}",
            )
        else:
            raise InputError(
                "could not take the output lock (another run keeps taking it)",
                file=lock,
                key="output.path",
                fix="wait for the other run to end, or choose another [output] path",
            )
    except OSError as exc:
        raise InputError(
            f"cannot write into the output folder ({exc.strerror or exc})",
            file=lock.parent,
            key="output.path",
            fix="check that the folder exists and is writable, or choose another [output] path",
        ) from None
    try:
        yield lock
    except OSError as exc:
        raise _storage_error(exc, Path(path)) from None
    finally:
        with contextlib.suppress(OSError):
            if _read_lock(lock) == info:
                lock.unlink()


def _storage_error(exc: OSError, path: Path) -> Exception:
    """A full disk or an unwritable folder met while writing ``path``, as an InputError."""
    where = exc.filename or path
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        what, fix = "no space left on the device", "free some space (or set [output] path"
        fix += " to another disk), then finish the run with footgrid run CONFIG --resume"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        what = f"cannot write the output ({exc.strerror})"
        fix = "make the folder writable, or set [output] path to a writable folder"
    else:
        return exc
    return InputError(f"{what} while writing {where}", file=path, key="output.path", fix=fix)


def _take(lock: Path, info: dict[str, Any]) -> bool:
    text = json.dumps(info)
    tmp = lock.with_name(f"{lock.name}.{info['host']}-{info['pid']}.tmp")
    tmp.write_text(text)
    try:
        os.link(tmp, lock)
        return True
    except FileExistsError:
        return False
    except OSError:  # no hard links here: an exclusive create (the file may be empty briefly)
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _read_lock(lock: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(lock.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _stale(info: dict[str, Any]) -> bool:
    """Whether the run that wrote lock ``info`` is gone (only knowable on the same host)."""
    if info.get("host") != socket.gethostname() or not isinstance(info.get("pid"), int):
        return False
    try:
        os.kill(info["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _describe(info: dict[str, Any] | None) -> str:
    if not info:
        return "its lock file is unreadable"
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.get("started", 0)))
    return f"host {info.get('host')}, process {info.get('pid')}, started {when}"


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
    """Attributes every format keeps: numbers and text (netCDF has no bool, dict or list of
    text, so flags are 0/1 and structures are JSON text)."""
    out = {}
    for k, v in attrs.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, bool):
            v = int(v)
        elif isinstance(v, dict | list | tuple):
            v = json.dumps(v, default=float)
        out[k] = v
    return out

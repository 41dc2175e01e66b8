"""Stores at an fsspec URL (``[output] path = "s3://bucket/run.zarr"``, ``memory://``, ``file://``).

Design: a run whose output is a URL writes its store on the local disk first, in a staging
folder (``[output] staging``, default ``<tmp>/footgrid-staging``), through the same lifecycle as
a local store (lock, staged create, journal of blocks for ``--resume``, finish with
``complete = 1``); the finished store is then uploaded by :func:`upload`, and its *root
metadata is uploaded last*. A Zarr reader finds no store at the URL until that last object
lands, and the root metadata it then finds says ``complete = 1`` and carries the consolidated
metadata of every array: the remote store never reads as complete, nor as a store at all,
before every chunk is there. An existing remote store being replaced loses its root metadata
first (it stops reading as a store), then the rest of its objects.

An interrupted run resumes locally (``--resume`` finds the staged store and its journal); an
interrupted upload is redone by ``--resume`` from the complete staged store. The staged store
is removed once the upload is whole. The local lock keeps two runs on one machine from writing
the same URL; object stores have no lock of their own, so two machines must not write one URL.
Chunks are written as files and uploaded with ``fs.put`` (concurrent for asynchronous file
systems such as s3fs), so the block tasks never wait on the network.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import dask
import xarray as xr
import zarr

from footgrid.errors import InputError

log = logging.getLogger("footgrid")

#: Root metadata files, in upload order: the last one is the commit point (Zarr v3:
#: ``zarr.json``; Zarr v2: ``.zmetadata``, which consolidated readers open first).
ROOT_METADATA = (".zgroup", ".zattrs", "zarr.json", ".zmetadata")


def is_url(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an fsspec URL (``protocol://...``) rather than a local path."""
    return "://" in str(path)


def staging_path(url: str, staging: str | None = None) -> Path:
    """The local store a run for ``url`` writes before uploading it.

    ``<staging>/<hash of the URL>/<store name>`` (``staging`` default: the system's temporary
    folder's ``footgrid-staging``): the same URL always stages at the same place, so
    ``--resume`` finds it.
    """
    root = Path(staging) if staging else Path(tempfile.gettempdir()) / "footgrid-staging"
    digest = hashlib.blake2b(url.encode(), digest_size=8).hexdigest()
    name = url.rstrip("/").rsplit("/", 1)[-1] or "store.zarr"
    return root / digest / name


def _fs(url: str) -> tuple[Any, str]:
    # lazy: only URL outputs need fsspec
    import fsspec

    fs, root = fsspec.core.url_to_fs(url)
    return fs, root.rstrip("/")


def remote_complete(url: str) -> bool | None:
    """Whether the store at ``url`` is complete (None: no root metadata there, so no store)."""
    fs, root = _fs(url)
    if not any(fs.exists(f"{root}/{m}") for m in ROOT_METADATA):
        return None  # objects of an interrupted upload perhaps, but no store
    try:
        return bool(zarr.open_group(url, mode="r").attrs.get("complete", False))
    except (OSError, ValueError, KeyError, zarr.errors.GroupNotFoundError):
        return False


def prepare_remote(url: str, overwrite: bool, resume: bool) -> None:
    """Check that ``url`` may be written: an existing complete store needs ``overwrite``."""
    done = remote_complete(url)
    if done and not overwrite:
        raise InputError(
            "the output store already exists" + ("; there is nothing to resume" if resume else ""),
            file=url,
            key="output.overwrite",
            fix="set [output] overwrite = true, or choose another [output] path",
        )
    if done is False and not overwrite and not resume:
        raise InputError(
            "an incomplete store is at the output URL (written by something else than footgrid's "
            "upload, which writes the root metadata last)",
            file=url,
            key="output.overwrite",
            fix="finish it with footgrid run CONFIG --resume, or set [output] overwrite = true",
        )


def upload(local: Path, url: str) -> None:
    """Upload the complete store ``local`` to ``url``, root metadata last (see the module).

    Whatever was at ``url`` is removed first, its root metadata before anything else.
    """
    fs, root = _fs(url)
    if fs.exists(root):
        for m in ROOT_METADATA:
            if fs.exists(f"{root}/{m}"):
                fs.rm(f"{root}/{m}")
        fs.rm(root, recursive=True)
    files = sorted(p for p in local.rglob("*") if p.is_file())
    last = {local / m: i for i, m in enumerate(ROOT_METADATA)}
    body = [p for p in files if p not in last]
    head = sorted((p for p in files if p in last), key=last.__getitem__)

    def remote(p: Path) -> str:
        return f"{root}/{p.relative_to(local).as_posix()}"

    for folder in sorted({remote(p).rsplit("/", 1)[0] for p in files}):
        fs.makedirs(folder, exist_ok=True)
    if body:
        fs.put([str(p) for p in body], [remote(p) for p in body])
    for p in head:  # one at a time, in order: the last is the commit point
        fs.put_file(str(p), remote(p))
    log.info("uploaded %d files of %s to %s", len(files), local, url)


def open_remote(url: str) -> Any:
    """Open the complete store at ``url`` lazily (as :func:`footgrid.store.open_store`).

    Raises
    ------
    InputError
        No store at ``url``, or an incomplete one.
    """
    done = remote_complete(url)
    if not done:
        raise InputError(
            "the store does not exist" if done is None else "the store is incomplete",
            file=url,
            fix="write it with `footgrid run CONFIG` (an interrupted upload: --resume)",
        )
    ds = xr.open_zarr(url, decode_coords="all", consolidated=True)
    small = {
        k: ds[k].load(scheduler=dask.get) for k in ds.coords if k not in ds.dims and ds[k].ndim <= 1
    }
    return ds.assign_coords(small)

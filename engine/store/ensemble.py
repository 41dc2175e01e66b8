"""The ensemble part of a store: statistics rasters, per-member scalars, the members' journal.

An ensemble store is a deterministic store plus, for ``footprint`` and ``emissions``, the
``_mean``, ``_std`` (sample, ddof 1) and ``_quantile`` rasters (a leading ``quantile``
dimension), chunked like their deterministic array, and per member the headline scalars:
``member_footprint_total(member, consumer)``, ``member_emissions_total(member)``,
``member_foreign_share(member)``, ``member_area_share(member, fraction)`` (smallest share of
territory area holding each fraction of the emissions), ``member_held(member, lorenz_area)``
(each member's Lorenz curve, densest land first) and ``member_hub_total(member, hub)`` (the
emissions of the deterministic hubs, whose totals are ``hub_total(hub)``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import xarray as xr
import zarr

from footgrid.store.layout import (
    COMPRESSORS,
    FOOTPRINT_ORDER,
    UNITS,
    footprint_chunk_consumers,
)

#: Folder inside a store in progress with the members' block totals (one file per process).
MEMBERS_DIR = ".footgrid_members"
STATISTICS = ("mean", "std", "quantile")


def add_statistics(
    ds: xr.Dataset, quantiles: tuple[float, ...], tile: tuple[int, int]
) -> xr.Dataset:
    """``ds`` (a store template) with lazy zero statistics rasters and the ``quantile`` coordinate.

    Each statistic has the Zarr chunks and cell-major layout of the raster it describes (one
    more leading axis of chunk 1 for the quantiles), so the block tasks write whole chunks;
    ``tile`` is the (rows, columns) of a raster chunk.
    """
    ds = ds.assign_coords(quantile=np.asarray(quantiles, dtype=np.float64))
    for name in ("emissions", "footprint"):
        if name not in ds:
            continue
        base = ds[name]
        chunks: tuple[int, ...] = tile
        filters: dict[str, tuple] = {}
        if name == "footprint":  # (ensembles are Zarr v3 stores: the config refuses v2)
            n_cons, n_cat = ds.sizes["consumer"], ds.sizes["category"]
            chunks = (footprint_chunk_consumers(n_cons, n_cat), n_cat, *tile)
            cell_major = (zarr.codecs.TransposeCodec(order=FOOTPRINT_ORDER),)
            quant_order = (0, *(i + 1 for i in FOOTPRINT_ORDER))
            filters = {
                "mean": cell_major,
                "std": cell_major,
                "quantile": (zarr.codecs.TransposeCodec(order=quant_order),),
            }
        for stat in STATISTICS:
            dims = base.dims if stat != "quantile" else ("quantile", *base.dims)
            shape = tuple(ds.sizes[d] for d in dims)
            var = f"{name}_{stat}"
            ds[var] = (dims, da.zeros(shape, chunks=-1, dtype=base.dtype))
            ds[var].attrs.update(
                units=UNITS,
                long_name=f"ensemble {stat} of {name}",
                grid_mapping="spatial_ref",
            )
            ds[var].encoding = {
                "_FillValue": None,
                "fill_value": 0.0,
                "compressors": COMPRESSORS,
                "chunks": chunks if stat != "quantile" else (1, *chunks),
            }
            if stat in filters:
                ds[var].encoding["filters"] = filters[stat]
    return ds


def journal_members(path: str, label: str, sums: np.ndarray) -> None:
    """Record the members' totals of block ``label`` (members × columns) of a store in progress.

    Written before the block's own journal line, so a block the journal calls done always has
    its members' totals (a block written twice records the same values twice).
    """
    folder = os.path.join(path, MEMBERS_DIR)
    os.makedirs(folder, exist_ok=True)
    line = ("\n" + json.dumps([label, np.asarray(sums).tolist()]) + "\n").encode()
    name = os.path.join(folder, f"{socket.gethostname()}-{os.getpid()}.jsonl")
    fd = os.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def journal_histogram(path: str, label: str, hist: np.ndarray) -> None:
    """Record the members' density histogram of emission block ``label`` (sparse, ``.npz``).

    Written (atomically: a temporary file renamed) before the block's members' totals.
    """
    folder = os.path.join(path, MEMBERS_DIR)
    os.makedirs(folder, exist_ok=True)
    flat = hist.ravel()
    where = np.flatnonzero(flat)
    name = os.path.join(folder, f"hist-{label}.npz")
    tmp = f"{name}.{socket.gethostname()}-{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        np.savez(fh, shape=np.asarray(hist.shape), where=where, values=flat[where])
    os.replace(tmp, name)


def member_histograms(path: Path, labels: list[str], shape: tuple[int, ...]) -> np.ndarray:
    """The sum of the recorded histograms of blocks ``labels`` (in that order), dense."""
    out = np.zeros(int(np.prod(shape)))
    for label in labels:
        with np.load(path / MEMBERS_DIR / f"hist-{label}.npz") as f:
            out[f["where"]] += f["values"]
    return out.reshape(shape)


def member_sums(path: Path) -> dict[str, np.ndarray]:
    """The members' totals of every block recorded in the store in progress at ``path``."""
    out: dict[str, np.ndarray] = {}
    folder = path / MEMBERS_DIR
    for journal in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
        for line in journal.read_bytes().split(b"\n")[:-1]:
            if not line:
                continue
            try:
                label, sums = json.loads(line)
            except ValueError:
                continue
            out[str(label)] = np.asarray(sums, dtype=np.float64)
    return out


def write_members(path: Path, data: dict[str, tuple[tuple[str, ...], Any]], n: int) -> None:
    """Add the per-member variables ``data`` (name -> (dims, values)) and the ``member``
    coordinate to the store in progress at ``path``, then drop the members' journal.

    Written with zarr directly (``dimension_names`` as xarray writes them): the store in
    progress also holds the journals' folders, which are not Zarr nodes.
    """
    group = zarr.open_group(path, mode="r+", zarr_format=3)
    arrays = {"member": (("member",), np.arange(n, dtype=np.int64)), **data}
    coords = {name for name, (dims, _) in arrays.items() if dims == (name,)}
    for name, (dims, values) in arrays.items():
        values = np.asarray(values)
        arr = group.create_array(
            name,
            shape=values.shape,
            dtype=values.dtype,
            dimension_names=dims,
            fill_value=0,
            overwrite=True,
        )
        arr[...] = values
        if name not in coords:
            arr.attrs["long_name"] = name.replace("_", " ")
    shutil.rmtree(path / MEMBERS_DIR, ignore_errors=True)

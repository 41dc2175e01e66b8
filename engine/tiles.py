"""Points partitioned by tile, and the dask graph of per-(consumer chunk × tile) blocks.

Each task computes one block with a Numba kernel and writes it straight into the Zarr store, so
peak memory is a few blocks, not the grid. Graph names derive from ``dask.base.tokenize``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from dask.base import tokenize

from engine import store
from engine.grid import Grid
from kernels import attribute_block, partition_by_tile, scatter_add


@dataclass(frozen=True)
class TiledPoints:
    """Points grouped by tile (stable counting sort): tile ``t`` is ``[offsets[t], offsets[t+1])``.

    ``local`` is the flat cell index inside the tile, ``key`` the coefficient row (-1: none),
    ``emission`` the tonnes; all three in tile order.
    """

    grid: Grid
    offsets: np.ndarray
    local: np.ndarray
    key: np.ndarray
    emission: np.ndarray

    def tile(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(local, key, emission) of the points in tile ``t`` (views, no copy)."""
        s = slice(int(self.offsets[t]), int(self.offsets[t + 1]))
        return self.local[s], self.key[s], self.emission[s]

    def nonempty(self) -> np.ndarray:
        """Ids of the tiles that hold at least one point."""
        return np.flatnonzero(np.diff(self.offsets) > 0)

    def __dask_tokenize__(self) -> tuple:
        return (
            TiledPoints,
            self.grid,
            self.offsets,
            self.local,
            self.key,
            self.emission,
        )


def partition(grid: Grid, cell: np.ndarray, emission: np.ndarray, key: np.ndarray) -> TiledPoints:
    """Group points (cell index -1: skipped) by the grid's tiles."""
    order, offsets, local = partition_by_tile(
        np.ascontiguousarray(cell, dtype=np.int64),
        grid.nx,
        grid.tile,
        grid.tile,
        grid.n_tiles_x,
        grid.n_tiles,
    )
    return TiledPoints(
        grid,
        offsets,
        local,
        np.ascontiguousarray(key[order], dtype=np.int64),
        np.ascontiguousarray(emission[order], dtype=np.float64),
    )


# ----------------------------------------------------------------------------- tasks
def _tile_points(local: np.ndarray, key: np.ndarray, emission: np.ndarray) -> tuple:
    return local, key, emission


def _emissions_task(
    path: str, label: str, pts: tuple, rows: slice, cols: slice, dtype: str
) -> float:
    local, _, emission = pts
    h, w = rows.stop - rows.start, cols.stop - cols.start
    out = np.zeros(h * w, dtype=np.float64)
    scatter_add(local, emission, out)
    store.write_block(path, "emissions", (rows, cols), out.reshape(h, w).astype(dtype), None)
    total = float(out.sum())
    _mark(path, label, [total])
    return total


def _footprint_task(
    path: str,
    label: str,
    pts: tuple,
    coef: np.ndarray,
    consumers: slice,
    n_categories: int,
    rows: slice,
    cols: slice,
    dtype: str,
) -> np.ndarray:
    local, key, emission = pts
    h, w = rows.stop - rows.start, cols.stop - cols.start
    n_cons = consumers.stop - consumers.start
    out = np.empty((n_cons * n_categories, h * w), dtype=dtype)
    sums, abs_sums = attribute_block(
        local, key, emission, coef, consumers.start * n_categories, out
    )
    cube = out.reshape(n_cons, n_categories, h, w)
    nonzero = abs_sums.reshape(n_cons, n_categories).sum(axis=1) > 0
    store.write_block(path, "footprint", (consumers, slice(None), rows, cols), cube, nonzero)
    _mark(path, label, sums.tolist())
    return sums


def _mark(path: str, label: str, sums: list[float]) -> None:
    # Atomic: a run killed while marking leaves a stray ``.tmp`` file, never a torn marker.
    final = os.path.join(path, store.DONE_DIR, label)
    with open(final + ".tmp", "w") as fh:
        json.dump(sums, fh)
    os.replace(final + ".tmp", final)


def done_sums(path: str, labels: set[str]) -> dict[str, np.ndarray]:
    """Block sums recorded by finished tasks of an earlier (interrupted) run."""
    out = {}
    for label in labels:
        with open(os.path.join(path, store.DONE_DIR, label)) as fh:
            out[label] = np.asarray(json.load(fh), dtype=np.float64)
    return out


@dataclass(frozen=True)
class BlockGraph:
    """A dask graph (plain dict), its output keys and their block labels.

    Labels are ``e_<tile>`` for emission tiles and ``f_<consumer chunk>_<tile>`` for footprint
    blocks; each task returns its block's float64 sum (per column for footprint blocks).
    """

    dsk: dict[Any, Any]
    keys: list[tuple]
    labels: list[str]


def block_graph(
    path: str,
    tp: TiledPoints,
    coef: np.ndarray | None,
    n_consumers: int,
    n_categories: int,
    consumer_chunk: int,
    dtype: str,
    skip: set[str],
) -> BlockGraph:
    """One task per non-empty tile for ``emissions`` and one per (consumer chunk × tile) block.

    Blocks whose label is in ``skip`` (already written by an interrupted run) get no task.
    Names are deterministic: the same inputs give the same graph.
    """
    token = tokenize(path, tp, coef, n_consumers, n_categories, consumer_chunk, dtype)
    grid = tp.grid
    dsk: dict[Any, Any] = {}
    keys: list[tuple] = []
    labels: list[str] = []
    coef_key = f"coef-{token}"
    if coef is not None:
        dsk[coef_key] = coef
    chunks = [
        slice(c, min(c + consumer_chunk, n_consumers))
        for c in range(0, n_consumers, consumer_chunk)
    ]
    for t in tp.nonempty().tolist():
        rows, cols = grid.tile_slices(t)
        pkey = (f"points-{token}", t)
        needed = False
        label = f"e_{t}"
        if label not in skip:
            k = (f"emissions-{token}", t)
            dsk[k] = (_emissions_task, path, label, pkey, rows, cols, dtype)
            keys.append(k)
            labels.append(label)
            needed = True
        if coef is not None:
            for ci, cs in enumerate(chunks):
                label = f"f_{ci}_{t}"
                if label in skip:
                    continue
                k = (f"footprint-{token}", ci, t)
                dsk[k] = (
                    _footprint_task, path, label, pkey, coef_key, cs, n_categories, rows, cols,
                    dtype,
                )  # fmt: skip
                keys.append(k)
                labels.append(label)
                needed = True
        if needed:
            dsk[pkey] = (_tile_points, *tp.tile(t))
    return BlockGraph(dsk, keys, labels)

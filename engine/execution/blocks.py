"""Points partitioned by tile, and the dask graph of per-(consumer chunk × tile) blocks.

Each task computes one block with a Numba kernel and writes it straight into the Zarr store, so
peak memory is a few blocks, not the grid. Graph names derive from ``dask.base.tokenize``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
from dask.base import tokenize

from footgrid import store
from footgrid.execution.threads import cpu_count, range_offsets, run_jobs, split
from footgrid.grid import Grid
from footgrid.kernels import (
    attribute_block,
    clear_cells,
    count_tiles,
    emission_block,
    group_by_cell,
    place_points,
)


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


def partition(
    grid: Grid,
    cell: np.ndarray,
    emission: np.ndarray,
    key: np.ndarray,
    workers: int | None = None,
) -> TiledPoints:
    """Group points (cell index -1: skipped) by the grid's tiles, on ``workers`` threads.

    A stable counting sort in two passes over disjoint ranges of points (tile ids and counts
    per range, then placement at per-range offsets): points grouped by tile, in input order
    inside a tile, whatever the number of threads.
    """
    cell = np.ascontiguousarray(cell, dtype=np.int64)
    key = np.ascontiguousarray(key, dtype=np.int64)
    emission = np.ascontiguousarray(emission, dtype=np.float64)
    n, n_tiles, tile = cell.shape[0], grid.n_tiles, grid.tile
    ranges = split(n, workers or cpu_count()) if n else []
    tile_of = np.empty(n, dtype=np.int32 if n_tiles < 2**31 else np.int64)
    counts = np.zeros((len(ranges), n_tiles), dtype=np.int64)
    run_jobs(
        [
            partial(
                count_tiles, cell, grid.nx, tile, tile, grid.n_tiles_x, a, b, tile_of, counts[i]
            )
            for i, (a, b) in enumerate(ranges)
        ]
    )
    offsets, fills = range_offsets(counts)
    kept = int(offsets[-1])
    local = np.empty(kept, dtype=np.int64)
    key_out = np.empty(kept, dtype=np.int64)
    emission_out = np.empty(kept, dtype=np.float64)
    run_jobs(
        [
            partial(
                place_points,
                cell,
                tile_of,
                key,
                emission,
                grid.nx,
                tile,
                tile,
                a,
                b,
                fills[i],
                local,
                key_out,
                emission_out,
            )
            for i, (a, b) in enumerate(ranges)
        ]
    )
    return TiledPoints(grid, offsets, local, key_out, emission_out)


# ----------------------------------------------------------------------------- tasks
class _Scratch(threading.local):
    """Per-thread flat buffers, all-zero between uses (one per dtype)."""

    def __init__(self) -> None:
        self.free: dict[str, np.ndarray] = {}


_SCRATCH = _Scratch()


@contextlib.contextmanager
def _zeroed(shape: tuple[int, int], dtype: str, cells: np.ndarray) -> Iterator[np.ndarray]:
    """An all-zero ``shape`` array of this thread, zeroed again on exit.

    The kernels write only ``[:, cells]``, so zeroing those entries again is enough: no block
    pays for a fresh zero-filled array (8 MB per block of 8 consumers at tile 512). After an
    error the buffer is dropped instead of reused.
    """
    n = shape[0] * shape[1]
    buf = _SCRATCH.free.pop(dtype, None)
    if buf is None or buf.size < n:
        buf = np.zeros(max(n, buf.size if buf is not None else 0), dtype=dtype)
    view = buf[:n].reshape(shape)
    yield view
    clear_cells(view, cells)
    _SCRATCH.free[dtype] = buf


def _emissions_task(
    path: str, label: str, pts: tuple, rows: slice, cols: slice, dtype: str
) -> float:
    cells, starts, _, emission = pts
    h, w = rows.stop - rows.start, cols.stop - cols.start
    with _zeroed((1, h * w), dtype, cells) as out:
        total = emission_block(cells, starts, emission, out[0])
        store.write_block(path, "emissions", (rows, cols), out.reshape(h, w), None)
    store.journal_block(path, label, [total])
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
    cells, starts, key, emission = pts
    h, w = rows.stop - rows.start, cols.stop - cols.start
    n_cons = consumers.stop - consumers.start
    with _zeroed((n_cons * n_categories, h * w), dtype, cells) as out:
        sums, abs_sums = attribute_block(
            cells, starts, key, emission, coef, consumers.start * n_categories, out
        )
        cube = out.reshape(n_cons, n_categories, h, w)
        nonzero = abs_sums.reshape(n_cons, n_categories).sum(axis=1) > 0
        store.write_block(path, "footprint", (consumers, slice(None), rows, cols), cube, nonzero)
    store.journal_block(path, label, sums.tolist())
    return sums


def consumer_chunks(n_consumers: int, size: int) -> list[slice]:
    """The consumer ranges of footprint blocks: ``size`` consumers each, the last one shorter.

    Block ``f_<i>_<tile>`` holds the consumers of range ``i``.
    """
    return [slice(c, min(c + size, n_consumers)) for c in range(0, n_consumers, size)]


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
    chunks = consumer_chunks(n_consumers, consumer_chunk)
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
            # The tile's points grouped by cell, once, for all its blocks (``pts`` of the
            # tasks above: ``cells, starts, key, emission``).
            dsk[pkey] = (
                group_by_cell,
                *tp.tile(t),
                (rows.stop - rows.start) * (cols.stop - cols.start),
            )
    return BlockGraph(dsk, keys, labels)

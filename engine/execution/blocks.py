"""Blocks: points partitioned by tile, what blocks a tile has, and how one is computed.

A block is the emission raster of one tile, or the footprint of one chunk of consumers on one
tile. Both execution plans (in memory, larger than memory) enumerate a tile's blocks with
:meth:`BlockSpec.blocks_of_tile` and compute each with :meth:`BlockSpec.compute`: a Numba
kernel fills the block, which is written straight into the Zarr store and journalled, so peak
memory is a few blocks, not the grid.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np

from footgrid import store
from footgrid.execution.threads import cpu_count, range_offsets, run_jobs, split
from footgrid.grid import Grid
from footgrid.kernels import (
    attribute_block,
    clear_cells,
    count_tiles,
    emission_block,
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
def _zeroed(shape: tuple[int, int, int], dtype: str, cells: np.ndarray) -> Iterator[np.ndarray]:
    """An all-zero (groups, n_cells, L) array of this thread, zeroed again on exit.

    The kernels write only ``[:, cells, :]``, so zeroing those entries again is enough: no
    block pays for a fresh zero-filled array (8 MB per block of 8 consumers at tile 512). After
    an error the buffer is dropped instead of reused.
    """
    n = int(np.prod(shape))
    buf = _SCRATCH.free.pop(dtype, None)
    if buf is None or buf.size < n:
        buf = np.zeros(max(n, buf.size if buf is not None else 0), dtype=dtype)
    view = buf[:n].reshape(shape)
    yield view
    clear_cells(view, cells)
    _SCRATCH.free[dtype] = buf


@dataclass(frozen=True, order=True)
class BlockId:
    """One block of the store: the emission tile (``chunk`` -1) or a footprint block.

    ``label`` is the block's name in the store's journal (``e_<tile>``, ``f_<chunk>_<tile>``).
    """

    tile: int
    chunk: int = -1

    @property
    def is_footprint(self) -> bool:
        """Whether this is a footprint block (a consumer chunk) rather than the emission tile."""
        return self.chunk >= 0

    @property
    def label(self) -> str:
        """The journal label."""
        return f"f_{self.chunk}_{self.tile}" if self.is_footprint else f"e_{self.tile}"

    @classmethod
    def from_label(cls, label: str) -> BlockId:
        """The block a journal label names (the inverse of :attr:`label`)."""
        kind, *nums = label.split("_")
        if kind == "e" and len(nums) == 1:
            return cls(int(nums[0]))
        if kind == "f" and len(nums) == 2:
            return cls(int(nums[1]), int(nums[0]))
        raise ValueError(f"not a block label: {label!r}")


def compute_block(spec: BlockSpec, block: BlockId, pts: tuple) -> np.ndarray:
    """``spec.compute(block, pts)`` (a dask task; dispatches to subclasses of BlockSpec)."""
    return spec.compute(block, pts)


def layers_view(x: np.ndarray, h: int, w: int, n_cat: int, n: int) -> np.ndarray:
    """The (..., consumer, category, y, x) view of cell-major layers ``x`` (..., h·w, k·n_cat):
    its first ``n`` consumers, as :class:`footgrid.store.ChunkWriter` takes a block."""
    k = x.shape[-1] // n_cat
    v = x.reshape(*x.shape[:-2], h, w, k, n_cat)[..., :n, :]
    m = x.ndim - 2
    return v.transpose(*range(m), m + 2, m + 3, m, m + 1)


def chunk_groups(consumers: slice, k: int) -> list[tuple[slice, slice]]:
    """The store chunks of a block's consumer range, ``k`` consumers each (the last shorter):
    per chunk, its consumers within the block and within the store."""
    n = consumers.stop - consumers.start
    return [
        (slice(a, min(a + k, n)), slice(consumers.start + a, consumers.start + min(a + k, n)))
        for a in range(0, n, k)
    ]


def align_up(n: int, k: int) -> int:
    """``n`` rounded up to a multiple of ``k``: block consumer ranges cover whole store chunks."""
    return -(-n // k) * k


def consumer_chunks(n_consumers: int, size: int) -> list[slice]:
    """The consumer ranges of footprint blocks: ``size`` consumers each, the last one shorter."""
    return [slice(c, min(c + size, n_consumers)) for c in range(0, n_consumers, size)]


@dataclass(frozen=True, eq=False)
class BlockSpec:
    """What every block of a run needs: the store, the grid, the coefficients and the layout.

    ``coef`` (keys × consumers·categories, float64) is None for production-only runs, which
    have emission blocks only.
    """

    path: str
    grid: Grid
    coef: np.ndarray | None
    n_consumers: int
    n_categories: int
    consumer_chunk: int
    dtype: str
    #: Consumers per Zarr chunk of ``footprint`` (``consumer_chunk`` is a multiple of it).
    chunk_consumers: int

    @property
    def chunks(self) -> list[slice]:
        """Consumer ranges of the footprint blocks (none without coefficients)."""
        if self.coef is None:
            return []
        return consumer_chunks(self.n_consumers, self.consumer_chunk)

    def blocks_of_tile(self, tile: int, skip: frozenset[BlockId] = frozenset()) -> list[BlockId]:
        """The blocks of ``tile`` not in ``skip`` (already written by an interrupted run)."""
        blocks = [BlockId(tile)] + [BlockId(tile, c) for c in range(len(self.chunks))]
        return [b for b in blocks if b not in skip]

    def compute(self, block: BlockId, pts: tuple) -> np.ndarray:
        """Compute ``block`` from its tile's points grouped by cell, write and journal it.

        ``pts`` is :func:`footgrid.kernels.group_by_cell`'s ``(cells, starts, key, emission)``.
        Returns the block's float64 sums: its total for the emission tile, one per
        (consumer, category) column for footprint blocks.
        """
        rows, cols = self.grid.tile_slices(block.tile)
        h, w = rows.stop - rows.start, cols.stop - cols.start
        cells, starts, key, emission = pts
        if not block.is_footprint:
            with _zeroed((1, h * w, 1), self.dtype, cells) as out:
                total = emission_block(cells, starts, emission, out.reshape(h * w))
                written = store.write_block(self.path, "emissions", (rows, cols), out.reshape(h, w))
            sums = np.array([total])
        else:
            consumers = self.chunks[block.chunk]
            n_cons, n_cat = consumers.stop - consumers.start, self.n_categories
            k = self.chunk_consumers  # consumers per store chunk: one group of ``out`` each
            groups = chunk_groups(consumers, k)
            with _zeroed((len(groups), h * w, k * n_cat), self.dtype, cells) as out:
                sums, abs_sums = attribute_block(
                    cells, starts, key, emission, self.coef, consumers.start * n_cat,
                    n_cons * n_cat, out,
                )  # fmt: skip
                nonzero = abs_sums.reshape(n_cons, n_cat).sum(axis=1) > 0
                written = []
                for g, (part, span) in enumerate(groups):
                    cube = layers_view(out[g], h, w, n_cat, part.stop - part.start)
                    index = (span, slice(None), rows, cols)
                    written += store.write_block(self.path, "footprint", index, cube, nonzero[part])
        store.journal_block(self.path, block.label, sums.tolist(), written)
        return sums

    def column_sums(self, sums: dict[BlockId, np.ndarray]) -> np.ndarray:
        """Footprint blocks' sums added up per (consumer, category) column."""
        n_cat = self.n_categories
        per_col = np.zeros(self.n_consumers * n_cat)
        chunks = consumer_chunks(self.n_consumers, self.consumer_chunk)
        for block, v in sums.items():
            if block.is_footprint:
                c0 = chunks[block.chunk].start * n_cat
                per_col[c0 : c0 + len(v)] += v
        return per_col

    def __dask_tokenize__(self) -> tuple:
        return (BlockSpec, self.path, self.grid, self.coef, self.n_consumers,
                self.n_categories, self.consumer_chunk, self.dtype,
                self.chunk_consumers)  # fmt: skip

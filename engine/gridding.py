"""Gridding point arrays in memory, the way the pipeline's emission tiles do.

``grid_array`` is the public, array-only entry to footgrid's gridding: cell index -> stable
partition by block -> per-block scatter-add in float64 (the blocks are cache-sized squares,
smaller than the store's tiles). It is what ``benchmarks/bench_gridding.py``
times against numpy and datashader, and it returns the same raster as the ``emissions`` variable
that ``footgrid.grid`` writes for the same projected points (bitwise, because the partition is
stable and each cell belongs to one block).
"""

from __future__ import annotations

import threading
from functools import partial
from itertools import pairwise

import numpy as np

from footgrid.execution.threads import cpu_count, range_offsets, run_jobs, split
from footgrid.grid import Grid
from footgrid.kernels.gridding import (
    MAX_BLOCK,
    add_blocks,
    bin_and_scatter,
    block_keys,
    overwrite_blocks,
    place_by_block,
)

#: Rasters up to this many bytes (float64) are filled in one pass: they stay in cache anyway,
#: so sorting points by block buys nothing. Results are identical either way.
DIRECT_MAX_BYTES = 4 * 2**20
#: Edge (cells) of the blocks points are sorted into: a 256 × 256 float64 block (512 KiB) stays in
#: a core's L2 cache while its points are added. Any stable partition gives the same raster; the
#: block sizes tried are in benchmarks/README.md (B1).
BLOCK = 256


class GridScratch:
    """Scratch arrays of :func:`grid_array`, kept from one call to the next.

    Sorting 10 M points by block goes through about 140 MB of temporary arrays: a 4-byte key
    per point (8 bytes past 2**15 blocks), then the cell inside the block (2 bytes) and the
    value (8 bytes) of each point in block order; and, when the raster is overwritten, a 512 KiB
    block buffer per thread. Fresh ones cost page faults: the kernel
    zeroes every page on first touch, which on a VM can take as long as the gridding. Pass one
    ``GridScratch`` to successive calls (year after year, or batch after batch into one ``out``)
    and they are allocated once, at the largest size seen. One per thread (a second thread
    using it gets a ``RuntimeError``).
    """

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}
        self._owner: int | None = None

    def array(self, name: str, n: int, dtype: type) -> np.ndarray:
        """An uninitialised array ``name`` of ``n`` items of ``dtype`` (reused when it fits).

        Raises ``RuntimeError`` when called from another thread than the first caller's: two
        threads sharing the arrays would overwrite each other's points.
        """
        me = threading.get_ident()
        if self._owner is None:
            self._owner = me
        elif self._owner != me:
            raise RuntimeError(
                "a GridScratch was used from two threads; give each thread its own GridScratch"
            )
        a = self._arrays.get(name)
        if a is None or a.dtype != dtype or a.size < n:
            a = self._arrays[name] = np.empty(n, dtype=dtype)
        return a[:n]

    def clear(self) -> None:
        """Free the arrays."""
        self._arrays.clear()


def grid_array(
    x: np.ndarray,
    y: np.ndarray,
    values: np.ndarray,
    grid: Grid,
    *,
    workers: int | None = None,
    method: str = "auto",
    block: int | None = None,
    out: np.ndarray | None = None,
    accumulate: bool = True,
    scratch: GridScratch | None = None,
) -> np.ndarray:
    """Sum ``values`` of points at ``(x, y)`` into the cells of ``grid``.

    Cells are half-open ``[left, right) × [bottom, top)``; points on the grid's far edges belong
    to the last cell; points outside the grid or with NaN coordinates are skipped (the pipeline
    counts them as dropped before this step).

    Parameters
    ----------
    x, y
        Point coordinates in ``grid.crs`` (converted to contiguous float64 if needed).
    values
        Value per point (emission, t/yr), summed in float64.
    grid
        Target grid.
    workers
        Threads for the per-range kernels (default: CPU count). Kernels release the GIL.
    method
        ``"tiled"`` (cell index, stable counting sort by block, per-block scatter), ``"direct"``
        (one pass straight into the raster) or ``"auto"``: direct when the raster is at most
        :data:`DIRECT_MAX_BYTES`, else tiled.
    block
        Edge in cells of the square blocks of the tiled partition: a power of two up to 256
        (default :data:`BLOCK`). The raster does not depend on it.
    out
        Optional (ny, nx) C-contiguous float64 raster that the sums are *added* to (and which
        is returned): grid a point set in batches into one raster, or reuse one raster
        (``out.fill(0)`` first, or ``accumulate=False``) instead of allocating 8 bytes a cell
        per call.
    accumulate
        With ``out``: add the sums to its values (default), or, if False, overwrite it (cells
        without points become 0), which saves the separate ``out.fill(0)`` pass over the
        raster.
    scratch
        Optional :class:`GridScratch` whose temporary arrays are reused between calls.

    Returns
    -------
    numpy.ndarray
        (ny, nx) float64 raster, rows from the top (north-up).

    Examples
    --------
    Points that arrive in batches (e.g. Parquet row groups), summed into one raster:

    >>> import numpy as np
    >>> from footgrid.grid import Grid
    >>> g = Grid.from_bounds((0, 0, 4, 4), 1.0, "EPSG:3857", tile=2)
    >>> raster, scratch = np.zeros(g.shape), GridScratch()
    >>> for xs, ys in (([0.5, 3.5], [0.5, 0.5]), ([0.5], [0.7])):
    ...     _ = grid_array(np.array(xs), np.array(ys), np.ones(len(xs)), g,
    ...                    out=raster, scratch=scratch)
    >>> raster[-1]
    array([2., 0., 0., 1.])
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    values = np.ascontiguousarray(values, dtype=np.float64)
    if not (x.shape == y.shape == values.shape and x.ndim == 1):
        raise ValueError(
            f"x, y and values must be 1-D arrays of one length, got shapes {x.shape}, "
            f"{y.shape}, {values.shape}"
        )
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be a positive number of threads, got {workers}")
    if method not in ("auto", "tiled", "direct"):
        raise ValueError(f"method must be 'auto', 'tiled' or 'direct', got {method!r}")
    n_cells = grid.nx * grid.ny
    if method == "auto":
        method = "direct" if n_cells * 8 <= DIRECT_MAX_BYTES else "tiled"
    if out is None:
        # Overwritten below: fresh pages are then faulted in once, by the pass that writes them.
        out = np.empty(grid.shape, dtype=np.float64)
        accumulate = False
    elif out.shape != grid.shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(
            f"out must be a C-contiguous float64 array of the grid's shape {grid.shape}, got "
            f"{out.dtype} {out.shape}"
        )
    flat = out.reshape(-1)
    if method == "direct":
        if not accumulate:
            flat.fill(0.0)
        bin_and_scatter(x, y, values, grid.axes, flat)
    else:
        block = BLOCK if block is None else int(block)
        if not (1 <= block <= MAX_BLOCK and block & (block - 1) == 0):
            raise ValueError(f"block must be a power of two from 1 to {MAX_BLOCK}, got {block}")
        workers = workers or cpu_count()
        _tiled(x, y, values, grid, flat, workers, block, accumulate, scratch or GridScratch())
    return out


def _tiled(
    x: np.ndarray,
    y: np.ndarray,
    values: np.ndarray,
    grid: Grid,
    out: np.ndarray,
    workers: int,
    block: int,
    accumulate: bool,
    scratch: GridScratch,
) -> None:
    n = x.shape[0]
    shift = block.bit_length() - 1
    n_blocks_x = -(-grid.nx // block)
    n_blocks = n_blocks_x * -(-grid.ny // block)
    # The key is block << 16 | cell in block: 4 bytes a point while the block id fits in 15 bits.
    key = scratch.array("key", n, np.int32 if n_blocks < 2**15 else np.int64)
    ranges = split(n, workers) if n else []
    counts = np.zeros((len(ranges), n_blocks), dtype=np.int64)
    axes = grid.axes
    run_jobs(
        [
            partial(block_keys, x[a:b], y[a:b], axes, shift, n_blocks_x, key[a:b], counts[i])
            for i, (a, b) in enumerate(ranges)
        ]
    )
    # Stable: block-major, then range order, then input order inside a range.
    offsets, fills = range_offsets(counts)
    kept = int(offsets[-1])
    sorted_local = scratch.array("sorted_local", kept, np.uint16)
    sorted_value = scratch.array("sorted_value", kept, np.float64)
    run_jobs(
        [
            partial(place_by_block, key[a:b], values[a:b], fills[i], sorted_local, sorted_value)
            for i, (a, b) in enumerate(ranges)
        ]
    )
    del key
    # Whole blocks per thread, balanced by points (and, when the raster is overwritten, by the
    # cells each thread writes: a cell weighs as one point).
    work = offsets
    if not accumulate:
        rows = np.minimum(block, grid.ny - np.arange(0, grid.ny, block))
        cols = np.minimum(block, grid.nx - np.arange(0, grid.nx, block))
        work = offsets + np.concatenate([[0], np.cumsum(np.outer(rows, cols).ravel())])
    cuts = np.searchsorted(work, np.linspace(0, int(work[-1]), workers + 1)[1:-1])
    bounds = [0, *sorted(set(cuts.tolist())), n_blocks]
    common = (sorted_local, sorted_value, offsets)
    geometry = (shift, n_blocks_x, grid.nx, grid.ny)
    if accumulate:
        jobs = [
            partial(add_blocks, *common, b0, b1, *geometry, out)
            for b0, b1 in pairwise(bounds)
            if offsets[b1] > offsets[b0]
        ]
    else:
        size = ((block - 1) << 8) + block
        jobs = [
            partial(
                overwrite_blocks,
                *common,
                b0,
                b1,
                *geometry,
                out,
                scratch.array(f"block_{i}", size, np.float64),
            )
            for i, (b0, b1) in enumerate(pairwise(bounds))
        ]
    run_jobs(jobs)

"""Gridding point arrays in memory, the way the pipeline's emission tiles do.

``grid_array`` is the public, array-only entry to footgrid's gridding: cell index -> stable
partition by tile -> per-tile scatter-add in float64 (the tiles here are cache-sized blocks of
the store's tiles). It is what ``benchmarks/bench_gridding.py``
times against numpy and datashader, and it returns the same raster as the ``emissions`` variable
that ``engine.grid`` writes for the same projected points (bitwise, because the partition is
stable and each cell belongs to one tile).
"""

from __future__ import annotations

import threading
from functools import partial
from itertools import pairwise

import numpy as np

from engine.grid import Grid
from engine.threads import cpu_count, range_offsets, run_jobs, split
from kernels.gridding import bin_and_count, bin_and_scatter, place_by_tile, scatter_range

#: Rasters up to this many bytes (float64) are filled in one pass: they stay in cache anyway,
#: so sorting points by tile buys nothing. Results are identical either way.
DIRECT_MAX_BYTES = 4 * 2**20
#: Edge (cells) of the blocks points are sorted into: a 256 × 256 float64 block (512 KiB) stays in
#: a core's L2 cache while its points are added. Smaller than the store's tile (512) because the
#: random access inside one block is what costs; any stable partition gives the same raster.
#: Measured at 10 M points, 1 km (B1): 128 -> 0.093 s, 256 -> 0.081 s, 512 -> 0.095 s.
BLOCK = 256


class GridScratch:
    """Scratch arrays of :func:`grid_array`, kept from one call to the next.

    Sorting 10 M points by block goes through about 200 MB of temporary arrays (cell and block
    per point, then cells and values in block order). Fresh ones cost page faults: the kernel
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
        Target grid; its ``tile`` sets the partition.
    workers
        Threads for the per-range kernels (default: CPU count). Kernels release the GIL.
    method
        ``"tiled"`` (cell index, stable counting sort by tile, per-tile scatter), ``"direct"``
        (one pass straight into the raster) or ``"auto"``: direct when the raster is at most
        :data:`DIRECT_MAX_BYTES`, else tiled.
    block
        Edge in cells of the square blocks of the tiled partition (default: ``grid.tile`` or
        :data:`BLOCK`, whichever is smaller). The raster does not depend on it.
    out
        Optional (ny, nx) C-contiguous float64 raster that the sums are *added* to (and which
        is returned): grid a point set in batches into one raster, or reuse one raster
        (``out.fill(0)`` first) instead of allocating 8 bytes a cell per call.
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
    >>> from engine.grid import Grid
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
    if method not in ("auto", "tiled", "direct"):
        raise ValueError(f"method must be 'auto', 'tiled' or 'direct', got {method!r}")
    n_cells = grid.nx * grid.ny
    if method == "auto":
        method = "direct" if n_cells * 8 <= DIRECT_MAX_BYTES else "tiled"
    if out is None:
        out = np.zeros(grid.shape, dtype=np.float64)
    elif out.shape != grid.shape or out.dtype != np.float64 or not out.flags.c_contiguous:
        raise ValueError(
            f"out must be a C-contiguous float64 array of the grid's shape {grid.shape}, got "
            f"{out.dtype} {out.shape}"
        )
    flat = out.reshape(-1)
    if method == "direct":
        bin_and_scatter(x, y, values, grid.xedges, grid.yedges, flat)
    else:
        block = int(block or min(grid.tile, BLOCK))
        if block < 1:
            raise ValueError(f"block must be a positive number of cells, got {block}")
        workers = workers or cpu_count()
        _tiled(x, y, values, grid, flat, workers, block, scratch or GridScratch())
    return out


def _tiled(
    x: np.ndarray,
    y: np.ndarray,
    values: np.ndarray,
    grid: Grid,
    out: np.ndarray,
    workers: int,
    block: int,
    scratch: GridScratch,
) -> None:
    n = x.shape[0]
    n_tiles_x = -(-grid.nx // block)
    n_tiles = n_tiles_x * -(-grid.ny // block)
    # 4-byte indices where they fit: less memory traffic and scratch (8 -> 4 bytes per point).
    cell_t = np.int32 if grid.nx * grid.ny < 2**31 else np.int64
    tile_t = np.int32 if n_tiles < 2**31 else np.int64
    tile_of_col = (np.arange(grid.nx) // block).astype(tile_t)
    tile_of_row = (np.arange(grid.ny) // block * n_tiles_x).astype(tile_t)
    xedges, yedges = grid.xedges, grid.yedges
    ranges = split(n, workers) if n else []
    cell = scratch.array("cell", n, cell_t)
    tile = scratch.array("tile", n, tile_t)
    counts = np.zeros((len(ranges), n_tiles), dtype=np.int64)

    run_jobs(
        [
            partial(
                bin_and_count,
                x,
                y,
                xedges,
                yedges,
                tile_of_col,
                tile_of_row,
                a,
                b,
                cell,
                tile,
                counts[i],
            )
            for i, (a, b) in enumerate(ranges)
        ]
    )
    # Stable: tile-major, then range order, then input order inside a range.
    offsets, fills = range_offsets(counts)
    kept = int(offsets[-1])
    sorted_cell = scratch.array("sorted_cell", kept, cell_t)
    sorted_value = scratch.array("sorted_value", kept, np.float64)
    run_jobs(
        [
            partial(place_by_tile, cell, tile, values, a, b, fills[i], sorted_cell, sorted_value)
            for i, (a, b) in enumerate(ranges)
        ]
    )
    del cell, tile
    # Whole tiles per thread, balanced by points.
    cuts = np.searchsorted(offsets, np.linspace(0, kept, workers + 1)[1:-1])
    tile_bounds = [0, *sorted(set(cuts.tolist())), n_tiles]
    run_jobs(
        [
            partial(scatter_range, sorted_cell, sorted_value, a, b, out)
            for a, b in ((int(offsets[t0]), int(offsets[t1])) for t0, t1 in pairwise(tile_bounds))
            if b > a
        ]
    )

"""Numba kernels of footgrid: pure functions on numpy arrays.

No I/O, no pandas, xarray or dask here; ``footgrid`` calls these, never the reverse.
"""

from footgrid.kernels.attribute import attribute_block, clear_cells, emission_block, group_by_cell
from footgrid.kernels.binning import cell_index
from footgrid.kernels.partition import count_tiles, place_points

__all__ = [
    "attribute_block",
    "cell_index",
    "clear_cells",
    "count_tiles",
    "emission_block",
    "group_by_cell",
    "place_points",
]

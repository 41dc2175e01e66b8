"""Numba kernels of footgrid: pure functions on numpy arrays.

No I/O, no pandas, xarray or dask here; ``engine`` calls these, never the reverse.
"""

from kernels.attribute import attribute_block, clear_cells, emission_block, group_by_cell
from kernels.binning import cell_index
from kernels.partition import count_tiles, place_points
from kernels.scatter import scatter_add, scatter_add_by_class

__all__ = [
    "attribute_block",
    "cell_index",
    "clear_cells",
    "count_tiles",
    "emission_block",
    "group_by_cell",
    "place_points",
    "scatter_add",
    "scatter_add_by_class",
]

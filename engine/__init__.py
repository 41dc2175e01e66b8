"""footgrid: gridded consumption-based (carbon-footprint) emission maps.

Quick start::

    import footgrid

    ds = footgrid.run("config.toml")  # footprint(consumer, category, y, x), totals, ...
    ds = footgrid.grid_emissions("config.toml")  # production-based emissions(y, x) only
    ds = footgrid.open_store("footprint.zarr")
    index = footgrid.run_batch("batch.toml")  # one store per {year} / {scenario}
"""

from footgrid._version import __version__
from footgrid.batch import run_batch
from footgrid.config import Config, load_config
from footgrid.errors import ComputeError, ConfigError, FootgridError, InputError, MRIOError
from footgrid.execution.pipeline import grid_emissions, run
from footgrid.grid import Grid
from footgrid.gridding import GridScratch, grid_array
from footgrid.store import open_store

__all__ = [
    "ComputeError",
    "Config",
    "ConfigError",
    "FootgridError",
    "Grid",
    "GridScratch",
    "InputError",
    "MRIOError",
    "__version__",
    "grid_array",
    "grid_emissions",
    "load_config",
    "open_store",
    "run",
    "run_batch",
]

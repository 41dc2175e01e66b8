"""footgrid's engine: the Python API and everything with I/O.

Quick start::

    import engine as footgrid
    ds = footgrid.run("config.toml")       # footprint(consumer, category, y, x), totals, ...
    ds = footgrid.grid("config.toml")      # production-based emissions(y, x) only
"""

from engine.config import Config, load_config
from engine.errors import ComputeError, ConfigError, FootgridError, InputError, MRIOError
from engine.grid import Grid
from engine.pipeline import grid, run
from engine.store import open_store

__all__ = [
    "ComputeError",
    "Config",
    "ConfigError",
    "FootgridError",
    "Grid",
    "InputError",
    "MRIOError",
    "grid",
    "load_config",
    "open_store",
    "run",
]

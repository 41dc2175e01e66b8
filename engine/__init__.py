"""footgrid's engine: the Python API and everything with I/O.

Quick start::

    import engine as footgrid
    ds = footgrid.run("config.toml")       # footprint(consumer, category, y, x), totals, ...
    ds = footgrid.grid("config.toml")      # production-based emissions(y, x) only
"""

import gc as _gc

# Importing the engine creates some 200 000 objects of numpy, pandas, numba, dask, xarray and
# zarr that live as long as the process; the cyclic garbage collector's passes over them while
# they are imported find nothing to free and cost 0.2 s (a fifth of the import). Collection is
# paused for the import only, and left as it was (a caller may have disabled it).
_collecting = _gc.isenabled()
_gc.disable()
try:
    from engine.config import Config, load_config
    from engine.errors import ComputeError, ConfigError, FootgridError, InputError, MRIOError
    from engine.grid import Grid
    from engine.pipeline import grid, run
    from engine.store import open_store
finally:
    if _collecting:
        _gc.enable()

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

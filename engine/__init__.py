"""footgrid: gridded consumption-based (carbon-footprint) emission maps.

Quick start::

    import footgrid

    ds = footgrid.run("config.toml")  # footprint(consumer, category, y, x), totals, ...
    ds = footgrid.grid_emissions("config.toml")  # production-based emissions(y, x) only
    ds = footgrid.open_store("footprint.zarr")
    tables, report = footgrid.nest("exiobase.zip", "provinces/", country="CN",
                                   concordance="sectors.csv")  # a nested MRIO
    index = footgrid.run_batch("batch.toml")  # one store per {year} / {scenario}
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from footgrid.errors import ComputeError, ConfigError, FootgridError, InputError, MRIOError

if TYPE_CHECKING:
    from footgrid._version import __version__
    from footgrid.batch import run_batch
    from footgrid.config import Config, load_config
    from footgrid.execution.pipeline import grid_emissions, run
    from footgrid.grid import Grid
    from footgrid.gridding import GridScratch, grid_array
    from footgrid.mrio.nest import nest
    from footgrid.store import open_store

# Imported on first use (PEP 562): ``import footgrid.cli`` stays light, so that the command
# line's own handlers (Ctrl-C: exit 130) are in place before numpy, dask and xarray load.
_LAZY = {
    "__version__": "footgrid._version",
    "Config": "footgrid.config",
    "load_config": "footgrid.config",
    "grid_emissions": "footgrid.execution.pipeline",
    "run": "footgrid.execution.pipeline",
    "Grid": "footgrid.grid",
    "GridScratch": "footgrid.gridding",
    "grid_array": "footgrid.gridding",
    "open_store": "footgrid.store",
    "nest": "footgrid.mrio.nest",
    "run_batch": "footgrid.batch",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'footgrid' has no attribute {name!r}")


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
    "nest",
    "open_store",
    "run",
    "run_batch",
]

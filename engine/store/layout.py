"""What fixes a store's shape, and the labelled dataset it is initialised with.

Arrays first, labels last: the engine computes on numpy arrays; this module is the one place that
builds the labelled ``xr.Dataset`` (coordinates, CRS and transform the rioxarray/CF way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
import zarr

from footgrid.grid import Grid

UNITS = "t CO2 / yr"
#: Zstandard level 1: as small as the default level 3 on sparse float rasters, twice as fast.
COMPRESSORS = (zarr.codecs.ZstdCodec(level=1),)
#: Folder inside a store in progress that holds the journals of finished blocks: one


@dataclass(frozen=True)
class Layout:
    """Everything that fixes the shape of a store: grid, labels and dtype."""

    grid: Grid
    consumers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    domestic: tuple[bool, ...] = ()
    regions: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    dtype: str = "float32"

    @property
    def has_footprint(self) -> bool:
        """Whether the store carries the footprint and totals (``run``, not ``grid``)."""
        return len(self.consumers) > 0


def template(
    layout: Layout,
    territory: np.ndarray,
    totals: np.ndarray | None,
) -> xr.Dataset:
    """The dataset to initialise a store with: dask zeros for the streamed rasters.

    ``footprint``, ``emissions`` and ``cell_area`` are lazy zeros in one dask chunk (a graph
    that is never computed costs nothing to build), so writing the template with
    ``compute=False`` writes only their metadata; the Zarr chunks come from the encoding
    (:func:`_encoding`), and the blocks are then streamed in by the tasks.
    """
    g = layout.grid
    data: dict[str, Any] = {
        "emissions": (("y", "x"), da.zeros(g.shape, chunks=-1, dtype=layout.dtype)),
        "territory": (("y", "x"), np.asarray(territory, dtype=bool)),
        # Lazy: constant grids store it as the fill value; others are written tile by tile.
        "cell_area": (("y", "x"), da.zeros(g.shape, chunks=-1, dtype=np.float64)),
    }
    coords: dict[str, Any] = {"x": g.x, "y": g.y}
    if layout.has_footprint:
        shape = (len(layout.consumers), len(layout.categories), *g.shape)
        data["footprint"] = (
            ("consumer", "category", "y", "x"),
            da.zeros(shape, chunks=-1, dtype=layout.dtype),
        )
        data["totals"] = (("region", "sector", "consumer", "category"), totals)
        coords.update(
            consumer=np.array(layout.consumers, dtype=object),
            category=np.array(layout.categories, dtype=object),
            region=np.array(layout.regions, dtype=object),
            sector=np.array(layout.sectors, dtype=object),
            domestic=("consumer", np.array(layout.domestic, dtype=bool)),
        )
    ds = xr.Dataset(data, coords=coords)
    ds["x"].attrs.update(units=_axis_units(g), standard_name="projection_x_coordinate")
    ds["y"].attrs.update(units=_axis_units(g), standard_name="projection_y_coordinate")
    for name, long in (
        ("footprint", "emissions in the cell driven by the consumer's final demand"),
        ("emissions", "production-based emissions gridded"),
        ("totals", "national ledger: producing MRIO row to final demand"),
    ):
        if name in ds:
            ds[name].attrs.update(units=UNITS, long_name=long)
    ds["cell_area"].attrs.update(units="m2", long_name="cell area")
    ds["territory"].attrs.update(long_name="cell inside the regions' polygons")
    ds = ds.rio.write_crs(g.crs).rio.write_transform(g.transform)
    for name in ("footprint", "emissions", "territory", "cell_area"):
        if name in ds:
            # In attrs (CF), so that GDAL, QGIS and rioxarray find the CRS after open_zarr.
            ds[name].encoding.pop("grid_mapping", None)
            ds[name].attrs["grid_mapping"] = "spatial_ref"
    return ds


def _axis_units(g: Grid) -> str:
    if g.crs.is_geographic:
        return "degrees"
    info = g.crs.axis_info
    return info[0].unit_name if info else "metre"


def encoding(ds: xr.Dataset, layout: Layout) -> dict[str, dict[str, Any]]:
    enc: dict[str, dict[str, Any]] = {}
    for name in ("footprint", "emissions", "totals"):
        if name in ds:
            enc[name] = {"_FillValue": None, "fill_value": 0.0, "compressors": COMPRESSORS}
    g = layout.grid
    tile = (min(g.tile, g.ny), min(g.tile, g.nx))
    enc["cell_area"] = {
        "_FillValue": None,
        "fill_value": g.constant_cell_area or 0.0,
        "chunks": tile,
    }
    enc["territory"] = {"chunks": tile}
    enc["emissions"]["chunks"] = tile
    if "footprint" in ds:
        enc["footprint"]["chunks"] = (1, ds.sizes["category"], *tile)
    return enc

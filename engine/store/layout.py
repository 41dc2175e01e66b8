"""What fixes a store's shape, and the labelled dataset it is initialised with.

Arrays first, labels last: the engine computes on numpy arrays; this module is the one place that
builds the labelled ``xr.Dataset`` (coordinates, CRS and transform the rioxarray/CF way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask.array as da
import numcodecs
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
import zarr

from footgrid.grid import Grid

#: UDUNITS units of the rasters and the ledger: tonnes per year, *per cell* for the rasters
#: (extensive: sum cells to aggregate; divide by ``cell_area`` for a density). The gas is in
#: ``GAS`` and in every variable's ``long_name``.
UNITS = "t yr-1"
GAS = "CO2"
#: Zstandard level 1: as small as the default level 3 on sparse float rasters, twice as fast.
COMPRESSORS = (zarr.codecs.ZstdCodec(level=1),)
#: Footprint layers (consumer × category) that one Zarr chunk holds, at most: a chunk is the
#: categories of ``max(1, LAYERS_PER_CHUNK // categories)`` consumers on one tile.
LAYERS_PER_CHUNK = 8
#: Footprint chunks are stored cell-major (Zarr v3 ``transpose`` codec, order y, x, consumer,
#: category): the layers of a cell lie side by side, so an empty cell is one run of zeros
#: instead of one per layer. Zstandard compresses such chunks 2-3 times faster and about 20 %
#: smaller on sparse footprint rasters (``benchmarks/bench_store_layout.py``); readers see the
#: usual (consumer, category, y, x) array.
FOOTPRINT_ORDER = (2, 3, 0, 1)
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
        # Lazy: written tile by tile by ``create`` (never left to the fill value, which GDAL
        # reads as nodata).
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
    if g.crs.is_geographic:
        ds["x"].attrs.update(units="degrees_east", standard_name="longitude", axis="X")
        ds["y"].attrs.update(units="degrees_north", standard_name="latitude", axis="Y")
    else:
        ds["x"].attrs.update(units=_axis_units(g), standard_name="projection_x_coordinate")
        ds["y"].attrs.update(units=_axis_units(g), standard_name="projection_y_coordinate")
        ds["x"].attrs["axis"], ds["y"].attrs["axis"] = "X", "Y"
    for name, long in (
        ("footprint", f"{GAS} emissions per cell driven by the consumer's final demand"),
        ("emissions", f"production-based {GAS} emissions per cell"),
        ("totals", f"national {GAS} ledger: producing MRIO row to final demand"),
    ):
        if name in ds:
            ds[name].attrs.update(units=UNITS, long_name=long, gas=GAS)
    for name in ("footprint", "emissions"):
        if name in ds:  # extensive: tonnes in the cell, not per m2
            ds[name].attrs.update(cell_methods="area: sum", cell_measures="area: cell_area")
    if "footprint" in ds:
        # Readers without string arrays (GDAL's Zarr driver) still find the labels here.
        ds["footprint"].attrs.update(
            consumers=list(layout.consumers), categories=list(layout.categories)
        )
    ds["cell_area"].attrs.update(units="m2", long_name="cell area", standard_name="cell_area")
    ds["territory"].attrs.update(long_name="cell inside the regions' polygons")
    ds = ds.rio.write_crs(g.crs).rio.write_transform(g.transform)
    for name in ("footprint", "emissions", "territory", "cell_area"):
        if name in ds:
            # In attrs (CF), so that GDAL, QGIS and rioxarray find the CRS after open_zarr.
            ds[name].encoding.pop("grid_mapping", None)
            ds[name].attrs["grid_mapping"] = "spatial_ref"
    return ds


def _axis_units(g: Grid) -> str:
    info = g.crs.axis_info
    name = info[0].unit_name if info else "metre"
    return {"metre": "m", "meter": "m", "kilometre": "km", "US survey foot": "US_survey_foot"}.get(
        name, name
    )


def footprint_chunk_consumers(n_consumers: int, n_categories: int, zarr_format: int = 3) -> int:
    """Consumers per footprint chunk: at most ``LAYERS_PER_CHUNK // categories`` (v2: 1).

    The fewest chunks, as even as they go (50 consumers of one category: 7 chunks of 8, the
    last one padded). Zarr v2 has no transpose codec, so its footprint chunks stay one
    consumer each.
    """
    if zarr_format == 2:
        return 1
    kmax = max(1, min(n_consumers, LAYERS_PER_CHUNK // max(n_categories, 1)))
    groups = -(-n_consumers // kmax) if n_consumers else 1
    return max(1, -(-n_consumers // groups))


def encoding(ds: xr.Dataset, layout: Layout, zarr_format: int = 3) -> dict[str, dict[str, Any]]:
    """Chunks, fill values and codecs of the store's arrays (Zarr v3, or v2 for old GDAL)."""
    comp: Any = COMPRESSORS
    if zarr_format == 2:
        comp = (numcodecs.Zstd(level=1),)
    enc: dict[str, dict[str, Any]] = {}
    for name in ("footprint", "emissions", "totals"):
        if name in ds:
            enc[name] = {"_FillValue": None, "fill_value": 0.0, "compressors": comp}
    g = layout.grid
    tile = (min(g.tile, g.ny), min(g.tile, g.nx))
    # Fill value 0 (never a cell's area): GDAL takes the fill value as nodata.
    enc["cell_area"] = {
        "_FillValue": None,
        "fill_value": 0.0,
        "chunks": tile,
        "compressors": comp,
    }
    enc["territory"] = {"chunks": tile}
    enc["emissions"]["chunks"] = tile
    if "footprint" in ds:
        n_cons, n_cat = ds.sizes["consumer"], ds.sizes["category"]
        k = footprint_chunk_consumers(n_cons, n_cat, zarr_format)
        enc["footprint"]["chunks"] = (k, n_cat, *tile)
        if zarr_format == 3:
            enc["footprint"]["filters"] = (zarr.codecs.TransposeCodec(order=FOOTPRINT_ORDER),)
    if zarr_format == 2:  # v2 has no separate Zarr fill value: null, which reads as 0
        for e in enc.values():
            e.pop("fill_value", None)
    return enc

"""Read an output store and reduce it to 2-D layers, one at a time.

The footprint can be 50 consumers x categories x a national grid, so it is never loaded
whole: every layer is a dask reduction (over ``category`` and a set of consumers) computed
chunk by chunk, and only the resulting (y, x) array is held in memory.

Layer names: ``"total"`` (the ``emissions`` variable: production-based), ``"foreign"``
(sum of the footprint over consumers with ``domestic == False``: export-driven),
``"domestic"`` (consumers with ``domestic == True``) and ``"consumer:<label>"``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyproj
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine

from footgrid.errors import InputError
from footgrid.store.lifecycle import open_store as _open_store

__all__ = [
    "GridInfo",
    "Layers",
    "consumer_label",
    "grid_info",
    "gridded_consumer_totals",
    "layer",
    "layer_names",
    "open_store",
]

REQUIRED = ("emissions", "territory", "cell_area")


def open_store(store: str | os.PathLike | xr.Dataset) -> xr.Dataset:
    """Open an output store lazily (or pass a Dataset through) and check its schema.

    Parameters
    ----------
    store
        Path of a ``.zarr`` store written by footgrid, or an already opened Dataset.

    Returns
    -------
    xarray.Dataset
        The dataset, dask-backed when opened from disk.

    Raises
    ------
    InputError
        The store is missing, incomplete (an interrupted run) or lacks a required variable.
    """
    if isinstance(store, xr.Dataset):
        ds, where = store, None
        # A Dataset opened without decode_coords="all" has the grid mapping as a data
        # variable, where rioxarray does not look for the CRS: make it a coordinate again.
        mapping = {ds[v].attrs.get("grid_mapping") for v in ds.data_vars} | {"spatial_ref"}
        mapping = [m for m in mapping if m and m in ds.data_vars]
        if mapping:
            ds = ds.set_coords(mapping)
        if "complete" in ds.attrs and not _truthy(ds.attrs["complete"]):
            raise InputError(
                "the output store is incomplete (its run was interrupted)",
                fix="finish it with 'footgrid run CONFIG --resume' and report again",
            )
    else:
        where = os.fspath(store)
        ds = _open_store(where)
    missing = [v for v in REQUIRED if v not in ds.variables]
    if "footprint" in ds.variables and "domestic" not in ds.coords:
        missing.append("domestic (coordinate)")
    if missing:
        raise InputError(
            f"the output store lacks {', '.join(missing)}",
            file=where,
            fix="write it with this footgrid version ('footgrid run CONFIG')",
        )
    return ds


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


@dataclass(frozen=True)
class GridInfo:
    """Geometry of a store's grid, read without rioxarray's transform recalculation.

    Attributes
    ----------
    crs
        The grid CRS.
    transform
        North-up affine transform of the cell corners.
    shape
        (ny, nx).
    x, y
        Cell-centre coordinates (y descending).
    """

    crs: pyproj.CRS
    transform: Affine
    shape: tuple[int, int]
    x: np.ndarray
    y: np.ndarray

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) of the grid in CRS units (matplotlib ``extent``)."""
        ny, nx = self.shape
        left, top = self.transform.c, self.transform.f
        right = left + nx * self.transform.a
        bottom = top + ny * self.transform.e
        return left, right, bottom, top

    @property
    def metres(self) -> bool:
        """True when the CRS is projected in metres (maps are then labelled in km)."""
        unit = self.crs.axis_info[0].unit_name if self.crs.axis_info else ""
        return self.crs.is_projected and unit in ("metre", "meter")


def grid_info(ds: xr.Dataset) -> GridInfo:
    """Grid CRS and transform of a store.

    The transform comes from the ``GeoTransform`` attribute of ``spatial_ref`` (written by
    ``rio.write_transform``) when present, else from the regular ``x``/``y`` cell centres.
    ``ds.rio.transform()`` is not used: rioxarray 0.19 composes it with ``Affine * Affine``,
    which affine >= 3 flags with a PendingDeprecationWarning.

    Parameters
    ----------
    ds
        An output store.

    Returns
    -------
    GridInfo
    """
    crs_rio = ds.rio.crs
    if crs_rio is None:
        raise InputError(
            "the output store has no CRS (no spatial_ref variable)",
            fix="write it with footgrid (rioxarray write_crs)",
        )
    crs = pyproj.CRS.from_user_input(crs_rio.to_wkt())
    x = np.asarray(ds["x"].values, dtype=np.float64)
    y = np.asarray(ds["y"].values, dtype=np.float64)
    gt = ds["spatial_ref"].attrs.get("GeoTransform") if "spatial_ref" in ds.variables else None
    if gt:
        transform = Affine.from_gdal(*(float(v) for v in str(gt).split()))
    else:
        if x.size < 2 or y.size < 2:
            raise InputError(
                "cannot derive the grid transform: fewer than 2 cells along x or y and "
                "no GeoTransform in spatial_ref",
                fix="write the store with rio.write_transform",
            )
        dx = (x[-1] - x[0]) / (x.size - 1)
        dy = (y[-1] - y[0]) / (y.size - 1)
        transform = Affine(dx, 0.0, x[0] - dx / 2, 0.0, dy, y[0] - dy / 2)
    return GridInfo(crs=crs, transform=transform, shape=(y.size, x.size), x=x, y=y)


def has_footprint(ds: xr.Dataset) -> bool:
    """True when the store holds the consumer split (a ``footgrid run`` store)."""
    return "footprint" in ds.variables


def consumer_label(name: str) -> str | None:
    """The consumer of a ``"consumer:<label>"`` layer name, else None."""
    return name.split(":", 1)[1] if name.startswith("consumer:") else None


def layer_names(ds: xr.Dataset, top_consumers: list[str] | None = None) -> list[str]:
    """Names of the layers a report shows for this store.

    Parameters
    ----------
    ds
        An output store.
    top_consumers
        Consumer labels to add as ``consumer:<label>`` layers.

    Returns
    -------
    list of str
    """
    names = ["total"]
    if has_footprint(ds):
        domestic = np.asarray(ds["domestic"].values, dtype=bool)
        if (~domestic).any():
            names.append("foreign")
        if domestic.any():
            names.append("domestic")
        names += [f"consumer:{c}" for c in top_consumers or []]
    return names


def layer(ds: xr.Dataset, name: str) -> np.ndarray:
    """Compute one (y, x) layer as a float64 numpy array.

    Parameters
    ----------
    ds
        An output store (dask-backed or in memory).
    name
        ``"total"``, ``"foreign"``, ``"domestic"`` or ``"consumer:<label>"``.

    Returns
    -------
    numpy.ndarray
        Shape (ny, nx), float64.
    """
    if name == "total":
        return np.asarray(ds["emissions"].astype(np.float64).values)
    if not has_footprint(ds):
        raise InputError(
            f"layer '{name}' needs the footprint variable, which this store lacks "
            "(it was written by 'footgrid grid')",
            fix="run 'footgrid run CONFIG' for the consumer split",
        )
    fp = ds["footprint"]
    consumers = [str(c) for c in ds["consumer"].values]
    domestic = np.asarray(ds["domestic"].values, dtype=bool)
    if name in ("foreign", "domestic"):
        pick = np.flatnonzero(~domestic if name == "foreign" else domestic)
    else:
        label = consumer_label(name)
        if label is None or label not in consumers:
            raise InputError(
                f"unknown layer '{name}'",
                fix="use total, foreign, domestic or consumer:<label> with one of "
                + ", ".join(consumers[:10]),
            )
        pick = np.array([consumers.index(label)])
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    if pick.size == 0:
        return np.zeros((ny, nx))
    # Chunked reduction: per (consumer, tile) block, then a tree sum over consumers.
    sel = fp.isel(consumer=pick)
    out = sel.sum(("consumer", "category"), dtype=np.float64)
    return np.asarray(out.transpose("y", "x").values)


#: The report reads every consumer's (y, x) layer once and keeps them below this size (bytes).
CACHE_BYTES = 512 * 2**20


class Layers:
    """The layers of one store; every consumer's layer is read once when all fit in
    ``max_bytes`` (float64), so that ``foreign``, ``domestic``, the top consumers and the hubs'
    consumer sums do not each read the footprint again.

    Calling it with a layer name returns what :func:`layer` returns (a fresh array).
    """

    def __init__(self, ds: xr.Dataset, max_bytes: int = CACHE_BYTES) -> None:
        self.ds = ds
        self.per_consumer: np.ndarray | None = None
        if has_footprint(ds):
            n, ny, nx = ds.sizes["consumer"], ds.sizes["y"], ds.sizes["x"]
            if n * ny * nx * 8 <= max_bytes:
                fp = ds["footprint"].sum("category", dtype=np.float64)
                self.per_consumer = np.asarray(fp.transpose("consumer", "y", "x").values)
        self.labels = [str(c) for c in ds["consumer"].values] if has_footprint(ds) else []

    def __call__(self, name: str) -> np.ndarray:
        per = self.per_consumer
        if per is None or name == "total":
            return layer(self.ds, name)
        domestic = np.asarray(self.ds["domestic"].values, dtype=bool)
        if name in ("foreign", "domestic"):
            pick = np.flatnonzero(~domestic if name == "foreign" else domestic)
            return per[pick].sum(axis=0) if pick.size else np.zeros(per.shape[1:])
        label = consumer_label(name)
        if label is None or label not in self.labels:
            return layer(self.ds, name)  # raises the InputError naming the layers
        return per[self.labels.index(label)].copy()

    def consumer_totals(self) -> pd.Series:
        """:func:`gridded_consumer_totals`, from the layers in memory when they are."""
        if self.per_consumer is None:
            return gridded_consumer_totals(self.ds)
        return pd.Series(
            self.per_consumer.sum(axis=(1, 2)),
            index=pd.Index(self.labels, name="consumer"),
        )


def gridded_consumer_totals(ds: xr.Dataset) -> pd.Series:
    """Sum of the gridded footprint per consumer (one chunked pass over the footprint).

    Parameters
    ----------
    ds
        A store with ``footprint``.

    Returns
    -------
    pandas.Series
        Indexed by consumer label, float64.
    """
    sums = ds["footprint"].sum(("category", "y", "x"), dtype=np.float64).values
    return pd.Series(
        np.asarray(sums, dtype=np.float64),
        index=pd.Index([str(c) for c in ds["consumer"].values], name="consumer"),
    )


def home_consumers(ds: xr.Dataset) -> list[str]:
    """Labels of the domestic (home) consumers, from the ``domestic`` coordinate or ``home``."""
    if "domestic" in ds.coords:
        return [
            str(c) for c, d in zip(ds["consumer"].values, ds["domestic"].values, strict=True) if d
        ]
    try:
        return [str(c) for c in json.loads(ds.attrs.get("home", "[]"))]
    except (TypeError, ValueError):
        return []

"""Small output stores in the footgrid schema, built for the analysis tests.

Not a conftest (that belongs to the lead): test modules import these helpers directly.
Stores are written like the pipeline writes them: rioxarray CRS + GeoTransform, Zarr without
consolidated metadata, string labels as variable-length strings (object dtype; fixed-width
numpy unicode has no Zarr v3 spec and warns).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pyproj
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from affine import Affine

ALBERS = pyproj.CRS.from_proj4(
    "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +x_0=0 +y_0=0 +datum=WGS84 +units=m"
)
EARTH_RADIUS = 6_371_007.2  # authalic sphere, m


def _labels(values) -> np.ndarray:
    return np.array([str(v) for v in values], dtype=object)


def geographic_cell_area(lat_top: np.ndarray, lat_bottom: np.ndarray, dlon: float) -> np.ndarray:
    """Area (m²) of a lon/lat cell on the authalic sphere: R² Δλ (sin φ1 - sin φ2)."""
    return (
        EARTH_RADIUS**2
        * np.deg2rad(dlon)
        * (np.sin(np.deg2rad(lat_top)) - np.sin(np.deg2rad(lat_bottom)))
    )


def build_dataset(
    *,
    ny: int = 24,
    nx: int = 32,
    consumers: tuple[str, ...] = ("CN", "US", "DE", "JP", "Rest of World"),
    home: tuple[str, ...] = ("CN",),
    categories: tuple[str, ...] = ("households", "government", "investment"),
    regions: tuple[str, ...] = ("CN-EAST", "CN-WEST", "US"),
    sectors: tuple[str, ...] = ("power", "steel", "cement", "other"),
    geographic: bool = False,
    seed: int = 0,
    density: float = 0.25,
    territory: np.ndarray | None = None,
    footprint: np.ndarray | None = None,
) -> xr.Dataset:
    """A store-shaped Dataset with random sparse footprints.

    Parameters
    ----------
    ny, nx
        Grid shape.
    consumers, home, categories, regions, sectors
        Labels; ``home`` marks domestic consumers.
    geographic
        EPSG:4326 grid of 1° cells (non-uniform areas) instead of a 10 km Albers grid.
    seed
        RNG seed.
    density
        Share of non-zero cells per consumer/category slice.
    territory
        Territory mask (default: an ellipse covering most of the grid).
    footprint
        Explicit footprint (consumer, category, y, x) instead of random values.
    """
    rng = np.random.default_rng(seed)
    nc, nk = len(consumers), len(categories)
    if geographic:
        res = 1.0
        left, top = 100.0, 45.0
        crs = pyproj.CRS.from_epsg(4326)
    else:
        res = 10_000.0
        left, top = 1_000_000.0, 4_500_000.0
        crs = ALBERS
    transform = Affine(res, 0.0, left, 0.0, -res, top)
    x = left + res * (np.arange(nx) + 0.5)
    y = top - res * (np.arange(ny) + 0.5)
    if geographic:
        lat_top = top - res * np.arange(ny)
        rows = geographic_cell_area(lat_top, lat_top - res, res)
        cell_area = np.repeat(rows[:, None], nx, axis=1)
    else:
        cell_area = np.full((ny, nx), res * res)
    if territory is None:
        yy, xx = np.mgrid[0:ny, 0:nx]
        territory = ((yy - ny / 2 + 0.5) / (ny / 2)) ** 2 + (
            (xx - nx / 2 + 0.5) / (nx / 2)
        ) ** 2 < 1
    if footprint is None:
        values = rng.lognormal(3.0, 2.0, size=(nc, nk, ny, nx))
        values *= rng.random((nc, nk, ny, nx)) < density
        footprint = values.astype(np.float32)
    footprint = np.asarray(footprint, dtype=np.float32)
    # Ledger: random split over producing rows of each (consumer, category) gridded total,
    # so that ledger and grid agree per consumer as in a real run without drops.
    ledger = rng.lognormal(5.0, 1.5, size=(len(regions), len(sectors), nc, nk))
    gridded = footprint.sum(axis=(2, 3), dtype=np.float64)
    ledger *= gridded / ledger.sum(axis=(0, 1))
    domestic = np.array([c in home for c in consumers])
    ds = xr.Dataset(
        {
            "footprint": (("consumer", "category", "y", "x"), footprint),
            "emissions": (("y", "x"), footprint.sum(axis=(0, 1), dtype=np.float64).astype("f4")),
            "totals": (("region", "sector", "consumer", "category"), ledger),
            "territory": (("y", "x"), np.asarray(territory, dtype=bool)),
            "cell_area": (("y", "x"), cell_area),
        },
        coords={
            "x": x,
            "y": y,
            "consumer": _labels(consumers),
            "category": _labels(categories),
            "region": _labels(regions),
            "sector": _labels(sectors),
            "domestic": ("consumer", domestic),
        },
        attrs={
            "units": "t CO2 / yr",
            "footgrid_version": "test",
            "complete": True,
            "home": json.dumps(list(home)),
            "dropped": json.dumps({}),
        },
    )
    return ds.rio.write_crs(crs).rio.write_transform(transform)


def write_store(ds: xr.Dataset, path: pathlib.Path, *, tile: int = 8) -> pathlib.Path:
    """Write ``ds`` to a Zarr store chunked like the pipeline (consumer 1, y/x ``tile``)."""
    chunks = {"y": tile, "x": tile}
    if "consumer" in ds.dims:
        chunks["consumer"] = 1
    ds.chunk(chunks).to_zarr(path, mode="w", consolidated=False)
    return path


def make_store(tmp_path: pathlib.Path, name: str = "footprint.zarr", **kwargs) -> pathlib.Path:
    """Build a dataset (``build_dataset(**kwargs)``) and write it under ``tmp_path``."""
    return write_store(build_dataset(**kwargs), tmp_path / name)

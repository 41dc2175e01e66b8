"""Small gridded inventories in the real layouts (EDGAR v8, older EDGAR flux, CHRED-like
GeoTIFF) and a Climate TRACE source CSV, for tests and examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: A China-centred Albers equal-area CRS, as CHRED-like national grids use.
CHINA_ALBERS = (
    "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 +datum=WGS84 +units=m "
    "+no_defs +type=crs"
)


def edgar_axes(lon0: float, lat0: float, nx: int, ny: int, res: float = 0.1):
    """Cell-centre lon (ascending) and lat (ascending, south to north) of an EDGAR window."""
    lon = lon0 + res * (np.arange(nx) + 0.5)
    lat = lat0 + res * (np.arange(ny) + 0.5)
    return lon, lat


def write_edgar_v8(
    path: Path, values: np.ndarray, lon0: float, lat0: float, dtype: str = "float32"
) -> Path:
    """EDGAR v8 NetCDF-4: ``emissions(lat, lon)`` in "Tonnes" per 0.1° cell per year.

    ``values`` is (lat, lon) with row 0 the southernmost, as EDGAR stores it (float32).
    """
    import xarray as xr

    ny, nx = values.shape
    lon, lat = edgar_axes(lon0, lat0, nx, ny)
    ds = xr.Dataset(
        {"emissions": (("lat", "lon"), values.astype(dtype), {"units": "Tonnes",
                       "long_name": "Emissions of CO2 - ENE", "total": float(values.sum())})},
        coords={
            "lat": ("lat", lat, {"units": "degrees_north", "long_name": "latitude"}),
            "lon": ("lon", lon, {"units": "degrees_east", "long_name": "longitude"}),
        },
        attrs={"title": "EDGAR v8.0 CO2 emissions", "source": "JRC EDGAR"},
    )  # fmt: skip
    ds.to_netcdf(path, engine="h5netcdf")
    return path


def write_edgar_flux(
    path: Path, values: np.ndarray, lon0: float, lat0: float, years: list[int] | None = None
) -> Path:
    """Older EDGAR (v4.3.2) NetCDF: ``emi_co2`` in kg m-2 s-1, optionally with a time axis.

    ``values`` is (lat, lon) (or (time, lat, lon) when ``years`` is given), south first.
    """
    import xarray as xr

    ny, nx = values.shape[-2:]
    lon, lat = edgar_axes(lon0, lat0, nx, ny)
    dims = ("lat", "lon") if years is None else ("time", "lat", "lon")
    coords = {"lat": ("lat", lat, {"units": "degrees_north"}),
              "lon": ("lon", lon, {"units": "degrees_east"})}  # fmt: skip
    if years is not None:
        coords["time"] = ("time", pd.to_datetime([f"{y}-01-01" for y in years]))
    ds = xr.Dataset(
        {"emi_co2": (dims, values.astype(np.float64), {"units": "kg m-2 s-1"})}, coords=coords
    )
    ds.to_netcdf(path, engine="h5netcdf")
    return path


def write_chred_tif(
    path: Path, values: np.ndarray, xmin: float, ymax: float, res: float, nodata: float = -9999.0
) -> Path:
    """CHRED-like GeoTIFF: t per cell per year on a projected (Albers) grid, with nodata."""
    import rasterio
    from affine import Affine

    ny, nx = values.shape
    with rasterio.open(
        path, "w", driver="GTiff", width=nx, height=ny, count=1, dtype="float32",
        crs=CHINA_ALBERS, transform=Affine(res, 0, xmin, 0, -res, ymax), nodata=nodata,
    ) as dst:  # fmt: skip
        dst.write(values.astype(np.float32), 1)
    return path


def write_climate_trace(path: Path, rows: pd.DataFrame) -> Path:
    """A Climate TRACE source CSV (``*_emissions_sources.csv`` layout) of the given rows.

    ``rows`` needs ``iso3_country, gas, lat, lon, emissions_quantity, year``; the other
    columns get plausible values.
    """
    n = len(rows)
    df = pd.DataFrame(
        {
            "source_id": np.arange(1000, 1000 + n),
            "source_name": [f"plant {i}" for i in range(n)],
            "source_type": "",
            "iso3_country": rows["iso3_country"].to_numpy(),
            "sector": rows.get("sector", pd.Series(["power"] * n)).to_numpy(),
            "subsector": "electricity-generation",
            "start_time": [f"{y}-01-01T00:00:00Z" for y in rows["year"]],
            "end_time": [f"{y}-12-31T00:00:00Z" for y in rows["year"]],
            "lat": rows["lat"].to_numpy(),
            "lon": rows["lon"].to_numpy(),
            "geometry_ref": "",
            "gas": rows["gas"].to_numpy(),
            "emissions_quantity": rows["emissions_quantity"].to_numpy(),
            "temporal_granularity": "annual",
            "created_date": "2024-01-01",
            "modified_date": "2024-01-01",
            "emissions_factor": 0.9,
            "emissions_factor_units": "t of CO2 per MWh",
            "capacity": 100.0,
            "capacity_units": "MW",
            "capacity_factor": 0.5,
            "activity": 1000.0,
            "activity_units": "MWh",
        }
    )
    df.to_csv(path, index=False)
    return path

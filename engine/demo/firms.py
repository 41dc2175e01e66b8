"""Synthetic firm inventory for the demo: firms clustered around real cities, heavy-tailed sizes.

Every firm belongs to an inventory sector (:data:`INVENTORY_SECTORS`). A sector's firms pick their
home city with probability ∝ population^α × a province factor (coal bases for power plants,
Hebei/Jiangsu/Shandong/Liaoning for steel, the coastal hubs for export manufacturing), scatter
around it by a Gaussian whose width grows with city size, and get lognormal sizes that are then
rescaled so that each sector's total equals a fixed share of a fixed national total
(:data:`NATIONAL_TOTAL_T`). Sector totals therefore do not depend on the number of firms; power
plants, steel works and cement kilns are few and large.

Every firm lies inside a real province polygon (:func:`footgrid.demo.geography.province_polygons`)
and its province is that polygon: a firm scattered into the sea or abroad is moved back towards
its city (half the offset at a time, at most :data:`PULL_BACK` times, then onto the city, which
a polygon holds). Everything is vectorised over firms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from footgrid.demo.geography import (
    COASTAL_PROVINCES,
    HUB_PROVINCES,
    KM_PER_DEG,
    PROVINCE_LABELS,
    U_SCALE,
    Cities,
    province_of,
)

#: Chinese industrial CO2 in the reference year (t/yr): 1466 Mt foreign-driven is 14.6 %.
NATIONAL_TOTAL_T = 1.0041e10


@dataclass(frozen=True)
class InventorySector:
    """How one inventory sector's firms are drawn.

    Attributes
    ----------
    code
        Inventory sector code written to the ``sector`` column.
    firm_share
        Share of the firms.
    emission_share
        Share of national emissions.
    sigma
        Lognormal shape of firm sizes before rescaling (larger = heavier tail).
    alpha
        Exponent of city population in the city choice.
    spread
        Multiplier of the city's scatter radius (power plants and mines sit farther out).
    factors
        Province label -> multiplier of the city choice weight.
    hub, coastal
        Multipliers for the coastal hub provinces and the other coastal provinces.
    """

    code: str
    firm_share: float
    emission_share: float
    sigma: float
    alpha: float
    spread: float = 1.0
    factors: tuple[tuple[str, float], ...] = ()
    hub: float = 1.0
    coastal: float = 1.0


# Province factors of the city choice: stylised facts (coal bases, steel and refining provinces).
_PROVINCE_FACTORS: dict[str, dict[str, float]] = {
    "ELEC": {"Inner Mongolia": 3.0, "Shanxi": 2.5, "Ningxia": 2.0, "Xinjiang": 2.0,
             "Shandong": 1.8, "Jiangsu": 1.8, "Henan": 1.5, "Hebei": 1.5, "Anhui": 1.3},
    "STEEL": {"Hebei": 6.0, "Jiangsu": 3.0, "Shandong": 3.0, "Liaoning": 3.0, "Shanxi": 2.0,
              "Tianjin": 2.0, "Hubei": 1.5, "Anhui": 1.5},
    "NONFER": {"Yunnan": 2.0, "Henan": 2.0, "Shandong": 2.0, "Guangxi": 2.0, "Hunan": 2.0,
               "Gansu": 2.0, "Inner Mongolia": 2.0, "Xinjiang": 2.0},
    "CEMENT": {"Anhui": 2.0, "Shandong": 1.5, "Jiangsu": 1.5, "Guangdong": 1.3, "Sichuan": 1.3,
               "Henan": 1.3},
    "GLASS": {"Hebei": 3.0, "Shandong": 1.5},
    "REFINE": {"Liaoning": 3.0, "Shandong": 3.0, "Guangdong": 2.0, "Shanghai": 2.0,
               "Zhejiang": 1.5, "Tianjin": 1.5, "Xinjiang": 1.5},
    "COKE": {"Shanxi": 5.0, "Hebei": 2.0, "Shaanxi": 2.0, "Inner Mongolia": 2.0, "Shandong": 1.5},
    "MINING": {"Shanxi": 4.0, "Inner Mongolia": 4.0, "Shaanxi": 3.0, "Xinjiang": 2.0,
               "Heilongjiang": 2.0, "Guizhou": 2.0, "Henan": 1.5},
}  # fmt: skip

# code, firm share, emission share, lognormal sigma, population exponent, scatter, hub, coastal
_SECTOR_TABLE = (
    ("ELEC",        0.020, 0.480, 1.2, 0.8, 1.6, 1.4, 1.2),
    ("STEEL",       0.015, 0.160, 1.3, 0.7, 1.2, 1.0, 1.0),
    ("NONFER",      0.020, 0.025, 1.4, 0.8, 1.3, 1.0, 1.0),
    ("CEMENT",      0.035, 0.100, 1.0, 0.8, 1.4, 1.0, 1.0),
    ("GLASS",       0.015, 0.020, 1.3, 0.8, 1.2, 1.0, 1.0),
    ("CHEM",        0.120, 0.065, 1.8, 0.9, 1.2, 2.0, 1.5),
    ("REFINE",      0.005, 0.030, 1.2, 0.7, 1.3, 1.0, 1.0),
    ("COKE",        0.005, 0.025, 1.2, 0.7, 1.3, 1.0, 1.0),
    ("TEXTILE",     0.150, 0.012, 1.6, 1.0, 1.0, 4.0, 2.5),
    ("ELECTRONICS", 0.110, 0.008, 1.7, 1.1, 1.0, 6.0, 3.0),
    ("MACHINERY",   0.170, 0.015, 1.7, 1.0, 1.0, 3.0, 1.5),
    ("FOOD",        0.120, 0.015, 1.5, 0.9, 1.0, 1.2, 1.2),
    ("PAPER",       0.070, 0.012, 1.6, 0.9, 1.0, 2.0, 1.5),
    ("MINING",      0.050, 0.018, 1.5, 0.6, 2.0, 1.0, 1.0),
    ("OTHER",       0.095, 0.015, 1.7, 1.0, 1.0, 3.0, 2.0),
)  # fmt: skip

#: The inventory sectors: power plants, steel and cement are few, large and most of the total.
INVENTORY_SECTORS: tuple[InventorySector, ...] = tuple(
    InventorySector(
        code, firms, emis, sigma, alpha, spread,
        tuple(_PROVINCE_FACTORS.get(code, {}).items()), hub, coastal,
    )
    for code, firms, emis, sigma, alpha, spread, hub, coastal in _SECTOR_TABLE
)  # fmt: skip

#: Inventory sector -> [(MRIO sector, weight)]; COKE and OTHER are split over two MRIO sectors.
CONCORDANCE: dict[str, tuple[tuple[str, float], ...]] = {
    "ELEC": (("Electricity", 1.0),),
    "STEEL": (("Metals", 1.0),),
    "NONFER": (("Metals", 1.0),),
    "CEMENT": (("Nonmetallic", 1.0),),
    "GLASS": (("Nonmetallic", 1.0),),
    "CHEM": (("Chemicals", 1.0),),
    "REFINE": (("Petroleum", 1.0),),
    "COKE": (("Petroleum", 0.7), ("Metals", 0.3)),
    "TEXTILE": (("Textiles", 1.0),),
    "ELECTRONICS": (("Electronics", 1.0),),
    "MACHINERY": (("Machinery", 1.0),),
    "FOOD": (("Food", 1.0),),
    "PAPER": (("OtherMfg", 1.0),),
    "MINING": (("Mining", 1.0),),
    "OTHER": (("OtherMfg", 0.6), ("Machinery", 0.4)),
}

SECTOR_CODES: tuple[str, ...] = tuple(s.code for s in INVENTORY_SECTORS)

#: Largest scatter offset (plane km).
MAX_OFFSET_KM = 90.0
#: How many times a firm outside every province is moved half-way back to its city.
PULL_BACK = 6


def city_weights(cities: Cities, sector: InventorySector) -> np.ndarray:
    """Probability that a firm of ``sector`` belongs to each city (sums to 1)."""
    factor = np.ones(len(PROVINCE_LABELS))
    for k, label in enumerate(PROVINCE_LABELS):
        if label in HUB_PROVINCES:
            factor[k] *= sector.hub
        elif label in COASTAL_PROVINCES:
            factor[k] *= sector.coastal
    for label, f in sector.factors:
        factor[PROVINCE_LABELS.index(label)] *= f
    w = cities.population**sector.alpha * factor[cities.province]
    return w / w.sum()


def firm_counts(n_firms: int) -> np.ndarray:
    """Firms per inventory sector: largest-remainder rounding of ``firm_share``, each >= 1."""
    share = np.array([s.firm_share for s in INVENTORY_SECTORS])
    raw = share / share.sum() * n_firms
    counts = np.maximum(np.floor(raw).astype(np.int64), 1)
    short = n_firms - int(counts.sum())
    if short > 0:
        counts[np.argsort(-(raw - np.floor(raw)), kind="stable")[:short]] += 1
    elif short < 0:
        counts[np.argmax(counts)] += short
    return counts


@dataclass(frozen=True)
class Firms:
    """The sampled inventory as plain arrays (one entry per firm, in file order)."""

    firm_id: np.ndarray  # int64
    lon: np.ndarray  # float64, EPSG:4326
    lat: np.ndarray  # float64
    co2_t: np.ndarray  # float64, t CO2 / yr
    sector: np.ndarray  # int8 index into SECTOR_CODES
    province: np.ndarray  # int8 index into PROVINCE_LABELS

    def __len__(self) -> int:
        return len(self.firm_id)


def sample_firms(cities: Cities, n_firms: int, rng: np.random.Generator, polygons: list) -> Firms:
    """Draw ``n_firms`` firms around the real cities (vectorised; scales to 10^7 firms).

    Parameters
    ----------
    cities
        Real cities inside the polygons (:func:`footgrid.demo.geography.cities_inside`).
    polygons
        Province polygons (EPSG:4326) in ``PROVINCE_LABELS`` order; every firm ends inside one.
    n_firms
        Number of firms.
    rng
        Random generator; the same generator state gives the same firms.

    Returns
    -------
    Firms
        Arrays in a random (shuffled) file order with ``firm_id`` 1..n.
    """
    counts = firm_counts(n_firms)
    city = np.empty(n_firms, dtype=np.int64)
    sector = np.repeat(np.arange(len(INVENTORY_SECTORS), dtype=np.int8), counts)
    spread = np.repeat([s.spread for s in INVENTORY_SECTORS], counts)
    co2 = np.empty(n_firms)
    start = 0
    for spec, count in zip(INVENTORY_SECTORS, counts, strict=True):
        stop = start + int(count)
        cdf = np.cumsum(city_weights(cities, spec))
        city[start:stop] = np.minimum(
            np.searchsorted(cdf, rng.random(count) * cdf[-1]), len(cdf) - 1
        )
        size = rng.lognormal(0.0, spec.sigma, count)
        co2[start:stop] = size * (spec.emission_share * NATIONAL_TOTAL_T / size.sum())
        start = stop

    # Gaussian scatter around the city; width grows with city size, capped in the plane.
    sigma_km = np.clip(1.0 + 1.5 * np.sqrt(cities.population / 1e6), 1.0, 12.0)[city] * spread
    dx = rng.standard_normal(n_firms) * sigma_km
    dy = rng.standard_normal(n_firms) * sigma_km
    clat = cities.lat[city]
    du = dx * (U_SCALE / np.cos(np.radians(clat)))  # true km east -> plane km
    norm = np.hypot(du, dy)
    shrink = np.minimum(1.0, MAX_OFFSET_KM / np.maximum(norm, 1e-12))
    dlon, dlat = du * shrink / (KM_PER_DEG * U_SCALE), dy * shrink / KM_PER_DEG
    lon = np.round(cities.lon[city] + dlon, 5)
    lat = np.round(clat + dlat, 5)
    province = province_of(polygons, lon, lat)
    for _ in range(PULL_BACK):  # into the sea or abroad: half-way back to the city
        out = np.flatnonzero(province < 0)
        if out.size == 0:
            break
        dlon[out] *= 0.5
        dlat[out] *= 0.5
        lon[out] = np.round(cities.lon[city[out]] + dlon[out], 5)
        lat[out] = np.round(clat[out] + dlat[out], 5)
        province[out] = province_of(polygons, lon[out], lat[out])
    out = np.flatnonzero(province < 0)  # still outside: onto the city itself
    lon[out], lat[out] = cities.lon[city[out]], cities.lat[city[out]]
    province[out] = cities.province[city[out]]

    order = rng.permutation(n_firms)
    lon, lat, co2, sector, province = (
        lon[order],
        lat[order],
        np.round(co2[order], 3),
        sector[order],
        province[order].astype(np.int8),
    )
    return Firms(
        firm_id=np.arange(1, n_firms + 1, dtype=np.int64),
        lon=lon,
        lat=lat,
        co2_t=co2,
        sector=sector,
        province=province,
    )


def concordance_matrix(mrio_sectors: tuple[str, ...]) -> np.ndarray:
    """Weights w(s -> j) as a (n inventory sectors, n MRIO sectors) array; rows sum to 1."""
    W = np.zeros((len(SECTOR_CODES), len(mrio_sectors)))
    for i, code in enumerate(SECTOR_CODES):
        for target, weight in CONCORDANCE[code]:
            W[i, mrio_sectors.index(target)] += weight
    return W


def emissions_by_row(firms: Firms, mrio_sectors: tuple[str, ...]) -> np.ndarray:
    """Emissions per Chinese producing row (province, MRIO sector), shape (n provinces, n sectors).

    e[(r, j)] = Σ_p e_p · w(s_p → j) over firms p in province r.
    """
    n_prov, n_inv = len(PROVINCE_LABELS), len(SECTOR_CODES)
    key = firms.province.astype(np.int64) * n_inv + firms.sector.astype(np.int64)
    by_inv = np.bincount(key, weights=firms.co2_t, minlength=n_prov * n_inv).reshape(n_prov, n_inv)
    return by_inv @ concordance_matrix(mrio_sectors)

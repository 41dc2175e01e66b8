"""The per-firm table: id types kept, a category column, GeoParquet read back with geopandas;
references: the input firms (pandas), pyproj for the point places, the store's ledger."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyproj

import footgrid
from tests.helpers.cases import firms, make_case


def _int_ids(folder, n):
    df = firms(n)
    df["firm_id"] = np.arange(10**12, 10**12 + n, dtype=np.int64)  # past int32 on purpose
    df.to_parquet(folder / "firms.parquet", index=False)
    return df


def test_integer_ids_stay_integers_and_categories_are_kept(tmp_path) -> None:
    cfg = make_case(tmp_path, 300, output={"firm_table": "parquet"})
    df = _int_ids(tmp_path, 300)
    ds = footgrid.run(cfg)
    t = pq.read_table(tmp_path / "out_firms.parquet")
    assert t.schema.field("firm_id").type == "int64"
    table = t.to_pandas()
    assert list(table.columns) == ["firm_id", "consumer", "category", "tonnes"]
    per_firm = table.groupby("firm_id").tonnes.sum()
    e = df.set_index("firm_id").co2_t
    np.testing.assert_allclose(per_firm.to_numpy(), e.loc[per_firm.index].to_numpy())
    per_cell = table.groupby(["consumer", "category"], observed=True).tonnes.sum()
    ledger = ds.totals.sum(("region", "sector")).to_series()
    np.testing.assert_allclose(per_cell.loc[ledger.index].to_numpy(), ledger.to_numpy())


def test_summed_categories_have_no_category_column(tmp_path) -> None:
    cfg = make_case(tmp_path, 100, output={"firm_table": True}, consumers={"categories": "sum"})
    footgrid.run(cfg)
    cols = pq.read_schema(tmp_path / "out_firms.parquet").names
    assert cols == ["firm_id", "consumer", "tonnes"]


def test_geoparquet_points_read_back_with_geopandas(tmp_path) -> None:
    cfg = make_case(tmp_path, 200, output={"firm_table": "geoparquet"})
    ds = footgrid.run(cfg)
    g = gpd.read_parquet(tmp_path / "out_firms.parquet")
    assert (g.geometry.geom_type == "Point").all()
    assert g.crs == pyproj.CRS.from_wkt(ds.rio.crs.to_wkt())
    df = firms(200).set_index("firm_id")
    first = g.drop_duplicates("firm_id").set_index("firm_id")
    tr = pyproj.Transformer.from_crs(4326, g.crs, always_xy=True)
    x, y = tr.transform(df.lon.loc[first.index].to_numpy(), df.lat.loc[first.index].to_numpy())
    np.testing.assert_allclose(first.geometry.x.to_numpy(), x, rtol=0, atol=1e-6)
    np.testing.assert_allclose(first.geometry.y.to_numpy(), y, rtol=0, atol=1e-6)
    assert isinstance(g, gpd.GeoDataFrame) and isinstance(g.firm_id.iloc[0], str)
    assert pd.api.types.is_float_dtype(g.tonnes)

"""The Parquet reader (row group by row group) against pandas' own reading of the same file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from footgrid.config import load_config
from footgrid.errors import InputError
from footgrid.io.points import read_points
from footgrid.ledger import Ledger


def _cfg(path, **points) -> dict:
    base = {"path": str(path), "emission": "co2_t", "region": "province"}
    return load_config({"points": base | points}).points


def _table(n: int, rng: np.random.Generator) -> pa.Table:
    lon = rng.uniform(100, 120, n)
    lon_mask = rng.random(n) < 0.05  # null coordinates: dropped as invalid, like NaN
    lat = rng.uniform(25, 40, n).astype(np.float32)  # float32 on disk
    em = rng.integers(0, 1000, n)  # integer emission with nulls
    em_mask = rng.random(n) < 0.05
    return pa.table(
        {
            "name": pa.array([f"firm {i}" for i in range(n)]),  # a column never read
            "lon": pa.array(lon, mask=lon_mask),
            "lat": pa.array(lat),
            "co2_t": pa.array(em, mask=em_mask),
            "sector": pa.array(rng.choice(["A", "B", "C"], n)).dictionary_encode(),
            "province": pa.array(rng.choice(["P1", "P2", None], n)),
        }
    )


@pytest.mark.parametrize("row_group_size", [7, 64, 10_000])
def test_row_groups_read_like_pandas(tmp_path, row_group_size):
    rng = np.random.default_rng(row_group_size)
    path = tmp_path / "firms.parquet"
    pq.write_table(_table(500, rng), path, row_group_size=row_group_size)
    ref = pd.read_parquet(path)
    valid = (ref["lon"].notna() & ref["co2_t"].notna() & ref["province"].notna()).to_numpy()

    ledger = Ledger()
    pts = read_points(_cfg(path), ledger)

    np.testing.assert_array_equal(pts.cx, ref["lon"].to_numpy(float)[valid])
    np.testing.assert_array_equal(pts.cy, ref["lat"].to_numpy(float)[valid])
    np.testing.assert_array_equal(pts.emission, ref["co2_t"].to_numpy(float)[valid])
    assert list(pts.sector.astype(str)) == list(ref["sector"].astype(str)[valid])
    assert list(pts.region.astype(str)) == list(ref["province"][valid])
    np.testing.assert_array_equal(pts.rows(), np.flatnonzero(valid))
    assert ledger.input_points == len(ref)
    assert ledger.input_total == pytest.approx(np.nansum(ref["co2_t"].to_numpy(float)))
    assert ledger.dropped_points == int((~valid).sum())


def test_coordinates_are_the_readers_own_arrays(tmp_path):
    """Projected in place later, so they must be writable arrays, not views of Arrow memory."""
    path = tmp_path / "firms.parquet"
    n = 100
    rng = np.random.default_rng(1)
    pq.write_table(
        pa.table(
            {
                "lon": rng.uniform(100, 120, n),
                "lat": rng.uniform(25, 40, n),
                "co2_t": rng.uniform(0, 9, n),
                "sector": ["A"] * n,
                "province": ["P1"] * n,
            }
        ),
        path,
        row_group_size=30,
    )
    pts = read_points(_cfg(path), Ledger())
    assert len(pts) == n
    assert pts.cx.flags.writeable and pts.cy.flags.writeable


def test_duplicated_column_still_named_in_the_error(tmp_path):
    path = tmp_path / "firms.parquet"
    t = _table(20, np.random.default_rng(0))
    t = pa.table([*t.columns, t.column("lon")], names=[*t.column_names, "lon"])
    pq.write_table(t, path)
    with pytest.raises(InputError, match="2 columns named 'lon'"):
        read_points(_cfg(path), Ledger())


def test_missing_column_lists_every_column_of_the_file(tmp_path):
    path = tmp_path / "firms.parquet"
    pq.write_table(_table(20, np.random.default_rng(0)), path)
    with pytest.raises(InputError, match=r"no column 'co2'.*name, lon, lat, co2_t") as info:
        read_points(_cfg(path, emission="co2"), Ledger())
    assert info.value.column == "co2"


def test_missing_label_column_is_named(tmp_path):
    path = tmp_path / "firms.parquet"
    t = _table(20, np.random.default_rng(0)).rename_columns(
        ["name", "lon", "lat", "co2_t", "sec", "province"]
    )
    pq.write_table(t, path)
    with pytest.raises(InputError, match="no column 'sector'"):
        read_points(_cfg(path), Ledger())


def test_integer_labels_and_ids_keep_nulls_and_precision(tmp_path):
    """Integer region and id columns stay integers: a null region is dropped, not 'nan', and
    ids above 2**53 stay distinct (pandas' reading of the file is the reference)."""
    path = tmp_path / "firms.parquet"
    n = 6
    pq.write_table(
        pa.table(
            {
                "lon": [110.0] * n,
                "lat": [30.0] * n,
                "co2_t": [1.0] * n,
                "sector": ["A"] * n,
                "province": pa.array([1, None, 3, 4, 5, 6], pa.int64()),
                "firm_id": pa.array([2**60 + i for i in range(n)], pa.int64()),
            }
        ),
        path,
        row_group_size=4,
    )
    ref = pd.read_parquet(path)
    ledger = Ledger()
    pts = read_points(_cfg(path, id="firm_id"), ledger)
    keep = ref["province"].notna().to_numpy()
    assert list(pts.region.astype(str)) == [str(int(v)) for v in ref["province"][keep]]
    assert [str(v) for v in pts.ids.to_pylist()] == [str(v) for v in ref["firm_id"][keep]]
    assert ledger.dropped_points == 1


def test_xy_and_geoparquet_files_take_the_row_group_path(tmp_path, monkeypatch):
    import shapely

    rng = np.random.default_rng(2)
    n = 50
    x, y = rng.uniform(0, 1e6, n), rng.uniform(0, 1e6, n)
    base = {"co2_t": rng.uniform(1, 2, n), "sector": ["A"] * n, "province": ["P1"] * n}
    xy = tmp_path / "xy.parquet"
    pq.write_table(pa.table({"x": x, "y": y, **base}), xy, row_group_size=16)
    geo = tmp_path / "geo.parquet"
    gdf = pd.DataFrame(base).assign(geometry=shapely.to_wkb(shapely.points(x, y)))
    meta = {
        b"geo": (
            b'{"version": "1.0.0", "primary_column": "geometry", "columns": {"geometry": '
            b'{"encoding": "WKB", "geometry_types": ["Point"], "crs": "EPSG:3857"}}}'
        )
    }
    t = pa.Table.from_pandas(gdf, preserve_index=False)
    pq.write_table(t.replace_schema_metadata({**t.schema.metadata, **meta}), geo)

    def whole_table(*args, **kwargs):
        raise AssertionError("read the whole table instead of row groups")

    monkeypatch.setattr(pq, "read_table", whole_table)
    monkeypatch.setattr(pq.ParquetFile, "read", whole_table)
    pts = read_points(_cfg(xy, x="x", y="y", crs="EPSG:3857"), Ledger())
    np.testing.assert_array_equal(pts.cx, x)
    np.testing.assert_array_equal(pts.cy, y)
    pts = read_points(_cfg(geo), Ledger())
    np.testing.assert_array_equal(pts.cx, x)
    assert pts.crs.to_epsg() == 3857


def test_one_column_in_two_roles_gets_two_arrays(tmp_path):
    """Coordinates are projected in place: a column that is also the emission is not shared."""
    path = tmp_path / "firms.parquet"
    n = 10
    v = np.linspace(1, 2, n)
    pq.write_table(pa.table({"x": v, "y": v, "sector": ["A"] * n, "province": ["P1"] * n}), path)
    pts = read_points(_cfg(path, x="x", y="y", crs="EPSG:3857", emission="x"), Ledger())
    assert not np.shares_memory(pts.cx, pts.emission)
    np.testing.assert_array_equal(pts.emission, v)


def test_csv_labels_na_null_nan_are_labels_only_empty_is_missing(tmp_path):
    labels = ["NA", "null", "nan", "N/A", "NULL", ""]
    text = "lon,lat,co2_t,sector,province\n" + "".join(
        f"{100 + i},{30 + i},{i + 1},S{i},{lab}\n" for i, lab in enumerate(labels)
    )
    text += "107,37,NA,S7,NA\n"  # a numeric NA is still a missing number
    path = tmp_path / "firms.csv"
    path.write_text(text)
    ledger = Ledger()
    pts = read_points(_cfg(path), ledger)
    # Independent: the labels as written; the empty one is the only missing region.
    assert list(np.asarray(pts.region)) == labels[:-1]
    assert ledger.dropped["missing_region"][0] == 1
    assert ledger.dropped["missing_emission"][0] == 1


def test_larger_than_memory_csv_keeps_na_labels(tmp_path):
    from footgrid.execution.partitioned import read_frame

    path = tmp_path / "firms.csv"
    path.write_text("lon,lat,co2_t,sector,province\n100,30,1,NA,NA\n101,31,NA,null,\n")
    cfg = load_config({"points": {"path": str(path), "emission": "co2_t", "region": "province"},
                       "compute": {"larger_than_memory": True}})  # fmt: skip
    df = read_frame(cfg).compute()
    assert df["sector"].tolist() == ["NA", "null"]
    assert df["province"].iloc[0] == "NA" and pd.isna(df["province"].iloc[1])
    assert pd.isna(df["co2_t"].iloc[1])


def _geoparquet(path, x, y, crs: str, base: dict, wkb=None) -> None:
    import shapely

    geometry = shapely.to_wkb(shapely.points(x, y)) if wkb is None else wkb
    meta = {
        b"geo": (
            b'{"version": "1.0.0", "primary_column": "geometry", "columns": {"geometry": '
            b'{"encoding": "WKB", "geometry_types": ["Point"], "crs": "' + crs.encode() + b'"}}}'
        )
    }
    t = pa.Table.from_pandas(pd.DataFrame(base).assign(geometry=geometry), preserve_index=False)
    pq.write_table(t.replace_schema_metadata({**t.schema.metadata, **meta}), path)


def test_a_geoparquet_glob_reads_each_file_in_its_own_crs(tmp_path):
    import pyproj

    rng = np.random.default_rng(4)
    n = 40
    lon, lat = rng.uniform(100, 120, n), rng.uniform(20, 40, n)
    base = {"co2_t": rng.uniform(1, 2, n), "sector": ["A"] * n, "province": ["P1"] * n}
    _geoparquet(tmp_path / "a.parquet", lon[:20], lat[:20], "EPSG:4326",
                {k: v[:20] for k, v in base.items()})  # fmt: skip
    to_merc = pyproj.Transformer.from_crs(4326, 3857, always_xy=True)
    mx, my = to_merc.transform(lon[20:], lat[20:])
    _geoparquet(tmp_path / "b.parquet", mx, my, "EPSG:3857",
                {k: v[20:] for k, v in base.items()})  # fmt: skip
    ledger = Ledger()
    pts = read_points(_cfg(tmp_path / "*.parquet"), ledger)
    assert ledger.dropped_points == 0
    assert pts.crs.to_epsg() == 4326
    np.testing.assert_allclose(pts.cx, lon, atol=1e-9)
    np.testing.assert_allclose(pts.cy, lat, atol=1e-9)


def test_geoparquet_empty_and_garbage_geometries(tmp_path):
    import shapely

    base = {"co2_t": [1.0, 2.0, 3.0], "sector": ["A"] * 3, "province": ["P1"] * 3}
    good = shapely.to_wkb(shapely.points([1.0, 2.0], [3.0, 4.0]))
    empty = shapely.to_wkb(shapely.from_wkt("POINT EMPTY"))
    path = tmp_path / "empty.parquet"
    _geoparquet(path, None, None, "EPSG:3857", base, wkb=[good[0], empty, good[1]])
    ledger = Ledger()
    pts = read_points(_cfg(path), ledger)
    assert len(pts) == 2 and ledger.dropped["invalid_coordinates"] == [1, 2.0]
    path = tmp_path / "garbage.parquet"
    _geoparquet(path, None, None, "EPSG:3857", base, wkb=[good[0], b"\x01garbage", good[1]])
    with pytest.raises(InputError, match="not valid WKB") as exc:
        read_points(_cfg(path), Ledger())
    assert "row 1" in exc.value.message
    path = tmp_path / "text.parquet"
    _geoparquet(path, None, None, "EPSG:3857", base, wkb=["POINT (1 2)"] * 3)
    with pytest.raises(InputError, match="not WKB binary"):
        read_points(_cfg(path), Ledger())


def test_dictionary_encoded_ids_and_a_glob_of_mixed_string_types(tmp_path):
    n = 6
    base = {"lon": np.linspace(100, 110, n), "lat": np.linspace(20, 30, n),
            "co2_t": np.ones(n), "sector": ["A"] * n, "province": ["P1"] * n}  # fmt: skip
    ids = [f"F{i}" for i in range(n)]
    first = {k: v[:3] for k, v in base.items()}
    pq.write_table(pa.table(first | {"firm": pa.array(ids[:3]).dictionary_encode()}),
                   tmp_path / "a.parquet")  # fmt: skip
    second = {k: v[3:] for k, v in base.items()}
    pq.write_table(pa.table(second | {"firm": pa.array(ids[3:], pa.large_string())}),
                   tmp_path / "b.parquet")  # fmt: skip
    pts = read_points(_cfg(tmp_path / "a.parquet", id="firm"), Ledger())
    assert pts.ids.to_pylist() == ids[:3]
    pts = read_points(_cfg(tmp_path / "*.parquet", id="firm"), Ledger())
    assert pts.ids.to_pylist() == ids


def test_emissions_whose_sum_overflows_float64_are_a_clear_error(tmp_path):
    """Found by the fuzz test: two emissions of 9e307 t overflowed the ledger's sum."""
    path = tmp_path / "firms.csv"
    path.write_text("lon,lat,co2_t,sector\n110,30,8.99e307,A\n111,31,8.99e307,A\n112,32,1,A\n")
    cfg = load_config({"points": {"path": str(path), "emission": "co2_t", "sector": "sector"},
                       "output": {"path": str(tmp_path / "o.zarr")}})  # fmt: skip
    with pytest.raises(InputError, match="largest float64") as info:
        read_points(cfg.points, Ledger())
    assert "row" in info.value.message and "co2_t" in info.value.message

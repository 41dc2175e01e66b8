"""Loading MRIOs: IOSystem, pymrio folder, EXIOBASE 3 zip, plain tables; validation messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pymrio
import pytest

from footgrid.errors import InputError, MRIOError
from footgrid.mrio.tables import MRIOTables, detect_format, load_mrio


@pytest.fixture(scope="module")
def test_io() -> pymrio.IOSystem:
    return pymrio.load_test()


def _expected(io: pymrio.IOSystem) -> tuple[np.ndarray, np.ndarray]:
    return io.Z.to_numpy(dtype=float), io.Y.to_numpy(dtype=float)


def write_tables(io: pymrio.IOSystem, folder: Path, kind: str = "csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    io.Z.index.to_frame(index=False).to_csv(folder / "rows.csv", index=False)
    io.Y.columns.to_frame(index=False).to_csv(folder / "cols.csv", index=False)
    for name, df in (("Z", io.Z), ("Y", io.Y)):
        plain = pd.DataFrame(df.to_numpy(), columns=[f"c{j}" for j in range(df.shape[1])])
        if kind == "csv":
            plain.to_csv(folder / f"{name}.csv", index=False, float_format="%.17g")
        else:
            plain.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def test_iosystem_object(test_io) -> None:
    t = load_mrio(test_io)
    Z, Y = _expected(test_io)
    assert t.source == "IOSystem"
    assert t.rows.names == ["region", "sector"] and t.cols.names == ["region", "category"]
    assert t.Z.dtype == np.float64 and t.Z.shape == (48, 48) and t.Y.shape == (48, 42)
    np.testing.assert_array_equal(t.Z, Z)
    np.testing.assert_array_equal(t.Y, Y)
    assert list(t.rows) == [tuple(map(str, r)) for r in test_io.Z.index]
    np.testing.assert_allclose(t.x, Z.sum(1) + Y.sum(1))
    assert t.regions == ["reg1", "reg2", "reg3", "reg4", "reg5", "reg6"]
    assert len(t.sectors) == 8
    assert not t.Z.flags.writeable


def test_pymrio_saved_folder(test_io, tmp_path) -> None:
    test_io.save_all(tmp_path / "mrio")
    assert detect_format(tmp_path / "mrio") == "pymrio"
    for fmt in ("auto", "pymrio"):
        t = load_mrio(tmp_path / "mrio", fmt)
        Z, Y = _expected(test_io)
        np.testing.assert_allclose(t.Z, Z, rtol=1e-11)
        np.testing.assert_allclose(t.Y, Y, rtol=1e-11)
        assert t.source == str(tmp_path / "mrio")


def test_pymrio_parquet_folder(test_io, tmp_path) -> None:
    test_io.save_all(tmp_path / "mrio", table_format="parquet")
    t = load_mrio(tmp_path / "mrio")
    np.testing.assert_array_equal(t.Z, _expected(test_io)[0])


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_tables_layout(test_io, tmp_path, kind) -> None:
    folder = write_tables(test_io, tmp_path / "tables", kind)
    assert detect_format(folder) == "tables"
    t = load_mrio(folder)
    Z, Y = _expected(test_io)
    np.testing.assert_array_equal(t.Z, Z)
    np.testing.assert_array_equal(t.Y, Y)
    assert list(t.cols) == [tuple(map(str, c)) for c in test_io.Y.columns]
    assert t == t  # identity equality only (arrays make value equality ambiguous)


def fake_exiobase3_zip(io: pymrio.IOSystem, folder: Path) -> Path:
    """An archive laid out like a downloaded EXIOBASE 3 zip: IOT_<year>_ixi/ with A, x, Y (no
    Z), file_parameters.json and a ``satellite`` extension folder with F and F_Y."""
    io = io.copy()
    io.calc_all()
    io.Z = None
    io.L = None
    sat = io.emissions
    for name in list(vars(sat)):
        if name not in ("F", "F_Y", "unit", "name") and isinstance(
            getattr(sat, name), pd.DataFrame
        ):
            setattr(sat, name, None)
    io.remove_extension("factor_inputs")
    io.satellite = sat
    del io.emissions
    io.save_all(folder / "IOT_2011_ixi")
    zpath = folder / "IOT_2011_ixi.zip"
    pymrio.archive(source=folder / "IOT_2011_ixi", archive=zpath, path_in_arc="IOT_2011_ixi/")
    return zpath


def test_exiobase3_zip(test_io, tmp_path) -> None:
    zpath = fake_exiobase3_zip(test_io, tmp_path)
    assert detect_format(zpath) == "exiobase3"
    for fmt in ("auto", "exiobase3"):
        t = load_mrio(zpath, fmt)
        Z, Y = _expected(test_io)
        # EXIOBASE 3 ships A and x; Z = A diag(x) is rebuilt (A saved with 12 digits).
        np.testing.assert_allclose(t.Z, Z, rtol=0, atol=1e-10 * Z.max())
        np.testing.assert_array_equal(t.Y, Y)
        assert t.source == str(zpath)


def test_unknown_format_and_missing_paths(tmp_path, test_io) -> None:
    with pytest.raises(InputError, match=r"unknown MRIO format 'gtap'.*mrio\.format"):
        load_mrio(tmp_path, "gtap")
    with pytest.raises(InputError, match=r"does not exist.*nope"):
        load_mrio(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("x")
    with pytest.raises(InputError, match=r"cannot tell the MRIO format.*readme.txt"):
        load_mrio(tmp_path / "empty")
    (tmp_path / "z.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="not a zip archive"):
        load_mrio(tmp_path / "z.csv")
    with pytest.raises(InputError, match="IOSystem object was given"):
        load_mrio(test_io, "tables")
    with pytest.raises(InputError, match="pymrio could not read"):
        load_mrio(tmp_path / "empty", "pymrio")


def test_tables_missing_and_malformed_files(test_io, tmp_path) -> None:
    folder = write_tables(test_io, tmp_path / "t")
    (folder / "Y.csv").unlink()
    with pytest.raises(InputError, match=r"Y is missing.*Y.csv or Y.parquet"):
        load_mrio(folder)
    write_tables(test_io, folder)
    pd.DataFrame({"region": ["a"], "sectr": ["b"]}).to_csv(folder / "rows.csv", index=False)
    with pytest.raises(InputError, match=r"lacks column\(s\) sector.*rows.csv"):
        load_mrio(folder)
    write_tables(test_io, folder)
    pd.DataFrame(np.ones((48, 47))).to_csv(folder / "Z.csv", index=False)
    with pytest.raises(InputError, match=r"Z has shape \(48, 47\), expected \(48, 48\)"):
        load_mrio(folder)
    pd.DataFrame([["x"] * 48] * 48).to_csv(folder / "Z.csv", index=False)
    with pytest.raises(InputError, match="cannot read MRIO matrix Z as numbers"):
        load_mrio(folder)


def test_bad_numbers_name_file_matrix_and_labels(test_io, tmp_path) -> None:
    io = test_io.copy()
    io.Z.iloc[3, 10] = np.nan
    folder = write_tables(io, tmp_path / "nan")
    with pytest.raises(MRIOError) as err:
        load_mrio(folder)
    msg = err.value.message
    assert "MRIO matrix Z has 1 non-finite" in msg
    assert "row ('reg1', 'electricity'), column ('reg2', 'manufactoring')" in msg
    assert str(folder) in msg and "Fix:" in msg

    io = test_io.copy()
    io.Z.iloc[0, 1] = -5.0
    with pytest.raises(
        MRIOError, match=r"Z has 1 negative.*\('reg1', 'food'\).*\('reg1', 'mining'\)"
    ):
        load_mrio(io)

    io = test_io.copy()
    io.Y.iloc[2, 4] = -1.0
    with pytest.raises(MRIOError, match=r"Y has 1 negative.*Changes in inventories.*allow"):
        load_mrio(io)
    t = load_mrio(io, negative_final_demand="allow")
    assert t.allow_negative_y and t.Y[2, 4] == -1.0
    with pytest.raises(InputError, match="negative_final_demand"):
        load_mrio(io, negative_final_demand="clip")

    io = test_io.copy()
    io.Y.iloc[5, 0] = np.inf
    with pytest.raises(MRIOError, match=r"Y has 1 non-finite.*\('reg1', 'Final consumption"):
        load_mrio(io)


def test_load_test_has_no_negative_final_demand(test_io) -> None:
    # The documented default (negative Y is an error) still loads pymrio's own test system.
    assert (test_io.Y.to_numpy() >= 0).all()
    assert not load_mrio(test_io).allow_negative_y


def test_labels_must_match_and_be_unique() -> None:
    rows = pd.MultiIndex.from_tuples([("a", "s1"), ("a", "s2")])
    cols = pd.MultiIndex.from_tuples([("a", "hh")])
    with pytest.raises(MRIOError, match="labels do not match"):
        MRIOTables(np.eye(2), np.ones((2, 2)), rows, cols, "x")
    dup = pd.MultiIndex.from_tuples([("a", "s1"), ("a", "s1")])
    with pytest.raises(MRIOError, match="row labels are not unique"):
        MRIOTables(np.zeros((2, 2)), np.ones((2, 1)), dup, cols, "x")
    with pytest.raises(MRIOError, match="2-level MultiIndex"):
        MRIOTables(np.zeros((2, 2)), np.ones((2, 1)), pd.Index(["a", "b"]), cols, "x")


def test_iosystem_without_z_uses_a_and_x(test_io) -> None:
    io = test_io.copy()
    io.calc_system()
    io.Z = None
    t = load_mrio(io)
    np.testing.assert_allclose(t.Z, test_io.Z.to_numpy(), rtol=1e-12, atol=1e-9)
    io.A = None
    with pytest.raises(MRIOError, match="neither Z nor A"):
        load_mrio(io)

"""Bad input: a clear error naming file, column and row (or config key), or a counted drop.

Every bad input of the reliability issue is tested through the Python API and through the CLI's
``main`` in-process (exit status 2, one ``footgrid: error:`` paragraph, no traceback); a few run
as real subprocesses too. Runs that complete check the mass balance: input total == gridded
total + dropped totals by reason.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import footgrid
from footgrid.cli import main
from tests.helpers.cases import firms, make_case
from tests.helpers.files import random_points, run_cli, write_config, write_points


# ----------------------------------------------------------------------------- helpers
def _grid_case(folder: Path, df: pd.DataFrame, suffix: str = ".parquet", **sections) -> Path:
    """Points file + config for `grid` (50 km cells, 16-cell tiles)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_points(folder / f"firms{suffix}", df)
    cfg: dict = {
        "points": {"path": f"firms{suffix}", "emission": "co2_t"},
        "grid": {"resolution": 50_000, "tile": 16},
        "output": {"path": "out.zarr"},
    }
    for name, body in sections.items():
        cfg.setdefault(name, {}).update(body)
    return write_config(folder, cfg)


def _edit_mrio(folder: Path, edit: Callable[[pd.DataFrame, pd.DataFrame], None]) -> None:
    """Apply ``edit(Z, Y)`` in place to the tables MRIO that ``make_case`` wrote."""
    z = pd.read_csv(folder / "mrio" / "Z.csv")
    y = pd.read_parquet(folder / "mrio" / "Y.parquet")
    edit(z, y)
    z.to_csv(folder / "mrio" / "Z.csv", index=False)
    y.to_parquet(folder / "mrio" / "Y.parquet")


def _set_entry(folder: Path, name: str, i: int, j: int, value: float) -> None:
    """Set entry (i, j) of matrix ``name`` ("Z" or "Y") of the tables MRIO."""

    def edit(z: pd.DataFrame, y: pd.DataFrame) -> None:
        (z if name == "Z" else y).iloc[i, j] = value

    _edit_mrio(folder, edit)


def _zero_row0(z: pd.DataFrame, y: pd.DataFrame) -> None:
    # MRIO row 0 is ('CN-A', 'ELEC'): no sales, no purchases, no final demand -> x = 0.
    z.iloc[0, :] = 0.0
    z.iloc[:, 0] = 0.0
    y.iloc[0, :] = 0.0


def _points_file(folder: Path) -> Path:
    return folder / "firms.parquet"


def assert_balance(ds) -> dict:
    """input total == gridded total + dropped by reason; rasters agree with the attributes."""
    a = ds.attrs
    dropped = json.loads(a["dropped"])
    assert a["complete"] == 1
    by_reason = sum(v["emission"] for v in dropped.values())
    assert a["input_total"] == pytest.approx(a["gridded_total"] + by_reason, rel=1e-12, abs=1e-9)
    assert a["dropped_total"] == pytest.approx(by_reason, rel=1e-12, abs=1e-9)
    assert float(ds.emissions.sum(dtype="f8")) == pytest.approx(a["gridded_total"], rel=1e-6)
    if "footprint" in ds:
        fp = float(ds.footprint.sum(dtype="f8"))
        assert fp == pytest.approx(a["gridded_total"], rel=1e-6)
    return dropped


@pytest.fixture(autouse=True)
def _keep_log_level():
    """`main` sets the footgrid logger's level; restore it for the tests that follow."""
    logger = logging.getLogger("footgrid")
    level = logger.level
    yield
    logger.setLevel(level)


# ----------------------------------------------------------------------------- bad inputs
@dataclass
class Bad:
    """A bad input: how to build it, the command, the error class and message fragments."""

    build: Callable[[Path, pytest.MonkeyPatch], Path]
    command: str
    error: type[footgrid.FootgridError]
    parts: tuple[str, ...]


def _missing_file(d: Path, mp) -> Path:
    return _grid_case(d, random_points(20), points={"path": "nope.parquet"})


def _unreadable_file(d: Path, mp) -> Path:
    cfg = _grid_case(d, random_points(20))
    f = _points_file(d)
    f.chmod(0)
    if os.access(f, os.R_OK):  # root reads anything: fail the open instead
        import pyarrow.parquet as pq

        def deny(*args, **kwargs):
            raise PermissionError(13, "Permission denied", str(f))

        mp.setattr(pq, "ParquetFile", deny)
    return cfg


def _corrupt_parquet(d: Path, mp) -> Path:
    cfg = _grid_case(d, random_points(200))
    raw = _points_file(d).read_bytes()
    _points_file(d).write_bytes(raw[: len(raw) // 2])  # truncated: no footer
    return cfg


def _missing_column(d: Path, mp) -> Path:
    return _grid_case(d, random_points(20), points={"emission": "co2"})


def _text_in_emission(d: Path, mp) -> Path:
    df = random_points(20).astype({"co2_t": object})
    df.loc[7, "co2_t"] = "abc"
    return _grid_case(d, df, ".csv")


def _text_in_lon(d: Path, mp) -> Path:
    df = random_points(20).astype({"lon": str})
    df.loc[3, "lon"] = "east"
    return _grid_case(d, df)


def _swapped(d: Path, mp) -> Path:
    return _grid_case(d, random_points(50).rename(columns={"lon": "lat", "lat": "lon"}))


def _infinite_emission(d: Path, mp) -> Path:
    df = random_points(20)
    df.loc[4, "co2_t"] = np.inf
    return _grid_case(d, df, ".csv")


def _duplicated_ids(d: Path, mp) -> Path:
    df = random_points(20)
    df["id"] = [f"F{i}" for i in range(len(df))]
    df.loc[5, "id"] = "F3"
    return _grid_case(d, df, points={"id": "id"})


def _existing_output(d: Path, mp) -> Path:
    cfg = _grid_case(d, random_points(20))
    (d / "out.zarr").mkdir()
    (d / "out.zarr" / "keep.txt").write_text("mine")
    return cfg


def _unknown_key(d: Path, mp) -> Path:
    return _grid_case(d, random_points(20), grid={"resolutoin": 5000})


def _output_is_input(d: Path, mp) -> Path:
    return _grid_case(d, random_points(20), output={"path": "firms.parquet", "overwrite": True})


def _output_is_mrio(d: Path, mp) -> Path:
    return make_case(d, 50, output={"path": "mrio/out.zarr"})


def _unknown_region(d: Path, mp) -> Path:
    cfg = make_case(d, 200)
    f = firms(200)
    f.loc[4, "province"] = "CN-Z"
    f.to_parquet(_points_file(d), index=False)
    return cfg


def _unknown_sector(d: Path, mp) -> Path:
    cfg = make_case(d, 200)
    f = firms(200)
    f.loc[6, "sector"] = "ELECX"
    f.to_parquet(_points_file(d), index=False)
    return cfg


def _concordance_weights(d: Path, mp) -> Path:
    cfg = make_case(d, 200, concordance={"path": "sectors.csv"})
    (d / "sectors.csv").write_text(
        "inventory_sector,mrio_sector,weight\n"
        "ELEC,ELEC,0.6\nELEC,STEEL,0.3\nSTEEL,STEEL,1\nTEXT,TEXT,1\n"
    )
    return cfg


def _negative_z(d: Path, mp) -> Path:
    cfg = make_case(d, 100)
    _set_entry(d, "Z", 2, 3, -1.0)
    return cfg


def _nan_y(d: Path, mp) -> Path:
    cfg = make_case(d, 100)
    _set_entry(d, "Y", 1, 1, np.nan)
    return cfg


def _inf_z(d: Path, mp) -> Path:
    cfg = make_case(d, 100)
    _set_entry(d, "Z", 4, 0, np.inf)
    return cfg


def _singular(d: Path, mp) -> Path:
    cfg = make_case(d, 100)

    def edit(z, y):
        # Row 0 sells only to itself and to no final demand: A[0, 0] = 1, (I - A) singular.
        z.iloc[0, :] = 0.0
        z.iloc[0, 0] = 100.0
        y.iloc[0, :] = 0.0

    _edit_mrio(d, edit)
    return cfg


def _zero_output(d: Path, mp) -> Path:
    cfg = make_case(d, 200)
    _edit_mrio(d, _zero_row0)
    return cfg


P = footgrid.InputError
BAD = {
    "missing_file": Bad(_missing_file, "grid", P, ("not found", "nope.parquet", "points.path")),
    "unreadable_file": Bad(
        _unreadable_file,
        "grid",
        P,
        ("cannot read the Parquet file", "Permission denied", "firms.parquet", "points.path"),
    ),
    "corrupt_parquet": Bad(
        _corrupt_parquet,
        "grid",
        P,
        ("cannot read the Parquet file", "firms.parquet", "complete, valid Parquet"),
    ),
    "missing_column": Bad(
        _missing_column,
        "grid",
        P,
        ("no column 'co2'", "co2_t", "firms.parquet", "points.emission"),
    ),
    "text_in_emission": Bad(
        _text_in_emission,
        "grid",
        P,
        ("must be numeric", "'abc'", "firms.csv", "column 'co2_t'", "row 7"),
    ),
    "text_in_lon": Bad(
        _text_in_lon,
        "grid",
        P,
        ("must be numeric", "'east'", "firms.parquet", "column 'lon'", "row 3"),
    ),
    "lon_lat_swapped": Bad(
        _swapped,
        "grid",
        P,
        ("swapped", "latitude outside [-90, 90]", "firms.parquet", "column 'lat'", "rows 0,"),
    ),
    "infinite_emission": Bad(
        _infinite_emission,
        "grid",
        P,
        ("infinite", "firms.csv", "column 'co2_t'", "row 4"),
    ),
    "duplicated_ids": Bad(
        _duplicated_ids,
        "grid",
        P,
        ("'F3' appears 2 times", "firms.parquet", "column 'id'", "rows 3, 5"),
    ),
    "existing_output": Bad(
        _existing_output,
        "grid",
        P,
        ("already exists", "out.zarr", "output.overwrite"),
    ),
    "unknown_config_key": Bad(
        _unknown_key,
        "grid",
        footgrid.ConfigError,
        ("'resolutoin'", "did you mean 'resolution'", "config.toml", "grid.resolutoin"),
    ),
    "output_is_input": Bad(
        _output_is_input,
        "grid",
        footgrid.ConfigError,
        ("output path", "points.path", "config.toml", "output.path"),
    ),
    "output_inside_mrio": Bad(
        _output_is_mrio,
        "run",
        footgrid.ConfigError,
        ("output path", "mrio.path", "output.path"),
    ),
    "unknown_region": Bad(
        _unknown_region,
        "run",
        P,
        ("'CN-Z'", "nearest valid", "CN-A", "firms.parquet", "column 'region'", "row 4"),
    ),
    "unknown_sector": Bad(
        _unknown_sector,
        "run",
        P,
        ("'ELECX'", "nearest valid", "ELEC", "firms.parquet", "column 'sector'", "row 6"),
    ),
    "concordance_weights": Bad(
        _concordance_weights,
        "run",
        P,
        ("do not sum to 1", "'ELEC' sums to 0.9", "sectors.csv", "column 'weight'"),
    ),
    "mrio_negative": Bad(
        _negative_z,
        "run",
        footgrid.MRIOError,
        ("negative", "Z", "('CN-A', 'TEXT')", "('CN-B', 'ELEC')", "mrio"),
    ),
    "mrio_nan": Bad(
        _nan_y,
        "run",
        footgrid.MRIOError,
        ("non-finite", "Y", "('CN-A', 'STEEL')", "('CN-A', 'GOV')", "mrio"),
    ),
    "mrio_inf": Bad(_inf_z, "run", footgrid.MRIOError, ("non-finite", "Z", "('CN-B', 'STEEL')")),
    "singular_leontief": Bad(
        _singular,
        "run",
        footgrid.MRIOError,
        ("singular", "('CN-A', 'ELEC')", "mrio", "Fix:"),
    ),
    "zero_output": Bad(
        _zero_output,
        "run",
        footgrid.MRIOError,
        ("zero total output", "('CN-A', 'ELEC')", "firms.parquet", "mrio.zero_output", "drop"),
    ),
}


def _assert_one_paragraph(text: str, parts: tuple[str, ...]) -> None:
    assert "\n" not in text.strip()
    for part in parts:
        assert part in text, f"{part!r} not in {text!r}"


@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_a_clear_error_from_api_and_cli(name, tmp_path, monkeypatch, capsys):
    bad = BAD[name]
    cfg = bad.build(tmp_path, monkeypatch)
    before = sorted(p.name for p in tmp_path.iterdir())
    api = footgrid.grid_emissions if bad.command == "grid" else footgrid.run
    with pytest.raises(bad.error) as info:
        api(cfg)
    _assert_one_paragraph(info.value.message, bad.parts)
    assert "Where:" in info.value.message and "Fix:" in info.value.message
    capsys.readouterr()
    assert main(["--quiet", bad.command, str(cfg)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("footgrid: error: ") and "Traceback" not in err
    _assert_one_paragraph(err, bad.parts)
    # Nothing was written (no store, no partial store); an existing store is untouched.
    after = sorted(p.name for p in tmp_path.iterdir() if p.name != ".footgrid_cache")
    assert after == [b for b in before if b != ".footgrid_cache"]
    if name == "existing_output":
        assert (tmp_path / "out.zarr" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("command", "name"), [("grid", "corrupt_parquet"), ("run", "singular_leontief")]
)
def test_cli_subprocess_exits_2_without_traceback(command, name, tmp_path, monkeypatch):
    cfg = BAD[name].build(tmp_path, monkeypatch)
    r = run_cli(command, str(cfg))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("footgrid: error: ")]
    assert len(lines) == 1
    _assert_one_paragraph(lines[0], BAD[name].parts)


# ----------------------------------------------------------------------------- counted drops
def test_nan_and_inf_coordinates_are_dropped_and_counted(tmp_path):
    df = random_points(300, seed=5)
    df.loc[0, "lon"] = np.nan
    df.loc[1, "lat"] = np.inf
    df.loc[2, "lon"] = -np.inf
    df.loc[3, ["lon", "lat"]] = [200.0, 30.0]  # out of range: one point, not a swap
    ds = footgrid.grid_emissions(_grid_case(tmp_path, df))
    dropped = assert_balance(ds)
    assert dropped["invalid_coordinates"]["points"] == 4
    assert dropped["invalid_coordinates"]["emission"] == pytest.approx(df.co2_t[:4].sum())


def test_a_few_swapped_points_are_dropped_not_an_error(tmp_path):
    df = random_points(300, seed=6)
    lon, lat = df.lon.to_numpy().copy(), df.lat.to_numpy().copy()
    df["lon"], df["lat"] = np.r_[lat[:10], lon[10:]], np.r_[lon[:10], lat[10:]]  # 10 swapped
    ds = footgrid.grid_emissions(_grid_case(tmp_path, df))
    dropped = assert_balance(ds)
    assert dropped["invalid_coordinates"]["points"] == 10


def test_points_outside_the_grid_are_dropped_and_counted(tmp_path):
    df = random_points(300, seed=7)
    ds = footgrid.grid_emissions(
        _grid_case(
            tmp_path,
            df,
            grid={"crs": "EPSG:4326", "resolution": 1.0, "bounds": [100, 22, 110, 30]},
        )
    )
    dropped = assert_balance(ds)
    out = ~(df.lon.between(100, 110) & df.lat.between(22, 30))
    assert dropped["outside_grid"]["points"] == int(out.sum())
    assert dropped["outside_grid"]["emission"] == pytest.approx(df.co2_t[out].sum())


def test_negative_and_nan_emission_are_dropped_and_counted(tmp_path):
    df = random_points(300, seed=8)
    df.loc[0, "co2_t"] = -5.0
    df.loc[1, "co2_t"] = np.nan
    ds = footgrid.grid_emissions(_grid_case(tmp_path, df, ".csv"))
    dropped = assert_balance(ds)
    assert dropped["negative_emission"] == {"points": 1, "emission": -5.0}
    assert dropped["missing_emission"] == {"points": 1, "emission": 0.0}


def test_empty_sector_and_region_are_dropped_in_a_run(tmp_path):
    cfg = make_case(tmp_path, 300)
    f = firms(300)
    f.loc[0, "sector"] = None
    f.loc[1, "province"] = None
    f.to_parquet(_points_file(tmp_path), index=False)
    ds = footgrid.run(cfg)
    dropped = assert_balance(ds)
    assert dropped["missing_sector"]["emission"] == pytest.approx(f.co2_t[0])
    assert dropped["missing_region"]["emission"] == pytest.approx(f.co2_t[1])


def test_zero_output_drop_policy_counts_the_points(tmp_path):
    cfg = make_case(tmp_path, 300, mrio={"zero_output": "drop"})
    _edit_mrio(tmp_path, _zero_row0)
    ds = footgrid.run(cfg)
    dropped = assert_balance(ds)
    f = firms(300)
    hit = (f.province == "CN-A") & (f.sector == "ELEC")
    assert dropped["zero_output"]["points"] == int(hit.sum()) > 0
    assert dropped["zero_output"]["emission"] == pytest.approx(f.co2_t[hit].sum())
    # The ledger carries no tonnes on the zero-output row.
    assert float(ds.totals.sel(region="CN-A", sector="ELEC").sum()) == 0.0

"""The command line: exit codes, one-paragraph errors, no tracebacks."""

from __future__ import annotations

from conftest import random_points, run_cli, write_config, write_points


def test_help_lists_the_commands():
    r = run_cli("--help")
    assert r.returncode == 0
    for cmd in ("demo", "grid", "run", "report", "compare"):
        assert cmd in r.stdout


def test_grid_with_a_missing_column_exits_2_naming_it(tmp_path):
    write_points(tmp_path / "firms.csv", random_points(50))
    cfg = write_config(
        tmp_path,
        {"points": {"path": "firms.csv", "emission": "co2"}, "output": {"path": "o.zarr"}},
    )
    r = run_cli("grid", str(cfg))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "'co2'" in r.stderr and "co2_t" in r.stderr and "firms.csv" in r.stderr
    assert "points.emission" in r.stderr
    assert not (tmp_path / "o.zarr").exists()


def test_unknown_config_key_names_the_closest_valid_one(tmp_path):
    write_points(tmp_path / "firms.csv", random_points(5))
    cfg = write_config(tmp_path, {"points": {"path": "firms.csv"}, "grid": {"resolutoin": 1000}})
    r = run_cli("grid", str(cfg))
    assert r.returncode == 2
    assert "resolutoin" in r.stderr and "did you mean 'resolution'" in r.stderr
    assert "Traceback" not in r.stderr


def test_debug_shows_the_traceback(tmp_path):
    cfg = tmp_path / "missing.toml"
    r = run_cli("--debug", "grid", str(cfg))
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_grid_cli_writes_the_store_and_prints_the_balance(tmp_path):
    write_points(tmp_path / "firms.parquet", random_points(300))
    cfg = write_config(
        tmp_path,
        {
            "points": {"path": "firms.parquet", "emission": "co2_t"},
            "output": {"path": "o.zarr"},
        },
    )
    r = run_cli("grid", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "residual" in r.stdout
    assert (tmp_path / "o.zarr" / "zarr.json").exists()
    r2 = run_cli("grid", str(cfg))  # exists, overwrite is false
    assert r2.returncode == 2 and "overwrite" in r2.stderr

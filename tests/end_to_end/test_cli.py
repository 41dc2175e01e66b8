"""The command line: exit codes, one-paragraph errors, no tracebacks."""

from __future__ import annotations

from tests.helpers.files import random_points, run_cli, write_config, write_points


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


def test_run_report_and_compare_from_the_cli(tmp_path):
    from tests.helpers.cases import make_case

    same_grid = {"crs": "EPSG:3857", "bounds": [1.15e7, 2.5e6, 1.37e7, 4.9e6]}
    a = make_case(tmp_path / "a", 300, grid=same_grid)
    b = make_case(tmp_path / "b", 500, grid=same_grid)
    for cfg in (a, b):
        r = run_cli("--quiet", "run", str(cfg))
        assert r.returncode == 0, r.stderr
    store_a, store_b = tmp_path / "a" / "out.zarr", tmp_path / "b" / "out.zarr"
    r = run_cli("report", str(store_a), "--out", str(tmp_path / "rep"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "rep" / "index.html").exists()
    assert (tmp_path / "rep" / "shares_by_consumer.csv").exists()
    r = run_cli("compare", str(store_a), str(store_b), "--out", str(tmp_path / "cmp"))
    assert r.returncode == 0, r.stderr
    assert any(p.suffix == ".png" for p in (tmp_path / "cmp").iterdir())
    r = run_cli("report", str(tmp_path / "missing.zarr"))
    assert r.returncode == 2 and "does not exist" in r.stderr and "Traceback" not in r.stderr

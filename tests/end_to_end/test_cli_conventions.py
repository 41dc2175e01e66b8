"""CLI conventions: --version, python -m footgrid, --quiet with worker processes, one progress
line per phase without a terminal, --verbose timings, footgrid export (checked with rasterio)."""

from __future__ import annotations

from importlib.metadata import version

import numpy as np
import rasterio

import footgrid
from tests.helpers.cases import make_case
from tests.helpers.files import run_cli


def test_version_matches_the_distribution() -> None:
    r = run_cli("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"footgrid {version('footgrid')}"
    assert footgrid.__version__ == version("footgrid")


def test_quiet_with_worker_processes_prints_only_the_summary(tmp_path) -> None:
    cfg = make_case(tmp_path, 300, compute={"scheduler": "processes", "workers": 2})
    loud = run_cli("run", str(cfg), timeout=600)
    assert loud.returncode == 0, loud.stderr
    assert loud.stderr.count("dask dashboard: http://") == 1
    assert "distributed." not in loud.stderr  # no worker start-up lines by default
    r = run_cli("--quiet", "run", str(cfg), timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("store: ") and "residual" in lines[1]


def test_one_progress_line_per_phase_without_a_terminal(tmp_path) -> None:
    cfg = make_case(tmp_path, 300, output={"cog": True})
    r = run_cli("--verbose", "run", str(cfg))  # stderr is a pipe, not a terminal
    assert r.returncode == 0, r.stderr
    err = r.stderr.splitlines()
    for name in (
        "reading and validating points",
        "placing points on the grid",
        "MRIO attribution",
        "export: COG",
    ):
        assert f"footgrid: {name}" in err
        assert any(line.startswith(f"footgrid: {name} took ") for line in err)
    assert any(line.startswith("footgrid: blocks (") for line in err)
    r2 = run_cli("report", str(tmp_path / "out.zarr"), "--out", str(tmp_path / "rep"))
    assert r2.returncode == 0, r2.stderr
    assert "footgrid: report" in r2.stderr.splitlines()


def test_export_command_writes_cogs_rasterio_reads(tmp_path) -> None:
    ds = footgrid.run(make_case(tmp_path, 300))
    c = str(ds.consumer.values[2])
    r = run_cli(
        "export",
        str(tmp_path / "out.zarr"),
        "--format",
        "cog",
        "--out",
        str(tmp_path / "cog"),
        "--layers",
        c,
    )
    assert r.returncode == 0, r.stderr
    with rasterio.open(tmp_path / "cog" / f"footprint_002_{c}.tif") as src:
        np.testing.assert_array_equal(src.read(), ds.footprint.sel(consumer=c).values)
    bad = run_cli(
        "export",
        str(tmp_path / "out.zarr"),
        "--format",
        "cog",
        "--out",
        str(tmp_path / "x"),
        "--layers",
        "nobody",
    )
    assert bad.returncode == 2 and "nobody" in bad.stderr and "Traceback" not in bad.stderr


def test_quiet_silences_pymrios_notes_on_a_raw_download(tmp_path) -> None:
    import pymrio

    from tests.end_to_end.test_raw_mrio_formats import _points
    from tests.helpers.files import write_config
    from tests.helpers.raw_mrio import write_wiod_xlsx

    src = write_wiod_xlsx(pymrio.load_test(), tmp_path / "wiod").parent
    import warnings

    from pymrio.tools.ioparser import ParserWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParserWarning)
        _points(pymrio.parse_wiod(src, year=2009), tmp_path)
    cfg = {
        "points": {"path": "firms.parquet", "emission": "co2_t", "region": "region"},
        "mrio": {"path": "wiod", "format": "wiod"},
        "grid": {"resolution": 100_000, "tile": 16},
        "output": {"path": "out.zarr", "overwrite": True},
    }
    path = write_config(tmp_path, cfg)
    loud = run_cli("--verbose", "run", str(path))
    assert loud.returncode == 0 and "pymrio: Extension data for" in loud.stderr
    r = run_cli("--quiet", "run", str(path))
    assert r.returncode == 0 and r.stderr == "" and len(r.stdout.splitlines()) == 2


def test_a_bar_on_a_terminal(tmp_path) -> None:
    import os
    import pty
    import subprocess
    import sys

    cfg = make_case(tmp_path, 300)
    leader, follower = pty.openpty()
    p = subprocess.Popen(
        [sys.executable, "-m", "footgrid", "run", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env={**os.environ, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    assert p.wait(timeout=300) == 0
    text = out.decode(errors="replace")
    assert "━" in text  # rich's bar
    assert "blocks" in text and "reading and validating points" in text
    assert "footgrid: blocks (" not in text  # not the one-line-per-phase display

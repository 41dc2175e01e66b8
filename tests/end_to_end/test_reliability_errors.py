"""Round 2 of the adversary: faults that gave a traceback or a hang now give one exit-2 paragraph
(exit 130 for Ctrl-C) naming the file or key and the fix, or a correct result.

Each case builds its inputs in ``tmp_path``; the table of bad inputs runs through the Python API
and the CLI's ``main`` in-process, like ``test_reliability.py``'s.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas
import numpy as np
import pytest
import shapely

import footgrid
from footgrid import store
from footgrid.cli import main
from tests.end_to_end.test_reliability import Bad, _assert_one_paragraph, _grid_case
from tests.helpers.cases import make_case
from tests.helpers.files import random_points


@pytest.fixture(autouse=True)
def _keep_log_level():
    import logging

    logger = logging.getLogger("footgrid")
    level = logger.level
    yield
    logger.setLevel(level)


def _boxes(path: Path, field: str = "name", n: int = 2) -> None:
    geoms = [shapely.box(100 + 11 * i, 20, 111 + 11 * i, 42) for i in range(n)]
    gdf = geopandas.GeoDataFrame({field: [f"R{i}" for i in range(n)]}, geometry=geoms, crs=4326)
    gdf.to_parquet(path)


def _regions_field_is_geometry(d: Path, mp) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    _boxes(d / "regions.parquet")
    return _grid_case(
        d, random_points(50), regions={"path": "regions.parquet", "field": "geometry"}
    )


def _empty_regions(d: Path, mp) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    _boxes(d / "regions.parquet", n=0)
    return _grid_case(d, random_points(50), regions={"path": "regions.parquet", "field": "name"})


def _absurd_grid(d: Path, mp) -> Path:
    return _grid_case(d, random_points(50), grid={"resolution": 1, "bounds": [0, 0, 4e6, 4e6]})


def _degrees_default(d: Path, mp) -> Path:
    return _grid_case(d, random_points(50), grid={"crs": "EPSG:4326", "resolution": 10_000})


def _tcp_without_port(d: Path, mp) -> Path:
    return make_case(d, 50, compute={"scheduler": "tcp://"})


def _tcp_bad_port(d: Path, mp) -> Path:
    return make_case(d, 50, compute={"scheduler": "tcp://127.0.0.1:99999"})


def _symlink_loop(d: Path, mp) -> Path:
    cfg = _grid_case(d, random_points(20), points={"path": "loop.parquet"})
    os.symlink(d / "loop.parquet", d / "loop.parquet")
    return cfg


def _cache_is_a_file(d: Path, mp) -> Path:
    cfg = make_case(d, 50)
    (d / "cachefile").write_text("not a folder")
    mp.setenv("FOOTGRID_CACHE", str(d / "cachefile"))
    return cfg


def _readonly_output(d: Path, mp) -> Path:
    cfg = _grid_case(d, random_points(20))
    real = Path.write_text

    def denied(self, *a, **k):  # root ignores chmod: fail the writes into the folder instead
        if self.parent == d:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *a, **k)

    mp.setattr(Path, "write_text", denied)
    return cfg


C = footgrid.ConfigError
I = footgrid.InputError  # noqa: E741
BAD2 = {
    "regions_field_is_geometry": Bad(
        _regions_field_is_geometry, "grid", I, ("geometry column", "name", "regions.field")
    ),
    "empty_regions": Bad(_empty_regions, "grid", I, ("no polygon", "regions.parquet")),
    "absurd_grid": Bad(_absurd_grid, "grid", C, ("1.6e+13 cells", "GiB", "grid.resolution")),
    "degrees_default_resolution": Bad(
        _degrees_default, "grid", C, ("in degrees", "grid.resolution", "0.1")
    ),
    "tcp_without_port": Bad(_tcp_without_port, "run", C, ("tcp://host:port", "compute.scheduler")),
    "tcp_bad_port": Bad(_tcp_bad_port, "run", C, ("99999", "1 to 65535", "compute.scheduler")),
    "symlink_loop": Bad(_symlink_loop, "grid", C, ("not a usable path", "loop.parquet")),
    "cache_is_a_file": Bad(_cache_is_a_file, "run", I, ("FOOTGRID_CACHE", "cachefile")),
    "readonly_output": Bad(
        _readonly_output, "grid", I, ("cannot write", "Permission denied", "output.path")
    ),
}


@pytest.mark.parametrize("name", list(BAD2))
def test_round2_bad_input_is_a_clear_error_from_api_and_cli(name, tmp_path, monkeypatch, capsys):
    bad = BAD2[name]
    cfg = bad.build(tmp_path, monkeypatch)
    before = sorted(p.name for p in tmp_path.iterdir() if p.name != ".footgrid_cache")
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
    after = sorted(p.name for p in tmp_path.iterdir() if p.name != ".footgrid_cache")
    assert after == before  # nothing written, no lock left behind


def test_disk_full_while_writing_is_a_clear_error_and_resume_finishes(tmp_path, monkeypatch):
    from footgrid.store import chunks

    ref = footgrid.run(make_case(tmp_path / "ref", 400))
    cfg = make_case(tmp_path / "run", 400)
    calls = {"n": 0}

    class Full:
        def __init__(self, name, mode="r", *a, **k):
            self.name = name

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device", self.name)

    def full_after_a_few(name, mode="r", *a, **k):
        if "w" in mode:
            calls["n"] += 1
            if calls["n"] > 5:
                return Full(name)
        return open(name, mode, *a, **k)

    with monkeypatch.context() as m:
        m.setattr(chunks, "open", full_after_a_few, raising=False)
        with pytest.raises(footgrid.InputError, match="no space left") as exc:
            footgrid.run(cfg)
        assert "--resume" in exc.value.message
        calls["n"] = 0
        assert main(["--quiet", "run", str(cfg)]) == 2
    ds = footgrid.run(cfg, resume=True)
    np.testing.assert_array_equal(ds.footprint.values, ref.footprint.values)
    np.testing.assert_array_equal(ds.emissions.values, ref.emissions.values)


def test_run_resume_after_an_interrupted_grid_starts_afresh(tmp_path, monkeypatch, caplog):
    ref = footgrid.run(make_case(tmp_path / "ref", 300))
    cfg = make_case(tmp_path / "run", 300)

    def boom(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(footgrid.store, "finish", boom)
        with pytest.raises(KeyboardInterrupt):
            footgrid.grid_emissions(cfg)
    assert store.partial_path(tmp_path / "run" / "out.zarr").exists()
    ds = footgrid.run(cfg, resume=True)
    assert "another command" in caplog.text
    np.testing.assert_array_equal(ds.footprint.values, ref.footprint.values)


def test_auto_crs_around_the_equator(tmp_path):
    df = random_points(300, extent=(10.0, 12.0, -1.0, 1.0))
    ds = footgrid.grid_emissions(_grid_case(tmp_path, df, grid={"resolution": 10_000}))
    assert float(ds.emissions.sum(dtype="f8")) == pytest.approx(df.co2_t.sum(), rel=1e-6)
    # Equal-area: every cell 10 km x 10 km (independent: the resolution squared).
    np.testing.assert_allclose(ds.cell_area.values, 1e8, rtol=1e-9)


def test_a_config_with_a_utf8_byte_order_mark_is_read(tmp_path):
    cfg = _grid_case(tmp_path, random_points(50))
    cfg.write_bytes(b"\xef\xbb\xbf" + cfg.read_bytes())
    ds = footgrid.grid_emissions(cfg)
    assert ds.attrs["complete"] == 1


def test_report_out_naming_a_file_is_a_clear_error(tmp_path, capsys):
    ds = footgrid.grid_emissions(_grid_case(tmp_path, random_points(50)))
    (tmp_path / "file.txt").write_text("x")
    assert main(["report", ds.encoding["source"], "--out", str(tmp_path / "file.txt")]) == 2
    err = capsys.readouterr().err
    assert "--out names an existing file" in err and "Traceback" not in err


def test_a_scheduler_without_workers_times_out_with_a_clear_message(tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, dashboard_address=":0", processes=True) as cluster:
        cfg = make_case(
            tmp_path, 50, compute={"scheduler": cluster.scheduler_address, "worker_timeout": 1}
        )
        t0 = time.monotonic()
        with pytest.raises(footgrid.ConfigError, match="has no worker") as exc:
            footgrid.run(cfg)
        assert time.monotonic() - t0 < 30
    assert "dask worker" in exc.value.message


@pytest.mark.parametrize("delay", [0.0, 0.2, 0.5])
@pytest.mark.parametrize("how", ["python -m footgrid", "console script"])
def test_sigint_in_the_first_second_is_exit_130_without_traceback(tmp_path, delay, how):
    # Counted from when the process maps numpy (the heavy imports of the command start), so
    # that a loaded machine cannot push the signal into the interpreter's own start-up, which
    # no Python code can handle. The console script is the one pip installs (footgrid.entry).
    cfg = make_case(tmp_path, 200)
    script = Path(sys.executable).with_name("footgrid")
    if how == "console script" and not script.exists():
        pytest.fail(f"no console script beside {sys.executable}: install the package (pip -e .)")
    cmd = [str(script)] if how == "console script" else [sys.executable, "-m", "footgrid"]
    proc = subprocess.Popen(
        [*cmd, "run", str(cfg)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    maps = Path(f"/proc/{proc.pid}/maps")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if "numpy" in maps.read_text():
                break
        except OSError:
            pass
        time.sleep(0.005)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:  # it finished first (a fast machine): nothing to check
        return
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert not (tmp_path / "out.zarr.lock").exists()


def test_a_corrupted_journal_line_in_the_middle_is_ignored(tmp_path, monkeypatch):
    ref = footgrid.run(make_case(tmp_path / "ref", 500))
    cfg = make_case(tmp_path / "run", 500)

    def boom(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(footgrid.store, "finish", boom)
        with pytest.raises(KeyboardInterrupt):
            footgrid.run(cfg)
    partial = store.partial_path(tmp_path / "run" / "out.zarr")
    (journal,) = (partial / store.DONE_DIR).glob("*.jsonl")
    lines = journal.read_bytes().split(b"\n")
    full = [i for i, ln in enumerate(lines) if ln]
    mid = full[len(full) // 2]
    lines[mid] = lines[mid].replace(b"[", b"{", 1)  # not JSON any more
    lines[full[1]] = b"5\t00000000"  # JSON, wrong shape
    body = json.loads(lines[full[2]].rpartition(b"\t")[0])
    body[1] = [v * 2 for v in body[1]]  # valid JSON, wrong sums: the line CRC catches it
    lines[full[2]] = json.dumps(body).encode() + lines[full[2]][lines[full[2]].rindex(b"\t") :]
    journal.write_bytes(b"\n".join(lines))
    ds = footgrid.run(cfg, resume=True)
    np.testing.assert_array_equal(ds.footprint.values, ref.footprint.values)
    assert ds.attrs["gridded_total"] == ref.attrs["gridded_total"]

"""Faults that used to give a store that reads as complete and is wrong: resume that cannot mix
stores, one writer per output, crash-safe create and finish, overflow of float32.

Each case builds its own inputs in ``tmp_path``. An interrupted run is made by raising
``KeyboardInterrupt`` at a chosen step (what a SIGKILL leaves behind, minus the process); the
subprocess kill-at-random test is in ``test_kill_resume.py``. The reference of a resumed store is
an uninterrupted run of the same inputs in another folder, and the arrays are checked against
numpy sums of the input where that is the point.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import footgrid
from footgrid import store
from footgrid.store import lifecycle
from tests.helpers.cases import make_case
from tests.helpers.files import run_cli, write_config


def _interrupt_finish(monkeypatch, cfg):
    """Run ``cfg`` until every block is written, then stop before the store is finished."""

    def boom(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(footgrid.store, "finish", boom)
        with pytest.raises(KeyboardInterrupt):
            footgrid.run(cfg)


def _assert_same_store(a: xr.Dataset, b: xr.Dataset) -> None:
    for name in ("emissions", "footprint", "totals", "cell_area", "territory"):
        if name in a or name in b:
            np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    skip = {"run_token", "config"}
    assert {k: v for k, v in a.attrs.items() if k not in skip} == {
        k: v for k, v in b.attrs.items() if k not in skip
    }


def test_resume_rewrites_blocks_whose_chunk_files_were_deleted(tmp_path, monkeypatch):
    ref = footgrid.run(make_case(tmp_path / "ref", 800))
    cfg = make_case(tmp_path / "run", 800)
    _interrupt_finish(monkeypatch, cfg)
    partial = store.partial_path(tmp_path / "run" / "out.zarr")
    chunks = sorted((partial / "emissions" / "c").rglob("*"))
    files = [c for c in chunks if c.is_file()]
    assert len(files) >= 4
    for f in files[::2]:
        f.unlink()
    fp = sorted(c for c in (partial / "footprint" / "c").rglob("*") if c.is_file())
    fp[0].write_bytes(fp[0].read_bytes()[::-1])  # same size, other bytes
    ds = footgrid.run(cfg, resume=True)
    # Independent of the store: the sum of the firms' tonnes.
    firms = pd.read_parquet(tmp_path / "run" / "firms.parquet")
    assert float(ds.emissions.sum(dtype="f8")) == pytest.approx(firms.co2_t.sum(), rel=1e-6)
    assert float(ds.emissions.sum(dtype="f8")) == pytest.approx(ds.attrs["gridded_total"], 1e-6)
    _assert_same_store(ds, ref)


def _csv_case(folder):
    cfg = make_case(folder, 600)
    pd.read_parquet(folder / "firms.parquet").to_csv(folder / "firms.csv", index=False)
    text = cfg.read_text().replace("firms.parquet", "firms.csv")
    cfg.write_text(text)
    return cfg


def _same_size_edit(path, old: bytes, new: bytes) -> None:
    """Replace the first ``old`` by ``new`` (same length) keeping size and mtime."""
    st = path.stat()
    data = path.read_bytes()
    assert len(old) == len(new) and old in data
    path.write_bytes(data.replace(old, new, 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size


@pytest.mark.parametrize("which", ["points", "mrio"])
def test_resume_after_an_input_changed_at_the_same_size_and_mtime_starts_afresh(
    which, tmp_path, monkeypatch, caplog
):
    cfg = _csv_case(tmp_path / "run")
    _interrupt_finish(monkeypatch, cfg)
    for folder in (tmp_path / "run", tmp_path / "ref"):
        if folder.name == "ref":
            _csv_case(folder)
        if which == "points":
            path = folder / "firms.csv"
            line = path.read_bytes().split(b"\n")[1]
            field = line.split(b",")[3]  # co2_t of the first firm
            _same_size_edit(
                path, field, field[:1] + (b"9" if field[1:2] != b"9" else b"8") + field[2:]
            )
        else:
            path = folder / "mrio" / "Z.csv"
            line = path.read_bytes().split(b"\n")[1]
            field = line.split(b",")[0]
            _same_size_edit(path, field, (b"9" if field[:1] != b"9" else b"8") + field[1:])
    ref = footgrid.run(tmp_path / "ref" / "config.toml")
    ds = footgrid.run(cfg, resume=True)
    assert "other inputs" in caplog.text
    _assert_same_store(ds, ref)


def test_a_second_run_on_the_same_output_is_refused_while_the_first_holds_it(tmp_path):
    cfg = make_case(tmp_path, 200)
    with store.output_lock(tmp_path / "out.zarr"):
        with pytest.raises(footgrid.InputError, match="another footgrid run") as exc:
            footgrid.run(cfg)
        assert f"process {os.getpid()}" in exc.value.message
    assert not (tmp_path / "out.zarr.lock").exists()  # released
    assert footgrid.run(cfg).attrs["complete"] == 1


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path, caplog):
    cfg = make_case(tmp_path, 200)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    import socket

    info = {"host": socket.gethostname(), "pid": int(dead.stdout), "started": 0.0}
    (tmp_path / "out.zarr.lock").write_text(json.dumps(info))
    ds = footgrid.run(cfg)
    assert ds.attrs["complete"] == 1
    assert "stale lock" in caplog.text
    assert not (tmp_path / "out.zarr.lock").exists()


def test_two_cli_runs_at_once_give_one_complete_store_or_a_clear_error(tmp_path):
    ref = footgrid.run(make_case(tmp_path / "ref", 1500))
    cfg = make_case(tmp_path / "run", 1500)
    procs = [
        subprocess.Popen([sys.executable, "-m", "footgrid", "--quiet", "run", str(cfg)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    outs = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert 0 in codes and set(codes) <= {0, 2}, outs
    for code, (_, err) in zip(codes, outs, strict=True):
        assert "Traceback" not in err
        if code == 2:
            assert "another footgrid run is writing this output" in err
    _assert_same_store(footgrid.open_store(tmp_path / "run" / "out.zarr"), ref)


def _mercator_case(folder):
    # EPSG:3857 is not equal-area: cell_area is written tile by tile.
    return make_case(folder, 500, grid={"crs": "EPSG:3857", "resolution": 30_000, "tile": 16})


def test_kill_while_cell_area_is_written_then_resume(tmp_path, monkeypatch):
    ref = footgrid.run(_mercator_case(tmp_path / "ref"))
    cfg = _mercator_case(tmp_path / "run")
    calls = {"n": 0}
    real = lifecycle.write_block

    def dies_midway(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    with monkeypatch.context() as m:
        m.setattr(lifecycle, "write_block", dies_midway)
        with pytest.raises(KeyboardInterrupt):
            footgrid.run(cfg)
    ds = footgrid.run(cfg, resume=True)
    area = ds.cell_area.values
    assert (area > 0).all()
    # Independent: Mercator cell area = res^2 * cos(lat)^2 on the sphere of radius 6378137 m.
    lat = np.degrees(2 * np.arctan(np.exp(ds.y.values / 6378137.0)) - np.pi / 2)
    expected = 30_000.0**2 * np.cos(np.radians(lat)) ** 2
    np.testing.assert_allclose(area[:, 0], expected, rtol=2e-2)
    _assert_same_store(ds, ref)


@pytest.mark.parametrize("step", ["to_zarr", "rename"])
def test_kill_while_the_store_is_created_then_resume(step, tmp_path, monkeypatch):
    ref = footgrid.run(make_case(tmp_path / "ref", 300))
    cfg = make_case(tmp_path / "run", 300)

    def boom(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        if step == "to_zarr":
            real_to_zarr = xr.Dataset.to_zarr

            def torn(self, store_path, *a, **k):  # killed before the root metadata is written
                real_to_zarr(self, store_path, *a, **k)
                (Path(store_path) / "zarr.json").unlink()
                raise KeyboardInterrupt

            m.setattr(xr.Dataset, "to_zarr", torn)
        else:
            real = type(tmp_path).rename

            def rename(self, target):
                if str(self).endswith(".creating"):
                    raise KeyboardInterrupt
                return real(self, target)

            m.setattr(type(tmp_path), "rename", rename)
        with pytest.raises(KeyboardInterrupt):
            footgrid.run(cfg)
    _assert_same_store(footgrid.run(cfg, resume=True), ref)


@pytest.mark.parametrize("step", ["consolidate", "mark_complete", "drop_old"])
def test_kill_inside_the_finish_never_leaves_a_store_that_says_complete(
    step, tmp_path, monkeypatch
):
    ref = footgrid.run(make_case(tmp_path / "ref", 300))
    cfg = make_case(tmp_path / "run", 300)
    final = tmp_path / "run" / "out.zarr"
    if step == "drop_old":
        footgrid.run(cfg)  # an older complete store is replaced

    def boom(*a, **k):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        if step == "consolidate":
            m.setattr(lifecycle.zarr, "consolidate_metadata", boom)
        elif step == "mark_complete":
            m.setattr(lifecycle, "_mark_complete", boom)
        else:
            real = lifecycle.shutil.rmtree

            def rmtree(p, *a, **k):
                if str(p).endswith(".old") and os.path.exists(p):
                    raise KeyboardInterrupt
                return real(p, *a, **k)

            m.setattr(lifecycle.shutil, "rmtree", rmtree)
        with pytest.raises(KeyboardInterrupt):
            footgrid.run(cfg)
    partial = store.partial_path(final)
    for p in (final, partial):
        if p.exists() and step != "drop_old":
            assert not store.is_complete(p), p
    if step == "drop_old":
        assert store.is_complete(final)  # the new store, marked complete before the cleanup
        ds = footgrid.open_store(final)
    else:
        with pytest.raises(footgrid.InputError):
            footgrid.open_store(final)
        ds = footgrid.run(cfg, resume=True)
    _assert_same_store(ds, ref)


def test_emissions_beyond_float32_are_refused_and_float64_stores_them(tmp_path):
    df = pd.DataFrame({"lon": [110.0, 110.1, 115.0], "lat": [30.0, 30.05, 35.0],
                       "co2_t": [3e38, 3e38, 1.0], "sector": ["ELEC"] * 3})  # fmt: skip
    df.to_parquet(tmp_path / "firms.parquet")
    cfg = {
        "points": {"path": "firms.parquet", "emission": "co2_t"},
        "grid": {"resolution": 50_000, "tile": 16},
        "output": {"path": "out.zarr"},
    }
    path = write_config(tmp_path, cfg)
    with pytest.raises(footgrid.ConfigError, match='dtype = "float64"'):
        footgrid.grid_emissions(path)
    r = run_cli("grid", str(path), cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "output.dtype" in r.stderr
    cfg["output"]["dtype"] = "float64"
    ds = footgrid.grid_emissions(write_config(tmp_path, cfg))
    values = ds.emissions.values
    assert np.isfinite(values).all()
    assert values.sum() == pytest.approx(df.co2_t.sum(), rel=1e-12)

"""``[output] path`` as an fsspec URL: staged locally, uploaded with the root metadata last."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
import xarray as xr
from fsspec.implementations.memory import MemoryFileSystem

import footgrid
from footgrid.store import remote
from tests.helpers.cases import make_case


def _url(tmp_path, name="out.zarr") -> str:
    return f"memory://{tmp_path.name}/{name}"


def _reference(tmp_path) -> xr.Dataset:
    return footgrid.run(make_case(tmp_path / "local", 400)).load()


def _assert_same(ds: xr.Dataset, ref: xr.Dataset) -> None:
    xr.testing.assert_equal(ds.reset_coords(), ref.reset_coords())
    for name in ("footprint", "emissions", "totals", "territory", "cell_area"):
        np.testing.assert_array_equal(ds[name].values, ref[name].values)
    assert ds.attrs["complete"] == 1
    assert ds.attrs["input_total"] == ref.attrs["input_total"]


def test_memory_url_reads_back_identically_to_a_local_run(tmp_path):
    ref = _reference(tmp_path)
    url = _url(tmp_path)
    ds = footgrid.run(make_case(tmp_path / "m", 400, output={"path": url, "staging": ""}))
    # Read back through zarr's fsspec store, not through footgrid.
    back = xr.open_zarr(url, consolidated=True).load()
    _assert_same(back, ref)
    _assert_same(ds.load(), ref)
    assert back.footprint.values.sum() > 0
    # The staging folder is gone once the upload is whole.
    assert not remote.staging_path(url).parent.exists()


def test_file_url_through_fsspec_reads_back_as_a_plain_local_store(tmp_path):
    ref = _reference(tmp_path)
    target = tmp_path / "remote" / "out.zarr"
    url = f"file://{target}"
    staging = tmp_path / "staging"
    footgrid.run(make_case(tmp_path / "f", 400, output={"path": url, "staging": str(staging)}))
    # xarray on the plain folder (no fsspec), and GDAL-style flat checks of the files.
    _assert_same(xr.open_zarr(target, consolidated=True).load(), ref)
    assert not any(staging.rglob("*.jsonl")), "the journal of blocks is not uploaded"


def test_store_never_reads_as_complete_before_the_last_upload(tmp_path, monkeypatch):
    ref = _reference(tmp_path)
    url = _url(tmp_path)
    root = url.split("://", 1)[1]
    seen: list[tuple[str, bool | None]] = []
    real = MemoryFileSystem.put_file

    def put_file(self, lpath, rpath, *args, **kwargs):
        # The state a reader would find just before this object lands.
        seen.append((rpath, remote.remote_complete(url)))
        return real(self, lpath, rpath, *args, **kwargs)

    monkeypatch.setattr(MemoryFileSystem, "put_file", put_file)
    cfg = make_case(tmp_path / "m", 400, output={"path": url})
    footgrid.run(cfg)
    assert seen[-1][0].endswith(f"{root}/zarr.json"), "the root metadata is the commit point"
    assert all(state is None for _, state in seen), "no store visible before the last object"
    assert remote.remote_complete(url) is True
    _assert_same(xr.open_zarr(url).load(), ref)


def test_interrupted_upload_is_incomplete_and_resume_only_uploads(tmp_path, monkeypatch):
    ref = _reference(tmp_path)
    url = _url(tmp_path)
    cfg = make_case(tmp_path / "m", 400, output={"path": url, "overwrite": False})
    real = MemoryFileSystem.put_file
    calls = {"n": 0}

    def flaky(self, lpath, rpath, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 10:
            raise OSError("connection reset")
        return real(self, lpath, rpath, *args, **kwargs)

    monkeypatch.setattr(MemoryFileSystem, "put_file", flaky)
    with pytest.raises(OSError, match="connection reset"):
        footgrid.run(cfg)
    assert remote.remote_complete(url) is None  # objects, but no root metadata: not a store
    monkeypatch.setattr(MemoryFileSystem, "put_file", real)
    staged = remote.staging_path(url)
    assert footgrid.store.is_complete(staged)
    # --resume uploads the staged store; it does not compute it again.
    import footgrid.execution.pipeline as pipeline

    def no_compute(*a, **k):
        raise AssertionError("resume recomputed a complete staged store")

    monkeypatch.setattr(pipeline, "_execute_locked", no_compute)
    _assert_same(footgrid.run(cfg, resume=True).load(), ref)
    with pytest.raises(footgrid.InputError, match="already exists"):
        footgrid.run(cfg)


def test_unknown_protocol_is_a_config_error_naming_the_key(tmp_path):
    with pytest.raises(footgrid.ConfigError, match="unknown protocol 'nosuch'") as err:
        footgrid.load_config(make_case(tmp_path, 50, output={"path": "nosuch://b/out.zarr"}))
    assert "output.path" in str(err.value)


def test_missing_s3fs_is_a_config_error_naming_the_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "s3fs", None)  # as if not installed
    # fsspec's registry loads s3fs on first use of s3://; forget a loaded one
    registry = importlib.import_module("fsspec.registry")._registry
    monkeypatch.delitem(registry, "s3", raising=False)
    with pytest.raises(footgrid.ConfigError, match="s3fs") as err:
        footgrid.load_config(make_case(tmp_path, 50, output={"path": "s3://bucket/out.zarr"}))
    assert "output.path" in str(err.value)


def test_exports_beside_a_url_store_are_a_config_error(tmp_path):
    cfg = make_case(tmp_path, 50, output={"path": "memory://x/out.zarr", "netcdf": True})
    with pytest.raises(footgrid.ConfigError, match=r"output\.netcdf"):
        footgrid.load_config(cfg)


def test_cli_writes_a_file_url_and_refuses_an_unknown_protocol(tmp_path):
    from tests.helpers.files import run_cli

    target = tmp_path / "remote" / "cli.zarr"
    staging = tmp_path / "staging"
    cfg = make_case(tmp_path, 200, output={"path": f"file://{target}", "staging": str(staging)})
    done = run_cli("--quiet", "run", str(cfg))
    assert done.returncode == 0, done.stderr
    ds = xr.open_zarr(target)
    assert ds.attrs["complete"] == 1
    np.testing.assert_allclose(ds.footprint.values.sum(), ds.emissions.values.sum(), rtol=1e-6)
    bad = make_case(tmp_path / "bad", 50, output={"path": "nosuch://b/out.zarr"})
    done = run_cli("run", str(bad))
    assert done.returncode == 2 and "output.path" in done.stderr

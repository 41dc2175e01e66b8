"""The same graph on threads, on worker processes and on a dask-distributed cluster; resume."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

import footgrid
from footgrid import store
from footgrid.store.journal import journal_line
from tests.helpers.cases import make_case
from tests.helpers.files import scaled


@pytest.mark.slow
def test_threads_processes_and_distributed_cluster_agree(tmp_path):
    from distributed import LocalCluster

    n = scaled(1500, 200_000)
    threads = footgrid.run(make_case(tmp_path / "t", n)).footprint.values
    procs = footgrid.run(
        make_case(tmp_path / "p", n, compute={"scheduler": "processes", "workers": 2})
    ).footprint.values
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        dist = footgrid.run(
            make_case(tmp_path / "d", n, compute={"scheduler": cluster.scheduler_address})
        ).footprint.values
    np.testing.assert_array_equal(procs, threads)
    np.testing.assert_array_equal(dist, threads)
    assert threads.sum() > 0


def test_unreachable_scheduler_is_a_config_error(tmp_path):
    cfg = make_case(tmp_path, 50, compute={"scheduler": "tcp://127.0.0.1:9"})
    with pytest.raises(footgrid.ConfigError, match="cannot reach the dask scheduler"):
        footgrid.run(cfg)
    assert not (tmp_path / "out.zarr").exists()


def _slow_case(folder):
    # Many small blocks so that a kill lands midway: 10 km cells, 16-cell tiles.
    return make_case(folder, 4000, tile=16, resolution=10_000, compute={"scheduler": "synchronous"})


@pytest.mark.slow
def test_resume_after_sigkill_gives_the_uninterrupted_arrays(tmp_path):
    ref = footgrid.run(_slow_case(tmp_path / "ref"))
    cfg = _slow_case(tmp_path / "kill")
    final = tmp_path / "kill" / "out.zarr"
    partial = store.partial_path(final)
    proc = subprocess.Popen(
        [sys.executable, "-m", "footgrid.cli", "--quiet", "run", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(store.done_blocks(partial)) >= 40:
            break
        if proc.poll() is not None:
            err = proc.stderr.read()
            proc.stderr.close()
            pytest.fail(f"run ended before it could be killed: {err}")
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    # Interrupted: no store at the final path; the partial one says it is incomplete.
    assert not final.exists()
    assert partial.exists() and not store.is_complete(partial)
    with pytest.raises(footgrid.InputError, match="does not exist"):
        footgrid.open_store(final)
    n_done = len(store.done_blocks(partial))
    assert 0 < n_done
    resumed = footgrid.run(cfg, resume=True)
    assert resumed.attrs["complete"] == 1
    np.testing.assert_array_equal(resumed.footprint.values, ref.footprint.values)
    np.testing.assert_array_equal(resumed.emissions.values, ref.emissions.values)
    assert resumed.attrs["gridded_total"] == pytest.approx(ref.attrs["gridded_total"], rel=1e-12)
    assert resumed.attrs["footprint_residual"] < 1e-9
    assert xr.open_zarr(final).attrs["complete"] == 1


@pytest.mark.slow
def test_resume_of_a_larger_than_memory_run(tmp_path):
    ref = footgrid.run(_slow_case(tmp_path / "ref"))
    cfg = _slow_case(tmp_path / "kill")
    cfg.write_text(cfg.read_text().replace("[compute]", "[compute]\nlarger_than_memory = true"))
    final = tmp_path / "kill" / "out.zarr"
    partial = store.partial_path(final)
    with subprocess.Popen(
        [sys.executable, "-m", "footgrid.cli", "--quiet", "run", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as proc:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if len(store.done_blocks(partial)) >= 40:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    assert not final.exists() and not store.is_complete(store.partial_path(final))
    resumed = footgrid.run(cfg, resume=True)
    np.testing.assert_array_equal(resumed.footprint.values, ref.footprint.values)
    np.testing.assert_array_equal(resumed.emissions.values, ref.emissions.values)


def test_journal_keeps_finished_blocks_and_ignores_a_torn_line(tmp_path):
    (tmp_path / store.DONE_DIR).mkdir()
    store.journal_block(str(tmp_path), "e_0", [1.5])
    store.journal_block(str(tmp_path), "f_0_3", [0.25, 2.0])
    # A process killed mid-write leaves a line without its newline; another process's
    # journal (its own file) is read too.
    line = journal_line("e_7", [3.0]) + journal_line("f_1_1", [1.0, 2.0])[:-9]
    (tmp_path / store.DONE_DIR / "host-1.jsonl").write_bytes(line)
    done = store.done_blocks(tmp_path)
    assert sorted(done) == ["e_0", "e_7", "f_0_3"]
    np.testing.assert_array_equal(done["f_0_3"], [0.25, 2.0])
    assert store.done_blocks(tmp_path / "absent") == {}
    # A later process that gets the same file name (pid reuse) appends after the torn line.
    torn = tmp_path / store.DONE_DIR / f"{socket.gethostname()}-{os.getpid()}.jsonl"
    torn.write_bytes(torn.read_bytes() + b'["e_9", [2.')
    store.journal_block(str(tmp_path), "e_5", [4.0])
    done = store.done_blocks(tmp_path)
    np.testing.assert_array_equal(done["e_5"], [4.0])
    assert "e_9" not in done

"""A worker process killed during a run on a dask-distributed ``LocalCluster``.

The run must either complete with the arrays of an undisturbed run (dask reschedules the lost
tasks on the surviving and the restarted worker) or fail with a clear FootgridError; in no case
may a partial store read as complete, and ``--resume`` finishes a failed run.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import footgrid
from footgrid import store
from tests.helpers.cases import make_case

#: Block markers to wait for before the kill (the run has several hundred blocks).
KILL_AFTER = 30


def _case(folder: Path, scheduler: str) -> Path:
    # 10 km cells and 16-cell tiles: several hundred small blocks, so the kill lands midway.
    return make_case(folder, 4000, tile=16, resolution=10_000, compute={"scheduler": scheduler})


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, np.ndarray]:
    """The arrays of an undisturbed run on threads."""
    ds = footgrid.run(_case(tmp_path_factory.mktemp("ref"), "threads"))
    return {"footprint": ds.footprint.values, "emissions": ds.emissions.values}


def _cluster():
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.CRITICAL,
    )


def _run_in_thread(cfg: Path, outcome: dict, **kw) -> threading.Thread:
    def target() -> None:
        try:
            outcome["ds"] = footgrid.run(cfg, **kw)
        except BaseException as exc:  # inspected by the test
            outcome["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    return t


def _kill_one_worker_midway(cluster, final: Path, runner: threading.Thread, outcome: dict):
    """Wait until KILL_AFTER blocks are written, check the store is not complete, SIGKILL."""
    partial = store.partial_path(final)
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and runner.is_alive():
        if len(store.done_blocks(partial)) >= KILL_AFTER:
            break
        time.sleep(0.002)
    assert runner.is_alive(), f"the run ended before the kill: {outcome}"
    # Midway: nothing at the final path, and the partial store says it is incomplete.
    assert not final.exists() and not store.is_complete(partial)
    nanny = next(iter(cluster.workers.values()))
    os.kill(nanny.process.pid, signal.SIGKILL)
    runner.join(60)
    assert not runner.is_alive(), "the run hung after a worker was killed"


def _assert_same(ds, reference) -> None:
    assert ds.attrs["complete"] == 1
    np.testing.assert_array_equal(ds.footprint.values, reference["footprint"])
    np.testing.assert_array_equal(ds.emissions.values, reference["emissions"])
    assert ds.attrs["footprint_residual"] < 1e-9


@pytest.mark.slow
def test_worker_killed_midway_completes_or_fails_clearly(tmp_path, reference):
    with _cluster() as cluster:
        cfg = _case(tmp_path, cluster.scheduler_address)
        final = tmp_path / "out.zarr"
        outcome: dict = {}
        runner = _run_in_thread(cfg, outcome)
        _kill_one_worker_midway(cluster, final, runner, outcome)
    partial = store.partial_path(final)
    if "error" in outcome:  # allowed: a clear error, and nothing that reads as complete
        err = outcome["error"]
        assert isinstance(err, footgrid.FootgridError), f"unclear error: {err!r}"
        assert "worker" in err.message.lower()
        assert not store.is_complete(final) and not store.is_complete(partial)
        return
    # dask retried the lost tasks: the same arrays as the undisturbed run.
    ds = outcome["ds"]
    assert store.is_complete(final) and not partial.exists()
    _assert_same(ds, reference)


@pytest.mark.slow
def test_worker_lost_beyond_allowed_failures_is_a_clear_error_and_resumes(tmp_path, reference):
    import dask

    final = tmp_path / "out.zarr"
    partial = store.partial_path(final)
    # No retries allowed: the task running on the killed worker fails the run.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), _cluster() as cluster:
        cfg = _case(tmp_path, cluster.scheduler_address)
        outcome: dict = {}
        runner = _run_in_thread(cfg, outcome)
        _kill_one_worker_midway(cluster, final, runner, outcome)
        assert "error" in outcome, "the run completed although no retry was allowed"
        err = outcome["error"]
        assert not final.exists() and not store.is_complete(partial)
        # --resume on the same cluster (the nanny restarted the worker) finishes the rest.
        resumed = footgrid.run(cfg, resume=True)
    assert store.is_complete(final) and not partial.exists()
    _assert_same(resumed, reference)
    # Last, so that the checks above run while this waits for the engine change.
    assert isinstance(err, footgrid.FootgridError), f"not a FootgridError: {err!r}"
    assert "worker" in err.message.lower() and "--resume" in err.message


_SCHEDULER = """
import sys, time, logging
from distributed import LocalCluster
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                       dashboard_address=":0", silence_logs=logging.CRITICAL)
print(cluster.scheduler_address, flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_scheduler_lost_midway_is_a_clear_error_and_nothing_reads_complete(tmp_path):
    """The whole cluster (scheduler and workers, another process group) dies mid-run."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", _SCHEDULER],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        address = proc.stdout.readline().strip()
        assert address.startswith("tcp://"), address
        cfg = _case(tmp_path, address)
        final = tmp_path / "out.zarr"
        outcome: dict = {}
        runner = _run_in_thread(cfg, outcome)
        partial = store.partial_path(final)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and runner.is_alive():
            if len(store.done_blocks(partial)) >= KILL_AFTER:
                break
            time.sleep(0.002)
        assert runner.is_alive(), f"the run ended before the kill: {outcome}"
        os.killpg(proc.pid, signal.SIGKILL)
        runner.join(120)
        assert not runner.is_alive(), "the run hung after the scheduler died"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    err = outcome.get("error")
    assert isinstance(err, footgrid.FootgridError), f"not a FootgridError: {outcome!r}"
    assert "--resume" in err.message
    assert not final.exists() and not store.is_complete(partial)
    # A run on threads then completes the store (its config text differs: it starts afresh).
    resumed = footgrid.run(_case(tmp_path, "threads"), resume=True)
    assert store.is_complete(final)
    assert resumed.attrs["mass_balance_residual"] == pytest.approx(0.0, abs=1e-6)

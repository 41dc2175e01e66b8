"""Kill ``footgrid run`` at random moments (SIGKILL), then ``--resume``: every finished store is
bit-identical to an uninterrupted one (every array, every attribute but the run token).

The delays are drawn over the whole life of a run (start-up, reading, store creation, blocks,
finish), so over the cycles kills land in each step; a resumed run may itself be killed again.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import footgrid
from footgrid import store
from tests.helpers.cases import make_case
from tests.helpers.files import scaled


def _case(folder):
    # EPSG:3857 is not equal-area: cell_area is written tile by tile while the store is
    # created, so kills land in that step too.
    return make_case(
        folder, scaled(1500, 20_000), grid={"crs": "EPSG:3857", "resolution": 20_000, "tile": 16}
    )


def _cli(cfg, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "footgrid", "--quiet", "run", str(cfg), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _assert_bit_identical(a, b) -> None:
    assert sorted(a.variables) == sorted(b.variables)
    for name in a.variables:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
        assert a[name].attrs == b[name].attrs, name
    skip = {"run_token"}
    assert {k: v for k, v in a.attrs.items() if k not in skip} == {
        k: v for k, v in b.attrs.items() if k not in skip
    }


@pytest.mark.slow
def test_random_kills_then_resume_give_the_uninterrupted_store(tmp_path):
    ref_cfg = _case(tmp_path / "ref")
    t0 = time.monotonic()
    proc = _cli(ref_cfg)
    _, err = proc.communicate(timeout=300)
    duration = time.monotonic() - t0
    assert proc.returncode == 0, err
    ref = footgrid.open_store(tmp_path / "ref" / "out.zarr")
    rng = np.random.default_rng(21)
    cycles = scaled(10, 30)
    folder = tmp_path / "run"
    shutil.copytree(tmp_path / "ref", folder, ignore=shutil.ignore_patterns("out.zarr*"))
    cfg = folder / "config.toml"
    final = folder / "out.zarr"
    killed = 0
    for cycle in range(cycles):
        for p in folder.glob("out.zarr*"):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        # Kill once or twice, then let --resume finish.
        for attempt in range(1 + (cycle % 3 == 0)):
            proc = _cli(cfg, *(["--resume"] if attempt else []))
            time.sleep(rng.uniform(0.2, duration))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.communicate(timeout=300)
            # A kill after the commit (export, exit) may leave a complete store: it is checked
            # below like any other. A partial store never says complete.
            if store.partial_path(final).exists():
                assert not store.is_complete(store.partial_path(final))
        proc = _cli(cfg, "--resume")
        _, err = proc.communicate(timeout=300)
        if proc.returncode == 2 and "already complete" in err:
            pass  # the kill came after the commit: the store is complete
        else:
            assert proc.returncode == 0, err
        assert "Traceback" not in err
        _assert_bit_identical(footgrid.open_store(final), ref)
    assert killed >= cycles // 2  # most cycles did interrupt a run

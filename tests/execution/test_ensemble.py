"""Emission-uncertainty ensembles end to end, against analytic values and deterministic runs."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyproj
import pytest
from scipy import stats

import footgrid
from footgrid import store
from tests.helpers.cases import make_case

RSD = {"ELEC": 0.1, "STEEL": 0.05, "TEXT": 0.08}
STATS = ("mean", "std", "quantile")


def _case(folder, n=3000, members=20, rsd=0.0, **sections):
    u = {"members": members, "seed": 7, "emission_rsd": rsd}
    u.update(sections.pop("uncertainty", {}))
    return make_case(
        folder,
        n,
        tile=16,
        resolution=sections.pop("resolution", 400_000),
        uncertainty=u,
        output={"dtype": "float64"},
        **sections,
    )


def _cell_of_points(ds, firms: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of each firm from the store's CRS and cell centres (pyproj + numpy)."""
    crs = pyproj.CRS.from_wkt(ds.attrs["grid_crs"])
    x, y = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(
        firms.lon.to_numpy(), firms.lat.to_numpy()
    )
    xs, ys = ds.x.values, ds.y.values
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    col = np.floor((x - (xs[0] - dx / 2)) / dx).astype(int)
    row = np.floor((y - (ys[0] - dy / 2)) / dy).astype(int)
    return row, col


def test_zero_uncertainty_members_equal_the_deterministic_run_bit_for_bit(tmp_path):
    ds = footgrid.run(_case(tmp_path / "e", 1500, members=5))
    det = footgrid.run(
        make_case(tmp_path / "d", 1500, resolution=400_000, output={"dtype": "float64"})
    )
    for name in ("footprint", "emissions"):
        ref = det[name].values
        np.testing.assert_array_equal(ds[name].values, ref)
        np.testing.assert_array_equal(ds[f"{name}_mean"].values, ref)
        assert not ds[f"{name}_std"].values.any()
        for q in range(ds.sizes["quantile"]):
            np.testing.assert_array_equal(ds[f"{name}_quantile"].values[q], ref)
    np.testing.assert_array_equal(ds["quantile"].values, [0.05, 0.5, 0.95])
    # Every member's national totals are the deterministic ledger's (an independent sum).
    ledger = det.totals.sum(("region", "sector", "category")).values
    members = ds.member_footprint_total.values
    assert members.shape == (5, ds.sizes["consumer"])
    assert (members == members[0]).all()
    np.testing.assert_allclose(members[0], ledger, rtol=1e-12)
    assert (ds.member_emissions_total.values == ds.member_emissions_total.values[0]).all()
    np.testing.assert_allclose(ds.member_emissions_total.values[0], ds.attrs["gridded_total"])


@pytest.mark.parametrize("correlation", ["source", "sector"])
def test_emission_ensemble_std_and_mean_match_the_analytic_values(tmp_path, correlation):
    n_members = 400
    cfg = _case(
        tmp_path,
        members=n_members,
        rsd=RSD,
        uncertainty={"emission_correlation": correlation},
        consumers={"home": ["CN-A", "CN-B"]},
    )
    ds = footgrid.run(cfg)
    firms = pd.read_parquet(tmp_path / "firms.parquet")
    row, col = _cell_of_points(ds, firms)
    sd = firms.co2_t.to_numpy() * firms.sector.map(RSD).to_numpy()
    shape = ds.emissions.shape
    flat = row * shape[1] + col
    if correlation == "source":  # independent: variances add over points
        var = np.bincount(flat, weights=sd**2, minlength=shape[0] * shape[1])
    else:  # one draw per sector: deviations add within a sector, variances across sectors
        var = np.zeros(shape[0] * shape[1])
        for s in RSD:
            inside = firms.sector.to_numpy() == s
            var += np.bincount(flat[inside], weights=sd[inside], minlength=var.size) ** 2
    det = np.bincount(flat, weights=firms.co2_t.to_numpy(), minlength=var.size)
    occupied = var > 0
    sigma = np.sqrt(var[occupied])
    got_std = ds.emissions_std.values.ravel()[occupied]
    got_mean = ds.emissions_mean.values.ravel()[occupied]
    # Chi-square bound on the sample variance, two-sided at 1e-4 for all cells together.
    alpha = 1e-4 / occupied.sum()
    lo, hi = stats.chi2.ppf([alpha / 2, 1 - alpha / 2], n_members - 1) / (n_members - 1)
    ratio = (got_std / sigma) ** 2
    assert (ratio > lo).all() and (ratio < hi).all(), (ratio.min(), ratio.max(), lo, hi)
    assert (np.abs(got_mean - det[occupied]) <= 3 * sigma / np.sqrt(n_members)).all()
    np.testing.assert_allclose(ds.emissions.values.ravel(), det, rtol=1e-12)
    # The attribution distributes each member's tonnes: footprint statistics add up to them.
    np.testing.assert_allclose(
        ds.footprint_mean.sum(("consumer", "category")).values, ds.emissions_mean.values,
        rtol=1e-9, atol=1e-9,
    )  # fmt: skip
    # The national total of each member: its spread is the analytic one, too.
    total = ds.member_emissions_total.values
    sigma_total = np.sqrt(var.sum()) if correlation == "source" else np.sqrt(
        sum((sd[firms.sector.to_numpy() == s].sum()) ** 2 for s in RSD)
    )  # fmt: skip
    ratio = total.var(ddof=1) / sigma_total**2
    lo, hi = stats.chi2.ppf([5e-5, 1 - 5e-5], n_members - 1) / (n_members - 1)
    assert lo < ratio < hi
    share = ds.member_foreign_share.values
    per_consumer = ds.member_footprint_total.values
    foreign = per_consumer[:, ~ds.domestic.values].sum(axis=1)
    np.testing.assert_allclose(share, foreign / per_consumer.sum(axis=1), rtol=1e-12)
    assert ((share > 0) & (share < 1)).all() and share.std() > 0


def test_members_do_not_depend_on_tiling_or_workers(tmp_path):
    a = footgrid.run(_case(tmp_path / "a", 800, rsd=0.3, compute={"workers": 1}))
    b = footgrid.run(_case(tmp_path / "b", 800, rsd=0.3, grid={"tile": 32}, compute={"workers": 2}))
    for name in ("emissions", "footprint"):
        for stat in STATS:
            v = f"{name}_{stat}"
            np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)
    np.testing.assert_allclose(
        a.member_footprint_total.values, b.member_footprint_total.values, rtol=1e-12
    )


def test_bad_uncertainty_config_is_a_config_error(tmp_path):
    with pytest.raises(footgrid.ConfigError, match="no value for sector"):
        footgrid.run(_case(tmp_path / "a", 100, rsd={"ELEC": 0.1}))
    with pytest.raises(footgrid.ConfigError, match="members"):
        footgrid.run(_case(tmp_path / "b", 100, members=0))
    with pytest.raises(footgrid.ConfigError, match="did you mean 'members'"):
        footgrid.run(_case(tmp_path / "c", 100, uncertainty={"member": 3}))
    with pytest.raises(footgrid.InputError, match="rsd_col"):
        footgrid.run(_case(tmp_path / "d", 100, rsd="rsd_col"))
    # was a zarr-python ValueError about compressors: ensembles are Zarr v3 stores
    with pytest.raises(footgrid.ConfigError, match="Zarr v3 only") as exc:
        footgrid.run(
            make_case(tmp_path / "e", 100, uncertainty={"members": 3}, output={"zarr_format": 2})
        )
    assert exc.value.key == "output.zarr_format" and "netcdf = true" in exc.value.fix


def test_rsd_from_a_points_column(tmp_path):
    cfg = _case(tmp_path, 500, members=30, rsd="rsd")
    firms = pd.read_parquet(tmp_path / "firms.parquet")
    firms["rsd"] = 0.0
    firms.loc[firms.index[:10], "rsd"] = 0.5
    firms.to_parquet(tmp_path / "firms.parquet", index=False)
    ds = footgrid.run(cfg)
    row, col = _cell_of_points(ds, firms)
    std = ds.emissions_std.values
    uncertain = np.zeros(std.shape, dtype=bool)
    uncertain[row[:10], col[:10]] = True
    assert (std[uncertain] > 0).all() and not std[~uncertain].any()


@pytest.mark.slow
def test_threads_and_a_process_cluster_give_identical_ensemble_stores(tmp_path):
    from distributed import LocalCluster

    threads = footgrid.run(_case(tmp_path / "t", 1500, rsd=0.2))
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        dist = footgrid.run(
            _case(tmp_path / "d", 1500, rsd=0.2, compute={"scheduler": cluster.scheduler_address})
        )
        dist.load()
    assert set(dist.data_vars) == set(threads.data_vars)
    for v in threads.data_vars:
        np.testing.assert_array_equal(dist[v].values, threads[v].values, err_msg=v)


@pytest.mark.slow
def test_resume_of_a_killed_ensemble_run_gives_the_same_store(tmp_path):
    def case(folder):
        return _case(folder, 4000, rsd=0.2, resolution=20_000, compute={"scheduler": "synchronous"})

    ref = footgrid.run(case(tmp_path / "ref"))
    cfg = case(tmp_path / "kill")
    final = tmp_path / "kill" / "out.zarr"
    partial = store.partial_path(final)
    with subprocess.Popen(
        [sys.executable, "-m", "footgrid.cli", "--quiet", "run", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as proc:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if len(store.done_blocks(partial)) >= 30:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    assert not final.exists()
    resumed = footgrid.run(cfg, resume=True)
    assert set(resumed.data_vars) == set(ref.data_vars)
    for v in ref.data_vars:
        np.testing.assert_array_equal(resumed[v].values, ref[v].values, err_msg=v)

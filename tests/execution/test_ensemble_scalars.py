"""Per-member area shares, Lorenz curves and hub totals, against per-member maps from numpy."""

from __future__ import annotations

import numpy as np
import pandas as pd

import footgrid
from footgrid.analysis.concentration import area_share_holding, lorenz_curve
from footgrid.analysis.hubs import find_hubs
from footgrid.analysis.places import CORE, MAX_HUBS, reach_cells
from footgrid.execution.ensemble_scalars import AREA_SHARE_RTOL
from footgrid.kernels.ensemble import lognormal_factor
from tests.execution.test_ensemble import _case, _cell_of_points

SEED, RSD, MEMBERS = 7, 0.6, 12


def member_maps(ds, firms: pd.DataFrame) -> np.ndarray:
    """(members, ny, nx) emissions of each member: the counter-based draws per input row,
    placed with pyproj and summed with numpy."""
    row, col = _cell_of_points(ds, firms)
    s = np.sqrt(np.log1p(RSD**2))
    e = firms.co2_t.to_numpy()
    maps = np.zeros((MEMBERS, *ds.emissions.shape))
    for m in range(MEMBERS):
        f = np.array([lognormal_factor(SEED, m, i, s) for i in range(len(firms))])
        np.add.at(maps[m], (row, col), e * f)
    return maps


def test_member_area_shares_lorenz_curves_and_hub_totals_match_per_member_maps(tmp_path):
    ds = footgrid.run(_case(tmp_path, 2000, members=MEMBERS, rsd=RSD, resolution=100_000))
    firms = pd.read_parquet(tmp_path / "firms.parquet")
    maps = member_maps(ds, firms)
    np.testing.assert_allclose(maps.mean(axis=0), ds.emissions_mean.values, rtol=1e-9)
    areas = ds.cell_area.values
    territory = ds.territory.values
    fractions = ds.fraction.values
    got = ds.member_area_share.values
    held = ds.member_held.values
    x_area = ds.lorenz_area.values
    for m in range(MEMBERS):
        exact = area_share_holding(maps[m], areas, fractions, mask=territory)
        np.testing.assert_allclose(got[m], exact, rtol=AREA_SHARE_RTOL)
        x, y = lorenz_curve(maps[m], areas, mask=territory)
        ref = np.interp(x_area, 1.0 - x[::-1], 1.0 - y[::-1])
        np.testing.assert_allclose(held[m], ref, rtol=AREA_SHARE_RTOL, atol=1e-12)
    assert got[:, 1].std() > 0  # the members differ
    # Hubs: the report's hubs of the deterministic map, each member's tonnes inside them.
    det = ds.emissions.values
    hubs = find_hubs(det, areas, core=CORE, mask=territory, reach=reach_cells(areas, territory))
    n = min(len(hubs), MAX_HUBS)
    assert n >= 2
    np.testing.assert_array_equal(ds.hub.values, np.arange(1, n + 1))
    np.testing.assert_allclose(ds.hub_total.values, hubs.total[:n], rtol=1e-12)
    ref = np.array([[maps[m][hubs.labels == h].sum() for h in range(1, n + 1)]
                    for m in range(MEMBERS)])  # fmt: skip
    np.testing.assert_allclose(ds.member_hub_total.values, ref, rtol=1e-10)


def test_no_hub_when_nothing_is_gridded_in_the_territory(tmp_path):
    """The guard of ``deterministic_hubs``: emissions only outside the territory (or none at
    all) give no hub, and the members' hub totals are then an empty (members, 0) table."""
    import zarr

    from footgrid.execution.ensemble_scalars import deterministic_hubs, hub_member_totals

    shape = (6, 8)
    values = np.zeros(shape, dtype=np.float32)
    values[0, :3] = 5.0  # emissions, all outside the territory
    territory = np.zeros(shape, dtype=bool)
    territory[2:, 2:] = True
    for case, data in (("outside", values), ("none", np.zeros(shape, np.float32))):
        group = zarr.open_group(tmp_path / f"{case}.zarr", mode="w", zarr_format=3)
        group.create_array("emissions", data=data)
        group.create_array("cell_area", data=np.full(shape, 1e6))
        group.create_array("territory", data=territory)
        labels, totals = deterministic_hubs(tmp_path / f"{case}.zarr")
        assert labels.shape == shape and not labels.any() and totals.shape == (0,)

        def no_points(labels):
            raise AssertionError("no hub: the points are not re-drawn")

        out = hub_member_totals(labels, len(totals), no_points, seed=1, members=5)
        assert out.shape == (5, 0)

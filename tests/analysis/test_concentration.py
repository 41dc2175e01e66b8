"""Concentration measures against independent brute-force formulations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from footgrid.analysis.concentration import (
    area_share_holding,
    concentration,
    gini,
    lorenz_curve,
    minimum_area_holding,
)
from footgrid.errors import InputError

FRACTIONS = np.array([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0])


def brute_area_share(values, areas, mask, fraction):
    """Enumerate candidate density thresholds t (every distinct positive density).

    The smallest region holding ``fraction`` of the layer takes every cell denser than some t,
    plus part of the cells whose density equals t: the first t (from the top) where the
    value denser than t falls short of the target and the value at density >= t reaches it.
    """
    v = np.asarray(values, dtype=np.float64)[mask]
    a = np.broadcast_to(np.asarray(areas, dtype=np.float64), np.shape(values))[mask]
    total = v.sum()
    if total == 0:
        return np.nan
    target = fraction * total
    if target == 0:
        return 0.0
    d = v / a
    for t in sorted(set(d[d > 0].tolist()), reverse=True):
        above = d > t
        at = d == t
        v_above = v[above].sum()
        v_at = v[at].sum()
        if v_above < target <= v_above + v_at + 1e-12 * total:
            return (a[above].sum() + (target - v_above) / t) / a.sum()
    raise AssertionError("no threshold reaches the target")


def brute_gini(values, areas, mask):
    """Weighted mean absolute difference of density over area: sum a_i a_j |d_i - d_j| / 2AV."""
    v = np.asarray(values, dtype=np.float64)[mask]
    a = np.broadcast_to(np.asarray(areas, dtype=np.float64), np.shape(values))[mask]
    if v.sum() == 0:
        return np.nan
    d = v / a
    diff = np.abs(d[:, None] - d[None, :])
    return float((a[:, None] * a[None, :] * diff).sum() / (2 * a.sum() * v.sum()))


def brute_lorenz_points(values, areas, mask):
    """For each distinct density t: (area share with density <= t, value share with d <= t)."""
    v = np.asarray(values, dtype=np.float64)[mask]
    a = np.broadcast_to(np.asarray(areas, dtype=np.float64), np.shape(values))[mask]
    d = v / a
    pts = [(a[d <= t].sum() / a.sum(), v[d <= t].sum() / v.sum()) for t in np.unique(d)]
    return np.array(pts)


# Few distinct values and areas: ties in density and zero cells are frequent.
tie_values = st.sampled_from([0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 6.0])
tie_areas = st.sampled_from([1.0, 2.0, 3.0])
any_values = st.one_of(st.just(0.0), st.floats(1e-3, 1e6))
any_areas = st.floats(0.1, 100.0)


@st.composite
def rasters(draw, values=any_values, areas=any_areas):
    shape = draw(st.tuples(st.integers(1, 9), st.integers(1, 9)))
    v = draw(hnp.arrays(np.float64, shape, elements=values))
    a = draw(hnp.arrays(np.float64, shape, elements=areas))
    mask = draw(hnp.arrays(np.bool_, shape, elements=st.booleans()))
    if not mask.any():
        mask[0, 0] = True
    return v, a, mask


def check_against_brute(v, a, mask):
    got = area_share_holding(v, a, FRACTIONS, mask=mask)
    want = np.array([brute_area_share(v, a, mask, f) for f in FRACTIONS])
    # Conditioning: an error of eps * total in the value target moves the area by
    # eps * total / density in the sparsest cell used (e.g. 32768 next to 0.001).
    vm, am = v[mask], np.broadcast_to(a, v.shape)[mask]
    positive = vm > 0
    d_min = (vm[positive] / am[positive]).min() if positive.any() else 1.0
    atol = 1e-12 + 64 * np.finfo(float).eps * vm.sum() / (d_min * am.sum())
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=atol)
    np.testing.assert_allclose(gini(v, a, mask=mask), brute_gini(v, a, mask), rtol=1e-9, atol=1e-12)
    if v[mask].sum() > 0:
        x, y = lorenz_curve(v, a, mask=mask)
        pts = brute_lorenz_points(v, a, mask)
        # Rounding in x (~eps) is amplified by the steepest segment's slope.
        dx = np.diff(x)
        slope = np.max(np.diff(y)[dx > 0] / dx[dx > 0], initial=1.0)
        atol = 1e-12 + 64 * np.finfo(float).eps * slope
        np.testing.assert_allclose(np.interp(pts[:, 0], x, y), pts[:, 1], rtol=1e-9, atol=atol)
        assert np.all(np.diff(x) >= 0) and np.all(np.diff(y) >= -1e-15)
        assert (x[0], y[0], x[-1], y[-1]) == (0.0, 0.0, 1.0, 1.0)


@settings(max_examples=150, deadline=None)
@given(rasters(values=tie_values, areas=tie_areas))
def test_ties_and_zero_cells_match_brute_force(raster):
    check_against_brute(*raster)


@settings(max_examples=150, deadline=None)
@given(rasters())
def test_non_uniform_areas_match_brute_force(raster):
    check_against_brute(*raster)


def test_one_percent_of_land_holds_75_percent():
    values = np.full(100, 1.0)
    values[0] = 297.0  # 297 / (297 + 99) = 0.75
    np.testing.assert_allclose(area_share_holding(values, 1.0, [0.75]), [0.01])
    np.testing.assert_allclose(minimum_area_holding(values, 1e8, [0.75]), [1e8])


def test_density_ranking_not_value_ranking():
    # The big cell holds more but is sparse; 50 % fits in the small dense cell.
    values = np.array([60.0, 40.0])
    areas = np.array([100.0, 1.0])
    # Dense cell: 40 of 100 from area 1; then 10 more from the big cell at density 0.6.
    expected = (1.0 + 10.0 / 0.6) / 101.0
    np.testing.assert_allclose(area_share_holding(values, areas, [0.5]), [expected])


def test_mask_restricts_area_and_value():
    values = np.array([[4.0, 0.0], [1.0, 100.0]])
    mask = np.array([[True, True], [True, False]])
    # Territory: three unit cells holding 5; 80 % = 4 sits in one cell -> 1/3.
    np.testing.assert_allclose(area_share_holding(values, 1.0, [0.8], mask=mask), [1 / 3])


def test_all_zero_layer_gives_nan_without_warning():
    zeros = np.zeros((3, 4))
    assert np.isnan(area_share_holding(zeros, 1.0, [0.5, 0.9])).all()
    assert np.isnan(gini(zeros, 1.0))
    x, y = lorenz_curve(zeros, 1.0)
    assert np.isnan(x).all() and np.isnan(y).all()
    c = concentration(zeros, 1.0)
    assert np.isnan(c.area_share).all() and np.isnan(c.gini)


def test_uniform_density_has_zero_gini_and_proportional_area():
    areas = np.array([1.0, 2.0, 3.0])
    values = 5.0 * areas
    assert abs(gini(values, areas)) < 1e-12
    np.testing.assert_allclose(area_share_holding(values, areas, [0.5, 0.9]), [0.5, 0.9])


def test_concentration_matches_separate_functions():
    rng = np.random.default_rng(1)
    v = rng.lognormal(size=(30, 40)) * (rng.random((30, 40)) < 0.3)
    a = rng.uniform(1, 3, size=(30, 40))
    m = rng.random((30, 40)) < 0.8
    c = concentration(v, a, [0.5, 0.9], mask=m)
    np.testing.assert_array_equal(c.area_share, area_share_holding(v, a, [0.5, 0.9], mask=m))
    np.testing.assert_array_equal(c.min_area, minimum_area_holding(v, a, [0.5, 0.9], mask=m))
    assert c.gini == gini(v, a, mask=m)
    assert c.territory_area == pytest.approx(a[m].sum())


@pytest.mark.parametrize(
    ("values", "areas", "fractions"),
    [
        ([1.0, -1.0], 1.0, [0.5]),
        ([1.0, np.nan], 1.0, [0.5]),
        ([1.0, 2.0], [1.0, 0.0], [0.5]),
        ([1.0, 2.0], 1.0, [75]),
    ],
)
def test_bad_input_raises(values, areas, fractions):
    with pytest.raises(InputError):
        area_share_holding(np.array(values), np.array(areas), fractions)

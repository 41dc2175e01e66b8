"""The one-pass validation kernel against the same checks written with numpy masks."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from footgrid.kernels.validate import CHECKS, first_failure
from footgrid.ledger import REASONS


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 200), st.booleans(), st.booleans())
def test_first_failure_follows_the_order_of_checks(seed, n, geographic, with_region):
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, 8, (5, n))
    cx = np.where(pick[0] == 0, np.nan, np.where(pick[0] == 1, 200.0, rng.uniform(-179, 179, n)))
    cy = np.where(pick[1] == 0, np.inf, np.where(pick[1] == 1, -95.0, rng.uniform(-89, 89, n)))
    em = np.where(pick[2] == 0, np.nan, np.where(pick[2] == 1, -1.0, rng.lognormal(0, 1, n)))
    sector = np.where(pick[3] == 0, -1, rng.integers(0, 5, n)).astype(np.int8)
    region = np.where(pick[4] == 0, -1, rng.integers(0, 5, n)).astype(np.int16)

    bad_xy = ~(np.isfinite(cx) & np.isfinite(cy))
    if geographic:
        bad_xy |= ~((np.abs(cx) <= 180) & (np.abs(cy) <= 90))
    masks = [bad_xy, np.isnan(em), em < 0, sector < 0, (region < 0) & with_region]
    expected = np.zeros(n, dtype=np.int8)
    for code, mask in reversed(list(enumerate(masks, start=1))):
        expected[mask] = code
    got = first_failure(
        cx, cy, em, sector, region if with_region else np.empty(0, np.int8), geographic
    )
    np.testing.assert_array_equal(got, expected)


def test_checks_are_ledger_reasons():
    assert set(CHECKS) <= set(REASONS)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 50))
def test_finite_bounds_equal_numpy_on_the_finite_points(seed, n):
    from footgrid.execution.plan import finite_bounds

    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1e5, n)
    y = rng.normal(0, 1e5, n)
    x[rng.random(n) < 0.2] = np.nan
    y[rng.random(n) < 0.2] = -np.inf
    ok = np.isfinite(x) & np.isfinite(y)
    expected = (x[ok].min(), y[ok].min(), x[ok].max(), y[ok].max()) if ok.any() else None
    assert finite_bounds(x, y) == expected

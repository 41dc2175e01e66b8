"""Counter-based lognormal draws and the per-cell ensemble statistics, against numpy/scipy."""

from __future__ import annotations

import numpy as np
from scipy import stats

from footgrid.kernels.ensemble import (
    ensemble_block,
    lognormal_factor,
    lognormal_sigma,
    standard_normal,
)


def test_standard_normal_is_normal_and_a_pure_function_of_its_counters():
    z = np.array([standard_normal(3, m, d) for m in range(20) for d in range(1000)])
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 4 / np.sqrt(z.size)
    # Neighbouring members and draws are uncorrelated.
    grid = z.reshape(20, 1000)
    assert abs(np.corrcoef(grid[0], grid[1])[0, 1]) < 4 / np.sqrt(1000)
    assert abs(np.corrcoef(grid[0, :-1], grid[0, 1:])[0, 1]) < 4 / np.sqrt(1000)
    assert standard_normal(3, 5, 17) == standard_normal(3, 5, 17)
    assert standard_normal(3, 5, 17) != standard_normal(4, 5, 17)


def test_lognormal_factor_keeps_the_mean_and_has_the_relative_deviation():
    rsd = 0.3
    s = float(lognormal_sigma(np.array([rsd]))[0])
    f = np.array([lognormal_factor(0, m, 99, s) for m in range(40_000)])
    # Reference: the lognormal law with the same s (scipy), mean exp(-s²/2) * exp(s²/2) = 1.
    law = stats.lognorm(s, scale=np.exp(-0.5 * s * s))
    assert abs(law.mean() - 1) < 1e-12
    assert abs(f.mean() - 1) < 4 * rsd / np.sqrt(f.size)
    assert abs(f.std(ddof=1) / rsd - 1) < 0.05
    assert stats.kstest(f, law.cdf).pvalue > 1e-3
    assert lognormal_factor(0, 1, 2, 0.0) == 1.0


def test_block_statistics_match_numpy_on_the_same_members():
    rng = np.random.default_rng(0)
    n_pts, n_keys, width, n_members = 40, 3, 4, 57
    local = np.sort(rng.integers(0, 6, n_pts))
    cells = np.unique(local)
    starts = np.searchsorted(local, np.r_[cells, 6]).astype(np.int64)
    key = rng.integers(0, n_keys, n_pts).astype(np.int64)
    emission = rng.uniform(1, 10, n_pts)
    sigma = rng.uniform(0, 0.5, n_pts)
    draw = rng.permutation(n_pts).astype(np.int64)
    coef = rng.uniform(0, 1, (1, n_keys, width + 2))
    probs = np.array([0.05, 0.5, 0.95, 1.0])
    mean = np.zeros((width, 6))
    std = np.zeros((width, 6))
    quant = np.zeros((len(probs), width, 6))
    sums = np.zeros((n_members, width))
    ensemble_block(cells, starts, key, emission, sigma, draw, 11, n_members, coef, True, 2,
                   probs, mean, std, quant, sums)  # fmt: skip
    f = np.array([[lognormal_factor(11, m, d, s) for d, s in zip(draw, sigma, strict=True)]
                  for m in range(n_members)])  # fmt: skip
    ref = np.zeros((n_members, width, 6))
    for p in range(n_pts):
        ref[:, :, local[p]] += (emission[p] * f[:, p])[:, None] * coef[0, key[p], 2:][None, :]
    np.testing.assert_allclose(mean, ref.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, ref.std(axis=0, ddof=1), rtol=1e-9)
    np.testing.assert_allclose(quant, np.quantile(ref, probs, axis=0), rtol=1e-12)
    np.testing.assert_allclose(sums, ref.sum(axis=2), rtol=1e-12)

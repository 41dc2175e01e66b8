"""Counter-based lognormal draws and the per-cell ensemble statistics, against numpy/scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from footgrid.kernels.ensemble import (
    BINS_PER_OCTAVE,
    LOG2_MIN,
    N_BINS,
    _sort_from_hint,
    ensemble_block,
    lognormal_factor,
    lognormal_sigma,
    member_totals_by_label,
    order_statistics,
    quantile_ranks,
    select_ranks,
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


@pytest.mark.parametrize("n_keys", [1, 3])  # one row per cell (proportional columns), several
def test_block_statistics_match_numpy_on_the_same_members(n_keys):
    rng = np.random.default_rng(n_keys)
    n_pts, width, n_members = 40, 4, 57
    local = np.sort(rng.integers(0, 6, n_pts))
    cells = np.unique(local)
    starts = np.searchsorted(local, np.r_[cells, 6]).astype(np.int64)
    key = rng.integers(0, n_keys, n_pts).astype(np.int64)
    emission = rng.uniform(1, 10, n_pts)
    sigma = rng.uniform(0, 0.5, n_pts)
    draw = rng.permutation(n_pts).astype(np.int64)
    coef = rng.uniform(0, 1, (1, n_keys, width + 2))
    coef[0, :, 3] *= -1.0  # negative final demand: a column in reverse member order
    coef[0, :, 4] = 0.0
    sigma[local == 2] = 0.0  # a cell without uncertainty
    probs = np.array([0.05, 0.5, 0.95, 1.0])
    group = 3  # layers per store chunk: columns 0-2 in group 0, column 3 in a padded group 1
    mean = np.zeros((2, 6, group))
    std = np.zeros((2, 6, group))
    quant = np.zeros((len(probs), 2, 6, group))
    sums = np.zeros((n_members, width))
    no_hist = (np.zeros(0), np.zeros(0, bool), np.zeros((2, n_members, 0)))
    ensemble_block(cells, starts, key, emission, sigma, draw, 11, n_members, coef, True, 2,
                   width, probs, mean, std, quant, sums, *no_hist)  # fmt: skip
    assert not mean[1, :, 1:].any() and not quant[:, 1, :, 1:].any()  # the padding

    def columns(a: np.ndarray) -> np.ndarray:  # (..., groups, cells, L) -> (..., width, cells)
        lead = a.shape[:-3]
        return np.moveaxis(a, -1, -2).reshape(*lead, -1, a.shape[-2])[..., :width, :]

    mean, std, quant = columns(mean), columns(std), columns(quant)
    f = np.array([[lognormal_factor(11, m, d, s) for d, s in zip(draw, sigma, strict=True)]
                  for m in range(n_members)])  # fmt: skip
    ref = np.zeros((n_members, width, 6))
    for p in range(n_pts):
        ref[:, :, local[p]] += (emission[p] * f[:, p])[:, None] * coef[0, key[p], 2:][None, :]
    np.testing.assert_allclose(mean, ref.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, ref.std(axis=0, ddof=1), rtol=1e-9, atol=1e-12)
    assert not std[:, 2].any()  # the cell without uncertainty has no spread at all
    np.testing.assert_allclose(quant, np.quantile(ref, probs, axis=0), rtol=1e-12)
    np.testing.assert_allclose(sums, ref.sum(axis=2), rtol=1e-12)


def test_emission_block_histograms_and_labelled_totals_match_numpy():
    rng = np.random.default_rng(1)
    n_pts, n_cells, n_members = 300, 30, 9
    local = np.sort(rng.integers(0, n_cells, n_pts))
    cells = np.unique(local)
    starts = np.searchsorted(local, np.r_[cells, n_cells]).astype(np.int64)
    emission = 10.0 ** rng.uniform(-3, 4, n_pts)
    sigma = rng.uniform(0, 0.8, n_pts)
    draw = rng.permutation(n_pts).astype(np.int64) * 7
    areas = rng.uniform(1e6, 4e6, n_cells)
    inside = rng.random(n_cells) < 0.8
    hist = np.zeros((2, n_members, N_BINS))
    out = [np.zeros((1, n_cells, 1)), np.zeros((1, n_cells, 1)), np.zeros((1, 1, n_cells, 1))]
    sums = np.zeros((n_members, 1))
    ensemble_block(cells, starts, np.full(n_pts, -1), emission, sigma, draw, 5, n_members,
                   np.zeros((1, 1, 1)), False, 0, 1, np.array([0.5]), *out, sums, areas,
                   inside, hist)  # fmt: skip
    f = np.array([[lognormal_factor(5, m, d, s) for d, s in zip(draw, sigma, strict=True)]
                  for m in range(n_members)])  # fmt: skip
    maps = np.zeros((n_members, n_cells))
    for m in range(n_members):
        np.add.at(maps[m], local, emission * f[m])
    # Reference binning: numpy's log2 and floor, territory cells with a value only.
    ref = np.zeros_like(hist)
    for m in range(n_members):
        ok = inside & (maps[m] > 0)
        b = np.floor((np.log2(maps[m][ok] / areas[ok]) - LOG2_MIN) * BINS_PER_OCTAVE)
        np.add.at(ref[0, m], b.astype(int), maps[m][ok])
        np.add.at(ref[1, m], b.astype(int), areas[ok])
    np.testing.assert_allclose(hist, ref, rtol=1e-12)
    np.testing.assert_allclose(sums[:, 0], maps.sum(axis=1), rtol=1e-12)
    # Totals by label: the same members' tonnes, summed per group of points.
    label = rng.integers(0, 4, n_pts).astype(np.int32)
    got = np.zeros((n_members, 3))
    member_totals_by_label(label, emission, sigma, draw, 5, got)
    for h in range(1, 4):
        np.testing.assert_allclose(got[:, h - 1], (emission * f)[:, label == h].sum(axis=1))


def test_rank_selection_places_the_ranks_as_numpy_sort_does():
    rng = np.random.default_rng(2)
    for _ in range(300):
        n = int(rng.integers(2, 150))
        x = np.round(rng.lognormal(size=n), int(rng.integers(0, 3)))  # with ties
        probs = np.sort(np.r_[rng.uniform(0, 1, 3), rng.uniform(0, 0.1), rng.uniform(0.9, 1)])
        ranks = quantile_ranks(n, probs)
        h = (n - 1) * probs
        ref = np.unique(np.r_[np.floor(h), np.minimum(np.floor(h) + 1, n - 1)].astype(int))
        np.testing.assert_array_equal(ranks, ref)
        got = x.copy()
        select_ranks(got, ranks, np.zeros((4, 2 * ranks.size + 1), dtype=np.int64))
        np.testing.assert_array_equal(got[ranks], np.sort(x)[ranks])
        np.testing.assert_array_equal(np.sort(got), np.sort(x))  # a permutation
        # Tails from one pass, the middle by selection: the same order statistics.
        col = np.full(n, np.nan)
        stack = np.zeros((4, 2 * ranks.size + 1), dtype=np.int64)
        order_statistics(x, col, ranks, stack, np.empty(17))
        np.testing.assert_array_equal(col[ranks], np.sort(x)[ranks])


def test_insertion_from_a_hint_sorts_exactly_or_gives_up_past_its_budget():
    """The near-sort used for multi-row cells' quantiles: numpy's sort whatever the hint (good,
    reversed, random), and False only when the hint needs more moves than allowed."""
    rng = np.random.default_rng(3)
    for _ in range(300):
        n = int(rng.integers(1, 120))
        x = np.round(rng.lognormal(size=n), int(rng.integers(0, 4)))  # with ties
        base = x + rng.normal(0, float(rng.choice([0.0, 0.01, 1.0])), n)  # a noisy hint
        order = np.argsort(base, kind="stable")
        reverse = bool(rng.integers(0, 2))
        if reverse:
            order = order[::-1].copy()
        seq = x[order[::-1]] if reverse else x[order]  # the order the kernel inserts in
        inversions = sum(int((seq[i] > seq[i + 1 :]).sum()) for i in range(n))
        budget = int(rng.integers(0, 3 * n))
        out = np.empty(n)
        ok = _sort_from_hint(x, order, reverse, out, budget)
        assert ok == (inversions <= budget)
        if ok:
            np.testing.assert_array_equal(out, np.sort(x))

"""The block kernels against numpy (np.add.at over dense arrays), and the scratch reuse."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from footgrid.execution import blocks as tiles
from footgrid.kernels import attribute_block, clear_cells, emission_block, group_by_cell


@st.composite
def tile_case(draw):
    n_cells = draw(st.integers(1, 300))
    n = draw(st.integers(0, 400))
    n_keys = draw(st.integers(1, 6))
    n_cols = draw(st.integers(1, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Few distinct cells or many: repeated cells are the case that matters.
    local = rng.integers(0, draw(st.integers(1, n_cells)), n).astype(np.int64)
    key = rng.integers(-1, n_keys, n).astype(np.int64)  # -1: no coefficient row
    e = rng.lognormal(0, 2, n)
    coef = rng.uniform(-0.2, 1.0, (n_keys, n_cols))  # negative: EXIOBASE-like inventory change
    col0 = draw(st.integers(0, n_cols - 1))
    width = draw(st.integers(1, n_cols - col0))
    group = draw(st.integers(1, width))  # layers per store chunk: out is (groups, cells, group)
    return n_cells, local, key, e, coef, col0, width, group


@settings(max_examples=150, deadline=None)
@given(tile_case(), st.sampled_from(["float32", "float64"]))
def test_block_kernels_equal_dense_numpy(case, dtype):
    n_cells, local, key, e, coef, col0, width, group = case
    cells, starts, key_g, e_g = group_by_cell(local, key, e, n_cells)
    np.testing.assert_array_equal(cells, np.unique(local))
    # the grouping is numpy's stable sort by cell
    order = np.argsort(local, kind="stable")
    np.testing.assert_array_equal(key_g, key[order])
    np.testing.assert_array_equal(e_g, e[order])
    np.testing.assert_array_equal(starts, np.searchsorted(local[order], np.r_[cells, n_cells]))

    ref = np.zeros((width, n_cells))
    ok = key >= 0
    for j in range(width):
        np.add.at(ref[j], local[ok], e[ok] * coef[key[ok], col0 + j])
    n_groups = -(-width // group)
    out = np.zeros((n_groups, n_cells, group), dtype=dtype)
    sums, abs_sums = attribute_block(cells, starts, key_g, e_g, coef, col0, width, out)
    # column j is out[j // group, :, j % group]; the padding of the last group stays zero
    padded = np.zeros((n_groups * group, n_cells))
    padded[:width] = ref
    cell_major = padded.reshape(n_groups, group, n_cells).transpose(0, 2, 1)
    np.testing.assert_allclose(
        out, cell_major.astype(dtype), rtol=1e-6 if dtype == "float32" else 1e-12
    )
    np.testing.assert_allclose(sums, ref.sum(axis=1), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(abs_sums, np.abs(ref).sum(axis=1), rtol=1e-10, atol=1e-9)

    em_ref = np.bincount(local, weights=e, minlength=n_cells)
    em = np.zeros(n_cells, dtype=dtype)
    total = emission_block(cells, starts, e_g, em)
    np.testing.assert_allclose(em, em_ref.astype(dtype), rtol=1e-6 if dtype == "float32" else 1e-12)
    assert np.isclose(total, em_ref.sum(), rtol=1e-12)

    clear_cells(out, cells)
    clear_cells(em.reshape(1, -1, 1), cells)
    assert not out.any() and not em.any()


def test_scratch_buffer_is_zero_for_every_block_and_dropped_after_an_error():
    rng = np.random.default_rng(1)
    for n_cells in (64, 16, 100):  # shapes of different sizes share one buffer
        local = rng.integers(0, n_cells, 50)
        cells, starts, key, e = group_by_cell(local, np.zeros(50, np.int64), np.ones(50), n_cells)
        with tiles._zeroed((1, n_cells, 3), "float32", cells) as out:
            assert not out.any()
            attribute_block(cells, starts, key, e, np.ones((1, 3)), 0, 3, out)
            assert out.any()
    with tiles._zeroed((2, 10, 1), "float32", cells[:0]) as out:
        assert not out.any()
    try:
        with tiles._zeroed((2, 10, 1), "float32", cells[:0]) as out:
            out[0, 3] = 1.0  # written outside ``cells``: only safe because the error drops it
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with tiles._zeroed((2, 10, 1), "float32", cells[:0]) as out:
        assert not out.any()

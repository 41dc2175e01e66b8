"""Attribution coefficients M = diag(x)^-1 L Y: properties on random MRIOs, errors, cache."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from footgrid.errors import MRIOError
from footgrid.mrio.leontief import (
    attribution_coefficients,
    cached_coefficients,
    content_key,
    total_output,
)


def random_mrio(
    seed: int, n: int, m: int, zero_rows: float, zero_cols: float, density: float
) -> tuple[np.ndarray, np.ndarray]:
    """A random balanced MRIO: sectors without output buy nothing; every producing sector
    sells some output to final demand (so (I - A) is non-singular)."""
    rng = np.random.default_rng(seed)
    Z = rng.random((n, n)) * (rng.random((n, n)) < density)
    Y = rng.random((n, m)) * (rng.random((n, m)) < density) * (n / m)
    dead = rng.random(n) < zero_rows  # x = 0: no sales, no purchases
    Z[dead] = 0.0
    Z[:, dead] = 0.0
    Y[dead] = 0.0
    no_inputs = rng.random(n) < zero_rows  # sectors that buy nothing (zero columns of Z)
    Z[:, no_inputs] = 0.0
    empty_fd = rng.random(m) < zero_cols  # final-demand columns without purchases
    empty_fd[0] = False
    Y[:, empty_fd] = 0.0
    Y[~dead, 0] += 0.05 * n / m + rng.random(int((~dead).sum()))
    return Z, Y


def explicit_inverse(Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """The textbook formula with an explicit Leontief inverse (pymrio's convention 1/0 -> 0)."""
    x = total_output(Z, Y)
    inv_x = np.divide(1.0, x, out=np.zeros_like(x), where=x > 0)
    L = np.linalg.inv(np.eye(len(x)) - Z * inv_x[np.newaxis, :])
    return inv_x[:, np.newaxis] * (L @ Y)


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    m=st.integers(1, 40),
    zero_rows=st.sampled_from([0.0, 0.1, 0.5]),
    zero_cols=st.sampled_from([0.0, 0.3]),
    density=st.sampled_from([1.0, 0.3, 0.05]),
)
def test_random_mrio_rows_sum_to_one_and_match_inverse(
    seed: int, n: int, m: int, zero_rows: float, zero_cols: float, density: float
) -> None:
    Z, Y = random_mrio(seed, n, m, zero_rows, zero_cols, density)
    M = attribution_coefficients(Z, Y)
    x = total_output(Z, Y)
    assert M.shape == (n, m) and M.dtype == np.float64 and M.flags.c_contiguous
    np.testing.assert_allclose(M[x > 0].sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (M[x == 0] == 0).all()
    np.testing.assert_allclose(M, explicit_inverse(Z, Y), rtol=0, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 250),
    m=st.integers(1, 30),
    zero_rows=st.sampled_from([0.0, 0.1]),
    density=st.sampled_from([1.0, 0.3, 0.05]),
)
def test_mixed_precision_solve_is_as_accurate_as_float64(
    seed: int, n: int, m: int, zero_rows: float, density: float
) -> None:
    """The float32 LU + float64 refinement (used from MIXED_MIN_ROWS rows on) against numpy's
    float64 inverse and against footgrid's float64 solve, at float64 accuracy."""
    Z, Y = random_mrio(seed, n, m, zero_rows, 0.0, density)
    M = attribution_coefficients(Z, Y, precision="mixed")
    ref = explicit_inverse(Z, Y)
    np.testing.assert_allclose(M, ref, rtol=0, atol=1e-12 * max(1.0, np.abs(ref).max()))
    np.testing.assert_allclose(
        M, attribution_coefficients(Z, Y, precision="double"), rtol=0, atol=1e-13
    )
    x = total_output(Z, Y)
    np.testing.assert_allclose(M[x > 0].sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_mixed_precision_converges_in_two_refinements_at_exiobase_like_conditioning(caplog):
    # Column sums of A up to ~0.8 (as in EXIOBASE): cond(I - A) ~ 10, float32 error ~1e-6.
    rng = np.random.default_rng(7)
    n, m = 400, 12
    Z = rng.random((n, n)) * (rng.random((n, n)) < 0.2)
    Y = rng.random((n, m)) + 0.1
    x = Z.sum(axis=1) + Y.sum(axis=1)
    with caplog.at_level(logging.DEBUG, logger="footgrid"):
        M = attribution_coefficients(Z, Y, precision="mixed")
    assert "converged after 2 refinements" in caplog.text
    assert (Z / x).sum(axis=0).max() > 0.7
    np.testing.assert_allclose(M, explicit_inverse(Z, Y), rtol=0, atol=1e-13)


@pytest.mark.parametrize("leak", [1e-9, 1e-5])
def test_ill_conditioned_tables_fall_back_to_the_float64_factorisation(caplog, leak) -> None:
    # A closed loop of two sectors that sell almost nothing to final demand: cond ~ 1/leak,
    # beyond what a float32 factorisation can refine (1e-9: a zero pivot in float32; 1e-5:
    # a condition estimate above MIXED_MAX_COND).
    Z = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.1]])
    Y = np.array([[leak], [leak], [1.0]])
    with caplog.at_level(logging.DEBUG, logger="footgrid"):
        M = attribution_coefficients(Z, Y, precision="mixed")
    assert "using the float64 factorisation" in caplog.text
    np.testing.assert_allclose(M, explicit_inverse(Z, Y), rtol=1e-6)
    np.testing.assert_array_equal(M, attribution_coefficients(Z, Y, precision="double"))
    with pytest.raises(ValueError, match="precision"):
        attribution_coefficients(Z, Y, precision="single")


def test_textbook_two_sector_example() -> None:
    # Miller & Blair (2009) Table 2.3: Z = [[150, 500], [200, 100]], f = [350, 1700].
    Z = np.array([[150.0, 500.0], [200.0, 100.0]])
    Y = np.array([[350.0], [1700.0]])
    M = attribution_coefficients(Z, Y)
    np.testing.assert_allclose(total_output(Z, Y), [1000.0, 2000.0])
    np.testing.assert_allclose(M, [[1.0], [1.0]], atol=1e-14)
    Y2 = np.array([[350.0, 0.0], [0.0, 1700.0]])
    M2 = attribution_coefficients(Z, Y2)
    np.testing.assert_allclose(M2, explicit_inverse(Z, Y2), atol=1e-14)
    np.testing.assert_allclose(M2.sum(axis=1), 1.0, atol=1e-14)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_is_an_error(bad: float) -> None:
    Z, Y = random_mrio(1, 6, 3, 0.0, 0.0, 1.0)
    Z[2, 4] = bad
    with pytest.raises(MRIOError, match=r"Z has 1 non-finite.*row 2, column 4"):
        attribution_coefficients(Z, Y)
    Z, Y = random_mrio(1, 6, 3, 0.0, 0.0, 1.0)
    Y[5, 1] = bad
    with pytest.raises(MRIOError, match=r"Y has 1 non-finite.*row 5, column 1"):
        attribution_coefficients(Z, Y)


def test_negative_entries_are_errors_unless_y_allowed() -> None:
    Z, Y = random_mrio(2, 6, 3, 0.0, 0.0, 1.0)
    Z[1, 0] = -1.0
    with pytest.raises(MRIOError, match=r"Z has 1 negative.*Fix: correct the negative flows"):
        attribution_coefficients(Z, Y)
    Z, Y = random_mrio(2, 6, 3, 0.0, 0.0, 1.0)
    Y[3, 2] = -0.5
    with pytest.raises(MRIOError, match=r"Y has 1 negative.*negative_final_demand"):
        attribution_coefficients(Z, Y)
    M = attribution_coefficients(Z, Y, allow_negative_y=True)
    np.testing.assert_allclose(M.sum(axis=1), 1.0, atol=1e-13)
    np.testing.assert_allclose(M, explicit_inverse(Z, Y), atol=1e-12)


def test_zero_output_sector_that_buys_inputs_is_an_error() -> None:
    Z, Y = random_mrio(3, 5, 2, 0.0, 0.0, 1.0)
    Z[2] = 0.0
    Y[2] = 0.0
    with pytest.raises(MRIOError, match=r"zero total output but buy inputs.*column 2|first 2"):
        attribution_coefficients(Z, Y)


def test_shape_errors() -> None:
    with pytest.raises(MRIOError, match="square"):
        attribution_coefficients(np.zeros((2, 3)), np.zeros((2, 1)))
    with pytest.raises(MRIOError, match="one row per row of Z"):
        attribution_coefficients(np.zeros((2, 2)), np.zeros((3, 1)))


def test_singular_leontief_is_an_error() -> None:
    # Two sectors sell only to each other and never to final demand: I - A = [[1, -1], [-1, 1]].
    Z = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    Y = np.array([[0.0], [0.0], [1.0]])
    with pytest.raises(MRIOError, match=r"\(I - A\) is (numerically )?singular"):
        attribution_coefficients(Z, Y)


def test_nearly_singular_leontief_is_an_error() -> None:
    # Final demand is a 1e-15 share of output: the closed loop makes (I - A) ill-conditioned.
    Z = np.array([[0.0, 1.0], [1.0, 0.0]])
    Y = np.array([[1e-15], [0.0]])
    with pytest.raises(MRIOError, match="singular"):
        attribution_coefficients(Z, Y)


def test_all_zero_mrio_gives_zero_coefficients() -> None:
    M = attribution_coefficients(np.zeros((3, 3)), np.zeros((3, 2)))
    assert M.shape == (3, 2) and not M.any()


def test_cache_hit_skips_the_solve(tmp_path, caplog, monkeypatch) -> None:
    Z, Y = random_mrio(4, 30, 5, 0.1, 0.0, 0.5)
    caplog.set_level(logging.INFO, logger="footgrid")
    M1, hit1 = cached_coefficients(Z, Y, tmp_path / "cache")
    assert not hit1
    assert "coefficient cache hit" not in caplog.text
    files = list((tmp_path / "cache").glob("coefficients-*.npy"))
    assert [f.name for f in files] == [f"coefficients-{content_key(Z, Y)}.npy"]

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("solved again despite the cache")

    monkeypatch.setattr("footgrid.mrio.leontief.attribution_coefficients", boom)
    M2, hit2 = cached_coefficients(Z, Y, tmp_path / "cache")
    assert hit2
    assert "coefficient cache hit" in caplog.text
    np.testing.assert_array_equal(M1, M2)


def test_cache_key_depends_on_content_and_shape(tmp_path) -> None:
    Z, Y = random_mrio(5, 10, 4, 0.0, 0.0, 1.0)
    Z2 = Z.copy()
    Z2[3, 3] += 1e-12
    assert content_key(Z, Y) != content_key(Z2, Y)
    assert content_key(Z, Y) != content_key(Z, Y.reshape(10, 4)[:, :2].copy())
    assert content_key(Z, Y) == content_key(Z.copy(order="F"), Y.astype(np.float64))
    _, hit = cached_coefficients(Z, Y, tmp_path)
    _, hit2 = cached_coefficients(Z2, Y, tmp_path)
    assert not hit and not hit2
    assert len(list(tmp_path.glob("coefficients-*.npy"))) == 2


def test_corrupt_cache_file_is_recomputed(tmp_path, caplog) -> None:
    Z, Y = random_mrio(6, 8, 3, 0.0, 0.0, 1.0)
    (tmp_path / f"coefficients-{content_key(Z, Y)}.npy").write_bytes(b"not a numpy file")
    caplog.set_level(logging.WARNING, logger="footgrid")
    M, hit = cached_coefficients(Z, Y, tmp_path)
    assert not hit
    assert "unreadable" in caplog.text
    np.testing.assert_allclose(M, explicit_inverse(Z, Y), atol=1e-12)
    _, hit = cached_coefficients(Z, Y, tmp_path)
    assert hit


def test_cache_disabled_and_validation_on_cached_path(tmp_path) -> None:
    Z, Y = random_mrio(7, 8, 3, 0.0, 0.0, 1.0)
    _, hit = cached_coefficients(Z, Y, None)
    assert not hit
    Z[0, 0] = np.nan
    with pytest.raises(MRIOError, match="non-finite"):
        cached_coefficients(Z, Y, tmp_path)


def _cached_file(folder, Z, Y):
    return folder / f"coefficients-{content_key(Z, Y)}.npy"


@pytest.mark.parametrize("forge_digest", [False, True])
def test_a_corrupted_cache_entry_is_detected_and_recomputed(tmp_path, caplog, forge_digest):
    Z, Y = random_mrio(8, 12, 4, 0.1, 0.0, 0.5)
    cached_coefficients(Z, Y, tmp_path)
    path = _cached_file(tmp_path, Z, Y)
    bad = np.load(path)
    bad[3, 1] += 0.25  # a valid .npy of the right shape, one wrong entry
    bad[3, 2] -= 0.25  # (row sums still 1: only the residual check can see it)
    np.save(path, bad)
    if forge_digest:  # the digest rewritten to match: the residual check still rejects it
        import hashlib

        digest = hashlib.blake2b(memoryview(bad).cast("B"), digest_size=20).hexdigest()
        path.with_name(path.name + ".blake2b").write_text(digest)
    caplog.set_level(logging.WARNING, logger="footgrid")
    M, hit = cached_coefficients(Z, Y, tmp_path)
    assert not hit
    assert ("does not solve" if forge_digest else "checksum") in caplog.text
    np.testing.assert_allclose(M, explicit_inverse(Z, Y), atol=1e-12)
    np.save(path, np.zeros_like(bad))  # the case: an all-zero entry
    M, hit = cached_coefficients(Z, Y, tmp_path)
    assert not hit
    np.testing.assert_allclose(M, explicit_inverse(Z, Y), atol=1e-12)


def test_an_unwritable_cache_folder_falls_back_to_the_user_cache(tmp_path, monkeypatch, caplog):
    Z, Y = random_mrio(9, 10, 3, 0.1, 0.0, 0.5)
    readonly = tmp_path / "inputs" / ".footgrid_cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home_cache"))
    real_mkdir = type(tmp_path).mkdir

    def mkdir(self, *a, **k):  # a read-only input folder (root ignores chmod, so simulate)
        if str(self).startswith(str(tmp_path / "inputs")):
            raise PermissionError(13, "Permission denied")
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(type(tmp_path), "mkdir", mkdir)
    caplog.set_level(logging.INFO, logger="footgrid")
    M, hit = cached_coefficients(Z, Y, readonly)
    assert not hit and "instead" in caplog.text
    assert _cached_file(tmp_path / "home_cache" / "footgrid", Z, Y).is_file()
    M2, hit = cached_coefficients(Z, Y, readonly)
    assert hit
    np.testing.assert_array_equal(M, M2)
    np.testing.assert_allclose(M, explicit_inverse(Z, Y), atol=1e-12)

"""Attribution coefficients M = diag(x)^-1 · L · Y of an MRIO, by LU solve (never an inverse).

Notation follows Miller & Blair, *Input-Output Analysis* (2009): Z inter-industry flows (n × n),
Y final demand (n × m), x = Z·1 + Y·1 total output, A = Z · diag(x)^-1 technical coefficients,
L = (I - A)^-1 the Leontief inverse.

Entry ``M[i, c]`` is the share of row i's output (hence of its emissions, under the usual
emission-intensity assumption) that ends in final-demand column c; every row with x > 0 sums
to 1 because L·Y·1 = L·(x - Z·1) = x.

Rows with x = 0 (sectors that produce nothing) contribute identity rows and columns to (I - A)
(pymrio's convention 1/0 -> 0 for A), so they are removed from the linear system before the
factorisation; their coefficients are 0.

:func:`cached_coefficients` stores M on disk keyed by a BLAKE2b hash of Z and Y, so a second run
on the same MRIO skips the solve. A cached M is used only after it passes three checks: the
BLAKE2b digest of its bytes recorded beside it, row sums of 1 (for rows with output) and the
residual of (I - A) X = Y on a few columns; otherwise it is recomputed and rewritten.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.linalg
import scipy.linalg.lapack

from footgrid.errors import MRIOError

log = logging.getLogger("footgrid")

#: Reciprocal condition number (1-norm) of (I - A) below which the system counts as singular:
#: the solution would have lost more than about 12 of its 16 significant digits.
RCOND_MIN = 1e-12

#: From this many active rows on, (I - A) is factorised in float32 and the float64 solution is
#: recovered by iterative refinement (:func:`_mixed_solve`): the float32 LU costs half the
#: float64 one, which dominates at EXIOBASE size (9 800 rows: 4 s instead of 8 s on 2 cores).
MIXED_MIN_ROWS = 2000
#: Largest estimated condition number (1-norm) for which the float32 factorisation is used:
#: each refinement step then shrinks the error by about cond * 6e-8 < 1e-3.
MIXED_MAX_COND = 1e4
#: Refinement steps before falling back to the float64 factorisation.
MIXED_MAX_STEPS = 10

#: Bump when the cached layout or the arithmetic changes, so old cache files are not reused.
_CACHE_VERSION = b"footgrid-coefficients-v1"


def total_output(Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Total output x = Z·1 + Y·1 (the balanced system's row sums), float64."""
    return np.asarray(Z, dtype=np.float64).sum(axis=1) + np.asarray(Y, dtype=np.float64).sum(axis=1)


def check_arrays(
    Z: np.ndarray,
    Y: np.ndarray,
    *,
    allow_negative_y: bool = False,
    rows: Sequence[object] | None = None,
    cols: Sequence[object] | None = None,
    source: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate Z and Y and return them as float64, with the total output x computed on the way.

    Checks: shapes; every entry finite; Z >= 0; Y >= 0 unless ``allow_negative_y``; total
    output x = Z·1 + Y·1 not negative, and x = 0 only for rows and Z columns that are all zero
    (a sector without output that buys inputs leaves the table unbalanced, and its row sums of
    M would not be 1).

    Parameters
    ----------
    Z, Y
        Inter-industry flows (n × n) and final demand (n × m).
    allow_negative_y
        Accept negative final demand (e.g. changes in inventories). Negative Z is never accepted.
    rows, cols
        Optional labels of the n rows and m final-demand columns, used in error messages
        (positions are used otherwise).
    source
        The file the tables came from, named in error messages.

    Returns
    -------
    Z, Y
        float64 views or copies.
    x
        Total output ``Z·1 + Y·1`` (:func:`total_output`), so that callers need not sum again.

    Raises
    ------
    MRIOError
        Naming the matrix, the first offending (row, column) labels, their count and the fix.
    """
    Z = np.asarray(Z, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if Z.ndim != 2 or Z.shape[0] != Z.shape[1]:
        raise MRIOError(
            f"Z must be a square (n × n) matrix, got shape {Z.shape}",
            file=source,
            fix="pass the inter-industry flow matrix with one row and one column per "
            "(region, sector)",
        )
    if Y.ndim != 2 or Y.shape[0] != Z.shape[0]:
        raise MRIOError(
            f"Y must have one row per row of Z ({Z.shape[0]}), got shape {Y.shape}",
            file=source,
            fix="pass final demand with the same (region, sector) rows as Z",
        )

    def row(i: int) -> str:
        return f"row {_label(rows, i)}"

    def where(name: str, i: int, j: int) -> str:
        col = _label(rows if name == "Z" else cols, j)
        return f"row {_label(rows, i)}, column {col}"

    # Fast path: whole-array reductions (NaN propagates through min/max); the element-wise
    # scans that locate the offending entry run only when something is wrong.
    lo = {"Z": Z.min(initial=0.0), "Y": Y.min(initial=0.0)}
    hi = {"Z": Z.max(initial=0.0), "Y": Y.max(initial=0.0)}
    for name, arr in (("Z", Z), ("Y", Y)):
        if np.isfinite(lo[name]) and np.isfinite(hi[name]):
            continue
        bad = ~np.isfinite(arr)
        i, j = np.argwhere(bad)[0]
        raise MRIOError(
            f"MRIO matrix {name} has {int(bad.sum())} non-finite entries (NaN or inf), the "
            f"first ({arr[i, j]}) at {where(name, i, j)}",
            file=source,
            fix=f"fill missing values of {name} with 0 in the MRIO source",
        )
    if lo["Z"] < 0:
        neg = Z < 0
        i, j = np.argwhere(neg)[0]
        raise MRIOError(
            f"MRIO matrix Z has {int(neg.sum())} negative entries, the first ({Z[i, j]:.6g}) at "
            f"{where('Z', i, j)}; inter-industry flows must be >= 0",
            file=source,
            fix="correct the negative flows in Z (or move them to final demand)",
        )
    if not allow_negative_y and lo["Y"] < 0:
        neg = Y < 0
        i, j = np.argwhere(neg)[0]
        raise MRIOError(
            f"MRIO matrix Y has {int(neg.sum())} negative entries, the first "
            f"({Y[i, j]:.6g}) at {where('Y', i, j)}",
            file=source,
            fix="correct or remove negative final demand (e.g. drop or zero the 'changes in "
            "inventories' columns), or accept it explicitly with negative_final_demand = "
            "'allow'",
        )
    x = total_output(Z, Y)
    suspect = np.flatnonzero(x <= 0)
    if suspect.size:
        nonzero = (Z[suspect] != 0).any(axis=1) | (Y[suspect] != 0).any(axis=1)
        bad_rows = suspect[(x[suspect] < 0) | nonzero]
        if bad_rows.size:
            i = int(bad_rows[0])
            raise MRIOError(
                f"{bad_rows.size} rows have total output x = Z·1 + Y·1 <= 0 although they have "
                f"non-zero entries, the first {row(i)} with x = {x[i]:.6g}",
                file=source,
                fix="correct the negative final demand of these rows",
            )
    zero_x = np.flatnonzero(x == 0)
    buys = np.zeros(x.shape, dtype=bool)
    if zero_x.size:
        buys[zero_x] = (Z[:, zero_x] != 0).any(axis=0)
    if buys.any():
        j = int(np.flatnonzero(buys)[0])
        raise MRIOError(
            f"{int(buys.sum())} sectors have zero total output but buy inputs (non-zero column "
            f"of Z), the first {_label(rows, j)}; the table is not balanced and the attribution "
            "coefficients would not sum to 1",
            file=source,
            fix="set the inputs (Z column) of sectors without output to 0, or give them output",
        )
    return Z, Y, x


def _label(labels: Sequence[object] | None, i: int) -> str:
    if labels is None:
        return str(int(i))
    return (
        repr(tuple(labels[int(i)])) if isinstance(labels[int(i)], tuple) else repr(labels[int(i)])
    )


def attribution_coefficients(
    Z: np.ndarray,
    Y: np.ndarray,
    *,
    allow_negative_y: bool = False,
    check: bool = True,
    x: np.ndarray | None = None,
    precision: str = "auto",
) -> np.ndarray:
    """Attribution coefficients M = diag(x)^-1 · L · Y, shape (n, m), float64.

    L·Y is obtained by LU-factorising (I - A) and solving (I - A) X = Y (LAPACK getrf + getrs,
    about a third of the work of forming L explicitly as pymrio's ``calc_L`` does). Rows with
    x = 0 are all zero and are left out of the factorisation; every other row sums to 1.

    From :data:`MIXED_MIN_ROWS` rows on, the factorisation is done in float32 and the solution
    refined in float64 until it is as accurate as a float64 solve (mixed-precision iterative
    refinement, the scheme of LAPACK's ``dsgesv``; Buttari et al. 2007); a badly conditioned
    (I - A) or a refinement that does not converge falls back to the float64 factorisation.

    Parameters
    ----------
    Z, Y
        Inter-industry flows (n × n) and final demand (n × m).
    allow_negative_y
        Accept negative final demand entries (see :func:`check_arrays`).
    check
        Validate the inputs first (finite, Z >= 0, shapes). Only skip when the caller already
        did, e.g. :func:`footgrid.mrio.tables.load_mrio`.
    x
        Total output ``Z·1 + Y·1`` when the caller already has it (with ``check=False``).
    precision
        ``"auto"`` (mixed from :data:`MIXED_MIN_ROWS` rows on), ``"double"`` (always the
        float64 factorisation) or ``"mixed"`` (float32 factorisation + float64 refinement
        whatever the size, with the same fallback).

    Returns
    -------
    numpy.ndarray
        M, (n, m) float64.

    Raises
    ------
    MRIOError
        Invalid inputs, or (I - A) singular or too ill-conditioned to solve (reciprocal
        condition number below :data:`RCOND_MIN`), or a non-finite solution.
    ValueError
        ``precision`` is not one of the three names.
    """
    if precision not in ("auto", "double", "mixed"):
        raise ValueError(f"precision must be 'auto', 'double' or 'mixed', not {precision!r}")
    if check:
        Z, Y, x = check_arrays(Z, Y, allow_negative_y=allow_negative_y)
    else:
        Z = np.asarray(Z, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        x = total_output(Z, Y) if x is None else x
    n, m = Y.shape
    active = x > 0
    M = np.zeros((n, m), dtype=np.float64)
    if not active.any():
        return M
    if active.all():
        inv_x = 1.0 / x
        Za, Ya = Z, Y
    else:
        idx = np.flatnonzero(active)
        inv_x = 1.0 / x[idx]
        Za, Ya = Z[np.ix_(idx, idx)], Y[idx]
    # (I - A) in C order is (I - A)^T in Fortran order: factorise that without a copy and
    # solve the transposed system (trans=1), i.e. (I - A) X = Y.
    IA = Za * (-inv_x)[np.newaxis, :]
    IA.flat[:: IA.shape[0] + 1] += 1.0
    mixed = precision == "mixed" or (precision == "auto" and IA.shape[0] >= MIXED_MIN_ROWS)
    X = _mixed_solve(IA, Ya) if mixed else None
    if X is None:
        X = _lu_solve_checked(IA, Ya)
    X *= inv_x[:, np.newaxis]
    if active.all():
        return np.ascontiguousarray(X)
    M[idx] = X
    return M


def _inf_norm(IA: np.ndarray) -> float:
    """||IA||_inf without an n × n temporary: the off-diagonal entries of I - A are -A <= 0."""
    d = np.diagonal(IA)
    return float((np.abs(d) + (d - IA.sum(axis=1))).max())


def _mixed_solve(IA: np.ndarray, Y: np.ndarray) -> np.ndarray | None:
    """Solve IA X = Y (C-ordered IA, kept) by a float32 LU and float64 iterative refinement.

    X0 comes from the float32 factors; then R = Y - IA·X in float64, X += solve32(R), until the
    correction is below float64 resolution. Convergence is geometric with the contraction
    q = |D_k| / |D_{k-1}| (about cond · 6e-8), so once q < 0.1 the error left after X += D_k is
    about q · |D_k|: the loop stops when that is below ``sqrt(n) * eps64 * |X|`` (the bound of
    LAPACK's ``dsgesv``), which saves the last residual. Returns None (the caller uses the
    float64 factorisation) when the factor has a zero pivot, the estimated condition number
    exceeds :data:`MIXED_MAX_COND`, or :data:`MIXED_MAX_STEPS` steps do not converge.
    """
    n = IA.shape[0]
    a32 = np.asarray(IA, dtype=np.float32).T  # Fortran view of IA^T in float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        lu, piv = scipy.linalg.lu_factor(a32, overwrite_a=True, check_finite=False)
    if not (np.abs(np.diagonal(lu)) > 0).all():
        log.debug("mixed-precision solve: zero pivot in float32, using the float64 factorisation")
        return None
    (getcon,) = scipy.linalg.lapack.get_lapack_funcs(("gecon",), (lu,))
    rcond, info = getcon(lu, _inf_norm(IA), norm="1")
    if info != 0 or not rcond * MIXED_MAX_COND >= 1.0:
        log.debug("mixed-precision solve: rcond %.3g, using the float64 factorisation", rcond)
        return None

    def solve32(B: np.ndarray) -> np.ndarray:
        return scipy.linalg.lu_solve(
            (lu, piv), B.astype(np.float32), trans=1, check_finite=False
        ).astype(np.float64)

    tol = np.sqrt(n) * np.finfo(np.float64).eps
    X = solve32(Y)
    prev = 0.0
    for step in range(MIXED_MAX_STEPS):
        R = Y - IA @ X
        D = solve32(R)
        X += D
        size = float(np.abs(D).max())
        scale = float(np.abs(X).max())
        q = size / prev if step > 0 and prev > 0 else np.inf
        prev = size
        if not (np.isfinite(size) and np.isfinite(scale)):
            break
        if size <= tol * scale or (q < 0.1 and q * size <= tol * scale):
            log.debug("mixed-precision solve: converged after %d refinements", step + 1)
            return X
    log.debug("mixed-precision solve did not converge; using the float64 factorisation")
    return None


def _lu_solve_checked(IA: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Solve IA X = Y for C-ordered IA; raise MRIOError when IA is (numerically) singular."""
    a = IA.T  # Fortran-contiguous view of IA^T
    anorm_inf = _inf_norm(IA)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        lu, piv = scipy.linalg.lu_factor(a, overwrite_a=True, check_finite=False)
    diag = np.abs(np.diagonal(lu))
    if not (diag > 0).all():
        raise MRIOError(
            "(I - A) is singular (zero pivot in its LU factorisation), so the "
            "Leontief inverse does not exist (some sectors sell only to each other and to no "
            "final demand)",
            fix="check that every group of producing sectors delivers some output to final "
            "demand, or aggregate the offending sectors",
        )
    (getcon,) = scipy.linalg.lapack.get_lapack_funcs(("gecon",), (lu,))
    rcond, info = getcon(lu, anorm_inf, norm="1")
    if info != 0 or not rcond >= RCOND_MIN:
        raise MRIOError(
            f"(I - A) is numerically singular (reciprocal condition number {rcond:.3g} < "
            f"{RCOND_MIN:g}); the Leontief inverse cannot be computed reliably",
            fix="check that every group of producing sectors delivers some output to final "
            "demand, or aggregate the offending sectors",
        )
    X = scipy.linalg.lu_solve((lu, piv), Y, trans=1, check_finite=False)
    if not np.isfinite(X).all():
        raise MRIOError(
            "solving (I - A) X = Y gave non-finite values",
            fix="check Z and Y for extreme magnitudes",
        )
    return X


def content_key(Z: np.ndarray, Y: np.ndarray) -> str:
    """BLAKE2b hex digest of Z and Y (float64 bytes, shapes and a format version)."""
    h = hashlib.blake2b(_CACHE_VERSION, digest_size=20)
    for arr in (Z, Y):
        a = np.ascontiguousarray(arr, dtype=np.float64)
        h.update(repr(a.shape).encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def cached_coefficients(
    Z: np.ndarray,
    Y: np.ndarray,
    cache_dir: str | os.PathLike[str] | None,
    *,
    allow_negative_y: bool = False,
    check: bool = True,
    x: np.ndarray | None = None,
) -> tuple[np.ndarray, bool]:
    """:func:`attribution_coefficients` with an on-disk cache keyed by the content of Z and Y.

    The file ``cache_dir/coefficients-<blake2b>.npy`` holds M. It is written atomically
    (temporary file, then rename), so concurrent runs never read a partial file; an unreadable or
    mismatched cache file is ignored and rewritten. A hit is logged as
    ``"coefficient cache hit"`` on the ``footgrid`` logger.

    Parameters
    ----------
    Z, Y
        Inter-industry flows (n × n) and final demand (n × m).
    cache_dir
        Folder for cache files (created if missing); None disables the cache.
    allow_negative_y, check, x
        As in :func:`attribution_coefficients` (validation runs on a hit as well).

    Returns
    -------
    M : numpy.ndarray
        (n, m) float64.
    hit : bool
        True when M came from the cache.
    """
    if check:
        Z, Y, x = check_arrays(Z, Y, allow_negative_y=allow_negative_y)
    if cache_dir is None:
        return attribution_coefficients(Z, Y, check=False, x=x), False
    key = content_key(Z, Y)
    folder = Path(cache_dir)
    path = folder / f"coefficients-{key}.npy"
    n, m = np.shape(Y)
    for where in dict.fromkeys((folder, user_cache_dir())):  # the second: see _save
        candidate = where / path.name
        if candidate.is_file():
            M = _load_verified(candidate, Z, Y, x)
            if M is not None:
                log.info("coefficient cache hit: %s", candidate)
                return M, True
    log.info("coefficient cache miss: solving (I - A) X = Y for n=%d, m=%d", n, m)
    M = attribution_coefficients(Z, Y, check=False, x=x)
    _save(folder, path.name, M)
    return M, False


#: Columns of M whose residual (I - A) X = Y is checked when a cached M is loaded.
CHECK_COLUMNS = 4
#: Relative residual above which a cached M is rejected (an LU solve gives about n * 1e-16).
CHECK_TOL = 1e-8


def _digest(M: np.ndarray) -> str:
    data = memoryview(np.ascontiguousarray(M)).cast("B")
    return hashlib.blake2b(data, digest_size=20).hexdigest()


def _load_verified(
    path: Path, Z: np.ndarray, Y: np.ndarray, x: np.ndarray | None
) -> np.ndarray | None:
    """The cached M at ``path`` if it passes the checks of the module docstring, else None."""
    n, m = np.shape(Y)
    try:
        M = np.load(path, allow_pickle=False)
        recorded = path.with_name(path.name + ".blake2b").read_text().strip()
    except (OSError, ValueError) as exc:
        log.warning("coefficient cache file %s unreadable (%s); recomputing", path, exc)
        return None
    if M.shape != (n, m) or M.dtype != np.float64:
        log.warning("coefficient cache file %s has the wrong shape; recomputing", path)
        return None
    if _digest(M) != recorded:
        log.warning("coefficient cache file %s fails its checksum; recomputing", path)
        return None
    if not _residual_ok(Z, Y, M, x):
        log.warning("coefficient cache file %s does not solve (I - A) X = Y; recomputing", path)
        return None
    return M


def _residual_ok(Z: np.ndarray, Y: np.ndarray, M: np.ndarray, x: np.ndarray | None) -> bool:
    """Row sums of M are 1 where x > 0 and x * M[:, j] - Z @ M[:, j] = Y[:, j] on a few j."""
    Z = np.asarray(Z, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    x = total_output(Z, Y) if x is None else x
    active = x > 0
    if not np.isfinite(M).all() or M[~active].any():
        return False
    if not np.allclose(M[active].sum(axis=1), 1.0, rtol=0, atol=CHECK_TOL * 10):
        return False
    m = Y.shape[1]
    for j in np.unique(np.linspace(0, m - 1, min(CHECK_COLUMNS, m)).astype(int)):
        mj = M[:, j]
        r = x * mj - Z @ mj - Y[:, j]
        scale = np.abs(x * mj).sum() + np.abs(Z) @ np.abs(mj) + np.abs(Y[:, j])
        if np.abs(r).sum() > CHECK_TOL * max(float(scale.sum()), 1e-300):
            return False
    return True


def _save(folder: Path, name: str, M: np.ndarray) -> None:
    """Write M and its digest atomically into ``folder``, or into a user cache folder when
    ``folder`` cannot be written; a cache that cannot be written at all is skipped."""
    for where in (folder, user_cache_dir()):
        try:
            where.mkdir(parents=True, exist_ok=True)
            _atomic_write(where / (name + ".blake2b"), _digest(M).encode())
            fd, tmp = tempfile.mkstemp(prefix=".coefficients-", suffix=".npy.tmp", dir=where)
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.save(fh, M, allow_pickle=False)
                os.replace(tmp, where / name)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            log.warning("cannot write the coefficient cache in %s (%s)", where, exc.strerror or exc)
            continue
        if where != folder:
            log.warning("coefficient cache written to %s instead (set FOOTGRID_CACHE)", where)
        return


def user_cache_dir() -> Path:
    """The user's footgrid cache: ``$XDG_CACHE_HOME/footgrid``, or ``~/.cache/footgrid``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "footgrid"


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix="." + path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

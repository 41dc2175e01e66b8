"""GRAS: scale a matrix with positive and negative entries to given row and column sums.

The generalised RAS of Junius & Oosterhaven (2003), in the formulation of Lenzen, Wood &
Gallego (2007) that also handles rows or columns without positive (or negative) entries. With
the prior split as A = P - N (P, N >= 0), it finds r, s > 0 such that

    X = diag(r) P diag(s) - diag(r)^-1 N diag(s)^-1

has row sums u and column sums v. Each half-step solves, per row i (columns alike),
``r_i p_i - n_i / r_i = u_i`` with ``p_i = sum_j P_ij s_j`` and ``n_i = sum_j N_ij / s_j``:
``r_i = (u_i + sqrt(u_i^2 + 4 p_i n_i)) / (2 p_i)``; ``r_i = -n_i / u_i`` when ``p_i = 0``;
``r_i = 1`` for an empty row. Signs are kept; zeros stay zero.

The matrix is given as blocks (2-D views into larger arrays, scaled in place at the end), each
placed at a (row slice, column slice) of the whole; entries outside every block are not part
of the balancing (their sums must already be taken out of u and v). Negative entries are kept
apart as sparse matrices, the dense blocks holding P.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

Block = tuple[np.ndarray, slice, slice]


@dataclass(frozen=True)
class GrasResult:
    """Convergence of one GRAS balancing.

    Attributes
    ----------
    iterations : int
        Row-and-column passes made.
    tol : float
        Stopping tolerance on the largest margin error relative to the largest margin.
    converged : bool
        Whether the tolerance was met within the iteration limit.
    row_error, col_error : float
        Largest |row sum - target| and |column sum - target|, relative to the largest target.
    negatives : int
        Negative entries in the prior (kept negative).
    """

    iterations: int
    tol: float
    converged: bool
    row_error: float
    col_error: float
    negatives: int


def _solve(target: np.ndarray, p: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Per element, the z > 0 with ``z p - n / z = target`` (see the module docstring)."""
    z = np.ones_like(target)
    pos = p > 0
    disc = np.sqrt(target[pos] ** 2 + 4.0 * p[pos] * n[pos])
    z[pos] = (target[pos] + disc) / (2.0 * p[pos])
    only_neg = ~pos & (n > 0) & (target < 0)
    z[only_neg] = -n[only_neg] / target[only_neg]
    return z


def _inv(z: np.ndarray) -> np.ndarray:
    return np.divide(1.0, z, out=np.zeros_like(z), where=z != 0)


def gras(
    blocks: list[Block], u: np.ndarray, v: np.ndarray, *, tol: float = 1e-10, max_iter: int = 2000
) -> GrasResult:
    """Balance the blocks in place to row sums ``u`` and column sums ``v`` by GRAS.

    Parameters
    ----------
    blocks
        ``(view, rows, cols)``: a writable float64 2-D view and the slices of the whole
        matrix's rows and columns it covers (blocks must not overlap).
    u, v
        Row and column targets of the whole matrix (the parts covered by blocks).
    tol
        Stop when the largest row and column errors are both at most ``tol`` times the
        largest absolute target.
    max_iter
        Most row-and-column passes.

    Returns
    -------
    GrasResult
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    negs: list[sp.csr_matrix | None] = []
    n_neg = 0
    for view, _, _ in blocks:
        mask = view < 0
        if mask.any():
            i, j = np.nonzero(mask)
            negs.append(sp.csr_matrix((-view[i, j], (i, j)), shape=view.shape))
            view[i, j] = 0.0
            n_neg += i.size
        else:
            negs.append(None)
    scale = max(float(np.abs(u).max(initial=0.0)), float(np.abs(v).max(initial=0.0)), 1e-300)

    def row_parts(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p, n = np.zeros_like(u), np.zeros_like(u)
        inv_s = _inv(s)
        for (view, rs, cs), neg in zip(blocks, negs, strict=True):
            p[rs] += view @ s[cs]
            if neg is not None:
                n[rs] += neg @ inv_s[cs]
        return p, n

    def col_parts(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p, n = np.zeros_like(v), np.zeros_like(v)
        inv_r = _inv(r)
        for (view, rs, cs), neg in zip(blocks, negs, strict=True):
            p[cs] += r[rs] @ view
            if neg is not None:
                n[cs] += neg.T @ inv_r[rs]
        return p, n

    s = np.ones_like(v)
    r = np.ones_like(u)
    p, n = row_parts(s)
    row_err = col_err = np.inf
    it = 0
    converged = False
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        r = _solve(u, p, n)
        pc, nc = col_parts(r)
        s = _solve(v, pc, nc)
        col_err = float(np.abs(s * pc - nc * _inv(s) - v).max(initial=0.0)) / scale
        p, n = row_parts(s)
        row_err = float(np.abs(r * p - n * _inv(r) - u).max(initial=0.0)) / scale
        if row_err <= tol and col_err <= tol:
            converged = True
            break
    for (view, rs, cs), neg in zip(blocks, negs, strict=True):
        view *= r[rs, None]
        view *= s[None, cs]
        if neg is not None:
            coo = neg.tocoo()
            rr, ss = r[rs][coo.row], s[cs][coo.col]
            view[coo.row, coo.col] = -coo.data * _inv(rr) * _inv(ss)
    return GrasResult(it, tol, converged, row_err, col_err, n_neg)

"""GRAS: scale a matrix with positive and negative entries to given row and column sums.

The generalised RAS of Junius & Oosterhaven (2003), in the formulation of Lenzen, Wood &
Gallego (2007) that also handles rows or columns without positive (or negative) entries. With
the prior split as A = P - N (P, N >= 0), it finds r, s > 0 such that

    X = diag(r) P diag(s) - diag(r)^-1 N diag(s)^-1

has row sums u and column sums v. Each half-step solves, per row i (columns alike),
``r_i p_i - n_i / r_i = u_i`` with ``p_i = sum_j P_ij s_j`` and ``n_i = sum_j N_ij / s_j``:
``r_i = (u_i + sqrt(u_i^2 + 4 p_i n_i)) / (2 p_i)``; ``r_i = -n_i / u_i`` when ``p_i = 0``;
``r_i = 1`` for an empty row. Signs are kept; zeros stay zero.

The matrix is given as blocks, each placed at a (row slice, column slice) of the whole and
written in place at the end: dense 2-D views (negative entries kept apart as sparse matrices),
or blocks whose prior is an outer product of two small arrays (:class:`FactoredBlock`: the
export and import blocks of a nested MRIO), summed without being formed. Entries outside
every block are not part of the balancing (their sums must already be taken out of u and v).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.sparse as sp


class DenseBlock:
    """A dense 2-D view balanced in place; its negative entries kept apart, sparse."""

    def __init__(self, view: np.ndarray, rows: slice, cols: slice) -> None:
        self.target, self.rows, self.cols = view, rows, cols
        view = self.view = np.ascontiguousarray(view)  # strided views make slow products
        if view is self.target:
            self.view = view = view.copy()
        mask = view < 0
        self.neg: sp.csr_matrix | None = None
        self.negatives = int(mask.sum())
        if self.negatives:
            i, j = np.nonzero(mask)
            self.neg = sp.csr_matrix((-view[i, j], (i, j)), shape=view.shape)
            view[i, j] = 0.0

    def row_parts(self, s: np.ndarray, inv_s: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Row sums of P diag(s) and of N diag(1/s) (None without negatives)."""
        n = None if self.neg is None else self.neg @ inv_s
        return np.einsum("ij,j->i", self.view, s), n

    def col_parts(self, r: np.ndarray, inv_r: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Column sums of diag(r) P and of diag(1/r) N."""
        n = None if self.neg is None else self.neg.T @ inv_r
        return np.einsum("i,ij->j", r, self.view), n

    def finish(self, r: np.ndarray, s: np.ndarray) -> None:
        """Write X = diag(r) P diag(s) - diag(1/r) N diag(1/s) into the view."""
        self.view *= r[:, None]
        self.view *= s[None, :]
        if self.neg is not None:
            coo = self.neg.tocoo()
            self.view[coo.row, coo.col] = -coo.data * _inv(r[coo.row]) * _inv(s[coo.col])
        self.target[...] = self.view


class FactoredBlock:
    """A block whose prior is a product of two small arrays (the export and import blocks of a
    nested MRIO), summed without being formed; ``out`` (4-D view) receives X at the end.

    ``kind="export"``: X[(p, i), (r, j)] = f1[p, i, r] * f2[i, r, j]; ``kind="import"``:
    X[(r, i), (q, j)] = f1[r, i, j] * f2[r, q, j]. Signs are split as P = f1+ f2+ + f1- f2-,
    N = f1+ f2- + f1- f2+.
    """

    SPECS: ClassVar[dict[str, str]] = {"export": "pir,irj->pirj", "import": "rij,rqj->riqj"}

    def __init__(
        self, out: np.ndarray, kind: str, f1: np.ndarray, f2: np.ndarray, rows: slice, cols: slice
    ) -> None:
        self.out, self.kind, self.rows, self.cols = out, kind, rows, cols
        self.f1, self.f2 = f1, f2
        self.rshape, self.cshape = out.shape[:2], out.shape[2:]
        parts = []
        for x in (np.maximum(f1, 0), np.maximum(-f1, 0)):
            for y in (np.maximum(f2, 0), np.maximum(-f2, 0)):
                if not (x.any() and y.any()):
                    parts.append(None)
                elif kind == "export":  # the (r, i, j) layout for batched products over r
                    parts.append((x, np.ascontiguousarray(y.transpose(1, 0, 2))))
                else:
                    parts.append((np.ascontiguousarray(x), y))
        self.pos = [x for x in (parts[0], parts[3]) if x is not None]
        self.negp = [x for x in (parts[1], parts[2]) if x is not None]
        spec = self.SPECS[kind]
        self.negatives = int((np.einsum(spec, f1, f2) < 0).sum()) if self.negp else 0

    def _rows(self, pairs: list, vec: np.ndarray) -> np.ndarray | None:
        if not pairs:
            return None
        out = np.zeros(self.rshape)
        v = vec.reshape(self.cshape)
        for a, b in pairs:
            if self.kind == "export":  # a (P, S, F), b (F, S, S): sum_r a[p,i,r] b[r,i,:]·v[r]
                w = np.matmul(b, v[:, :, None])[..., 0]  # (F, S)
                out += np.einsum("pir,ri->pi", a, w)
            else:  # a (F, S, S) = f1, b (F, P, S) = f2
                w = np.einsum("rqj,qj->rj", b, v)
                out += np.matmul(a, w[:, :, None])[..., 0]
        return out.reshape(-1)

    def _cols(self, pairs: list, vec: np.ndarray) -> np.ndarray | None:
        if not pairs:
            return None
        out = np.zeros(self.cshape)
        v = vec.reshape(self.rshape)
        for a, b in pairs:
            if self.kind == "export":
                t = np.einsum("pir,pi->ri", a, v)  # (F, S)
                out += np.matmul(t[:, None, :], b)[:, 0, :]
            else:
                t = np.matmul(v[:, None, :], a)[:, 0, :]  # (F, S)
                out += np.einsum("rqj,rj->qj", b, t)
        return out.reshape(-1)

    def row_parts(self, s: np.ndarray, inv_s: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        p = self._rows(self.pos, s)
        return (np.zeros(int(np.prod(self.rshape))) if p is None else p), self._rows(
            self.negp, inv_s
        )

    def col_parts(self, r: np.ndarray, inv_r: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        p = self._cols(self.pos, r)
        return (np.zeros(int(np.prod(self.cshape))) if p is None else p), self._cols(
            self.negp, inv_r
        )

    def finish(self, r: np.ndarray, s: np.ndarray) -> None:
        np.einsum(self.SPECS[self.kind], self.f1, self.f2, out=self.out)
        r4 = r.reshape(*self.rshape, 1, 1)
        s4 = s.reshape(1, 1, *self.cshape)
        if self.negp:
            neg = self.out < 0
            scaled = self.out / (r4 * s4)
            self.out *= r4
            self.out *= s4
            self.out[neg] = scaled[neg]
        else:
            self.out *= r4
            self.out *= s4


class ProductBlock:
    """A non-negative block whose prior is R^T Z R + X: a small dense Z (n' x n') mapped by a
    sparse R (n' x k), plus a sparse X (k x k) -- the domestic block of a nested MRIO (the
    provincial flows mapped by the concordance, plus the pairs that fell back to output
    shares). Sums cost the size of Z and R, not k x k; ``out`` (k x k view) receives X at the
    end.
    """

    negatives = 0

    def __init__(
        self, out: np.ndarray, R: sp.csr_matrix, Z: np.ndarray, extra: sp.csr_matrix | None,
        rows: slice, cols: slice,
    ) -> None:  # fmt: skip
        self.out, self.R, self.Z, self.extra, self.rows, self.cols = out, R, Z, extra, rows, cols
        self.RT = R.T.tocsr()

    def row_parts(self, s: np.ndarray, inv_s: np.ndarray) -> tuple[np.ndarray, None]:
        p = self.RT @ np.einsum("ij,j->i", self.Z, self.R @ s)
        if self.extra is not None:
            p += self.extra @ s
        return p, None

    def col_parts(self, r: np.ndarray, inv_r: np.ndarray) -> tuple[np.ndarray, None]:
        p = self.RT @ np.einsum("i,ij->j", self.R @ r, self.Z)
        if self.extra is not None:
            p += self.extra.T @ r
        return p, None

    def finish(self, r: np.ndarray, s: np.ndarray) -> None:
        # Z R as (R^T Z^T)^T: sparse-times-dense row by row, not dense-times-sparse; then
        # R^T (Z R) and the scaling a band of rows at a time (no k x k temporary).
        ZR = np.ascontiguousarray((self.RT @ np.ascontiguousarray(self.Z.T)).T)
        step = 512
        for a in range(0, self.out.shape[0], step):
            band = self.out[a : a + step]
            band[...] = self.RT[a : a + step] @ ZR
            if self.extra is not None:
                band += self.extra[a : a + step].toarray()
            band *= r[a : a + step, None]
            band *= s[None, :]


Block = DenseBlock | FactoredBlock | ProductBlock


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


def _parts(
    blocks: list[Block], z: np.ndarray, size: int, *, rows: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Row sums (``rows=True``; ``z`` the column scales s) or column sums (``z`` the row scales
    r) of the scaled positive parts and of the negative parts scaled by 1/z, over all blocks."""
    p, n = np.zeros(size), np.zeros(size)
    inv = _inv(z)
    for b in blocks:
        src, dst = (b.cols, b.rows) if rows else (b.rows, b.cols)
        bp, bn = (b.row_parts if rows else b.col_parts)(z[src], inv[src])
        p[dst] += bp
        if bn is not None:
            n[dst] += bn
    return p, n


def gras(
    blocks: list[Block], u: np.ndarray, v: np.ndarray, *, tol: float = 1e-10, max_iter: int = 2000
) -> GrasResult:
    """Balance the blocks in place to row sums ``u`` and column sums ``v`` by GRAS.

    Parameters
    ----------
    blocks
        :class:`DenseBlock` and :class:`FactoredBlock` objects, each covering a (row slice,
        column slice) of the whole matrix (blocks must not overlap).
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
    scale = max(float(np.abs(u).max(initial=0.0)), float(np.abs(v).max(initial=0.0)), 1e-300)

    def row_parts(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _parts(blocks, s, u.size, rows=True)

    def col_parts(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _parts(blocks, r, v.size, rows=False)

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
    for b in blocks:
        b.finish(r[b.rows], s[b.cols])
    negatives = sum(b.negatives for b in blocks)
    return GrasResult(it, tol, converged, row_err, col_err, negatives)

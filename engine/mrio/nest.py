"""Nest a sub-national MRIO (the provinces P of one country C) inside a global MRIO.

The nested table N has the regions of the global table with C replaced, in place, by the
provinces P (in the order of the provincial ``rows.csv``), every region with the global
sectors S and final-demand categories K. The provincial table (folder layout:
:mod:`footgrid.mrio.subnational`) is first mapped to S with the sector concordance (weights
split a provincial sector over global sectors, on rows and on columns alike) and its
categories to K (by name, or by a second concordance in the same format).

``method="proportional"`` (default; the global table is the control total):

- foreign → foreign blocks of Z and Y: the global ones, unchanged;
- province → province: the global C → C flow of each (sector i, sector j) pair (and
  (i, category k)) split in the proportions of the mapped provincial flows of that pair;
- province → foreign: the global flows from C's sector i to region r (every buying sector and
  category of r) split by each province's share of C's exports of sector i to r
  (``exports.csv``; of total exports when its single column is ``total``);
- foreign → province: the global r → C flows into sector j (or category k), whatever the
  imported sector, split by each province's share of the imports from r used by sector j (or
  category k) (``imports.csv``; its ``total`` line when origins are not given);
- a pair with no provincial information (all-zero shares) while the global flow is not zero is
  split by the provinces' output shares of the selling sector (rows) or of the buying sector
  (intermediate columns), or by the provinces' shares of total output (final-demand columns),
  and is listed in the report.

Summing N's provinces back into one region gives the global table to rounding, and the total
output of every foreign row is unchanged.

``method="gras"`` keeps the provincial table's own values -- domestic flows as given, exports
and imports as given and spread over the buyers (or imported sectors) in the global table's
proportions, the proportional values where the provincial table has nothing -- and reconciles
them by GRAS (:mod:`footgrid.mrio.nest_gras`, which accepts negative entries such as changes
in inventories) with the margins of the global table: foreign rows and columns keep their
global totals; the rows (columns) of the provinces get the global totals of C's sector (or
category), split by the provinces' shares in the provincial table. Foreign → foreign blocks
stay unchanged.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp

from footgrid.errors import InputError, MRIOError
from footgrid.mrio.concordance import load_concordance
from footgrid.mrio.nest_gras import DenseBlock, FactoredBlock, GrasResult, ProductBlock, gras
from footgrid.mrio.nest_report import NestReport, national_comparison
from footgrid.mrio.subnational import TOTAL, SubnationalMRIO, read_subnational
from footgrid.mrio.tables import MRIOTables, load_mrio

if TYPE_CHECKING:
    import pymrio

METHODS = ("proportional", "gras")


@dataclass(frozen=True, eq=False)
class _Global:
    """The global table viewed by region: Z4 (R, S, R, S), Y4 (R, S, R, K)."""

    regions: list[str]
    sectors: list[str]
    categories: list[str]
    Z4: np.ndarray
    Y4: np.ndarray
    c: int  # index of the nested country
    source: str

    @property
    def foreign(self) -> list[int]:
        return [i for i in range(len(self.regions)) if i != self.c]


@dataclass(frozen=True, eq=False)
class _Mapped:
    """The provincial table mapped to the global sectors and categories (P provinces)."""

    provinces: list[str]
    # The mapped domestic intermediate flows D = R^T Z' R, (P, S, P, S), are never formed:
    # only their sums and, block by block, the nested domestic block (_domestic_block).
    d_out: np.ndarray  # (P, S) D summed over buyers: sum_{q, j} D[p, i, q, j]
    d_in: np.ndarray  # (P, S) D summed over sellers: sum_{p, i} D[p, i, q, j]
    d_pair: np.ndarray  # (S, S) D summed over both provinces: sum_{p, q} D[p, i, q, j]
    Dy: np.ndarray  # (P, S, P, K) domestic final demand
    E: np.ndarray  # (P, S, F) exports to each foreign region (F = 1 when "total")
    Mi: np.ndarray  # (F, P, S) imports used by each province-sector (F = 1 when "total")
    Mf: np.ndarray  # (F, P, K) imports used by each province-category
    rmap: sp.csr_matrix  # (n', P*S) provincial rows -> (province, global sector)
    Zsub: np.ndarray  # (n', n') the provincial Z as read


def nest(
    global_mrio: str | os.PathLike[str] | MRIOTables | pymrio.IOSystem,
    subnational: str | os.PathLike[str] | SubnationalMRIO,
    *,
    country: str,
    concordance: str | os.PathLike[str],
    category_concordance: str | os.PathLike[str] | None = None,
    method: str = "proportional",
    tol: float = 1e-10,
    max_iter: int = 2000,
    format: str = "auto",
) -> tuple[MRIOTables, NestReport]:
    """Nest a sub-national MRIO of ``country`` inside a global MRIO.

    Parameters
    ----------
    global_mrio
        An :class:`~footgrid.mrio.tables.MRIOTables`, a :class:`pymrio.IOSystem`, or a path in
        any format :func:`~footgrid.mrio.tables.load_mrio` reads (negative final demand is
        accepted). Every region must have the same sectors and categories, in the same order.
    subnational
        The provincial MRIO folder (:mod:`footgrid.mrio.subnational`) or its parsed form.
    country
        The region of the global MRIO that the provinces replace.
    concordance
        Sector concordance provincial sector -> global sector (columns ``inventory_sector,
        mrio_sector, weight``; see :func:`~footgrid.mrio.concordance.load_concordance`).
    category_concordance
        Optional concordance provincial category -> global category in the same format
        (``inventory_sector`` holds the provincial category, ``mrio_sector`` the global one).
        Without it the provincial categories must be named as the global ones.
    method
        ``"proportional"`` or ``"gras"`` (see the module docstring).
    tol, max_iter
        GRAS stopping rule: the largest row or column margin error relative to the largest
        margin, and the most iterations.
    format
        Format of ``global_mrio`` when it is a path (``load_mrio``'s ``format``).

    Returns
    -------
    tables : MRIOTables
        The nested table; regions as the global ones with ``country`` replaced in place by the
        provinces.
    report : NestReport
        National totals of the provincial table against the global C block, the pairs that
        fell back to output shares, and the GRAS convergence.

    Raises
    ------
    InputError
        Unknown method; provinces, sectors or categories the concordance or the global table
        lacks; a country not in the global MRIO; negative flows (proportional; negative Z,
        exports or imports used by sectors under either method); provincial exports exceeding
        output; non-finite values.
    MRIOError
        A global table whose regions do not share sectors and categories; a nested table that
        fails validation (e.g. GRAS that cannot meet the margins).
    """
    if method not in METHODS:
        raise InputError(
            f"unknown nesting method {method!r}",
            key="--method",
            fix=f"use one of {', '.join(METHODS)}",
        )
    g = _global(global_mrio, country, format)
    sub = subnational if isinstance(subnational, SubnationalMRIO) else read_subnational(subnational)
    conc_path = Path(concordance)
    conc = load_concordance(conc_path, g.sectors)
    _check_values(sub, method)
    mapped = _map(sub, g, conc, conc_path, category_concordance)
    comparison = national_comparison(g.Z4, g.Y4, g.c, mapped.d_out, mapped.Dy, mapped.E,
                                     mapped.Mi, mapped.Mf, g.sectors)  # fmt: skip
    ZN4, YN4, fallbacks = _proportional(g, mapped)
    result: GrasResult | None = None
    if method == "gras":
        result = _gras(g, mapped, ZN4, YN4, tol, max_iter)
    rows, cols = _labels(g, mapped.provinces)
    nP = len(mapped.provinces)
    n, m = ZN4.shape[0] * ZN4.shape[1], YN4.shape[2] * YN4.shape[3]
    tables = MRIOTables(
        Z=ZN4.reshape(n, n),
        Y=YN4.reshape(n, m),
        rows=rows,
        cols=cols,
        source=f"nest({g.source}, {sub.folder})",
        allow_negative_y=True,
    )
    report = NestReport(
        method=method,
        country=country,
        provinces=mapped.provinces,
        n_sectors=len(g.sectors),
        n_regions=len(g.regions) - 1 + nP,
        comparison=comparison,
        fallbacks=fallbacks,
        gras=result,
    )
    return tables, report


# ----------------------------------------------------------------------------- inputs
def _global(source: object, country: str, format: str) -> _Global:
    t = source if isinstance(source, MRIOTables) else load_mrio(
        source, format, negative_final_demand="allow"  # type: ignore[arg-type]
    )  # fmt: skip
    regions, sectors = t.regions, t.sectors
    cats = list(pd.unique(t.cols.get_level_values("category")))
    R, S, K = len(regions), len(sectors), len(cats)
    want_rows = pd.MultiIndex.from_product([regions, sectors])
    want_cols = pd.MultiIndex.from_product([regions, cats])
    if not (t.rows.equals(want_rows) and t.cols.equals(want_cols)):
        raise MRIOError(
            "nesting needs a global MRIO whose regions all have the same sectors and the same "
            "final-demand categories, in the same order, rows and columns in region order",
            file=t.source,
            fix="reorder or complete the global table (pymrio's IOSystem has this layout)",
        )
    if country not in regions:
        near = difflib.get_close_matches(country, regions, n=5, cutoff=0.0)
        raise InputError(
            f"country {country!r} is not a region of the global MRIO; nearest: {', '.join(near)}",
            file=t.source,
            key="--country",
            fix="give one of the global MRIO's region labels exactly",
        )
    return _Global(
        regions, sectors, cats, t.Z.reshape(R, S, R, S), t.Y.reshape(R, S, R, K),
        regions.index(country), t.source,
    )  # fmt: skip


def _check_values(sub: SubnationalMRIO, method: str) -> None:
    folder = sub.folder
    domestic = sub.Z.sum(axis=1) + sub.Y.sum(axis=1)
    exports = sub.exports.sum(axis=1)
    output = domestic + exports
    scale = np.maximum(np.abs(output), np.abs(exports))
    over = np.flatnonzero(exports > output + 1e-9 * scale)
    if over.size:
        i = int(over[0])
        raise InputError(
            f"provincial exports exceed output: {sub.rows[i]!r} exports {exports[i]:.6g} but its "
            f"output (Z and Y row plus exports) is {output[i]:.6g}",
            file=folder / "exports.csv",
            row=[int(r) for r in over],
            fix="check the units and the row order of exports.csv against rows.csv",
        )
    n1 = len(sub.rows)
    # Negative intermediate flows and exports would make negative Z under either method;
    # negative final demand (inventory changes) only GRAS can keep.
    checks = [("Z", sub.Z, True), ("exports.csv", sub.exports, True),
              ("imports.csv", sub.imports[:, :n1], True)]  # fmt: skip
    if method == "proportional":
        checks += [("Y", sub.Y, False), ("imports.csv", sub.imports[:, n1:], False)]
    for name, arr, always in checks:
        neg = arr < 0
        if neg.any():
            r = np.flatnonzero(neg.any(axis=1))
            fix = (
                "intermediate flows, exports and imports used by sectors must be >= 0; fix or "
                "zero those entries"
                if always
                else "use --method gras (it keeps negative entries such as changes in "
                "inventories), or zero those entries"
            )
            raise InputError(
                f"sub-national {name} has {int(neg.sum())} negative value(s), which the "
                f"{method} method cannot split by",
                file=folder / (f"{name}.csv" if name in ("Z", "Y") else name),
                row=[int(i) for i in r],
                fix=fix,
            )


def _weights(
    conc: pd.DataFrame, labels: list[str], targets: list[str], path: Path, what: str, src: Path
) -> np.ndarray:
    """Dense (len(labels), len(targets)) weights of a concordance; unknown labels raise."""
    known = set(conc["inventory_sector"])
    miss = [i for i, lab in enumerate(labels) if lab not in known]
    if miss:
        raise InputError(
            f"the concordance lacks the provincial {what} {labels[miss[0]]!r} (used in {src.name})",
            file=path,
            column="inventory_sector",
            fix=f"add a line for every provincial {what} (its weights summing to 1)",
        )
    li = {lab: i for i, lab in enumerate(labels)}
    ti = {lab: i for i, lab in enumerate(targets)}
    W = np.zeros((len(labels), len(targets)))
    sel = conc["inventory_sector"].isin(li)
    for a, b, w in conc.loc[sel, ["inventory_sector", "mrio_sector", "weight"]].itertuples(
        index=False
    ):
        W[li[a], ti[b]] += w
    return W


def _map(
    sub: SubnationalMRIO,
    g: _Global,
    conc: pd.DataFrame,
    conc_path: Path,
    cat_conc: str | os.PathLike[str] | None,
) -> _Mapped:
    provinces = sub.provinces
    clash = [p for p in provinces if p in g.regions and p != g.regions[g.c]]
    if clash:
        raise InputError(
            f"province {clash[0]!r} has the name of a region of the global MRIO",
            file=sub.folder / "rows.csv",
            column="region",
            fix="give provinces labels that no other region of the global MRIO uses",
        )
    P, S, K = len(provinces), len(g.sectors), len(g.categories)
    pi = {p: i for i, p in enumerate(provinces)}
    # Row map: provincial row -> (province, global sector), weights of the concordance.
    sec = list(sub.rows.get_level_values("sector"))
    u_sec = list(dict.fromkeys(sec))
    W = _weights(conc, u_sec, g.sectors, conc_path, "sector", sub.folder / "rows.csv")
    nz = [np.flatnonzero(w) for w in W]
    ui = {s: k for k, s in enumerate(u_sec)}
    rr, rc, rv = [], [], []
    for r, (p, s) in enumerate(sub.rows):
        k = ui[s]
        rr.append(np.full(nz[k].size, r))
        rc.append(pi[p] * S + nz[k])
        rv.append(W[k, nz[k]])
    rmap = sp.csr_matrix(
        (np.concatenate(rv), (np.concatenate(rr), np.concatenate(rc))), shape=(len(sec), P * S)
    )
    cat = list(sub.cols.get_level_values("category"))
    u_cat = list(dict.fromkeys(cat))
    if cat_conc is not None:
        cpath = Path(cat_conc)
        Wk = _weights(load_concordance(cpath, g.categories), u_cat, g.categories, cpath,
                      "category", sub.folder / "cols.csv")  # fmt: skip
    else:
        bad = [i for i, c in enumerate(cat) if c not in g.categories]
        if bad:
            raise InputError(
                f"provincial category {cat[bad[0]]!r} is not a final-demand category of the "
                f"global MRIO ({', '.join(g.categories)})",
                file=sub.folder / "cols.csv",
                column="category",
                row=bad,
                fix="name the categories as the global MRIO does, or give a category "
                "concordance (--category-concordance)",
            )
        Wk = np.array([[1.0 if c == k else 0.0 for k in g.categories] for c in u_cat])
    cmap = np.zeros((len(cat), P * K))
    for r, (p, c) in enumerate(sub.cols):
        cmap[r, pi[p] * K : (pi[p] + 1) * K] = Wk[u_cat.index(c)]
    cmap = sp.csr_matrix(cmap)  # a few entries per line
    # Sums of D = R^T Z' R without forming it: R 1, 1^T R and R summed over provinces (A).
    ones = np.asarray(rmap.sum(axis=1)).ravel()  # (n',)
    # (einsum, not BLAS gemv: its threads spin on a loaded machine)
    d_out = (rmap.T @ np.einsum("ij,j->i", sub.Z, ones)).reshape(P, S)
    d_in = (rmap.T @ np.einsum("i,ij->j", ones, sub.Z)).reshape(P, S)
    A = (rmap @ sp.vstack([sp.identity(S, format="csr")] * P)).toarray()  # (n', S)
    d_pair = A.T @ (sub.Z @ A)
    Dy = np.asarray(rmap.T @ (sub.Y @ cmap)).reshape(P, S, P, K)
    foreign = [g.regions[i] for i in g.foreign]
    e = _by_region(sub.exports.T, sub.destinations, foreign, sub.folder / "exports.csv", "dest")
    E = np.asarray(e @ rmap).reshape(-1, P, S).transpose(1, 2, 0)
    imp = _by_region(sub.imports, sub.origins, foreign, sub.folder / "imports.csv", "origin")
    n1 = len(sub.rows)
    Mi = np.asarray(imp[:, :n1] @ rmap).reshape(-1, P, S)
    Mf = np.asarray(imp[:, n1:] @ cmap).reshape(-1, P, K)
    return _Mapped(provinces, d_out, d_in, d_pair, Dy, np.ascontiguousarray(E), Mi, Mf, rmap,
                   sub.Z)  # fmt: skip


def _by_region(
    arr: np.ndarray, names: list[str], foreign: list[str], path: Path, what: str
) -> np.ndarray:
    """Rows of ``arr`` (one per name) reindexed to the foreign regions (zeros where absent)."""
    if names == [TOTAL]:
        return arr
    known = {r: i for i, r in enumerate(foreign)}
    bad = [i for i, r in enumerate(names) if r not in known]
    if bad:
        near = difflib.get_close_matches(names[bad[0]], foreign, n=5, cutoff=0.0)
        raise InputError(
            f"{path.name} names {'destination' if what == 'dest' else 'origin'} "
            f"{names[bad[0]]!r}, which is not a foreign region of the global MRIO; nearest: "
            f"{', '.join(near)}",
            file=path,
            column=names[bad[0]] if what == "dest" else "origin",
            row=None if what == "dest" else bad,
            fix="use the global MRIO's region labels (not the nested country), or 'total'",
        )
    out = np.zeros((len(foreign), arr.shape[1]))
    out[[known[r] for r in names]] = arr
    return out


# ----------------------------------------------------------------------------- arithmetic
def _safe_share(values: np.ndarray, axis: tuple[int, ...], fallback: np.ndarray) -> np.ndarray:
    """``values / values.sum(axis)``; where the sum is 0, ``fallback`` (broadcastable)."""
    tot = values.sum(axis=axis, keepdims=True)
    zero = tot == 0
    inv = np.divide(1.0, tot, out=np.zeros_like(tot), where=~zero)
    share = values * inv
    if zero.any():
        np.copyto(
            share, np.broadcast_to(fallback, share.shape), where=np.broadcast_to(zero, share.shape)
        )
    return share


def _output_shares(m: _Mapped) -> tuple[np.ndarray, np.ndarray]:
    """(P, S) output shares by sector and (P,) shares of total output, with fallbacks."""
    xp = m.d_out + m.Dy.sum(axis=(2, 3)) + m.E.sum(axis=2)
    P = xp.shape[0]
    tot = xp.sum(axis=1)
    t_share = tot / tot.sum() if tot.sum() > 0 else np.full(P, 1.0 / P)
    return _safe_share(xp, (0,), t_share[:, None]), t_share


def _segments(g: _Global, nP: int) -> list[tuple[slice, slice, slice]]:
    """Runs of foreign regions: (global region slice, nested region slice, foreign slice)."""
    R, c = len(g.regions), g.c
    segs = [(slice(0, c), slice(0, c), slice(0, c))]
    segs.append((slice(c + 1, R), slice(c + nP, R - 1 + nP), slice(c, R - 1)))
    return [s for s in segs if s[0].stop > s[0].start]


def _proportional(g: _Global, m: _Mapped) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    R, S = len(g.regions), len(g.sectors)
    K, c, P = len(g.categories), g.c, len(m.provinces)
    RN = R - 1 + P
    so, tshare = _output_shares(m)
    ZN4 = np.empty((RN, S, RN, S))
    YN4 = np.empty((RN, S, RN, K))
    pc = slice(c, c + P)
    segs = _segments(g, P)
    Zcc, Ycc = g.Z4[c, :, c, :], g.Y4[c, :, c, :]
    # Foreign -> foreign: unchanged.
    for ag, an, _ in segs:
        for bg, bn, _ in segs:
            ZN4[an, :, bn, :] = g.Z4[ag, :, bg, :]
            YN4[an, :, bn, :] = g.Y4[ag, :, bg, :]
    fb = []
    # Province -> province.
    _domestic_block(m, Zcc, so, ZN4[pc, :, pc, :])
    fb.append(_fallen("domestic Z", m.d_pair, Zcc, g.sectors, g.sectors))
    share = _safe_share(m.Dy, (0, 2), so[:, :, None, None] * tshare[None, None, :, None])
    np.multiply(Ycc[None, :, None, :], share, out=YN4[pc, :, pc, :])
    fb.append(_fallen("domestic Y", m.Dy.sum(axis=(0, 2)), Ycc, g.sectors, g.categories))
    del share
    # Province -> foreign: export shares of each (sector i, destination r).
    e = _safe_share(m.E, (0,), so[:, :, None])  # (P, S, F or 1)
    foreign = [g.regions[i] for i in g.foreign]
    for bg, bn, bf in segs:
        eb = e if e.shape[2] == 1 else e[:, :, bf]
        np.multiply(g.Z4[c, :, bg, :][None], eb[..., None], out=ZN4[pc, :, bn, :])
        np.multiply(g.Y4[c, :, bg, :][None], eb[..., None], out=YN4[pc, :, bn, :])
    glob_e = g.Z4[c][:, g.foreign].sum(axis=2) + g.Y4[c][:, g.foreign].sum(axis=2)  # (S, F)
    esum = m.E.sum(axis=0)  # (S, F or 1)
    fb.append(_fallen("exports", np.broadcast_to(esum, glob_e.shape), glob_e, g.sectors,
                      foreign))  # fmt: skip
    # Foreign -> province: import shares of each (origin r, buying sector j / category k).
    mi = _safe_share(m.Mi, (1,), so[None])  # (F or 1, P, S)
    mf = _safe_share(m.Mf, (1,), np.broadcast_to(tshare[None, :, None], m.Mf.shape))
    for ag, an, af in segs:
        mib = mi if mi.shape[0] == 1 else mi[af]
        mfb = mf if mf.shape[0] == 1 else mf[af]
        np.multiply(g.Z4[ag, :, c, :][:, :, None, :], mib[:, None], out=ZN4[an, :, pc, :])
        np.multiply(g.Y4[ag, :, c, :][:, :, None, :], mfb[:, None], out=YN4[an, :, pc, :])
    gi = g.Z4[:, :, c].sum(axis=1)[g.foreign]  # (F, S): imports used by sector j
    gf = g.Y4[:, :, c].sum(axis=1)[g.foreign]  # (F, K)
    fb.append(_fallen("imports Z", np.broadcast_to(m.Mi.sum(axis=1), gi.shape).T, gi.T,
                      g.sectors, foreign, swap=True))  # fmt: skip
    fb.append(_fallen("imports Y", np.broadcast_to(m.Mf.sum(axis=1), gf.shape).T, gf.T,
                      g.categories, foreign, swap=True))  # fmt: skip
    return ZN4, YN4, pd.concat(fb, ignore_index=True)


def _domestic_block(m: _Mapped, Zcc: np.ndarray, so: np.ndarray, out: np.ndarray) -> None:
    """Write the proportional domestic block ``out[p, i, q, j] = Zcc[i, j] D[p, i, q, j] /
    sum_{p, q} D[p, i, q, j]`` (output shares ``so[p, i] so[q, j]`` where that sum is 0) into
    the (P, S, P, S) view ``out``, one selling province at a time: D = R^T Z' R is formed
    (S, P*S) rows at a time, never whole."""
    P, S = so.shape
    ratio = np.divide(Zcc, m.d_pair, out=np.zeros_like(Zcc), where=m.d_pair != 0)
    RT = m.rmap.T.tocsr()  # (P*S, n'): row (p, i) holds the provincial rows of p mapped to i
    ZR = np.ascontiguousarray((RT @ np.ascontiguousarray(m.Zsub.T)).T)  # Z' R, (n', P*S)
    for p in range(P):
        block = (RT[p * S : (p + 1) * S] @ ZR).reshape(S, P, S)  # D[p], small
        np.multiply(block, ratio[:, None, :], out=out[p])
    ii, jj = np.nonzero((m.d_pair == 0) & (Zcc != 0))
    if ii.size:  # pairs without provincial flows: output shares (advanced axis first)
        out[:, ii, :, jj] = (
            Zcc[ii, jj][:, None, None] * so[:, ii].T[:, :, None] * so[:, jj].T[:, None, :]
        )


def _fallen(
    block: str,
    info: np.ndarray,
    glob: np.ndarray,
    first: list[str],
    second: list[str],
    *,
    swap: bool = False,
) -> pd.DataFrame:
    """Pairs with no provincial information (``info == 0``) but a non-zero global flow."""
    i, j = np.nonzero((info == 0) & (glob != 0))
    a, b = [first[k] for k in i], [second[k] for k in j]
    if swap:  # (buying label, origin) -> (origin, buying label)
        a, b = b, a
    return pd.DataFrame(
        {"block": block, "from": a, "to": b, "global_flow": glob[i, j]},
        columns=["block", "from", "to", "global_flow"],
    )


def _labels(g: _Global, provinces: list[str]) -> tuple[pd.MultiIndex, pd.MultiIndex]:
    regions = g.regions[: g.c] + provinces + g.regions[g.c + 1 :]
    rows = pd.MultiIndex.from_product([regions, g.sectors], names=["region", "sector"])
    cols = pd.MultiIndex.from_product([regions, g.categories], names=["region", "category"])
    return rows, cols


# ----------------------------------------------------------------------------- GRAS
def _gras(
    g: _Global, m: _Mapped, ZN4: np.ndarray, YN4: np.ndarray, tol: float, max_iter: int
) -> GrasResult:
    """Replace the province blocks of the proportional table by the provincial values (where
    it has them) and balance them by GRAS to the global margins; see the module docstring."""
    R, S, K, c, P = len(g.regions), len(g.sectors), len(g.categories), g.c, len(m.provinces)
    RN = R - 1 + P
    n = RN * S
    so, tshare = _output_shares(m)
    pc = slice(c, c + P)
    segs = _segments(g, P)
    # Targets (computed from the proportional table, whose margins are the global ones).
    u = ZN4.reshape(n, n).sum(axis=1) + YN4.reshape(n, -1).sum(axis=1)
    vz = ZN4.reshape(n, n).sum(axis=0)
    vy = YN4.reshape(n, -1).sum(axis=0)
    for ag, an, _ in segs:  # the fixed foreign -> foreign flows are not part of the balancing
        for bg, bn, _ in segs:
            u4 = u.reshape(RN, S)
            u4[an] -= g.Z4[ag, :, bg, :].sum(axis=(2, 3)) + g.Y4[ag, :, bg, :].sum(axis=(2, 3))
            vz.reshape(RN, S)[bn] -= g.Z4[ag, :, bg, :].sum(axis=(0, 1))
            vy.reshape(RN, K)[bn] -= g.Y4[ag, :, bg, :].sum(axis=(0, 1))
    u4, vz4, vy4 = u.reshape(RN, S), vz.reshape(RN, S), vy.reshape(RN, K)
    u4[pc] = u4[pc].sum(axis=0) * so
    colz = m.d_in + m.Mi.sum(axis=0)  # (P, S) provincial inputs
    vz4[pc] = vz4[pc].sum(axis=0) * _safe_share(colz, (0,), so)
    coly = m.Dy.sum(axis=(0, 1)) + m.Mf.sum(axis=0)  # (P, K)
    vy4[pc] = vy4[pc].sum(axis=0) * _safe_share(coly, (0,), tshare[:, None])
    # Prior: provincial values where the provincial table has them, proportional values where
    # it has none. Domestic blocks dense; export and import blocks as products of factors.
    Z2, Y2 = ZN4.reshape(n, n), YN4.reshape(n, -1)
    pr = slice(c * S, (c + P) * S)
    py = slice(c * K, (c + P) * K)
    # Domestic Z: R^T Z' R (the provincial flows mapped), plus the proportional values of the
    # pairs without provincial flows, kept sparse.
    dom = m.d_pair != 0
    extra = None
    if not dom.all():
        fall = np.where(dom[None, :, None, :], 0.0, ZN4[pc, :, pc, :]).reshape(P * S, P * S)
        extra = sp.csr_matrix(fall)
        del fall
    domy = m.Dy.sum(axis=(0, 2)) != 0
    YN4[pc, :, pc, :] = np.where(domy[None, :, None, :], m.Dy, YN4[pc, :, pc, :])
    blocks: list[DenseBlock | FactoredBlock | ProductBlock] = [
        ProductBlock(Z2[pr, pr], m.rmap, m.Zsub, extra, pr, pr),
        DenseBlock(Y2[pr, py], pr, slice(n + py.start, n + py.stop)),
    ]
    e_prop = _safe_share(m.E, (0,), so[:, :, None])  # (P, S, F or 1)
    if m.E.shape[2] == 1:  # total exports: C's exports of sector i to every foreign buyer
        tot_all = g.Z4[c][:, g.foreign].sum(axis=(1, 2)) + g.Y4[c][:, g.foreign].sum(axis=(1, 2))
    for bg, bn, bf in segs:
        zb, yb = g.Z4[c, :, bg, :], g.Y4[c, :, bg, :]  # (S, F_b, S), (S, F_b, K)
        Fb = zb.shape[1]
        if m.E.shape[2] == 1:
            Eb, ep = m.E, e_prop
            tot = tot_all[:, None]
        else:
            Eb, ep = m.E[:, :, bf], e_prop[:, :, bf]
            tot = zb.sum(axis=2) + yb.sum(axis=2)  # (S, F_b)
        have = (Eb.sum(axis=0) != 0) & (tot != 0)
        ratio = np.divide(Eb, tot[None], out=np.zeros(np.broadcast(Eb, tot[None]).shape),
                          where=tot[None] != 0)  # fmt: skip
        a = np.broadcast_to(np.where(have[None], ratio, ep), (P, S, Fb)).copy()
        cz = slice(bn.start * S, bn.stop * S)
        cy = slice(n + bn.start * K, n + bn.stop * K)
        blocks.append(FactoredBlock(ZN4[pc, :, bn, :], "export", a, zb, pr, cz))
        blocks.append(FactoredBlock(YN4[pc, :, bn, :], "export", a, yb, pr, cy))
    mi_prop = _safe_share(m.Mi, (1,), so[None])  # (F or 1, P, S)
    mf_prop = _safe_share(m.Mf, (1,), np.broadcast_to(tshare[None, :, None], m.Mf.shape))
    for ag, an, af in segs:
        rows = slice(an.start * S, an.stop * S)
        for arr4, glob, M, prop, cols, spec in (
            (ZN4, g.Z4, m.Mi, mi_prop, pr, "import"),
            (YN4, g.Y4, m.Mf, mf_prop, slice(n + py.start, n + py.stop), "import"),
        ):
            gb = glob[ag, :, c, :]  # (F_a, S, S|K)
            if M.shape[0] == 1:
                tot = glob[:, :, c][g.foreign].sum(axis=(0, 1))[None]  # (1, S|K)
                Mb, pb = M, prop
            else:
                tot = gb.sum(axis=1)  # (F_a, S|K)
                Mb, pb = M[af], prop[af]
            have = (Mb.sum(axis=1) != 0) & (tot != 0)  # (F_a or 1, S|K)
            ratio = np.divide(Mb, tot[:, None], out=np.zeros(np.broadcast(Mb, tot[:, None]).shape),
                              where=tot[:, None] != 0)  # fmt: skip
            a = np.broadcast_to(np.where(have[:, None], ratio, pb), (gb.shape[0], *M.shape[1:]))
            blocks.append(FactoredBlock(arr4[an, :, pc, :], spec, gb, a.copy(), rows, cols))
    return gras(blocks, u, np.concatenate([vz, vy]), tol=tol, max_iter=max_iter)

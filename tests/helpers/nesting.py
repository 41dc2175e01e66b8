"""Synthetic global MRIOs, "true" nested tables and the provincial tables they imply.

The true nested table splits the country C of a global table into provinces with only shares
that a provincial table can carry (see issue 17): each province's share of C's exports of
sector i to region r is the same whatever r's buying sector or category; each province's share
of C's imports from r used by sector j (or category k) is the same whatever the imported
sector; the domestic block is split arbitrarily. Built here with plain numpy einsum, apart
from footgrid's code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from footgrid.mrio.tables import MRIOTables


def make_global(
    regions: list[str], sectors: list[str], cats: list[str], seed: int = 0, zeros: float = 0.0
) -> MRIOTables:
    """A random global MRIO with a fraction ``zeros`` of Z entries set to 0."""
    rng = np.random.default_rng(seed)
    R, S, K = len(regions), len(sectors), len(cats)
    Z = rng.uniform(0, 10, (R * S, R * S))
    if zeros:
        Z[rng.random(Z.shape) < zeros] = 0.0
    Y = rng.uniform(1, 30, (R * S, R * K))
    rows = pd.MultiIndex.from_product([regions, sectors], names=["region", "sector"])
    cols = pd.MultiIndex.from_product([regions, cats], names=["region", "category"])
    return MRIOTables(Z=Z, Y=Y, rows=rows, cols=cols, source="synthetic")


@dataclass
class Truth:
    """A true nested table (provinces in place of C) and its parts."""

    Z: np.ndarray
    Y: np.ndarray
    rows: pd.MultiIndex
    cols: pd.MultiIndex
    provinces: list[str]
    sigma: np.ndarray  # (P, S) output shares when homogeneous


def true_split(
    g: MRIOTables, country: str, provinces: list[str], seed: int = 1, homogeneous: bool = False
) -> Truth:
    """Split ``country`` of ``g`` into ``provinces`` (see the module docstring).

    ``homogeneous``: every province has C's technology: supply shares sigma_p(i) for every
    buyer, domestic and foreign, and buyer shares sigma_q(j) (sectors), tau_q(k) (categories).
    """
    rng = np.random.default_rng(seed)
    R, S = len(g.regions), len(g.sectors)
    cats = list(pd.unique(g.cols.get_level_values("category")))
    K, P, c = len(cats), len(provinces), g.regions.index(country)
    Z4, Y4 = g.Z.reshape(R, S, R, S), g.Y.reshape(R, S, R, K)
    f = [i for i in range(R) if i != c]
    F = len(f)

    def dirichlet(shape: tuple[int, ...], axis: int) -> np.ndarray:
        w = rng.uniform(0.05, 1.0, shape)
        return w / w.sum(axis=axis, keepdims=True)

    if homogeneous:
        sig = dirichlet((P, S), 0)
        tau = dirichlet((P, K), 0)
        wz = np.einsum("pi,qj->piqj", sig, sig)
        wy = np.einsum("pi,qk->piqk", sig, tau)
        e = np.broadcast_to(sig[:, :, None], (P, S, F))
        m_z = np.broadcast_to(sig[None], (F, P, S))
        m_y = np.broadcast_to(tau[None], (F, P, K))
    else:
        sig = np.full((P, S), np.nan)
        flat = dirichlet((P * S * P * S,), 0).reshape(P, S, P, S)
        wz = flat / flat.sum(axis=(0, 2), keepdims=True)
        wy = dirichlet((P, S, P, K), 0)
        wy = wy / wy.sum(axis=(0, 2), keepdims=True)
        e = dirichlet((P, S, F), 0)
        m_z = dirichlet((F, P, S), 1)
        m_y = dirichlet((F, P, K), 1)
    RN = R - 1 + P
    pos = {r: (r if r < c else r + P - 1) for r in f}
    ZN = np.zeros((RN, S, RN, S))
    YN = np.zeros((RN, S, RN, K))
    pc = slice(c, c + P)
    for a in f:
        for b in f:
            ZN[pos[a], :, pos[b], :] = Z4[a, :, b, :]
            YN[pos[a], :, pos[b], :] = Y4[a, :, b, :]
    ZN[pc, :, pc, :] = np.einsum("ij,piqj->piqj", Z4[c, :, c, :], wz)
    YN[pc, :, pc, :] = np.einsum("ik,piqk->piqk", Y4[c, :, c, :], wy)
    for ri, r in enumerate(f):
        ZN[pc, :, pos[r], :] = np.einsum("ij,pi->pij", Z4[c, :, r, :], e[:, :, ri])
        YN[pc, :, pos[r], :] = np.einsum("ik,pi->pik", Y4[c, :, r, :], e[:, :, ri])
        ZN[pos[r], :, pc, :] = np.einsum("ij,qj->iqj", Z4[r, :, c, :], m_z[ri])
        YN[pos[r], :, pc, :] = np.einsum("ik,qk->iqk", Y4[r, :, c, :], m_y[ri])
    regions = g.regions[:c] + provinces + g.regions[c + 1 :]
    rows = pd.MultiIndex.from_product([regions, g.sectors], names=["region", "sector"])
    cols = pd.MultiIndex.from_product([regions, cats], names=["region", "category"])
    n = RN * S
    return Truth(ZN.reshape(n, n), YN.reshape(n, RN * K), rows, cols, provinces, sig)


def write_subnational(
    folder: Path,
    truth: Truth,
    country_index: int,
    foreign: list[str],
    *,
    rename: dict[str, str] | None = None,
    totals: bool = False,
) -> Path:
    """Write the provincial table that ``truth`` implies (sectors renamed by ``rename``; with
    ``totals`` exports as one column ``total`` and imports as one line ``total``)."""
    rows, cols = truth.rows, truth.cols
    S = len(pd.unique(rows.get_level_values("sector")))
    K = len(pd.unique(cols.get_level_values("category")))
    P, c = len(truth.provinces), country_index
    pr = slice(c * S, (c + P) * S)
    pcz = slice(c * K, (c + P) * K)
    n = truth.Z.shape[0]
    RN = n // S
    folder.mkdir(parents=True, exist_ok=True)
    rename = rename or {}
    prow = rows[pr].to_frame(index=False)
    prow["sector"] = prow["sector"].map(lambda s: rename.get(s, s))
    prow.to_csv(folder / "rows.csv", index=False)
    cols[pcz].to_frame(index=False).to_csv(folder / "cols.csv", index=False)
    Zp, Yp = truth.Z[pr, pr], truth.Y[pr, pcz]
    pd.DataFrame(Zp, columns=[f"c{i}" for i in range(Zp.shape[1])]).to_csv(
        folder / "Z.csv", index=False
    )
    pd.DataFrame(Yp, columns=[f"c{i}" for i in range(Yp.shape[1])]).to_parquet(folder / "Y.parquet")
    fregs = [r for r in range(RN) if not (c <= r < c + P)]
    exp = {}
    imp_rows = []
    for r in fregs:
        zr, yr = slice(r * S, (r + 1) * S), slice(r * K, (r + 1) * K)
        name = rows[r * S][0]
        exp[name] = truth.Z[pr, zr].sum(axis=1) + truth.Y[pr, yr].sum(axis=1)
        imp_rows.append([name, *truth.Z[zr, pr].sum(axis=0), *truth.Y[zr, pcz].sum(axis=0)])
    exp_df = pd.DataFrame(exp)
    imp_df = pd.DataFrame(
        imp_rows, columns=["origin", *[f"v{i}" for i in range(len(imp_rows[0]) - 1)]]
    )
    if totals:
        exp_df = pd.DataFrame({"total": exp_df.sum(axis=1)})
        imp_df = pd.DataFrame([["total", *imp_df.iloc[:, 1:].sum(axis=0)]], columns=imp_df.columns)
    # Reverse the destinations and origins: order is read from the header, not assumed.
    exp_df = exp_df[exp_df.columns[::-1]]
    imp_df.iloc[::-1].to_csv(folder / "imports.csv", index=False)
    exp_df.to_csv(folder / "exports.csv", index=False, float_format="%.17g")
    return folder


def write_concordance(path: Path, rename: dict[str, str]) -> Path:
    """A 1:1 concordance provincial sector -> global sector."""
    pd.DataFrame(
        {"inventory_sector": list(rename.values()), "mrio_sector": list(rename), "weight": 1.0}
    ).to_csv(path, index=False)
    return path

"""Benchmark B8: nesting a provincial MRIO into a global MRIO (`footgrid.nest`, issue 17).

Case (full size): 31 provinces x 42 sectors nested into an EXIOBASE-sized global table of
49 regions x 200 products with 7 final-demand categories (nested table: 79 regions x 200
sectors, Z of 15 800 x 15 800). Synthetic, deterministic: the global table is random and dense;
the provincial table is random and not consistent with it (so GRAS has work to do); each
provincial sector maps to 4-5 global products with equal weights. The global table is passed
in memory (an ``MRIOTables``); the provincial folder (Parquet Z and Y, CSV exports/imports)
and the concordance are read inside every timed call.

Methods, timed round-robin on the same inputs: footgrid proportional, footgrid GRAS
(tolerance 1e-10), and a peer: a naive dense numpy implementation of the proportional method
(expand the global table to the nested rows and columns by fancy indexing, build the full
nested share matrix, multiply), whose result must agree with footgrid's to 1e-12.

Usage::

    python benchmarks/bench_nest.py            # full size, 5 runs
    python benchmarks/bench_nest.py --quick    # small sizes, for the smoke test

Prints a table and writes ``benchmarks/results/nest.json`` (``nest_quick.json``). Targets:
proportional <= 10 s, GRAS <= 60 s, peak RSS <= 6 GiB (the process's RSS at its peak, the
global table included).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    machine,
    machine_line,
    print_table,
    time_methods,
    write_json,
)
from footgrid.mrio.concordance import load_concordance  # noqa: E402
from footgrid.mrio.nest import nest  # noqa: E402
from footgrid.mrio.subnational import read_subnational  # noqa: E402
from footgrid.mrio.tables import MRIOTables  # noqa: E402

FULL = {"regions": 49, "sectors": 200, "categories": 7, "provinces": 31, "psectors": 42}
QUICK = {"regions": 6, "sectors": 20, "categories": 3, "provinces": 4, "psectors": 8}
GIB = 2**30


def make_inputs(folder: Path, size: dict[str, int], seed: int = 0) -> MRIOTables:
    """Write the provincial folder and concordance into ``folder``; return the global table."""
    rng = np.random.default_rng(seed)
    R, S, K = size["regions"], size["sectors"], size["categories"]
    P, Sp = size["provinces"], size["psectors"]
    regions = ["CN", *[f"R{i:02d}" for i in range(1, R)]]
    sectors = [f"p{i:03d}" for i in range(S)]
    cats = [f"fd{k}" for k in range(K)]
    Z = rng.random((R * S, R * S))
    Y = rng.random((R * S, R * K)) * (S / K)
    g = MRIOTables(
        Z=Z,
        Y=Y,
        rows=pd.MultiIndex.from_product([regions, sectors]),
        cols=pd.MultiIndex.from_product([regions, cats]),
        source="synthetic",
    )
    del Z, Y
    folder.mkdir(parents=True, exist_ok=True)
    psec = [f"s{i:02d}" for i in range(Sp)]
    provinces = [f"CN-{i:02d}" for i in range(P)]
    owner = (np.arange(S) * Sp) // S  # global product -> provincial sector
    counts = np.bincount(owner, minlength=Sp)
    pd.DataFrame(
        {
            "inventory_sector": [psec[o] for o in owner],
            "mrio_sector": sectors,
            "weight": 1.0 / counts[owner],
        }
    ).to_csv(folder / "concordance.csv", index=False)
    rows = pd.MultiIndex.from_product([provinces, psec], names=["region", "sector"])
    cols = pd.MultiIndex.from_product([provinces, cats], names=["region", "category"])
    rows.to_frame(index=False).to_csv(folder / "rows.csv", index=False)
    cols.to_frame(index=False).to_csv(folder / "cols.csv", index=False)
    n, m = len(rows), len(cols)
    for name, arr in (("Z", rng.random((n, n))), ("Y", rng.random((n, m)) * 3)):
        pd.DataFrame(arr, columns=[str(i) for i in range(arr.shape[1])]).to_parquet(
            folder / f"{name}.parquet"
        )
    pd.DataFrame(rng.random((n, R - 1)) * 5, columns=regions[1:]).to_csv(
        folder / "exports.csv", index=False
    )
    imp = pd.DataFrame(rng.random((R - 1, n + m)), columns=[f"v{i}" for i in range(n + m)])
    imp.insert(0, "origin", regions[1:])
    imp.to_csv(folder / "imports.csv", index=False)
    return g


def naive_proportional(g: MRIOTables, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The proportional method written naively on full dense matrices (the peer)."""
    sub = read_subnational(folder)
    sectors = g.sectors
    conc = load_concordance(folder / "concordance.csv", sectors)
    S, regions = len(sectors), g.regions
    cats = list(pd.unique(g.cols.get_level_values("category")))
    K, R = len(cats), len(regions)
    provinces = sub.provinces
    P = len(provinces)
    psec = list(pd.unique(sub.rows.get_level_values("sector")))
    W = np.zeros((len(psec), S))
    for a, b, w in conc.itertuples(index=False):
        W[psec.index(a), sectors.index(b)] = w
    rmap = np.kron(np.eye(P), W)  # provincial rows -> (province, sector)
    cmap = np.kron(np.eye(P), np.eye(K))
    D = rmap.T @ sub.Z @ rmap
    Dy = rmap.T @ sub.Y @ cmap
    E = rmap.T @ sub.exports  # (P*S, R-1)
    Mi = sub.imports[:, : len(sub.rows)] @ rmap  # (R-1, P*S)
    Mf = sub.imports[:, len(sub.rows) :] @ cmap
    # Nested labels: C (index 0) replaced by the provinces.
    nreg = provinces + regions[1:]
    RN = len(nreg)
    greg = np.array([0] * P + list(range(1, R)))
    prov = np.array(list(range(P)) + [-1] * (R - 1))
    rg = (greg[:, None] * S + np.arange(S)).ravel()  # nested row -> global row
    cg = (greg[:, None] * K + np.arange(K)).ravel()
    rp, rs = np.repeat(prov, S), np.tile(np.arange(S), RN)
    cp, ck = np.repeat(prov, K), np.tile(np.arange(K), RN)
    rr = np.repeat(greg, S)  # global region of each nested row
    crz, cry = np.repeat(greg, S), np.repeat(greg, K)
    # Share matrices: 1 on foreign -> foreign.
    Wz = np.ones((RN * S, RN * S))
    Wy = np.ones((RN * S, RN * K))
    pr = rp >= 0
    dz = D.reshape(P, S, P, S).sum(axis=(0, 2))
    Wz[np.ix_(pr, pr)] = D / np.repeat(np.repeat(np.tile(dz, (P, P)), 1, 0), 1, 1)
    dy = Dy.reshape(P, S, P, K).sum(axis=(0, 2))
    Wy[np.ix_(pr, cp >= 0)] = Dy / np.tile(dy, (P, P))
    e = E / np.tile(E.reshape(P, S, R - 1).sum(axis=0), (P, 1))  # (P*S, R-1)
    Wz[np.ix_(pr, ~pr)] = e[:, crz[~pr] - 1]
    Wy[np.ix_(pr, cp < 0)] = e[:, cry[cp < 0] - 1]
    mi = Mi / np.tile(Mi.reshape(R - 1, P, S).sum(axis=1), (1, P))
    mf = Mf / np.tile(Mf.reshape(R - 1, P, K).sum(axis=1), (1, P))
    Wz[np.ix_(~pr, pr)] = mi[rr[~pr] - 1]
    Wy[np.ix_(~pr, cp >= 0)] = mf[rr[~pr] - 1]
    del rs, ck
    ZN = g.Z[np.ix_(rg, rg)] * Wz
    del Wz
    YN = g.Y[np.ix_(rg, cg)] * Wy
    return ZN, YN


def run_case(size: dict[str, int], folder: Path, repeat: int) -> dict[str, Any]:
    g = make_inputs(folder, size)
    conc = folder / "concordance.csv"
    base = psutil.Process().memory_info().rss

    # Each call returns only a small summary, so that no 2 GB result outlives its call.
    def prop() -> Any:
        return nest(g, folder, country="CN", concordance=conc)[0].Z.shape

    def gras() -> Any:
        return nest(g, folder, country="CN", concordance=conc, method="gras", tol=1e-10)[1].gras

    def naive() -> Any:
        return naive_proportional(g, folder)[0].shape

    timings, results = time_methods(
        {"footgrid proportional": prop, "footgrid GRAS": gras, "naive numpy proportional": naive},
        repeat,
    )
    gres = results["footgrid GRAS"]
    # Agreement, once, outside the timed calls.
    ZN, YN = naive_proportional(g, folder)
    t_prop, _ = nest(g, folder, country="CN", concordance=conc)
    scale = max(np.abs(t_prop.Z).max(), 1e-300)
    diff = max(np.abs(t_prop.Z - ZN).max(), np.abs(t_prop.Y - YN).max()) / scale
    nested_n = int(t_prop.Z.shape[0])
    del ZN, YN, t_prop
    methods = {}
    for name, t in timings.items():
        d = t.as_dict()
        d["peak_rss_gib"] = (base + t.peak_rss) / GIB
        methods[name] = d
    return {
        "size": size,
        "nested_n": nested_n,
        "base_rss_gib": base / GIB,
        "methods": methods,
        "max_rel_diff_vs_naive": float(diff),
        "gras": {
            "iterations": gres.iterations,
            "converged": gres.converged,
            "row_error": gres.row_error,
            "col_error": gres.col_error,
        },
        "targets": {
            "proportional_le_10s": timings["footgrid proportional"].median <= 10,
            "gras_le_60s": timings["footgrid GRAS"].median <= 60,
            "rss_le_6gib": max(
                methods[k]["peak_rss_gib"] for k in ("footgrid proportional", "footgrid GRAS")
            )
            <= 6,
            "agree_1e-12": diff <= 1e-12,
        },
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; returns the results (also written as JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--repeat", type=int, help="timed runs per method (default 5; --quick 2)")
    ap.add_argument("--workdir", type=Path, help="inputs folder (default benchmarks/results/w)")
    ap.add_argument("--out-dir", type=Path, help="folder for the JSON (default benchmarks/results)")
    args = ap.parse_args(list(argv) if argv is not None else None)
    size = QUICK if args.quick else FULL
    repeat = args.repeat or (2 if args.quick else 5)
    work = args.workdir or ROOT / "benchmarks" / "results" / "nest_inputs"
    case = run_case(size, work / ("quick" if args.quick else "full"), repeat)
    m = machine()
    rows = []
    naive_t = case["methods"]["naive numpy proportional"]["median_s"]
    for name, d in case["methods"].items():
        rows.append(
            [name, f"{d['median_s']:.3g} ({d['min_s']:.3g}–{d['max_s']:.3g})",
             f"{naive_t / d['median_s']:.2f}x", f"{d['peak_rss_gib']:.2f}"]
        )  # fmt: skip
    s = size
    title = (
        f"B8 nest: {s['provinces']} provinces x {s['psectors']} sectors into {s['regions']} "
        f"regions x {s['sectors']} products, {s['categories']} categories (nested n = "
        f"{case['nested_n']}); {repeat} runs; GRAS {case['gras']['iterations']} iterations, "
        f"converged {case['gras']['converged']}; max rel diff vs naive "
        f"{case['max_rel_diff_vs_naive']:.1e}\n{machine_line(m)}"
    )
    text = print_table(title, rows, ["method", "median s (min–max)", "naive / method",
                                     "peak RSS GiB"])  # fmt: skip
    result = {"benchmark": "nest", "machine": m, "quick": args.quick, "cases": [case],
              "table": text}  # fmt: skip
    path = write_json("nest" + ("_quick" if args.quick else ""), result, out_dir=args.out_dir)
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()

"""B6 uncertainty ensembles: N emission members in one run vs N deterministic runs.

The B3 inputs (:mod:`benchmarks.bench_end_to_end`: clustered firms, 50 regions × 10 sectors,
50 consumers with categories summed) with ``[uncertainty] members = N, emission_rsd = 0.2``:
one ensemble run (every block computes the N members and their mean, std and three exact
quantiles) against the naive way, N independent deterministic runs, measured on
``--naive-runs`` runs and extrapolated (N × their median). Every run is a fresh subprocess
(``run_measured``: wall time with interpreter start; peak RSS of the process tree).

MRIO uncertainty cost per member: one member's perturbed Z and Y (the lognormal draws) plus
one LU re-solve (:func:`footgrid.mrio.leontief.attribution_coefficients`), in process, for
the demo MRIO (``footgrid demo``'s tables) and a random EXIOBASE-sized one (9 800 × 343).

Usage::

    python benchmarks/bench_ensemble.py                 # 1 M firms, 10 km, 100 members
    python benchmarks/bench_ensemble.py --points 10000000 --resolution 1000   # the B3 case
    python benchmarks/bench_ensemble.py --quick         # 20 k firms, 50 km, 20 members
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_end_to_end import write_config, write_firms, write_mrio  # noqa: E402
from benchmarks.common import (  # noqa: E402
    MIB,
    fmt_s,
    machine,
    machine_line,
    print_table,
    python,
    run_measured,
    self_maxrss,
    write_json,
)

NAME = "ensemble"
RSD = 0.2


def child(config: Path) -> dict[str, Any]:
    """Run ``footgrid.run(config)`` in this (fresh) process; returns timing and store facts."""
    from footgrid.execution.pipeline import run

    t0 = time.perf_counter()
    ds = run(config)
    reply = {
        "run_s": time.perf_counter() - t0,
        "members": int(ds.attrs.get("ensemble_members", 0)),
        "gridded_total": float(ds.attrs["gridded_total"]),
        "shape": [int(ds.sizes["y"]), int(ds.sizes["x"])],
        "consumers": int(ds.sizes["consumer"]),
        "self_maxrss": self_maxrss(),
    }
    if reply["members"]:
        share = ds["member_foreign_share"].values
        reply["foreign_share_mean"] = float(share.mean())
    gc.freeze()
    return reply


def _measure(config: Path) -> Any:
    cmd = [python(), str(Path(__file__).resolve()), "--child", str(config)]
    return run_measured(cmd, cwd=config.parent, timeout=3600)


def mrio_cost(n_regions: int, repeat: int, demo: bool) -> dict[str, Any]:
    """Seconds per MRIO member (draws + one LU re-solve) on one MRIO."""
    from footgrid.kernels.ensemble import lognormal_sigma
    from footgrid.mrio.leontief import attribution_coefficients
    from footgrid.mrio.perturb import perturbed_tables

    if demo:
        from footgrid.demo.bundle import MIN_FIRMS, write_bundle
        from footgrid.mrio.tables import load_mrio

        with tempfile.TemporaryDirectory() as tmp:
            write_bundle(tmp, n_firms=MIN_FIRMS)
            t = load_mrio(Path(tmp) / "mrio", "tables")
        Z, Y, label = t.Z, t.Y, "demo MRIO"
    else:
        rng = np.random.default_rng(0)
        n, m = n_regions * 200, n_regions * 7
        Z = rng.uniform(0.0, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < 0.1)
        Y = rng.uniform(0.0, 2.0, (n, m)) * n / m * 4
        label = f"random {n} × {m}"
    s = lognormal_sigma(np.array([RSD]))
    perturbed_tables(Z[:2, :2], Y[:2, :2], s, s, 0, 0)  # compile
    draws, solves = [], []
    for m_ in range(repeat):
        t0 = time.perf_counter()
        Zm, Ym = perturbed_tables(Z, Y, s, s, 0, m_)
        t1 = time.perf_counter()
        attribution_coefficients(Zm, Ym, check=False)
        t2 = time.perf_counter()
        draws.append(t1 - t0)
        solves.append(t2 - t1)
        del Zm, Ym
    return {
        "mrio": label,
        "n": int(Z.shape[0]),
        "m": int(Y.shape[1]),
        "draws_s": float(np.median(draws)),
        "solve_s": float(np.median(solves)),
        "per_member_s": float(np.median(np.add(draws, solves))),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run B6; returns (and writes) the results."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="20 k firms, 50 km, 20 members")
    p.add_argument("--points", type=int, default=None)
    p.add_argument("--resolution", type=float, default=None)
    p.add_argument("--members", type=int, default=None)
    p.add_argument("--naive-runs", type=int, default=3, help="deterministic runs measured")
    p.add_argument("--repeat", type=int, default=1, help="ensemble runs measured")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--exio-regions", type=int, default=None, help="49 for 9 800 × 343")
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--out-dir", type=Path, default=None)
    p.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child is not None:
        print(json.dumps(child(a.child)))
        return {}
    n = a.points or (20_000 if a.quick else 1_000_000)
    res = a.resolution or (50_000.0 if a.quick else 10_000.0)
    members = a.members or (20 if a.quick else 100)
    exio = a.exio_regions if a.exio_regions is not None else (3 if a.quick else 49)
    workdir = a.workdir or Path(tempfile.mkdtemp(prefix="footgrid-b6-"))
    workdir.mkdir(parents=True, exist_ok=True)
    write_mrio(workdir / "mrio")
    firms = workdir / f"firms{n}.parquet"
    write_firms(firms, n)
    det_cfg = write_config(workdir, firms, res, a.workers, "det.zarr", tag="det")
    ens_cfg = write_config(workdir, firms, res, a.workers, "ens.zarr", tag="ens")
    ens_cfg.write_text(
        ens_cfg.read_text()
        + f"\n[uncertainty]\nmembers = {members}\nseed = 1\nemission_rsd = {RSD}\n"
    )
    m0 = machine()
    _measure(det_cfg), _measure(ens_cfg)  # warm-up: Numba's cache and the coefficient cache
    det = [_measure(det_cfg) for _ in range(a.naive_runs)]
    ens = [_measure(ens_cfg) for _ in range(a.repeat)]
    det_s = float(np.median([r.wall for r in det]))
    ens_s = float(np.median([r.wall for r in ens]))
    agree = abs(ens[-1].reply["gridded_total"] / det[-1].reply["gridded_total"] - 1) < 1e-12
    mrio = [mrio_cost(0, max(1, a.repeat), demo=True)]
    if exio:
        mrio.append(mrio_cost(exio, 1, demo=False))
    out = {
        "points": n,
        "resolution_m": res,
        "members": members,
        "shape": det[-1].reply["shape"],
        "consumers": det[-1].reply["consumers"],
        "deterministic": {
            "median_s": det_s,
            "times_s": [r.wall for r in det],
            "peak_rss_mib": max(r.peak_rss for r in det) / MIB,
        },
        "ensemble": {
            "median_s": ens_s,
            "times_s": [r.wall for r in ens],
            "peak_rss_mib": max(r.peak_rss for r in ens) / MIB,
        },
        "naive_extrapolated_s": members * det_s,
        "ensemble_vs_one_run": ens_s / det_s,
        "speedup_vs_naive": members * det_s / ens_s,
        "gridded_totals_agree": agree,
        "mrio_per_member": mrio,
        "targets": {
            "within_10x_one_run": ens_s / det_s <= 10,
            "under_4_gib": max(r.peak_rss for r in ens) / MIB <= 4096,
        },
        "machine": m0,
    }
    report(out)
    write_json(NAME + ("_quick" if a.quick else ""), out, out_dir=a.out_dir)
    return out


def report(r: dict[str, Any]) -> str:
    """Print the results tables; returns them."""
    d, e = r["deterministic"], r["ensemble"]
    rows = [
        ["one deterministic run", fmt_s(d["median_s"]), "1.0", f"{d['peak_rss_mib'] / 1024:.2f}"],
        [
            f"{r['members']} members, one ensemble run",
            fmt_s(e["median_s"]),
            f"{r['ensemble_vs_one_run']:.1f}",
            f"{e['peak_rss_mib'] / 1024:.2f}",
        ],
        [
            f"{r['members']} deterministic runs (extrapolated)",
            fmt_s(r["naive_extrapolated_s"]),
            f"{r['members']:.1f}",
            f"{d['peak_rss_mib'] / 1024:.2f}",
        ],
    ]
    title = (
        f"B6: {r['points']:,} firms × {r['consumers']} consumers, "
        f"{r['resolution_m'] / 1000:g} km {tuple(r['shape'])} — {machine_line(r['machine'])}"
    )
    text = print_table(title, rows, ["method", "wall s", "× one run", "peak RSS GiB"])
    mrows = [
        [m["mrio"], f"{m['n']} × {m['m']}", fmt_s(m["draws_s"]), fmt_s(m["solve_s"]),
         fmt_s(m["per_member_s"])]
        for m in r["mrio_per_member"]
    ]  # fmt: skip
    text += print_table(
        "MRIO uncertainty, cost per member",
        mrows,
        ["MRIO", "n × m", "draws s", "LU re-solve s", "per member s"],
    )
    return text


if __name__ == "__main__":
    main()

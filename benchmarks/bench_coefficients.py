"""Benchmark: attribution coefficients M = diag(x)^-1 L Y, footgrid vs pymrio, same run.

footgrid: :func:`footgrid.mrio.leontief.attribution_coefficients` (validation, LU factorisation of
(I - A), one multi-right-hand-side solve). pymrio: its documented path on the same numpy arrays
(no pandas overhead): ``calc_x``, ``calc_A``, ``calc_L`` (explicit ``np.linalg.inv``), then
``L @ Y`` and ``diag(1/x)``.

Usage::

    python benchmarks/bench_coefficients.py            # n = 2000 and 5000, m = 343
    python benchmarks/bench_coefficients.py --quick    # small sizes, for the smoke test

Prints a table and writes ``benchmarks/results/coefficients.json``. Timings are wall-clock
medians of runs that alternate between the two methods (so background load hits both alike),
after one untimed warm-up call per method; that call also measures the peak memory allocated
during the call (tracemalloc, which sees numpy's buffers). The process's peak RSS is reported
as well. BLAS threads follow the environment (e.g. ``OPENBLAS_NUM_THREADS=1``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pymrio

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from footgrid.mrio.leontief import attribution_coefficients  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "coefficients.json"
QUICK_OUT = ROOT / "benchmarks" / "results" / "coefficients_quick.json"


def random_mrio(n: int, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Dense random balanced MRIO: final demand is about half of total output."""
    rng = np.random.default_rng(seed)
    Z = rng.random((n, n))
    Y = rng.random((n, m)) * (n / m)
    return Z, Y


def pymrio_path(Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """pymrio's way: x, A, explicit Leontief inverse L, then L·Y scaled by 1/x."""
    x = np.asarray(pymrio.calc_x(Z, Y), dtype=np.float64).ravel()
    A = pymrio.calc_A(Z, x)
    L = pymrio.calc_L(A)
    inv_x = np.divide(1.0, x, out=np.zeros_like(x), where=x != 0)
    return (L @ Y) * inv_x[:, np.newaxis]


def footgrid_path(Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
    return attribution_coefficients(Z, Y)


def peak_alloc(
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray], Z: np.ndarray, Y: np.ndarray
) -> int:
    """Peak bytes allocated during one (untimed) call, by tracemalloc (numpy reports its
    buffers to it; allocator caching does not hide them as it hides RSS growth)."""
    tracemalloc.start()
    try:
        result = fn(Z, Y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak


def time_once(
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray], Z: np.ndarray, Y: np.ndarray
) -> tuple[float, np.ndarray]:
    """One timed call: (seconds, result)."""
    t0 = time.perf_counter()
    result = fn(Z, Y)
    return time.perf_counter() - t0, result


def time_pair(
    Z: np.ndarray, Y: np.ndarray, repeat: int
) -> dict[str, tuple[list[float], int, np.ndarray]]:
    """Time footgrid and pymrio alternately (so background load hits both alike), after one
    untimed warm-up call each that also measures the peak allocation."""
    methods = {"footgrid": footgrid_path, "pymrio": pymrio_path}
    peaks = {name: peak_alloc(fn, Z, Y) for name, fn in methods.items()}
    times: dict[str, list[float]] = {name: [] for name in methods}
    results: dict[str, np.ndarray] = {}
    for _ in range(repeat):
        for name, fn in methods.items():
            results.pop(name, None)
            seconds, results[name] = time_once(fn, Z, Y)
            times[name].append(seconds)
    return {name: (times[name], peaks[name], results[name]) for name in methods}


def environment() -> dict[str, object]:
    import scipy

    blas = {}
    try:
        cfg = np.show_config(mode="dicts")
        blas = {k: cfg["Build Dependencies"][k].get("name") for k in ("blas", "lapack")}
    except Exception:  # pragma: no cover - informational only
        pass
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pymrio": pymrio.__version__,
        "blas": blas,
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "machine": platform.machine(),
        "threads_env": {
            k: os.environ[k]
            for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
            if k in os.environ
        },
    }


def run_case(n: int, m: int, repeat: int) -> dict[str, object]:
    Z, Y = random_mrio(n, m)
    timed = time_pair(Z, Y, repeat)
    ours_t, ours_mem, M = timed["footgrid"]
    ref_t, ref_mem, R = timed["pymrio"]
    diff = np.abs(M - R)
    big = np.abs(R) > 1e-12 * np.abs(R).max()
    rowsum = float(np.abs(M.sum(axis=1) - 1.0).max())
    return {
        "n": n,
        "m": m,
        "repeat": repeat,
        "footgrid": {
            "median_s": statistics.median(ours_t),
            "min_s": min(ours_t),
            "max_s": max(ours_t),
            "times_s": ours_t,
            "peak_alloc_mib": ours_mem / 2**20,
        },
        "pymrio": {
            "median_s": statistics.median(ref_t),
            "min_s": min(ref_t),
            "max_s": max(ref_t),
            "times_s": ref_t,
            "peak_alloc_mib": ref_mem / 2**20,
        },
        "speedup": statistics.median(ref_t) / statistics.median(ours_t),
        "max_abs_diff": float(diff.max()),
        "max_rel_diff": float((diff[big] / np.abs(R[big])).max()),
        "max_rowsum_error": rowsum,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    """Run the benchmark; returns the results dict (also written as JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--sizes", type=int, nargs="+", help="n values (default 2000 5000)")
    ap.add_argument("--m", type=int, default=343, help="final-demand columns (default 343)")
    ap.add_argument("--repeat", type=int, help="timed runs per method (default 5; --quick 3)")
    ap.add_argument("--out", type=Path, help=f"JSON output path (default {DEFAULT_OUT.name})")
    args = ap.parse_args(list(argv) if argv is not None else None)

    sizes = args.sizes or ([100, 300] if args.quick else [2000, 5000])
    m = min(args.m, 49) if args.quick else args.m
    cases = []
    for n in sizes:
        repeat = args.repeat or (3 if args.quick else 5)
        cases.append(run_case(n, m, repeat))
    result = {
        "benchmark": "attribution_coefficients",
        "env": environment(),
        "cases": cases,
        "process_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }

    print(
        f"{'n':>6} {'m':>4} {'runs':>4} | {'footgrid s (min-max)':>24} {'MiB':>7} | "
        f"{'pymrio s (min-max)':>24} {'MiB':>7} | {'speedup':>7} {'max rel diff':>12}"
    )
    for c in cases:
        cols = []
        for method in ("footgrid", "pymrio"):
            t = c[method]
            span = f"{t['median_s']:>8.3f} ({t['min_s']:.3f}-{t['max_s']:.3f})"
            cols.append(f"{span:>24} {t['peak_alloc_mib']:>7.0f}")
        print(
            f"{c['n']:>6} {c['m']:>4} {c['repeat']:>4} | {cols[0]} | {cols[1]} | "
            f"{c['speedup']:>6.2f}x {c['max_rel_diff']:>12.2e}"
        )
    out = args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()

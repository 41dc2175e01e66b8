"""B4 scaling: time against points and against consumers at 10 km; fitted log-log exponents.

Three series, each a median of ``repeat`` runs after one untimed warm-up:

- ``footgrid.run`` end to end (in this process) on 1e5 … 1e7 firms, 50 consumers;
- ``footgrid.run`` on 1e6 firms with 5 … 200 consumers (an MRIO of 200 regions whose final
  demand is grouped into k consumers with a ``[consumers] groups`` file, categories summed, so
  that only the attribution work changes);
- the gridding core :func:`footgrid.gridding.grid_array` on 1e5 … 1e8 points (1e8 only when
  the machine has memory for it: about 6 GiB).

The exponent b of ``time ≈ a · size^b`` comes from ``numpy.polyfit`` on log10 values, over the
whole series and over its upper half (where fixed costs such as reading the MRIO matter less).
Linear growth is b ≈ 1.

Usage::

    python benchmarks/bench_scaling.py            # full series
    python benchmarks/bench_scaling.py --quick    # tiny series (smoke test)
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_end_to_end as e2e  # noqa: E402
from benchmarks.common import (  # noqa: E402
    Timing,
    fmt_s,
    machine,
    machine_line,
    print_table,
    write_json,
)

NAME = "scaling"


def exponent(sizes: Sequence[float], times: Sequence[float]) -> float:
    """Slope of log10(time) against log10(size) (least squares)."""
    if len(sizes) < 2:
        return float("nan")
    return float(np.polyfit(np.log10(sizes), np.log10(times), 1)[0])


def _time(fn: Callable[[], Any], repeat: int) -> Timing:
    fn()  # warm-up: JIT cache, coefficient cache, page faults
    t = Timing()
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t.times.append(time.perf_counter() - t0)
    return t


def _series(name: str, unit: str, sizes: Sequence[int], timings: Sequence[Timing]) -> dict:
    med = [t.median for t in timings]
    half = len(sizes) // 2
    return {
        "series": name,
        "unit": unit,
        "sizes": list(sizes),
        "timings": [t.as_dict() for t in timings],
        "exponent": exponent(sizes, med),
        "exponent_upper": exponent(sizes[half:], med[half:]) if len(sizes) >= 3 else None,
    }


def _quiet_run(config: Path) -> None:
    from footgrid.execution.pipeline import run

    with contextlib.redirect_stderr(io.StringIO()):
        ds = run(config)
    ds.close()


def points_series(workdir: Path, sizes: Sequence[int], resolution: float, repeat: int) -> dict:
    """``footgrid.run`` against the number of firms (50 consumers)."""
    e2e.write_mrio(workdir / "mrio")
    timings = []
    for n in sizes:
        firms = workdir / f"firms{n}.parquet"
        e2e.write_firms(firms, n)
        cfg = e2e.write_config(workdir, firms, resolution, 2, f"scal_{n}.zarr", tag="scal")
        timings.append(_time(lambda cfg=cfg: _quiet_run(cfg), repeat))
        print(f"  run, {n:,} firms: {timings[-1].span()} s", flush=True)
    return _series("footgrid.run vs firms (50 consumers)", "firms", sizes, timings)


def consumers_series(
    workdir: Path, counts: Sequence[int], n_points: int, resolution: float, repeat: int
) -> dict:
    """``footgrid.run`` against the number of consumers (same MRIO, grouped final demand)."""
    import pandas as pd

    n_regions = max(counts)
    mrio = workdir / f"mrio{n_regions}"
    e2e.write_mrio(mrio, n_regions)
    firms = workdir / f"firms{n_points}.parquet"
    e2e.write_firms(firms, n_points)
    labels = e2e.regions(n_regions)
    timings = []
    for k in counts:
        groups = workdir / f"groups{k}.csv"
        pd.DataFrame(
            {"region": labels, "consumer": [f"C{i % k:03d}" for i in range(n_regions)]}
        ).to_csv(groups, index=False)
        cfg = e2e.write_config(
            workdir, firms, resolution, 2, f"cons_{k}.zarr", tag=f"cons{k}",
            mrio=mrio.name, groups=groups.name,
        )  # fmt: skip
        timings.append(_time(lambda cfg=cfg: _quiet_run(cfg), repeat))
        print(f"  run, {k} consumers: {timings[-1].span()} s", flush=True)
    return _series(f"footgrid.run vs consumers ({n_points:,} firms)", "consumers", counts, timings)


def gridding_series(sizes: Sequence[int], resolution: float, repeat: int) -> dict:
    """:func:`grid_array` against the number of points (sizes that fit in memory)."""
    from benchmarks.data import china_grid, clustered_xy
    from footgrid.gridding import grid_array

    g = china_grid(resolution)
    kept, timings, skipped = [], [], []
    for n in sizes:
        # x, y, w, generator temporaries and the kernels' scratch: about 60 bytes per point.
        if n * 60 > 0.6 * psutil.virtual_memory().available:
            skipped.append(n)
            continue
        x, y, w = clustered_xy(n, seed=0)
        timings.append(_time(lambda x=x, y=y, w=w: grid_array(x, y, w, g), repeat))
        kept.append(n)
        print(f"  grid_array, {n:,} points: {timings[-1].span()} s", flush=True)
        del x, y, w
    out = _series("grid_array vs points", "points", kept, timings)
    out["skipped_for_memory"] = skipped
    return out


def report(result: dict[str, Any]) -> str:
    """Print the results table; returns it."""
    rows = []
    for s in result["series"]:
        for size, t in zip(s["sizes"], s["timings"], strict=True):
            rows.append(
                [
                    s["series"],
                    f"{size:,}",
                    f"{fmt_s(t['median_s'])} ({fmt_s(t['min_s'])}–{fmt_s(t['max_s'])})",
                ]
            )
        upper = s["exponent_upper"]
        rows.append(
            [
                s["series"],
                "fitted exponent",
                f"{s['exponent']:.2f} (upper half: {upper:.2f})"
                if upper is not None
                else f"{s['exponent']:.2f}",
            ]
        )
    return print_table(
        f"B4 scaling at {result['resolution_m'] / 1000:g} km — {machine_line(result['machine'])}",
        rows,
        ["series", "size", "median s (min–max)"],
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run B4; returns the results (also written to ``benchmarks/results/scaling.json``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny series (smoke test)")
    ap.add_argument("--repeat", type=int, help="timed runs per size (default 5; --quick 1)")
    ap.add_argument("--workdir", type=Path, help="inputs and stores (default: a temp folder)")
    ap.add_argument("--out-dir", type=Path, help="folder for the JSON (default benchmarks/results)")
    ap.add_argument("--skip-run", action="store_true", help="only the gridding-core series")
    args = ap.parse_args(list(argv) if argv is not None else None)
    repeat = args.repeat or (1 if args.quick else 5)
    resolution = 50_000.0 if args.quick else 10_000.0
    if args.quick:
        points, consumers, n_cons_pts = [2_000, 8_000], [5, 20], 4_000
        grid_points = [20_000, 80_000]
    else:
        points, consumers, n_cons_pts = [100_000, 300_000, 1_000_000, 3_000_000, 10_000_000], [
            5, 20, 50, 100, 200
        ], 1_000_000  # fmt: skip
        grid_points = [100_000, 1_000_000, 10_000_000, 100_000_000]
    result: dict[str, Any] = {
        "benchmark": NAME,
        "quick": args.quick,
        "machine": machine(),
        "resolution_m": resolution,
        "repeat": repeat,
    }
    series = []
    with contextlib.ExitStack() as stack:
        if args.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fg-scal-")))
        else:
            workdir = args.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        series.append(gridding_series(grid_points, resolution, repeat))
        if not args.skip_run:
            series.append(points_series(workdir, points, resolution, repeat))
            series.append(consumers_series(workdir, consumers, n_cons_pts, resolution, repeat))
    result["series"] = series
    result["machine_after"] = machine()["load_avg_1_5_15"]
    result["table"] = report(result)
    path = write_json(NAME + ("_quick" if args.quick else ""), result, out_dir=args.out_dir)
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()

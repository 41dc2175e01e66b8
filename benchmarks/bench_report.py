"""Benchmark B9: `write_report` on the demo store, against an earlier revision's report.

Case: the demo bundle (200 000 firms, 10 km grid, 11 consumers; ``--quick``: 10 000 firms),
run once into a cached work folder. Each timed call is a fresh subprocess that writes the whole
report of that store (the demo's arguments: provinces, national totals, and for this revision
the run's config for the sector maps), so imports and the boundary cache read are included.
The peer is the same call with the package of an earlier git revision (``--baseline``, default
``f9fdbd2``: the report before issue 18's last round), extracted with ``git archive`` and put
first on ``PYTHONPATH``. Round-robin, one warm-up each (it also fills the boundary cache),
medians with min-max; CPU seconds (user + system of the child) beside the wall time, since the
development machine is shared.

Usage::

    python benchmarks/bench_report.py            # 200 000 firms, 5 runs
    python benchmarks/bench_report.py --quick    # 10 000 firms, 2 runs

Prints a table and writes ``benchmarks/results/report.json`` (``report_quick.json``).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, machine_line, run_measured, write_json  # noqa: E402

CHILD = """
import json, os, resource, sys, time
t0 = time.perf_counter()
from footgrid.analysis.report import write_report
b, out, with_config = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
kw = {"config": b + "/config.toml"} if with_config else {}
t1 = time.perf_counter()
write_report(b + "/footprint.zarr", out, polygons=b + "/provinces.gpkg", field="province",
             national=b + "/national_totals.csv", **kw)
t2 = time.perf_counter()
r = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"import_s": t1 - t0, "report_s": t2 - t1, "cpu_s": r.ru_utime + r.ru_stime}))
"""


def _baseline(rev: str, work: Path) -> Path:
    """The ``engine`` package of ``rev`` as ``<work>/baseline-<rev>/footgrid``."""
    target = work / f"baseline-{rev}"
    if not (target / "footgrid").exists():
        data = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev, "engine"], capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(target, filter="data")
        (target / "engine").rename(target / "footgrid")
    return target


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit status."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--repeat", type=int, default=None)
    p.add_argument("--baseline", default="f9fdbd2")
    p.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "results" / "work")
    args = p.parse_args(argv)
    n = 10_000 if args.quick else 200_000
    repeat = args.repeat or (2 if args.quick else 5)
    bundle = args.workdir / f"demo-{n}"
    if not (bundle / "footprint.zarr" / "zarr.json").exists():
        from footgrid.demo import write_bundle
        from footgrid.execution.pipeline import run

        run(write_bundle(bundle, n_firms=n), progress=False)
    old = _baseline(args.baseline, args.workdir)
    methods = {
        "this revision": ([], "1"),
        "this, no sector maps": ([], "0"),
        f"baseline {args.baseline}": ([str(old)], "0"),
    }
    runs: dict[str, list] = {m: [] for m in methods}
    start = machine()
    for i in range(repeat + 1):
        for name, (path, cfg) in methods.items():
            env_path = os.pathsep.join([*path, os.environ.get("PYTHONPATH", "")]).strip(os.pathsep)
            os.environ["PYTHONPATH"] = env_path
            try:
                out = args.workdir / f"out-{i}-{cfg}"
                r = run_measured([sys.executable, "-c", CHILD, str(bundle), str(out), cfg])
            finally:
                os.environ["PYTHONPATH"] = os.pathsep.join(
                    x for x in env_path.split(os.pathsep) if x not in path
                )
            if i:  # the first round warms up
                runs[name].append(r)
    end = machine()
    rows = {}
    for name, rs in runs.items():
        rows[name] = {k: _stats([r.wall if k == "wall" else r.reply[k] for r in rs])
                      for k in ("wall", "report_s", "cpu_s")}  # fmt: skip
        rows[name]["peak_rss_mib"] = max(r.peak_rss for r in rs) / 2**20
    new, base = rows["this revision"], rows[f"baseline {args.baseline}"]
    ratio = new["report_s"]["median"] / base["report_s"]["median"]
    print(machine_line(start), f"(load at end {end['load_avg_1_5_15'][0]:.1f})")
    print(f"demo store: {n} firms; {repeat} runs after one warm-up; medians (min-max)")
    for name, row in rows.items():
        parts = [
            f"{k} {row[k]['median']:.2f} s ({row[k]['min']:.2f}-{row[k]['max']:.2f})"
            for k in ("report_s", "cpu_s", "wall")
        ]
        print(f"  {name:>22}: " + ", ".join(parts) + f", peak RSS {row['peak_rss_mib']:.0f} MiB")
    print(f"  report time ratio this / baseline: {ratio:.2f}")
    write_json(
        "report_quick" if args.quick else "report",
        {"machine_start": start, "machine_end": end, "firms": n, "rows": rows, "ratio": ratio},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

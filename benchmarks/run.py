"""Run every benchmark (B1–B4, B8), print their tables and a targets summary, write JSON.

Usage::

    python -m benchmarks                 # full sizes (tens of minutes on 2 cores)
    python -m benchmarks --quick         # small sizes, about a minute
    python -m benchmarks --only B1 B3    # a subset

Each benchmark writes ``benchmarks/results/<name>.json`` (``<name>_quick.json`` with
``--quick``); this runner adds ``summary.json`` with the targets of issue 7.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, machine_line, print_table, write_json  # noqa: E402

BENCHMARKS = ("B1", "B2", "B3", "B4", "B8")


def _argv(quick: bool, repeat: int | None, out_dir: Path | None) -> list[str]:
    argv = ["--quick"] if quick else []
    if repeat:
        argv += ["--repeat", str(repeat)]
    if out_dir:
        argv += ["--out-dir", str(out_dir)]
    return argv


def summary_rows(results: dict[str, dict[str, Any]]) -> list[list[str]]:
    """One row per target of issue 7: benchmark, target, measured, met."""
    rows: list[list[str]] = []

    def yn(ok: bool) -> str:
        return "met" if ok else "MISSED"

    if "B1" in results:
        for c in results["B1"]["cases"]:
            t = c["targets"]
            where = f"B1 {c['points']:,} pts, {c['resolution_m'] / 1000:g} km"
            rows.append(
                [where, ">= 2x numpy.bincount", f"{t['speedup_vs_bincount']:.2f}x",
                 yn(t["speedup_vs_bincount_met"])]
            )  # fmt: skip
            rows.append(
                [where, ">= 2x datashader", f"{t['speedup_vs_datashader']:.2f}x",
                 yn(t["speedup_vs_datashader_met"])]
            )  # fmt: skip
            rows.append(
                [where, "<= 3x copy floor (reused buffers)",
                 f"{t['times_copy_floor_reused']:.2f}x (one-off {t['times_copy_floor']:.2f}x)",
                 yn(t["within_3x_copy_met"])]
            )  # fmt: skip
            rows.append([where, "rasters agree", str(t["all_agree"]), yn(t["all_agree"])])
    if "B2" in results:
        for c in results["B2"]["cases"]:
            where = f"B2 n = {c['n']}, m = {c['m']}"
            rows.append([where, ">= 3x pymrio", f"{c['speedup']:.2f}x", yn(c["speedup"] >= 3.0)])
            rows.append(
                [where, "agreement <= 1e-10", f"{c['max_rel_diff']:.1e}",
                 yn(c["max_rel_diff"] <= 1e-10)]
            )  # fmt: skip
    if "B3" in results:
        t = results["B3"]["targets"]
        where = f"B3 {t['case']}"
        rows.append([where, "<= 60 s wall", f"{t['wall_s']:.1f} s", yn(t["wall_le_60s"])])
        rows.append(
            [where, "<= 2 GiB peak RSS", f"{t['peak_rss_gib']:.2f} GiB", yn(t["rss_le_2gib"])]
        )
        rows.append(
            [where, ">= 3x numpy baseline", f"{t['speedup_vs_numpy']:.2f}x",
             yn(t["speedup_ge_3x"])]
        )  # fmt: skip
    if "B4" in results:
        for s in results["B4"]["series"]:
            upper = s.get("exponent_upper")
            measured = f"{s['exponent']:.2f}" + (f" (upper {upper:.2f})" if upper else "")
            ok = (upper if upper is not None else s["exponent"]) <= 1.15
            rows.append([f"B4 {s['series']}", "linear (exponent ~1)", measured, yn(ok)])
    if "B8" in results:
        for c in results["B8"]["cases"]:
            t, ms = c["targets"], c["methods"]
            where = f"B8 nest n = {c['nested_n']}"
            prop, gras = ms["footgrid proportional"], ms["footgrid GRAS"]
            rows.append([where, "proportional <= 10 s", f"{prop['median_s']:.1f} s",
                         yn(t["proportional_le_10s"])])  # fmt: skip
            rows.append([where, "GRAS <= 60 s", f"{gras['median_s']:.1f} s", yn(t["gras_le_60s"])])
            peak = max(prop["peak_rss_gib"], gras["peak_rss_gib"])
            rows.append([where, "<= 6 GiB peak RSS", f"{peak:.2f} GiB", yn(t["rss_le_6gib"])])
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the selected benchmarks; returns their results keyed B1–B4, B8."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these")
    ap.add_argument("--repeat", type=int, help="timed runs per method (default: each's own)")
    ap.add_argument("--workdir", type=Path, help="inputs for B3/B4 (cached between runs)")
    ap.add_argument("--out-dir", type=Path, help="folder for the JSON (default benchmarks/results)")
    args = ap.parse_args(list(argv) if argv is not None else None)
    chosen = args.only or list(BENCHMARKS)
    common = _argv(args.quick, args.repeat, args.out_dir)
    work = ["--workdir", str(args.workdir)] if args.workdir else []
    results: dict[str, dict[str, Any]] = {}
    if "B1" in chosen:
        from benchmarks import bench_gridding

        results["B1"] = bench_gridding.main(common)
    if "B2" in chosen:
        from benchmarks import bench_coefficients

        b2 = ["--quick"] if args.quick else []
        if args.repeat:
            b2 += ["--repeat", str(args.repeat)]
        if args.out_dir:
            name = "coefficients_quick.json" if args.quick else "coefficients.json"
            b2 += ["--out", str(args.out_dir / name)]
        results["B2"] = bench_coefficients.main(b2)
    if "B3" in chosen:
        from benchmarks import bench_end_to_end

        results["B3"] = bench_end_to_end.main(common + work)
    if "B4" in chosen:
        from benchmarks import bench_scaling

        b4_work = ["--workdir", str(args.workdir / "scaling")] if args.workdir else []
        results["B4"] = bench_scaling.main(common + b4_work)
    if "B8" in chosen:
        from benchmarks import bench_nest

        b5 = common + (["--workdir", str(args.workdir / "nest")] if args.workdir else [])
        results["B8"] = bench_nest.main(b5)
    m = machine()
    rows = summary_rows(results)
    text = print_table(
        f"Targets (issue 7) — {machine_line(m)}", rows, ["benchmark", "target", "measured", ""]
    )
    summary = {"machine": m, "quick": args.quick, "targets": rows, "table": text}
    path = write_json("summary" + ("_quick" if args.quick else ""), summary, out_dir=args.out_dir)
    print(f"wrote {path}")
    return results


if __name__ == "__main__":
    main()

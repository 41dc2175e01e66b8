"""`footgrid demo --world` wall time: cold (fresh folder, coefficients solved) and warm (cached).

Each run is a fresh subprocess (interpreter start and imports included; peak RSS of the tree);
the phases (inputs, pipeline, report) are the demo's own timings. The target of issue 20 item 1:
the whole demo well under a minute on 2 cores.

    python benchmarks/bench_world.py              # 200 products, 100 000 facilities, 3 repeats
    python benchmarks/bench_world.py --quick      # 30 products, 5 000 facilities, 1 repeat
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    fmt_s,
    machine,
    machine_line,
    print_table,
    python,
    run_measured,
    write_json,
)

NAME = "world"
_TIMES = re.compile(r"time: inputs ([\d.]+) s, pipeline ([\d.]+) s, report ([\d.]+) s")


def child(out: Path, n_facilities: int, n_products: int) -> dict[str, Any]:
    """Run the world demo in this process; return its phase times (JSON reply)."""
    from footgrid.demo.run import run_world

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        run_world(out, n_facilities=n_facilities, n_products=n_products)
    m = _TIMES.search(buf.getvalue())
    assert m is not None, buf.getvalue()[-500:]
    return dict(zip(("inputs_s", "pipeline_s", "report_s"), map(float, m.groups()), strict=True))


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the cold and warm world demos; print and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--repeat", type=int, default=None, help="cold + warm pairs (default 3)")
    ap.add_argument("--out-dir", type=Path, help="folder for the JSON (default results/)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(list(argv) if argv is not None else None)
    if args.child:
        reply = child(Path(args.child[0]), int(args.child[1]), int(args.child[2]))
        print(json.dumps(reply), flush=True)
        return reply
    n_fac, n_prod = (5_000, 30) if args.quick else (100_000, 200)
    repeat = args.repeat or (1 if args.quick else 3)
    runs: dict[str, list] = {"cold": [], "warm": []}
    tmp = Path(tempfile.mkdtemp(prefix="footgrid-world-"))
    try:
        for i in range(repeat):
            out = tmp / f"run{i}"
            cmd = [python(), __file__, "--child", str(out), str(n_fac), str(n_prod)]
            runs["cold"].append(run_measured(cmd, timeout=1800))
            runs["warm"].append(run_measured(cmd, timeout=1800))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res: dict[str, Any] = {"machine": machine(), "facilities": n_fac, "products": n_prod}
    rows = []
    for kind, rs in runs.items():
        phases = {k: float(np.median([r.reply[k] for r in rs])) for k in rs[0].reply}
        res[kind] = {
            "wall_s": float(np.median([r.wall for r in rs])),
            "walls_s": [r.wall for r in rs],
            "peak_rss_gib": max(r.peak_rss for r in rs) / 2**30,
            "phases_s": phases,
        }
        rows.append([kind, fmt_s(res[kind]["wall_s"]), f"{res[kind]['peak_rss_gib']:.2f}",
                     *(fmt_s(v) for v in phases.values())])  # fmt: skip
    print(machine_line(res["machine"]))
    print_table(
        f"footgrid demo --world: {n_fac:,} facilities, {n_prod} products x 49 regions",
        rows,
        ["run", "median wall s", "peak RSS GiB", "inputs s", "pipeline s", "report s"],
    )
    path = write_json(NAME + ("_quick" if args.quick else ""), res, out_dir=args.out_dir)
    print(f"wrote {path}")
    return res


if __name__ == "__main__":
    main()

"""Profile the ensemble block tasks of one B6 run: kernel, writes and the deterministic part.

Runs ``footgrid.run(CONFIG)`` on the synchronous scheduler with timers around the ensemble
kernel (:func:`footgrid.kernels.ensemble.ensemble_block`), the statistics writes and the
whole block, and prints the sums per block kind. Usage (a B6 config, e.g. from
``bench_ensemble.py --workdir W``)::

    python benchmarks/profile_ensemble_block.py W/config_firms1000000_10000_ens.toml
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(config: str) -> dict[str, float]:
    """Run ``config`` with timers; returns seconds per (block kind, part)."""
    import dataclasses

    from footgrid import store
    from footgrid.config import load_config
    from footgrid.execution import ensemble
    from footgrid.execution.pipeline import _execute

    times: dict[str, float] = defaultdict(float)
    kind = ["?"]

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                times[f"{kind[0]} {name}"] += time.perf_counter() - t0

        return wrapper

    compute = ensemble.EnsembleSpec.compute

    def block(self, b, pts):
        kind[0] = "footprint" if b.is_footprint else "emissions"
        t0 = time.perf_counter()
        out = compute(self, b, pts)
        times[f"{kind[0]} whole block"] += time.perf_counter() - t0
        times[f"{kind[0]} blocks"] += 1
        return out

    ensemble.EnsembleSpec.compute = block
    ensemble.ensemble_block = timed("ensemble kernel", ensemble.ensemble_block)
    store.write_block = timed("writes (all arrays)", store.write_block)
    cfg = load_config(config)
    cfg = dataclasses.replace(cfg, compute={**cfg.compute, "scheduler": "synchronous"})
    t0 = time.perf_counter()
    _execute(cfg, with_mrio=True, resume=False, progress=False)
    times["run"] = time.perf_counter() - t0
    for k, v in sorted(times.items()):
        print(f"{k:40s} {v:8.2f}")
    return dict(times)


if __name__ == "__main__":
    main(sys.argv[1])

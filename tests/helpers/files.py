"""Test helpers: test scale, writing points files and configs, running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

#: "ci" (reduced sizes for slow tests on the 2-core CI machine) or "full".
SCALE = os.environ.get("FOOTGRID_TEST_SCALE", "ci")


def scaled(ci: int, full: int) -> int:
    """A size for a slow test: ``ci`` in CI, ``full`` with FOOTGRID_TEST_SCALE=full."""
    return full if SCALE == "full" else ci


def write_points(path: Path, df: pd.DataFrame) -> Path:
    """Write ``df`` as CSV or Parquet by the suffix of ``path``."""
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return path


def toml(config: dict) -> str:
    """A TOML text of a two-level mapping (enough for footgrid configs)."""
    from footgrid.config import _to_toml_text

    return _to_toml_text(config)


def write_config(folder: Path, config: dict, name: str = "config.toml") -> Path:
    """Write ``config`` as TOML into ``folder``."""
    p = folder / name
    p.write_text(toml(config))
    return p


def random_points(n: int, seed: int = 0, extent=(100.0, 122.0, 22.0, 41.0)) -> pd.DataFrame:
    """Random firms in a lon/lat box with lognormal emissions and two sectors."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "lon": rng.uniform(extent[0], extent[1], n),
            "lat": rng.uniform(extent[2], extent[3], n),
            "co2_t": rng.lognormal(6, 1.5, n),
            "sector": rng.choice(["ELEC", "STEEL"], n),
        }
    )


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run ``footgrid ARGS`` in a subprocess (the installed console script's module)."""
    return subprocess.run(
        [sys.executable, "-m", "footgrid", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )

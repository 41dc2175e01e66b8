"""Small end-to-end cases for `run`: a random MRIO in the tables layout, firms, a config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tests.helpers.files import write_config

REGIONS = ["CN-A", "CN-B", "US", "JP"]
SECTORS = ["ELEC", "STEEL", "TEXT"]
CATEGORIES = ["HH", "GOV", "GFCF"]


def write_tables(folder: Path, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A random productive MRIO in the plain tables layout; returns (Z, Y)."""
    rng = np.random.default_rng(seed)
    n, m = len(REGIONS) * len(SECTORS), len(REGIONS) * len(CATEGORIES)
    Z = rng.uniform(0, 10, (n, n))
    Y = rng.uniform(5, 50, (n, m))
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([(r, s) for r in REGIONS for s in SECTORS], columns=["region", "sector"]).to_csv(
        folder / "rows.csv", index=False
    )
    pd.DataFrame(
        [(r, c) for r in REGIONS for c in CATEGORIES], columns=["region", "category"]
    ).to_csv(folder / "cols.csv", index=False)
    pd.DataFrame(Z, columns=[str(i) for i in range(n)]).to_csv(folder / "Z.csv", index=False)
    pd.DataFrame(Y, columns=[str(i) for i in range(m)]).to_parquet(folder / "Y.parquet")
    return Z, Y


def firms(n: int, seed: int = 1) -> pd.DataFrame:
    """Firms in China's two demo regions (lon/lat box), three sectors, lognormal emissions."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "firm_id": [f"F{i:07d}" for i in range(n)],
            "lon": rng.uniform(105, 122, n),
            "lat": rng.uniform(22, 40, n),
            "co2_t": rng.lognormal(5, 1.5, n),
            "sector": rng.choice(SECTORS, n),
            "province": rng.choice(["CN-A", "CN-B"], n),
        }
    )


def make_case(
    folder: Path, n: int = 2000, *, tile: int = 16, resolution: float = 50_000, **sections
) -> Path:
    """Write firms, MRIO and config into ``folder``; returns the config path."""
    write_tables(folder / "mrio")
    firms(n).to_parquet(folder / "firms.parquet", index=False)
    cfg = {
        "points": {
            "path": "firms.parquet",
            "emission": "co2_t",
            "region": "province",
            "id": "firm_id",
        },
        "mrio": {"path": "mrio", "format": "tables"},
        "grid": {"resolution": resolution, "tile": tile},
        "compute": {"scheduler": "threads"},
        "output": {"path": "out.zarr", "overwrite": True},
    }
    for name, body in sections.items():
        cfg.setdefault(name, {}).update(body)
    return write_config(folder, cfg)

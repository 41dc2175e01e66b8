"""The world section: per-consumer extents against an LP, the section's files on a small store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy.optimize import linprog

from footgrid.analysis.page import Page
from footgrid.analysis.world import consumer_extents, write_world_section


def _store(rng: np.random.Generator) -> xr.Dataset:
    """4 consumers x 2 categories on a 12 x 15 grid with unequal cell areas; one consumer zero."""
    ny, nx = 12, 15
    fp = rng.lognormal(0.0, 2.0, (4, 2, ny, nx)) * (rng.random((4, 2, ny, nx)) < 0.3)
    fp[2] = 0.0
    areas = rng.uniform(0.5e6, 3e6, (ny, nx))
    ds = xr.Dataset(
        {
            "footprint": (("consumer", "category", "y", "x"), fp.astype(np.float32)),
            "territory": (("y", "x"), rng.random((ny, nx)) < 0.8),
        },
        coords={
            "consumer": ["AA", "BB", "CC", "DD"],
            "category": ["hh", "gov"],
            "y": 1e6 - 1e5 * np.arange(ny),
            "x": 1e5 * np.arange(nx),
            "cell_area": (("y", "x"), areas),
        },
    )
    return ds


def _lp(values: np.ndarray, areas: np.ndarray, share: float) -> float:
    """min Σ a_i w_i  s.t.  Σ v_i w_i >= share · Σ v,  0 <= w_i <= 1."""
    res = linprog(
        areas / areas.mean(),
        A_ub=[-values / values.sum()],
        b_ub=[-share],
        bounds=(0, 1),
        method="highs",
    )
    assert res.status == 0
    return float(res.fun * areas.mean())


def test_consumer_extents_equal_a_linear_program():
    ds = _store(np.random.default_rng(5))
    table = consumer_extents(ds, names={"AA": "Aland"})
    assert list(table["consumer"][:3]) == list(
        pd.Series(
            ds["footprint"].sum(("category", "y", "x")).values, index=["AA", "BB", "CC", "DD"]
        )
        .sort_values(ascending=False, kind="stable")
        .index[:3]
    )
    assert table.set_index("consumer").loc["AA", "name"] == "Aland"
    areas = ds["cell_area"].values
    for c in ("AA", "BB", "DD"):
        values = ds["footprint"].sel(consumer=c).sum("category").values.astype(np.float64)
        row = table.set_index("consumer").loc[c]
        assert row["footprint_t"] == pytest.approx(values.sum(), rel=1e-12)
        for f in (0.5, 0.75, 0.9):
            ref = _lp(values.ravel(), areas.ravel(), f) / 1e6
            assert row[f"extent_km2_{round(100 * f)}"] == pytest.approx(ref, rel=1e-7)
    empty = table.set_index("consumer").loc["CC"]
    assert empty["footprint_t"] == 0 and np.isnan(empty["extent_km2_90"])
    assert table["share"].sum() == pytest.approx(1.0)


def test_world_section_writes_table_figure_and_maps(tmp_path):
    ds = _store(np.random.default_rng(6))
    import rioxarray  # noqa: F401  (registers ds.rio)

    ds = ds.rio.write_crs("EPSG:8857")
    links = write_world_section(page := Page("t"), ds, tmp_path, top=2)
    assert "Every nation" in page._html[1]
    assert links == [("spatial extent of every nation", "world_extent.csv")]
    assert len(pd.read_csv(tmp_path / "world_extent.csv")) == 4
    assert (tmp_path / "world_extent.png").stat().st_size > 5000
    assert (tmp_path / "world_nations.png").stat().st_size > 5000

"""Comparison of two stores: tables against direct differences, difference maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from footgrid.analysis import layers as L
from footgrid.analysis import write_comparison
from tests.helpers.stores import build_dataset, make_store, write_store


def test_comparison_tables_and_maps(tmp_path):
    a = make_store(tmp_path, "y2012.zarr", seed=21)
    b = make_store(tmp_path, "y2017.zarr", seed=22)
    index = write_comparison(a, b, tmp_path / "cmp")
    out = index.parent
    ds_a, ds_b = L.open_store(a), L.open_store(b)

    by = pd.read_csv(out / "compare_by_consumer.csv").set_index("consumer")
    per_a = ds_a["totals"].sum(("region", "sector", "category")).to_series()
    per_b = ds_b["totals"].sum(("region", "sector", "category")).to_series()
    for c in per_a.index:
        assert by.loc[c, "y2012.zarr"] == pytest.approx(per_a[c], rel=1e-9)
        assert by.loc[c, "change"] == pytest.approx(per_b[c] - per_a[c], rel=1e-9, abs=1e-6)
    for name in ("by_region", "by_sector", "by_category", "domestic_foreign"):
        assert (out / f"compare_{name}.csv").is_file(), name

    head = pd.read_csv(out / "compare_headline.csv").set_index("metric")
    total_a = float(ds_a["emissions"].sum(dtype=np.float64))
    assert head.loc["gridded emissions", "y2012.zarr"] == pytest.approx(total_a, rel=1e-9)
    assert "foreign: Gini" in head.index

    for name in ("diff_total.png", "diff_foreign.png", "diff_domestic.png"):
        pixels = imread(out / name)
        assert float(pixels[..., :3].var()) > 0
    html = index.read_text()
    assert 'src="diff_total.png"' in html and "y2017.zarr minus y2012.zarr" in html


def test_identical_stores_and_different_grids(tmp_path):
    a = make_store(tmp_path, "a.zarr", seed=1)
    index = write_comparison(a, a, tmp_path / "same")
    by = pd.read_csv(index.parent / "compare_by_consumer.csv")
    assert (by["change"] == 0).all()
    assert float(imread(index.parent / "diff_total.png")[..., :3].var()) > 0  # "no difference"

    other = write_store(build_dataset(ny=10, nx=12, seed=2), tmp_path / "small.zarr")
    index = write_comparison(a, other, tmp_path / "other")
    assert not list(index.parent.glob("diff_*.png"))
    assert "different grids" in index.read_text()
    assert (index.parent / "compare_by_sector.csv").is_file()

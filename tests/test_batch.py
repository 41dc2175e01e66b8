"""Batch runs: a three-year batch equals three single runs; resume per run; the series report."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import footgrid
from footgrid.batch import batch_series
from tests.helpers.cases import firms, make_case
from tests.helpers.files import run_cli

YEARS = [2012, 2015, 2017]


def _batch(folder):
    cfg = make_case(folder, 600, resolution=200_000)
    for i, y in enumerate(YEARS):
        firms(600 + 100 * i, seed=10 + i).to_parquet(folder / f"firms_{y}.parquet", index=False)
    text = cfg.read_text().replace("firms.parquet", "firms_{year}.parquet")
    cfg.write_text(
        text.replace("out.zarr", "out_{year}.zarr") + "\n[batch]\nyears = [2012, 2015, 2017]\n"
    )
    return cfg


def test_three_year_batch_equals_three_single_runs(tmp_path):
    index = footgrid.run_batch(_batch(tmp_path / "b"))
    assert [r["name"] for r in index["runs"]] == ["2012", "2015", "2017"]
    assert json.loads((tmp_path / "b" / "batch.json").read_text()) == index
    for i, (y, entry) in enumerate(zip(YEARS, index["runs"], strict=True)):
        single = make_case(tmp_path / str(y), 600, resolution=200_000)
        firms(600 + 100 * i, seed=10 + i).to_parquet(tmp_path / str(y) / "firms.parquet")
        ref = footgrid.run(single)
        got = footgrid.open_store(entry["store"])
        assert entry["store"].endswith(f"out_{y}.zarr") and entry["values"] == {"year": y}
        for v in ("footprint", "emissions", "totals"):
            np.testing.assert_array_equal(got[v].values, ref[v].values, err_msg=f"{y} {v}")


def test_batch_resume_reruns_only_the_missing_run_and_reports_the_series(tmp_path):
    cfg = _batch(tmp_path)
    index = footgrid.run_batch(cfg)
    stores = [r["store"] for r in index["runs"]]
    before = [(tmp_path / s).stat().st_mtime_ns for s in stores]
    shutil.rmtree(stores[1])
    footgrid.run_batch(cfg, resume=True)
    after = [(tmp_path / s).stat().st_mtime_ns for s in stores]
    assert after[0] == before[0] and after[2] == before[2] and footgrid.open_store(stores[1])
    # The report of the batch: one row per year; totals are the stores' own sums (numpy).
    res = run_cli("report", str(tmp_path / "batch.json"), "--out", str(tmp_path / "rep"))
    assert res.returncode == 0, res.stderr
    series = pd.read_csv(tmp_path / "rep" / "series.csv")
    assert series["year"].tolist() == YEARS
    sums = [float(footgrid.open_store(s).emissions.values.astype(np.float64).sum()) for s in stores]
    np.testing.assert_allclose(series["total"], sums, rtol=1e-6)
    assert (tmp_path / "rep" / "compare_2012_2015").is_dir()
    assert batch_series(tmp_path / "batch.json")["run"].tolist() == ["2012", "2015", "2017"]


def test_batch_config_errors(tmp_path):
    cfg = make_case(tmp_path, 50)
    cfg.write_text(cfg.read_text() + "\n[batch]\nyears = [2012, 2012]\n")
    with pytest.raises(footgrid.ConfigError, match="twice"):
        footgrid.run_batch(cfg)
    cfg.write_text(cfg.read_text().replace("[2012, 2012]", "[2012]"))
    with pytest.raises(footgrid.ConfigError, match="placeholder"):
        footgrid.run_batch(cfg)
    with pytest.raises(footgrid.ConfigError, match="set of runs"):
        footgrid.run(cfg)

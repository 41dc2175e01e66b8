"""The benchmarks are tests too: each runs at a tiny size, writes its JSON, methods agree.

No timing is asserted (timings depend on the machine); what is checked is that every method of
every benchmark gives the same answer and that the results files are written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks import (
    bench_coefficients,
    bench_end_to_end,
    bench_ensemble,
    bench_global,
    bench_gridding,
    bench_nest,
    bench_rasters,
    bench_scaling,
    bench_store_layout,
    run,
)


def test_b1_gridding_quick(tmp_path: Path) -> None:
    res = bench_gridding.main(
        ["--points", "20000", "--resolutions", "50000", "--repeat", "1", "--settle", "0",
         "--out-dir", str(tmp_path)]
    )  # fmt: skip
    saved = json.loads((tmp_path / "gridding.json").read_text())
    assert saved["cases"][0]["targets"]["all_agree"]
    assert set(res["cases"][0]["methods"]) >= {"footgrid", "numpy.bincount", "datashader"}


def test_b2_coefficients_quick(tmp_path: Path) -> None:
    out = tmp_path / "coefficients_quick.json"
    res = bench_coefficients.main(["--quick", "--sizes", "60", "--repeat", "1", "--out", str(out)])
    assert out.exists()
    assert res["cases"][0]["max_rel_diff"] <= 1e-10


def test_b8_nest_quick(tmp_path: Path) -> None:
    res = bench_nest.main(
        ["--quick", "--repeat", "1", "--workdir", str(tmp_path / "w"), "--out-dir", str(tmp_path)]
    )
    saved = json.loads((tmp_path / "nest_quick.json").read_text())
    case = saved["cases"][0]
    assert case["targets"]["agree_1e-12"] and case["gras"]["converged"]
    assert set(res["cases"][0]["methods"]) == {
        "footgrid proportional",
        "footgrid GRAS",
        "naive numpy proportional",
    }


@pytest.mark.slow
def test_b3_end_to_end_quick(tmp_path: Path) -> None:
    argv = ["--points", "3000", "--resolutions", "100000", "--workers", "1", "--repeat", "1"]
    res = bench_end_to_end.main(
        [*argv, "--workdir", str(tmp_path / "w"), "--out-dir", str(tmp_path)]
    )
    assert (tmp_path / "end_to_end.json").exists()
    case = res["cases"][0]
    assert case["agreement"]["allclose"]
    totals = {k: v["consumers"] for k, v in case["methods"].items()}
    assert set(totals.values()) == {50}


@pytest.mark.slow
def test_b4_scaling_and_runner_quick(tmp_path: Path) -> None:
    res = run.main(["--quick", "--only", "B1", "B4", "--repeat", "1", "--out-dir", str(tmp_path),
                    "--workdir", str(tmp_path / "w")])  # fmt: skip
    assert (tmp_path / "scaling_quick.json").exists()
    assert (tmp_path / "summary_quick.json").exists()
    series = res["B4"]["series"]
    assert [s["unit"] for s in series] == ["points", "firms", "consumers"]
    assert all(np.isfinite(s["exponent"]) for s in series)
    assert bench_scaling.exponent([1, 10, 100], [2.0, 20.0, 200.0]) == pytest.approx(1.0)


@pytest.mark.slow
def test_b6_ensemble_quick(tmp_path: Path) -> None:
    argv = ["--quick", "--points", "3000", "--resolution", "100000", "--members", "5",
            "--naive-runs", "1", "--workers", "1", "--exio-regions", "1"]  # fmt: skip
    res = bench_ensemble.main([*argv, "--workdir", str(tmp_path / "w"), "--out-dir", str(tmp_path)])
    saved = json.loads((tmp_path / "ensemble_quick.json").read_text())
    assert saved["members"] == 5 and res["gridded_totals_agree"]
    assert res["naive_extrapolated_s"] == pytest.approx(5 * res["deterministic"]["median_s"])
    assert [m["n"] for m in res["mrio_per_member"]][1] == 200


@pytest.mark.slow
def test_b7_global_quick(tmp_path: Path) -> None:
    argv = ["--quick", "--repeat", "1", "--skip-cluster", "--workdir", str(tmp_path / "w")]
    res = bench_global.main([*argv, "--out-dir", str(tmp_path)])
    assert (tmp_path / "global_quick.json").exists()
    case = res["case"]
    assert case["layers"] == 6 * 7
    assert case["solve"]["max_rel_diff"] < 1e-10
    assert case["store"]["footprint_chunk_files"] <= case["store"]["footprint_chunks_possible"]
    assert bench_global.region_of_country("UK", "EU") == "GB"
    assert bench_global.region_of_country("NG", "AF") == "WF"
    assert (
        case["threads"]["graph"]["sent_to_scheduler_mib"] < case["threads"]["graph"]["pickled_mib"]
    )
    assert (
        case["threads"]["tasks"]["footprint block"]["n"]
        == case["threads"]["graph"]["block_tasks"] - case["threads"]["tasks"]["emission block"]["n"]
    )
    layouts = bench_store_layout.main(
        ["--store", str(tmp_path / "w" / "global.zarr"), "--consumers", "2", "--tiles", "16",
         "--levels", "1", "--out-dir", str(tmp_path)]
    )["layouts"]  # fmt: skip
    import xarray as xr

    src = xr.open_zarr(tmp_path / "w" / "global.zarr")["footprint"].isel(consumer=1)
    for r in layouts:  # every layout reads back the source's consumer map
        assert np.isclose(r["one_consumer_total"], float(src.values.sum(dtype=np.float64)))


def test_b5_rasters_quick(tmp_path: Path) -> None:
    res = bench_rasters.main(["--quick", "--layers", "3", "--out-dir", str(tmp_path)])
    assert (tmp_path / "rasters_quick.json").exists()
    assert res["footgrid"]["mass_error"] <= 1e-9
    assert res["overlay_subset"]["tv_distance"] <= 1e-2
    assert res["rasterio"]["mass_error"] < 1e-2  # rasterio's sum resampling: close, not exact

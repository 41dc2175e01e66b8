"""README's pymrio examples: run(config, mrio=IOSystem), with Z or with A + Y only, and the
raw EXIOBASE 3 layout from [mrio] format; national totals against pymrio's D_cba_reg - F_Y."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymrio
import pytest

import footgrid
from tests.helpers.files import write_config
from tests.helpers.raw_mrio import write_exiobase3_folder

STRESSOR = ("emission_type1", "air")


@pytest.fixture(scope="module")
def ref() -> pymrio.IOSystem:
    io = pymrio.load_test()
    io.calc_all()
    return io


def _points(io: pymrio.IOSystem, folder) -> None:
    """One point per (region, sector) carrying its F entry, in a lon/lat box."""
    F = io.emissions.F.loc[STRESSOR]
    rng = np.random.default_rng(3)
    pd.DataFrame(
        {
            "lon": rng.uniform(100, 110, len(F)),
            "lat": rng.uniform(20, 30, len(F)),
            "co2_t": F.to_numpy(),
            "sector": F.index.get_level_values("sector"),
            "region": F.index.get_level_values("region"),
        }
    ).to_parquet(folder / "firms.parquet", index=False)


def _config(folder, mrio=None) -> dict:
    cfg = {
        "points": {"path": "firms.parquet", "emission": "co2_t", "region": "region"},
        "grid": {"resolution": 100_000, "tile": 16},
        "output": {"path": "out.zarr", "overwrite": True},
    }
    if mrio is not None:
        cfg["mrio"] = mrio
    return cfg


def _national(ds) -> pd.Series:
    t = ds["totals"].sum(("region", "sector", "category")).to_series()
    t.index = t.index.astype(str)
    return t


def _reference(io: pymrio.IOSystem) -> pd.Series:
    d_cba = io.emissions.D_cba_reg.loc[STRESSOR]
    f_y = io.emissions.F_Y.loc[STRESSOR].groupby(level="region").sum()
    return d_cba - f_y.reindex(d_cba.index)


@pytest.mark.parametrize("variant", ["Z", "A+Y"])
def test_run_takes_an_iosystem(ref, tmp_path, variant) -> None:
    _points(ref, tmp_path)
    io = pymrio.load_test()
    if variant == "A+Y":
        io.calc_all()
        io.Z = io.x = io.L = None
    ds = footgrid.run(write_config(tmp_path, _config(tmp_path)), mrio=io)
    r = _reference(ref)
    got = _national(ds)
    np.testing.assert_allclose(got[r.index].to_numpy(), r.to_numpy(), rtol=1e-9)


def test_raw_exiobase3_layout_from_the_config(ref, tmp_path) -> None:
    _points(ref, tmp_path)
    write_exiobase3_folder(pymrio.load_test(), tmp_path / "IOT_2011_ixi")
    cfg = _config(tmp_path, {"path": "IOT_2011_ixi", "format": "exiobase3"})
    ds = footgrid.run(write_config(tmp_path, cfg))
    r = _reference(ref)
    np.testing.assert_allclose(_national(ds)[r.index].to_numpy(), r.to_numpy(), rtol=1e-9)


def test_mrio_argument_must_be_an_iosystem(tmp_path) -> None:
    _points(pymrio.load_test(), tmp_path)
    with pytest.raises(footgrid.ConfigError, match="IOSystem"):
        footgrid.run(write_config(tmp_path, _config(tmp_path)), mrio="not an IOSystem")


def test_readme_pymrio_and_reprojection_examples_run_as_written(ref, tmp_path, monkeypatch):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    (pym,) = [b for b in blocks if "mrio=io" in b]
    (rep,) = [b for b in blocks if "reproject_store(" in b]
    _points(ref, tmp_path)
    cfg = _config(tmp_path)
    cfg["output"]["path"] = "out.zarr"
    write_config(tmp_path, cfg)
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(pym, "README.md", "exec"), ns)
    r = _reference(ref)
    np.testing.assert_allclose(_national(ns["ds"])[r.index].to_numpy(), r.to_numpy(), rtol=1e-9)
    ns2: dict = {"footgrid": footgrid}
    exec(compile(rep, "README.md", "exec"), ns2)
    src = float(ns["ds"].footprint.values.astype(np.float64).sum())
    got = float(ns2["geo"].footprint.values.astype(np.float64).sum())
    assert got == pytest.approx(src, rel=1e-6) and ns2["geo"].rio.crs.to_epsg() == 4326

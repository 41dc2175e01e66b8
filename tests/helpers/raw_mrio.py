"""MRIO downloads in their raw layouts, built from pymrio's test system (no real data).

``write_exiobase3_folder`` writes an extracted EXIOBASE 3 download as it ships on Zenodo for
some years: tab-separated ``A.txt`` and ``Y.txt`` with two header lines (region, sector |
category) and a ``region<TAB>sector`` index header line, ``unit.txt``, ``file_parameters.json``
and a ``satellite/`` extension with ``F.txt``, ``F_Y.txt`` (``F_hh`` in older releases) and
``unit.txt`` -- A and Y only, no x and no Z (pymrio's own ``exio3_mock`` has this layout).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pymrio


def _tsv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, sep="\t", float_format="%.17g")


def write_exiobase3_folder(io: pymrio.IOSystem, folder: Path) -> Path:
    """An extracted EXIOBASE 3 folder with A and Y but no x (see the module docstring)."""
    io = io.copy()
    io.calc_all()
    folder.mkdir(parents=True, exist_ok=True)
    _tsv(io.A, folder / "A.txt")
    _tsv(io.Y, folder / "Y.txt")
    unit = pd.DataFrame({"unit": "M.EUR"}, index=io.A.index)
    _tsv(unit, folder / "unit.txt")
    two = {"nr_index_col": "2", "nr_header": "2"}
    params = {
        "files": {
            "A": {"name": "A.txt", **two},
            "Y": {"name": "Y.txt", **two},
            "unit": {"name": "unit.txt", "nr_index_col": "2", "nr_header": "1"},
        },
        "systemtype": "IOSystem",
    }
    (folder / "file_parameters.json").write_text(json.dumps(params, indent=4))
    meta = {
        "description": "test EXIOBASE 3 layout",
        "name": "exio3",
        "system": "ixi",
        "version": "test",
        "history": [],
    }
    (folder / "metadata.json").write_text(json.dumps(meta, indent=4))
    sat = folder / "satellite"
    sat.mkdir(exist_ok=True)
    F = io.emissions.F.copy()
    F.index = [" - ".join(i) for i in F.index]
    F.index.name = "stressor"
    FY = io.emissions.F_Y.copy()
    FY.index = F.index
    _tsv(F, sat / "F.txt")
    _tsv(FY, sat / "F_Y.txt")
    _tsv(pd.DataFrame({"unit": "kg"}, index=F.index), sat / "unit.txt")
    one = {"nr_index_col": "1", "nr_header": "2"}
    sat_params = {
        "files": {
            "F": {"name": "F.txt", **one},
            "F_Y": {"name": "F_Y.txt", **one},
            "unit": {"name": "unit.txt", "nr_index_col": "1", "nr_header": "1"},
        },
        "systemtype": "Extension",
        "name": "Satellite Accounts",
    }
    (sat / "file_parameters.json").write_text(json.dumps(sat_params, indent=4))
    return folder


def _region_codes(io: pymrio.IOSystem) -> dict[str, str]:
    """Three-letter country codes for the test system's regions (reg1 -> RGA, ...)."""
    return {r: "RG" + chr(ord("A") + i) for i, r in enumerate(io.get_regions())}


def write_eora26_folder(io: pymrio.IOSystem, folder: Path, year: int = 2010) -> Path:
    """An Eora26 download (basic prices) as extracted: ``labels_{T,FD,Q,VA}.txt`` (tab
    separated, no header: ``Region n``, code, ``Industries``/``Final Demand``/..., name) and
    headerless tab-separated matrices ``Eora26_<year>_bp_{T,FD,Q,QY,VA}.txt``."""
    io = io.copy()
    io.calc_all()
    folder.mkdir(parents=True, exist_ok=True)
    codes = _region_codes(io)
    number = {r: i + 1 for i, r in enumerate(io.get_regions())}

    def labels(index: pd.MultiIndex, kind: str) -> pd.DataFrame:
        return pd.DataFrame(
            [(f"Region {number[r]}", codes[r], kind, s) for r, s in index],
        )

    labels(io.Z.index, "Industries").to_csv(
        folder / "labels_T.txt", sep="\t", header=False, index=False
    )
    labels(io.Y.columns, "Final Demand").to_csv(
        folder / "labels_FD.txt", sep="\t", header=False, index=False
    )
    F = io.emissions.F
    q = pd.DataFrame([("I-GHG-CO2 emissions (kg)", s) for s, _ in F.index])
    q.to_csv(folder / "labels_Q.txt", sep="\t", header=False, index=False)
    va = io.factor_inputs.F
    pd.DataFrame([("Primary Inputs", v) for v in va.index]).to_csv(
        folder / "labels_VA.txt", sep="\t", header=False, index=False
    )
    stem = f"Eora26_{year}_bp_"
    for name, df in (
        ("T", io.Z),
        ("FD", io.Y),
        ("Q", F),
        ("QY", io.emissions.F_Y),
        ("VA", va),
    ):
        df.to_csv(
            folder / f"{stem}{name}.txt", sep="\t", header=False, index=False, float_format="%.17g"
        )
    return folder


#: OECD ICIO final-demand codes for the test system's seven categories, in order.
OECD_FD = ("HFCE", "NPISH", "GGFC", "GFCF", "INVNT", "DPABR", "P33")


def write_oecd_csv(io: pymrio.IOSystem, folder: Path, year: int = 2010) -> Path:
    """An OECD ICIO 2018 release CSV: ``ICIO2018_<year>.CSV``, comma separated, row and column
    labels ``<country>_<industry>``, final demand ``<country>_<HFCE|...>``, rows
    ``<country>_TAXSUB``, ``VALU`` and ``OUTPUT``, a ``TOTAL`` column."""
    io = io.copy()
    io.calc_all()
    folder.mkdir(parents=True, exist_ok=True)
    codes = _region_codes(io)
    sectors = {s: f"S{i + 1:02d}" for i, s in enumerate(io.get_sectors())}
    cats = dict(zip(io.get_Y_categories(), OECD_FD, strict=True))
    rows = [f"{codes[r]}_{sectors[s]}" for r, s in io.Z.index]
    fd = [f"{codes[r]}_{cats[c]}" for r, c in io.Y.columns]
    body = pd.DataFrame(
        np.hstack([io.Z.to_numpy(), io.Y.to_numpy()]), index=rows, columns=rows + fd
    )
    va = io.factor_inputs.F.to_numpy().sum(axis=0)
    extra = pd.DataFrame(
        0.0,
        index=[f"{c}_TAXSUB" for c in codes.values()] + ["VALU", "OUTPUT"],
        columns=body.columns,
    )
    extra.loc["VALU", rows] = va
    extra.loc["OUTPUT", rows] = io.x.to_numpy().ravel()
    table = pd.concat([body, extra])
    table["TOTAL"] = table.sum(axis=1)
    path = folder / f"ICIO2018_{year}.CSV"
    table.to_csv(path, float_format="%.17g")
    return path


def write_gloria_folder(
    io: pymrio.IOSystem, folder: Path, year: int = 2022, version: int = 59
) -> Path:
    """A GLORIA download (basic prices) as extracted: ``GLORIA_MRIOs_<v>_<year>/`` with the
    headerless CSVs ``..._T-Results_<year>_0<v>_Markup001(full).csv`` (the supply-use
    transaction matrix over (region, Industry|Product, sector)), ``..._Y-Results_...`` and
    ``..._V-Results_...``; ``GLORIA_SatelliteAccounts_0<v>_<year>/`` with ``..._TQ-Results_...``
    and ``..._YQ-Results_...``; and ``GLORIA_ReadMe_0<v>.xlsx`` (sheets Regions, Sectors,
    "Value added and final demand", Satellites). The supply table is diagonal (GLORIA's)."""
    io = io.copy()
    io.calc_all()
    regions = [_region_codes(io)[r] for r in io.get_regions()]
    sectors = list(io.get_sectors())
    fd = list(io.get_Y_categories())
    n_r, n_s, n_f = len(regions), len(sectors), len(fd)
    Z, Y, x = io.Z.to_numpy(), io.Y.to_numpy(), io.x.to_numpy().ravel()
    # T over (region, Industry|Product, sector): per region n_s industries then n_s products.
    n = n_r * n_s

    def ind(i: np.ndarray) -> np.ndarray:  # Z row i (region-major) -> its Industry position
        return (i // n_s) * 2 * n_s + i % n_s

    def prod(i: np.ndarray) -> np.ndarray:
        return ind(i) + n_s

    i = np.arange(n)
    T = np.zeros((2 * n, 2 * n))
    T[ind(i), prod(i)] = x  # supply: industry i makes product i only
    T[np.ix_(prod(i), ind(i))] = Z  # use: product i into industry j
    Yt = np.zeros((2 * n, n_r * n_f))
    Yt[prod(i)] = Y
    va_cats = [f"value added {k}" for k in range(n_f)]  # one sheet: as many as fd categories
    VA = np.zeros((n_r * n_f, 2 * n))
    VA[(i // n_s) * n_f, ind(i)] = io.factor_inputs.F.to_numpy().sum(axis=0)
    F, FY = io.emissions.F, io.emissions.F_Y
    TQ = np.zeros((len(F), 2 * n))
    TQ[:, ind(i)] = F.to_numpy()
    stem = f"_{year}_0{version}_Markup001(full).csv"
    mrio = folder / f"GLORIA_MRIOs_{version}_{year}"
    sat = folder / f"GLORIA_SatelliteAccounts_0{version}_{year}"
    mrio.mkdir(parents=True, exist_ok=True)
    sat.mkdir(parents=True, exist_ok=True)
    for d, name, arr in (
        (mrio, "T", T),
        (mrio, "Y", Yt),
        (mrio, "V", VA),
        (sat, "TQ", TQ),
        (sat, "YQ", FY.to_numpy()),
    ):
        pd.DataFrame(arr).to_csv(
            d / f"0_120secMother_AllCountries_002_{name}-Results{stem}",
            header=False,
            index=False,
            float_format="%.17g",
        )
    with pd.ExcelWriter(folder / f"GLORIA_ReadMe_0{version}.xlsx") as xl:
        pd.DataFrame({"Region_acronyms": regions, "Region_names": regions}).to_excel(
            xl, sheet_name="Regions", index=False
        )
        pd.DataFrame({"Sector_names": sectors}).to_excel(xl, sheet_name="Sectors", index=False)
        pd.DataFrame({"Final_demand_names": fd, "Value_added_names": va_cats}).to_excel(
            xl, sheet_name="Value added and final demand", index=False
        )
        pd.DataFrame(
            {
                "Sat_indicator": [s for s, _ in F.index],
                "Sat_head_indicator": [c for _, c in F.index],
                "Sat_unit": ["kg"] * len(F),
            }
        ).to_excel(xl, sheet_name="Satellites", index=False)
    return folder


def write_wiod_xlsx(io: pymrio.IOSystem, folder: Path, year: int = 2009) -> Path:
    """A WIOD 2013 release world table ``wiot<yy>_row_sep12.xlsx``: one sheet, the title with
    the year and the system and unit lines in column A; four header rows (code, name, country,
    c-code) over four label columns; industries ``c..``-coded up to ``c35``, final demand
    ``c37``..., factor inputs ``r60`` (total intermediate), ``r64`` (value added), ``r69``
    (output), and a last total column. One country is USA (the parser looks its labels up)."""
    io = io.copy()
    io.calc_all()
    folder.mkdir(parents=True, exist_ok=True)
    codes = dict(zip(io.get_regions(), ["USA", "AUS", "BEL", "BRA", "CAN", "CHN"], strict=True))
    sectors = list(io.get_sectors())
    c_sec = {s: f"c{36 - len(sectors) + i}" for i, s in enumerate(sectors)}  # ... c35
    c_fd = {c: f"c{37 + i}" for i, c in enumerate(io.get_Y_categories())}
    n, m = io.Z.shape[0], io.Y.shape[1]
    width = 4 + n + m + 1
    rows: list[list] = []
    blank = [None] * width
    rows.append([f"World Input-Output Table {year}", *blank[1:]])
    rows.append(list(blank))
    zc = [(codes[r], s) for r, s in io.Z.index]
    yc = [(codes[r], c) for r, c in io.Y.columns]
    rows.append(
        [
            "(industry-by-industry)",
            None,
            None,
            None,
            *[s for _, s in zc],
            *[c_fd[c] for _, c in yc],
            "TOT",
        ]
    )
    rows.append(
        ["(millions of US$)", None, None, None, *[s for _, s in zc], *[c for _, c in yc], "Total"]
    )
    rows.append([None, None, None, None, *[r for r, _ in zc], *[r for r, _ in yc], "TOT"])
    rows.append(
        [None, None, None, None, *[c_sec[s] for _, s in zc], *[c_fd[c] for _, c in yc], "c62"]
    )
    Z, Y = io.Z.to_numpy(), io.Y.to_numpy()
    for i, (r, s) in enumerate(zc):
        vals = [*Z[i], *Y[i]]
        rows.append([s, s, r, c_sec[s], *vals, sum(vals)])
    va = io.factor_inputs.F.to_numpy().sum(axis=0)
    x = io.x.to_numpy().ravel()
    for code, name, vals in (
        ("r60", "Total intermediate consumption", Z.sum(axis=0)),
        ("r64", "Value added at basic prices", va),
        ("r69", "Output at basic prices", x),
    ):
        rows.append([name, name, "TOT", code, *vals, *([0.0] * m), float(np.sum(vals))])
    path = folder / f"wiot{str(year)[-2:]}_row_sep12.xlsx"
    pd.DataFrame(rows).to_excel(path, header=False, index=False)
    return path

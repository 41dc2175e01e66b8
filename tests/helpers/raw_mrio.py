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

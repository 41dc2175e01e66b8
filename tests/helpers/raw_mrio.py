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

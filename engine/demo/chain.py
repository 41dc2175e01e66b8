"""The study's whole chain in the demo: a global MRIO, a provincial MRIO of China, `nest`.

The calibrated demo MRIO (:mod:`footgrid.demo.mrio`: 31 provinces inside 10 foreign regions,
15 sectors, 3 categories) is the "true" nested table. From it the demo writes the two inputs a
user of the study's method has:

- ``global/``: a global MRIO (tables layout) with China as one region ``CN`` (the provinces'
  rows and columns summed), then the foreign regions;
- ``provincial/``: a provincial MRIO of China in the sub-national layout of
  :mod:`footgrid.mrio.subnational` (``rows.csv, cols.csv, Z, Y, exports.csv, imports.csv``)
  with its own classification: :data:`PROVINCIAL_SECTORS` (27 sectors in the style of China's
  provincial input-output tables, each one part of a global sector; each province's split of
  a global sector over its parts is its own) and four final-demand categories (rural and urban
  households, government, capital formation), with the concordances
  ``provincial_sectors.csv`` and ``provincial_categories.csv``. Its values are
  :data:`PROVINCIAL_EXCESS` times the true ones (the provinces' accounts sum above the national
  ones, as China's do); the report of ``nest`` shows that difference;

then runs :func:`footgrid.mrio.nest.nest` (proportional: the global table is the control total)
on those files and writes its result as the bundle's ``mrio/``, with ``nest_report.md``. The
true table carries only shares that a provincial table can carry (a province's share of
China's exports of a sector to a region is the same for every buying sector and category; its
share of China's imports from a region used by a sector or category is the same for every
imported sector), so the nested table equals the true one to rounding and the calibration
holds on it.
"""

from __future__ import annotations

import pathlib
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from footgrid.demo import mrio
from footgrid.demo.geography import PROVINCE_LABELS

if TYPE_CHECKING:
    from footgrid.mrio.nest_report import NestReport
    from footgrid.mrio.tables import MRIOTables

#: Provincial sectors: global sector -> its parts (name, typical weight) in the provincial table.
PROVINCIAL_SECTORS: dict[str, tuple[tuple[str, float], ...]] = {
    "Agriculture": (("Farming forestry and fishery", 1.0),),
    "Mining": (("Coal mining", 0.5), ("Oil and gas extraction", 0.25),
               ("Metal ore mining", 0.15), ("Nonmetal ore mining", 0.1)),
    "Food": (("Food and tobacco", 1.0),),
    "Textiles": (("Textiles", 0.6), ("Apparel and leather", 0.4)),
    "Petroleum": (("Petroleum coking and nuclear fuel", 1.0),),
    "Chemicals": (("Chemical products", 1.0),),
    "Nonmetallic": (("Nonmetallic mineral products", 1.0),),
    "Metals": (("Metal smelting and rolling", 0.75), ("Metal products", 0.25)),
    "Machinery": (("General and special machinery", 0.45), ("Transport equipment", 0.35),
                  ("Electrical machinery", 0.2)),
    "Electronics": (("Communication and computer equipment", 0.85), ("Instruments", 0.15)),
    "OtherMfg": (("Wood and furniture", 0.3), ("Paper and printing", 0.4),
                 ("Other manufacturing", 0.3)),
    "Electricity": (("Electricity and heat", 0.9), ("Gas and water supply", 0.1)),
    "Construction": (("Construction", 1.0),),
    "Transport": (("Transport and storage", 1.0),),
    "Services": (("Wholesale and retail", 0.3), ("Other services", 0.7)),
}  # fmt: skip
#: Provincial final-demand categories -> global category (households split rural / urban).
PROVINCIAL_CATEGORIES: dict[str, tuple[tuple[str, float], ...]] = {
    "households": (("rural households", 0.25), ("urban households", 0.75)),
    "government": (("government", 1.0),),
    "capital": (("capital formation", 1.0),),
}
#: The provincial table's values relative to the true nested table (uniform, so the shares
#: that nesting uses are the true ones).
PROVINCIAL_EXCESS = 1.04
#: Nested country label in the global table.
COUNTRY = mrio.HOME


def _splits(
    parts: dict[str, tuple[tuple[str, float], ...]], rng: np.random.Generator
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(P, n parts) fractions: each province's split of a global label over its parts."""
    names, owner, base = [], [], []
    for g, (label, pairs) in enumerate(parts.items()):
        del label
        for name, w in pairs:
            names.append(name)
            owner.append(g)
            base.append(w)
    owner_a, base_a = np.array(owner), np.array(base)
    f = base_a[None, :] * rng.uniform(0.6, 1.4, (len(PROVINCE_LABELS), len(names)))
    tot = np.zeros((len(PROVINCE_LABELS), len(parts)))
    np.add.at(tot.T, owner_a, f.T)
    return names, owner_a, f / tot[:, owner_a]


def split_tables(Z: np.ndarray, Y: np.ndarray, seed: int) -> dict[str, object]:
    """The global and the provincial table implied by the true nested table (Z, Y) (rows and
    columns as :func:`footgrid.demo.mrio.build_base` orders them).

    Returns a dict of plain arrays and labels (see :func:`write_inputs`).
    """
    P, S, K = len(PROVINCE_LABELS), len(mrio.SECTORS), len(mrio.CATEGORIES)
    F = len(mrio.FOREIGN)
    R = P + F
    Z4 = Z.reshape(R, S, R, S)
    Y4 = Y.reshape(R, S, R, K)
    # Global: provinces summed into CN (region 0), foreign regions after it.
    G = F + 1
    Zg = np.empty((G, S, G, S))
    Yg = np.empty((G, S, G, K))
    Zg[0, :, 0] = Z4[:P, :, :P].sum(axis=(0, 2))
    Zg[0, :, 1:] = Z4[:P, :, P:].sum(axis=0)
    Zg[1:, :, 0] = Z4[P:, :, :P].sum(axis=2)
    Zg[1:, :, 1:] = Z4[P:, :, P:]
    Yg[0, :, 0] = Y4[:P, :, :P].sum(axis=(0, 2))
    Yg[0, :, 1:] = Y4[:P, :, P:].sum(axis=0)
    Yg[1:, :, 0] = Y4[P:, :, :P].sum(axis=2)
    Yg[1:, :, 1:] = Y4[P:, :, P:]

    rng = np.random.default_rng([seed, 17])  # its own stream: the firms do not change
    sec, sec_of, fs = _splits(PROVINCIAL_SECTORS, rng)  # (P, S')
    cat, cat_of, fk = _splits(PROVINCIAL_CATEGORIES, rng)  # (P, K')
    x = PROVINCIAL_EXCESS
    # Z'[(p, a), (q, b)] = Z[(p, i(a)), (q, j(b))] f[p, a] f[q, b]
    dom = Z4[:P, :, :P][:, sec_of][:, :, :, sec_of]  # (P, S', P, S')
    Zp = x * dom * fs[:, :, None, None] * fs[None, None, :, :]
    Yp = x * Y4[:P, :, :P][:, sec_of][:, :, :, cat_of] * fs[:, :, None, None] * fk[None, None]
    exp = Z4[:P, :, P:].sum(axis=3) + Y4[:P, :, P:].sum(axis=3)  # (P, S, F)
    Ep = x * exp[:, sec_of] * fs[:, :, None]  # (P, S', F)
    imp_z = Z4[P:, :, :P].sum(axis=1)[:, :, sec_of] * fs[None]  # (F, P, S')
    imp_y = Y4[P:, :, :P].sum(axis=1)[:, :, cat_of] * fk[None]  # (F, P, K')
    n1, m1 = P * len(sec), P * len(cat)
    return {
        "global_rows": [(r, s) for r in (COUNTRY, *mrio.FOREIGN) for s in mrio.SECTORS],
        "global_cols": [(r, k) for r in (COUNTRY, *mrio.FOREIGN) for k in mrio.CATEGORIES],
        "Zg": Zg.reshape(G * S, G * S),
        "Yg": Yg.reshape(G * S, G * K),
        "rows": [(p, s) for p in PROVINCE_LABELS for s in sec],
        "cols": [(p, k) for p in PROVINCE_LABELS for k in cat],
        "Zp": Zp.reshape(n1, n1),
        "Yp": Yp.reshape(n1, m1),
        "exports": Ep.reshape(n1, F),
        "imports": x * np.concatenate([imp_z.reshape(F, n1), imp_y.reshape(F, m1)], axis=1),
        "sector_concordance": [(a, mrio.SECTORS[i]) for a, i in zip(sec, sec_of, strict=True)],
        "category_concordance": [(a, mrio.CATEGORIES[k]) for a, k in zip(cat, cat_of,
                                                                           strict=True)],
    }  # fmt: skip


def _text(path: pathlib.Path, lines: list[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(lines) + "\n")


def _labels(path: pathlib.Path, header: str, pairs: list[tuple[str, str]]) -> None:
    _text(path, [header] + [f"{a},{b}" for a, b in pairs])


def write_matrix(
    path: pathlib.Path,
    arr: np.ndarray,
    names: list[str] | None = None,
    *,
    compression: str = "none",
) -> None:
    """One Parquet column per column of ``arr`` (named ``names`` or 0, 1, ...), float64.

    No dictionary or statistics (and no compression unless asked): wide tables of distinct
    floats gain little from them and take 4x longer to write.
    """
    names = [str(j) for j in range(arr.shape[1])] if names is None else names
    by_col = np.ascontiguousarray(arr.T)  # contiguous columns: pyarrow takes them as they are
    table = pa.table(dict(zip(names, by_col, strict=True)))
    pq.write_table(table, path, compression=compression, use_dictionary=False,
                   write_statistics=False, row_group_size=1 << 20)  # fmt: skip


def _number_rows(arr: np.ndarray) -> list[str]:
    return [",".join(map(repr, row)) for row in arr.tolist()]


def write_inputs(out: pathlib.Path, parts: dict) -> dict[str, pathlib.Path]:
    """Write ``global/``, ``provincial/`` and the two concordances into ``out``.

    Returns the paths by name (``global``, ``provincial``, ``concordance``,
    ``category_concordance``). Same ``parts`` -> byte-identical files.
    """
    glob, prov = out / "global", out / "provincial"
    glob.mkdir(parents=True, exist_ok=True)
    prov.mkdir(parents=True, exist_ok=True)
    _labels(glob / "rows.csv", "region,sector", parts["global_rows"])
    _labels(glob / "cols.csv", "region,category", parts["global_cols"])
    write_matrix(glob / "Z.parquet", parts["Zg"])
    write_matrix(glob / "Y.parquet", parts["Yg"])
    _labels(prov / "rows.csv", "region,sector", parts["rows"])
    _labels(prov / "cols.csv", "region,category", parts["cols"])
    write_matrix(prov / "Z.parquet", parts["Zp"])
    write_matrix(prov / "Y.parquet", parts["Yp"])
    _text(prov / "exports.csv", [",".join(mrio.FOREIGN), *_number_rows(parts["exports"])])
    width = len(parts["rows"]) + len(parts["cols"])
    head = ",".join(["origin"] + [f"v{j}" for j in range(width)])
    body = _number_rows(parts["imports"])
    _text(prov / "imports.csv", [head] + [f"{r},{b}" for r, b in zip(mrio.FOREIGN, body,
                                                                       strict=True)])  # fmt: skip
    conc, cconc = out / "provincial_sectors.csv", out / "provincial_categories.csv"
    for path, pairs in ((conc, parts["sector_concordance"]),
                        (cconc, parts["category_concordance"])):  # fmt: skip
        _text(path, ["inventory_sector,mrio_sector,weight"] + [f"{a},{b},1.0" for a, b in pairs])
    return {"global": glob, "provincial": prov, "concordance": conc, "category_concordance": cconc}


def nest_demo(
    out: pathlib.Path, Z: np.ndarray, Y: np.ndarray, seed: int
) -> tuple[MRIOTables, NestReport, dict[str, pathlib.Path]]:
    """Write the two input tables implied by the true nested table (Z, Y) and the
    concordances, nest them, write ``nest_report.md``.

    Returns ``(tables, report, paths)``: the nested :class:`~footgrid.mrio.tables.MRIOTables`
    (read back from the written inputs by :func:`footgrid.mrio.nest.nest`), its
    :class:`~footgrid.mrio.nest_report.NestReport` and the input paths.
    """
    # lazy: the nesting code (pandas, scipy.sparse) is only needed when the bundle is written
    from footgrid.mrio.nest import nest

    paths = write_inputs(out, split_tables(Z, Y, seed))
    tables, report = nest(
        paths["global"],
        paths["provincial"],
        country=COUNTRY,
        concordance=paths["concordance"],
        category_concordance=paths["category_concordance"],
        format="tables",
    )
    report.write(out)
    return tables, report, paths

"""The report of :func:`footgrid.mrio.nest.nest`, and writing a nested table to disk.

``nest_report.csv``: by global sector, the provincial table's national totals (mapped to the
global sectors) against the global table's block of the nested country -- output, exports,
imports (by using sector) and domestic final demand (by selling sector) -- with the relative
difference. ``nest_report.md``: the same table, the pairs that fell back to output shares
(also in ``nest_fallbacks.csv``) and the GRAS convergence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from footgrid.mrio.nest_gras import GrasResult
from footgrid.mrio.tables import MRIOTables

MEASURES = ("output", "exports", "imports", "final_demand")


@dataclass(frozen=True, eq=False)
class NestReport:
    """What :func:`~footgrid.mrio.nest.nest` did.

    Attributes
    ----------
    method, country : str
    provinces : list of str
    n_sectors, n_regions : int
        Sectors per region and regions of the nested table.
    comparison : pandas.DataFrame
        Index sector; columns ``<measure>_provincial``, ``<measure>_global``,
        ``<measure>_rel_diff`` for each measure of :data:`MEASURES`.
    fallbacks : pandas.DataFrame
        Columns ``block, from, to, global_flow``: pairs with no provincial information, split
        by output shares.
    gras : GrasResult or None
        The GRAS convergence (``method="gras"``).
    """

    method: str
    country: str
    provinces: list[str]
    n_sectors: int
    n_regions: int
    comparison: pd.DataFrame
    fallbacks: pd.DataFrame
    gras: GrasResult | None = None

    def to_markdown(self) -> str:
        """The report as Markdown text."""
        c = self.comparison
        lines = [
            f"# Nesting {len(self.provinces)} provinces into {self.country}",
            "",
            f"Method: **{self.method}**. Nested table: {self.n_regions} regions x "
            f"{self.n_sectors} sectors. Provinces: {', '.join(self.provinces)}.",
            "",
            "## Provincial national totals vs the global table's block of " + self.country,
            "",
            "Relative difference (provincial - global) / |global|, before nesting, by sector:",
            "",
            "| sector | " + " | ".join(MEASURES) + " |",
            "|---" * (len(MEASURES) + 1) + "|",
        ]
        for sec, row in c.iterrows():
            cells = [_pct(row[f"{m}_rel_diff"]) for m in MEASURES]
            lines.append(f"| {sec} | " + " | ".join(cells) + " |")
        lines += ["", "## Pairs split by output shares (no provincial information)", ""]
        if len(self.fallbacks):
            counts = self.fallbacks.groupby("block", sort=False).size()
            lines.append(", ".join(f"{b}: {k}" for b, k in counts.items()) + " (all in "
                         "nest_fallbacks.csv); the largest:")  # fmt: skip
            lines += ["", "| block | from | to | global flow |", "|---|---|---|---|"]
            top = self.fallbacks.reindex(
                self.fallbacks["global_flow"].abs().sort_values(ascending=False).index
            ).head(20)
            for r in top.itertuples(index=False):
                lines.append(f"| {r.block} | {r[1]} | {r[2]} | {r.global_flow:.6g} |")
        else:
            lines.append("None.")
        lines += ["", "## GRAS", ""]
        g = self.gras
        if g is None:
            lines.append("Not used (proportional method: the global table is the control total).")
        else:
            lines.append(
                f"{'Converged' if g.converged else 'NOT converged'} after {g.iterations} "
                f"iterations (tolerance {g.tol:g}); largest row error {g.row_error:.3g}, column "
                f"error {g.col_error:.3g} (relative to the largest margin); {g.negatives} "
                "negative entries kept."
            )
        return "\n".join(lines) + "\n"

    def write(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write ``nest_report.md``, ``nest_report.csv`` and ``nest_fallbacks.csv``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        md, csv, fb = (folder / n for n in ("nest_report.md", "nest_report.csv",
                                            "nest_fallbacks.csv"))  # fmt: skip
        md.write_text(self.to_markdown())
        self.comparison.to_csv(csv, index_label="sector")
        self.fallbacks.to_csv(fb, index=False)
        return [md, csv, fb]


def _pct(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{100 * x:+.2f} %"


def national_comparison(
    Z4: np.ndarray,
    Y4: np.ndarray,
    c: int,
    d_out: np.ndarray,
    Dy: np.ndarray,
    E: np.ndarray,
    Mi: np.ndarray,
    Mf: np.ndarray,
    sectors: list[str],
) -> pd.DataFrame:
    """National totals of the mapped provincial table vs the global C block, by sector.

    ``d_out`` (P, S): the mapped domestic intermediate sales of each province-sector; ``Dy``
    (P, S, P, K) domestic final demand; ``E`` (P, S, F) exports; ``Mi`` (F, P, S) and ``Mf``
    (F, P, K) imports used by sectors and categories.
    """
    dom_y = Y4[c, :, c, :]
    foreign = [r for r in range(Z4.shape[0]) if r != c]
    # Exports and imports summed over the foreign blocks (not total minus domestic, which
    # leaves rounding noise where there are none).
    glob = {
        "output": Z4[c].sum(axis=(1, 2)) + Y4[c].sum(axis=(1, 2)),
        "exports": Z4[c][:, foreign].sum(axis=(1, 2)) + Y4[c][:, foreign].sum(axis=(1, 2)),
        "imports": Z4[:, :, c, :].sum(axis=1)[foreign].sum(axis=0),  # no copy of Z4
        "final_demand": dom_y.sum(axis=1),
    }
    exports = E.sum(axis=(0, 2))
    prov = {
        "output": d_out.sum(axis=0) + Dy.sum(axis=(0, 2, 3)) + exports,
        "exports": exports,
        "imports": Mi.sum(axis=(0, 1)),
        "final_demand": Dy.sum(axis=(0, 2, 3)),
    }
    out = {}
    for m in MEASURES:
        a, b = prov[m], glob[m]
        out[f"{m}_provincial"] = a
        out[f"{m}_global"] = b
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(b != 0, (a - b) / np.abs(b), np.where(a == 0, 0.0, np.inf))
        out[f"{m}_rel_diff"] = rel
    return pd.DataFrame(out, index=pd.Index(sectors, name="sector"))


def write_tables(tables: MRIOTables, folder: str | os.PathLike[str]) -> Path:
    """Write an MRIO in the tables layout (``rows.csv, cols.csv, Z.parquet, Y.parquet``) that
    :func:`~footgrid.mrio.tables.load_mrio` reads with ``format="tables"``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables.rows.to_frame(index=False).to_csv(folder / "rows.csv", index=False)
    tables.cols.to_frame(index=False).to_csv(folder / "cols.csv", index=False)
    for name, arr in (("Z", tables.Z), ("Y", tables.Y)):
        df = pd.DataFrame(arr, columns=[str(i) for i in range(arr.shape[1])], copy=False)
        df.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def write_pymrio(tables: MRIOTables, folder: str | os.PathLike[str], name: str) -> Path:
    """Write an MRIO as a pymrio folder (``pymrio.IOSystem(Z=..., Y=...).save_all``)."""
    import pymrio  # heavy, and only needed when a pymrio folder is asked for

    Z = pd.DataFrame(tables.Z, index=tables.rows, columns=tables.rows)
    Y = pd.DataFrame(tables.Y, index=tables.rows, columns=tables.cols)
    io = pymrio.IOSystem(Z=Z, Y=Y, name=name)
    io.save_all(Path(folder))
    return Path(folder)

"""Errors that footgrid raises for bad input or configuration.

Every error names what was expected, what came, where (file, column, row or config key) and the
fix, so that the CLI can print one paragraph and exit with status 2 without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence


class FootgridError(Exception):
    """Base class for user-facing errors (bad input, bad config); the CLI exits 2 on them.

    Parameters
    ----------
    what
        One sentence saying what is wrong (expected vs. found).
    file, column, row, key
        Where the problem is: input file, column name, row number(s) (0-based data rows),
        or config key (``section.key``).
    fix
        What the user should do.
    """

    def __init__(
        self,
        what: str,
        *,
        file: object | None = None,
        column: str | None = None,
        row: int | Sequence[int] | None = None,
        key: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.what = what
        self.file = None if file is None else str(file)
        self.column = column
        self.row = row
        self.key = key
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The whole one-paragraph message."""
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.key is not None:
            where.append(f"config key '{self.key}'")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.row is not None:
            where.append(_rows_text(self.row))
        text = self.what.rstrip(".") + "."
        if where:
            text += " Where: " + ", ".join(where) + "."
        if self.fix:
            text += " Fix: " + self.fix.rstrip(".") + "."
        return text


class ConfigError(FootgridError):
    """The TOML config is missing, malformed, or has an unknown or invalid key."""


class InputError(FootgridError):
    """An input file (points, polygons, MRIO, concordance, groups) is missing or malformed."""


class ComputeError(FootgridError):
    """The computation failed for a reason outside the inputs: dask workers died beyond the
    scheduler's allowed retries, or the connection to the cluster was lost. The blocks written
    so far are kept; ``--resume`` finishes the run."""


class MRIOError(InputError):
    """The MRIO tables are inconsistent: negative or non-finite entries, singular (I - A),
    or a producing row with emissions but zero output."""


def _rows_text(row: int | Sequence[int]) -> str:
    if isinstance(row, int):
        return f"row {row}"
    rows = list(row)
    shown = ", ".join(str(r) for r in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"rows {shown}{more}" if len(rows) != 1 else f"row {shown}"

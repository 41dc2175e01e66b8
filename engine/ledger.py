"""The mass-balance ledger: every input tonne is gridded or dropped under a reason."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

#: Reasons a point can be dropped, with what they mean (README's Troubleshooting repeats them).
REASONS = {
    "invalid_coordinates": "NaN/inf coordinates, or lon/lat outside [-180, 180] × [-90, 90]",
    "missing_emission": "emission is empty/NaN (counted with 0 t: there are no tonnes to keep)",
    "negative_emission": "emission below zero (counted with its negative tonnes)",
    "missing_sector": "sector is empty",
    "missing_region": "region is empty",
    "outside_regions": "the point lies in none of the [regions] polygons",
    "outside_grid": "the point lies outside the grid bounds",
    "nodata": "a raster cell holds the nodata value (counted with 0 t)",
    "non_finite": "a raster cell is NaN or infinite (counted with 0 t)",
    "zero_output": 'its MRIO row has zero output and [mrio] zero_output = "drop"',
}


@dataclass
class Ledger:
    """Input total, and points and tonnes dropped per reason (float64 throughout)."""

    input_points: int = 0
    input_total: float = 0.0
    dropped: dict[str, list[float]] = field(default_factory=dict)

    def add_input(self, emission: np.ndarray) -> None:
        """Count input points; their total is the sum of the finite emissions."""
        e = np.asarray(emission, dtype=np.float64)
        self.input_points += int(e.shape[0])
        self.input_total += float(e[np.isfinite(e)].sum())

    def drop(self, reason: str, emission: np.ndarray) -> None:
        """Count dropped points and their tonnes (NaN emissions count as 0 t)."""
        if reason not in REASONS:
            raise ValueError(f"unknown drop reason {reason!r}; known: {', '.join(REASONS)}")
        e = np.asarray(emission, dtype=np.float64)
        if e.shape[0] == 0:
            return
        entry = self.dropped.setdefault(reason, [0, 0.0])
        entry[0] += int(e.shape[0])
        entry[1] += float(np.nansum(e))

    def drop_counted(self, reason: str, points: int, emission: float) -> None:
        """Count ``points`` dropped points holding ``emission`` tonnes (already summed)."""
        if reason not in REASONS:
            raise ValueError(f"unknown drop reason {reason!r}; known: {', '.join(REASONS)}")
        if points == 0:
            return
        entry = self.dropped.setdefault(reason, [0, 0.0])
        entry[0] += int(points)
        entry[1] += float(emission)

    def merge(self, other: Ledger) -> None:
        """Add another ledger (e.g. of another input file) into this one."""
        self.input_points += other.input_points
        self.input_total += other.input_total
        for reason, (n, t) in other.dropped.items():
            entry = self.dropped.setdefault(reason, [0, 0.0])
            entry[0] += n
            entry[1] += t

    @property
    def dropped_points(self) -> int:
        """Points dropped for any reason."""
        return int(sum(n for n, _ in self.dropped.values()))

    @property
    def dropped_total(self) -> float:
        """Tonnes dropped for any reason."""
        return float(sum(t for _, t in self.dropped.values()))

    def residual(self, gridded_total: float) -> float:
        """input total - gridded total - dropped total (float64 rounding only)."""
        return self.input_total - gridded_total - self.dropped_total

    def dropped_json(self) -> str:
        """The drops as JSON text: {reason: {"points": n, "emission": t}}."""
        return json.dumps(
            {r: {"points": int(n), "emission": float(t)} for r, (n, t) in self.dropped.items()},
            sort_keys=True,
        )

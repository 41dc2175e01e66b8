"""Analysis of an output store: shares, concentration, hotspots, maps, report, comparison.

Entry points: ``write_report``, ``headline``, ``format_headline`` (``footgrid.analysis.report``),
``write_comparison`` (``footgrid.analysis.compare``), and the pure-numpy concentration measures
``area_share_holding``, ``lorenz_curve``, ``gini`` (``footgrid.analysis.concentration``).
"""

from __future__ import annotations

from footgrid.analysis.compare import write_comparison
from footgrid.analysis.concentration import (
    area_share_holding,
    concentration,
    gini,
    lorenz_curve,
    minimum_area_holding,
)
from footgrid.analysis.report import format_headline, headline, write_report

__all__ = [
    "area_share_holding",
    "concentration",
    "format_headline",
    "gini",
    "headline",
    "lorenz_curve",
    "minimum_area_holding",
    "write_comparison",
    "write_report",
]

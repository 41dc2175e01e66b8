"""Analysis of an output store: shares, concentration, hotspots, maps, report, comparison.

Entry points: ``write_report``, ``headline``, ``format_headline`` (``engine.analysis.report``),
``write_comparison`` (``engine.analysis.compare``), and the pure-numpy concentration measures
``area_share_holding``, ``lorenz_curve``, ``gini`` (``engine.analysis.concentration``).
"""

from __future__ import annotations

from engine.analysis.compare import write_comparison
from engine.analysis.concentration import (
    area_share_holding,
    concentration,
    gini,
    lorenz_curve,
    minimum_area_holding,
)
from engine.analysis.report import format_headline, headline, write_report

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

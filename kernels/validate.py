"""Per-point validation in one pass: the first reason (if any) each point must be dropped for."""

from __future__ import annotations

import numpy as np

from footgrid.kernels.jit import ngjit

#: Drop reasons in the order they are checked; a point's code is its 1-based position here
#: (0: valid). The names are the ledger's reasons.
CHECKS = (
    "invalid_coordinates",
    "missing_emission",
    "negative_emission",
    "missing_sector",
    "missing_region",
)


@ngjit
def first_failure(
    cx: np.ndarray,
    cy: np.ndarray,
    emission: np.ndarray,
    sector: np.ndarray,
    region: np.ndarray,
    geographic: bool,
) -> np.ndarray:
    """Code of the first check each point fails, in the order of :data:`CHECKS` (0: none).

    Parameters
    ----------
    cx, cy
        Coordinates (float64); non-finite ones are invalid, and so are longitudes beyond ±180
        or latitudes beyond ±90 when ``geographic``.
    emission
        Tonnes (float64): NaN is missing, below zero is negative.
    sector, region
        Label codes (negative: missing); ``region`` may be empty (no region column).
    geographic
        Whether ``cx, cy`` are longitude and latitude.

    Returns
    -------
    numpy.ndarray
        int8 code per point.
    """
    n = emission.shape[0]
    has_region = region.shape[0] == n
    out = np.zeros(n, dtype=np.int8)
    for p in range(n):
        x = cx[p]
        y = cy[p]
        if not (np.isfinite(x) and np.isfinite(y)):
            out[p] = 1
        elif geographic and (abs(x) > 180.0 or abs(y) > 90.0):
            out[p] = 1
        elif np.isnan(emission[p]):
            out[p] = 2
        elif emission[p] < 0.0:
            out[p] = 3
        elif sector[p] < 0:
            out[p] = 4
        elif has_region and region[p] < 0:
            out[p] = 5
    return out

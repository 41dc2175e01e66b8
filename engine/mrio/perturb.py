"""MRIO uncertainty: mean-preserving lognormal members of Z and Y, coefficients re-solved.

Member ``m`` multiplies every entry of Z and Y by ``lognormal_factor(seed_mrio, m, entry, s)``
(:mod:`footgrid.kernels.ensemble`), entries numbered Z row-major then Y row-major, with
``seed_mrio = seed + MRIO_STREAM`` so that MRIO draws never coincide with the emission draws.
``s`` comes from ``[uncertainty] mrio_rsd``: one relative standard deviation for all entries, or
a folder of standard deviations in the tables layout (``sd / value``; zero entries stay zero).
Each member's coefficients are a fresh :func:`~footgrid.mrio.leontief.attribution_coefficients`
(one LU factorisation per member), aggregated to consumers and mapped to keys as the
deterministic :class:`~footgrid.mrio.attribution.Attribution` is.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from footgrid.errors import MRIOError
from footgrid.kernels.ensemble import lognormal_sigma, perturb_entries
from footgrid.mrio.attribution import Attribution
from footgrid.mrio.consumers import ConsumerMap
from footgrid.mrio.leontief import attribution_coefficients
from footgrid.mrio.tables import MRIOTables, load_mrio

log = logging.getLogger("footgrid")

#: Added to ``[uncertainty] seed`` for the MRIO draws (a separate stream of the same hash).
MRIO_STREAM = 1 << 40


def entry_sigma(mrio: MRIOTables, mrio_rsd: float | str) -> tuple[np.ndarray, np.ndarray]:
    """Log-space deviations of the Z and Y entries (flat; one shared entry for a number)."""
    if not isinstance(mrio_rsd, str):
        s = lognormal_sigma(np.array([float(mrio_rsd)]))
        return s, s
    sd = load_mrio(mrio_rsd, "tables")
    out = []
    for name, value, dev in (("Z", mrio.Z, sd.Z), ("Y", mrio.Y, sd.Y)):
        if dev.shape != value.shape:
            raise MRIOError(
                f"the standard deviations of {name} have shape {dev.shape}, the table "
                f"{value.shape}",
                file=mrio_rsd,
                key="uncertainty.mrio_rsd",
                fix="give standard deviations for every entry, in the tables' row order",
            )
        rsd = np.divide(dev, np.abs(value), out=np.zeros(value.shape), where=value != 0)
        out.append(lognormal_sigma(np.ascontiguousarray(rsd, dtype=np.float64).ravel()))
    return out[0], out[1]


def perturbed_tables(
    Z: np.ndarray,
    Y: np.ndarray,
    sigma_z: np.ndarray,
    sigma_y: np.ndarray,
    seed: int,
    member: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Member ``member`` of (Z, Y): every entry times its mean-1 lognormal factor."""
    s = seed + MRIO_STREAM
    z = perturb_entries(np.ascontiguousarray(Z, dtype=np.float64).ravel(), sigma_z, s, member, 0)
    y = perturb_entries(
        np.ascontiguousarray(Y, dtype=np.float64).ravel(), sigma_y, s, member, Z.size
    )
    return z.reshape(Z.shape), y.reshape(Y.shape)


def key_coefficients(M_full: np.ndarray, cmap: ConsumerMap, att: Attribution) -> np.ndarray:
    """(keys, consumers·categories) coefficients of ``M_full`` (n × m), as ``att.coef``."""
    M = cmap.aggregate(M_full)
    n = M.shape[0]
    coef = np.asarray(att.weights @ M.reshape(n, -1), dtype=np.float64)
    coef[~att.valid] = 0.0
    return coef


def member_coefficients(
    mrio: MRIOTables,
    cmap: ConsumerMap,
    att: Attribution,
    mrio_rsd: float | str,
    seed: int,
    members: int,
) -> np.ndarray:
    """(members, keys, consumers·categories) coefficients, one LU factorisation per member."""
    sigma_z, sigma_y = entry_sigma(mrio, mrio_rsd)
    out = np.empty((members, *att.coef.shape), dtype=np.float64)
    t0 = time.perf_counter()
    for m in range(members):
        Z, Y = perturbed_tables(mrio.Z, mrio.Y, sigma_z, sigma_y, seed, m)
        M_full = attribution_coefficients(Z, Y, allow_negative_y=mrio.allow_negative_y, check=False)
        out[m] = key_coefficients(M_full, cmap, att)
    log.info(
        "MRIO uncertainty: %d members, %.3g s per member (n = %d)",
        members,
        (time.perf_counter() - t0) / max(members, 1),
        mrio.Z.shape[0],
    )
    return out

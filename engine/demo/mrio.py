"""Synthetic nested MRIO for the demo, calibrated to the national shares of Yang et al. (2020).

31 Chinese provinces × 15 sectors sit inside a world of 10 foreign regions with the same sectors;
final demand has three categories (households, government, capital formation; no inventory
change, so Y ≥ 0). Notation follows Miller & Blair (2009).

Construction (all synthetic, deterministic, independent of the firm sample):

- a national technical-coefficient matrix ``T`` (input i per unit output of j; column sums 0.4–0.8)
  is spread over supplying regions by sourcing shares S_i[b, r] (buyer region b buys good i from
  region r; Σ_r S_i[b, r] = 1): A[(r, i), (b, j)] = T[i, j] · S_i[b, r]. Column sums of A equal
  those of T (< 1), so ρ(A) < 1: the system is productive.
- Provinces buy mostly from themselves, then from other provinces ∝ capacity × exp(-distance /
  800 km), and import a sector-specific share; foreign regions buy Chinese goods ∝ the provinces'
  export capacity, which is larger in the coastal hubs.
- Final demand Y[(r, i), (c, k)] = D_c · κ_{c,k} · B[k, i] · S_i[c, r].
- Total output x = L · Y · 1 and Z = A · diag(x), so Z·1 + Y·1 = x exactly (balanced).

Calibration (:func:`calibrate`, after the firms are drawn, because shares depend on the emissions
per producing row e): six scale factors on blocks of Y — the final demand of US, HK, JP and of the
other foreign regions, US households relative to the US's other categories, and Chinese
households' direct electricity use — are found by Newton's method so that

    share[c, k] = Σ_rows e_row · M[row, (c, k)] / Σ e,   M = diag(x)⁻¹ · L · Y

hits :data:`TARGETS`. The result is checked with
:func:`footgrid.mrio.leontief.attribution_coefficients`
on the final (Z, Y), the same arithmetic the pipeline uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

from footgrid.demo.firms import INVENTORY_SECTORS, city_weights, concordance_matrix
from footgrid.demo.geography import (
    COASTAL_PROVINCES,
    HUB_PROVINCES,
    PROVINCE_LABELS,
    Cities,
    province_centroids,
)
from footgrid.mrio.leontief import attribution_coefficients

#: MRIO sectors (same list in every region).
SECTORS: tuple[str, ...] = (
    "Agriculture",
    "Mining",
    "Food",
    "Textiles",
    "Petroleum",
    "Chemicals",
    "Nonmetallic",
    "Metals",
    "Machinery",
    "Electronics",
    "OtherMfg",
    "Electricity",
    "Construction",
    "Transport",
    "Services",
)
#: Foreign regions (final-demand region labels are the consumer labels of the demo).
FOREIGN: tuple[str, ...] = ("US", "EU", "JP", "HK", "KR", "TW", "SG", "IN", "RU", "ROW")
#: Final-demand categories.
CATEGORIES: tuple[str, ...] = ("households", "government", "capital")
#: Consumer label of all Chinese provinces.
HOME = "CN"

#: Calibration targets (fractions): the national figures for 2012 of Yang et al. (2020).
TARGETS: dict[str, float] = {
    "foreign_share": 0.146,  # of all emissions, driven by consumers other than CN
    "US_of_foreign": 0.23,
    "HK_of_foreign": 0.108,
    "JP_of_foreign": 0.09,
    "electricity_of_foreign": 0.42,  # producing sector Electricity, of the foreign-driven part
    "households_of_US": 0.49,  # category households, of the US-linked part
}

# Technical coefficients T[i, j]: input of sector i per unit output of sector j (rows = inputs),
# columns in SECTORS order: Agr Min Food Tex Pet Chem NMM Met Mach Elx OMfg Elc Con Tra Serv.
_T = np.array([
    [.12, .00, .35, .10, .00, .03, .00, .00, .00, .00, .05, .00, .01, .00, .02],  # Agriculture
    [.01, .08, .00, .00, .40, .06, .08, .15, .00, .00, .01, .25, .03, .00, .00],  # Mining
    [.05, .00, .12, .01, .00, .01, .00, .00, .00, .00, .01, .00, .00, .01, .04],  # Food
    [.00, .00, .00, .35, .00, .01, .00, .00, .01, .01, .05, .00, .01, .00, .01],  # Textiles
    [.02, .03, .01, .01, .08, .10, .04, .06, .01, .01, .01, .02, .02, .15, .01],  # Petroleum
    [.10, .03, .03, .10, .05, .30, .05, .02, .04, .08, .10, .01, .03, .01, .02],  # Chemicals
    [.00, .01, .01, .00, .00, .02, .15, .03, .02, .02, .02, .00, .18, .00, .00],  # Nonmetallic
    [.00, .02, .00, .00, .00, .02, .01, .30, .22, .12, .06, .01, .15, .00, .00],  # Metals
    [.01, .04, .01, .01, .01, .01, .02, .02, .25, .06, .02, .04, .04, .05, .01],  # Machinery
    [.00, .01, .00, .00, .00, .01, .01, .01, .08, .35, .02, .05, .04, .01, .02],  # Electronics
    [.01, .01, .04, .02, .00, .02, .02, .01, .02, .03, .20, .00, .06, .01, .03],  # OtherMfg
    [.02, .07, .02, .03, .03, .06, .08, .08, .02, .02, .03, .15, .01, .01, .02],  # Electricity
    [.00, .00, .00, .00, .00, .00, .00, .00, .00, .00, .00, .01, .01, .01, .03],  # Construction
    [.02, .04, .03, .02, .03, .03, .05, .03, .02, .02, .03, .03, .05, .10, .04],  # Transport
    [.04, .08, .07, .06, .04, .05, .06, .04, .06, .06, .06, .06, .08, .12, .20],  # Services
])  # fmt: skip

# Final-demand composition B[k, i] (rows: households, government, capital; each sums to 1).
_B = np.array([
    [.05, .00, .12, .08, .03, .03, .00, .00, .06, .06, .05, .03, .00, .04, .45],
    [.00, .00, .02, .00, .00, .02, .00, .00, .02, .02, .02, .02, .03, .00, .85],
    [.00, .00, .00, .00, .00, .00, .02, .01, .22, .10, .05, .00, .55, .00, .05],
])  # fmt: skip

# Per sector (SECTORS order): share a province buys from itself, share China imports, how
# tradable abroad (1 goods, 0 not), and the coastal-hub multiplier of export capacity.
_OWN = np.array(
    [0.70, 0.50, 0.60, 0.50, 0.50, 0.45, 0.80, 0.50, 0.45, 0.40, 0.55, 0.92, 0.97, 0.70, 0.85]
)
_IMPORT = np.array(
    [0.05, 0.15, 0.05, 0.04, 0.10, 0.10, 0.02, 0.05, 0.10, 0.15, 0.04, 0.0, 0.0, 0.03, 0.03]
)
_TRADABLE = np.array([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0.2, 0.1])
_EXPORT_HUB = np.array([1, 1, 1.5, 3, 1.5, 2, 1, 1.5, 3, 4, 3, 1, 1, 2, 2])
# Export capacity multipliers by kind of province (on top of _EXPORT_HUB): China's exports of
# 2012 left mostly from the eastern seaboard, so foreign-driven production (and the electricity
# it uses, bought mostly inside the province) is far more coastal than domestic-driven production.
_EXPORT_COAST = {"hub": 5.0, "coast": 2.0, "inland": 0.5}

# Final demand (million USD, 2012-like) of China and the foreign regions, in FOREIGN order.
_D_CN = 8.5e6
# Hong Kong's includes the demand it re-exports (the study attributes re-exports to HK).
_D_FOREIGN = np.array([16.2e6, 16.7e6, 6.2e6, 0.36e6, 1.2e6, 0.48e6, 0.29e6, 1.8e6, 2.0e6, 22e6])
# Foreign regions: share of tradable goods bought from China, and from other foreign regions.
_FROM_CHINA = np.array([0.015, 0.012, 0.0135, 0.50, 0.018, 0.016, 0.016, 0.008, 0.013, 0.009])
_FROM_ABROAD = np.array([0.12, 0.15, 0.10, 0.35, 0.20, 0.25, 0.50, 0.12, 0.15, 0.15])
# Category split κ (households, government, capital) for China and for foreign regions.
_KAPPA_CN = np.array([0.40, 0.14, 0.46])
_KAPPA_FOREIGN = np.array([0.62, 0.17, 0.21])


@dataclass(frozen=True)
class BaseMRIO:
    """The uncalibrated MRIO: technical coefficients and final demand split into blocks.

    Attributes
    ----------
    regions
        Region labels: the provinces, then :data:`FOREIGN`.
    rows, cols
        (region, sector) per producing row; (region, category) per final-demand column.
    A
        Technical coefficients (n, n).
    blocks
        Name -> (n, m) part of Y; Y = Σ scale_b · blocks[b]. See :data:`BLOCKS`.
    """

    regions: tuple[str, ...]
    rows: tuple[tuple[str, str], ...]
    cols: tuple[tuple[str, str], ...]
    A: np.ndarray
    blocks: dict[str, np.ndarray]


#: Blocks of Y that calibration scales (all other CN demand is "CN").
BLOCKS = ("CN", "CN_hh_electricity", "US_hh", "US_other", "HK", "JP", "other_foreign")
#: Calibration unknowns (log scale factors).
PARAMS = ("a_US", "a_HK", "a_JP", "a_other", "d_electricity", "h_US")


def _block_scales(theta: np.ndarray) -> np.ndarray:
    a_us, a_hk, a_jp, a_oth, d_e, h_us = np.exp(theta)
    return np.array([1.0, d_e, a_us * h_us, a_us, a_hk, a_jp, a_oth])


def _capacity(cities: Cities) -> np.ndarray:
    """Production capacity shares (n provinces, n sectors) from the firms' city weights."""
    n_prov = len(PROVINCE_LABELS)
    conc = concordance_matrix(SECTORS)
    cap = np.zeros((n_prov, len(SECTORS)))
    for s, spec in enumerate(INVENTORY_SECTORS):
        by_prov = np.bincount(cities.province, weights=city_weights(cities, spec), minlength=n_prov)
        cap += spec.firm_share * by_prov[:, None] * conc[s][None, :]
    population = np.bincount(cities.province, weights=cities.population, minlength=n_prov)
    empty = cap.sum(axis=0) == 0  # sectors without inventory firms: ∝ population
    cap[:, empty] = population[:, None]
    return cap / cap.sum(axis=0)


def _sourcing(cities: Cities, from_china: np.ndarray) -> np.ndarray:
    """Sourcing shares S[i, b, r] (buyer b buys good i from supplier r); Σ_r S = 1."""
    n_prov, n_for = len(PROVINCE_LABELS), len(FOREIGN)
    R = n_prov + n_for
    cap = _capacity(cities)  # (P, S)
    # Export capacity: exports leave from the coast. The hubs' capacity counts
    # _EXPORT_COAST["hub"] · _EXPORT_HUB times, other coasts _EXPORT_COAST["coast"] times its
    # square root, inland provinces _EXPORT_COAST["inland"] times.
    is_hub = np.array([p in HUB_PROVINCES for p in PROVINCE_LABELS])[:, None]
    is_coast = np.array([p in COASTAL_PROVINCES for p in PROVINCE_LABELS])[:, None]
    mult = np.where(
        is_hub,
        _EXPORT_COAST["hub"] * _EXPORT_HUB,
        np.where(is_coast, _EXPORT_COAST["coast"] * np.sqrt(_EXPORT_HUB), _EXPORT_COAST["inland"]),
    )
    export = cap * mult
    export /= export.sum(axis=0)

    lon, lat = province_centroids(cities)
    phi, lam = np.radians(lat)[:, None], np.radians(lon)[:, None]
    cosd = np.sin(phi) * np.sin(phi.T) + np.cos(phi) * np.cos(phi.T) * np.cos(lam - lam.T)
    dist_km = 6371.0 * np.arccos(np.clip(cosd, -1.0, 1.0))  # great circle between centres
    decay = np.exp(-dist_km / 800.0)
    np.fill_diagonal(decay, 0.0)

    # Foreign suppliers of China (and of each other): size, with sector specialisations.
    supplier = np.tile(_D_FOREIGN, (len(SECTORS), 1))  # (S, F)
    f = {name: k for k, name in enumerate(FOREIGN)}
    for sector, region, factor in (
        ("Electronics", "KR", 4), ("Electronics", "TW", 6), ("Electronics", "JP", 2),
        ("Machinery", "JP", 3), ("Machinery", "EU", 2), ("Machinery", "KR", 2),
        ("Mining", "RU", 5), ("Mining", "ROW", 2), ("Petroleum", "RU", 5), ("Petroleum", "ROW", 2),
    ):  # fmt: skip
        supplier[SECTORS.index(sector), f[region]] *= factor
    supplier[:, f["HK"]] *= 0.2  # re-export hub, small own production

    S = np.zeros((len(SECTORS), R, R))
    for i in range(len(SECTORS)):
        # Chinese buyers: own province, other provinces, imports.
        other = cap[None, :, i] * decay  # (P buyers, P suppliers)
        other /= other.sum(axis=1, keepdims=True)
        S[i, :n_prov, :n_prov] = (1.0 - _OWN[i] - _IMPORT[i]) * other
        S[i, :n_prov, :n_prov] += _OWN[i] * np.eye(n_prov)
        S[i, :n_prov, n_prov:] = _IMPORT[i] * supplier[i] / supplier[i].sum()
        # Foreign buyers: China by export capacity, other foreign by size, the rest at home.
        china = from_china * _TRADABLE[i]
        abroad = _FROM_ABROAD * _TRADABLE[i]
        S[i, n_prov:, :n_prov] = china[:, None] * export[None, :, i]
        w = np.tile(supplier[i], (n_for, 1))
        np.fill_diagonal(w, 0.0)
        S[i, n_prov:, n_prov:] = abroad[:, None] * w / w.sum(axis=1, keepdims=True)
        S[i, n_prov:, n_prov:] += np.diag(1.0 - china - abroad)
    return S


def build_base(cities: Cities) -> BaseMRIO:
    """Build the uncalibrated nested MRIO (technical coefficients and Y blocks).

    Parameters
    ----------
    cities
        Real cities; they set province sizes, capacities and distances.

    Returns
    -------
    BaseMRIO
    """
    n_prov, n_sec, n_cat = len(PROVINCE_LABELS), len(SECTORS), len(CATEGORIES)
    regions = PROVINCE_LABELS + FOREIGN
    R = len(regions)
    S_int = _sourcing(cities, 0.8 * _FROM_CHINA)  # intermediates
    S_fin = _sourcing(cities, _FROM_CHINA)  # final goods
    # A[(r, i), (b, j)] = T[i, j] · S_i[b, r]
    A = np.einsum("ibr,ij->ribj", S_int, _T).reshape(R * n_sec, R * n_sec)

    population = np.bincount(cities.province, weights=cities.population, minlength=n_prov)
    income = np.array(
        [
            1.5 if p in HUB_PROVINCES else 1.2 if p in COASTAL_PROVINCES else 1.0
            for p in PROVINCE_LABELS
        ]
    )
    size = population * income
    D = np.concatenate([_D_CN * size / size.sum(), _D_FOREIGN])  # (R,)
    kappa = np.vstack([np.tile(_KAPPA_CN, (n_prov, 1)), np.tile(_KAPPA_FOREIGN, (len(FOREIGN), 1))])
    # Y[(r, i), (c, k)] = D_c · κ_{c,k} · B[k, i] · S_i[c, r]
    Y4 = np.einsum("c,ck,ki,icr->rick", D, kappa, _B, S_fin)  # (R, S, R, K)

    def part(regions_c: list[int], cats: list[int], sectors: list[int] | None = None) -> np.ndarray:
        out = np.zeros_like(Y4)
        rows = slice(None) if sectors is None else sectors
        for c in regions_c:
            for k in cats:
                out[:, rows, c, k] = Y4[:, rows, c, k]
        return out.reshape(R * n_sec, R * n_cat)

    prov = list(range(n_prov))
    f = {name: n_prov + k for k, name in enumerate(FOREIGN)}
    hh, all_k = [0], list(range(n_cat))
    elec = [SECTORS.index("Electricity")]
    blocks = {
        "CN_hh_electricity": part(prov, hh, elec),
        "US_hh": part([f["US"]], hh),
        "US_other": part([f["US"]], [1, 2]),
        "HK": part([f["HK"]], all_k),
        "JP": part([f["JP"]], all_k),
        "other_foreign": part([f[r] for r in FOREIGN if r not in ("US", "HK", "JP")], all_k),
    }
    blocks["CN"] = part(prov, all_k) - blocks["CN_hh_electricity"]
    rows = tuple((r, s) for r in regions for s in SECTORS)
    cols = tuple((c, k) for c in regions for k in CATEGORIES)
    return BaseMRIO(regions, rows, cols, A, {b: blocks[b] for b in BLOCKS})


def consumer_of_cols(cols: tuple[tuple[str, str], ...]) -> np.ndarray:
    """Consumer label of each final-demand column: provinces -> CN, foreign keep their label."""
    home = set(PROVINCE_LABELS)
    return np.array([HOME if c in home else c for c, _ in cols])


def shares(
    M: np.ndarray,
    e_row: np.ndarray,
    rows: tuple[tuple[str, str], ...],
    cols: tuple[tuple[str, str], ...],
) -> dict[str, float]:
    """The calibrated quantities from attribution coefficients M and emissions per row.

    footprint[c, k] = Σ_rows e_row · M[row, (c, k)]; returns the fractions named in TARGETS.
    """
    consumer = consumer_of_cols(cols)
    category = np.array([k for _, k in cols])
    F = e_row @ M
    F_elec = (e_row * np.array([s == "Electricity" for _, s in rows])) @ M
    foreign = consumer != HOME
    us = consumer == "US"
    total_foreign = F[foreign].sum()
    return {
        "foreign_share": float(total_foreign / e_row.sum()),
        "US_of_foreign": float(F[us].sum() / total_foreign),
        "HK_of_foreign": float(F[consumer == "HK"].sum() / total_foreign),
        "JP_of_foreign": float(F[consumer == "JP"].sum() / total_foreign),
        "electricity_of_foreign": float(F_elec[foreign].sum() / total_foreign),
        "households_of_US": float(F[us & (category == "households")].sum() / F[us].sum()),
    }


@dataclass(frozen=True)
class CalibratedMRIO:
    """Calibrated tables and the calibration record.

    Attributes
    ----------
    rows, cols
        Row and column labels.
    Z, Y
        Inter-industry flows (n, n) and final demand (n, m), float64, balanced, Y ≥ 0.
    scales
        Calibrated scale factor per parameter name (:data:`PARAMS`).
    achieved
        Shares recomputed with :func:`footgrid.mrio.leontief.attribution_coefficients` on (Z, Y).
    footprint_t
        Consumer -> category -> t CO2 (from the same computation).
    spectral_radius
        An upper bound on ρ(A) of the final tables (Collatz–Wielandt; A ≥ 0), within 1e-9.
    iterations
        Newton iterations used.
    """

    rows: tuple[tuple[str, str], ...]
    cols: tuple[tuple[str, str], ...]
    Z: np.ndarray
    Y: np.ndarray
    scales: dict[str, float]
    achieved: dict[str, float]
    footprint_t: dict[str, dict[str, float]]
    spectral_radius: float
    iterations: int


def calibrate(base: BaseMRIO, e_prov: np.ndarray, *, tol: float = 1e-10) -> CalibratedMRIO:
    """Scale blocks of Y so that the footprint shares hit :data:`TARGETS` (Newton's method), and
    the record of the result (:func:`fit` then :func:`evaluate`).

    Parameters
    ----------
    base
        The uncalibrated MRIO.
    e_prov
        Emissions per Chinese producing row, (n provinces, n sectors), t CO2.
    tol
        Largest accepted absolute error of a share (fraction).

    Returns
    -------
    CalibratedMRIO

    Raises
    ------
    RuntimeError
        If Newton's method does not converge (targets out of reach for these emissions).
    """
    Z, Y, scales, iterations = fit(base, e_prov, tol=tol)
    return evaluate(base.rows, base.cols, Z, Y, e_prov, scales=scales, iterations=iterations)


def fit(
    base: BaseMRIO, e_prov: np.ndarray, *, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray, dict[str, float], int]:
    """The calibrated tables without their record: ``(Z, Y, scales, iterations)``.

    See :func:`calibrate` (same parameters and errors).
    """
    n = base.A.shape[0]
    e_row = np.zeros(n)
    e_row[: e_prov.size] = e_prov.ravel()
    target = np.array([TARGETS[k] for k in TARGETS])

    # (I - A) is fixed: factorise once and solve each block; L·Y is linear in the block scales.
    lu = scipy.linalg.lu_factor(np.eye(n) - base.A, check_finite=False)
    LY_blocks = np.stack(
        [scipy.linalg.lu_solve(lu, base.blocks[b], check_finite=False) for b in BLOCKS]
    )

    def residual(theta: np.ndarray) -> np.ndarray:
        LY = np.tensordot(_block_scales(theta), LY_blocks, axes=1)
        M = LY / LY.sum(axis=1, keepdims=True)
        return np.array(list(shares(M, e_row, base.rows, base.cols).values())) - target

    theta = np.zeros(len(PARAMS))
    r = residual(theta)
    iterations = 0
    while np.max(np.abs(r)) > tol:
        iterations += 1
        if iterations > 60:
            raise RuntimeError(
                "demo MRIO calibration did not converge (residual shares "
                f"{dict(zip(TARGETS, np.round(r, 6).tolist(), strict=True))}); the drawn "
                "emissions cannot reach the targets: draw more firms or use another seed"
            )
        h = 1e-7
        J = np.column_stack(
            [(residual(theta + h * np.eye(len(theta))[q]) - r) / h for q in range(len(theta))]
        )
        step = np.linalg.lstsq(J, -r, rcond=None)[0]
        step *= min(1.0, 2.0 / max(np.max(np.abs(step)), 1e-300))
        t = 1.0
        while True:
            r_new = residual(theta + t * step)
            if np.linalg.norm(r_new) < np.linalg.norm(r) or t < 1e-6:
                break
            t /= 2.0
        theta, r = theta + t * step, r_new

    Y = np.tensordot(_block_scales(theta), np.stack([base.blocks[b] for b in BLOCKS]), axes=1)
    x = scipy.linalg.lu_solve(lu, Y.sum(axis=1), check_finite=False)
    Z = base.A * x[None, :]
    Z, Y = _round_sig(Z), _round_sig(Y)  # drop last-bit noise so files are byte-stable
    scales = {p: float(v) for p, v in zip(PARAMS, np.exp(theta), strict=True)}
    return Z, Y, scales, iterations


def evaluate(
    rows: tuple[tuple[str, str], ...],
    cols: tuple[tuple[str, str], ...],
    Z: np.ndarray,
    Y: np.ndarray,
    e_prov: np.ndarray,
    *,
    scales: dict[str, float],
    iterations: int,
) -> CalibratedMRIO:
    """The calibration record of the tables (Z, Y): shares, footprints, spectral radius.

    Parameters
    ----------
    rows, cols
        Row and column labels (provinces first, in :data:`PROVINCE_LABELS` order).
    Z, Y
        The tables.
    e_prov
        Emissions per Chinese producing row, (n provinces, n sectors), t CO2.
    scales, iterations
        Recorded as they are (from :func:`calibrate`).

    Returns
    -------
    CalibratedMRIO
    """
    e_row = np.zeros(Z.shape[0])
    e_row[: e_prov.size] = e_prov.ravel()
    M = attribution_coefficients(Z, Y)
    achieved = shares(M, e_row, rows, cols)
    x = Z.sum(axis=1) + Y.sum(axis=1)
    A = Z / x[None, :]
    consumer = consumer_of_cols(cols)
    F = e_row @ M
    footprint: dict[str, dict[str, float]] = {}
    for (_, k), c, v in zip(cols, consumer, F, strict=True):
        footprint.setdefault(str(c), {}).setdefault(k, 0.0)
        footprint[str(c)][k] += float(v)
    return CalibratedMRIO(
        rows=rows,
        cols=cols,
        Z=Z,
        Y=Y,
        scales=scales,
        achieved=achieved,
        footprint_t=footprint,
        spectral_radius=_spectral_radius_bound(A),
        iterations=iterations,
    )


def _round_sig(a: np.ndarray, digits: int = 12) -> np.ndarray:
    """Round to ``digits`` significant digits (zeros stay zero)."""
    mag = np.floor(np.log10(np.abs(a), out=np.zeros_like(a), where=a != 0))
    scale = 10.0 ** (digits - 1 - mag)
    return np.round(a * scale) / scale


def _spectral_radius_bound(A: np.ndarray, iterations: int = 2000) -> float:
    """Upper bound on the spectral radius of a nonnegative matrix (Collatz–Wielandt).

    For A ≥ 0 and any positive v, ρ(A) ≤ max_i (A v)_i / v_i; power iteration tightens the bound.
    Starts from the column-sum bound (v = 1 on Aᵀ) and stops when the bounds meet to 1e-9.
    """
    v = np.ones(A.shape[0])
    upper = float(np.max(A.sum(axis=0)))
    for _ in range(iterations):
        w = np.einsum("ij,i->j", A, v)  # not BLAS gemv: its threads spin on a loaded machine
        ratio = w / v
        upper = min(upper, float(ratio.max()))
        if upper - float(ratio.min()) < 1e-9:
            break
        v = w / w.max()
        if not np.all(v > 0):
            break
    return upper

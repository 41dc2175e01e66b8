"""Synthetic MRIO of EXIOBASE 3's shape for the world demo (49 regions x 200 products x 7 FD).

The labels are real: EXIOBASE 3's region codes (:data:`footgrid.demo.world_geography.EXIO_REGIONS`),
its 200 product names and 7 final-demand category names from the label tables that pymrio ships
(``pymrio/mrio_models/exio3_pxp/sectors.tsv`` and ``finaldemand.tsv``). The numbers are invented
but structured (Miller & Blair notation):

- each product belongs to one of the 15 aggregate sectors of the national demo
  (:data:`footgrid.demo.mrio.SECTORS`, by its EXIOBASE code, e.g. ``p40.11.a`` -> Electricity);
  the aggregate technical coefficients ``T`` of :mod:`footgrid.demo.mrio` are split over the
  products of the supplying sector by fixed seeded weights with lognormal noise and 60 % zeros,
  so column sums stay those of ``T`` (0.4-0.8 < 1): A is productive;
- sourcing shares S_i[b, r] (buyer region b buys product i from region r): a domestic share by
  sector (larger for services and utilities, smaller for small economies), the rest imported
  from the :data:`TRADE_PARTNERS` largest partners by size x exp(-distance / 4000 km) with a
  seeded specialisation factor: domestic blocks dominate, trade goes to neighbours and large
  economies; A[(r, i), (b, j)] = T[i, j] · S_i[b, r];
- final demand Y[(r, i), (c, k)] = D_c · κ_k · B_k[i] · S_i[c, r] with D_c the approximate 2012 GDP
  of :data:`GDP_BN_USD` and κ the EXIOBASE-like category split :data:`KAPPA` (all Y >= 0);
- output x̂ = Σ_{t < 15} A^t · Y · 1 (a truncated Leontief series; no solve), Z = A · diag(x̂);
  the tables layout recomputes x = Z·1 + Y·1, which is then balanced exactly.

``n_products`` below 200 keeps a subset of the real products (every product an inventory sector
maps to, then the others in EXIOBASE order), for quick tests.
"""

from __future__ import annotations

import csv
import importlib.resources
from dataclasses import dataclass

import numpy as np

from footgrid.demo import mrio as national
from footgrid.demo.world_geography import EXIO_REGIONS, great_circle_km

#: Approximate 2012 GDP (billion USD, rounded) of the 49 EXIOBASE regions: the scale of final
#: demand. Rest-of-world regions: the rough sum of their countries.
GDP_BN_USD: dict[str, float] = {
    "AT": 410, "BE": 500, "BG": 54, "CY": 25, "CZ": 210, "DE": 3540, "DK": 330, "EE": 23,
    "ES": 1340, "FI": 260, "FR": 2680, "GR": 245, "HR": 58, "HU": 130, "IE": 225, "IT": 2090,
    "LT": 43, "LU": 57, "LV": 29, "MT": 9, "NL": 830, "PL": 500, "PT": 215, "RO": 170, "SE": 545,
    "SI": 46, "SK": 93, "GB": 2700, "US": 16200, "JP": 6200, "CN": 8500, "CA": 1820, "KR": 1280,
    "BR": 2470, "IN": 1830, "MX": 1200, "RU": 2210, "AU": 1540, "CH": 670, "TR": 880, "TW": 495,
    "NO": 510, "ID": 920, "ZA": 400, "WA": 3000, "WL": 2300, "WE": 900, "WF": 1700, "WM": 2800,
}  # fmt: skip
#: Share of final demand per EXIOBASE category (households, NPISH, government, capital
#: formation, inventories, valuables, exports), with the aggregate composition row of
#: :data:`footgrid.demo.mrio._B` it buys (0 households, 1 government, 2 capital).
KAPPA: tuple[tuple[float, int], ...] = (
    (0.58, 0), (0.015, 1), (0.17, 1), (0.21, 2), (0.01, 2), (0.002, 2), (0.013, 0),
)  # fmt: skip
#: Import partners per buyer region and product (the largest by size x distance decay).
TRADE_PARTNERS = 12
#: Distance decay of trade (km).
DECAY_KM = 4000.0
#: Terms of the truncated Leontief series for x̂.
SERIES_TERMS = 15

# EXIOBASE product code prefix (two digits) -> aggregate sector of the national demo.
_GROUP_OF_PREFIX: dict[str, str] = {
    **dict.fromkeys(("01", "02", "05"), "Agriculture"),
    **dict.fromkeys(("10", "11", "12", "13", "14"), "Mining"),
    **dict.fromkeys(("15", "16"), "Food"),
    **dict.fromkeys(("17", "18", "19"), "Textiles"),
    "23": "Petroleum",
    **dict.fromkeys(("24", "25"), "Chemicals"),
    "26": "Nonmetallic",
    **dict.fromkeys(("27", "28"), "Metals"),
    **dict.fromkeys(("29", "34", "35"), "Machinery"),
    **dict.fromkeys(("30", "31", "32", "33"), "Electronics"),
    **dict.fromkeys(("20", "21", "22", "36", "37"), "OtherMfg"),
    **dict.fromkeys(("40", "41"), "Electricity"),
    "45": "Construction",
    **dict.fromkeys(("60", "61", "62", "63"), "Transport"),
}


def _label_table(name: str) -> list[dict[str, str]]:
    path = importlib.resources.files("pymrio") / "mrio_models" / "exio3_pxp" / name
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def exiobase_products() -> tuple[tuple[str, str], ...]:
    """EXIOBASE 3's 200 products as (code, name), in EXIOBASE order (pymrio's label table)."""
    return tuple((r["ExioCode"], r["ExioName"]) for r in _label_table("sectors.tsv"))


def exiobase_categories() -> tuple[str, ...]:
    """EXIOBASE 3's 7 final-demand category names, in EXIOBASE order (pymrio's label table)."""
    return tuple(r["ExioName"] for r in _label_table("finaldemand.tsv"))


def product_group(code: str) -> int:
    """Index into :data:`footgrid.demo.mrio.SECTORS` of an EXIOBASE product code."""
    return national.SECTORS.index(_GROUP_OF_PREFIX.get(code[1:3], "Services"))


def select_products(n_products: int, required: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """``n_products`` real products: the ``required`` names first, then one of every aggregate
    sector, then the rest in EXIOBASE order; returned in EXIOBASE order."""
    products = exiobase_products()
    names = [n for _, n in products]
    chosen: list[int] = [names.index(n) for n in required]
    for g in range(len(national.SECTORS)):
        if not any(product_group(products[i][0]) == g for i in chosen):
            chosen.append(next(i for i, (c, _) in enumerate(products) if product_group(c) == g))
    n_keep = max(n_products, len(chosen))
    chosen += [i for i in range(len(products)) if i not in chosen]
    return tuple(products[i] for i in sorted(chosen[:n_keep]))


@dataclass(frozen=True)
class WorldMRIO:
    """The tables of the world demo.

    Attributes
    ----------
    rows, cols
        (region, product name) per row; (region, category name) per final-demand column.
    Z, Y
        Inter-industry flows (n, n) and final demand (n, m), float64, Y >= 0.
    spectral_bound
        Largest column sum of Z / x (an upper bound of the spectral radius of A; < 1).
    """

    rows: tuple[tuple[str, str], ...]
    cols: tuple[tuple[str, str], ...]
    Z: np.ndarray
    Y: np.ndarray
    spectral_bound: float


def _split(weights: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Weights normalised to sum 1 within each group (a group's products share its total)."""
    total = np.bincount(groups, weights=weights, minlength=n_groups)
    return weights / total[groups]


def build_world_mrio(
    products: tuple[tuple[str, str], ...],
    centre_lon: np.ndarray,
    centre_lat: np.ndarray,
    seed: int,
) -> WorldMRIO:
    """Build the structured synthetic MRIO (see the module docstring).

    Parameters
    ----------
    products
        (code, name) of the products kept (:func:`select_products`).
    centre_lon, centre_lat
        Centre of every EXIOBASE region (distances for the trade decay), EXIO_REGIONS order.
    seed
        Seed of the weights and noise.

    Returns
    -------
    WorldMRIO
    """
    rng = np.random.default_rng([seed, 49])
    R, P = len(EXIO_REGIONS), len(products)
    n_g = len(national.SECTORS)
    group = np.array([product_group(c) for c, _ in products], dtype=np.int64)
    cats = exiobase_categories()
    # Technical coefficients by product: aggregate T split over the supplying group's products.
    supply_w = _split(rng.lognormal(0.0, 1.0, P), group, n_g)
    noise = rng.lognormal(0.0, 0.8, (P, P)) * (rng.random((P, P)) < 0.4)
    noise[np.arange(P), np.arange(P)] += 1.0  # every product uses some of itself
    raw = supply_w[:, None] * noise
    # Rescale each (supplying group, buying product) block to the aggregate coefficient.
    for g in range(n_g):  # a block left empty by the zeros buys from its main product
        members = np.flatnonzero(group == g)
        empty = raw[members].sum(axis=0) == 0
        raw[members[np.argmax(supply_w[members])], empty] = 1.0
    block = np.zeros((n_g, P))
    np.add.at(block, group, raw)
    T = raw / block[group] * national._T[group][:, group]  # blocks sum to T[g(i), g(j)]

    # Sourcing shares S[i, b, r].
    gdp = np.array([GDP_BN_USD[r] for r in EXIO_REGIONS], dtype=np.float64)
    dist = great_circle_km(centre_lon, centre_lat)
    gravity = gdp[None, :] * np.exp(-dist / DECAY_KM)  # (buyer, supplier)
    np.fill_diagonal(gravity, 0.0)
    openness = np.clip((np.median(gdp) / gdp) ** 0.25, 0.6, 1.8)  # small economies import more
    own = national._OWN[group]
    tradable = national._TRADABLE[group]
    imports = np.clip((1.0 - own)[:, None] * tradable[:, None] * openness[None, :], 0.0, 0.9)
    special = rng.lognormal(0.0, 0.6, (P, R))  # supplier specialisation per product
    S = np.zeros((P, R, R))
    for b in range(R):
        w = gravity[b][None, :] * special  # (P, suppliers)
        cut = np.sort(w, axis=1)[:, -TRADE_PARTNERS][:, None]
        w = np.where(w >= cut, w, 0.0)
        S[:, b, :] = imports[:, b, None] * w / w.sum(axis=1, keepdims=True)
        S[:, b, b] = 1.0 - imports[:, b]
    # A[(r, i), (b, j)] = T[i, j] · S[i, b, r]
    A = (S.transpose(2, 0, 1)[:, :, :, None] * T[None, :, None, :]).reshape(R * P, R * P)

    fd_w = _split(rng.lognormal(0.0, 1.0, P), group, n_g)
    B = national._B[:, group] * fd_w[None, :]  # (3, P) composition rows, each sums to 1
    K = len(cats)
    Y = np.zeros((R, P, R, K))
    for k, (kappa, row) in enumerate(KAPPA):
        # Y[r, i, c, k] = D_c · κ_k · B_row[i] · S[i, c, r]
        Y[:, :, :, k] = np.einsum("c,i,icr->ric", gdp * kappa, B[row], S)
    Y = Y.reshape(R * P, R * K)

    f = Y.sum(axis=1)
    x_hat = f.copy()
    term = f
    for _ in range(SERIES_TERMS):
        term = A @ term
        x_hat += term
    A *= x_hat[None, :]  # Z = A · diag(x̂), in place
    Z = A
    x = Z.sum(axis=1) + f
    bound = float((Z.sum(axis=0) / x).max())
    rows = tuple((r, name) for r in EXIO_REGIONS for _, name in products)
    cols = tuple((c, k) for c in EXIO_REGIONS for k in cats)
    return WorldMRIO(rows=rows, cols=cols, Z=Z, Y=Y, spectral_bound=bound)

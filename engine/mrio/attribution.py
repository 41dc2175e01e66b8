"""Connect inventory points to MRIO rows and precompute one coefficient row per point key.

A point p (emission eₚ, producing region rₚ, inventory sector sₚ) is attributed to final demand
(c, k) through the concordance weights w(sₚ → j) and the attribution coefficients M
(with M = diag(x)⁻¹ · L · Y, see :mod:`footgrid.mrio.leontief`):

    footprint[c, k] += eₚ · Σⱼ w(sₚ → j) · M[(rₚ, j), (c, k)]

The points carry few distinct (region, inventory sector) pairs -- the *keys*. For each key the
weighted coefficient row ``coef[key] = Σⱼ w · M[(r, j)]`` is computed once, so the gridding
kernel does a single row lookup per point: ``footprint[:, cell] += eₚ · coef[key_id[p]]``.

Producing rows with zero total output (x = 0) have no coefficients. If points put emissions
on such rows, ``zero_output`` decides:

``"error"`` (default)
    :class:`footgrid.errors.MRIOError` naming the rows and the emissions they would receive.
``"drop"``
    keys that map (with any weight) to a zero-output row are marked ``valid = False`` and get a
    zero coefficient row; the pipeline counts their points as dropped under their own reason.
"""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse

from footgrid.errors import InputError, MRIOError
from footgrid.mrio.consumers import ConsumerMap, build_consumer_map
from footgrid.mrio.leontief import cached_coefficients
from footgrid.mrio.tables import MRIOTables

log = logging.getLogger("footgrid")

ZERO_OUTPUT = ("error", "drop")


@dataclass(frozen=True, eq=False)
class Attribution:
    """Consumer-aggregated coefficients and the per-key rows used by the gridding kernel.

    Attributes
    ----------
    consumers, categories : tuple of str
        C consumer and K category labels.
    domestic : numpy.ndarray
        (C,) bool, True for home consumers.
    mrio_rows : pandas.MultiIndex
        The n MRIO producing rows (region, sector).
    M : numpy.ndarray
        (n, C, K) float64 coefficients, summed over the final-demand columns of each cell.
    keys : pandas.MultiIndex
        R distinct (region, inventory_sector) pairs used by the points, sorted.
    weights : scipy.sparse.csr_matrix
        (R, n) concordance weights key -> MRIO row.
    coef : numpy.ndarray
        (R, C*K) float64, C-contiguous, ``weights @ M.reshape(n, C*K)``; zero for invalid keys.
    valid : numpy.ndarray
        (R,) bool; False for keys that map to rows with x = 0 under ``zero_output="drop"``.
    """

    consumers: tuple[str, ...]
    categories: tuple[str, ...]
    domestic: np.ndarray
    mrio_rows: pd.MultiIndex
    M: np.ndarray
    keys: pd.MultiIndex
    weights: scipy.sparse.csr_matrix
    coef: np.ndarray
    valid: np.ndarray

    def emission_by_key(self, key_id: np.ndarray, emissions: np.ndarray) -> np.ndarray:
        """Sum row emissions per key (:func:`emission_by_key`), (R,) float64."""
        return emission_by_key(key_id, emissions, len(self.keys))

    def totals(self, emission_by_key: np.ndarray) -> np.ndarray:
        """Exact national ledger: producing row -> final demand, (n, C, K) float64.

        ``totals[i, c, k] = (weightsᵀ · e)[i] · M[i, c, k]`` where e is the emission per key
        with invalid keys set to 0 (their points are dropped).

        Parameters
        ----------
        emission_by_key
            (R,) emissions summed per key (see :meth:`emission_by_key`).
        """
        e = np.asarray(emission_by_key, dtype=np.float64)
        if e.shape != (len(self.keys),):
            raise ValueError(f"expected ({len(self.keys)},) emissions per key, got {e.shape}")
        e = np.where(self.valid, e, 0.0)
        row_e = np.asarray(self.weights.T @ e).ravel()
        return row_e[:, np.newaxis, np.newaxis] * self.M


def emission_by_key(key_id: np.ndarray, emissions: np.ndarray, n_keys: int) -> np.ndarray:
    """Sum emissions per key: ``bincount(key_id, emissions)``, (n_keys,) float64."""
    return np.bincount(
        np.asarray(key_id, dtype=np.int64),
        weights=np.asarray(emissions, dtype=np.float64),
        minlength=n_keys,
    )


def build_attribution(
    mrio: MRIOTables,
    point_regions: np.ndarray,
    point_sectors: np.ndarray,
    point_emissions: np.ndarray,
    *,
    concordance: pd.DataFrame | None = None,
    consumer_map: ConsumerMap | None = None,
    zero_output: str = "error",
    cache_dir: str | os.PathLike[str] | None = None,
    source_file: str | None = None,
) -> tuple[Attribution, np.ndarray]:
    """Map points to keys and build the :class:`Attribution`.

    Parameters
    ----------
    mrio
        The loaded MRIO.
    point_regions, point_sectors
        (N,) producing-region and inventory-sector labels per point (array, Series or
        Categorical; compared as text). Missing labels are an error: drop such points first.
    point_emissions
        (N,) emissions, used to decide which zero-output rows matter.
    concordance
        From :func:`footgrid.mrio.concordance.load_concordance`; None: sectors are MRIO sectors.
    consumer_map
        From :func:`footgrid.mrio.consumers.build_consumer_map`; None: one consumer per final-demand
        region, categories kept, nothing domestic.
    zero_output
        ``error`` or ``drop`` (see the module docstring).
    cache_dir
        Folder of the coefficient cache; None: no cache.
    source_file
        The points file, named in error messages.

    Returns
    -------
    attribution : Attribution
    key_id : numpy.ndarray
        (N,) int64 in [0, R): the key of each point.

    Raises
    ------
    InputError
        Missing or unknown region / sector labels (listing the nearest valid labels and the
        first offending point rows), non-finite emissions, or a (region, MRIO sector) pair that
        the MRIO lacks.
    MRIOError
        Emissions on zero-output rows under ``zero_output="error"``; singular (I - A).
    """
    if zero_output not in ZERO_OUTPUT:
        raise InputError(
            f"unknown zero_output policy {zero_output!r}",
            key="mrio.zero_output",
            fix="use 'error' or 'drop'",
        )
    emissions = np.asarray(point_emissions, dtype=np.float64)
    n_points = emissions.shape[0]
    r_codes, r_labels = _factorize(point_regions, n_points, "region", source_file)
    s_codes, s_labels = _factorize(point_sectors, n_points, "sector", source_file)
    bad = ~np.isfinite(emissions)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} points have a non-finite emission",
            file=source_file,
            column="emission",
            row=[int(i) for i in np.flatnonzero(bad)[:5]],
            fix="drop or fix these points before attribution",
        )

    # Validate labels on the distinct values only (R ≪ N).
    _check_known(
        r_labels,
        r_codes,
        mrio.regions,
        "region",
        "a producing region of the MRIO",
        source_file,
    )
    if concordance is None:
        sectors = mrio.sectors
        concordance = pd.DataFrame(
            {"inventory_sector": sectors, "mrio_sector": sectors, "weight": 1.0}
        )
        what = "an MRIO sector (no [concordance] given)"
    else:
        what = "an inventory_sector of the concordance"
    inv_codes = pd.unique(concordance["inventory_sector"].astype(str))
    _check_known(s_labels, s_codes, list(inv_codes), "sector", what, source_file)

    # Keys: distinct (region code, sector code) pairs, sorted, by hashing (no Python loop).
    pair = r_codes * np.int64(len(s_labels)) + s_codes
    key_id, uniq = _dense_ids(pair, len(r_labels) * len(s_labels))
    key_region = np.asarray(r_labels, dtype=object)[uniq // len(s_labels)]
    key_sector = np.asarray(s_labels, dtype=object)[uniq % len(s_labels)]
    keys = pd.MultiIndex.from_arrays([key_region, key_sector], names=["region", "inventory_sector"])
    R, n = len(keys), len(mrio.rows)

    weights = _weights(keys, concordance, mrio, source_file)

    try:
        M_full, hit = cached_coefficients(
            mrio.Z,
            mrio.Y,
            cache_dir,
            allow_negative_y=mrio.allow_negative_y,
            check=False,
            x=mrio.x,
        )
    except MRIOError as exc:
        if exc.file is not None:
            raise
        raise MRIOError(
            exc.what + _no_final_demand_hint(mrio), file=mrio.source, fix=exc.fix
        ) from None
    cmap = consumer_map if consumer_map is not None else build_consumer_map(mrio.cols)
    if cmap.m != mrio.Y.shape[1]:
        raise InputError(
            f"the consumer map covers {cmap.m} final-demand columns but the MRIO has "
            f"{mrio.Y.shape[1]}",
            file=mrio.source,
            fix="build the consumer map from this MRIO's columns",
        )
    M = cmap.aggregate(M_full)
    del M_full
    C, K = len(cmap.consumers), len(cmap.categories)

    e_key = emission_by_key(key_id, emissions, R)
    zero = mrio.x <= 0
    touches = np.asarray(weights @ zero.astype(np.float64)).ravel() > 0
    if zero_output == "error":
        row_e = np.asarray(weights.T @ e_key).ravel()
        hot = np.flatnonzero(zero & (row_e != 0))
        if hot.size:
            shown = "; ".join(f"{tuple(mrio.rows[i])} receives {row_e[i]:.6g}" for i in hot[:5])
            raise MRIOError(
                f"{hot.size} MRIO producing row(s) have emissions but zero total output "
                f"(x = 0), so their emissions cannot be attributed: {shown}",
                file=source_file,
                key="mrio.zero_output",
                fix="map these points to sectors with output (check the region and the "
                "concordance), or set zero_output = 'drop' to count them as dropped",
            )
        valid = np.ones(R, dtype=bool)
    else:
        valid = ~touches
        if not valid.all():
            log.warning(
                "%d (region, sector) keys map to MRIO rows with zero output; their %d points "
                "(%.6g emission) are dropped",
                int((~valid).sum()),
                int((~valid[key_id]).sum()),
                float(e_key[~valid].sum()),
            )
    coef = np.ascontiguousarray(np.asarray(weights @ M.reshape(n, C * K)), dtype=np.float64)
    coef[~valid] = 0.0
    log.info(
        "attribution: %d points, %d keys, %d MRIO rows, %d consumers x %d categories%s",
        n_points,
        R,
        n,
        C,
        K,
        " (coefficients from cache)" if hit else "",
    )
    attribution = Attribution(
        consumers=cmap.consumers,
        categories=cmap.categories,
        domestic=cmap.domestic.copy(),
        mrio_rows=mrio.rows,
        M=M,
        keys=keys,
        weights=weights,
        coef=coef,
        valid=valid,
    )
    return attribution, key_id


def _no_final_demand_hint(mrio: MRIOTables) -> str:
    """Name the producing rows with output but no final demand: where (I - A) degenerates."""
    rows = np.flatnonzero((mrio.x > 0) & (mrio.Y.sum(axis=1) == 0))
    if rows.size == 0:
        return ""
    shown = ", ".join(str(tuple(mrio.rows[i])) for i in rows[:5])
    more = f" and {rows.size - 5} more" if rows.size > 5 else ""
    return f"; rows with output but no final demand: {shown}{more}"


def _dense_ids(pair: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rank the distinct values of ``pair`` (in [0, size)): (ids per element, sorted uniques).

    A counting pass (``bincount`` + ``cumsum``) when the code space is small, else hashing.
    """
    if size <= max(1 << 22, pair.size):
        present = np.bincount(pair, minlength=size) > 0
        rank = np.cumsum(present, dtype=np.int64) - 1
        return rank[pair], np.flatnonzero(present).astype(np.int64)
    codes, uniq = pd.factorize(pair, sort=True)
    return np.asarray(codes, dtype=np.int64), np.asarray(uniq, dtype=np.int64)


def _factorize(
    values: object, n: int, column: str, source_file: str | None
) -> tuple[np.ndarray, list[str]]:
    """Integer codes (int64, N) and text labels of a label column; missing labels are an error."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        values = values.array
    if isinstance(values, pd.Categorical):
        codes = np.asarray(values.codes, dtype=np.int64)
        labels = [str(c) for c in values.categories]
    else:
        arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
        try:
            codes, uniques = pd.factorize(arr, sort=True, use_na_sentinel=True)
        except TypeError:  # mixed types that do not sort; the text labels are sorted below
            codes, uniques = pd.factorize(arr, sort=False, use_na_sentinel=True)
        codes = np.asarray(codes, dtype=np.int64)
        labels = [str(u) for u in uniques]
    if codes.shape != (n,):
        raise InputError(
            f"point {column} labels have shape {codes.shape}, expected ({n},)",
            file=source_file,
            column=column,
        )
    missing = codes < 0
    if missing.any():
        raise InputError(
            f"{int(missing.sum())} points have no {column} label",
            file=source_file,
            column=column,
            row=[int(i) for i in np.flatnonzero(missing)[:5]],
            fix=f"fill in the {column} or drop these points before attribution",
        )
    # Text labels may collide ("1" and 1): merge codes that print the same.
    merged, merged_labels = pd.factorize(np.asarray(labels, dtype=object), sort=True)
    if len(merged_labels) != len(labels) or (merged != np.arange(len(labels))).any():
        codes = np.asarray(merged, dtype=np.int64)[codes]
        labels = [str(u) for u in merged_labels]
    return codes, labels


def _check_known(
    labels: list[str],
    codes: np.ndarray,
    valid: list[str],
    column: str,
    what: str,
    source_file: str | None,
) -> None:
    known = set(valid)
    used = np.bincount(codes, minlength=len(labels)) > 0
    bad = [i for i, lab in enumerate(labels) if used[i] and lab not in known]
    if not bad:
        return
    first = labels[bad[0]]
    near = difflib.get_close_matches(first, valid, n=5, cutoff=0.0)
    rows = np.flatnonzero(np.isin(codes, np.asarray(bad, dtype=np.int64)))
    shown = ", ".join(repr(labels[i]) for i in bad[:5])
    raise InputError(
        f"{len(bad)} {column} label(s) of the points are not {what}: {shown}; nearest valid "
        f"labels to {first!r}: {', '.join(near)}",
        file=source_file,
        column=column,
        row=[int(i) for i in rows[:5]],
        fix=f"use the MRIO's {column} labels"
        + (" or add the codes to the concordance" if column == "sector" else ""),
    )


def _weights(
    keys: pd.MultiIndex,
    concordance: pd.DataFrame,
    mrio: MRIOTables,
    source_file: str | None,
) -> scipy.sparse.csr_matrix:
    """(R, n) concordance weights from each key to the MRIO rows (region, mrio_sector)."""
    kdf = pd.DataFrame(
        {
            "key": np.arange(len(keys)),
            "region": keys.get_level_values(0).astype(str),
            "inventory_sector": keys.get_level_values(1).astype(str),
        }
    )
    conc = concordance[["inventory_sector", "mrio_sector", "weight"]].copy()
    conc["inventory_sector"] = conc["inventory_sector"].astype(str)
    conc["mrio_sector"] = conc["mrio_sector"].astype(str)
    links = kdf.merge(conc, on="inventory_sector", how="inner", sort=False)
    links = links[links["weight"] != 0]
    target = pd.MultiIndex.from_arrays([links["region"], links["mrio_sector"]])
    row = mrio.rows.get_indexer(target)
    if (row < 0).any():
        i = int(np.flatnonzero(row < 0)[0])
        raise InputError(
            f"the MRIO has no producing row ({links['region'].iloc[i]!r}, "
            f"{links['mrio_sector'].iloc[i]!r}), needed by points of inventory sector "
            f"{links['inventory_sector'].iloc[i]!r}",
            file=source_file,
            column="sector",
            fix="map the inventory sector to MRIO sectors that exist in that region",
        )
    W = scipy.sparse.csr_matrix(
        (links["weight"].to_numpy(dtype=np.float64), (links["key"].to_numpy(), row)),
        shape=(len(keys), len(mrio.rows)),
    )
    W.sum_duplicates()
    W.sort_indices()
    return W

"""Final-demand consumers: group the MRIO's final-demand columns into (consumer, category) cells.

An MRIO's final demand has m columns labelled (region, category). footgrid reports footprints
per *consumer* (a final-demand region, or a group of them such as all Chinese provinces ->
``CN``) and per *category* (kept as in the MRIO, or summed into the single label ``all``).
Coefficient columns that fall into the same (consumer, category) cell are summed.

Groups file (CSV, columns ``region,consumer``): maps a final-demand region to a consumer
label. Regions not listed keep their own label as consumer; a region listed that is not a
final-demand region of the MRIO is an error (a likely typo), as is a region listed twice with
two different consumers.

``home`` marks domestic consumers (``domestic`` True); all other consumers are foreign.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse

from footgrid.errors import InputError
from footgrid.io.labels import check_known, read_label_table

CATEGORIES = ("keep", "sum")
ALL = "all"


@dataclass(frozen=True, eq=False)
class ConsumerMap:
    """How the m final-demand columns fold into C consumers × K categories.

    Attributes
    ----------
    consumers : tuple of str
        C consumer labels, in order of first appearance among the MRIO's columns.
    categories : tuple of str
        K category labels (``("all",)`` when summed).
    domestic : numpy.ndarray
        (C,) bool, True for home consumers.
    col_consumer, col_category : numpy.ndarray
        (m,) int64: the consumer and category index of each MRIO final-demand column.
    """

    consumers: tuple[str, ...]
    categories: tuple[str, ...]
    domestic: np.ndarray
    col_consumer: np.ndarray
    col_category: np.ndarray

    @property
    def m(self) -> int:
        """Number of MRIO final-demand columns."""
        return int(self.col_consumer.shape[0])

    @property
    def home(self) -> list[str]:
        """Labels of the domestic consumers."""
        return [c for c, d in zip(self.consumers, self.domestic, strict=True) if d]

    def matrix(self) -> scipy.sparse.csr_matrix:
        """(m, C*K) 0/1 matrix: column j of the MRIO -> cell consumer*K + category."""
        K = len(self.categories)
        cell = self.col_consumer * K + self.col_category
        data = np.ones(self.m, dtype=np.float64)
        return scipy.sparse.csr_matrix(
            (data, (np.arange(self.m), cell)), shape=(self.m, len(self.consumers) * K)
        )

    def aggregate(self, M: np.ndarray) -> np.ndarray:
        """Sum the columns of M (n, m) into (n, C, K), float64.

        Parameters
        ----------
        M
            Attribution coefficients (or any (n, m) array over final-demand columns).

        Returns
        -------
        numpy.ndarray
            (n, C, K) float64, C-contiguous; ``out.sum(axis=(1, 2)) == M.sum(axis=1)``.
        """
        M = np.asarray(M, dtype=np.float64)
        if M.ndim != 2 or M.shape[1] != self.m:
            raise ValueError(f"expected an (n, {self.m}) array, got shape {M.shape}")
        G = self.matrix()
        out = np.ascontiguousarray((G.T @ M.T).T)
        return out.reshape(M.shape[0], len(self.consumers), len(self.categories))


def build_consumer_map(
    cols: pd.MultiIndex,
    groups: str | os.PathLike[str] | None = None,
    categories: str = "keep",
    home: str | Sequence[str] | None = None,
) -> ConsumerMap:
    """Build the consumer map for the MRIO's final-demand columns.

    Parameters
    ----------
    cols
        The MRIO's (region, category) final-demand column labels.
    groups
        Optional CSV with columns ``region,consumer``; unlisted regions keep their own label.
    categories
        ``keep`` (the MRIO's categories) or ``sum`` (one category ``all``).
    home
        Consumer label(s) that count as domestic. Each must be a consumer label (after
        grouping); an unknown label is an error listing the nearest valid ones.

    Returns
    -------
    ConsumerMap

    Raises
    ------
    InputError
        Unreadable or malformed groups file, unknown region in it, conflicting groups, unknown
        ``home`` label, or a bad ``categories`` value.
    """
    if categories not in CATEGORIES:
        raise InputError(
            f"unknown categories mode {categories!r}",
            key="consumers.categories",
            fix="use 'keep' or 'sum'",
        )
    regions = np.asarray(cols.get_level_values(0).astype(str), dtype=object)
    cats = np.asarray(cols.get_level_values(1).astype(str), dtype=object)
    mapping = _read_groups(Path(groups), set(regions)) if groups is not None else {}
    consumer_of_col = np.array([mapping.get(r, r) for r in regions], dtype=object)
    col_consumer, consumer_labels = pd.factorize(consumer_of_col, sort=False)
    if categories == "sum":
        col_category = np.zeros(len(cats), dtype=np.int64)
        category_labels: tuple[str, ...] = (ALL,)
    else:
        col_category, cat_uniques = pd.factorize(cats, sort=False)
        category_labels = tuple(str(c) for c in cat_uniques)
    consumers = tuple(str(c) for c in consumer_labels)
    domestic = np.zeros(len(consumers), dtype=bool)
    if home is not None:
        wanted = [home] if isinstance(home, str) else list(home)
        index = {c: i for i, c in enumerate(consumers)}
        for h in wanted:
            if str(h) not in index:
                near = difflib.get_close_matches(str(h), consumers, n=5, cutoff=0.0)
                raise InputError(
                    f"home consumer {h!r} is not a consumer label; nearest: {', '.join(near)}",
                    key="consumers.home",
                    fix="use consumer labels (final-demand regions, or the consumer labels of "
                    "the groups file)",
                )
            domestic[index[str(h)]] = True
    return ConsumerMap(
        consumers=consumers,
        categories=category_labels,
        domestic=domestic,
        col_consumer=np.asarray(col_consumer, dtype=np.int64),
        col_category=np.asarray(col_category, dtype=np.int64),
    )


def _read_groups(path: Path, regions: set[str]) -> dict[str, str]:
    df = read_label_table(
        path,
        ("region", "consumer"),
        "consumer groups file",
        key="consumers.groups",
        empty="region or consumer labels",
    )
    region, consumer = df["region"], df["consumer"]
    check_known(
        region,
        list(regions),
        path,
        "region",
        "consumer groups file names {n} region(s) that are not final-demand regions of the MRIO",
        "use the MRIO's final-demand region labels",
    )
    pairs = pd.DataFrame({"region": region, "consumer": consumer}).drop_duplicates()
    conflict = pairs["region"].duplicated(keep=False).to_numpy()
    if conflict.any():
        bad = str(pairs["region"][conflict].iloc[0])
        targets = sorted(pairs.loc[pairs["region"] == bad, "consumer"])
        raise InputError(
            f"region {bad!r} is mapped to several consumers ({', '.join(targets)})",
            file=path,
            column="region",
            fix="map every region to exactly one consumer",
        )
    return dict(zip(pairs["region"], pairs["consumer"], strict=True))

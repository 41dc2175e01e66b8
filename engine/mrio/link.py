"""Linking inventory rows to coefficient rows, from [mrio], [concordance] and [consumers]."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from footgrid.config import Config
from footgrid.errors import ConfigError, InputError, MRIOError
from footgrid.mrio.attribution import Attribution, build_attribution
from footgrid.mrio.concordance import load_concordance
from footgrid.mrio.consumers import build_consumer_map
from footgrid.mrio.tables import load_mrio


def cache_dir(cfg: Config) -> str | None:
    """Where coefficient caches live: ``FOOTGRID_CACHE`` or ``<config folder>/.footgrid_cache``."""
    if not cfg.mrio.get("cache", True):
        return None
    env = os.environ.get("FOOTGRID_CACHE")
    if env:
        return env
    base = cfg.source.parent if cfg.source is not None else os.getcwd()
    return os.path.join(base, ".footgrid_cache")


def link_rows(
    cfg: Config,
    region: Any,
    sector: Any,
    emission: np.ndarray,
    where: Callable[[int], tuple[str, int]] | None = None,
) -> tuple[Attribution, np.ndarray, np.ndarray]:
    """Load the MRIO of ``cfg`` and link inventory rows to their coefficient rows.

    Parameters
    ----------
    cfg
        The run's config (``[mrio]``, ``[concordance]``, ``[consumers]``).
    region, sector
        Producing region and inventory sector label of each inventory row (points, raster
        pieces, or (region, sector) keys), categorical or array-like.
    emission
        Tonnes of each row (float64).
    where
        Maps a row number to ``(file, row in file)`` for error messages; None when the rows
        are not input rows (then errors name the labels only).

    Returns
    -------
    attribution : Attribution
    key : numpy.ndarray
        Coefficient row per inventory row (int64).
    keep : numpy.ndarray
        False for rows whose MRIO row has zero output under ``[mrio] zero_output = "drop"``.
    """
    if region is None:
        raise ConfigError(
            "attribution needs each point's producing region",
            file=cfg.source,
            key="points.region",
            fix='name the region column ([points] region = "...") or give [regions] polygons',
        )
    mrio = load_mrio(
        cfg.mrio["path"],
        cfg.mrio["format"],
        negative_final_demand=cfg.mrio["negative_final_demand"],
    )
    concordance = None
    if cfg.concordance is not None:
        concordance = load_concordance(cfg.concordance["path"], mrio.rows.unique(level=1))
    cmap = build_consumer_map(
        mrio.cols,
        groups=cfg.consumers.get("groups"),
        categories=cfg.consumers.get("categories", "keep"),
        home=cfg.consumers.get("home"),
    )
    try:
        att, key = build_attribution(
            mrio,
            region,
            sector,
            emission,
            concordance=concordance,
            consumer_map=cmap,
            zero_output=cfg.mrio["zero_output"],
            cache_dir=cache_dir(cfg),
            source_file=cfg.points["path"],
        )
    except InputError as exc:
        if exc.row is None or isinstance(exc, MRIOError):
            raise
        rows = [exc.row] if isinstance(exc.row, int) else list(exc.row)
        if where is None:  # rows are not input rows: name the labels only
            raise type(exc)(
                exc.what, file=cfg.points["path"], column=exc.column, key=exc.key, fix=exc.fix
            ) from None
        # Rows there count the rows kept so far; name the input file and its own rows.
        places = [where(r) for r in rows]
        first = places[0][0]
        raise InputError(
            exc.what,
            file=first,
            column=exc.column,
            row=[r for f, r in places if f == first],
            key=exc.key,
            fix=exc.fix,
        ) from None
    key = np.asarray(key, dtype=np.int64)
    keep = att.valid[key]
    return att, key, keep

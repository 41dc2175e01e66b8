"""From the config's [mrio], [concordance] and [consumers] sections to per-point rows."""

from __future__ import annotations

import os

import numpy as np

from footgrid.config import Config
from footgrid.errors import ConfigError, InputError, MRIOError
from footgrid.io.points import Points
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


def attribute(cfg: Config, pts: Points) -> tuple[Attribution, np.ndarray, np.ndarray]:
    """Load the MRIO and link every point to its coefficient row.

    Returns
    -------
    attribution : Attribution
    key : numpy.ndarray
        Coefficient row per point (int64).
    keep : numpy.ndarray
        False for points whose row has zero output under ``[mrio] zero_output = "drop"``.
    """
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
    if pts.region is None:
        raise ConfigError(
            "attribution needs each point's producing region",
            file=cfg.source,
            key="points.region",
            fix='name the region column ([points] region = "...") or give [regions] polygons',
        )
    try:
        att, key = build_attribution(
            mrio,
            pts.region,
            pts.sector,
            pts.emission,
            concordance=concordance,
            consumer_map=cmap,
            zero_output=cfg.mrio["zero_output"],
            cache_dir=cache_dir(cfg),
            source_file=cfg.points["path"],
        )
    except InputError as exc:
        if exc.row is None or isinstance(exc, MRIOError):
            raise
        # Rows there count the points kept so far; name the input file and its own rows.
        rows = [exc.row] if isinstance(exc.row, int) else list(exc.row)
        places = [pts.where(r) for r in rows]
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

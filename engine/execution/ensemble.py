"""Uncertainty ensembles computed inside the block tasks (``[uncertainty]``).

Every block task computes the deterministic block and, for the same points, the N members
and their statistics (:func:`footgrid.kernels.ensemble.ensemble_block`): memory is one block
× N values per cell being summed, never N stores. Each point carries a log-space deviation
``sigma`` and a draw id (its stable input row, or a hash of its sector label with
``emission_correlation = "sector"``), partitioned by tile with the same stable sort as the
points themselves, so members depend on ``(seed, member, draw)`` only: not on the number of
workers, the scheduler or the tiling. The members' block totals are journalled next to the
blocks, so ``--resume`` continues an ensemble run too, and summed at the end (blocks in
order) into the per-member headline scalars.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import zarr

from footgrid import store
from footgrid.config import Config
from footgrid.errors import ConfigError, InputError
from footgrid.execution.blocks import (
    BlockId,
    BlockSpec,
    TiledPoints,
    align_up,
    chunk_groups,
    consumer_chunks,
    layers_view,
    partition,
)
from footgrid.execution.ensemble_scalars import (
    FRACTIONS,
    LORENZ_AREA,
    HubPoints,
    deterministic_hubs,
    histogram_scalars,
    hub_member_totals,
)
from footgrid.io.points import Points, expand_paths
from footgrid.kernels import group_by_cell
from footgrid.kernels.ensemble import N_BINS, ensemble_block, lognormal_sigma
from footgrid.mrio.attribution import Attribution
from footgrid.mrio.consumers import build_consumer_map
from footgrid.mrio.perturb import member_coefficients
from footgrid.mrio.tables import load_mrio
from footgrid.store.ensemble import (
    add_statistics,
    journal_histogram,
    journal_members,
    member_histograms,
    member_sums,
    write_members,
)

_NO_COEF = np.zeros((1, 1, 1))
#: Columns (consumers × categories) per ensemble footprint block, at least: every block draws
#: the members' factors of its tile's points again, so fewer, wider blocks draw them fewer
#: times (a block holds 2 + quantiles statistics rasters of this many columns per tile).
ENSEMBLE_COLUMNS = 64


def sector_draw(label: str) -> int:
    """The draw id of a sector (``emission_correlation = "sector"``): a hash of its label."""
    return int.from_bytes(hashlib.blake2b(label.encode(), digest_size=7).digest(), "little")


def point_rsd(cfg: Config, pts: Points, column: np.ndarray | None = None) -> np.ndarray:
    """Relative standard deviation of each point's emission, from ``[uncertainty] emission_rsd``.

    A number applies to every point; a ``{sector = rsd}`` table to the points of each sector
    (every sector of the points must be listed); a string names a points column, read from
    the points files or given as ``column`` (its values at the rows of ``pts``' input, as the
    larger-than-memory plan reads it with the points).
    """
    rsd = cfg.uncertainty["emission_rsd"]
    n = len(pts)
    if isinstance(rsd, dict):
        labels = np.asarray(pts.sector.categories.astype(str))
        missing = [s for s in labels if s not in rsd]
        if missing:
            raise ConfigError(
                f"[uncertainty] emission_rsd has no value for sector {missing[0]!r}",
                file=cfg.source,
                key="uncertainty.emission_rsd",
                fix=f"add {missing[0]} = 0.2 (say) to the table, or give one number",
            )
        per_code = np.array([float(rsd[s]) for s in labels], dtype=np.float64)
        return per_code[np.asarray(pts.sector.codes)]
    if isinstance(rsd, str):
        values = _read_rsd_column(cfg, rsd) if column is None else column
        return _checked_rsd(np.asarray(values, dtype=np.float64)[pts.rows()], pts, rsd)
    return np.full(n, float(rsd), dtype=np.float64)


def rsd_column(cfg: Config) -> str | None:
    """The points column ``[uncertainty] emission_rsd`` names, or None."""
    u = cfg.uncertainty
    return u["emission_rsd"] if u is not None and isinstance(u["emission_rsd"], str) else None


def _read_rsd_column(cfg: Config, column: str) -> np.ndarray:
    """The ``column`` of the points files, concatenated (every input row)."""
    parts = []
    for f in expand_paths(cfg.points["path"]):
        try:
            if f.lower().endswith((".parquet", ".pq")):
                values = pq.read_table(f, columns=[column]).column(0).to_numpy()
            else:
                values = pd.read_csv(f, usecols=[column])[column].to_numpy()
        except (KeyError, ValueError) as exc:
            raise InputError(
                f"the points file has no usable column '{column}' ({str(exc).splitlines()[0]})",
                file=f,
                column=column,
                key="uncertainty.emission_rsd",
                fix="name an existing numeric column, or give one number",
            ) from None
        parts.append(np.asarray(values, dtype=np.float64))
    return np.concatenate(parts)


def _checked_rsd(values: np.ndarray, pts: Points, column: str) -> np.ndarray:
    """``values`` (one per point), checked finite >= 0."""
    bad = ~(np.isfinite(values) & (values >= 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        file, row = pts.where(i)
        raise InputError(
            f"relative standard deviation {values[i]!r} is not a finite number >= 0",
            file=file,
            column=column,
            row=row,
            fix="give every point a relative standard deviation >= 0",
        )
    return values


def point_draws(
    cfg: Config, pts: Points, column: np.ndarray | None = None, row0: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(sigma, draw) per point: log-space deviation and draw id (see the module docstring).

    ``row0`` is the input row of ``pts``' first row (a larger-than-memory partition's offset);
    ``column`` as for :func:`point_rsd`.
    """
    sigma = lognormal_sigma(point_rsd(cfg, pts, column))
    if cfg.uncertainty["emission_correlation"] == "sector":
        codes = np.array([sector_draw(s) for s in pts.sector.categories.astype(str)])
        draw = codes.astype(np.int64)[np.asarray(pts.sector.codes)]
    else:
        draw = pts.rows().astype(np.int64) + np.int64(row0)
    return sigma, draw


def tile_draws(
    cfg: Config, pts: Points, grid: Any, cell: np.ndarray, workers: int | None
) -> TiledPoints:
    """The points' (sigma, draw) partitioned by tile like the points (``emission``, ``key``)."""
    sigma, draw = point_draws(cfg, pts)
    return partition(grid, cell, sigma, draw, workers)


def member_coef(cfg: Config, att: Attribution | None) -> np.ndarray | None:
    """(members, keys, columns) coefficients under ``[uncertainty] mrio_rsd``, else None.

    The MRIO and the consumer map are made as :func:`footgrid.mrio.link.link_rows` makes
    them; see :mod:`footgrid.mrio.perturb` for the draws.
    """
    rsd = cfg.uncertainty["mrio_rsd"]
    if att is None or (not isinstance(rsd, str) and float(rsd) == 0.0):
        return None
    mrio = load_mrio(
        cfg.mrio["path"],
        cfg.mrio["format"],
        negative_final_demand=cfg.mrio["negative_final_demand"],
    )
    cmap = build_consumer_map(
        mrio.cols,
        groups=cfg.consumers.get("groups"),
        categories=cfg.consumers.get("categories", "keep"),
        home=cfg.consumers.get("home"),
    )
    u = cfg.uncertainty
    return member_coefficients(mrio, cmap, att, rsd, int(u["seed"]), int(u["members"]))


@dataclass(frozen=True, eq=False)
class EnsembleSpec(BlockSpec):
    """A :class:`BlockSpec` whose blocks also write the ensemble statistics of the block.

    ``draws`` holds per point, in tile order, ``sigma`` (as ``emission``) and the draw id (as
    ``key``); ``member_coef`` is (members, keys, columns) under MRIO uncertainty, else None.
    """

    members: int
    seed: int
    probs: np.ndarray
    draws: TiledPoints | None
    member_coef: np.ndarray | None

    def compute(self, block: BlockId, pts: tuple) -> np.ndarray:
        """The ensemble statistics of ``block``, its members' totals, then the block itself.

        ``pts`` is a tile's points grouped by cell; the tile's (sigma, draw) come from
        ``draws`` when it is set, else ``pts`` carries them as two more arrays (the
        larger-than-memory plan groups them with the points).
        """
        rows, cols = self.grid.tile_slices(block.tile)
        h, w = rows.stop - rows.start, cols.stop - cols.start
        if len(pts) == 6:
            cells, starts, key, emission, sigma, draw = pts
        else:
            cells, starts, key, emission = pts
            local, draw, sigma = self.draws.tile(block.tile)
            _, _, draw, sigma = group_by_cell(local, draw, sigma, h * w)
        areas, inside, hist = np.zeros(0), np.zeros(0, dtype=bool), np.zeros((2, self.members, 0))
        if block.is_footprint:
            consumers = self.chunks[block.chunk]
            n_cons, n_cat = consumers.stop - consumers.start, self.n_categories
            width, col0 = n_cons * n_cat, consumers.start * n_cat
            coef = self.coef[None] if self.member_coef is None else self.member_coef
            # cell-major groups of k consumers, as the store's chunks
            groups = chunk_groups(consumers, self.chunk_consumers)
            group = self.chunk_consumers * n_cat
        else:
            width, col0, coef = 1, 0, _NO_COEF
            groups, group = [(slice(0, 1), slice(0, 1))], 1
            zgroup = zarr.open_group(self.path, mode="r")
            areas = np.ascontiguousarray(zgroup["cell_area"][rows, cols], dtype=np.float64).ravel()
            inside = np.ascontiguousarray(zgroup["territory"][rows, cols], dtype=bool).ravel()
            hist = np.zeros((2, self.members, N_BINS))
        n_q = len(self.probs)
        mean = np.zeros((len(groups), h * w, group), dtype=self.dtype)
        std = np.zeros((len(groups), h * w, group), dtype=self.dtype)
        quant = np.zeros((n_q, len(groups), h * w, group), dtype=self.dtype)
        sums = np.zeros((self.members, width), dtype=np.float64)
        ensemble_block(
            cells, starts, key, emission, sigma, draw, self.seed, self.members,
            coef, block.is_footprint, col0, width, self.probs, mean, std, quant, sums,
            areas, inside, hist,
        )  # fmt: skip
        if block.is_footprint:
            for g, (part, span) in enumerate(groups):
                index: tuple = (span, slice(None), rows, cols)
                for stat, x in (("mean", mean[g]), ("std", std[g]), ("quantile", quant[:, g])):
                    at = index if stat != "quantile" else (slice(None), *index)
                    cube = layers_view(x, h, w, n_cat, part.stop - part.start)
                    store.write_block(self.path, f"footprint_{stat}", at, cube)
        else:
            store.write_block(self.path, "emissions_mean", (rows, cols), mean.reshape(h, w))
            store.write_block(self.path, "emissions_std", (rows, cols), std.reshape(h, w))
            store.write_block(
                self.path, "emissions_quantile", (slice(None), rows, cols), quant.reshape(n_q, h, w)
            )
            journal_histogram(self.path, block.label, hist)
        journal_members(self.path, block.label, sums)
        return super().compute(block, pts[:4])

    def __dask_tokenize__(self) -> tuple:
        return (*super().__dask_tokenize__(), self.members, self.seed, self.probs,
                self.draws, self.member_coef)  # fmt: skip


class Ensemble:
    """The ensemble of one run: makes its block spec, extends the template, writes the members.

    Parameters
    ----------
    cfg
        The run's config, with an ``[uncertainty]`` section.
    draws
        The points' (sigma, draw) by tile (:func:`tile_draws`).
    member_coef
        (members, keys, columns) coefficients under MRIO uncertainty, else None.
    hub_points
        The plan's points in given hubs (:data:`footgrid.execution.ensemble_scalars.HubPoints`)
        for the members' hub totals; None skips them.
    """

    def __init__(
        self,
        cfg: Config,
        draws: TiledPoints | None,
        member_coef: np.ndarray | None = None,
        hub_points: HubPoints | None = None,
    ) -> None:
        u = cfg.uncertainty
        self.members = int(u["members"])
        self.seed = int(u["seed"])
        self.probs = np.asarray(u["quantiles"], dtype=np.float64)
        self.draws = draws
        self.member_coef = member_coef
        self.hub_points = hub_points

    def spec(self, base: BlockSpec) -> EnsembleSpec:
        """The ensemble counterpart of the plan's block spec ``base``."""
        kept = {f.name: getattr(base, f.name) for f in fields(BlockSpec)}
        wide = ENSEMBLE_COLUMNS // max(base.n_categories, 1)
        kept["consumer_chunk"] = align_up(
            max(base.consumer_chunk, min(wide, base.n_consumers)), base.chunk_consumers
        )
        return EnsembleSpec(
            **kept,
            members=self.members,
            seed=self.seed,
            probs=self.probs,
            draws=self.draws,
            member_coef=self.member_coef,
        )

    def template(self, ds: Any, grid: Any) -> Any:
        """The store template ``ds`` (of a run on ``grid``) with the statistics rasters."""
        tile = (min(grid.tile, grid.ny), min(grid.tile, grid.nx))
        return add_statistics(ds, tuple(self.probs.tolist()), tile)

    def attrs(self) -> dict[str, Any]:
        """Store attributes describing the ensemble."""
        return {"ensemble_members": self.members, "ensemble_seed": self.seed}

    def finish(self, partial: Path, spec: BlockSpec, domestic: tuple[bool, ...]) -> None:
        """Sum the journalled members' block totals and write the per-member scalars.

        Blocks are added in :class:`BlockId` order, so the totals do not depend on the order
        the blocks were computed in.
        """
        recorded = {BlockId.from_label(k): v for k, v in member_sums(partial).items()}
        n = self.members
        emissions = np.zeros(n)
        n_cat = spec.n_categories
        per_col = np.zeros((n, spec.n_consumers * n_cat))
        chunks = consumer_chunks(spec.n_consumers, spec.consumer_chunk)
        for block in sorted(recorded):
            v = recorded[block].reshape(n, -1)
            if block.is_footprint:
                c0 = chunks[block.chunk].start * n_cat
                per_col[:, c0 : c0 + v.shape[1]] += v
            else:
                emissions += v[:, 0]
        data: dict[str, Any] = {"member_emissions_total": (("member",), emissions)}
        if spec.n_consumers:
            per_consumer = per_col.reshape(n, spec.n_consumers, n_cat).sum(axis=2)
            total = per_consumer.sum(axis=1)
            foreign = per_consumer[:, ~np.asarray(domestic, dtype=bool)].sum(axis=1)
            data["member_footprint_total"] = (("member", "consumer"), per_consumer)
            data["member_foreign_share"] = (
                ("member",),
                np.divide(foreign, total, out=np.zeros(n), where=total != 0),
            )
        data.update(self._concentration(partial, sorted(recorded)))
        write_members(partial, data, n)

    def _concentration(self, partial: Path, blocks: list[BlockId]) -> dict[str, Any]:
        """Per-member area shares and Lorenz curves (histograms) and hub totals (re-drawn)."""
        emission_blocks = [b.label for b in blocks if not b.is_footprint]
        hist = member_histograms(partial, emission_blocks, (2, self.members, N_BINS))
        group = zarr.open_group(partial, mode="r")
        territory = np.asarray(group["territory"][...], dtype=bool)
        areas = np.asarray(group["cell_area"][...], dtype=np.float64)
        area = float(areas[territory].sum())
        share, held = histogram_scalars(hist, area)
        data: dict[str, Any] = {
            "fraction": (("fraction",), np.asarray(FRACTIONS)),
            "lorenz_area": (("lorenz_area",), LORENZ_AREA),
            "member_area_share": (("member", "fraction"), share),
            "member_held": (("member", "lorenz_area"), held),
        }
        if self.hub_points is not None:
            labels, totals = deterministic_hubs(partial, areas=areas, territory=territory)
            per = hub_member_totals(labels, totals.size, self.hub_points, self.seed, self.members)
            data["hub"] = (("hub",), np.arange(1, totals.size + 1, dtype=np.int64))
            data["hub_total"] = (("hub",), totals)
            data["member_hub_total"] = (("member", "hub"), per)
        return data

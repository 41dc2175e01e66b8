"""Batch runs: one config, one run per year and/or scenario, one store per run plus an index.

``[batch] years = [2012, 2015]`` and/or ``scenarios = ["bau", "policy"]`` make one run per
value (per pair when both are given). Each run's config is the config's text with ``{year}``
and ``{scenario}`` replaced by its values, so any path may vary (points, MRIO, output). When
``[output] path`` has no placeholder, the run's name is appended to its stem
(``footprint.zarr`` -> ``footprint_2012.zarr``). The index (``[batch] index``, JSON) lists the
runs, their values and stores; it is rewritten after every run, so an interrupted batch shows
what is done, and ``--resume`` skips the complete stores and resumes the interrupted one.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from footgrid import store
from footgrid.config import Config, load_config, load_config_text
from footgrid.errors import ConfigError, InputError
from footgrid.execution.pipeline import grid_emissions, run

log = logging.getLogger("footgrid")

INDEX_VERSION = 1


def batch_runs(cfg: Config) -> list[tuple[str, dict[str, Any], Config]]:
    """The runs of a batch config: ``(name, values, config)`` per run, in order."""
    b = cfg.batch
    axes = [(k, b[k + "s"]) for k in ("year", "scenario") if b[k + "s"] is not None]
    base = cfg.source.parent if cfg.source is not None else Path.cwd()
    out = []
    for combo in itertools.product(*(values for _, values in axes)):
        values = {k: v for (k, _), v in zip(axes, combo, strict=True)}
        name = "_".join(str(v) for v in combo)
        text = cfg.text
        for k, v in values.items():
            text = text.replace("{" + k + "}", str(v))
        if not any("{" + k + "}" in cfg.text for k in values):
            raise ConfigError(
                "[batch] is given but the config uses no {year} / {scenario} placeholder",
                file=cfg.source,
                key="batch",
                fix='put "{year}" (or "{scenario}") into an input path, e.g. "firms_{year}.csv"',
            )
        run_cfg = dataclasses.replace(load_config_text(text, base, cfg.source), batch=None)
        if not any("{" + k + "}" in cfg.output["path"] for k in values):
            p = Path(run_cfg.output["path"])
            run_cfg.output["path"] = str(p.with_name(f"{p.stem}_{name}{p.suffix}"))
        out.append((name, values, run_cfg))
    paths = [c.output["path"] for _, _, c in out]
    if len(set(paths)) != len(paths):
        raise ConfigError(
            "two runs of the batch write the same store",
            file=cfg.source,
            key="output.path",
            fix='put every placeholder of the batch into [output] path, e.g. "out_{year}.zarr"',
        )
    return out


def run_batch(
    config: str | os.PathLike | dict | Config, *, resume: bool = False, progress: bool = False
) -> dict[str, Any]:
    """Run every run of a ``[batch]`` config into its own store and write the index.

    Parameters
    ----------
    config
        A config with a ``[batch]`` section (path, mapping or :class:`Config`).
    resume
        Skip the runs whose store is complete; resume the interrupted one.
    progress
        Show a progress bar per run.

    Returns
    -------
    dict
        The index: ``{"version", "config", "runs": [{"name", "values", "store"}]}``.
    """
    cfg = load_config(config)
    if cfg.batch is None:
        raise ConfigError("the config has no [batch] section", file=cfg.source, key="batch")
    runs = batch_runs(cfg)
    index: dict[str, Any] = {
        "version": INDEX_VERSION,
        "config": str(cfg.source) if cfg.source else None,
        "runs": [
            {"name": n, "values": v, "store": c.output["path"], "complete": False}
            for n, v, c in runs
        ],
    }
    path = Path(cfg.batch["index"])
    for entry, (name, _, run_cfg) in zip(index["runs"], runs, strict=True):
        if resume and store.is_complete(entry["store"]):
            log.info("batch: run %s is complete, skipped", name)
        else:
            log.info("batch: run %s -> %s", name, entry["store"])
            if run_cfg.has_mrio:
                run(run_cfg, resume=resume, progress=progress)
            else:
                grid_emissions(run_cfg, progress=progress)
        entry["complete"] = True
        path.write_text(json.dumps(index, indent=1))
    path.write_text(json.dumps(index, indent=1))
    return index


def read_index(path: str | os.PathLike) -> dict[str, Any]:
    """A batch index written by :func:`run_batch` (store paths as written)."""
    try:
        index = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read the batch index: {exc}",
            file=path,
            fix="pass the JSON index written by `footgrid run` of a [batch] config",
        ) from None
    if not isinstance(index, dict) or index.get("version") != INDEX_VERSION:
        raise InputError("not a footgrid batch index", file=path, fix="pass a batch index")
    return index


def batch_series(path: str | os.PathLike) -> pd.DataFrame:
    """Headline figures of every run of a batch, one row per run (a time series for years).

    Columns: ``run``, the batch values (``year``, ``scenario``), ``total``, ``ledger_total``,
    ``foreign``, ``foreign_share``, ``foreign_area_share_75``.
    """
    from footgrid.analysis.report import headline  # plotting stack: loaded for reports only

    rows = []
    for entry in read_index(path)["runs"]:
        h = headline(entry["store"])
        rows.append(
            {
                "run": entry["name"],
                **entry["values"],
                **{
                    k: h.get(k)
                    for k in (
                        "total",
                        "ledger_total",
                        "foreign",
                        "foreign_share",
                        "foreign_area_share_75",
                    )
                },
            }
        )
    return pd.DataFrame(rows)


def write_batch_report(path: str | os.PathLike, out: Path) -> Path:
    """The batch's headline series (``series.csv``, ``series.md``) and the comparison of each
    pair of consecutive runs (``compare_<a>_<b>/``, :func:`write_comparison`); returns the
    Markdown file."""
    from footgrid.analysis.compare import write_comparison  # plotting stack: reports only

    out.mkdir(parents=True, exist_ok=True)
    series = batch_series(path)
    series.to_csv(out / "series.csv", index=False)
    md = out / "series.md"
    lines = ["| " + " | ".join(series.columns) + " |", "|" + "---|" * len(series.columns)]
    for row in series.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    runs = read_index(path)["runs"]
    for a, b in itertools.pairwise(runs):
        target = out / f"compare_{a['name']}_{b['name']}"
        write_comparison(a["store"], b["store"], target)
        lines.append(f"\n{a['name']} -> {b['name']}: {target.name}/")
    md.write_text("\n".join(lines) + "\n")
    return md


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else str(v)

"""The ``footgrid`` command line: demo, grid, run, report, compare."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from footgrid.analysis.compare import write_comparison
from footgrid.analysis.report import write_report
from footgrid.batch import run_batch, write_batch_report
from footgrid.config import load_config
from footgrid.demo.run import run_demo
from footgrid.errors import ConfigError, FootgridError
from footgrid.execution.pipeline import grid_emissions as grid
from footgrid.execution.pipeline import run

log = logging.getLogger("footgrid")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="footgrid",
        description=(
            "Gridded consumption-based emission maps: scatter point-source emissions onto an "
            "equal-area raster and split every cell by the final consumer whose demand drives "
            "them, through a multi-regional input-output (MRIO) model."
        ),
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    p.add_argument("--quiet", action="store_true", help="only print errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("demo", help="write the demo inputs, run them, and report")
    d.add_argument("--firms", type=int, default=None, help="number of firms (default 200000)")
    d.add_argument("--out", default="footgrid-demo", help="output folder (default ./footgrid-demo)")
    d.add_argument("--seed", type=int, default=2012, help="random seed (default 2012)")

    g = sub.add_parser("grid", help="production-based gridding only (no MRIO needed)")
    g.add_argument("config", help="TOML config file")

    r = sub.add_parser("run", help="the whole pipeline into the output store")
    r.add_argument("config", help="TOML config file")
    r.add_argument("--resume", action="store_true", help="finish an interrupted run")

    rep = sub.add_parser("report", help="tables, maps and an HTML page from a store")
    rep.add_argument("store", help="a footgrid .zarr store, or the .json index of a batch")
    rep.add_argument("--polygons", help="polygon layer for zonal sums (GeoPackage, GeoJSON, ...)")
    rep.add_argument("--field", help="the polygon layer's name field")
    rep.add_argument("--out", help="output folder (default: STORE's folder/report)")

    c = sub.add_parser("compare", help="difference maps and tables between two stores")
    c.add_argument("store_a")
    c.add_argument("store_b")
    c.add_argument("--out", default="comparison", help="output folder (default ./comparison)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``footgrid`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    level = logging.DEBUG if args.debug else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    logging.getLogger("footgrid").setLevel(level)
    try:
        return _dispatch(args)
    except FootgridError as exc:
        if args.debug:
            raise
        print(f"footgrid: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("footgrid: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    if args.command == "grid":
        ds = grid(args.config, progress=not args.quiet)
        _print_balance(ds, args.quiet)
    elif args.command == "run":
        cfg = load_config(args.config)
        if cfg.batch is not None:
            index = run_batch(cfg, resume=args.resume, progress=not args.quiet)
            if not args.quiet:
                print(f"batch: {len(index['runs'])} runs, index {cfg.batch['index']}")
        else:
            ds = run(cfg, resume=args.resume, progress=not args.quiet)
            _print_balance(ds, args.quiet)
    elif args.command == "demo":
        run_demo(Path(args.out), n_firms=args.firms, seed=args.seed, quiet=args.quiet)
    elif args.command == "report":
        if (args.polygons is None) != (args.field is None):
            raise ConfigError("--polygons and --field go together", fix="give both, or neither")
        out = Path(args.out) if args.out else Path(args.store).resolve().parent / "report"
        if Path(args.store).suffix == ".json":  # a batch index: the series of its runs
            md = write_batch_report(args.store, out)
            if not args.quiet:
                print(md.read_text())
            return 0
        index = write_report(args.store, out, polygons=args.polygons, field=args.field)
        if not args.quiet:
            print(f"report: {index}")
    elif args.command == "compare":
        index = write_comparison(args.store_a, args.store_b, Path(args.out))
        if not args.quiet:
            print(f"comparison: {index}")
    if not args.quiet:
        print(f"done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def _print_balance(ds, quiet: bool) -> None:
    if quiet:
        return
    a = ds.attrs
    print(f"store: {ds.encoding.get('source', '')}")
    print(
        f"input {a['input_total']:.6g} t, gridded {a['gridded_total']:.6g} t, dropped "
        f"{a['dropped_total']:.6g} t ({a['dropped_points']} points), residual "
        f"{a['mass_balance_residual']:.3g} t"
    )


def console() -> int:
    """The ``footgrid`` console script: :func:`main`, then a quick interpreter exit.

    With numpy, pandas, numba, dask, xarray and zarr loaded, Python's shutdown spends 0.3 to
    0.6 s in garbage collections over every object of every module before the process ends.
    Nothing is left to collect once the command is done, so the objects are frozen
    (``gc.freeze``: excluded from those collections) and the process exits as soon as the
    output is flushed. Only here, not in :func:`main`, which tests and scripts call in-process.
    """
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    gc.freeze()
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console())

"""The ``footgrid`` command line: demo, grid, run, export, report, compare, nest."""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dask

from footgrid import progress
from footgrid._version import __version__
from footgrid.config import load_config
from footgrid.errors import ConfigError, FootgridError

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

    p.add_argument("--version", action="version", version=f"footgrid {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    p.add_argument(
        "-q", "--quiet", action="store_true", help="only print errors and the final summary"
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", help="print each phase's wall time and info logs"
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("demo", help="write the demo inputs, run them, and report")
    d.add_argument(
        "--firms",
        type=int,
        default=None,
        help="number of firms (default 200000; --world: facilities, default 100000)",
    )
    d.add_argument(
        "--out", help="output folder (default ./footgrid-demo, with --world ./footgrid-world)"
    )
    d.add_argument("--seed", type=int, default=2012, help="random seed (default 2012)")
    d.add_argument(
        "--world",
        action="store_true",
        help="every nation: facilities worldwide, an EXIOBASE-shaped MRIO, 50 km Equal Earth",
    )
    d.add_argument(
        "--products", type=int, default=200, help="--world: EXIOBASE products kept (default 200)"
    )

    g = sub.add_parser("grid", help="production-based gridding only (no MRIO needed)")
    g.add_argument("config", help="TOML config file")

    r = sub.add_parser("run", help="the whole pipeline into the output store")
    r.add_argument("config", help="TOML config file")
    r.add_argument("--resume", action="store_true", help="finish an interrupted run")

    e = sub.add_parser("export", help="Cloud-Optimised GeoTIFFs or a CF NetCDF-4 file")
    e.add_argument("store", help="a footgrid .zarr store")
    e.add_argument("--format", required=True, choices=("cog", "netcdf"))
    e.add_argument("--out", required=True, help="a folder (cog) or a .nc file (netcdf)")
    e.add_argument("--layers", nargs="+", metavar="CONSUMER", help="consumers (default: all)")
    e.add_argument("--crs", help="reproject first, totals kept (e.g. EPSG:4326)")
    e.add_argument("--resolution", type=float, help="cell size in the --crs units")

    rep = sub.add_parser("report", help="tables, maps and an HTML page from a store")
    rep.add_argument("store", help="a footgrid .zarr store, or the .json index of a batch")
    rep.add_argument("--polygons", help="polygon layer for zonal sums (GeoPackage, GeoJSON, ...)")
    rep.add_argument("--field", help="the polygon layer's name field")
    rep.add_argument("--out", help="output folder (default: STORE's folder/report)")
    rep.add_argument(
        "--config", help="the run's config: adds maps and top cities by producing sector"
    )

    c = sub.add_parser("compare", help="difference maps and tables between two stores")
    c.add_argument("store_a")
    c.add_argument("store_b")
    c.add_argument("--out", default="comparison", help="output folder (default ./comparison)")

    n = sub.add_parser(
        "nest",
        help="nest a sub-national MRIO inside a global MRIO",
        description="Replace COUNTRY of the GLOBAL MRIO by the provinces of the SUBNATIONAL "
        "MRIO folder (rows.csv, cols.csv, Z, Y, exports.csv, imports.csv) and write the "
        "nested MRIO in the tables layout, with nest_report.md/.csv.",
    )
    n.add_argument("global_mrio", metavar="GLOBAL", help="global MRIO (any format footgrid reads)")
    n.add_argument("subnational", metavar="SUBNATIONAL", help="sub-national MRIO folder")
    n.add_argument("--country", required=True, help="region of GLOBAL that the provinces replace")
    n.add_argument("--concordance", required=True, help="sector concordance provincial -> global")
    n.add_argument("--category-concordance", help="final-demand category concordance (optional)")
    n.add_argument("--out", required=True, help="output folder")
    n.add_argument("--method", choices=["proportional", "gras"], default="proportional")
    n.add_argument("--format", default="auto", help="format of GLOBAL (default auto)")
    n.add_argument("--tol", type=float, default=1e-10, help="GRAS tolerance (default 1e-10)")
    n.add_argument("--max-iter", type=int, default=2000, help="GRAS iterations (default 2000)")
    n.add_argument("--pymrio", action="store_true", help="also write OUT/pymrio (save_all)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``footgrid`` console script; returns the exit status.

    Errors of input, config and environment (a full disk, a read-only folder) are one
    ``footgrid: error:`` paragraph and exit status 2; Ctrl-C at any moment is exit 130.
    """
    debug = False
    restore = contextlib.ExitStack()
    try:
        args = _parser().parse_args(argv)
        debug = args.debug
        restore.enter_context(_log_levels(args))
        _check_out(args)
        with progress.display(not args.quiet, timings=args.verbose or args.debug):
            return _dispatch(args)
    except FootgridError as exc:
        if debug:
            raise
        print(f"footgrid: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("footgrid: interrupted", file=sys.stderr)
        return 130
    finally:
        restore.close()


def _check_out(args: argparse.Namespace) -> None:
    """``--out`` must name a folder (or nothing yet), not a file."""
    out = getattr(args, "out", None)
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise ConfigError(
            "--out names an existing file, not a folder",
            file=out,
            fix="give --out a folder path (it is created if missing)",
        )


#: Loggers of the libraries a run uses: WARNING by default, INFO with --verbose, ERROR with
#: --quiet (pymrio logs every table it parses, distributed every worker it starts).
_LIBRARY_LOGGERS = ("distributed", "pymrio", "rasterio", "fiona", "pyogrio", "numba", "asyncio")


@contextlib.contextmanager
def _log_levels(args: argparse.Namespace) -> Iterator[None]:
    """The log levels of ``--quiet`` / ``--verbose`` / ``--debug`` while a command runs; the
    previous levels (and dask's logging config) are put back afterwards, so that calling
    :func:`main` in-process leaves the interpreter as it was."""
    names = ["", "footgrid", *_LIBRARY_LOGGERS]
    before = {n: logging.getLogger(n).level for n in names}
    with warnings.catch_warnings(), _set_log_levels(args):
        try:
            yield
        finally:
            for n, level in before.items():
                logging.getLogger(n).setLevel(level)


def _set_log_levels(args: argparse.Namespace) -> Any:
    """Set the levels; returns dask's config change (a context manager that undoes it)."""
    if args.quiet:
        own, libs = logging.ERROR, logging.ERROR
    elif args.debug:
        own, libs = logging.DEBUG, logging.INFO
    elif args.verbose:
        own, libs = logging.INFO, logging.INFO
    else:
        own, libs = logging.INFO, logging.WARNING
    logging.basicConfig(level=own, format="%(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(min(own, libs) if args.debug else libs)
    logging.getLogger("footgrid").setLevel(own)
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(libs)
    # distributed sets up its own loggers (with their own levels and handlers) from dask's
    # config when it is imported: give that config the level first.

    lvl = logging.getLevelName(libs).lower()
    change = dask.config.set(
        {
            "logging": {
                **{
                    f"distributed{sub}": lvl
                    for sub in ("", ".client", ".scheduler", ".nanny", ".worker", ".core")
                },
                "distributed.http.proxy": lvl,
                "bokeh": "critical",
                "tornado": "critical",
                "tornado.application": "error",
            }
        }
    )
    if args.quiet:
        warnings.filterwarnings("ignore")
    return change


def _dispatch(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    if args.command == "grid":
        # lazy: each command imports only what it runs (the report's matplotlib, the demo's
        # geography, nesting), so `footgrid run` starts as fast as `footgrid.run`
        from footgrid.execution.pipeline import grid_emissions

        ds = grid_emissions(args.config, progress=not args.quiet)
        _print_balance(ds)
    elif args.command == "run":
        cfg = load_config(args.config)
        if cfg.batch is not None:
            from footgrid.batch import run_batch  # lazy: see the grid command

            index = run_batch(cfg, resume=args.resume, progress=not args.quiet)
            if not args.quiet:
                print(f"batch: {len(index['runs'])} runs, index {cfg.batch['index']}")
        else:
            from footgrid.execution.pipeline import run  # lazy: see the grid command

            ds = run(cfg, resume=args.resume, progress=not args.quiet)
            _print_balance(ds)
    elif args.command == "export":
        from footgrid.store.export import export  # lazy: see the grid command

        with progress.phase(f"export: {args.format}"):
            files, rep = export(
                args.store,
                args.format,
                args.out,
                layers=args.layers,
                crs=args.crs,
                resolution=args.resolution,
            )
        print(f"export: {len(files)} file(s) in {args.out}")
        if rep is not None:
            print(
                f"reprojected to {args.crs}: {rep.source_total:.6g} t; error before scaling "
                f"{rep.relative_error:.3g} (largest layer {rep.max_layer_error:.3g}), after 0"
            )
    elif args.command == "demo":
        from footgrid.demo.run import run_demo, run_world  # lazy: see the grid command

        if args.world:
            run_world(
                Path(args.out or "footgrid-world"),
                n_facilities=args.firms,
                seed=args.seed,
                n_products=args.products,
                quiet=args.quiet,
            )
        else:
            out = Path(args.out or "footgrid-demo")
            run_demo(out, n_firms=args.firms, seed=args.seed, quiet=args.quiet)
    elif args.command == "report":
        if (args.polygons is None) != (args.field is None):
            raise ConfigError("--polygons and --field go together", fix="give both, or neither")
        out = Path(args.out) if args.out else Path(args.store).resolve().parent / "report"
        if Path(args.store).suffix == ".json":  # a batch index: the series of its runs
            from footgrid.batch import write_batch_report  # lazy: see the grid command

            md = write_batch_report(args.store, out)
            if not args.quiet:
                print(md.read_text())
            return 0
        from footgrid.analysis.report import write_report  # lazy: see the grid command

        with progress.phase("report"):
            index = write_report(
                args.store, out, polygons=args.polygons, field=args.field, config=args.config
            )
        print(f"report: {index}")
    elif args.command == "compare":
        from footgrid.analysis.compare import write_comparison  # lazy: see the grid command

        with progress.phase("comparison"):
            index = write_comparison(args.store_a, args.store_b, Path(args.out))
        print(f"comparison: {index}")
    elif args.command == "nest":
        _nest(args)
    if not args.quiet:
        print(f"done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def _print_balance(ds) -> None:
    """The final summary (printed with --quiet too)."""
    a = ds.attrs
    print(f"store: {ds.encoding.get('source', '')}")
    print(
        f"input {a['input_total']:.6g} t, gridded {a['gridded_total']:.6g} t, dropped "
        f"{a['dropped_total']:.6g} t ({a['dropped_points']} points), residual "
        f"{a['mass_balance_residual']:.3g} t"
    )


def _nest(args: argparse.Namespace) -> None:
    # lazy: see the grid command in _dispatch
    from footgrid.mrio.nest import nest
    from footgrid.mrio.nest_report import write_pymrio, write_tables  # lazy: as above

    tables, report = nest(
        args.global_mrio,
        args.subnational,
        country=args.country,
        concordance=args.concordance,
        category_concordance=args.category_concordance,
        method=args.method,
        tol=args.tol,
        max_iter=args.max_iter,
        format=args.format,
    )
    out = write_tables(tables, args.out)
    if args.pymrio:
        write_pymrio(tables, out / "pymrio", name=f"nested {args.country}")
    report.write(out)
    if not args.quiet:
        g = report.gras
        extra = (
            ""
            if g is None
            else (
                f"; GRAS {'converged' if g.converged else 'NOT converged'} in {g.iterations} "
                f"iterations (row error {g.row_error:.2g}, column error {g.col_error:.2g})"
            )
        )
        print(
            f"nested {len(report.provinces)} provinces into {args.country}: {report.n_regions} "
            f"regions x {report.n_sectors} sectors, {len(report.fallbacks)} pairs split by "
            f"output shares{extra}"
        )
        print(f"tables: {out} (report: {out / 'nest_report.md'})")


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
    if status == 130:
        # Ctrl-C, already reported and cleaned up (locks, staged stores: main's finally
        # blocks). os._exit: a KeyboardInterrupt caught inside exec() of a string (code that
        # libraries build while they import) leaves CPython's "unhandled Ctrl-C" flag set, and
        # the interpreter would end by SIGINT (status -2) instead of 130.
        os._exit(130)
    gc.freeze()
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console())

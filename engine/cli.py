"""The ``footgrid`` command line: demo, grid, run, export, report, compare."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import dask

from footgrid import progress
from footgrid._version import __version__
from footgrid.analysis.compare import write_comparison
from footgrid.analysis.report import write_report
from footgrid.demo.run import run_demo
from footgrid.errors import ConfigError, FootgridError
from footgrid.execution.pipeline import grid_emissions as grid
from footgrid.execution.pipeline import run
from footgrid.store.export import export

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
    d.add_argument("--firms", type=int, default=None, help="number of firms (default 200000)")
    d.add_argument("--out", default="footgrid-demo", help="output folder (default ./footgrid-demo)")
    d.add_argument("--seed", type=int, default=2012, help="random seed (default 2012)")

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
    rep.add_argument("store", help="a footgrid .zarr store")
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
    _set_log_levels(args)
    try:
        with progress.display(not args.quiet, timings=args.verbose or args.debug):
            return _dispatch(args)
    except FootgridError as exc:
        if args.debug:
            raise
        print(f"footgrid: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("footgrid: interrupted", file=sys.stderr)
        return 130


#: Loggers of the libraries a run uses: WARNING by default, INFO with --verbose, ERROR with
#: --quiet (pymrio logs every table it parses, distributed every worker it starts).
_LIBRARY_LOGGERS = ("distributed", "pymrio", "rasterio", "fiona", "pyogrio", "numba", "asyncio")


def _set_log_levels(args: argparse.Namespace) -> None:
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
    dask.config.set(
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
        # imported here: heavy, optional or circular; only this path needs it
        import warnings

        warnings.filterwarnings("ignore")


def _dispatch(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    if args.command == "grid":
        ds = grid(args.config, progress=not args.quiet)
        _print_balance(ds)
    elif args.command == "run":
        ds = run(args.config, resume=args.resume, progress=not args.quiet)
        _print_balance(ds)
    elif args.command == "export":
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
        run_demo(Path(args.out), n_firms=args.firms, seed=args.seed, quiet=args.quiet)
    elif args.command == "report":
        if (args.polygons is None) != (args.field is None):
            raise ConfigError("--polygons and --field go together", fix="give both, or neither")
        out = Path(args.out) if args.out else Path(args.store).resolve().parent / "report"
        with progress.phase("report"):
            index = write_report(args.store, out, polygons=args.polygons, field=args.field)
        print(f"report: {index}")
    elif args.command == "compare":
        with progress.phase("comparison"):
            index = write_comparison(args.store_a, args.store_b, Path(args.out))
        print(f"comparison: {index}")
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

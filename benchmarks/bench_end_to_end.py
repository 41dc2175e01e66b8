"""B3 end to end: ``footgrid.run`` on 1 M and 10 M firms, 50 consumers, 10 km and 1 km grids.

Inputs are generated deterministically (and cached) in ``--workdir``: firms clustered like
China's inventory (lon/lat, 10 sectors, 10 producing provinces), an MRIO of 50 regions × 10
sectors with 3 final-demand categories in the plain tables layout (rows.csv, cols.csv,
Z.parquet, Y.parquet), and one config per case with ``[consumers] categories = "sum"``
(50 consumers).

Every run is a fresh subprocess (``python bench_end_to_end.py --child ...``): the wall time
includes interpreter start, imports and loading Numba's on-disk cache (filled by an untimed
warm-up run of each case), and peak RSS is that of the subprocess tree (psutil polling, or the
child's own high-water mark ``VmHWM`` if larger). Runs of footgrid and of the peer alternate. Both
children freeze the garbage collector before exiting (``gc.freeze``, as the ``footgrid``
console script does), so neither pays Python's 0.3-0.6 s shutdown collections.

Before each run, the store it will write is moved aside (a rename) and every store is deleted
once all cases are measured, so no run deletes files and none creates files right after
thousands were deleted: on ext4 without a journal (these machines), creating a file scans past
the inodes deleted in the last minutes (60 s, or 360 s while the inode table is not yet
written back), which made a run's 5 000 chunk files cost 0.3 to 3 s depending on what the
previous run had deleted. The 10 M × 1 km case needs about 20 GB of free disk for its stores
until the end. The store moved aside is written back (``os.sync``: no run pays for the
previous run's writeback on these 2 cores) and its pages are dropped from the page cache
(``posix_fadvise``): with 1 GB more cache after every run, footgrid's runs grew from 7 to
9-10 s over 14 runs on this VM, a drift that the alternation spreads unevenly over methods.

Peer: the numpy baseline of issue 4 — read the firms, project, bin (floor), solve the MRIO
(``numpy.linalg.solve``), then per consumer ``np.bincount`` of ``e * M[row, c]`` over flat cell
ids into a dense (ny, nx) float64 array, written as float32 to a Zarr v3 array with the same
chunks (k consumers × 1 × tile × tile, cell-major by the transpose codec) and compressor as
footgrid's store: the consumers of one chunk are binned, then written together.

Usage::

    python benchmarks/bench_end_to_end.py                 # full: 1 M and 10 M, 10 km and 1 km
    python benchmarks/bench_end_to_end.py --quick         # 20 k firms, 50 km and 20 km
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    MIB,
    ProcessRun,
    fmt_s,
    machine,
    machine_line,
    print_table,
    python,
    run_measured,
    self_maxrss,
    write_json,
)

NAME = "end_to_end"
N_REGIONS = 50
N_SECTORS = 10
N_PROVINCES = 10  # producing regions where the firms are (the first ones of the MRIO)
CATEGORIES = ("HH", "GOV", "GFCF")
SECTORS = tuple(f"S{i:02d}" for i in range(N_SECTORS))


# ----------------------------------------------------------------------------- inputs
def regions(n_regions: int = N_REGIONS) -> tuple[str, ...]:
    """MRIO region labels: the firms' provinces first, then foreign regions."""
    return tuple(f"CN{i:02d}" for i in range(N_PROVINCES)) + tuple(
        f"R{i:02d}" for i in range(n_regions - N_PROVINCES)
    )


def write_mrio(folder: Path, n_regions: int = N_REGIONS, seed: int = 0) -> None:
    """A random productive MRIO (regions × 10 sectors, 3 categories) in the tables layout."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "Y.parquet").exists():
        return
    rng = np.random.default_rng(seed)
    labels = regions(n_regions)
    n, m = n_regions * N_SECTORS, n_regions * len(CATEGORIES)
    Z = rng.uniform(0.0, 1.0, (n, n)) * rng.uniform(0.2, 1.0, n)
    Y = rng.uniform(0.0, 2.0, (n, m)) * n / m * 4
    pd.DataFrame([(r, s) for r in labels for s in SECTORS], columns=["region", "sector"]).to_csv(
        folder / "rows.csv", index=False
    )
    pd.DataFrame(
        [(r, c) for r in labels for c in CATEGORIES], columns=["region", "category"]
    ).to_csv(folder / "cols.csv", index=False)
    pd.DataFrame(Z, columns=[f"c{i}" for i in range(n)]).to_parquet(folder / "Z.parquet")
    pd.DataFrame(Y, columns=[f"c{i}" for i in range(m)]).to_parquet(folder / "Y.parquet")


def write_firms(path: Path, n: int, seed: int = 0) -> None:
    """``n`` firms (lon/lat, co2_t, sector, province), clustered like China's inventory."""
    if path.exists():
        return
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pyproj

    from benchmarks.data import china_crs, clustered_xy

    x, y, w = clustered_xy(n, seed)
    to_ll = pyproj.Transformer.from_crs(china_crs(), 4326, always_xy=True)
    lon, lat = to_ll.transform(x, y)
    rng = np.random.default_rng(seed + 1)
    # province: by longitude band (geographically coherent), sector: random
    band = np.clip(((lon - 73.0) / (135.0 - 73.0) * N_PROVINCES).astype(np.int64), 0, 9)
    table = pa.table(
        {
            "lon": lon,
            "lat": lat,
            "co2_t": w,
            "sector": pd.Categorical.from_codes(rng.integers(0, N_SECTORS, n), SECTORS),
            "province": pd.Categorical.from_codes(band, regions()[:N_PROVINCES]),
        }
    )
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, row_group_size=1_000_000)
    tmp.rename(path)


def write_config(
    folder: Path,
    firms: Path,
    resolution: float,
    workers: int,
    out: str,
    tag: str = "",
    *,
    mrio: str = "mrio",
    groups: str | None = None,
) -> Path:
    """The TOML config of one case; returns its path."""
    groups_line = f'groups = "{groups}"\n' if groups else ""
    text = f"""[points]
path = "{firms.name}"
lon = "lon"
lat = "lat"
emission = "co2_t"
sector = "sector"
region = "province"

[mrio]
path = "{mrio}"
format = "tables"

[consumers]
{groups_line}categories = "sum"

[grid]
crs = "auto"
resolution = {resolution:g}
tile = 512

[compute]
scheduler = "threads"
workers = {workers}

[output]
path = "{out}"
overwrite = true
"""
    path = folder / f"config_{firms.stem}_{resolution:g}_{tag or f'w{workers}'}.toml"
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- children
def child_engine(config: Path) -> dict[str, Any]:
    """Run ``footgrid.run(config)`` (in a fresh process); returns timing and store facts."""
    t0 = time.perf_counter()
    from footgrid.execution.pipeline import run

    t1 = time.perf_counter()
    ds = run(config)
    t2 = time.perf_counter()
    reply = {
        "import_s": t1 - t0,
        "run_s": t2 - t1,
        "shape": [int(ds.sizes["y"]), int(ds.sizes["x"])],
        "consumers": int(ds.sizes["consumer"]),
        "gridded_total": float(ds.attrs.get("gridded_total", float("nan"))),
        "self_maxrss": self_maxrss(),
    }
    return reply


def _baseline_cells(lon, lat, resolution: float, tile: int):
    import pyproj

    from footgrid.grid import Grid

    crs = Grid.auto_crs(lon, lat)
    x, y = pyproj.Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    g = Grid.from_bounds((x.min(), y.min(), x.max(), y.max()), resolution, crs, tile)
    col = np.floor((x - g.xmin) / g.res_x).astype(np.int64)
    row = np.floor((y - g.ymin) / g.res_y).astype(np.int64)
    np.minimum(col, g.nx - 1, out=col)  # far edge -> last cell
    np.minimum(row, g.ny - 1, out=row)
    return g, (g.ny - 1 - row) * g.nx + col


def child_numpy(config: Path, resolution: float, out: Path, tile: int = 512) -> dict[str, Any]:
    """The numpy baseline: per-consumer bincount into a dense array, written to Zarr v3."""
    t0 = time.perf_counter()
    import pandas as pd
    import zarr

    from footgrid.store import COMPRESSORS
    from footgrid.store.layout import FOOTPRINT_ORDER, footprint_chunk_consumers

    t1 = time.perf_counter()
    folder = config.parent
    firms = pd.read_parquet(next(folder.glob(_firms_name(config))))
    lon = firms["lon"].to_numpy(np.float64)
    lat = firms["lat"].to_numpy(np.float64)
    e = firms["co2_t"].to_numpy(np.float64)
    g, cell = _baseline_cells(lon, lat, resolution, tile)
    del lon, lat
    # MRIO: x = Z1 + Y1, (I - A) X = Y solved, M = diag(x)^-1 X, categories summed.
    mrio = folder / "mrio"
    rows = pd.read_csv(mrio / "rows.csv")
    cols = pd.read_csv(mrio / "cols.csv")
    Z = pd.read_parquet(mrio / "Z.parquet").to_numpy()
    Y = pd.read_parquet(mrio / "Y.parquet").to_numpy()
    xo = Z.sum(axis=1) + Y.sum(axis=1)
    A = Z / xo[np.newaxis, :]
    M = np.linalg.solve(np.eye(len(xo)) - A, Y) / xo[:, np.newaxis]
    consumers = list(dict.fromkeys(cols["region"]))
    cidx = pd.Index(consumers).get_indexer(cols["region"])
    Mc = np.zeros((M.shape[0], len(consumers)))
    np.add.at(Mc.T, cidx, M.T)
    row_of = {
        (r, s): i for i, (r, s) in enumerate(zip(rows["region"], rows["sector"], strict=True))
    }
    pairs = pd.MultiIndex.from_arrays([firms["province"].astype(str), firms["sector"].astype(str)])
    key = np.array([row_of[p] for p in pairs.unique()])[pairs.unique().get_indexer(pairs)]
    del firms, pairs
    t2 = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    root = zarr.open_group(out, mode="w", zarr_format=3)
    chunks = (min(tile, g.ny), min(tile, g.nx))
    kc = footprint_chunk_consumers(len(consumers), 1)
    fp = root.create_array(
        "footprint",
        shape=(len(consumers), 1, *g.shape),
        chunks=(kc, 1, *chunks),
        dtype="float32",
        filters=(zarr.codecs.TransposeCodec(order=FOOTPRINT_ORDER),),
        compressors=COMPRESSORS,
        fill_value=0.0,
    )
    em = root.create_array(
        "emissions", shape=g.shape, chunks=chunks, dtype="float32", compressors=COMPRESSORS,
        fill_value=0.0,
    )  # fmt: skip
    n_cells = g.nx * g.ny
    em[...] = np.bincount(cell, weights=e, minlength=n_cells).reshape(g.shape).astype(np.float32)
    sums = []
    for c0 in range(0, len(consumers), kc):
        group = np.empty((min(kc, len(consumers) - c0), 1, *g.shape), dtype=np.float32)
        for i in range(group.shape[0]):
            w = e * Mc[key, c0 + i]
            dense = np.bincount(cell, weights=w, minlength=n_cells).reshape(g.shape)
            sums.append(float(dense.sum()))
            group[i, 0] = dense
            del dense
        fp[c0 : c0 + group.shape[0]] = group
        del group
    t3 = time.perf_counter()
    return {
        "import_s": t1 - t0,
        "prepare_s": t2 - t1,
        "grid_write_s": t3 - t2,
        "run_s": t3 - t1,
        "shape": list(g.shape),
        "consumers": len(consumers),
        "gridded_total": float(sum(sums)),
        "self_maxrss": self_maxrss(),
    }


def _firms_name(config: Path) -> str:
    return config.name.split("_")[1] + ".parquet"


# ----------------------------------------------------------------------------- measuring
def _measure(kind: str, config: Path, resolution: float) -> ProcessRun:
    me = str(Path(__file__).resolve())
    cmd = [
        python(),
        "-W",
        "error",
        me,
        "--child",
        kind,
        str(config),
        "--resolution",
        str(resolution),
    ]
    return run_measured(cmd, cwd=config.parent)


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _agree(engine_store: Path, numpy_store: Path, n_check: int = 3) -> dict:
    """Compare footgrid's footprint with the baseline's on a few consumers (float32)."""
    import xarray as xr
    import zarr

    ds = xr.open_zarr(engine_store)
    base = zarr.open_group(numpy_store, mode="r")
    worst = 0.0
    ok = True
    picks = np.linspace(0, ds.sizes["consumer"] - 1, n_check).astype(int)
    for c in picks:
        a = ds["footprint"].isel(consumer=int(c), category=0).values.astype(np.float64)
        b = np.asarray(base["footprint"][int(c), 0], dtype=np.float64)
        scale = float(np.abs(b).max() or 1.0)
        worst = max(worst, float(np.abs(a - b).max() / scale))
        ok = ok and a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-5, atol=1e-6 * scale))
    e_a = ds["emissions"].values.astype(np.float64)
    e_b = np.asarray(base["emissions"][...], dtype=np.float64)
    ok = ok and bool(np.allclose(e_a, e_b, rtol=1e-5, atol=1e-6 * float(e_b.max() or 1.0)))
    return {"allclose": ok, "consumers_checked": picks.tolist(), "max_rel_to_peak": worst}


def run_case(
    workdir: Path, n: int, resolution: float, repeat: int, workers: Sequence[int]
) -> dict[str, Any]:
    """Measure footgrid (each worker count) and the numpy baseline on one (firms, grid) case."""
    firms = workdir / f"firms{n}.parquet"
    write_firms(firms, n)
    configs = {
        f"footgrid ({w} worker{'s' if w > 1 else ''})": write_config(
            workdir, firms, resolution, w, f"out_{n}_{resolution:g}_w{w}.zarr"
        )
        for w in workers
    }
    numpy_cfg = write_config(
        workdir, firms, resolution, 1, f"np_{n}_{resolution:g}.zarr", tag="numpy"
    )
    kinds = {name: ("engine", cfg) for name, cfg in configs.items()}
    kinds["numpy baseline"] = ("numpy", numpy_cfg)
    stores = {
        name: workdir / f"out_{n}_{resolution:g}_w{w}.zarr"
        for name, w in zip(configs, workers, strict=True)
    }
    stores["numpy baseline"] = workdir / f"np_{n}_{resolution:g}.zarr"
    # Warm-up: fills Numba's and the coefficient cache; also the agreement check.
    for name, (kind, cfg) in kinds.items():
        _set_aside(stores[name], workdir)
        _measure(kind, cfg, resolution)
    engine_store = stores[next(iter(configs))]
    numpy_store = stores["numpy baseline"]
    agree = _agree(engine_store, numpy_store)
    store_mib = {"footgrid": _du(engine_store) / MIB, "numpy baseline": _du(numpy_store) / MIB}
    runs: dict[str, list[ProcessRun]] = {name: [] for name in kinds}
    for _ in range(repeat):
        for name, (kind, cfg) in kinds.items():
            _set_aside(stores[name], workdir)
            if hasattr(os, "sync"):  # the previous run's writeback would run during this one
                os.sync()
            runs[name].append(_measure(kind, cfg, resolution))
    out: dict[str, Any] = {
        "points": n,
        "resolution_m": resolution,
        "repeat": repeat,
        "agreement": agree,
        "store_mib": store_mib,
        "methods": {},
    }
    for name, rs in runs.items():
        walls = [r.wall for r in rs]
        reply = rs[-1].reply
        med = float(np.median(walls))
        out["methods"][name] = {
            "median_s": med,
            "min_s": min(walls),
            "max_s": max(walls),
            "times_s": walls,
            "in_process_run_s": [r.reply["run_s"] for r in rs],
            "phases_s": {
                k: float(np.median([r.reply[k] for r in rs]))
                for k in ("import_s", "prepare_s", "grid_write_s")
                if k in reply
            },
            "peak_rss_mib": max(r.peak_rss for r in rs) / MIB,
            "peak_rss_mib_median": float(np.median([r.peak_rss for r in rs])) / MIB,
            "points_x_consumers_per_s": n * reply["consumers"] / med,
            "shape": reply["shape"],
            "consumers": reply["consumers"],
        }
    base = out["methods"]["numpy baseline"]["median_s"]
    for m in out["methods"].values():
        m["speedup_vs_numpy"] = base / m["median_s"]
    return out


def report(result: dict[str, Any]) -> str:
    """Print the results table; returns it."""
    rows = []
    for case in result["cases"]:
        for name, m in case["methods"].items():
            store = case["store_mib"]["numpy baseline" if name == "numpy baseline" else "footgrid"]
            rows.append(
                [
                    f"{case['points']:,} × {m['consumers']}, {case['resolution_m'] / 1000:g} km "
                    f"({m['shape'][0]}×{m['shape'][1]})",
                    name,
                    f"{fmt_s(m['median_s'])} ({fmt_s(m['min_s'])}–{fmt_s(m['max_s'])})",
                    f"{m['points_x_consumers_per_s'] / 1e6:.1f}",
                    f"{m['speedup_vs_numpy']:.2f}",
                    f"{m['peak_rss_mib'] / 1024:.2f}",
                    f"{store:.0f}",
                    "yes" if case["agreement"]["allclose"] else "NO",
                ]
            )
    return print_table(
        f"B3 end to end — {machine_line(result['machine'])}",
        rows,
        [
            "case",
            "method",
            "wall s median (min–max)",
            "M pts×cons/s",
            "× numpy",
            "peak RSS GiB",
            "store MiB",
            "agrees",
        ],
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run B3; returns the results (also written to ``benchmarks/results/end_to_end.json``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--points", type=int, nargs="+", help="firms (default 1e6 1e7)")
    ap.add_argument("--resolutions", type=float, nargs="+", help="metres (default 10000 1000)")
    ap.add_argument("--repeat", type=int, help="timed runs per method (default 5; --quick 1)")
    ap.add_argument("--workers", type=int, nargs="+", help="[compute] workers (default 2 1)")
    ap.add_argument("--workdir", type=Path, help="inputs and stores (default: a temp folder)")
    ap.add_argument("--out-dir", type=Path, help="folder for the JSON (default benchmarks/results)")
    ap.add_argument("--child", choices=["engine", "numpy"], help=argparse.SUPPRESS)
    ap.add_argument("config", nargs="?", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--resolution", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args(list(argv) if argv is not None else None)
    if args.child:
        if args.child == "engine":
            reply = child_engine(args.config)
        else:
            out = (
                args.config.parent / f"np_{_firms_name(args.config)[5:-8]}_{args.resolution:g}.zarr"
            )
            reply = child_numpy(args.config, args.resolution, out)
        print(json.dumps(reply), flush=True)
        # Both children skip the 0.3-0.6 s of garbage collections of Python's shutdown, as the
        # ``footgrid`` console script does: the wall time is the work, not the teardown.
        gc.freeze()
        return reply

    points = args.points or ([20_000] if args.quick else [1_000_000, 10_000_000])
    resolutions = args.resolutions or ([50_000.0, 20_000.0] if args.quick else [10_000.0, 1000.0])
    repeat = args.repeat or (1 if args.quick else 5)
    workers = list(dict.fromkeys(args.workers or [2, 1]))
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="footgrid-bench-")
        workdir = Path(tmp.name)
    else:
        workdir = args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    write_mrio(workdir / "mrio")
    result: dict[str, Any] = {"benchmark": NAME, "quick": args.quick, "machine": machine()}
    cases = []
    try:
        for n in points:
            for r in resolutions:
                # 1 vs 2 workers only where it matters (the biggest case) unless asked.
                ws = workers if (n == max(points) and r == min(resolutions)) else workers[:1]
                cases.append(run_case(workdir, n, r, repeat, ws))
                print(f"done {n} × {r:g} m", flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
        else:
            _cleanup(workdir)
    result["cases"] = cases
    result["machine_after"] = machine()["load_avg_1_5_15"]
    result["table"] = report(result)
    big = max(cases, key=lambda c: (c["points"], -c["resolution_m"]))
    ours = next(v for k, v in big["methods"].items() if k.startswith("footgrid ("))
    result["targets"] = {
        "case": f"{big['points']} x {ours['consumers']} at {big['resolution_m']:g} m",
        "wall_s": ours["median_s"],
        "wall_le_60s": ours["median_s"] <= 60.0,
        "peak_rss_gib": ours["peak_rss_mib"] / 1024,
        "rss_le_2gib": ours["peak_rss_mib"] <= 2048.0,
        "speedup_vs_numpy": ours["speedup_vs_numpy"],
        "speedup_ge_3x": ours["speedup_vs_numpy"] >= 3.0,
    }
    print(json.dumps(result["targets"]))
    path = write_json(NAME + ("_quick" if args.quick else ""), result, out_dir=args.out_dir)
    print(f"wrote {path}")
    return result


def _set_aside(store: Path, workdir: Path) -> None:
    """Move ``store`` (if any) into ``workdir/trash`` so that the next run does not delete it,
    write it to disk and drop its pages from the page cache (so that every run starts with the
    same page cache instead of one that grows by a store per run)."""
    if store.exists():
        trash = workdir / "trash"
        trash.mkdir(exist_ok=True)
        aside = trash / f"{store.name}.{time.time_ns()}"
        store.rename(aside)
        if hasattr(os, "sync"):
            os.sync()
        _drop_cached(aside)


def _drop_cached(folder: Path) -> None:
    """``posix_fadvise(DONTNEED)`` every file under ``folder`` (written back already)."""
    if not hasattr(os, "posix_fadvise"):
        return
    for root, _, files in os.walk(folder):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def _cleanup(workdir: Path) -> None:
    """Remove every store of the benchmark (GBs at 1 km) once measured; inputs stay cached."""
    for pattern in ("out_*.zarr", "np_*.zarr", "trash"):
        for p in workdir.glob(pattern):
            shutil.rmtree(p, ignore_errors=True)


if __name__ == "__main__":
    main()

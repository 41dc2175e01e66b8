"""B5 rasters: an EDGAR-like global 0.1° inventory of 27 layers onto a 10 km Equal Earth grid.

Methods, on the same layers in the same run:

- ``footgrid``: :func:`footgrid.io.remap.overlap_weights` once for the pair of grids (cold:
  the in-memory cache is cleared before every timed run), then :func:`footgrid.io.remap.remap`
  for each of the 27 layers. Wall time of all 27 layers, weights included;
- ``rasterio``: ``rasterio.warp.reproject(..., resampling=Resampling.sum)`` per layer on the
  same number of threads, timed on ``--rasterio-layers`` layers (it takes seconds a layer);
- ``geopandas``: the exact overlay (``geopandas.overlay``, intersection areas in Equal Earth of
  the source cells densified to 16 points an edge) on a subset window, against footgrid's
  allocation of the same cells (total-variation distance).

The synthetic inventory clusters like EDGAR: a coarse lognormal "activity" field (1°, smoothed)
times city-like hot spots, each layer keeping the cells above its own quantile (about 28 % of the
cells, so ~50 million non-zero cells over 27 layers). Every figure is a median of ``repeat``
timed runs after one warm-up; mass errors are ``|Σ out − Σ in| / Σ in``.

Usage::

    python benchmarks/bench_rasters.py            # full size
    python benchmarks/bench_rasters.py --quick    # 1° source, 100 km target (smoke test)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    MIB,
    PeakRSS,
    Timing,
    fmt_s,
    machine,
    machine_line,
    print_table,
    write_json,
)

NAME = "rasters"
#: Equal Earth's world extent (m).
HALF_W, HALF_H = 17_243_959.06, 8_392_927.6


def inventory(res: float, layers: int, seed: int = 0) -> list[np.ndarray]:
    """``layers`` north-up (ny, nx) float32 layers of t per cell, clustered, ~28 % non-zero."""
    rng = np.random.default_rng(seed)
    nx, ny = round(360 / res), round(180 / res)
    k = max(1, round(1.0 / res))
    coarse = rng.lognormal(0, 1.5, (ny // k, nx // k))
    lat = 90 - (np.arange(ny // k) + 0.5) * (180 / (ny // k))
    coarse *= np.exp(-((lat[:, None] - 30) ** 2) / (2 * 25**2))  # most activity north
    base = np.kron(coarse, np.ones((k, k), dtype=np.float32)).astype(np.float32)
    out = []
    for i in range(layers):
        r = np.random.default_rng(seed + 1 + i)
        v = base * r.lognormal(0, 1.0, base.shape).astype(np.float32)
        cut = np.quantile(v[:: max(1, k // 2), :: max(1, k // 2)], 0.72)
        v[v < cut] = 0
        out.append(v)
    return out


def source_grid(res: float):
    import pyproj

    from footgrid.grid import Grid

    return Grid(pyproj.CRS.from_epsg(4326), -180.0, 90.0, res, res, round(360 / res),
                round(180 / res))  # fmt: skip


def target_grid(res: float):
    from footgrid.grid import Grid

    return Grid.from_bounds((-HALF_W, -HALF_H, HALF_W, HALF_H), res, "EPSG:8857")


def run_footgrid(src, tgt, layers: list[np.ndarray], threads: int) -> tuple[float, list[float]]:
    """Weights (cold) + every layer; returns (seconds, per-layer target totals)."""
    from footgrid.io import remap as rm

    rm._MEMORY.clear()
    t0 = time.perf_counter()
    w = rm.overlap_weights(src, tgt, threads=threads)
    totals = []
    for v in layers:
        out, _ = rm.remap(w, v)
        totals.append(float(out.sum()))
    return time.perf_counter() - t0, totals


def run_rasterio(src, tgt, v: np.ndarray, threads: int) -> float:
    """One layer through rasterio's sum resampling; returns its total."""
    from rasterio.warp import Resampling, reproject

    dst = np.zeros(tgt.shape, dtype=np.float64)
    reproject(
        v.astype(np.float64), dst, src_transform=src.transform, src_crs=src.crs.to_wkt(),
        dst_transform=tgt.transform, dst_crs=tgt.crs.to_wkt(), resampling=Resampling.sum,
        num_threads=threads,
    )  # fmt: skip
    return float(dst.sum())


def overlay_subset(src, tgt, v: np.ndarray, window: tuple[int, int, int]) -> dict[str, Any]:
    """Exact geopandas overlay of a window of source cells vs footgrid on the same cells."""
    import geopandas
    import shapely

    from footgrid.grid import Grid
    from footgrid.io.remap import overlap_weights, remap

    r0, c0, n = window
    sub = Grid(src.crs, src.xmin + src.res_x * c0, src.ymax - src.res_y * r0, src.res_x,
               src.res_y, n, n)  # fmt: skip
    vals = v[r0 : r0 + n, c0 : c0 + n].astype(np.float64)
    polys, ids = [], []
    t = np.linspace(0, 1, 17)[:-1]
    for r in range(n):
        for c in range(n):
            x0, y1 = sub.xmin + sub.res_x * c, sub.ymax - sub.res_y * r
            x1, y0 = x0 + sub.res_x, y1 - sub.res_y
            xs = np.r_[x0 + (x1 - x0) * t, np.full(16, x1), x1 - (x1 - x0) * t, np.full(16, x0)]
            ys = np.r_[np.full(16, y0), y0 + (y1 - y0) * t, np.full(16, y1), y1 - (y1 - y0) * t]
            polys.append(shapely.Polygon(np.c_[xs, ys]))
            ids.append(r * n + c)
    t0 = time.perf_counter()
    cells = geopandas.GeoDataFrame({"s": ids, "v": vals.ravel()}, geometry=polys, crs=4326)
    cells = cells.to_crs(tgt.crs)
    cells["whole"] = cells.area
    x0, y0, x1, y1 = cells.total_bounds
    c_lo, c_hi = int((x0 - tgt.xmin) // tgt.res_x), int((x1 - tgt.xmin) // tgt.res_x) + 1
    r_lo, r_hi = int((tgt.ymax - y1) // tgt.res_y), int((tgt.ymax - y0) // tgt.res_y) + 1
    rr, cc = np.meshgrid(np.arange(r_lo, r_hi), np.arange(c_lo, c_hi), indexing="ij")
    bx = tgt.xmin + tgt.res_x * cc.ravel()
    by = tgt.ymax - tgt.res_y * rr.ravel()
    boxes = geopandas.GeoDataFrame(
        {"t": rr.ravel() * tgt.nx + cc.ravel()},
        geometry=shapely.box(bx, by - tgt.res_y, bx + tgt.res_x, by), crs=tgt.crs,
    )  # fmt: skip
    pieces = geopandas.overlay(cells, boxes, how="intersection", keep_geom_type=True)
    mass = pieces["v"] * pieces.area / pieces["whole"]
    ref = mass.groupby(pieces["t"]).sum()
    t_overlay = time.perf_counter() - t0
    t0 = time.perf_counter()
    out, _ = remap(overlap_weights(sub, tgt), vals)
    t_ours = time.perf_counter() - t0
    a = np.zeros(tgt.nx * tgt.ny)
    a[ref.index.to_numpy()] = ref.to_numpy()
    tv = float(np.abs(a - out).sum() / (2 * a.sum()))
    return {
        "source_cells": n * n,
        "overlay_s": t_overlay,
        "footgrid_s": t_ours,
        "tv_distance": tv,
        "overlay_mass_error": float(abs(a.sum() - vals.sum()) / vals.sum()),
        "footgrid_mass_error": float(abs(out.sum() - vals.sum()) / vals.sum()),
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run B5; returns the results (also written to ``benchmarks/results/rasters.json``)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1° source onto 100 km (smoke test)")
    ap.add_argument("--repeat", type=int, help="timed runs (default 3; --quick 1)")
    ap.add_argument("--layers", type=int, default=27)
    ap.add_argument("--rasterio-layers", type=int, default=1, help="layers timed for rasterio")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out-dir", type=Path, help="folder for the JSON (default benchmarks/results)")
    args = ap.parse_args(list(argv) if argv is not None else None)
    repeat = args.repeat or (1 if args.quick else 3)
    sres, tres = (1.0, 100_000.0) if args.quick else (0.1, 10_000.0)
    src, tgt = source_grid(sres), target_grid(tres)
    layers = inventory(sres, args.layers)
    nonzero = int(sum(int(np.count_nonzero(v)) for v in layers))
    inputs = [float(v.sum(dtype=np.float64)) for v in layers]

    run_footgrid(src, tgt, layers[:1], args.threads)  # warm-up: JIT, page faults
    fg = Timing()
    for _ in range(repeat):
        secs, totals = run_footgrid(src, tgt, layers, args.threads)
        fg.times.append(secs)
    with PeakRSS(interval=0.01) as mem:
        _, totals = run_footgrid(src, tgt, layers, args.threads)
    fg.peak_rss = mem.growth
    fg_err = max(abs(t - i) / i for t, i in zip(totals, inputs, strict=True))
    fg_peak = mem.peak

    rio = Timing()
    rio_err = []
    for i in range(min(args.rasterio_layers, len(layers))):
        if i == 0:
            run_rasterio(src, tgt, layers[0], args.threads)  # warm-up
        for _ in range(repeat):
            t0 = time.perf_counter()
            total = run_rasterio(src, tgt, layers[i], args.threads)
            rio.times.append(time.perf_counter() - t0)
        rio_err.append(abs(total - inputs[i]) / inputs[i])
    with PeakRSS(interval=0.01) as mem:
        run_rasterio(src, tgt, layers[0], args.threads)
    rio.peak_rss = mem.growth

    n = 10 if args.quick else 30
    row0 = round((90 - 52) / sres)
    col0 = round((180 + 8) / sres)
    subset = overlay_subset(src, tgt, layers[0], (row0, col0, n))

    per_layer = fg.median / len(layers)
    result: dict[str, Any] = {
        "benchmark": NAME,
        "quick": args.quick,
        "machine": machine(),
        "source": {
            "res_deg": sres,
            "shape": list(src.shape),
            "layers": len(layers),
            "nonzero_cells": nonzero,
        },
        "target": {"crs": "EPSG:8857", "res_m": tres, "shape": list(tgt.shape)},
        "threads": args.threads,
        "repeat": repeat,
        "footgrid": {
            **fg.as_dict(),
            "per_layer_s": per_layer,
            "mass_error": fg_err,
            "peak_rss_mib": fg_peak / MIB,
        },
        "rasterio": {**rio.as_dict(), "mass_error": max(rio_err)},
        "overlay_subset": subset,
        "targets": {
            "all_layers_s": fg.median,
            "all_layers_le_20s": fg.median <= 20.0,
            "peak_rss_le_4gib": fg_peak <= 4 * 1024 * MIB,
            "speedup_per_layer": rio.median / per_layer,
            "speedup_ge_10x": rio.median / per_layer >= 10.0,
            "mass_le_1e-9": fg_err <= 1e-9,
        },
        "rss_total_mib": psutil.Process().memory_info().rss / MIB,
    }
    rows = [
        ["footgrid (27 layers, weights incl.)" if len(layers) == 27 else "footgrid (all layers)",
         fg.span(), fmt_s(per_layer), f"{fg_peak / MIB:.0f}", f"{fg_err:.1e}"],
        ["rasterio sum (per layer)", rio.span(), fmt_s(rio.median), f"{rio.peak_rss / MIB:.0f}",
         f"{max(rio_err):.1e}"],
        [f"geopandas overlay ({n}x{n} cells)", fmt_s(subset["overlay_s"]), "-", "-",
         f"{subset['overlay_mass_error']:.1e}"],
    ]  # fmt: skip
    result["table"] = print_table(
        f"B5 rasters: {sres}° x {len(layers)} layers -> {tres / 1000:g} km Equal Earth "
        f"({machine_line(result['machine'])})",
        rows,
        ["method", "wall s (min-max)", "s / layer", "peak RSS MiB", "mass error"],
    )
    print(
        f"speedup per layer {rio.median / per_layer:.1f}x; TV distance to the overlay "
        f"{subset['tv_distance']:.2e}; non-zero cells {nonzero:,}",
        flush=True,
    )
    write_json(NAME + ("_quick" if args.quick else ""), result, out_dir=args.out_dir)
    return result


if __name__ == "__main__":
    main()

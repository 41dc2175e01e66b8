"""B7 store layout: chunk shapes and Zstandard levels for a footprint of many consumer layers.

Reads the first ``--consumers`` consumers of a footgrid store (B7's ``global.zarr``, kept with
``bench_global.py --workdir DIR``) and writes them again under each layout, with footgrid's
direct chunk writer (:class:`footgrid.store.ChunkWriter`), skipping chunks that are all zero:

- chunks ``(1, categories, T, T)`` and ``(1, 1, T, T)``, for T in 256, 512, 1024;
- Zstandard levels -1, 1 (footgrid's) and 3;
- at T = 512 (or the first ``--tiles``) and level 1, chunks of ``k`` consumers
  (``--consumers-per-chunk``) stored in C order and cell-major (Zarr v3 transpose codec, order
  y, x, consumer, category: footgrid's layout, with k = 8 // categories).

Reported per layout: bytes and chunk files per consumer, write seconds per consumer (encode
and write), the time to open the store (consolidated) and to read one consumer's map summed
over categories, and the metadata bytes of the footprint array. Run::

    python benchmarks/bench_global.py --points 2000000 --workdir /tmp/b7 --skip-cluster
    python benchmarks/bench_store_layout.py --store /tmp/b7/global.zarr
    python benchmarks/bench_store_layout.py --store B3_STORE --consumers 8 --tiles 512 --levels 1
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, machine_line, print_table, write_json  # noqa: E402


def write_layout(
    cube: np.ndarray, folder: Path, chunks: tuple[int, ...], level: int, cell_major: bool = False
) -> dict[str, Any]:
    """Write ``cube`` (consumer, category, y, x) as one Zarr v3 array; sizes and times."""
    import xarray as xr
    import zarr

    from footgrid.store import ChunkWriter
    from footgrid.store.layout import FOOTPRINT_ORDER

    filters = (zarr.codecs.TransposeCodec(order=FOOTPRINT_ORDER),) if cell_major else None

    shutil.rmtree(folder, ignore_errors=True)
    root = zarr.open_group(folder, mode="w", zarr_format=3)
    arr = root.create_array(
        "footprint",
        shape=cube.shape,
        chunks=chunks,
        dtype=cube.dtype,
        compressors=(zarr.codecs.ZstdCodec(level=level),),
        filters=filters,
        fill_value=0.0,
        dimension_names=("consumer", "category", "y", "x"),
    )
    del arr
    writer = ChunkWriter(str(folder), "footprint")
    assert writer.direct
    if cell_major:  # the kernels fill cell-major buffers: time the writes from one
        cube = np.ascontiguousarray(cube.transpose(FOOTPRINT_ORDER)).transpose(2, 3, 0, 1)
    t0 = time.perf_counter()
    for c in range(0, cube.shape[0], chunks[0]):
        for k in range(0, cube.shape[1], chunks[1]):
            for i in range(0, cube.shape[2], chunks[2]):
                for j in range(0, cube.shape[3], chunks[3]):
                    index = (
                        slice(c, c + chunks[0]),
                        slice(k, k + chunks[1]),
                        slice(i, i + chunks[2]),
                        slice(j, j + chunks[3]),
                    )
                    writer.write(index, cube[index])
    write_s = time.perf_counter() - t0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zarr.consolidate_metadata(folder)
    files = [f for f in (folder / "footprint" / "c").rglob("*") if f.is_file()]
    t1 = time.perf_counter()
    ds = xr.open_zarr(folder, consolidated=True)
    t2 = time.perf_counter()
    one = ds["footprint"].isel(consumer=cube.shape[0] // 2).sum("category").values
    t3 = time.perf_counter()
    n = cube.shape[0]
    return {
        "chunks": list(chunks),
        "cell_major": cell_major,
        "level": level,
        "mib_per_consumer": sum(f.stat().st_size for f in files) / 2**20 / n,
        "files_per_consumer": len(files) / n,
        "write_s_per_consumer": write_s / n,
        "open_s": t2 - t1,
        "read_one_consumer_s": t3 - t2,
        "one_consumer_total": float(one.sum(dtype=np.float64)),
        "array_metadata_bytes": (folder / "footprint" / "zarr.json").stat().st_size,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the layouts; returns (and writes) the results."""
    import xarray as xr

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", type=Path, required=True, help="a footgrid store (B7's)")
    ap.add_argument("--consumers", type=int, default=4, help="consumers to rewrite")
    ap.add_argument("--tiles", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--levels", type=int, nargs="+", default=[-1, 1, 3])
    ap.add_argument("--consumers-per-chunk", type=int, nargs="+", default=[1, 2, 8])
    ap.add_argument("--out-dir", type=Path, help="folder for the JSON (default results/)")
    args = ap.parse_args(argv)
    src = xr.open_zarr(args.store, consolidated=True)["footprint"]
    cube = np.ascontiguousarray(src.isel(consumer=slice(0, args.consumers)).values)
    meta = (args.store / "footprint" / "zarr.json").stat().st_size
    n_cat = cube.shape[1]
    rows = []
    results = []
    tmp = Path(tempfile.mkdtemp(prefix="footgrid-layout-"))
    try:
        layouts: list[tuple[tuple[int, ...], int, bool]] = []
        for tile in args.tiles:
            for per_layer in (False, True):
                for level in args.levels:
                    if per_layer and level != 1:
                        continue  # the chunk shape's cost is seen at footgrid's level
                    layouts.append(((1, 1 if per_layer else n_cat, tile, tile), level, False))
        t = 512 if 512 in args.tiles else args.tiles[0]
        for k in args.consumers_per_chunk:
            if k <= cube.shape[0]:
                for cell_major in (False, True):
                    layout = ((k, n_cat, t, t), 1, cell_major)
                    if layout not in layouts:
                        layouts.append(layout)
        for chunks, level, cell_major in layouts:
            r = write_layout(cube, tmp / "s.zarr", chunks, level, cell_major)
            results.append(r)
            rows.append(
                [
                    str(tuple(chunks)),
                    "cell-major" if cell_major else "C",
                    str(level),
                    f"{r['mib_per_consumer']:.2f}",
                    f"{r['files_per_consumer']:.1f}",
                    f"{r['write_s_per_consumer']:.3f}",
                    f"{r['open_s']:.3f}",
                    f"{r['read_one_consumer_s']:.3f}",
                ]
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res = {
        "machine": machine(),
        "source": str(args.store),
        "cube_shape": list(cube.shape),
        "source_array_metadata_bytes": meta,
        "layouts": results,
    }
    print(machine_line(res["machine"]))
    print_table(
        f"footprint layouts: {args.consumers} consumers x {n_cat} categories, grid "
        f"{cube.shape[2]} x {cube.shape[3]}",
        rows,
        ["chunks", "order", "zstd", "MiB/consumer", "files/consumer", "write s/consumer", "open s",
         "read 1 consumer s"],
    )  # fmt: skip
    print(f"footprint zarr.json of the source store: {meta} bytes")
    print(f"wrote {write_json('store_layout', res, out_dir=args.out_dir)}")
    return res


if __name__ == "__main__":
    main()

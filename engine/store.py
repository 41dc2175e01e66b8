"""The output store: one Zarr v3 store, written atomically, readable with ``xarray.open_zarr``.

Arrays first, labels last: the engine computes on numpy arrays; this module is the one place that
builds the labelled ``xr.Dataset`` (coordinates, CRS and transform the rioxarray/CF way).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
import zarr

from engine.errors import InputError
from engine.grid import Grid

UNITS = "t CO2 / yr"
#: Zstandard level 1: as small as the default level 3 on sparse float rasters, twice as fast.
COMPRESSORS = (zarr.codecs.ZstdCodec(level=1),)
#: Folder inside a store in progress that holds the journals of finished blocks: one
#: append-only file per writing process, one JSON line ``[label, sums]`` per block.
DONE_DIR = ".footgrid_done"


@dataclass(frozen=True)
class Layout:
    """Everything that fixes the shape of a store: grid, labels and dtype."""

    grid: Grid
    consumers: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    domestic: tuple[bool, ...] = ()
    regions: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    dtype: str = "float32"

    @property
    def has_footprint(self) -> bool:
        """Whether the store carries the footprint and totals (``run``, not ``grid``)."""
        return len(self.consumers) > 0


def partial_path(path: str | os.PathLike) -> Path:
    """Where a run writes before the store is complete (renamed to ``path`` at the end)."""
    p = Path(path)
    return p.with_name(p.name + ".partial")


def template(
    layout: Layout,
    territory: np.ndarray,
    totals: np.ndarray | None,
) -> xr.Dataset:
    """The dataset to initialise a store with: dask zeros for the streamed rasters.

    ``footprint``, ``emissions`` and ``cell_area`` are lazy zeros in one dask chunk (a graph
    that is never computed costs nothing to build), so writing the template with
    ``compute=False`` writes only their metadata; the Zarr chunks come from the encoding
    (:func:`_encoding`), and the blocks are then streamed in by the tasks.
    """
    g = layout.grid
    data: dict[str, Any] = {
        "emissions": (("y", "x"), da.zeros(g.shape, chunks=-1, dtype=layout.dtype)),
        "territory": (("y", "x"), np.asarray(territory, dtype=bool)),
        # Lazy: constant grids store it as the fill value; others are written tile by tile.
        "cell_area": (("y", "x"), da.zeros(g.shape, chunks=-1, dtype=np.float64)),
    }
    coords: dict[str, Any] = {"x": g.x, "y": g.y}
    if layout.has_footprint:
        shape = (len(layout.consumers), len(layout.categories), *g.shape)
        data["footprint"] = (
            ("consumer", "category", "y", "x"),
            da.zeros(shape, chunks=-1, dtype=layout.dtype),
        )
        data["totals"] = (("region", "sector", "consumer", "category"), totals)
        coords.update(
            consumer=np.array(layout.consumers, dtype=object),
            category=np.array(layout.categories, dtype=object),
            region=np.array(layout.regions, dtype=object),
            sector=np.array(layout.sectors, dtype=object),
            domestic=("consumer", np.array(layout.domestic, dtype=bool)),
        )
    ds = xr.Dataset(data, coords=coords)
    ds["x"].attrs.update(units=_axis_units(g), standard_name="projection_x_coordinate")
    ds["y"].attrs.update(units=_axis_units(g), standard_name="projection_y_coordinate")
    for name, long in (
        ("footprint", "emissions in the cell driven by the consumer's final demand"),
        ("emissions", "production-based emissions gridded"),
        ("totals", "national ledger: producing MRIO row to final demand"),
    ):
        if name in ds:
            ds[name].attrs.update(units=UNITS, long_name=long)
    ds["cell_area"].attrs.update(units="m2", long_name="cell area")
    ds["territory"].attrs.update(long_name="cell inside the regions' polygons")
    ds = ds.rio.write_crs(g.crs).rio.write_transform(g.transform)
    for name in ("footprint", "emissions", "territory", "cell_area"):
        if name in ds:
            # In attrs (CF), so that GDAL, QGIS and rioxarray find the CRS after open_zarr.
            ds[name].encoding.pop("grid_mapping", None)
            ds[name].attrs["grid_mapping"] = "spatial_ref"
    return ds


def _axis_units(g: Grid) -> str:
    if g.crs.is_geographic:
        return "degrees"
    info = g.crs.axis_info
    return info[0].unit_name if info else "metre"


def _encoding(ds: xr.Dataset, layout: Layout) -> dict[str, dict[str, Any]]:
    enc: dict[str, dict[str, Any]] = {}
    for name in ("footprint", "emissions", "totals"):
        if name in ds:
            enc[name] = {"_FillValue": None, "fill_value": 0.0, "compressors": COMPRESSORS}
    g = layout.grid
    tile = (min(g.tile, g.ny), min(g.tile, g.nx))
    enc["cell_area"] = {
        "_FillValue": None,
        "fill_value": g.constant_cell_area or 0.0,
        "chunks": tile,
    }
    enc["territory"] = {"chunks": tile}
    enc["emissions"]["chunks"] = tile
    if "footprint" in ds:
        enc["footprint"]["chunks"] = (1, ds.sizes["category"], *tile)
    return enc


def prepare_output(path: str | os.PathLike, overwrite: bool, resume: bool) -> None:
    """Check that ``path`` may be written: an existing complete store needs ``overwrite``."""
    p = Path(path)
    if p.exists() and not overwrite and not resume:
        raise InputError(
            "the output store already exists",
            file=p,
            key="output.overwrite",
            fix="set [output] overwrite = true, or choose another [output] path",
        )
    if p.exists() and resume and not overwrite and is_complete(p):
        raise InputError(
            "the output store is already complete; there is nothing to resume",
            file=p,
            key="output.overwrite",
            fix="set [output] overwrite = true to recompute it",
        )


def create(path: Path, ds: xr.Dataset, layout: Layout, attrs: dict[str, Any]) -> None:
    """Write the template's metadata and small arrays into a fresh store at ``path``."""
    if path.exists():
        shutil.rmtree(path)
    ds = ds.assign_attrs(_jsonable({**attrs, "complete": False}))
    ds.to_zarr(
        path,
        mode="w",
        compute=False,
        encoding=_encoding(ds, layout),
        consolidated=False,
        zarr_format=3,
    )
    (path / DONE_DIR).mkdir()
    g = layout.grid
    if g.constant_cell_area is None:
        for _, rows, cols in g.tiles():
            write_block(str(path), "cell_area", (rows, cols), g.cell_area(rows, cols))


class ChunkWriter:
    """Writes whole chunks of one Zarr v3 array straight to its files.

    zarr-python spends about 1.5 ms of Python (under the GIL, on one event-loop thread) per
    chunk; a tile of 50 consumers is 50 chunks. Our arrays use one fixed codec chain (little
    endian bytes + Zstandard, no checksum), so a chunk is ``zstd(block.tobytes())`` written to
    ``c/<i>/<j>/...``: 0.25 ms, with the GIL released while compressing. The array's metadata
    is checked against that chain when the writer is made; any other layout falls back to
    zarr-python. Chunks equal to the fill value are not written (as zarr does by default).
    A run killed while writing may leave a torn chunk, but only in a block that is not yet
    marked done (the marker is written after the block), so ``--resume`` rewrites it.
    """

    def __init__(self, path: str, name: str) -> None:
        self.root = os.path.join(path, name)
        self._folders: set[str] = set()
        with open(os.path.join(self.root, "zarr.json")) as fh:
            meta = json.load(fh)
        self.chunks = tuple(meta["chunk_grid"]["configuration"]["chunk_shape"])
        self.dtype = np.dtype(meta["data_type"]).newbyteorder("<")
        self.fill = meta["fill_value"]
        codecs = [(c["name"], c.get("configuration", {})) for c in meta["codecs"]]
        sep = meta["chunk_key_encoding"].get("configuration", {}).get("separator", "/")
        self.direct = (
            meta["chunk_key_encoding"]["name"] == "default"
            and sep == "/"
            and meta["chunk_grid"]["name"] == "regular"
            and len(codecs) == 2
            and codecs[0] == ("bytes", {"endian": "little"})
            and codecs[1][0] == "zstd"
            and not codecs[1][1].get("checksum", False)
            and not meta.get("storage_transformers")
            and self.fill == 0
        )
        if self.direct:
            import numcodecs

            self.codec = numcodecs.Zstd(level=int(codecs[1][1].get("level", 0)))
        else:
            self.array = zarr.open_array(self.root, mode="r+")

    def write(
        self, index: tuple[slice, ...], block: np.ndarray, nonzero: np.ndarray | None = None
    ) -> None:
        """Write ``block`` at ``index`` (slices aligned to chunk starts).

        ``nonzero`` (optional, one flag per entry of the first axis) says which entries hold
        any non-zero value, so that empty chunks are skipped without scanning them.
        """
        if not self.direct:
            self.array[index] = block
            return
        starts = [s.start or 0 for s in index]
        if any(st % c for st, c in zip(starts, self.chunks, strict=True)):
            raise ValueError(f"block at {starts} is not aligned to the chunks {self.chunks}")
        counts = [-(-n // c) for n, c in zip(block.shape, self.chunks, strict=True)]
        for pos in np.ndindex(*counts):
            sub = tuple(
                slice(p * c, min((p + 1) * c, n))
                for p, c, n in zip(pos, self.chunks, block.shape, strict=True)
            )
            if nonzero is not None and not nonzero[sub[0]].any():
                continue
            part = block[sub]
            if nonzero is None and not part.any():
                continue
            if part.shape != self.chunks:  # edge chunks are stored padded to the full shape
                full = np.zeros(self.chunks, dtype=self.dtype)
                full[tuple(slice(0, n) for n in part.shape)] = part
                part = full
            data = self.codec.encode(np.ascontiguousarray(part, dtype=self.dtype))
            key = [str(st // c + p) for st, c, p in zip(starts, self.chunks, pos, strict=True)]
            folder = os.path.join(self.root, "c", *key[:-1])
            if folder not in self._folders:
                os.makedirs(folder, exist_ok=True)
                self._folders.add(folder)
            with open(os.path.join(folder, key[-1]), "wb") as fh:
                fh.write(data)


@functools.lru_cache(maxsize=16)
def _writer(path: str, name: str, token: int) -> ChunkWriter:
    return ChunkWriter(path, name)


def write_block(
    path: str,
    name: str,
    index: tuple[slice, ...],
    block: np.ndarray,
    nonzero: np.ndarray | None = None,
) -> None:
    """Write one block into array ``name`` of the store (called inside dask tasks).

    The writer is cached per worker process, keyed by the metadata file's mtime so that a
    store re-created at the same path is reopened.
    """
    meta = os.path.join(path, name, "zarr.json")
    _writer(path, name, os.stat(meta).st_mtime_ns).write(index, block, nonzero)


def journal_block(path: str, label: str, sums: list[float]) -> None:
    """Record that block ``label`` of the store in progress at ``path`` is written.

    One line is appended, in a single ``write``, to this process's journal (a file per host
    and process, so that no two processes share one on a network file system). A process
    killed mid-line leaves a line without its newline, which :func:`done_blocks` ignores;
    the block is then written again by ``--resume``. One journal instead of a marker file per
    block: creating files is the slow part of a file system (about 5 000 per run at 1 km).
    """
    # A leading newline ends any line a killed writer of the same file name left torn.
    line = ("\n" + json.dumps([label, sums]) + "\n").encode()
    name = os.path.join(path, DONE_DIR, f"{socket.gethostname()}-{os.getpid()}.jsonl")
    fd = os.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if os.write(fd, line) != len(line):
            raise OSError(f"short write to the journal {name}")
    finally:
        os.close(fd)


def done_blocks(path: Path) -> dict[str, np.ndarray]:
    """Blocks already written to a store in progress, with the sums their tasks returned."""
    out: dict[str, np.ndarray] = {}
    d = path / DONE_DIR
    if not d.is_dir():
        return out
    for journal in sorted(d.glob("*.jsonl")):
        for line in journal.read_bytes().split(b"\n")[:-1]:  # the last piece has no newline
            if not line:
                continue
            try:
                label, sums = json.loads(line)
            except ValueError:
                continue
            out[str(label)] = np.asarray(sums, dtype=np.float64)
    return out


def read_attrs(path: Path) -> dict[str, Any]:
    """Attributes of the store at ``path`` (without opening it with xarray)."""
    return dict(zarr.open_group(path, mode="r").attrs)


def finish(partial: Path, final: Path, attrs: dict[str, Any]) -> None:
    """Mark the store complete, consolidate its metadata and move it to its final path.

    The rename is the commit point: until it happens, ``final`` is absent (or still the
    previous complete store), and the partial store says ``complete = False``.
    """
    group = zarr.open_group(partial, mode="r+")
    group.attrs.update(_jsonable({**attrs, "complete": True}))
    shutil.rmtree(partial / DONE_DIR, ignore_errors=True)
    with warnings.catch_warnings():
        # Consolidated metadata is a zarr-python extension for v3; xarray reads it and warns
        # without it, so we write it on purpose.
        warnings.simplefilter("ignore", zarr.errors.ZarrUserWarning)
        zarr.consolidate_metadata(partial)
    if final.exists():
        old = final.with_name(final.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
        partial.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        partial.rename(final)


def is_complete(path: str | os.PathLike) -> bool:
    """Whether ``path`` holds a store whose run finished."""
    try:
        return bool(read_attrs(Path(path)).get("complete", False))
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, ValueError):
        return False


def open_store(path: str | os.PathLike) -> xr.Dataset:
    """Open a complete footgrid store lazily; an incomplete one is an error."""
    p = Path(path)
    if not p.exists():
        raise InputError("the store does not exist", file=p, fix="run `footgrid run CONFIG`")
    if not is_complete(p):
        raise InputError(
            "the store is incomplete (its run was interrupted)",
            file=p,
            fix="finish it with `footgrid run CONFIG --resume`",
        )
    ds = xr.open_zarr(p, decode_coords="all")
    # Small label coordinates (e.g. ``domestic``) are loaded eagerly; rasters stay lazy. With
    # dask's synchronous ``get`` given as a function: looking a scheduler up by name (or by
    # default) imports distributed (0.1-0.2 s) to find a client, for a few bytes.
    small = {
        k: ds[k].load(scheduler=dask.get) for k in ds.coords if k not in ds.dims and ds[k].ndim <= 1
    }
    return ds.assign_coords(small)


def export_geotiff(ds: xr.Dataset, folder: Path) -> list[Path]:
    """Write ``emissions`` and each consumer's footprint (categories summed) as GeoTIFFs."""
    folder.mkdir(parents=True, exist_ok=True)
    out = [folder / "emissions.tif"]
    ds["emissions"].rio.to_raster(out[0], compress="deflate", tiled=True)
    if "footprint" in ds:
        for c in ds["consumer"].values:
            layer = ds["footprint"].sel(consumer=c).sum("category").astype(ds["footprint"].dtype)
            p = folder / f"footprint_{_safe(str(c))}.tif"
            layer.rio.write_crs(ds.rio.crs).rio.to_raster(p, compress="deflate", tiled=True)
            out.append(p)
    return out


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _jsonable(attrs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in attrs.items():
        if isinstance(v, np.generic):
            v = v.item()
        elif isinstance(v, dict | list | tuple):
            v = json.loads(json.dumps(v, default=float))
        out[k] = v
    return out

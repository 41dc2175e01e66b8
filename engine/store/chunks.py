"""Whole Zarr v3 chunks written straight to their files, inside the block tasks."""

from __future__ import annotations

import functools
import json
import logging
import os

import numcodecs
import numpy as np
import zarr

log = logging.getLogger("footgrid")


class ChunkWriter:
    """Writes whole chunks of one Zarr v3 array straight to its files.

    zarr-python spends milliseconds of Python per chunk (under the GIL, on one event-loop
    thread), and a tile of 50 consumers is 50 chunks. Our arrays use one fixed codec chain
    (little-endian bytes + Zstandard, no checksum), so a chunk is ``zstd(block.tobytes())``
    written to ``c/<i>/<j>/...``, with the GIL released while compressing: the same files as
    zarr-python's, several times faster. The array's metadata is checked against that chain
    when the writer is made; any other layout is written through zarr-python instead, and a
    warning on the ``footgrid`` logger says so. Chunks equal to the fill value are not written
    (as zarr does by default).
    A run killed while writing may leave a torn chunk, but only in a block that is not yet
    marked done (the marker is written after the block), so ``--resume`` rewrites it.
    """

    def __init__(self, path: str, name: str) -> None:
        self.sep: str
        self.prefix: tuple[str, ...]
        self.root = os.path.join(path, name)
        self._folders: set[str] = set()
        if os.path.exists(os.path.join(self.root, ".zarray")):
            self._init_v2()
            return
        self.sep, self.prefix = "/", ("c",)
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
            self.codec = numcodecs.Zstd(level=int(codecs[1][1].get("level", 0)))
        else:
            log.warning(
                "array %s: codecs %s, fill value %r or chunk layout are not the direct writer's "
                "(bytes little-endian + zstd without checksum, fill 0, default '/' keys); "
                "writing through zarr-python, which is several times slower",
                self.root,
                [c for c, _ in codecs],
                self.fill,
            )
            self.array = zarr.open_array(self.root, mode="r+")

    def _init_v2(self) -> None:
        """Zarr v2 (``[output] zarr_format = 2``): chunks at ``<i>.<j>...`` (or ``/``)."""
        with open(os.path.join(self.root, ".zarray")) as fh:
            meta = json.load(fh)
        self.chunks = tuple(meta["chunks"])
        self.dtype = np.dtype(meta["dtype"])
        self.fill = meta["fill_value"]
        self.sep, self.prefix = meta.get("dimension_separator") or ".", ()
        comp = meta.get("compressor") or {}
        self.direct = (
            comp.get("id") == "zstd"
            and not meta.get("filters")
            and meta.get("order", "C") == "C"
            and self.dtype.byteorder in ("<", "=", "|")
            and self.fill in (0, None)
        )
        if self.direct:
            # imported here: heavy, optional or circular; only this path needs it
            import numcodecs

            self.codec = numcodecs.Zstd(level=int(comp.get("level", 0)))
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
        # ``nonzero`` speaks for whole entries of the first axis: it settles a chunk alone only
        # when the block is one chunk along every other axis.
        whole = all(k == 1 for k in counts[1:])
        for pos in np.ndindex(*counts):
            sub = tuple(
                slice(p * c, min((p + 1) * c, n))
                for p, c, n in zip(pos, self.chunks, block.shape, strict=True)
            )
            if nonzero is not None and not nonzero[sub[0]].any():
                continue
            part = block[sub]
            if (nonzero is None or not whole) and not part.any():
                continue
            if part.shape != self.chunks:  # edge chunks are stored padded to the full shape
                full = np.zeros(self.chunks, dtype=self.dtype)
                full[tuple(slice(0, n) for n in part.shape)] = part
                part = full
            data = self.codec.encode(np.ascontiguousarray(part, dtype=self.dtype))
            key = [str(st // c + p) for st, c, p in zip(starts, self.chunks, pos, strict=True)]
            if self.sep == ".":  # Zarr v2's default: one flat folder of "i.j.k" files
                key = [".".join(key)]
                folder = self.root
            else:
                folder = os.path.join(self.root, *self.prefix, *key[:-1])
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
    if not os.path.exists(meta):
        meta = os.path.join(path, name, ".zarray")
    _writer(path, name, os.stat(meta).st_mtime_ns).write(index, block, nonzero)

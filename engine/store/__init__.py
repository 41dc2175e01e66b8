"""The output store: one Zarr v3 store, written atomically, readable with ``xarray.open_zarr``."""

from footgrid.store.chunks import ChunkWriter, chunk_matches, write_block
from footgrid.store.export import export_geotiff
from footgrid.store.journal import DONE_DIR, done_blocks, journal_block
from footgrid.store.layout import COMPRESSORS, UNITS, Layout, template
from footgrid.store.lifecycle import (
    create,
    finish,
    is_complete,
    lock_path,
    open_store,
    output_lock,
    partial_path,
    prepare_output,
    read_attrs,
    run_token_of,
)

__all__ = [
    "COMPRESSORS",
    "DONE_DIR",
    "UNITS",
    "ChunkWriter",
    "Layout",
    "chunk_matches",
    "create",
    "done_blocks",
    "export_geotiff",
    "finish",
    "is_complete",
    "journal_block",
    "lock_path",
    "open_store",
    "output_lock",
    "partial_path",
    "prepare_output",
    "read_attrs",
    "run_token_of",
    "template",
    "write_block",
]

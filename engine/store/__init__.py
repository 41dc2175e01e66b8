"""The output store: one Zarr v3 store, written atomically, readable with ``xarray.open_zarr``."""

from footgrid.store.chunks import ChunkWriter, chunk_matches, write_block
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


def __getattr__(name: str):
    """``export_geotiff`` on first use: exports load rasterio's GDAL and the reprojection code,
    which a run that writes only the Zarr store never needs (PEP 562)."""
    if name == "export_geotiff":
        from footgrid.store.export import export_geotiff  # lazy: see the docstring

        return export_geotiff
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

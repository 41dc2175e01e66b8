"""The direct chunk writer writes the very files zarr-python writes, and says when it cannot."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import zarr

from footgrid.store.chunks import ChunkWriter
from footgrid.store.layout import COMPRESSORS

SHAPE, CHUNKS = (3, 2, 37, 50), (1, 2, 16, 16)  # edge chunks on both raster axes


def _array(
    path: Path, compressors=COMPRESSORS, fill: float = 0.0, chunks=CHUNKS, filters=None
) -> zarr.Array:
    return zarr.create_array(
        path, shape=SHAPE, chunks=chunks, dtype="float32", compressors=compressors,
        fill_value=fill, zarr_format=3, filters=filters,
    )  # fmt: skip


def _data(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    data = rng.lognormal(size=SHAPE).astype(np.float32)
    data[1] = 0.0  # an empty consumer: no chunk file
    data[0, :, 16:32, 16:32] = 0.0  # an empty chunk inside a written block
    return data


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(f.relative_to(root)): f.read_bytes()
        for f in sorted(root.rglob("*"))
        if f.is_file() and f.name != "zarr.json"
    }


def _write_by_tiles(writer: ChunkWriter, data: np.ndarray, tile: int = 32) -> None:
    for r in range(0, SHAPE[2], tile):
        for c in range(0, SHAPE[3], tile):
            rows, cols = slice(r, min(r + tile, SHAPE[2])), slice(c, min(c + tile, SHAPE[3]))
            block = data[:, :, rows, cols]
            nonzero = block.reshape(SHAPE[0], -1).any(axis=1)
            writer.write((slice(0, SHAPE[0]), slice(None), rows, cols), block, nonzero)


def test_direct_chunks_equal_zarr_pythons_files_edge_chunks_included(tmp_path: Path) -> None:
    data = _data()
    reference = _array(tmp_path / "ref.zarr")
    reference[...] = data
    _array(tmp_path / "direct.zarr")
    writer = ChunkWriter(str(tmp_path), "direct.zarr")
    assert writer.direct
    _write_by_tiles(writer, data)
    ref_files, direct_files = _files(tmp_path / "ref.zarr"), _files(tmp_path / "direct.zarr")
    assert len(ref_files) > 0 and not any(k.startswith("c/1/") for k in ref_files)
    assert direct_files == ref_files
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "direct.zarr")[...], data)


@pytest.mark.parametrize("cell_major_input", [False, True])
def test_transposed_chunks_equal_zarr_pythons_files(tmp_path: Path, cell_major_input) -> None:
    """The footprint's layout: 2 consumers per chunk, stored cell-major (transpose codec). The
    writer takes a logical block, C-ordered or a transposed view of a cell-major buffer (what
    the footprint kernel fills), and writes zarr-python's files either way."""
    from footgrid.store.layout import FOOTPRINT_ORDER

    data = _data()
    filters = (zarr.codecs.TransposeCodec(order=FOOTPRINT_ORDER),)
    chunks = (2, 2, 16, 16)
    reference = _array(tmp_path / "ref.zarr", chunks=chunks, filters=filters)
    reference[...] = data
    _array(tmp_path / "direct.zarr", chunks=chunks, filters=filters)
    writer = ChunkWriter(str(tmp_path), "direct.zarr")
    assert writer.direct and writer.order == FOOTPRINT_ORDER
    if cell_major_input:  # a (consumer, category, y, x) view of a (y, x, consumer, category) buffer
        data = np.ascontiguousarray(data.transpose(FOOTPRINT_ORDER)).transpose(2, 3, 0, 1)
        assert not data.flags.c_contiguous
    _write_by_tiles(writer, data)
    assert _files(tmp_path / "direct.zarr") == _files(tmp_path / "ref.zarr")
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "direct.zarr")[...], data)


def test_an_unaligned_block_is_refused(tmp_path: Path) -> None:
    _array(tmp_path / "a.zarr")
    writer = ChunkWriter(str(tmp_path), "a.zarr")
    with pytest.raises(ValueError, match="not aligned"):
        writer.write(
            (slice(0, 1), slice(None), slice(8, 24), slice(0, 16)), np.ones((1, 2, 16, 16))
        )


@pytest.mark.parametrize(
    "compressors, fill",
    [
        ((zarr.codecs.ZstdCodec(level=1, checksum=True),), 0.0),
        ((zarr.codecs.BloscCodec(),), 0.0),
        (COMPRESSORS, float("nan")),
    ],
)
def test_another_codec_is_reported_and_still_written_right(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, compressors, fill
) -> None:
    data = _data(1)
    _array(tmp_path / "a.zarr", compressors, fill)
    with caplog.at_level(logging.WARNING, logger="footgrid"):
        writer = ChunkWriter(str(tmp_path), "a.zarr")
    assert not writer.direct
    assert "writing through zarr-python" in caplog.text
    _write_by_tiles(writer, data)
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "a.zarr")[...], data)


def test_a_run_writes_no_empty_chunk_and_they_read_back_as_zero(tmp_path: Path) -> None:
    """Consumers without final demand (their Y columns zero) and tiles without points leave no
    chunk file; every written chunk holds a non-zero value; xarray reads the rest as 0."""
    import pandas as pd
    import xarray as xr

    import footgrid
    from tests.helpers.cases import CATEGORIES, make_case

    cfg = make_case(tmp_path, 300, tile=16, resolution=20_000)
    y = pd.read_parquet(tmp_path / "mrio" / "Y.parquet")
    kc = 8 // len(CATEGORIES)  # consumers per chunk (LAYERS_PER_CHUNK // categories)
    # no demand from the consumers of the chunk that holds consumer 2 ("US")
    empty = range(2 // kc * kc, 2 // kc * kc + kc)
    y.iloc[:, empty[0] * len(CATEGORIES) : (empty[-1] + 1) * len(CATEGORIES)] = 0.0
    y.to_parquet(tmp_path / "mrio" / "Y.parquet")
    footgrid.run(cfg)
    store = tmp_path / "out.zarr"
    fp = xr.open_zarr(store)["footprint"]
    assert list(fp.consumer.values).index("US") == 2
    assert fp.encoding["chunks"][0] == kc
    values = fp.values
    t = 16
    files = {
        tuple(int(v) for v in f.relative_to(store / "footprint" / "c").parts)
        for f in (store / "footprint" / "c").rglob("*")
        if f.is_file()
    }
    n_groups = -(-values.shape[0] // kc)
    expected = {
        (c, 0, i, j)
        for c in range(n_groups)
        for i in range(-(-values.shape[2] // t))
        for j in range(-(-values.shape[3] // t))
        if values[c * kc : (c + 1) * kc, :, i * t : (i + 1) * t, j * t : (j + 1) * t].any()
    }
    assert files == expected
    assert not any(k[0] == 2 // kc for k in files) and (values[list(empty)] == 0).all()
    n_chunks = n_groups * -(-values.shape[2] // t) * -(-values.shape[3] // t)
    assert 0 < len(files) < n_chunks  # some tiles have no points

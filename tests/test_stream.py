"""kernels.stream: streaming stores write what a plain assignment writes, and refuse misuse."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from kernels.stream import stream_fence, stream_store


@numba.njit
def _put_all(a, values):
    for i in range(values.shape[0]):
        stream_store(a, i, values[i])
    stream_fence()


@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "int32", "uint16"])
def test_stream_store_equals_assignment(dtype):
    rng = np.random.default_rng(0)
    values = (rng.standard_normal(1000) * 1000).astype(dtype)
    values[:3] = [0, -0.0 if dtype.startswith("float") else 0, 1]
    out = np.full(1000, 7, dtype=dtype)
    _put_all(out, values)
    np.testing.assert_array_equal(out.view(np.uint8), values.view(np.uint8))  # bit for bit


@numba.njit
def _put(a, i, v):
    stream_store(a, i, v)


def test_stream_store_refuses_arrays_it_would_write_wrongly():
    with pytest.raises(numba.core.errors.TypingError):
        _put(np.zeros((3, 4)), 2, 5.0)  # 2-D with one index
    read_only = np.zeros(4)
    read_only.flags.writeable = False
    with pytest.raises(numba.core.errors.TypingError):
        _put(read_only, 1, 5.0)
    with pytest.raises(numba.core.errors.TypingError):
        _put(np.zeros(4, dtype=bool), 1, True)

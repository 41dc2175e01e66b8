"""pymrio inputs: an IOSystem with A and Y but no x (x from L·y), the raw EXIOBASE 3 layout
read through pymrio.parse_exiobase3; references: pymrio's own Z and consumption accounts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymrio
import pytest

from footgrid.errors import MRIOError
from footgrid.mrio.tables import load_mrio
from tests.helpers.raw_mrio import write_exiobase3_folder


@pytest.fixture(scope="module")
def ref() -> pymrio.IOSystem:
    io = pymrio.load_test()
    io.calc_all()
    return io


def test_a_and_y_without_x_give_pymrios_z(ref) -> None:
    io = pymrio.load_test()
    io.calc_all()
    io.Z = io.x = io.L = None
    t = load_mrio(io)
    Z = ref.Z.to_numpy()
    np.testing.assert_allclose(t.Z, Z, rtol=0, atol=1e-12 * Z.max())
    np.testing.assert_allclose(t.x, ref.x.to_numpy().ravel(), rtol=1e-12)


def test_raw_exiobase3_folder_with_a_and_y_only(ref, tmp_path) -> None:
    folder = write_exiobase3_folder(pymrio.load_test(), tmp_path / "IOT_2011_ixi")
    raw = pymrio.parse_exiobase3(folder)
    assert raw.Z is None and raw.x is None and raw.A is not None  # the layout under test
    t = load_mrio(folder, "exiobase3")
    Z = ref.Z.to_numpy()
    np.testing.assert_allclose(t.Z, Z, rtol=0, atol=1e-12 * Z.max())
    np.testing.assert_array_equal(t.Y, ref.Y.to_numpy())


def test_unproductive_a_is_an_error_naming_the_row() -> None:
    io = pymrio.load_test()
    io.calc_all()
    io.Z = io.x = io.L = None
    io.A = io.A / io.A.sum(axis=0) * 1.5  # every column sums to 1.5: x = L·y goes negative
    with pytest.raises(MRIOError, match=r"negative|does not solve"):
        load_mrio(io)


def test_labels_of_the_raw_layout_are_kept(tmp_path) -> None:
    folder = write_exiobase3_folder(pymrio.load_test(), tmp_path / "e3")
    t = load_mrio(folder, "exiobase3")
    expected = pd.read_csv(folder / "A.txt", sep="\t", header=[0, 1], index_col=[0, 1]).index
    assert list(t.rows) == list(expected)

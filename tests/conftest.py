"""Shared fixtures (helpers live in the importable package ``tests.helpers``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.files import random_points, write_points


@pytest.fixture
def small_points(tmp_path: Path) -> Path:
    """A Parquet file of 2 000 random firms."""
    return write_points(tmp_path / "firms.parquet", random_points(2000))

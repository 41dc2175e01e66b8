"""Hubs: components against scipy.ndimage.label and a brute-force flood fill; totals, names."""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import ndimage

from footgrid.analysis.hubs import (
    country_rank,
    density_threshold,
    find_hubs,
    hub_sectors,
    hub_table,
    label_clusters,
    name_hubs,
)
from footgrid.analysis.layers import GridInfo
from footgrid.errors import InputError

masks = st.tuples(st.integers(1, 14), st.integers(1, 14)).flatmap(
    lambda shape: arrays(bool, shape, elements=st.booleans())
)


def flood_fill(mask: np.ndarray) -> np.ndarray:
    """Brute-force 8-connected flood fill, labels by first cell in row-major order."""
    ny, nx = mask.shape
    out = np.zeros(mask.shape, dtype=np.int64)
    k = 0
    for i in range(ny):
        for j in range(nx):
            if mask[i, j] and out[i, j] == 0:
                k += 1
                out[i, j] = k
                queue = deque([(i, j)])
                while queue:
                    a, b = queue.popleft()
                    for da in (-1, 0, 1):
                        for db in (-1, 0, 1):
                            c, d = a + da, b + db
                            if 0 <= c < ny and 0 <= d < nx and mask[c, d] and out[c, d] == 0:
                                out[c, d] = k
                                queue.append((c, d))
    return out


@settings(max_examples=150, deadline=None)
@given(masks)
def test_label_clusters_matches_ndimage_and_flood_fill(mask):
    labels, n = label_clusters(mask)
    ref, n_ref = ndimage.label(mask, structure=np.ones((3, 3), dtype=int))
    assert n == n_ref
    np.testing.assert_array_equal(labels, ref)
    np.testing.assert_array_equal(labels, flood_fill(mask))


def pairwise_components(mask: np.ndarray, reach: int) -> np.ndarray:
    """Brute force: union-find over all pairs of cells within Chebyshev distance ``reach``."""
    cells = list(zip(*np.nonzero(mask), strict=True))
    parent = list(range(len(cells)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i, (a, b) in enumerate(cells):
        for j in range(i):
            c, d = cells[j]
            if max(abs(a - c), abs(b - d)) <= reach:
                parent[find(i)] = find(j)
    out = np.zeros(mask.shape, dtype=np.int64)
    seen: dict[int, int] = {}
    for i, (a, b) in enumerate(cells):  # row-major order: first cell numbers the component
        out[a, b] = seen.setdefault(find(i), len(seen) + 1)
    return out


@settings(max_examples=100, deadline=None)
@given(masks, st.integers(1, 4))
def test_label_clusters_reach_matches_pairwise(mask, reach):
    labels, n = label_clusters(mask, reach)
    ref = pairwise_components(mask, reach)
    assert n == ref.max()
    np.testing.assert_array_equal(labels, ref)


rasters = st.tuples(st.integers(2, 12), st.integers(2, 12)).flatmap(
    lambda shape: st.tuples(
        arrays(float, shape, elements=st.sampled_from([0.0, 0.0, 1.0, 2.0, 5.0, 40.0])),
        arrays(float, shape, elements=st.sampled_from([1e6, 2e6, 4e6])),
    )
)


@settings(max_examples=100, deadline=None)
@given(rasters, st.sampled_from([0.5, 1.0, 3.0]), st.sampled_from([None, 0.3, 0.8, 1.0]))
def test_find_hubs_totals_against_ndimage(raster, threshold, holding):
    values, areas = raster
    hubs = find_hubs(values, areas, threshold=threshold, holding=holding)
    mask = (values > 0) & (values / (areas / 1e6) >= threshold)
    ref, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=int))
    sums = np.array(ndimage.sum_labels(values, ref, np.arange(1, n + 1))) if n else np.zeros(0)
    ref_areas = np.array(ndimage.sum_labels(areas, ref, np.arange(1, n + 1))) if n else sums
    order = np.argsort(-sums, kind="stable")
    if holding is not None and n:
        cum = np.cumsum(sums[order])
        need = holding * values.sum()
        k = next((i + 1 for i, c in enumerate(cum) if c >= need * (1 - 1e-12)), n)
        order = order[:k]
    np.testing.assert_allclose(hubs.total, sums[order])
    np.testing.assert_allclose(hubs.area_m2, ref_areas[order])
    assert np.all(np.diff(hubs.total) <= 0)
    # Every hub is exactly one reference component.
    for h, comp in enumerate(order, start=1):
        np.testing.assert_array_equal(hubs.labels == h, ref == comp + 1)
    assert hubs.layer_total == pytest.approx(values.sum())


def test_density_threshold_core_share():
    values = np.array([[10.0, 0.0, 1.0], [5.0, 2.0, 0.0]])
    areas = np.full(values.shape, 1e6)  # 1 km²: density == value
    # Densest first: 10 (0.56), 5 (0.83), 2 (0.94), 1.
    assert density_threshold(values, areas, 0.5) == 10.0
    assert density_threshold(values, areas, 0.75) == 5.0
    assert density_threshold(values, areas, 0.9) == 2.0
    assert density_threshold(np.zeros((2, 2)), areas[:, :2], 0.5) == np.inf
    with pytest.raises(InputError):
        density_threshold(values, areas, 0.0)


def _grid(ny: int, nx: int) -> GridInfo:
    import pyproj

    return GridInfo(
        crs=pyproj.CRS.from_epsg(4326),
        transform=Affine(1.0, 0.0, 100.0, 0.0, -1.0, 40.0),
        shape=(ny, nx),
        x=100.5 + np.arange(nx),
        y=39.5 - np.arange(ny),
    )


def test_names_table_and_rank():
    values = np.zeros((5, 6))
    values[0:2, 0:2] = 10.0  # hub A (40)
    values[3:5, 4:6] = 5.0  # hub B (20)
    values[2, 3] = 0.1  # below threshold
    areas = np.full(values.shape, 1e6)
    hubs = find_hubs(values, areas, threshold=1.0)
    grid = _grid(5, 6)
    # City "Big" in hub A cell (row 1, col 1): lon 101.5, lat 38.5; "Small" also in A.
    names = name_hubs(
        hubs,
        grid,
        ["Small", "Big", "Far"],
        [100.2, 101.5, 103.2],
        [39.7, 38.5, 37.5],
        [1e5, 5e6, 1e4],
    )
    assert names == ["Big", "near Far"]
    us = np.where(values > 1, values * 0.25, 0.0)
    sectors = pd.DataFrame({"power": [30.0, 5.0], "steel": [10.0, 15.0]}, index=[1, 2])
    table = hub_table(hubs, grid, names=names, consumers={"US": us, "JP": values - us},
                      sectors=sectors)  # fmt: skip
    assert list(table["name"]) == ["Big", "near Far"]
    np.testing.assert_allclose(table["total"], [40.0, 20.0])
    np.testing.assert_allclose(table["share"], [40.0 / 60.1, 20.0 / 60.1])
    np.testing.assert_allclose(table["area_km2"], [4.0, 4.0])
    assert table.loc[0, "top_consumers"] == "JP 75 %; US 25 %"
    assert table.loc[1, "top_sectors"] == "steel 75 %; power 25 %"
    np.testing.assert_allclose(table.loc[0, ["lon", "lat"]].astype(float), [101.0, 39.0])
    # Sectors from a per-zone mix: zone 0 all power, zone 1 half/half, zone -1 national mix.
    zone = np.full(values.shape, -1)
    zone[:, :3] = 0
    zone[3:, 3:] = 1
    mix = pd.DataFrame({"power": [8.0, 1.0], "steel": [0.0, 1.0]}, index=["A", "B"])
    by = hub_sectors(hubs, values, zone, mix)
    np.testing.assert_allclose(by.loc[1], [40.0, 0.0])
    np.testing.assert_allclose(by.loc[2], [10.0, 10.0])
    np.testing.assert_allclose(by.sum(axis=1), hubs.total)
    zone[3, 4] = -1  # national mix 9:1 for one cell of hub B: 4.5 + 7.5, 0.5 + 7.5
    np.testing.assert_allclose(hub_sectors(hubs, values, zone, mix).loc[2], [12.0, 8.0])
    assert country_rank(60.0, pd.Series({"a": 100.0, "b": 70.0, "c": 10.0})) == (3, 4)

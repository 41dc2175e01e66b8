"""The in-memory plan's block graph: on a cluster its data travels by scatter, not in the graph."""

from __future__ import annotations

import pickle

import numpy as np
import pyproj

from footgrid.execution.blocks import BlockSpec, partition
from footgrid.execution.in_memory import block_graph
from footgrid.grid import Grid


class _Ref:
    """What a scatter returns in place of an object (a stand-in for a distributed Future)."""

    def __init__(self, i: int) -> None:
        self.i = i


def _case(n: int, n_layers: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    g = Grid.from_bounds((0, 0, 64_000, 48_000), 1000, pyproj.CRS(3857), 16)
    cell = rng.integers(0, g.nx * g.ny, n)
    key = rng.integers(0, 30, n)
    emission = rng.random(n)
    coef = rng.random((30, n_layers))
    spec = BlockSpec("/nowhere", g, coef, n_layers, 1, 4, "float32", 4)
    return g, cell, key, emission, spec


def _graph(n: int, n_layers: int):
    g, cell, key, emission, spec = _case(n, n_layers)
    tp = partition(g, cell, emission, key, workers=1)
    sent: list[tuple[list, bool]] = []

    def scatter(objects: list, broadcast: bool) -> list:
        sent.append((objects, broadcast))
        return [_Ref(i) for i in range(len(objects))]

    dsk, keys, _ = block_graph(spec, tp, scatter=scatter)
    return g, cell, key, emission, spec, dsk, keys, sent


def test_scattered_graph_holds_no_points_or_coefficients():
    g, cell, key, emission, spec, dsk, keys, sent = _graph(20_000, 40)
    (spec_sent, spec_bcast), (tiles_sent, tiles_bcast) = sent
    assert spec_sent == [spec] and spec_bcast and not tiles_bcast
    # The points scattered, concatenated, are the input points in a stable sort by tile
    # (numpy's reference), and no array of them (nor the coefficients) is left in the graph.
    tile_of = (cell // g.nx) // g.tile * g.n_tiles_x + (cell % g.nx) // g.tile
    order = np.argsort(tile_of, kind="stable")
    np.testing.assert_array_equal(np.concatenate([t[2] for t in tiles_sent]), emission[order])
    np.testing.assert_array_equal(np.concatenate([t[1] for t in tiles_sent]), key[order])
    assert len(tiles_sent) == len(np.unique(tile_of))
    arrays = [v for task in dsk.values() if isinstance(task, tuple) for v in task]
    assert not any(isinstance(v, np.ndarray | BlockSpec) for v in arrays)
    assert len(keys) == len(tiles_sent) * (1 + 40 // 4)


def test_scattered_graph_size_does_not_grow_with_points_or_layers():
    small = _graph(1_000, 8)[5]
    big = _graph(200_000, 200)[5]
    # Only the block tasks' count grows with the layers (one per consumer chunk), not their size.
    per_task_small = len(pickle.dumps(small)) / len(small)
    per_task_big = len(pickle.dumps(big)) / len(big)
    assert per_task_big < 1.2 * per_task_small
    assert len(pickle.dumps(big)) < 200_000  # the points alone are 200 000 * 24 bytes

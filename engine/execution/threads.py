"""Running Numba kernels (which release the GIL) on disjoint ranges, on threads."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges cutting ``range(n)`` into ``parts`` nearly equal pieces."""
    bounds = np.linspace(0, n, max(1, parts) + 1).astype(np.int64)
    return [(int(a), int(b)) for a, b in pairwise(bounds.tolist()) if b > a]


def range_offsets(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offsets of a stable counting sort whose counting ran over ranges of the input.

    ``counts[r, b]`` is the number of items of range ``r`` going to bucket ``b``. Returns
    ``offsets`` (``n_buckets + 1``: bucket ``b`` is ``offsets[b]:offsets[b + 1]``) and
    ``fills`` (``[r, b]``: where range ``r``'s first item of bucket ``b`` goes), so that the
    ranges can be placed in parallel and the items of a bucket keep their input order.
    """
    offsets = np.zeros(counts.shape[1] + 1, dtype=np.int64)
    np.cumsum(counts.sum(axis=0), out=offsets[1:])
    fills = offsets[:-1] + np.cumsum(counts, axis=0) - counts
    return offsets, fills


def run_jobs(jobs: list[Callable[[], object]]) -> None:
    """Run kernel calls on threads (the kernels release the GIL); one job runs inline."""
    if len(jobs) <= 1:
        for job in jobs:
            job()
        return
    with ThreadPoolExecutor(len(jobs)) as pool:
        for f in [pool.submit(job) for job in jobs]:
            f.result()


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1

"""Ensemble members of one block: counter-based lognormal draws and per-cell statistics.

A member's factor for a point depends on ``(seed, member, draw)`` only, where ``draw`` is the
point's stable input row (independent per source) or its sector code (one draw per sector):
a SplitMix64 hash of ``(seed, member // 2, draw)`` gives two uniforms, Box-Muller two
independent standard normals (members ``2k`` and ``2k + 1``), and with ``z`` one of them the
factor is ``exp(s z - s²/2)`` with ``s² = ln(1 + rsd²)`` (a lognormal of mean 1
and relative standard deviation ``rsd``). No random state is carried between points, so the
members do not depend on the tiling, the number of workers or the scheduler. ``s = 0`` gives
the factor 1.0 exactly, so members of a run without uncertainty equal the deterministic run
bit for bit.

Per occupied cell the kernel draws each point's N factors once, sums each member's tonnes per
coefficient row of the cell (N × rows), and only then multiplies by the coefficients (N ×
rows × width, not N × points × width); it writes the mean and sample standard deviation (two
passes) and exact quantiles (numpy's ``linear`` interpolation between the order statistics,
found by insertion from a near-sorted order or by selection, never a full sort) of every
column. A cell whose points all share one coefficient row (most cells) has columns
proportional to one another, so the statistics of the members' tonnes are computed once and
scaled per column; a cell without uncertainty is summed once, as
:func:`footgrid.kernels.attribute_block` sums it (bit for bit the deterministic run).
In an emission block the kernel also adds each member's territory cells to a per-member
histogram of density (value / cell area) with ``BINS_PER_OCTAVE`` logarithmic bins per factor
2 (:func:`density_bin`): per bin the members' value and area, merged across blocks by
addition, from which the area share holding X % and the Lorenz curve of every member follow
(:mod:`footgrid.execution.ensemble_scalars`).
"""

from __future__ import annotations

import numpy as np

from footgrid.kernels.jit import ngjit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_53 = 1.0 / 9007199254740992.0
#: Density histogram: bins per octave (factor 2) and the octaves covered, 2**-110 to 2**50
#: t/m² (densities outside fall in the first or last bin). Two densities in one bin differ by
#: less than a factor ``2 ** (1 / BINS_PER_OCTAVE)`` (1.0219).
BINS_PER_OCTAVE = 32
LOG2_MIN = -110
LOG2_MAX = 50
N_BINS = (LOG2_MAX - LOG2_MIN) * BINS_PER_OCTAVE


@ngjit
def _mix(x: np.uint64) -> np.uint64:
    """The SplitMix64 finaliser (a bijection of 64-bit integers with full avalanche)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


@ngjit
def _polar(seed: int, pair: int, draw: int) -> tuple[float, float]:
    """Box-Muller radius and angle of member pair ``pair`` for ``(seed, draw)``."""
    h = _mix(np.uint64(seed) * _GOLDEN + np.uint64(pair))
    h = _mix(h ^ (np.uint64(draw) * _GOLDEN + _GOLDEN))
    u1 = (float(h >> np.uint64(11)) + 0.5) * _TWO_53
    u2 = float(_mix(h + _GOLDEN) >> np.uint64(11)) * _TWO_53
    return np.sqrt(-2.0 * np.log(u1)), 2.0 * np.pi * u2


@ngjit
def standard_normal(seed: int, member: int, draw: int) -> float:
    """A standard normal deviate that is a pure function of ``(seed, member, draw)``.

    Members ``2k`` and ``2k + 1`` are the two outputs (cosine, sine) of one Box-Muller pair,
    which are independent standard normals.
    """
    r, theta = _polar(seed, member >> 1, draw)
    return r * np.cos(theta) if member % 2 == 0 else r * np.sin(theta)


@ngjit
def lognormal_factor(seed: int, member: int, draw: int, s: float) -> float:
    """``exp(s z - s²/2)``: mean-preserving lognormal factor (exactly 1.0 when ``s`` is 0)."""
    if s == 0.0:
        return 1.0
    return np.exp(s * standard_normal(seed, member, draw) - 0.5 * s * s)


@ngjit
def _member_factors(seed: int, draw: int, s: float, out: np.ndarray) -> None:
    """``out[m] = lognormal_factor(seed, m, draw, s)`` for every member, one pair at a time."""
    n = out.shape[0]
    if s == 0.0:
        out[:] = 1.0
        return
    half = 0.5 * s * s
    for pair in range((n + 1) // 2):
        r, theta = _polar(seed, pair, draw)
        out[2 * pair] = np.exp(s * (r * np.cos(theta)) - half)
        if 2 * pair + 1 < n:
            out[2 * pair + 1] = np.exp(s * (r * np.sin(theta)) - half)


@ngjit
def lognormal_sigma(rsd: np.ndarray) -> np.ndarray:
    """``s = sqrt(ln(1 + rsd²))`` per entry: the log-space deviation of relative deviation rsd."""
    out = np.empty(rsd.shape[0], dtype=np.float64)
    for i in range(rsd.shape[0]):
        out[i] = np.sqrt(np.log1p(rsd[i] * rsd[i]))
    return out


@ngjit
def _quantile_sorted(v: np.ndarray, p: float) -> float:
    """numpy's ``linear`` quantile of the sorted ``v`` (same interpolation formula)."""
    h = (v.shape[0] - 1) * p
    lo = int(np.floor(h))
    hi = min(lo + 1, v.shape[0] - 1)
    t = h - lo
    a, b = v[lo], v[hi]
    d = b - a
    return b - d * (1.0 - t) if t >= 0.5 else a + d * t


@ngjit
def _swap(a: np.ndarray, i: int, j: int) -> None:
    t = a[i]
    a[i] = a[j]
    a[j] = t


@ngjit
def _select(a: np.ndarray, lo: int, hi: int, k: int) -> None:
    """Put rank ``k`` of ``a[lo:hi + 1]`` at ``a[k]``, smaller before and larger after it
    (Hoare partition, median-of-three pivot: fine with ties)."""
    while hi > lo:
        mid = (lo + hi) >> 1
        if a[mid] < a[lo]:
            _swap(a, mid, lo)
        if a[hi] < a[lo]:
            _swap(a, hi, lo)
        if a[hi] < a[mid]:
            _swap(a, hi, mid)
        pivot = a[mid]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                _swap(a, i, j)
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


@ngjit
def select_ranks(a: np.ndarray, ranks: np.ndarray, stack: np.ndarray) -> None:
    """Put each rank of ``ranks`` (sorted, unique) at its place in ``a``, as a sort would.

    Middle-out: the middle rank over the whole array, then the lower ranks left of it and the
    higher ones right of it; ``stack`` is (4, >= 2 len(ranks) + 1) int64 scratch.
    """
    stack[0, 0], stack[1, 0], stack[2, 0], stack[3, 0] = 0, a.shape[0] - 1, 0, ranks.shape[0]
    top = 1
    while top > 0:
        top -= 1
        lo, hi, r0, r1 = stack[0, top], stack[1, top], stack[2, top], stack[3, top]
        if r1 <= r0:
            continue
        mid = (r0 + r1) >> 1
        k = ranks[mid]
        _select(a, lo, hi, k)
        stack[0, top], stack[1, top], stack[2, top], stack[3, top] = lo, k - 1, r0, mid
        top += 1
        stack[0, top], stack[1, top], stack[2, top], stack[3, top] = k + 1, hi, mid + 1, r1
        top += 1


#: Ranks this close to either end are read from one pass keeping the smallest (largest) values,
#: not by selection.
TAIL = 16


@ngjit
def order_statistics(
    x: np.ndarray, col: np.ndarray, ranks: np.ndarray, stack: np.ndarray, buf: np.ndarray
) -> None:
    """``col[r]`` = the rank-``r`` value of ``x`` (as ``np.sort(x)[r]``) for every ``r`` in
    ``ranks`` (sorted, unique); ``col``'s other entries are left undefined.

    Ranks below :data:`TAIL` or above ``n - 1 - TAIL`` come from one pass over ``x`` with a
    sorted buffer of its smallest (largest) values; the others by :func:`select_ranks` on a
    copy. ``buf`` is float64 scratch of at least ``TAIL`` values, ``stack`` as for
    :func:`select_ranks`.
    """
    n = x.shape[0]
    low = 0  # ranks[:low] are low tail ranks
    while low < ranks.shape[0] and ranks[low] < TAIL and ranks[low] < n - 1 - TAIL:
        low += 1
    high = ranks.shape[0]  # ranks[high:] are high tail ranks
    while high > low and ranks[high - 1] > n - 1 - TAIL:
        high -= 1
    if high > low:
        col[:] = x
        select_ranks(col, ranks[low:high], stack)
    if low > 0:
        size = ranks[low - 1] + 1
        cnt = 0
        for m in range(n):
            v = x[m]
            if cnt == size and not v < buf[cnt - 1]:
                continue
            i = cnt if cnt < size else size - 1
            while i > 0 and buf[i - 1] > v:
                buf[i] = buf[i - 1]
                i -= 1
            buf[i] = v
            cnt = min(cnt + 1, size)
        for r in range(low):
            col[ranks[r]] = buf[ranks[r]]
    if high < ranks.shape[0]:
        size = n - ranks[high]
        cnt = 0
        for m in range(n):
            v = x[m]
            if cnt == size and not v > buf[cnt - 1]:
                continue
            i = cnt if cnt < size else size - 1
            while i > 0 and buf[i - 1] < v:
                buf[i] = buf[i - 1]
                i -= 1
            buf[i] = v
            cnt = min(cnt + 1, size)
        for r in range(high, ranks.shape[0]):
            col[ranks[r]] = buf[n - 1 - ranks[r]]


#: Element moves (per member) an insertion sort of a near-sorted column may make before the
#: column's ranks are selected instead.
HINT_SHIFTS = 16


@ngjit
def _sort_from_hint(
    x: np.ndarray, order: np.ndarray, reverse: bool, out: np.ndarray, max_shifts: int
) -> bool:
    """``out`` = ``x`` sorted, by insertion in the order ``order`` (reversed if ``reverse``).

    Exact whatever the hint; fast when the hint nearly sorts ``x``. Gives up (returns False,
    ``out`` undefined) after ``max_shifts`` element moves.
    """
    n = x.shape[0]
    shifts = 0
    for i in range(n):
        v = x[order[n - 1 - i] if reverse else order[i]]
        k = i
        while k > 0 and out[k - 1] > v:
            out[k] = out[k - 1]
            k -= 1
        shifts += i - k
        out[k] = v
        if shifts > max_shifts:
            return False
    return True


@ngjit
def quantile_ranks(n: int, probs: np.ndarray) -> np.ndarray:
    """The ranks (sorted, unique) that numpy's ``linear`` quantiles ``probs`` of n values read."""
    out = np.empty(2 * probs.shape[0], dtype=np.int64)
    for q in range(probs.shape[0]):
        lo = int(np.floor((n - 1) * probs[q]))
        out[2 * q] = lo
        out[2 * q + 1] = min(lo + 1, n - 1)
    return np.unique(out)


@ngjit
def _column_stats(
    x: np.ndarray,
    col: np.ndarray,
    ranks: np.ndarray,
    stack: np.ndarray,
    buf: np.ndarray,
    select: bool,
) -> tuple[float, float]:
    """Mean and sample standard deviation (two passes) of ``x``; with ``select``, ``col`` is
    ``x`` with ``ranks`` selected (its quantiles readable by :func:`_quantile_sorted`)."""
    n = x.shape[0]
    total = 0.0
    lo = x[0]
    hi = x[0]
    for m in range(n):
        v = x[m]
        total += v
        lo = min(lo, v)
        hi = max(hi, v)
    mu = total / n
    if lo == hi:  # every member equal (e.g. a zero coefficient): no spread, no selection
        col[:] = lo
        return lo, 0.0
    ss = 0.0
    for m in range(n):
        d = x[m] - mu
        ss += d * d
    if select:
        order_statistics(x, col, ranks, stack, buf)
    return mu, np.sqrt(ss / (n - 1))


@ngjit
def density_bin(d: float) -> int:
    """The histogram bin of density ``d > 0``: ``floor(32 (log2 d + 110))``, clipped."""
    b = int(np.floor((np.log2(d) - LOG2_MIN) * BINS_PER_OCTAVE))
    return min(max(b, 0), N_BINS - 1)


@ngjit
def _add_to_histogram(hist: np.ndarray, m: int, value: float, area: float) -> None:
    """Add member ``m``'s cell (``value`` > 0 tonnes on ``area`` m²) to its density bin."""
    b = density_bin(value / area)
    hist[0, m, b] += value
    hist[1, m, b] += area


@ngjit
def ensemble_block(
    cells: np.ndarray,
    starts: np.ndarray,
    key: np.ndarray,
    emission: np.ndarray,
    sigma: np.ndarray,
    draw: np.ndarray,
    seed: int,
    n_members: int,
    coef: np.ndarray,
    use_coef: bool,
    col0: int,
    width: int,
    probs: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    quant: np.ndarray,
    member_sums: np.ndarray,
    areas: np.ndarray,
    inside: np.ndarray,
    hist: np.ndarray,
) -> None:
    """Statistics over ``n_members`` members of one block (an emission tile or a footprint
    block), written into the occupied cells of ``mean``, ``std`` and ``quant``.

    Member ``m`` of column ``j`` in cell ``s`` is
    ``Σ_p emission[p] f(m, p) coef[m or 0, key[p], col0 + j]`` over the cell's points (without
    coefficients, ``use_coef`` False: ``Σ_p emission[p] f(m, p)``, one column), with
    ``f(m, p) = lognormal_factor(seed, m, draw[p], sigma[p])``.

    Parameters
    ----------
    cells, starts, key, emission
        A tile's points grouped by cell (:func:`footgrid.kernels.group_by_cell`).
    sigma, draw
        Per point (same order): log-space deviation and draw id (input row or sector code).
    seed, n_members
        The ensemble's seed and size.
    coef
        (1 or n_members, n_keys, n_columns) coefficients: one set shared by all members, or
        one per member (MRIO uncertainty). Ignored when ``use_coef`` is False.
    col0, width
        The block's first column and its number of columns.
    probs
        Quantile probabilities.
    mean, std
        (groups, n_cells, L) outputs, cell-major as the store's chunks (column ``j`` at
        ``[j // L, :, j % L]``), zero on entry; only occupied cells are written.
    quant
        (n_quantiles, groups, n_cells, L) output, zero on entry.
    member_sums
        (n_members, width) float64, incremented by each member's block total.
    areas, inside
        Per cell of the block: area (m²) and territory flag; used with ``hist`` only.
    hist
        (2, n_members, N_BINS) float64, incremented (emission blocks only) by each member's
        territory cells with a value > 0: ``hist[0, m, b]`` their value and ``hist[1, m, b]``
        their area, ``b = density_bin(value / area)``; a (2, n_members, 0) array skips it.
    """
    with_hist = hist.shape[2] > 0 and not use_coef
    group = mean.shape[2]
    if width > mean.shape[0] * group:
        raise ValueError("ensemble_block: the outputs have fewer columns than width")
    per_member = coef.shape[0] > 1
    n_cells = cells.shape[0]
    most = 1
    for s in range(n_cells):
        most = max(most, starts[s + 1] - starts[s])
    slot_of = np.full(coef.shape[1] if use_coef else 1, -1, dtype=np.int64)
    slot_key = np.zeros(most, dtype=np.int64)
    per_slot = np.zeros((most, n_members), dtype=np.float64)  # Σ e f per member, per key
    vals = np.zeros((width, n_members), dtype=np.float64)
    spread = np.zeros(most, dtype=np.float64)  # per slot: its members' range
    have_order = np.zeros(most, dtype=np.bool_)
    slot_order = np.zeros((most, n_members), dtype=np.int64)  # per slot: argsort of members
    n_q = probs.shape[0]
    ranks = quantile_ranks(n_members, probs)
    stack = np.zeros((4, 2 * ranks.shape[0] + 1), dtype=np.int64)
    # one-row cells read q_p and q_{1-p} of the members' tonnes
    ranks_both = quantile_ranks(n_members, np.concatenate((probs, 1.0 - probs)))
    stack_both = np.zeros((4, 2 * ranks_both.shape[0] + 1), dtype=np.int64)
    q_up = np.empty(n_q, dtype=np.float64)
    q_down = np.empty(n_q, dtype=np.float64)
    buf = np.empty(TAIL + 1, dtype=np.float64)
    det = np.zeros(width, dtype=np.float64)
    ones = np.ones(width, dtype=np.float64)
    col = np.empty(n_members, dtype=np.float64)
    f = np.empty(n_members, dtype=np.float64)
    for s in range(n_cells):
        c = cells[s]
        p0, p1 = starts[s], starts[s + 1]
        certain = not per_member
        for p in range(p0, p1):
            if sigma[p] != 0.0 and not (use_coef and key[p] < 0):
                certain = False
                break
        if certain:  # every member is the deterministic value (summed as attribute_block)
            det[:] = 0.0
            for p in range(p0, p1):
                k = key[p]
                if use_coef and k < 0:
                    continue
                e = emission[p]
                if use_coef:
                    row = coef[0, k, col0 : col0 + width]
                    for j in range(width):
                        det[j] += e * row[j]
                else:
                    det[0] += e
            for j in range(width):
                x = det[j]
                mean[j // group, c, j % group] = x
                for q in range(n_q):
                    quant[q, j // group, c, j % group] = x
                for m in range(n_members):
                    member_sums[m, j] += x
                    if with_hist and x > 0.0 and inside[c]:
                        _add_to_histogram(hist, m, x, areas[c])
            continue
        # Each member's tonnes per coefficient row of the cell (one draw set per point).
        n_slots = 0
        for p in range(p0, p1):
            k = key[p] if use_coef else 0
            if k < 0:
                continue
            sl = slot_of[k]
            if sl < 0:
                sl = n_slots
                slot_of[k] = sl
                slot_key[sl] = k
                per_slot[sl, :] = 0.0
                n_slots += 1
            _member_factors(seed, draw[p], sigma[p], f)
            e = emission[p]
            for m in range(n_members):
                per_slot[sl, m] += e * f[m]
        for sl in range(n_slots):
            slot_of[slot_key[sl]] = -1
        if n_slots == 0:
            continue
        if n_slots == 1 and not per_member:
            # One coefficient row: column j is the members' tonnes t times a constant c_j, so
            # its mean is c_j mean(t), its std |c_j| std(t) and its quantile p c_j q_p(t)
            # (c_j q_{1-p}(t) for c_j < 0, the members' order reversed): the statistics of t
            # once per cell, not once per column.
            t = per_slot[0, :n_members]
            row = coef[0, slot_key[0], col0 : col0 + width] if use_coef else ones
            for m in range(n_members):
                tm = t[m]
                for j in range(width):
                    member_sums[m, j] += tm * row[j]
            if with_hist and inside[c]:  # emission blocks: one column, row[0] == 1
                for m in range(n_members):
                    if t[m] > 0.0:
                        _add_to_histogram(hist, m, t[m], areas[c])
            mu, sd = _column_stats(t, col, ranks_both, stack_both, buf, True)
            for q in range(n_q):
                q_up[q] = _quantile_sorted(col, probs[q])
                q_down[q] = _quantile_sorted(col, 1.0 - probs[q])
            for j in range(width):
                cj = row[j]
                g, jj = j // group, j % group
                mean[g, c, jj] = mu * cj
                std[g, c, jj] = sd * abs(cj) if n_members > 1 else 0.0
                for q in range(n_q):
                    quant[q, g, c, jj] = cj * (q_up[q] if cj >= 0.0 else q_down[q])
            continue
        for sl in range(n_slots):
            lo_t, hi_t = per_slot[sl, 0], per_slot[sl, 0]
            for m in range(n_members):
                lo_t = min(lo_t, per_slot[sl, m])
                hi_t = max(hi_t, per_slot[sl, m])
            spread[sl] = hi_t - lo_t
            have_order[sl] = False
        vals[:, :] = 0.0
        for sl in range(n_slots):
            k = slot_key[sl]
            if per_member:
                for m in range(n_members):
                    v = per_slot[sl, m]
                    for j in range(width):
                        vals[j, m] += v * coef[m, k, col0 + j]
            else:
                for j in range(width):
                    cj = coef[0, k, col0 + j]
                    for m in range(n_members):
                        vals[j, m] += per_slot[sl, m] * cj
        for j in range(width):
            xs = vals[j]
            for m in range(n_members):
                member_sums[m, j] += xs[m]
                if with_hist and xs[m] > 0.0 and inside[c]:
                    _add_to_histogram(hist, m, xs[m], areas[c])
            mu, sd = _column_stats(xs, col, ranks, stack, buf, False)
            if sd > 0.0:
                # The members' order of the slot that spreads this column most is a near-sort
                # of the column: finish it by insertion, or select the ranks if it is not.
                d, best = 0, -1.0
                for sl in range(n_slots):
                    score = abs(coef[0, slot_key[sl], col0 + j]) * spread[sl]
                    if score > best:
                        d, best = sl, score
                if not have_order[d]:
                    slot_order[d, :] = np.argsort(per_slot[d, :n_members])
                    have_order[d] = True
                reverse = coef[0, slot_key[d], col0 + j] < 0.0
                if not _sort_from_hint(xs, slot_order[d], reverse, col, HINT_SHIFTS * n_members):
                    order_statistics(xs, col, ranks, stack, buf)
            mean[j // group, c, j % group] = mu
            std[j // group, c, j % group] = sd if n_members > 1 else 0.0
            for q in range(n_q):
                quant[q, j // group, c, j % group] = _quantile_sorted(col, probs[q])


@ngjit
def perturb_entries(
    values: np.ndarray, sigma: np.ndarray, seed: int, member: int, offset: int
) -> np.ndarray:
    """``values[i] * lognormal_factor(seed, member, offset + i, sigma[i])`` for flat arrays.

    ``sigma`` has one entry per value, or a single entry shared by all.
    """
    n = values.shape[0]
    shared = sigma.shape[0] == 1
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        v = values[i]
        s = sigma[0] if shared else sigma[i]
        out[i] = v * lognormal_factor(seed, member, offset + i, s) if v != 0.0 else 0.0
    return out


@ngjit
def member_totals_by_label(
    label: np.ndarray,
    emission: np.ndarray,
    sigma: np.ndarray,
    draw: np.ndarray,
    seed: int,
    out: np.ndarray,
) -> None:
    """``out[m, label[p] - 1] += emission[p] * f(m, p)`` for the points with ``label > 0``.

    The members' totals of labelled groups of points (e.g. the points in each hub), with the
    factors :func:`ensemble_block` draws; ``out`` is (n_members, n_labels), points added in
    their order.
    """
    n_members = out.shape[0]
    f = np.empty(n_members, dtype=np.float64)
    for p in range(label.shape[0]):
        h = label[p] - 1
        if h < 0:
            continue
        _member_factors(seed, draw[p], sigma[p], f)
        e = emission[p]
        for m in range(n_members):
            out[m, h] += e * f[m]

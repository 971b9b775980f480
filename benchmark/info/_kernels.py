"""Compiled (numba) kernels behind :mod:`benchmark.info.mass` fast paths (private).

Only the one-dimensional ``gcmi_model_cd`` uses them: after the value sort of
:func:`benchmark.info._copula.order` (sample index in the low ``bits`` mantissa bits of
each key), one pass per variable reads the sorted keys, checks for truncated-value ties
and looks up the class of the k-th smallest sample; the copula score of that sample is
``table[k]``, so class means and then class sums of squared deviations (two passes, like
the numpy reference) accumulate straight from the table, with no scatter and no
class-sorted copy of x.  Each variable is one sequential loop (no threads), so results
are identical run to run.  The numpy path in :mod:`benchmark.info.mass` stays the
reference; ``tests/test_info_mass_fast.py`` compares the two.  :func:`model_d1_class_term`
drives the kernels chunk by chunk and redoes tied rows from an exact argsort.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import _copula as C

__all__ = ["make_keys", "model_d1_class_term", "model_d1_from_keys", "model_d1_from_order", "size_groups"]

LN2 = math.log(2.0)


def size_groups(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Classes sorted by size (stable) and the start of each run of equal sizes, plus the end.

    The kernels take one log per run: ``sum_c n_c ln v_c = sum_g n_g ln prod_{c in g} v_c``.
    """
    order = np.argsort(counts, kind="stable")
    srt = counts[order]
    bounds = np.flatnonzero(np.r_[True, srt[1:] != srt[:-1], True])
    return order.astype(np.int64), bounds.astype(np.int64)


@njit(cache=True)
def make_keys(x2, bits, keys):
    """keys[r, i] = bits of ``x2[r, i] + 0.0`` with the low ``bits`` bits replaced by i.

    ``keys`` is a (m, n) uint64 array; read as float64 it sorts like x2 with ties in
    sample order (``+ 0.0`` turns -0.0 into +0.0, which argsort ties with it).
    """
    m, n = x2.shape
    low = np.uint64((1 << bits) - 1)
    high = ~low
    kf = keys.view(np.float64)
    for r in range(m):
        for i in range(n):
            kf[r, i] = x2[r, i] + 0.0
            keys[r, i] = (keys[r, i] & high) | np.uint64(i)


@njit(cache=True)
def _class_term(cls, table, counts, by_size, bounds, sums, ss):
    """sum_c (n_c / n) 0.5 ln var_c (nats); cls[k] is the class of the k-th smallest sample.

    ``sums`` holds the class sums of ``table`` on entry.  Variances of classes of one size
    (``by_size[bounds[g]:bounds[g + 1]]``) are multiplied, renormalised by frexp before
    anything could overflow, and one log is taken per size: logs would otherwise cost about as
    much as the two passes over the samples.
    """
    n = cls.size
    for c in range(counts.size):
        sums[c] /= counts[c]
        ss[c] = 0.0
    for j in range(n):
        c = cls[j]
        dv = table[j] - sums[c]
        ss[c] += dv * dv
    acc = 0.0
    for g in range(bounds.size - 1):
        size = counts[by_size[bounds[g]]]
        prod, expo = 1.0, 0
        for i in range(bounds[g], bounds[g + 1]):
            prod *= ss[by_size[i]] / (size - 1.0)
            if not 1e-200 < prod < 1e200:  # a variance is > 0 and far inside this range
                prod, e = math.frexp(prod)
                expo += e
        acc += size * (math.log(prod) + expo * LN2)
    return 0.5 * acc / n


@njit(cache=True)
def model_d1_from_keys(keys, bits, labels, table, counts, by_size, bounds, out, tied):
    """Class term (nats) of each row of sorted ``keys`` (see :func:`make_keys`) into ``out``.

    Rows with two equal truncated values get ``tied[r] = True`` and NaN: redo them from an
    exact order with :func:`model_d1_from_order`.
    """
    m, n = keys.shape
    b = np.uint64(bits)
    low = np.uint64((1 << bits) - 1)
    cls = np.empty(n, dtype=labels.dtype)
    sums, ss = np.empty(counts.size), np.empty(counts.size)
    for r in range(m):
        row = keys[r]
        sums[:] = 0.0
        prev = row[0] >> b
        t = False
        for j in range(n):
            w = row[j]
            h = w >> b
            t |= (h == prev) & (j > 0)
            prev = h
            c = labels[w & low]
            cls[j] = c
            sums[c] += table[j]
        tied[r] = t
        out[r] = np.nan if t else _class_term(cls, table, counts, by_size, bounds, sums, ss)


@njit(cache=True)
def model_d1_from_order(order, labels, table, counts, by_size, bounds, out):
    """Class term (nats) of each row from its sort order (sample indices, ascending values)."""
    m, n = order.shape
    cls = np.empty(n, dtype=labels.dtype)
    sums, ss = np.empty(counts.size), np.empty(counts.size)
    for r in range(m):
        sums[:] = 0.0
        for j in range(n):
            c = labels[order[r, j]]
            cls[j] = c
            sums[c] += table[j]
        out[r] = _class_term(cls, table, counts, by_size, bounds, sums, ss)


def model_d1_class_term(x2, y, counts, table, chunk_bytes) -> tuple[np.ndarray, np.ndarray]:
    """``sum_c p(c) 0.5 ln var(copnorm(x) | y = c)`` (nats) per row of x2 (V, n), and the
    rows' distinct-value counts; y holds validated labels, counts the class sizes."""
    (n_vars, n), labels = x2.shape, np.ascontiguousarray(y, dtype=np.int32)  # y < Ym <= n / 2
    cnt, groups = counts.astype(np.float64), size_groups(counts)
    out, n_unique = np.empty(n_vars), np.full(n_vars, n, dtype=np.int64)
    bits, ws = max(1, (n - 1).bit_length()), C.Workspace()
    for sl in C.chunks(n_vars, 2 * n, chunk_bytes):
        rows, o = x2[sl], out[sl]
        if bits > 24:  # sample index does not fit the mantissa: exact argsort
            order, n_unique[sl] = C.order_exact(rows)
            model_d1_from_order(order, labels, table, cnt, *groups, o)
            continue
        keys = ws.get("keys", rows.shape, np.uint64)
        make_keys(rows, bits, keys)
        keys.view(np.float64).sort(axis=-1)
        tied = ws.get("tied", (rows.shape[0],), np.bool_)
        model_d1_from_keys(keys, bits, labels, table, cnt, *groups, o, tied)
        redo = np.flatnonzero(tied)
        if redo.size:  # true ties or near-equal values: redo from a stable argsort
            order, n_unique[sl.start + redo] = C.order_exact(rows[redo])
            sub = np.empty(redo.size)
            model_d1_from_order(order, labels, table, cnt, *groups, sub)
            o[redo] = sub
    return out, n_unique

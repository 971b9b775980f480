"""Rank kernels behind the mass-univariate copula transform (private to benchmark.info).

``copnorm`` of a row is ``Phi^-1(rank / (n + 1))``: every row with n samples maps onto the
same n copula scores (:func:`table`), permuted.  So one sort per row and one scatter of a
precomputed table do the whole transform; ties get ranks in sample order (stable), as in
:func:`benchmark.info.gcmi.copnorm`.  A :class:`Workspace` keeps the chunk-sized scratch
arrays alive between chunks: fresh large allocations page-fault on every chunk, which on a
busy machine costs as much as the sort itself.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri


class Workspace:
    """Named scratch arrays, grown on demand and reused; a returned view is valid until
    the next :meth:`get` of the same name."""

    def __init__(self) -> None:
        self._bufs: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple, dtype) -> np.ndarray:
        size = math.prod(shape)
        buf = self._bufs.get(name)
        if buf is None or buf.size < size or buf.dtype != np.dtype(dtype):
            buf = self._bufs[name] = np.empty(size, dtype=dtype)
        return buf[:size].reshape(shape)


def chunks(n_vars: int, floats_per_var: int, chunk_bytes: int):
    """Slices of variables whose temporaries take about ``chunk_bytes``."""
    step = max(1, int(chunk_bytes) // (8 * 4 * max(1, floats_per_var)))
    for start in range(0, n_vars, step):
        yield slice(start, min(n_vars, start + step))


def table(n: int) -> np.ndarray:
    """Copula scores Phi^-1(k / (n + 1)), k = 1..n: what rank k maps to."""
    return ndtri(np.arange(1, n + 1) / (n + 1.0))


def order_exact(x2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference: stable sort order of each row of x2 (m, n) and its number of distinct values."""
    order = np.argsort(x2, axis=-1, kind="stable")
    srt = np.take_along_axis(x2, order, axis=-1)
    return order, x2.shape[-1] - np.count_nonzero(srt[:, 1:] == srt[:, :-1], axis=-1)


def order(x2: np.ndarray, ws: Workspace | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sort order of each row of x2 (m, n), ties in sample order, and distinct-value counts.

    Exact fast path: the sample index is written into the low ``b = bit_length(n-1)``
    mantissa bits of each value and the rows are sorted as floats (a SIMD value sort, much
    faster than argsort); the order is read back from those bits.  Truncating the mantissa
    is monotone, so rows whose truncated values are all distinct come out exactly as a
    stable argsort orders them; rows with a repeated truncated value (true ties, or values
    within a relative 2**-(52-b) of each other) are redone by :func:`order_exact`.
    """
    ws = ws or Workspace()
    m, n = x2.shape
    bits = max(1, (n - 1).bit_length())
    if bits > 24:
        return order_exact(x2)
    low = np.uint64((1 << bits) - 1)
    keys = ws.get("keys", (m, n), np.float64)
    np.add(x2, 0.0, out=keys)  # also turns -0.0 into +0.0 (they tie under argsort)
    u = keys.view(np.uint64)
    u &= ~low
    u |= np.arange(n, dtype=np.uint64)
    keys.sort(axis=-1)
    high = ws.get("high", (m, n), np.uint64)
    np.right_shift(u, np.uint64(bits), out=high)
    same = ws.get("same", (m, n - 1), np.bool_)
    np.equal(high[:, 1:], high[:, :-1], out=same)
    rows = np.flatnonzero(same.any(axis=-1))
    u &= low
    idx = u.view(np.int64)  # indices < 2**24: the same bits read as signed integers
    n_unique = np.full(m, n, dtype=np.int64)
    if rows.size:
        idx[rows], n_unique[rows] = order_exact(x2[rows])
    return idx, n_unique


def scatter(order: np.ndarray, tab: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """out[i, order[i, k]] = tab[k]: copula-normalised rows from their sort order."""
    out = np.empty(order.shape, dtype=np.float64) if out is None else out
    for row, idx in zip(out, order):  # a row loop beats put_along_axis here by ~3x
        row[idx] = tab
    return out


def copnorm_rows(x2, tab, ws=None, out=None) -> tuple[np.ndarray, np.ndarray]:
    """Copula-normalised rows of x2 (m, n) and their distinct-value counts."""
    idx, n_unique = order(x2, ws)
    return scatter(idx, tab, out), n_unique


def copnorm_nd(a: np.ndarray, chunk_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Copula-normalise ``a`` along its last axis; also return distinct-value counts per row."""
    n = a.shape[-1]
    flat = a.reshape(-1, n)
    out, n_unique = np.empty(flat.shape), np.empty(flat.shape[0], dtype=np.int64)
    tab, ws = table(n), Workspace()
    for sl in chunks(flat.shape[0], 3 * n, chunk_bytes):
        n_unique[sl] = copnorm_rows(flat[sl], tab, ws, out[sl])[1]
    return out.reshape(a.shape), n_unique

"""benchmark.info._copula: the fast exact sort equals a stable argsort; scatter and workspaces."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtri

from benchmark.info import _copula as C
from benchmark.info import gcmi as G


@pytest.fixture(scope="module")
def hard_rows():
    rng = np.random.default_rng(1)
    base = rng.standard_normal(500)
    rows = [
        base,
        -np.abs(base),                                         # all negative
        np.where(np.arange(500) % 2, 0.0, -0.0),               # signed zeros tie
        np.full(500, np.nextafter(1.0, 2.0)),                  # all equal
        np.r_[base[:250], np.nextafter(base[:250], np.inf)],   # neighbours one ulp apart
        np.r_[base[:250] * 1e300, base[:250] * 1e-300],        # extreme magnitudes
        np.r_[base[:250] * 5e-324 * 0, np.arange(250) * 5e-324],  # zeros and subnormals
        np.round(base, 1),                                     # many ties
    ]
    return np.stack(rows)


def test_fast_order_equals_stable_argsort_on_hard_rows(hard_rows):
    order, n_unique = C.order(hard_rows)
    ref_order, ref_unique = C.order_exact(hard_rows)
    np.testing.assert_array_equal(order, ref_order)
    np.testing.assert_array_equal(n_unique, ref_unique)
    np.testing.assert_array_equal(order[0], np.argsort(hard_rows[0], kind="stable"))
    assert n_unique[0] == 500 and n_unique[3] == 1


def test_fast_order_on_random_rows_of_many_lengths():
    rng = np.random.default_rng(2)
    for n in (2, 3, 17, 1024, 1025, 4099):
        x = rng.standard_normal((5, n)) * 10.0 ** rng.integers(-5, 5, (5, 1))
        np.testing.assert_array_equal(C.order(x)[0], np.argsort(x, axis=-1, kind="stable"))


def test_workspace_reuse_across_chunk_sizes_gives_the_same_result(hard_rows):
    ws = C.Workspace()
    first = C.order(hard_rows, ws)[0].copy()
    C.order(hard_rows[:3, :100], ws)  # a smaller chunk reuses the same buffers
    np.testing.assert_array_equal(C.order(hard_rows, ws)[0], first)
    a = ws.get("keys", (2, 3), np.float64)
    assert np.shares_memory(a, ws.get("keys", (3, 2), np.float64))


def test_table_scatter_and_copnorm_match_the_reference():
    n = 9
    np.testing.assert_allclose(C.table(n), ndtri(np.arange(1, n + 1) / (n + 1)), rtol=0, atol=0)
    rng = np.random.default_rng(3)
    x = np.round(rng.standard_normal((4, 2, 60)), 1)
    out, n_unique = C.copnorm_nd(x, chunk_bytes=1)
    np.testing.assert_array_equal(out, G.copnorm(x))
    assert n_unique.shape == (8,) and np.all(n_unique < 60)
    assert list(C.chunks(10, 1, 8 * 4 * 3)) == [slice(0, 3), slice(3, 6), slice(6, 9), slice(9, 10)]

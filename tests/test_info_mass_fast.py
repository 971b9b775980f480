"""benchmark.info._kernels: the compiled gcmi_model_cd path against the numpy reference."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from benchmark.info import _copula as C
from benchmark.info import _kernels as K
from benchmark.info import mass as M


def _numpy_ref(x, lab, ym, chunk_bytes=M.DEFAULT_CHUNK_BYTES):
    who = "test"
    return M._gcmi_model_cd_numpy(*M._model_setup(x, lab, ym, who), who, chunk_bytes)


def _data(seed, v, n, k):
    rng = np.random.default_rng(seed)
    lab = rng.permutation(np.arange(n) % k)
    x = 0.7 * lab / k + rng.standard_normal((v, n))
    return x, lab


@pytest.mark.parametrize("v,n,k", [(7, 40, 2), (30, 300, 7), (5, 1025, 200), (3, 2, 1)])
def test_compiled_path_equals_numpy_reference(v, n, k):
    x, lab = _data(v + n + k, v, n, k)
    np.testing.assert_allclose(M.gcmi_model_cd(x, lab, k), _numpy_ref(x, lab, k), atol=1e-12, rtol=0)


def test_tied_and_hard_rows_are_redone_exactly():
    x, lab = _data(1, 6, 500, 5)
    x[1] = np.round(x[1], 1)                                 # many true ties
    x[2] = np.where(np.arange(500) % 2, 0.0, -0.0) + (np.arange(500) % 7 == 0)  # signed zeros
    x[3, 250:] = np.nextafter(x[3, :250], np.inf)            # neighbours one ulp apart
    x[4] *= 1e-300                                           # tiny magnitudes
    with warnings.catch_warnings(record=True) as fast_w:
        warnings.simplefilter("always")
        fast = M.gcmi_model_cd(x, lab, 5)
    with warnings.catch_warnings(record=True) as ref_w:
        warnings.simplefilter("always")
        ref = _numpy_ref(x, lab, 5)
    np.testing.assert_allclose(fast, ref, atol=1e-12, rtol=0)
    assert [str(w.message) for w in fast_w] == [str(w.message).replace("test", "mass.gcmi_model_cd")
                                                for w in ref_w]
    assert fast_w, "the tied rows should warn"


def test_kernels_agree_on_untied_rows_and_flag_tied_ones():
    x, lab = _data(2, 8, 333, 4)
    x[5, 10] = x[5, 20]
    n, bits = x.shape[1], (x.shape[1] - 1).bit_length()
    table, cnt, groups = C.table(n), np.bincount(lab).astype(float), K.size_groups(np.bincount(lab))
    keys = np.empty(x.shape, dtype=np.uint64)
    K.make_keys(x, bits, keys)
    keys.view(np.float64).sort(axis=-1)
    out, tied = np.empty(8), np.empty(8, dtype=bool)
    K.model_d1_from_keys(keys, bits, lab, table, cnt, *groups, out, tied)
    ref = np.empty(8)
    K.model_d1_from_order(C.order_exact(x)[0], lab, table, cnt, *groups, ref)
    assert tied.tolist() == [r == 5 for r in range(8)]
    np.testing.assert_array_equal(out[~tied], ref[~tied])  # same class order, same sums


def test_compiled_path_is_deterministic_and_chunk_independent():
    x, lab = _data(3, 50, 400, 9)
    a = M.gcmi_model_cd(x, lab, 9)
    np.testing.assert_array_equal(a, M.gcmi_model_cd(x, lab, 9))
    np.testing.assert_array_equal(a, M.gcmi_model_cd(x, lab, 9, chunk_bytes=1))
    np.testing.assert_array_equal(a, M.gcmi_model_cd(np.asfortranarray(x), lab.astype(np.int32), 9))


def test_compiled_path_agrees_with_frites_to_1e10():
    frites_nd = pytest.importorskip("frites.core.gcmi_nd")
    x, lab = _data(4, 20, 600, 60)
    np.testing.assert_allclose(M.gcmi_model_cd(x, lab, 60), frites_nd.gcmi_model_nd_cd(x, lab),
                               atol=1e-10, rtol=0)


def test_products_of_tiny_and_unequal_class_variances_do_not_underflow():
    rng = np.random.default_rng(5)
    lab = rng.permutation(np.r_[np.arange(4000) % 800, np.zeros(7, dtype=int), np.ones(30, dtype=int)])
    x = np.stack([lab + 1e-3 * rng.standard_normal(lab.size), rng.standard_normal(lab.size)])
    fast, ref = M.gcmi_model_cd(x, lab, 800), _numpy_ref(x, lab, 800)
    assert np.all(np.isfinite(fast)) and fast[0] > 5  # classes fully separated: large MI
    np.testing.assert_allclose(fast, ref, atol=1e-11, rtol=0)

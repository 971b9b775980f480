"""benchmark.info.stats: bootstrap coverage of analytic MI, max-statistic permutation tests, seeds."""
from __future__ import annotations

import math

import numpy as np
import pytest

from benchmark.info import mass as M
from benchmark.info import stats as S


def _correlated(rho, n_vars, n, seed):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(n)
    x = rho * y + math.sqrt(1 - rho**2) * rng.standard_normal((n_vars, n))
    return x, y


def test_analytic_bivariate_mi_lies_inside_bootstrap_ci():
    rho = 0.5
    analytic = -0.5 * math.log2(1 - rho**2)  # 0.2075 bits
    x, y = _correlated(rho, 8, 1000, seed=0)
    res = S.bootstrap_ci(x, y, n_boot=150, seed=1)
    inside = (res.low <= analytic) & (analytic <= res.high)
    assert inside.sum() >= 7, (res.low, res.high)
    assert np.all(res.low < res.mi) and np.all(res.mi < res.high)
    assert np.all(res.low > 0.1)  # informative: far from zero


def test_bootstrap_discrete_is_stratified_and_seeded():
    rng = np.random.default_rng(2)
    lab = np.arange(400) % 4
    x = rng.standard_normal((3, 400)) + 0.5 * lab
    a = S.bootstrap_ci(x, lab, estimator="gcmi_model_cd", Ym=4, n_boot=40, seed=3)
    b = S.bootstrap_ci(x, lab, estimator="gcmi_model_cd", Ym=4, n_boot=40, seed=3)
    c = S.bootstrap_ci(x, lab, estimator="gcmi_model_cd", Ym=4, n_boot=40, seed=4)
    np.testing.assert_array_equal(a.low, b.low)
    assert not np.array_equal(a.low, c.low)
    np.testing.assert_allclose(a.mi, M.gcmi_model_cd(x, lab, 4), atol=0)
    assert np.all(a.low < a.mi) and np.all(a.mi < a.high) and a.level == 0.95


@pytest.mark.parametrize("shape", ["1d", "2d", "per_variable"])
def test_fast_null_equals_the_slow_reference(shape):
    x, y = _correlated(0.3, 6, 150, seed=5)
    if shape == "2d":
        x = np.stack([x, np.roll(x, 1, axis=0)], axis=1)
    if shape == "per_variable":
        y = np.broadcast_to(y, (6, 1, 150))
    res = S.permutation_test(x, y, n_perm=30, seed=6, batch=7)
    null = S._reference_null(x, y, estimator="gcmi_cc", Ym=None, n_perm=30, seed=6)
    np.testing.assert_allclose(res.null_max, null.max(axis=1), atol=1e-12)
    np.testing.assert_allclose(res.p_uncorrected, (1 + (null >= res.mi).sum(0)) / 31, atol=0)
    np.testing.assert_allclose(res.p_fwe, (1 + (null.max(1)[:, None] >= res.mi).sum(0)) / 31, atol=0)


def test_discrete_null_equals_the_slow_reference():
    rng = np.random.default_rng(7)
    lab = np.arange(120) % 3
    x = rng.standard_normal((4, 120)) + 0.3 * lab
    res = S.permutation_test(x, lab, estimator="gcmi_model_cd", Ym=3, n_perm=20, seed=8)
    null = S._reference_null(x, lab, estimator="gcmi_model_cd", Ym=3, n_perm=20, seed=8)
    np.testing.assert_allclose(res.null_max, null.max(axis=1), atol=1e-12)


def test_max_statistic_controls_family_wise_error():
    n_datasets, alpha, any_fwe, any_unc = 40, 0.05, 0, 0
    for seed in range(n_datasets):
        rng = np.random.default_rng(100 + seed)
        x, y = rng.standard_normal((20, 150)), rng.standard_normal(150)  # no effect anywhere
        res = S.permutation_test(x, y, n_perm=99, seed=seed)
        assert np.all(res.p_fwe >= res.p_uncorrected)
        any_fwe += bool(np.any(res.p_fwe < alpha))
        any_unc += bool(np.any(res.p_uncorrected < alpha))
    assert any_fwe <= 6          # about alpha * n_datasets = 2 expected
    assert any_unc >= 15         # uncorrected: about 1 - 0.95**20 = 64% of datasets


def test_strong_effect_reaches_the_smallest_p_and_seeds_reproduce():
    x, y = _correlated(0.0, 10, 300, seed=9)
    x[3] += 2 * y
    a = S.permutation_test(x, y, n_perm=50, seed=10)
    b = S.permutation_test(x, y, n_perm=50, seed=10)
    c = S.permutation_test(x, y, n_perm=50, seed=11)
    assert a.p_fwe[3] == pytest.approx(1 / 51) and a.significant().tolist() == [i == 3 for i in range(10)]
    np.testing.assert_array_equal(a.null_max, b.null_max)
    assert not np.array_equal(a.null_max, c.null_max)
    assert a.seed == 10 and a.n_perm == 50 and a.estimator == "gcmi_cc"


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(estimator="gcmi_xx"), ValueError, "estimator must be one of"),
    (dict(estimator=3), TypeError, "estimator must be a str"),
    (dict(estimator="gcmi_model_cd"), ValueError, "needs Ym"),
    (dict(Ym=3), ValueError, "Ym is only used"),
    (dict(seed=1.5), TypeError, "seed must be an int"),
    (dict(n_perm=0), ValueError, "n_perm must be >= 1"),
])
def test_permutation_errors(kwargs, exc, match):
    x, y = _correlated(0.2, 3, 50, seed=12)
    with pytest.raises(exc, match=match):
        S.permutation_test(x, y, **kwargs)


def test_bootstrap_errors():
    x, y = _correlated(0.2, 3, 50, seed=13)
    with pytest.raises(ValueError, match="level must lie in"):
        S.bootstrap_ci(x, y, level=1.5)
    with pytest.raises(ValueError, match="number of samples"):
        S.bootstrap_ci(x, y[:-1])


def test_permutations_stay_within_strata_and_are_uniform():
    strata = np.repeat([7, 3, 9], [2, 5, 3])[np.random.default_rng(0).permutation(10)]  # unsorted labels
    perms = S.permutations(10, 4000, np.random.default_rng(1), strata=strata)
    assert perms.shape == (4000, 10) and perms.dtype == np.int64
    assert np.all(np.sort(perms, axis=1) == np.arange(10))  # every row a permutation
    assert np.all(strata[perms] == strata)                  # that maps each stratum onto itself
    for s in (7, 3, 9):  # uniform: each sample lands on each place of its stratum equally often
        m = np.flatnonzero(strata == s)
        freq = (perms[:, m][:, :, None] == m[None, None, :]).mean(0)
        np.testing.assert_allclose(freq, 1 / m.size, atol=0.03)
    plain = S.permutations(10, 3, np.random.default_rng(2))
    np.testing.assert_array_equal(plain, S._permutations(np.random.default_rng(2), 10, 3))  # the old stream
    with pytest.raises(ValueError, match="one label per sample"):
        S.permutations(10, 3, np.random.default_rng(2), strata=strata[:-1])


def _identity_effect(seed, n_ids=12, per=25, n_vars=5):
    """x and y share each identity's offset (so their pooled MI is large) but are independent
    within every identity."""
    rng = np.random.default_rng(seed)
    ident = np.repeat(np.arange(n_ids), per)
    a = 2.0 * rng.standard_normal(n_ids)
    x = a[ident] + rng.standard_normal((n_vars, ident.size))
    return x, a[ident] + rng.standard_normal(ident.size), ident


def test_within_identity_null_keeps_the_identity_effect():
    """Permuted across identities the null loses the identity effect and every data set looks
    significant; permuted within identity the same test holds its level."""
    across = within = 0
    for seed in range(20):
        x, y, ident = _identity_effect(seed)
        across += bool(np.any(S.permutation_test(x, y, n_perm=99, seed=seed).p_fwe <= 0.05))
        res = S.permutation_test(x, y, n_perm=99, seed=seed, strata=ident)
        assert res.stratified and np.all(res.p_fwe >= res.p_uncorrected)
        within += bool(np.any(res.p_fwe <= 0.05))
    assert across == 20
    assert within <= 4  # about alpha * 20 = 1 expected


def test_stratified_fast_null_equals_the_slow_reference():
    x, y, ident = _identity_effect(3, n_ids=6, per=20)
    res = S.permutation_test(x, y, n_perm=25, seed=4, batch=8, strata=ident)
    null = S._reference_null(x, y, estimator="gcmi_cc", Ym=None, n_perm=25, seed=4, strata=ident)
    np.testing.assert_allclose(res.null_max, null.max(axis=1), atol=1e-12)
    with pytest.raises(ValueError, match="strata must be one label per sample"):
        S.permutation_test(x, y, n_perm=5, strata=ident[:-1])

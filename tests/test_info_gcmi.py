"""benchmark.info.gcmi: single-variable estimators against frites, analytic values, invariances."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import norm

from benchmark.info import gcmi as G

frites_1d = pytest.importorskip("frites.core.gcmi_1d")
frites_cop = pytest.importorskip("frites.core.copnorm")

TOL = 1e-10


def _data(seed, dx=1, dy=1, n=400, k=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((dx, n))
    y = 0.6 * x[:1] + rng.standard_normal((dy, n))
    z = 0.4 * y[:1] + rng.standard_normal((1, n))
    labels = rng.permutation(np.arange(n) % k)
    x = x + 0.5 * labels
    return x, y, z, labels


def _bivariate(rho, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    return x, rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(n)


@pytest.mark.parametrize("seed,dx,dy", [(0, 1, 1), (1, 2, 1), (2, 2, 3)])
def test_agrees_with_frites_to_1e10(seed, dx, dy):
    x, y, z, lab = _data(seed, dx, dy)
    pairs = [
        (G.ent_g(x), frites_1d.ent_1d_g(x)),
        (G.ent_g(x, False), frites_1d.ent_1d_g(x, biascorrect=False)),
        (G.mi_gg(x, y), frites_1d.mi_1d_gg(x, y)),
        (G.mi_gg(x, y, False, False), frites_1d.mi_1d_gg(x, y, False, False)),
        (G.gcmi_cc(x, y), frites_1d.gcmi_1d_cc(x, y)),
        (G.mi_model_gd(x, lab, 3), frites_1d.mi_model_1d_gd(x, lab)),
        (G.mi_model_gd(x, lab, 3, False), frites_1d.mi_model_1d_gd(x, lab, biascorrect=False)),
        (G.gcmi_model_cd(x, lab, 3), frites_1d.gcmi_model_1d_cd(x, lab)),
        (G.cmi_ggg(x, y, z), frites_1d.cmi_1d_ggg(x, y, z)),
        (G.gccmi_ccc(x, y, z), frites_1d.gccmi_1d_ccc(x, y, z)),
        (G.gccmi_ccd(x, y, lab, 3)[0], frites_1d.gccmi_1d_ccd(x, y, lab)),
    ]
    for i, (ours, theirs) in enumerate(pairs):
        assert abs(ours - theirs) < TOL, (i, ours, theirs)
    np.testing.assert_allclose(G.copnorm(x), frites_cop.copnorm_nd(x), atol=TOL, rtol=0)
    np.testing.assert_allclose(G.ctransform(x), frites_cop.ctransform(x), atol=TOL, rtol=0)


def test_gccmi_ccd_returns_cmi_and_pooled_mi_like_gcmi():
    x, y, _, lab = _data(3)
    cmi, i = G.gccmi_ccd(x, y, lab, 3)
    parts = [G.copnorm(x[:, lab == c]) for c in range(3)], [G.copnorm(y[:, lab == c]) for c in range(3)]
    assert i == pytest.approx(G.mi_gg(np.hstack(parts[0]), np.hstack(parts[1])), abs=1e-12)
    assert cmi > 0.1  # y depends on x within every class


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.8])
def test_bivariate_gaussian_matches_analytic(rho):
    x, y = _bivariate(rho, 20_000, seed=int(rho * 10))
    analytic = -0.5 * math.log2(1 - rho**2)
    assert G.mi_gg(x, y) == pytest.approx(analytic, abs=0.01)
    assert G.gcmi_cc(x, y) == pytest.approx(analytic, abs=0.01)


def test_entropy_in_bits_matches_analytic():
    rng = np.random.default_rng(4)
    x = 3.0 * rng.standard_normal(50_000)
    assert G.ent_g(x) == pytest.approx(0.5 * math.log2(2 * math.pi * math.e * 9.0), abs=0.01)


def test_invariant_to_monotonic_transforms():
    x, y, z, lab = _data(5)
    x1, y1, z1 = x[:1], y[:1], z[:1]
    assert G.gcmi_cc(np.exp(x1), y1**3 + 2) == pytest.approx(G.gcmi_cc(x1, y1), abs=1e-12)
    assert G.gcmi_model_cd(np.arctan(x1) * 7, lab, 3) == pytest.approx(G.gcmi_model_cd(x1, lab, 3), abs=1e-12)
    assert G.gccmi_ccc(-np.exp(-x1), y1, np.tanh(z1)) == pytest.approx(G.gccmi_ccc(x1, y1, z1), abs=1e-12)


def test_lower_bound_blind_to_non_monotonic_dependence():
    rng = np.random.default_rng(6)
    x = rng.standard_normal(5000)
    y = x**2  # fully determined by x, yet no Gaussian-copula dependence
    assert abs(G.gcmi_cc(x, y)) < 0.01


def test_model_gd_matches_its_population_value():
    # x | c ~ N(mu_c, 1), mu = -1, +1: pooled variance 2, so the model MI is 1/2 log2(2)
    rng = np.random.default_rng(7)
    lab = np.arange(40_000) % 2
    x = (2.0 * lab - 1.0) + rng.standard_normal(lab.size)
    assert G.mi_model_gd(x, lab, 2) == pytest.approx(0.5, abs=0.01)


def test_discrete_estimators_limits():
    rng = np.random.default_rng(8)
    lab = np.arange(4000) % 2
    separated = 20.0 * lab + rng.standard_normal(lab.size)
    independent = rng.standard_normal(lab.size)
    # H(Y) = 1 bit is the most there is; the mixture reaches it for separated classes
    assert G.mi_mixture_gd(separated, lab, 2) == pytest.approx(1.0, abs=1e-3)
    assert G.gcmi_mixture_cd(separated, lab, 2) == pytest.approx(1.0, abs=1e-3)
    for fn in (G.mi_model_gd, G.gcmi_model_cd, G.mi_mixture_gd, G.gcmi_mixture_cd):
        assert abs(fn(independent, lab, 2)) < 0.01, fn.__name__


def _mixture_reference_1d(x, lab, k):
    """Unscented mixture MI written from the formula with scipy.stats, for one dimension."""
    w = np.bincount(lab, minlength=k) / lab.size
    m = np.array([x[lab == c].mean() for c in range(k)])
    s = np.array([x[lab == c].std(ddof=1) for c in range(k)])
    hcond = 0.5 * np.log(2 * np.pi * np.e * s**2)
    hmix = 0.0
    for c in range(k):
        pts = np.array([m[c] + s[c], m[c] - s[c]])
        loglik = norm.logpdf(pts[None, :], m[:, None], s[:, None])
        hmix -= 0.5 * w[c] * logsumexp(loglik, axis=0, b=w[:, None]).sum()
    return (hmix - np.dot(w, hcond)) / math.log(2)


def test_mixture_matches_formula_written_independently():
    x, _, _, lab = _data(9, k=4)
    assert G.mi_mixture_gd(x[0], lab, 4) == pytest.approx(_mixture_reference_1d(x[0], lab, 4), abs=1e-12)


def test_mixture_single_class_is_exactly_zero_in_two_dimensions():
    # sigma points from the columns of the Cholesky factor reproduce the class entropy exactly
    rng = np.random.default_rng(10)
    x = rng.standard_normal((2, 300))
    x[1] += 2 * x[0]
    assert G.mi_mixture_gd(x, np.zeros(300, dtype=int), 1) == pytest.approx(0.0, abs=1e-12)


def test_conditional_mi_chain_rule():
    x, y, z, _ = _data(11)
    # I(X;Y|Z) = I(X;Y,Z) - I(X;Z) holds exactly for the bias-corrected Gaussian estimates
    lhs = G.cmi_ggg(x, y, z)
    rhs = G.mi_gg(x, np.vstack((y, z))) - G.mi_gg(x, z)
    assert lhs == pytest.approx(rhs, abs=1e-12)


def test_ties_warn_and_are_broken_in_sample_order():
    x = np.array([3.0, 1.0, 3.0, 2.0, 3.0])
    np.testing.assert_array_equal(G.ctransform(x) * 6, [3, 1, 4, 2, 5])
    rng = np.random.default_rng(12)
    tied = np.round(rng.standard_normal(200), 1)
    with pytest.warns(UserWarning, match="x have more than 10% tied values"):
        G.gcmi_cc(tied, rng.standard_normal(200))


@pytest.mark.parametrize("call,exc,match", [
    (lambda: G.mi_gg(np.zeros((2, 3, 4)), np.zeros(4)), ValueError, "x must be 1-D or 2-D"),
    (lambda: G.mi_gg(np.ones(10), np.ones(9)), ValueError, "number of samples"),
    (lambda: G.mi_gg(np.random.rand(3, 4), np.random.rand(2, 4)), ValueError, "more samples than dimensions"),
    (lambda: G.gcmi_cc(np.array([1.0, np.nan, 2, 3]), np.arange(4.0)), ValueError, "x contains 1 NaN"),
    (lambda: G.gcmi_cc("abc", np.arange(4.0)), TypeError, "x must be a numeric array"),
    (lambda: G.mi_model_gd(np.random.rand(9), np.array([0, 0, 0, 2, 2, 2, 2, 2, 2]), 3), ValueError,
     r"class\(es\) \[1\] of y have no samples"),
    (lambda: G.mi_model_gd(np.random.rand(6), np.array([0, 0, 0, 1, 1, 1]) * 1.0, 2), TypeError,
     "y must hold integer class labels"),
    (lambda: G.mi_model_gd(np.random.rand(6), np.array([0, 0, 0, 1, 1, 1]), 2.0), TypeError, "Ym must be an int"),
    (lambda: G.mi_model_gd(np.random.rand(6), np.array([0, 0, 0, 1, 1, 5]), 2), ValueError, "values in 0..Ym-1"),
    (lambda: G.mi_model_gd(np.random.rand(2, 8), np.array([0, 0, 1, 1, 1, 1, 1, 1]), 2), ValueError,
     "fewer than 3 samples"),
    (lambda: G.mi_gg(np.ones(5), np.arange(5.0)), ValueError, "singular"),
])
def test_clear_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()

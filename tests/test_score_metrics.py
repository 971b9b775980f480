"""Score formulas on arrays with known answers: d50 interpolation, retention, shape bias, information
(against the plain gcmi reference), permutation nulls and intervals."""
import math
import warnings

import numpy as np
import pytest

from benchmark.info import gcmi_cc
from benchmark.score import metrics as M


def test_d50_interpolates_and_reports_beyond_range():
    d = [0, 1, 2, 4]
    assert M.d50(d, [1.0, 0.9, 0.7, 0.3]) == pytest.approx(2 + (0.7 - 0.5) / (0.7 - 0.3) * 2)
    assert M.d50(d, [1.0, 0.5, 0.4, 0.1]) == pytest.approx(1 + 0 / 0.1)
    assert M.d50(d, [0.4, 0.3, 0.2, 0.1]) == 0.0
    assert math.isinf(M.d50(d, [1.0, 0.9, 0.8, 0.6]))


def test_retention_curve_counts_and_cluster_intervals():
    rng = np.random.default_rng(0)
    ident = np.repeat(np.arange(10), 40)
    dist = np.tile(np.repeat([0.0, 1.0, 2.0, 3.0], 10), 10)
    truth = {0.0: 1.0, 1.0: 0.8, 2.0: 0.4, 3.0: 0.1}
    correct = rng.random(ident.size) < np.vectorize(truth.get)(dist)
    c = M.retention_curve(correct, dist, ident, component="shape", n_boot=300, seed=1)
    for k, dd in enumerate(c.distances):
        assert c.p[k] == pytest.approx(correct[dist == dd].mean())
        assert c.low[k] <= c.p[k] <= c.high[k]
    assert c.d50.value == pytest.approx(M.d50(c.distances, c.p))
    assert c.d50.low <= c.d50.value <= c.d50.high
    assert c.n.tolist() == [100] * 4


def test_shape_bias_counts_shape_and_texture_decisions_only():
    si = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    ti = np.array([1, 2, 2, 3, 3, 0, 0, 1])
    dec = np.array([0, 0, 1, 3, 0, 2, 5, 1])  # shape x4, texture x2, neither x2
    e = M.shape_bias(dec, si, ti, n_boot=200)
    n_s, n_t = int((dec == si).sum()), int((dec == ti).sum())
    assert (n_s, n_t) == (4, 2)
    assert e.value == pytest.approx(n_s / (n_s + n_t))
    assert (e.extra["n_shape"], e.extra["n_texture"], e.extra["n_other"]) == (n_s, n_t, 8 - n_s - n_t)
    assert e.low <= e.value <= e.high
    with pytest.raises(ValueError, match="different identities"):
        M.shape_bias(dec, si, si)


def _trials(n_ids=8, per=80, ks=5, kt=4, seed=0):
    rng = np.random.default_rng(seed)
    ident = np.repeat(np.arange(n_ids), per)
    return rng, ident, rng.standard_normal((ident.size, ks)), rng.standard_normal((ident.size, kt))


def test_information_matches_gcmi_reference_for_one_identity():
    rng, _, ds, dt = _trials(n_ids=1, per=300)
    r = ds[:, 0] + 0.5 * rng.standard_normal(300)
    res = M.information_scores(r, ds, dt, np.zeros(300, int), n_boot=10, n_perm=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = gcmi_cc(r, M.perturbation_features(ds))
    assert res.I_shape.value == pytest.approx(ref, abs=1e-9)


def test_information_sees_linear_and_symmetric_dependence():
    rng, ident, ds, dt = _trials()
    offset = 3.0 * rng.standard_normal(8)[ident]  # identity differences in the response are conditioned out
    for r in (ds[:, 1] + 0.7 * rng.standard_normal(ident.size) + offset,  # signed, locally linear
              -np.linalg.norm(ds, axis=1) + 0.2 * rng.standard_normal(ident.size) + offset):  # falls off both ways
        res = M.information_scores(r, ds, dt, ident, n_boot=40, n_perm=100, seed=3)
        assert res.I_shape.extra["p_perm"] < 0.02 and res.I_texture.extra["p_perm"] > 0.05
        assert res.I_shape.low > res.I_texture.high
        assert res.shape_reliance.value > 0.9
        for e in (res.I_shape, res.I_texture, res.shape_reliance):
            assert e.low <= e.value <= e.high
        assert res.I_shape.value > res.I_shape.extra["null_q95"]


def test_noise_information_is_inside_the_null_and_calibrated():
    ps = []
    for seed in range(10):
        rng, ident, ds, dt = _trials(seed=seed, per=40)
        res = M.information_scores(rng.standard_normal(ident.size), ds, dt, ident, n_boot=10, n_perm=99, seed=seed)
        ps += [res.I_shape.extra["p_perm"], res.I_texture.extra["p_perm"]]
    ps = np.array(ps)
    assert (ps < 0.05).sum() <= 3 and 0.25 < ps.mean() < 0.75  # roughly uniform under the null


def test_coefficient_information_finds_the_driving_mode():
    rng, ident, ds, _ = _trials()
    r = ds[:, 3] + 0.8 * rng.standard_normal(ident.size)
    out = M.coefficient_information(r, ds, ident, n_perm=100)
    assert int(np.argmax(out["mi"])) == 3 and out["p_fwe"][3] < 0.02
    assert min(p for k, p in enumerate(out["p_fwe"]) if k != 3) > 0.05


def test_within_copnorm_breaks_ties_at_random_not_by_sample_order():
    x = np.zeros(400)
    z = M.within_copnorm(x, np.repeat([0, 1], 200))
    order = np.arange(400) % 200
    assert abs(np.corrcoef(z, order)[0, 1]) < 0.2
    assert np.allclose(np.sort(z[:200]), np.sort(z[200:]))


def test_perfect_dependence_is_infinite_not_an_error_and_ratio_handles_it():
    assert M._ratio(np.inf, 0.1) == 1.0 and M._ratio(0.1, np.inf) == 0.0
    assert np.isnan(M._ratio(-0.1, 0.05))
    e = M.Estimate(math.inf, 1.0, math.inf, 0.95, 10).to_dict()
    assert e["value"] is None and e["nonfinite"] == {"value": "inf", "high": "inf"}

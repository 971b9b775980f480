"""Shape-versus-texture scores with 95% bootstrap intervals (pure functions on arrays).

Notation: sample n of identity i_n; ``correct_n = [decision_n == i_n]``; ``R_n`` the response
(correct-identity logit or cosine similarity, :mod:`.decisions`); ``ds_n`` (Ks,) and ``dt_n`` (Kt,)
the shape and texture coefficient perturbations in s.d. units (so ``|ds_n|`` is a Mahalanobis
distance under the model's prior).

* **Retention curve** (morph probes), per component c in {shape, texture} and distance d::

      P_c(d) = sum_n [c_n = c, d_n = d] correct_n / sum_n [c_n = c, d_n = d]

* **d50_c**: where P_c falls to 50%, interpolated linearly between the tested distances
  ``d_(j-1) < d_j`` around the first ``P_c(d_j) < 0.5``::

      d50 = d_(j-1) + (P(d_(j-1)) - 0.5) / (P(d_(j-1)) - P(d_j)) * (d_j - d_(j-1))

  ``d_0`` when already ``P_c(d_0) < 0.5``; ``inf`` (reported as beyond the range) when P_c never
  falls below 50% within the tested distances.
* **Shape bias** (cue conflict: the shape of identity i with the texture of identity j != i), the
  definition of Geirhos et al. (2019)::

      shape_bias = #[decision = i] / (#[decision = i] + #[decision = j])

  decisions for neither identity count in neither term (their share is reported too).
* **Information** (reverse correlation), Gaussian-copula MI in bits (:mod:`benchmark.info`),
  conditioned on identity by copula-normalising every variable within each identity::

      I_shape   = mi_gg(cn_id(R), cn_id([ds, |ds|]), biascorrect=True, demeaned=True)
      I_texture = mi_gg(cn_id(R), cn_id([dt, |dt|]), biascorrect=True, demeaned=True)
      shape_reliance = I_shape / (I_shape + I_texture)

  ``cn_id`` = ``copnorm`` within each identity (ties broken at random, seeded): this is
  ``gcmi_cc`` conditioned on identity, as the pooled value of ``gccmi_ccd`` (each class
  normalised on its own). The features are the signed coefficients (what a locally linear
  response sees) plus the perturbation's length (what a response that falls off in every
  direction away from the identity sees; GCMI on the signed coefficients alone is blind to that
  symmetric dependence). Units: bits. GCMI is bias-corrected and may be slightly negative; it is
  never clipped; it is a lower bound on the true MI (Gaussian copula). Perfect dependence gives
  +inf. ``shape_reliance`` is NaN when ``I_shape + I_texture <= 0`` (no information either way).
  Each MI has a permutation null (the response permuted across trials)::

      p_perm = (1 + #{k : I_null_k >= I}) / (n_perm + 1)
* **Morph information**: ``I(cn_id(R); distance level)`` with ``mi_model_gd`` on the shape-only
  and texture-only morphs separately (distance as a discrete variable).

**Intervals**: 95% bootstrap over identities (clusters: samples of one identity are not
independent). Counts use percentile intervals. Information replicates rerun the whole estimator,
the within-identity copula transform included, with each drawn identity as its own group (so
resampling creates no ties); their percentile interval is shifted by the bootstrap's bias
``median(replicates) - estimate`` (:func:`shifted_ci`: repeated identities bias MI upwards).
``shape_reliance`` takes the ratio of each replicate's pair, so its interval reflects their
covariance. Replicates where a quantity is undefined (NaN) are left out of its percentiles.
"""
from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from ..info import copnorm, mass

__all__ = ["Estimate", "Curve", "MIResult", "d50", "retention_curve", "shape_bias", "perturbation_features",
           "within_copnorm", "information_scores", "morph_information", "coefficient_information", "percentile_ci",
           "shifted_ci"]


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its ``level`` percentile bootstrap interval [low, high] from ``n_boot``
    replicates; ``extra`` holds context (counts, p-values) for scores.json."""

    value: float
    low: float
    high: float
    level: float
    n_boot: int
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON form; a non-finite value or bound is written as null and named in ``nonfinite``."""
        f = _num
        d = {"value": f(self.value), "ci": [f(self.low), f(self.high)], "level": self.level,
             "n_boot": self.n_boot, **self.extra}
        bad = {k: str(float(v)) for k, v in (("value", self.value), ("low", self.low), ("high", self.high))
               if not math.isfinite(float(v))}
        if bad:
            d["nonfinite"] = bad
        return d


def _num(x):
    """JSON number or None for NaN / inf."""
    x = float(x)
    return x if math.isfinite(x) else None


def percentile_ci(reps: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over axis 0 of ``reps``; order statistics (no interpolation) where a
    replicate is +-inf, linear interpolation otherwise; NaN replicates are ignored."""
    tail = (1.0 - level) / 2.0
    r = np.asarray(reps, np.float64)
    method = "linear" if np.all(np.isfinite(r[~np.isnan(r)])) else "nearest"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN
        lo, hi = np.nanquantile(r, [tail, 1.0 - tail], axis=0, method=method)
    return lo, hi


def shifted_ci(reps: np.ndarray, estimate, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval shifted by the bootstrap's own bias ``median(reps) - estimate`` (axis 0).

    Used for information quantities: a cluster bootstrap repeats whole identities, and repeated
    samples bias the (sample-size) bias-corrected MI upwards, so raw percentiles can miss the
    estimate altogether; the shift keeps the bootstrap's spread and removes that bias.
    """
    r = np.asarray(reps, np.float64)
    est = np.asarray(estimate, np.float64)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        bias = np.nanmedian(np.where(np.isfinite(r), r, np.nan), axis=0) - est
    bias = np.where(np.isfinite(bias), bias, 0.0)
    lo, hi = percentile_ci(r, level)
    return lo - bias, hi - bias


def d50(distances, p) -> float:
    """Distance where retention ``p`` first falls below 0.5, linearly interpolated (see module doc)."""
    d, p = np.asarray(distances, np.float64), np.asarray(p, np.float64)
    below = np.flatnonzero(p < 0.5)
    if below.size == 0:
        return math.inf
    j = int(below[0])
    if j == 0:
        return float(d[0])
    return float(d[j - 1] + (p[j - 1] - 0.5) / (p[j - 1] - p[j]) * (d[j] - d[j - 1]))


def _cluster_weights(n_clusters: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_clusters) multiplicities of a resample of clusters with replacement."""
    return rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot).astype(np.float64)


@dataclass(frozen=True)
class Curve:
    """Retention of one component: ``distances`` (D,) s.d. units; ``p``, ``low``, ``high`` (D,);
    ``n`` (D,) samples per distance; ``d50`` an :class:`Estimate` (``inf`` = beyond the range)."""

    component: str
    distances: np.ndarray
    p: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n: np.ndarray
    d50: Estimate

    def to_dict(self) -> dict:
        return {"component": self.component, "distances": self.distances.tolist(),
                "p_same_identity": [_num(x) for x in self.p], "ci_low": [_num(x) for x in self.low],
                "ci_high": [_num(x) for x in self.high], "n": self.n.tolist(), "d50": self.d50.to_dict()}


def retention_curve(correct, distance, cluster, *, component: str, n_boot: int = 1000, level: float = 0.95,
                    seed: int = 0) -> Curve:
    """P(same identity | distance) with identity-cluster bootstrap intervals, and d50 (module doc)."""
    correct, distance, cluster = (np.asarray(correct, bool), np.asarray(distance, np.float64),
                                  np.asarray(cluster))
    ds = np.unique(distance)
    cl, ci = np.unique(cluster, return_inverse=True)
    di = np.searchsorted(ds, distance)
    hits = np.zeros((cl.size, ds.size))
    tot = np.zeros((cl.size, ds.size))
    np.add.at(hits, (ci, di), correct)
    np.add.at(tot, (ci, di), 1.0)
    p = hits.sum(0) / tot.sum(0)
    w = _cluster_weights(cl.size, n_boot, np.random.default_rng(seed))
    with np.errstate(invalid="ignore", divide="ignore"):
        reps = (w @ hits) / (w @ tot)
    lo, hi = percentile_ci(reps, level)
    d50_reps = np.array([d50(ds, r) for r in reps])
    dlo, dhi = percentile_ci(d50_reps, level)
    value = d50(ds, p)
    est = Estimate(value, float(dlo), float(dhi), level, n_boot,
                   {"beyond_range": bool(math.isinf(value)), "max_distance": float(ds[-1]),
                    "ci_beyond_range": bool(math.isinf(dhi))})
    return Curve(component, ds, p, lo, hi, tot.sum(0).astype(np.int64), est)


def shape_bias(decision, shape_identity, texture_identity, *, n_boot: int = 1000, level: float = 0.95,
               seed: int = 0) -> Estimate:
    """Cue-conflict shape bias #shape / (#shape + #texture), bootstrap over shape identities."""
    dec, si, ti = (np.asarray(a, np.int64) for a in (decision, shape_identity, texture_identity))
    if np.any(si == ti):
        raise ValueError("shape_bias: some samples have the same shape and texture identity; cue-conflict "
                         "samples need two different identities")
    s, t = (dec == si).astype(float), (dec == ti).astype(float)
    cl, ci = np.unique(si, return_inverse=True)
    S, T = np.bincount(ci, s, cl.size), np.bincount(ci, t, cl.size)
    w = _cluster_weights(cl.size, n_boot, np.random.default_rng(seed))
    with np.errstate(invalid="ignore", divide="ignore"):
        value = S.sum() / (S.sum() + T.sum())
        reps = (w @ S) / (w @ S + w @ T)
    lo, hi = percentile_ci(reps, level)
    n = dec.size
    return Estimate(float(value), float(lo), float(hi), level, n_boot,
                    {"n_shape": int(s.sum()), "n_texture": int(t.sum()), "n_other": int(n - s.sum() - t.sum()),
                     "n": int(n)})


def perturbation_features(delta) -> np.ndarray:
    """(N, K) coefficient perturbations -> (K + 1, N) features: the signed coefficients and the length."""
    d = np.asarray(delta, np.float64)
    return np.vstack([d.T, np.linalg.norm(d, axis=1)[None]])


def within_copnorm(x, groups, *, seed: int = 0) -> np.ndarray:
    """Copula-normalise each row of ``x`` (d, n) or (n,) separately within each group (n,).

    Ties are broken at random (seeded), not by sample order: in a probe set the sample order
    follows the probe condition, and a constant response would otherwise inherit it.
    """
    x = np.asarray(x, np.float64)
    groups = np.asarray(groups)
    out = np.empty_like(x)
    rng = np.random.default_rng(seed)
    for g in np.unique(groups):
        idx = rng.permutation(np.flatnonzero(groups == g))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*tied values")
            out[..., idx] = copnorm(x[..., idx])
    return out


@contextmanager
def _quiet():
    """Bootstrap resamples repeat samples: the tie warnings they trigger are expected."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tied values")
        yield


def _clusters(groups, n_boot, rng):
    """Cluster-bootstrap replicates: (sample indices, slot label per sample). Identities are drawn
    with replacement; each draw is its own slot, so a twice-drawn identity is two groups and no
    sample is repeated within a group (no ties from resampling)."""
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    for _ in range(n_boot):
        pick = rng.integers(0, len(members), len(members))
        idx = np.concatenate([members[j] for j in pick])
        yield idx, np.repeat(np.arange(len(pick)), [members[j].size for j in pick])


@dataclass(frozen=True)
class MIResult:
    """``I_shape``, ``I_texture`` (bits) and ``shape_reliance``, each an :class:`Estimate`; the MI
    estimates carry ``p_perm`` and ``null_q95`` (95th percentile of the permutation null) in extra."""

    I_shape: Estimate
    I_texture: Estimate
    shape_reliance: Estimate

    def to_dict(self) -> dict:
        return {"I_shape": self.I_shape.to_dict(), "I_texture": self.I_texture.to_dict(),
                "shape_reliance": self.shape_reliance.to_dict()}


def _mi_cn(x, y) -> np.ndarray:
    """MI (bits) of already copula-normalised x (V, n) or (V, d, n) with shared y (dy, n):
    ``mi_gg(x, y, biascorrect=True, demeaned=True)``, i.e. ``gcmi_cc`` without a second copula
    transform (within-identity normalised data repeat the same normal scores in every identity, and
    re-ranking those ties by sample order would add noise). Perfect dependence gives +inf."""
    try:
        return mass.mi_gg(x, y, biascorrect=True, demeaned=True)
    except ValueError:  # singular joint covariance: one variable is an exact linear copy of the other
        return np.array([_mi_one(xi, y) for xi in np.asarray(x)])


def _mi_one(x, y) -> float:
    """One variable of :func:`_mi_cn`; +inf when x and y are perfectly (linearly) dependent."""
    try:
        return float(mass.mi_gg(x[None], y, biascorrect=True, demeaned=True)[0])
    except ValueError:
        return math.inf


def _permuted(r: np.ndarray, n_perm: int, seed: int, batch: int = 64):
    """Batches of permuted copies (B, n) of the 1-D ``r``, ``n_perm`` in all, from ``seed``."""
    rng = np.random.default_rng(seed)
    for a in range(0, n_perm, batch):
        yield np.stack([r[rng.permutation(r.size)] for _ in range(min(batch, n_perm - a))])


def _p(null: np.ndarray, observed: float, n_perm: int) -> dict:
    """Permutation p-value (1 + #{null >= observed}) / (n_perm + 1) and the null's 95th percentile."""
    return {"p_perm": float((1 + np.count_nonzero(null >= observed)) / (n_perm + 1)),
            "null_q95": float(np.quantile(null, 0.95)), "n_perm": n_perm}


def _ratio(a, b):
    """a / (a + b) elementwise; NaN where a + b <= 0; 1 (or 0) where only a (or b) is +inf."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = a + b
        r = np.where(s > 0, a / np.where(s > 0, s, 1.0), np.nan)
    r = np.where(np.isinf(a) & np.isfinite(b), 1.0, r)
    return np.where(np.isinf(b) & np.isfinite(a), 0.0, r)


def information_scores(response, shape_delta, texture_delta, identity, *, n_boot: int = 200, n_perm: int = 1000,
                       level: float = 0.95, seed: int = 0) -> MIResult:
    """I_shape, I_texture and shape_reliance of reverse-correlation trials (module doc), with
    stratified bootstrap intervals and permutation nulls (the response permuted across trials)."""
    r = np.asarray(response, np.float64)
    ident = np.asarray(identity)
    fs, ft = perturbation_features(shape_delta), perturbation_features(texture_delta)
    rc, fsc, ftc = within_copnorm(r, ident), within_copnorm(fs, ident), within_copnorm(ft, ident)
    i_s, i_t = float(_mi_cn(rc[None], fsc)[0]), float(_mi_cn(rc[None], ftc)[0])
    reps = np.empty((n_boot, 2))
    with _quiet():
        for b, (idx, g) in enumerate(_clusters(ident, n_boot, np.random.default_rng(seed))):
            rb = within_copnorm(r[idx], g, seed=b + 1)[None]
            reps[b] = (_mi_cn(rb, within_copnorm(fs[:, idx], g, seed=b + 1))[0],
                       _mi_cn(rb, within_copnorm(ft[:, idx], g, seed=b + 1))[0])
    lo, hi = shifted_ci(reps, [i_s, i_t], level)
    rel_lo, rel_hi = shifted_ci(_ratio(reps[:, 0], reps[:, 1]), _ratio(i_s, i_t), level)
    null = np.concatenate([np.stack([_mi_cn(rp, fsc), _mi_cn(rp, ftc)], axis=1)
                           for rp in _permuted(rc, n_perm, seed + 1)])
    n = {"n": int(r.size), "identities": int(np.unique(ident).size), "units": "bits"}
    return MIResult(Estimate(i_s, lo[0], hi[0], level, n_boot, {**_p(null[:, 0], i_s, n_perm), **n,
                                                                "features": int(fs.shape[0])}),
                    Estimate(i_t, lo[1], hi[1], level, n_boot, {**_p(null[:, 1], i_t, n_perm), **n,
                                                                "features": int(ft.shape[0])}),
                    Estimate(float(_ratio(i_s, i_t)), float(rel_lo), float(rel_hi), level, n_boot))


def morph_information(response, distance, identity, *, n_boot: int = 200, n_perm: int = 1000, level: float = 0.95,
                      seed: int = 0) -> Estimate:
    """``mi_model_gd(cn_id(R), distance level, biascorrect, demeaned)`` in bits (``gcmi_model_cd``
    on within-identity normalised R) with a stratified bootstrap and a permutation null."""
    r, ident = np.asarray(response, np.float64), np.asarray(identity)
    levels, y = np.unique(np.asarray(distance, np.float64), return_inverse=True)
    k = int(levels.size)

    def mi(x, yy):
        return mass.mi_model_gd(x, yy, k, biascorrect=True, demeaned=True)

    rc = within_copnorm(r, ident)
    value = float(mi(rc[None], y)[0])
    reps = np.empty(n_boot)
    with _quiet():
        for b, (idx, g) in enumerate(_clusters(ident, n_boot, np.random.default_rng(seed))):
            try:
                reps[b] = mi(within_copnorm(r[idx], g, seed=b + 1)[None], y[idx])[0]
            except ValueError:  # a distance level without variance in this replicate
                reps[b] = np.nan
    lo, hi = shifted_ci(reps, value, level)
    null = np.concatenate([mi(rp, y) for rp in _permuted(rc, n_perm, seed + 1)])
    return Estimate(value, float(lo), float(hi), level, n_boot, {**_p(null, value, n_perm), "n": int(r.size),
                                                                 "units": "bits"})


def coefficient_information(response, delta, identity, *, n_perm: int = 1000, seed: int = 0) -> dict:
    """Per-coefficient MI ``mi_gg(copnorm(delta_k), cn_id(R))`` in bits with max-statistic FWE
    p-values ``(1 + #{max_k null_k >= mi_k}) / (n_perm + 1)``: which modes the response follows."""
    rc = within_copnorm(np.asarray(response, np.float64), np.asarray(identity))
    x = copnorm(np.asarray(delta, np.float64).T)
    mi = _mi_cn(x, rc[None])
    null_max = np.concatenate([[_mi_cn(x, row[None]).max() for row in rp] for rp in _permuted(rc, n_perm, seed)])
    p = (1 + (null_max[None, :] >= mi[:, None]).sum(axis=1)) / (n_perm + 1)
    return {"mi": mi.tolist(), "p_fwe": p.tolist(), "n_perm": n_perm, "units": "bits"}

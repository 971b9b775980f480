"""Information scores: Gaussian-copula MI between a model's response and the shape and texture
perturbations, conditioned on identity, with cluster-bootstrap intervals and within-identity
permutation nulls (pure functions on arrays; notation as in :mod:`.metrics`).

* **Information** (reverse correlation), Gaussian-copula MI in bits (:mod:`benchmark.info`),
  conditioned on identity by copula-normalising every variable within each identity::

      I_shape   = mi_gg(cn_id(R), cn_id([ds, |ds|]), biascorrect=True, demeaned=True)
      I_texture = mi_gg(cn_id(R), cn_id([dt, |dt|]), biascorrect=True, demeaned=True)
      I_total   = I_shape + I_texture        (a sum of two MIs, not the joint I(R; shape, texture))
      shape_reliance = max(I_shape, 0) / (max(I_shape, 0) + max(I_texture, 0))   in [0, 1],
                       reported only when p_perm(I_total) <= alpha (default 0.05), else null

  ``cn_id`` = ``copnorm`` within each identity (ties broken at random, seeded, with different
  streams for the response and for the features: a shared order would turn ties in both, e.g. a
  constant response and fixed-length perturbations, into perfect spurious dependence): this is
  ``gcmi_cc`` conditioned on identity, as the pooled value of ``gccmi_ccd`` (each class
  normalised on its own). The features are the signed coefficients (what a locally linear
  response sees) plus the perturbation's length (what a response that falls off in every
  direction away from the identity sees; GCMI on the signed coefficients alone is blind to that
  symmetric dependence). Units: bits. GCMI is bias-corrected and may be slightly negative;
  I_shape and I_texture are reported unclipped; it is a lower bound on the true MI (Gaussian
  copula). Perfect dependence gives +inf. In ``shape_reliance`` each MI is clipped at 0 before
  the ratio (a negative bias-corrected MI is "no information", and an unclipped ratio leaves
  [0, 1]); it is NaN when both clipped MIs are 0. The ratio of two MIs that are both noise is
  noise, so it is reported only when the information it divides is real: ``significant`` says
  whether ``I_total`` beats its permutation null (``p_perm_total <= alpha``); when it does not,
  ``value`` and ``ci`` are null and ``reason`` says why. Rank on ``shape_reliance`` only where
  ``significant`` is true. Every MI has a permutation null, the response permuted *within each
  identity* (the null keeps the identity structure; within-identity normalised data are
  unchanged by it, so nothing is re-normalised), the same permutations for every MI::

      p_perm = (1 + #{k : I_null_k >= I}) / (n_perm + 1)
* **Morph information**: ``I(cn_id(R); distance level)`` with ``mi_model_gd`` on the shape-only
  and texture-only morphs separately (distance as a discrete variable).

**Intervals**: 95% bootstrap over identities (clusters). Information replicates rerun the whole estimator,
the within-identity copula transform included, with each drawn identity as its own group (so
resampling creates no ties); their percentile interval is shifted by the bootstrap's bias
``median(replicates) - estimate`` (:func:`.metrics.shifted_ci`: repeated identities bias MI upwards).
``shape_reliance`` takes the ratio of each replicate's pair after that shift, each clipped at 0
(so its interval lies in [0, 1] and reflects their covariance).
"""
from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..info import copnorm, mass
from ..info.stats import permutations
from .metrics import ALPHA, Estimate, _boot_bias, percentile_ci, shifted_ci

__all__ = ["MIResult", "perturbation_features", "within_copnorm", "information_scores", "morph_information",
           "coefficient_information"]


def perturbation_features(delta) -> np.ndarray:
    """(N, K) coefficient perturbations -> (K + 1, N) features: the signed coefficients and the length."""
    d = np.asarray(delta, np.float64)
    return np.vstack([d.T, np.linalg.norm(d, axis=1)[None]])


def within_copnorm(x, groups, *, seed: int | tuple = 0) -> np.ndarray:
    """Copula-normalise each row of ``x`` (d, n) or (n,) separately within each group (n,).

    Ties are broken at random (seeded, ``numpy.random.default_rng(seed)``), not by sample order:
    in a probe set the sample order follows the probe condition, and a constant response would
    otherwise inherit it. Two variables whose ties must not be broken alike (a response and a
    feature) need different seeds (:data:`_RESPONSE` / :data:`_FEATURES` streams).
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


#: tie-breaking streams of :func:`within_copnorm`: ``seed=(replicate, _RESPONSE)`` for responses and
#: activations, ``(replicate, _FEATURES)`` for the perturbation features
_RESPONSE, _FEATURES = 1, 2


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
    """``I_shape``, ``I_texture``, ``I_total = I_shape + I_texture`` (bits) and ``shape_reliance``,
    each an :class:`Estimate`; the MI estimates carry ``p_perm`` and ``null_q95`` (95th percentile
    of the within-identity permutation null) in extra, ``I_total`` and ``shape_reliance`` also
    ``significant`` (``p_perm(I_total) <= alpha``); ``shape_reliance`` is NaN unless significant."""

    I_shape: Estimate
    I_texture: Estimate
    I_total: Estimate
    shape_reliance: Estimate

    def to_dict(self) -> dict:
        return {"I_shape": self.I_shape.to_dict(), "I_texture": self.I_texture.to_dict(),
                "I_total": self.I_total.to_dict(), "shape_reliance": self.shape_reliance.to_dict()}


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


def _permuted(r: np.ndarray, n_perm: int, seed: int, strata, batch: int = 64):
    """Batches of copies (B, n) of the 1-D ``r``, each permuted within the ``strata`` (n,) (the
    identities: :func:`benchmark.info.stats.permutations`), ``n_perm`` in all, from ``seed``."""
    rng = np.random.default_rng(seed)
    for a in range(0, n_perm, batch):
        yield r[permutations(r.size, min(batch, n_perm - a), rng, strata=strata)]


def _p(null: np.ndarray, observed: float, n_perm: int) -> dict:
    """Permutation p-value (1 + #{null >= observed}) / (n_perm + 1) and the null's 95th percentile."""
    return {"p_perm": float((1 + np.count_nonzero(null >= observed)) / (n_perm + 1)),
            "null_q95": float(np.quantile(null, 0.95)), "n_perm": n_perm}


def _ratio(a, b):
    """max(a, 0) / (max(a, 0) + max(b, 0)) elementwise, in [0, 1]; NaN where both are <= 0 (or NaN);
    1 (or 0) where only a (or b) is +inf."""
    a, b = np.maximum(np.asarray(a, float), 0.0), np.maximum(np.asarray(b, float), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = a + b
        r = np.where(s > 0, a / np.where(s > 0, s, 1.0), np.nan)
    r = np.where(np.isinf(a) & np.isfinite(b), 1.0, r)
    return np.where(np.isinf(b) & np.isfinite(a), 0.0, r)


def information_scores(response, shape_delta, texture_delta, identity, *, n_boot: int = 200, n_perm: int = 1000,
                       level: float = 0.95, alpha: float = ALPHA, seed: int = 0) -> MIResult:
    """I_shape, I_texture, I_total and shape_reliance of reverse-correlation trials (module doc), with
    identity-cluster bootstrap intervals and within-identity permutation nulls; shape_reliance only
    where ``p_perm(I_total) <= alpha``."""
    r = np.asarray(response, np.float64)
    ident = np.asarray(identity)
    fs, ft = perturbation_features(shape_delta), perturbation_features(texture_delta)
    rc = within_copnorm(r, ident, seed=(0, _RESPONSE))
    fsc, ftc = within_copnorm(fs, ident, seed=(0, _FEATURES)), within_copnorm(ft, ident, seed=(0, _FEATURES))
    i_s, i_t = float(_mi_cn(rc[None], fsc)[0]), float(_mi_cn(rc[None], ftc)[0])
    reps = np.empty((n_boot, 2))
    with _quiet():
        for b, (idx, g) in enumerate(_clusters(ident, n_boot, np.random.default_rng(seed))):
            rb = within_copnorm(r[idx], g, seed=(b + 1, _RESPONSE))[None]
            reps[b] = (_mi_cn(rb, within_copnorm(fs[:, idx], g, seed=(b + 1, _FEATURES)))[0],
                       _mi_cn(rb, within_copnorm(ft[:, idx], g, seed=(b + 1, _FEATURES)))[0])
    est = np.array([i_s, i_t])
    lo, hi = shifted_ci(reps, est, level)
    tot_lo, tot_hi = shifted_ci(reps.sum(1), i_s + i_t, level)
    null = np.concatenate([np.stack([_mi_cn(rp, fsc), _mi_cn(rp, ftc)], axis=1)
                           for rp in _permuted(rc, n_perm, seed + 1, ident)])
    n = {"n": int(r.size), "identities": int(np.unique(ident).size), "units": "bits",
         "null": "response permuted within identity"}
    total = {**_p(null.sum(1), i_s + i_t, n_perm), **n}
    sig = bool(total["p_perm"] <= alpha)
    total.update(significant=sig, alpha=alpha)
    rel = {"significant": sig, "p_perm_total": total["p_perm"], "alpha": alpha,
           "formula": "max(I_shape,0) / (max(I_shape,0) + max(I_texture,0)), if p_perm(I_total) <= alpha"}
    if sig:
        shifted = reps - _boot_bias(reps, est)  # each MI's replicates, shifted as for its own interval
        rel_lo, rel_hi = percentile_ci(_ratio(shifted[:, 0], shifted[:, 1]), level)
        reliance = Estimate(float(_ratio(i_s, i_t)), float(rel_lo), float(rel_hi), level, n_boot, rel)
    else:
        rel["reason"] = (f"not_significant: I_shape + I_texture = {i_s + i_t:.3g} bits is not above its "
                         f"permutation null (p = {total['p_perm']:.3g} > alpha = {alpha:g}); the ratio of two "
                         f"noise estimates is noise")
        reliance = Estimate(math.nan, math.nan, math.nan, level, n_boot, rel)
    return MIResult(Estimate(i_s, lo[0], hi[0], level, n_boot, {**_p(null[:, 0], i_s, n_perm), **n,
                                                                "features": int(fs.shape[0])}),
                    Estimate(i_t, lo[1], hi[1], level, n_boot, {**_p(null[:, 1], i_t, n_perm), **n,
                                                                "features": int(ft.shape[0])}),
                    Estimate(i_s + i_t, float(tot_lo), float(tot_hi), level, n_boot, total), reliance)


def morph_information(response, distance, identity, *, n_boot: int = 200, n_perm: int = 1000, level: float = 0.95,
                      seed: int = 0) -> Estimate:
    """``mi_model_gd(cn_id(R), distance level, biascorrect, demeaned)`` in bits (``gcmi_model_cd``
    on within-identity normalised R) with an identity-cluster bootstrap and a permutation null
    (R permuted within identity)."""
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
    null = np.concatenate([mi(rp, y) for rp in _permuted(rc, n_perm, seed + 1, ident)])
    return Estimate(value, float(lo), float(hi), level, n_boot, {**_p(null, value, n_perm), "n": int(r.size),
                                                                 "units": "bits",
                                                                 "null": "response permuted within identity"})


def coefficient_information(response, delta, identity, *, n_perm: int = 1000, seed: int = 0) -> dict:
    """Per-coefficient MI ``mi_gg(copnorm(delta_k), cn_id(R))`` in bits with max-statistic FWE
    p-values ``(1 + #{max_k null_k >= mi_k}) / (n_perm + 1)`` (R permuted within identity): which
    modes the response follows."""
    ident = np.asarray(identity)
    rc = within_copnorm(np.asarray(response, np.float64), ident, seed=(0, _RESPONSE))
    x = copnorm(np.asarray(delta, np.float64).T)
    mi = _mi_cn(x, rc[None])
    null_max = np.concatenate([[_mi_cn(x, row[None]).max() for row in rp]
                               for rp in _permuted(rc, n_perm, seed, ident)])
    p = (1 + (null_max[None, :] >= mi[:, None]).sum(axis=1)) / (n_perm + 1)
    return {"mi": mi.tolist(), "p_fwe": p.tolist(), "n_perm": n_perm, "units": "bits"}

"""Permutation tests and bootstrap confidence intervals for mass-univariate GCMI.

Both take the mass-univariate shapes of :mod:`benchmark.info.mass` (x per variable,
``(n_vars, n_samples)`` or ``(n_vars, n_dims, n_samples)``; y shared or per variable for
``"gcmi_cc"``, shared 1-D ints ``0..Ym-1`` for ``"gcmi_model_cd"``), values in bits, and a
``seed`` passed to ``numpy.random.default_rng`` so that every result can be reproduced.

**Permutation test, family-wise error by the maximum statistic** (Nichols & Holmes 2002;
Ince et al. 2017 sec. 2.9): y is permuted across samples (the same permutation for every
variable, which keeps the dependence between variables), MI is recomputed for all
variables, and the maximum over variables is kept.  With ``strata`` (one label per sample,
e.g. the identity of a face) y is permuted only *within* each stratum, so every permuted
data set keeps the strata's structure (an identity effect shared by x and y stays in the
null): the exact conditional null of "x and y independent given the stratum", which is what
a statistic conditioned on the stratum tests (:func:`permutations`).  With ``n_perm``
permutations::

    p_fwe[v]         = (1 + #{k : max_u null[k, u] >= mi[v]}) / (n_perm + 1)
    p_uncorrected[v] = (1 + #{k : null[k, v]       >= mi[v]}) / (n_perm + 1)

(the +1 counts the observed labelling, so p is never 0; Phipson & Smyth 2010).  Copula
normalisation commutes with permuting samples, so x and y are normalised once.

**Bootstrap**: samples are resampled with replacement (within each class for a discrete
y, so class sizes stay fixed), the full estimator including the copula transform is
rerun, and the percentile interval is returned.  Resampling repeats samples; those ties
are expected here and are not warned about.  The interval is for the bias-corrected
estimator, which is itself a lower bound on the true MI (Gaussian copula).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from . import _validate as V
from . import mass
from .gcmi import LN2

__all__ = ["ESTIMATORS", "PermutationResult", "BootstrapResult", "permutation_test", "bootstrap_ci",
           "permutations"]

#: estimators the statistics accept
ESTIMATORS = ("gcmi_cc", "gcmi_model_cd")


@dataclass(frozen=True)
class PermutationResult:
    """Observed MI and permutation p-values; arrays of shape (n_vars,) unless stated.

    mi: observed MI, bits.  p_fwe: family-wise (max-statistic) p-value.  p_uncorrected:
    per-variable p-value.  null_max: (n_perm,) maximum MI over variables per permutation.
    stratified: whether y was permuted within strata.
    """

    mi: np.ndarray
    p_fwe: np.ndarray
    p_uncorrected: np.ndarray
    null_max: np.ndarray
    estimator: str
    n_perm: int
    seed: int | None
    stratified: bool = False

    def significant(self, alpha: float = 0.05) -> np.ndarray:
        """Boolean mask of variables with family-wise p < alpha."""
        return self.p_fwe < alpha


@dataclass(frozen=True)
class BootstrapResult:
    """Point estimate and percentile bootstrap interval, bits, arrays of shape (n_vars,)."""

    mi: np.ndarray
    low: np.ndarray
    high: np.ndarray
    std: np.ndarray
    level: float
    n_boot: int
    estimator: str
    seed: int | None


def _check_common(estimator, Ym, seed, who):
    if not isinstance(estimator, str):
        raise TypeError(f"{who}: estimator must be a str, one of {ESTIMATORS}, got {type(estimator).__name__}")
    if estimator not in ESTIMATORS:
        raise ValueError(f"{who}: estimator must be one of {ESTIMATORS}, got {estimator!r}")
    if estimator == "gcmi_model_cd":
        if Ym is None:
            raise ValueError(f"{who}: estimator 'gcmi_model_cd' needs Ym, the number of classes")
        V.check_n_classes(Ym, "Ym", who)
    elif Ym is not None:
        raise ValueError(f"{who}: Ym is only used with estimator 'gcmi_model_cd', got Ym={Ym!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"{who}: seed must be an int or None, got {type(seed).__name__}")


def _estimate(estimator, x, y, Ym, chunk_bytes):
    if estimator == "gcmi_cc":
        return mass.gcmi_cc(x, y, chunk_bytes=chunk_bytes)
    return mass.gcmi_model_cd(x, y, Ym, chunk_bytes=chunk_bytes)


def _permutations(rng, n, count):
    return np.stack([rng.permutation(n) for _ in range(count)])


def permutations(n: int, count: int, rng: np.random.Generator, *, strata=None) -> np.ndarray:
    """(count, n) int64 rows, each a uniformly random permutation ``perm`` of ``0..n-1``; ``y[perm]``
    is y permuted.  With ``strata`` (n,) labels, ``strata[perm] == strata`` in every row: each sample
    receives the value of a random sample of its own stratum (uniform over the within-stratum
    permutations, independently per stratum and per row).

    Without strata the rows are ``rng.permutation(n)`` (the stream :func:`permutation_test` has
    always used); with strata, sorting ``2 code + u`` (``code`` the stratum's index, ``u`` uniform in
    [0, 1); the factor 2 keeps strata apart even where ``code + u`` would round up to ``code + 1``)
    orders the samples by stratum and at random within it, and writing that order onto the
    stratum-sorted positions maps each stratum onto itself.
    """
    if strata is None:
        return _permutations(rng, n, count).astype(np.int64)
    code = np.unique(np.asarray(strata), return_inverse=True)[1].reshape(-1)
    if code.size != n:
        raise ValueError(f"permutations: strata has {code.size} labels for {n} samples; expected one label per "
                         f"sample")
    slots = np.argsort(code, kind="stable")
    out = np.empty((count, n), np.int64)
    out[:, slots] = np.argsort(2.0 * code[None, :] + rng.random((count, n)), axis=1)
    return out


def _check_strata(strata, n: int, who: str):
    if strata is None:
        return None
    s = np.asarray(strata)
    if s.ndim != 1 or s.size != n:
        raise ValueError(f"{who}: strata must be one label per sample, shape ({n},); got shape {s.shape}. Pass "
                         f"e.g. the identity of each sample, or None to permute across all samples")
    return s


def _null_cc_shared(cx, cy, perms, bias):
    """MI (bits) of copula-normalised cx (V, dx, n) with cy (dy, n) permuted, shape (B, V)."""
    n_vars, dx, n = cx.shape
    dy, b = cy.shape[0], perms.shape[0]
    cxx = mass._cov(cx, True)
    cyy = (cy @ cy.T) / (n - 1.0)
    yp = cy[:, perms]  # (dy, B, n)
    cxy = (cx.reshape(-1, n) @ yp.reshape(-1, n).T / (n - 1.0)).reshape(n_vars, dx, dy, b)
    c = np.empty((b, n_vars, dx + dy, dx + dy))
    c[:, :, :dx, :dx] = cxx
    c[:, :, dx:, dx:] = cyy
    c[:, :, :dx, dx:] = np.moveaxis(cxy, -1, 0)
    c[:, :, dx:, :dx] = np.swapaxes(c[:, :, :dx, dx:], -1, -2)
    who = "permutation_test"
    h = mass._half_logdet(cxx, who) + mass._half_logdet(cyy, who) - mass._half_logdet(c, who)
    return (h - bias) / LN2


def permutation_test(x, y, *, estimator: str = "gcmi_cc", Ym=None, n_perm: int = 1000,
                     seed: int | None = None, batch: int = 64, strata=None,
                     chunk_bytes: int = mass.DEFAULT_CHUNK_BYTES) -> PermutationResult:
    """Permutation test of MI for every variable with max-statistic FWE control.

    See the module docstring for the p-value formulas.  ``batch`` permutations are
    evaluated at once (for a shared continuous y, as one matrix product).  ``strata``
    (n_samples,) labels restrict the permutations to within each stratum (:func:`permutations`).
    """
    who = "permutation_test"
    _check_common(estimator, Ym, seed, who)
    n_perm = V.check_positive_int(n_perm, "n_perm", who)
    batch = V.check_positive_int(batch, "batch", who)
    mi = _estimate(estimator, x, y, Ym, chunk_bytes)  # validates and warns once
    x3 = mass._as_x(x, "x", who)
    n = x3.shape[-1]
    strata = _check_strata(strata, n, who)
    cx = mass._copnorm_nd(x3, chunk_bytes)[0]
    if estimator == "gcmi_cc":
        y, shared = mass._as_other(y, "y", who, x3.shape[0])
        cy = mass._copnorm_nd(y, chunk_bytes)[0]
        bias = mass._mi_bias(n, x3.shape[1], y.shape[-2])

        def null(perms):
            if shared:
                return _null_cc_shared(cx, cy, perms, bias)
            return np.stack([mass.mi_gg(cx, cy[..., p], demeaned=True, chunk_bytes=chunk_bytes)
                             for p in perms])
    else:
        y = V.as_labels(y, "y", who)

        def null(perms):
            return np.stack([mass.mi_model_gd(cx, y[p], Ym, demeaned=True, chunk_bytes=chunk_bytes)
                             for p in perms])

    rng = np.random.default_rng(seed)
    null_max, n_ge = np.empty(n_perm), np.zeros(mi.shape, dtype=np.int64)
    for start in range(0, n_perm, batch):
        nul = null(permutations(n, min(batch, n_perm - start), rng, strata=strata))
        null_max[start:start + nul.shape[0]] = nul.max(axis=1)
        n_ge += np.count_nonzero(nul >= mi, axis=0)
    sorted_max = np.sort(null_max)
    n_max_ge = n_perm - np.searchsorted(sorted_max, mi, side="left")
    return PermutationResult(mi=mi, p_fwe=(1.0 + n_max_ge) / (n_perm + 1.0),
                             p_uncorrected=(1.0 + n_ge) / (n_perm + 1.0), null_max=null_max,
                             estimator=estimator, n_perm=n_perm, seed=seed, stratified=strata is not None)


def _reference_null(x, y, *, estimator, Ym, n_perm, seed, strata=None) -> np.ndarray:
    """Slow reference: the (n_perm, n_vars) null by rerunning the estimator on permuted y."""
    rng = np.random.default_rng(seed)
    n = np.asarray(x).shape[-1]
    perms = permutations(n, n_perm, rng, strata=strata)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tied values")
        return np.stack([_estimate(estimator, x, np.asarray(y)[..., p], Ym, mass.DEFAULT_CHUNK_BYTES)
                         for p in perms])


def bootstrap_ci(x, y, *, estimator: str = "gcmi_cc", Ym=None, n_boot: int = 1000,
                 level: float = 0.95, seed: int | None = None,
                 chunk_bytes: int = mass.DEFAULT_CHUNK_BYTES) -> BootstrapResult:
    """Percentile bootstrap confidence interval of MI for every variable, bits.

    Keeps all ``n_boot x n_vars`` replicates in memory while computing the quantiles.
    """
    who = "bootstrap_ci"
    _check_common(estimator, Ym, seed, who)
    n_boot = V.check_positive_int(n_boot, "n_boot", who)
    if isinstance(level, bool) or not isinstance(level, (float, int)):
        raise TypeError(f"{who}: level must be a float in (0, 1), got {type(level).__name__}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"{who}: level must lie in (0, 1), got {level}")
    mi = _estimate(estimator, x, y, Ym, chunk_bytes)  # validates and warns once
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y)
    n = x.shape[-1]
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == c) for c in range(Ym)] if estimator == "gcmi_model_cd" else None
    boots = np.empty((n_boot,) + mi.shape)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tied values")
        for b in range(n_boot):
            if groups is None:
                idx = rng.integers(0, n, n)
            else:
                idx = np.concatenate([rng.choice(g, size=g.size, replace=True) for g in groups])
            boots[b] = _estimate(estimator, x[..., idx], y[..., idx], Ym, chunk_bytes)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(boots, [tail, 1.0 - tail], axis=0)
    return BootstrapResult(mi=mi, low=low, high=high, std=boots.std(axis=0, ddof=1) if n_boot > 1
                           else np.full(mi.shape, math.nan), level=float(level), n_boot=n_boot,
                           estimator=estimator, seed=seed)

"""Gaussian-copula information theory for one variable at a time (the gcmi API).

Names, argument order and conventions follow Ince's ``gcmi`` (Python port), so code
written against it runs unchanged:

* samples on the **last axis**: a variable is ``(n_samples,)`` or ``(n_dims, n_samples)``;
* discrete variables are 1-D integer arrays with values ``0..Ym-1``, every class present;
* results in **bits** (entropies are computed in nats and divided by ln 2 once);
* bias correction (``biascorrect=True``) is the analytic one for Gaussian entropy
  (Misra, Singh & Demchuk 2005; Ince et al. 2017, eq. 12)::

      H_unbiased = H_plugin - [d/2 * ln(2/(n-1)) + 1/2 * sum_{k=1..d} psi((n-k)/2)]

  for a d-dimensional Gaussian fitted to n samples.  The copula wrappers (``gcmi_*``,
  ``gccmi_*``) always correct, as gcmi does; mixture estimators never do.

What these estimators cannot see: GCMI is the information of the best-fitting Gaussian
*copula*, a lower bound on the true MI for continuous marginals.  It is blind to
dependence a Gaussian copula cannot express (e.g. symmetric, non-monotonic relations such
as ``y = x**2``, tail dependence, dependence that changes sign across the range).  It is
invariant to strictly increasing transforms of each variable.  Ties are broken by sample
order (stable sort) and a warning is issued when more than 10% of values are tied.

These functions are the slow, plain reference: one covariance, a Cholesky factor and its
log-determinant per term.  :mod:`benchmark.info.mass` is the vectorised version that is
tested against them.

Reference: R.A.A. Ince, B.L. Giordano, C. Kayser, G.A. Rousselet, J. Gross, P.G. Schyns
(2017) "A statistical framework for neuroimaging data analysis based on mutual information
estimated via a Gaussian copula", Human Brain Mapping 38:1541-1573, doi:10.1002/hbm.23471.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri, psi

from . import _validate as V

__all__ = ["ctransform", "copnorm", "ent_g", "mi_gg", "gcmi_cc", "mi_model_gd", "gcmi_model_cd",
           "mi_mixture_gd", "gcmi_mixture_cd", "cmi_ggg", "gccmi_ccc", "gccmi_ccd"]

LN2 = math.log(2.0)
#: scale that turns a median absolute deviation into a Gaussian standard deviation
MAD_TO_SD = 1.482602218505602


def bias_nats(n_samples: int, n_dims: int) -> float:
    """Bias of the plug-in Gaussian entropy in nats: d/2 ln(2/(n-1)) + 1/2 sum psi((n-k)/2)."""
    k = np.arange(1, n_dims + 1, dtype=float)
    dterm = (LN2 - math.log(n_samples - 1.0)) / 2.0
    return float(n_dims * dterm + (psi((n_samples - k) / 2.0) / 2.0).sum())


def _chol(c: np.ndarray, who: str) -> np.ndarray:
    try:
        return np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        raise ValueError(f"{who}: a covariance is singular (a constant or duplicated dimension?)") from None


def _half_logdet(c: np.ndarray, who: str) -> float:
    """0.5 ln det(c) = sum ln diag(chol(c)), in nats."""
    return float(np.log(np.diagonal(_chol(c, who))).sum())


def _cov(x: np.ndarray, demeaned: bool) -> np.ndarray:
    if not demeaned:
        x = x - x.mean(axis=1, keepdims=True)
    return (x @ x.T) / float(x.shape[1] - 1)


def ctransform(x) -> np.ndarray:
    """Empirical CDF (copula) transform along the last axis: ``rank / (n + 1)``.

    Ranks run 1..n, so values lie in the open interval (0, 1).  Ties get distinct
    ranks in sample order (stable sort).  Shape is preserved.
    """
    x = V.as_float(x, "x", ndims=(1, 2, 3, 4), who="ctransform")
    ranks = np.argsort(np.argsort(x, axis=-1, kind="stable"), axis=-1, kind="stable")
    return (ranks + 1.0) / (x.shape[-1] + 1.0)


def copnorm(x) -> np.ndarray:
    """Copula normalisation along the last axis: ``Phi^-1(ctransform(x))``.

    Returns standard-normal samples with the same ranks as ``x``.  The result depends
    only on ranks, so it is invariant to any strictly increasing transform of ``x``.
    """
    return ndtri(ctransform(x))


def _copnorm_warn(x: np.ndarray, name: str, who: str) -> np.ndarray:
    n_unique = np.array([np.unique(row).size for row in x])
    V.warn_ties(n_unique, x.shape[-1], name, who)
    return copnorm(x)


def ent_g(x, biascorrect=True) -> float:
    """Entropy of a Gaussian variable, in bits.

    ``H(X) = 1/2 ln det(2 pi e C_x) / ln 2`` with ``C_x`` the sample covariance
    (denominator n-1) of x, shape ``(n_dims, n_samples)``.  Bias-corrected by default.
    Cannot see: non-Gaussian structure (it is the entropy of the fitted Gaussian,
    an upper bound on the differential entropy at that covariance).
    """
    who = "ent_g"
    x = V.as_single(x, "x", who)
    d, n = x.shape
    V.check_samples(n, d, who)
    h = _half_logdet(_cov(x, False), who) + 0.5 * d * (math.log(2 * math.pi) + 1.0)
    if V.check_flag(biascorrect, "biascorrect", who):
        h -= bias_nats(n, d)
    return h / LN2


def mi_gg(x, y, biascorrect=True, demeaned=False) -> float:
    """Mutual information between two Gaussian variables, in bits.

    ``I(X;Y) = H(X) + H(Y) - H(X,Y) = 1/2 ln(det C_x det C_y / det C_xy) / ln 2``,
    each entropy bias-corrected when ``biascorrect``.  x: ``(dx, n)``, y: ``(dy, n)``.
    ``demeaned=True`` skips centring (copula-normalised data are already centred).
    Cannot see: any dependence beyond linear correlation between the Gaussians.
    """
    who = "mi_gg"
    x, y = V.as_single(x, "x", who), V.as_single(y, "y", who)
    n = V.check_same_samples(who, x=x, y=y)
    dx, dy = x.shape[0], y.shape[0]
    V.check_samples(n, dx + dy, who)
    c = _cov(np.vstack((x, y)), V.check_flag(demeaned, "demeaned", who))
    hx, hy, hxy = (_half_logdet(c[:dx, :dx], who), _half_logdet(c[dx:, dx:], who),
                   _half_logdet(c, who))
    if V.check_flag(biascorrect, "biascorrect", who):
        hx -= bias_nats(n, dx)
        hy -= bias_nats(n, dy)
        hxy -= bias_nats(n, dx + dy)
    return (hx + hy - hxy) / LN2


def gcmi_cc(x, y) -> float:
    """Gaussian-copula MI between two continuous variables, in bits.

    ``I = mi_gg(copnorm(x), copnorm(y), biascorrect=True, demeaned=True)``.
    A lower bound on I(X;Y): blind to dependence a Gaussian copula cannot express
    (e.g. ``y = x**2``); invariant to strictly increasing transforms of x or y.
    """
    who = "gcmi_cc"
    x, y = V.as_single(x, "x", who), V.as_single(y, "y", who)
    V.check_same_samples(who, x=x, y=y)
    return mi_gg(_copnorm_warn(x, "x", who), _copnorm_warn(y, "y", who), True, True)


def _model_gd(x, y, ym, biascorrect, demeaned, who) -> float:
    x = V.as_single(x, "x", who)
    y = V.as_labels(y, "y", who)
    ym = V.check_n_classes(ym, "Ym", who)
    d, n = x.shape
    V.check_same_samples(who, x=x, y=y)
    V.check_samples(n, d, who)
    counts = V.class_counts(y, ym, "y", "Ym", who, min_count=d + 1)
    biascorrect = V.check_flag(biascorrect, "biascorrect", who)
    if not V.check_flag(demeaned, "demeaned", who):
        x = x - x.mean(axis=1, keepdims=True)
    hunc = _half_logdet(_cov(x, True), who)
    hcond = np.array([_half_logdet(_cov(x[:, y == c], False), who) for c in range(ym)])
    if biascorrect:
        hunc -= bias_nats(n, d)
        hcond -= np.array([bias_nats(int(k), d) for k in counts])
    return (hunc - float(np.sum(counts / n * hcond))) / LN2


def mi_model_gd(x, y, Ym, biascorrect=True, demeaned=False) -> float:
    """MI between a Gaussian and a discrete variable (ANOVA-style model comparison), bits.

    ``I(X;Y) = H(X) - sum_c p(c) H(X | Y=c)`` with one Gaussian for the pooled data and
    one per class (own mean and covariance), p(c) = n_c / n; each entropy bias-corrected
    with its own sample count.  x: ``(d, n)``; y: ints ``0..Ym-1``, each class > d samples.
    Cannot see: class differences beyond means and covariances of the Gaussian fit.
    """
    return _model_gd(x, y, Ym, biascorrect, demeaned, "mi_model_gd")


def gcmi_model_cd(x, y, Ym) -> float:
    """Gaussian-copula MI between a continuous and a discrete variable, in bits.

    ``I = mi_model_gd(copnorm(x), y, Ym, biascorrect=True, demeaned=True)``.  The copula is
    taken over all samples pooled, so each class is modelled as Gaussian on the copula
    scale.  A lower bound; blind to class differences other than location and scale there.
    """
    who = "gcmi_model_cd"
    x = V.as_single(x, "x", who)
    return _model_gd(_copnorm_warn(x, "x", who), y, Ym, True, True, who)


def _norm_innerv(dx: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """-1/2 squared Mahalanobis norm of each column of dx under covariance chol @ chol.T."""
    v = np.linalg.solve(chol, dx)
    return -0.5 * np.sum(v * v, axis=0)


def mi_mixture_gd(x, y, Ym) -> float:
    """MI between a Gaussian mixture and a discrete variable, in bits (no bias correction).

    ``I(X;Y) = H(X) - sum_c p(c) H(X|Y=c)`` where X|Y=c is a Gaussian and X is their
    mixture.  The mixture entropy has no closed form; it is approximated with the unscented
    transform (Huber et al. 2008): the 2d sigma points ``m_c +- sqrt(d) L_c[:, j]``
    (``L_c`` the Cholesky factor of class c) are scored under the mixture with a weighted
    log-sum-exp over classes.  The sigma points use the columns of L (as gcmi's MATLAB
    original); for d = 1 this equals gcmi's Python port exactly.  Unlike ``mi_model_gd``
    this models multimodal X.  Cannot see: within-class non-Gaussian structure.
    """
    who = "mi_mixture_gd"
    x = V.as_single(x, "x", who)
    y = V.as_labels(y, "y", who)
    ym = V.check_n_classes(Ym, "Ym", who)
    d, n = x.shape
    V.check_same_samples(who, x=x, y=y)
    counts = V.class_counts(y, ym, "y", "Ym", who, min_count=d + 1)
    w = counts / float(n)
    means = np.array([x[:, y == c].mean(axis=1) for c in range(ym)])
    chols, hcond = [], np.empty(ym)
    for c in range(ym):
        chol = _chol(_cov(x[:, y == c], False), who)
        chols.append(chol)
        hcond[c] = np.log(np.diagonal(chol)).sum() + 0.5 * d * (math.log(2 * math.pi) + 1.0)
    hmix = 0.0
    for c in range(ym):
        ps = math.sqrt(d) * chols[c]
        sigma = np.hstack([means[c][:, None] + ps, means[c][:, None] - ps])
        loglik = np.array([_norm_innerv(sigma - means[k][:, None], chols[k]) - hcond[k] + 0.5 * d
                           for k in range(ym)])
        top = loglik.max(axis=0)
        lse = top + np.log(np.sum(w[:, None] * np.exp(loglik - top), axis=0))
        hmix += w[c] * lse.sum()
    hmix = -hmix / (2.0 * d)
    return (hmix - float(np.sum(w * hcond))) / LN2


def gcmi_mixture_cd(x, y, Ym) -> float:
    """Gaussian-copula mixture MI between a continuous and a discrete variable, in bits.

    Each class is copula-normalised on its own, then shifted to its median and scaled by
    its robust s.d. (1.4826 x median absolute deviation), and the result is passed to
    ``mi_mixture_gd``.  No bias correction.  Cannot see: within-class dependence beyond a
    Gaussian copula; a class with zero MAD is an error.
    """
    who = "gcmi_mixture_cd"
    x = V.as_single(x, "x", who)
    y = V.as_labels(y, "y", who)
    ym = V.check_n_classes(Ym, "Ym", who)
    V.check_same_samples(who, x=x, y=y)
    V.class_counts(y, ym, "y", "Ym", who, min_count=x.shape[0] + 1)
    V.warn_ties(np.array([np.unique(r).size for r in x]), x.shape[1], "x", who)
    parts, labels = [], []
    for c in range(ym):
        xm = x[:, y == c]
        med = np.median(xm, axis=1, keepdims=True)
        mad = np.median(np.abs(xm - med), axis=1, keepdims=True)
        if np.any(mad == 0):
            raise ValueError(f"{who}: class {c} of y has zero median absolute deviation in x")
        parts.append(copnorm(xm) * (MAD_TO_SD * mad) + med)
        labels.append(np.full(xm.shape[1], c, dtype=np.int64))
    return mi_mixture_gd(np.hstack(parts), np.concatenate(labels), ym)


def cmi_ggg(x, y, z, biascorrect=True, demeaned=False) -> float:
    """Conditional MI I(X;Y|Z) between Gaussian variables, in bits.

    ``I(X;Y|Z) = H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z)``, each entropy bias-corrected when
    ``biascorrect``.  x ``(dx, n)``, y ``(dy, n)``, z ``(dz, n)``.
    Cannot see: non-linear conditional dependence.
    """
    who = "cmi_ggg"
    x, y, z = (V.as_single(x, "x", who), V.as_single(y, "y", who), V.as_single(z, "z", who))
    n = V.check_same_samples(who, x=x, y=y, z=z)
    dx, dy, dz = x.shape[0], y.shape[0], z.shape[0]
    V.check_samples(n, dx + dy + dz, who)
    c = _cov(np.vstack((x, y, z)), V.check_flag(demeaned, "demeaned", who))
    ixz = np.r_[0:dx, dx + dy:dx + dy + dz]
    hz = _half_logdet(c[dx + dy:, dx + dy:], who)
    hxz = _half_logdet(c[np.ix_(ixz, ixz)], who)
    hyz = _half_logdet(c[dx:, dx:], who)
    hxyz = _half_logdet(c, who)
    if V.check_flag(biascorrect, "biascorrect", who):
        hz -= bias_nats(n, dz)
        hxz -= bias_nats(n, dx + dz)
        hyz -= bias_nats(n, dy + dz)
        hxyz -= bias_nats(n, dx + dy + dz)
    return (hxz + hyz - hxyz - hz) / LN2


def gccmi_ccc(x, y, z) -> float:
    """Gaussian-copula CMI I(X;Y|Z) between three continuous variables, in bits.

    ``cmi_ggg(copnorm(x), copnorm(y), copnorm(z), True, True)``.  A Gaussian-copula
    estimate: blind to conditional dependence a Gaussian copula cannot express.
    """
    who = "gccmi_ccc"
    x, y, z = (V.as_single(x, "x", who), V.as_single(y, "y", who), V.as_single(z, "z", who))
    V.check_same_samples(who, x=x, y=y, z=z)
    return cmi_ggg(_copnorm_warn(x, "x", who), _copnorm_warn(y, "y", who),
                   _copnorm_warn(z, "z", who), True, True)


def gccmi_ccd(x, y, z, Zm) -> tuple[float, float]:
    """Gaussian-copula CMI between two continuous variables given a discrete one, in bits.

    ``I(X;Y|Z) = sum_c p(c) I(X;Y | Z=c)`` with each class copula-normalised on its own
    and ``I(X;Y|Z=c) = mi_gg(copnorm(x_c), copnorm(y_c), True, True)``.  Returns
    ``(cmi, i)`` as gcmi does, ``i`` being ``mi_gg`` of the pooled class-normalised data
    (``demeaned=False``).  z: ints ``0..Zm-1``; each class needs > dx + dy samples.
    Cannot see: within-class dependence a Gaussian copula cannot express.
    """
    who = "gccmi_ccd"
    x, y = V.as_single(x, "x", who), V.as_single(y, "y", who)
    z = V.as_labels(z, "z", who)
    zm = V.check_n_classes(Zm, "Zm", who)
    n = V.check_same_samples(who, x=x, y=y, z=z)
    counts = V.class_counts(z, zm, "z", "Zm", who, min_count=x.shape[0] + y.shape[0] + 1)
    V.warn_ties(np.array([np.unique(r).size for r in x]), n, "x", who)
    V.warn_ties(np.array([np.unique(r).size for r in y]), n, "y", who)
    cx, cy, icond = [], [], np.empty(zm)
    for c in range(zm):
        cx.append(copnorm(x[:, z == c]))
        cy.append(copnorm(y[:, z == c]))
        icond[c] = mi_gg(cx[-1], cy[-1], True, True)
    return float(np.sum(counts / n * icond)), mi_gg(np.hstack(cx), np.hstack(cy), True, False)

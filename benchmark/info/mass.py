"""Mass-univariate Gaussian-copula information: many variables in one vectorised pass.

Same names, formulas, units (bits) and bias correction as :mod:`benchmark.info.gcmi`;
each function returns one value per variable and equals a loop of the single-variable
function (:func:`loop_reference`) to rounding error.

Shape convention (samples on the last axis):

* ``x`` is per variable: ``(n_vars, n_samples)`` (one dimension each) or
  ``(n_vars, n_dims, n_samples)``;
* a second continuous argument (``y``, ``z``) is **shared** by every variable when it is
  ``(n_samples,)``, ``(n_dims, n_samples)`` or ``(1, n_dims, n_samples)``, and per variable
  when it is ``(n_vars, n_dims, n_samples)`` (write ``y[:, None, :]`` for one dimension
  each); a 2-D argument with ``n_vars`` rows is refused as ambiguous;
* a discrete argument is one shared 1-D int array with values ``0..Ym-1``.

The Gaussian-mixture estimators (``mi_mixture_gd``, ``gcmi_mixture_cd``) have no mass
version: loop :mod:`benchmark.info.gcmi` over variables (:func:`loop_reference`).

Work is split into chunks of variables so that temporary arrays stay near
``chunk_bytes`` (default 16 MiB) whatever ``n_vars`` is.  A shared argument is copula-
normalised once, not once per variable.  The fast copula transform sorts once per
variable and scatters one precomputed table ``Phi^-1(k/(n+1))``; with a shared
one-dimensional target, GCMI needs no scatter at all (the cross-covariance is the table
dotted with the target gathered in x's sort order).  Ties are broken in sample order, as
in the single-variable functions, and warned about when above 10%.

What these estimators cannot see is what :mod:`benchmark.info.gcmi` cannot see: they are
Gaussian-copula lower bounds, blind to dependence a Gaussian copula cannot express.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import psi

from . import _copula as C
from . import _kernels as K
from . import _validate as V
from . import gcmi as G
from .gcmi import LN2, bias_nats

__all__ = ["copnorm", "ent_g", "mi_gg", "gcmi_cc", "mi_model_gd", "gcmi_model_cd", "cmi_ggg",
           "gccmi_ccc", "gccmi_ccd", "loop_reference", "DEFAULT_CHUNK_BYTES"]

DEFAULT_CHUNK_BYTES = 16 * 2**20


# ----------------------------------------------------------------------------- helpers
def _as_x(x, name: str, who: str) -> np.ndarray:
    x = V.as_float(x, name, ndims=(2, 3), who=who)
    return x[:, None, :] if x.ndim == 2 else x


def _as_other(a, name: str, who: str, n_vars: int) -> tuple[np.ndarray, bool]:
    """Return (array, shared): shared arrays are (d, n), per-variable ones (n_vars, d, n)."""
    a = V.as_float(a, name, ndims=(1, 2, 3), who=who)
    if V.shared_or_per_variable(a.shape, n_vars, name, who):
        return a.reshape(-1, a.shape[-1]), True
    return a, False


def _pick(a: np.ndarray, shared: bool, sl: slice) -> np.ndarray:
    return np.broadcast_to(a, (sl.stop - sl.start,) + a.shape) if shared else a[sl]


_chunks, _table, _copnorm_nd = C.chunks, C.table, C.copnorm_nd


def _copnorm_warn(a: np.ndarray, name: str, who: str, chunk_bytes: int) -> np.ndarray:
    out, n_unique = _copnorm_nd(a, chunk_bytes)
    V.warn_ties(n_unique, a.shape[-1], name, who)
    return out


def _half_logdet(c: np.ndarray, who: str) -> np.ndarray:
    """0.5 ln det of a stack of covariance matrices (..., d, d), in nats."""
    if c.shape[-1] == 1:
        v = c[..., 0, 0]
        if not np.all(v > 0):
            raise ValueError(f"{who}: a variance is zero (a constant variable?)")
        return 0.5 * np.log(v)
    try:
        chol = np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        raise ValueError(f"{who}: a covariance is singular (a constant or duplicated dimension?)") from None
    return np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)


def _cov(a: np.ndarray, demeaned: bool) -> np.ndarray:
    """Covariances (m, d, d) of a stack (m, d, n), denominator n - 1."""
    if not demeaned:
        a = a - a.mean(axis=-1, keepdims=True)
    # einsum, not matmul: many tiny BLAS calls pay for waking BLAS threads every time
    return np.einsum("...in,...jn->...ij", a, a) / float(a.shape[-1] - 1)


def _check_flags(who: str, **flags) -> list[bool]:
    return [V.check_flag(v, k, who) for k, v in flags.items()]


# ------------------------------------------------------------------------- estimators
def copnorm(x, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> np.ndarray:
    """Copula normalisation ``Phi^-1(rank / (n + 1))`` along the last axis of any array.

    Equals :func:`benchmark.info.gcmi.copnorm` exactly (ties in sample order) and warns when
    more than 10% of a row's values are tied.
    """
    x = V.as_float(x, "x", ndims=tuple(range(1, 8)), who="mass.copnorm")
    return _copnorm_warn(x, "x", "mass.copnorm", chunk_bytes)


def ent_g(x, *, biascorrect: bool = True, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> np.ndarray:
    """Gaussian entropy of each variable, bits: ``1/2 ln det(2 pi e C_x) / ln 2`` (n_vars,)."""
    who = "mass.ent_g"
    x = _as_x(x, "x", who)
    (biascorrect,) = _check_flags(who, biascorrect=biascorrect)
    d, n = x.shape[1:]
    V.check_samples(n, d, who)
    out = np.empty(x.shape[0])
    for sl in _chunks(x.shape[0], d * n, chunk_bytes):
        out[sl] = _half_logdet(_cov(x[sl], False), who)
    out += 0.5 * d * (math.log(2 * math.pi) + 1.0) - (bias_nats(n, d) if biascorrect else 0.0)
    return out / LN2


def _mi_chunk(x, y, demeaned, who) -> np.ndarray:
    """0.5 ln(det Cx det Cy / det Cxy) in nats for stacks x (m, dx, n), y (m, dy, n)."""
    dx = x.shape[1]
    c = _cov(np.concatenate((x, y), axis=1), demeaned)
    return (_half_logdet(c[:, :dx, :dx], who) + _half_logdet(c[:, dx:, dx:], who)
            - _half_logdet(c, who))


def _mi_bias(n: int, dx: int, dy: int) -> float:
    return bias_nats(n, dx) + bias_nats(n, dy) - bias_nats(n, dx + dy)


def mi_gg(x, y, *, biascorrect: bool = True, demeaned: bool = False,
          chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> np.ndarray:
    """MI between Gaussian variables, bits, one value per variable of x (see ``gcmi.mi_gg``).

    ``I = 1/2 ln(det C_x det C_y / det C_xy) / ln 2``, bias-corrected per entropy term.
    """
    who = "mass.mi_gg"
    x = _as_x(x, "x", who)
    y, shared = _as_other(y, "y", who, x.shape[0])
    biascorrect, demeaned = _check_flags(who, biascorrect=biascorrect, demeaned=demeaned)
    n = V.check_same_samples(who, x=x, y=y)
    dx, dy = x.shape[1], y.shape[-2]
    V.check_samples(n, dx + dy, who)
    out = np.empty(x.shape[0])
    for sl in _chunks(x.shape[0], (dx + dy) * n, chunk_bytes):
        out[sl] = _mi_chunk(x[sl], _pick(y, shared, sl), demeaned, who)
    if biascorrect:
        out -= _mi_bias(n, dx, dy)
    return out / LN2


def _gcmi_shared_1d(x2, cy, table, who, chunk_bytes) -> tuple[np.ndarray, np.ndarray]:
    """GCMI in nats of 1-D rows x2 (V, n) with a shared copula-normalised cy (dy, n).

    A copula-normalised row is ``table`` permuted, so its variance is fixed and its
    covariance with cy is ``table . cy[:, order]``: no scatter is needed.
    """
    n, dy = x2.shape[1], cy.shape[0]
    cyy = (cy @ cy.T) / (n - 1.0)
    c = np.empty((x2.shape[0], 1 + dy, 1 + dy))
    c[:, 0, 0] = table @ table / (n - 1.0)
    c[:, 1:, 1:] = cyy
    n_unique, ws = np.empty(x2.shape[0], dtype=np.int64), C.Workspace()
    for sl in _chunks(x2.shape[0], (2 + dy) * n, chunk_bytes):
        order, n_unique[sl] = C.order(x2[sl], ws)
        gathered = ws.get("gathered", order.shape, np.float64)
        cxy = np.stack([np.einsum("ij,j->i", np.take(cy_j, order, out=gathered, mode="clip"), table)
                        for cy_j in cy], axis=-1) / (n - 1.0)
        c[sl, 0, 1:] = cxy
        c[sl, 1:, 0] = cxy
    mi = _half_logdet(c[:, :1, :1], who) + _half_logdet(cyy, who) - _half_logdet(c, who)
    return mi, n_unique


def gcmi_cc(x, y, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> np.ndarray:
    """Gaussian-copula MI between each variable of x and y, bits (see ``gcmi.gcmi_cc``).

    ``I = mi_gg(copnorm(x), copnorm(y), biascorrect=True, demeaned=True)`` per variable.
    Lower bound on I(X;Y); invariant to increasing transforms; blind to dependence a
    Gaussian copula cannot express.
    """
    who = "mass.gcmi_cc"
    x = _as_x(x, "x", who)
    y, shared = _as_other(y, "y", who, x.shape[0])
    n = V.check_same_samples(who, x=x, y=y)
    dx, dy = x.shape[1], y.shape[-2]
    V.check_samples(n, dx + dy, who)
    table = _table(n)
    if shared:
        cy = _copnorm_warn(y, "y", who, chunk_bytes)
    if shared and dx == 1:
        out, n_unique = _gcmi_shared_1d(x[:, 0, :], cy, table, who, chunk_bytes)
        V.warn_ties(n_unique, n, "x", who)
        return (out - _mi_bias(n, dx, dy)) / LN2
    out = np.empty(x.shape[0])
    n_unique = np.empty(x.shape[0] * dx, dtype=np.int64)
    y_unique = np.empty(0 if shared else x.shape[0] * dy, dtype=np.int64)
    ws = C.Workspace()
    for sl in _chunks(x.shape[0], 2 * (dx + dy) * n, chunk_bytes):
        m = sl.stop - sl.start
        cx, n_unique[sl.start * dx:sl.stop * dx] = C.copnorm_rows(
            x[sl].reshape(-1, n), table, ws, ws.get("cx", (m * dx, n), np.float64))
        if shared:
            cyc = _pick(cy, True, sl)
        else:  # per-variable y is normalised chunk by chunk, like x
            cyc, y_unique[sl.start * dy:sl.stop * dy] = C.copnorm_rows(
                y[sl].reshape(-1, n), table, ws, ws.get("cy", (m * dy, n), np.float64))
            cyc = cyc.reshape(-1, dy, n)
        out[sl] = _mi_chunk(cx.reshape(-1, dx, n), cyc, True, who)
    V.warn_ties(n_unique, n, "x", who)
    V.warn_ties(y_unique, n, "y", who)
    return (out - _mi_bias(n, dx, dy)) / LN2


def _model_setup(x, y, ym, who):
    x = _as_x(x, "x", who)
    y = V.as_labels(y, "y", who)
    ym = V.check_n_classes(ym, "Ym", who)
    n = V.check_same_samples(who, x=x, y=y)
    d = x.shape[1]
    V.check_samples(n, d, who)
    counts = V.class_counts(y, ym, "y", "Ym", who, min_count=d + 1)
    perm = np.argsort(y, kind="stable")
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    return x, counts, perm, starts


def _model_chunk(xs, counts, starts, who, ws=None) -> np.ndarray:
    """Weighted class-conditional 0.5 ln det C_c (nats) for class-sorted stacks xs (m, d, n)."""
    d = xs.shape[1]
    means = np.add.reduceat(xs, starts, axis=-1) / counts
    dev = (ws or C.Workspace()).get("dev", xs.shape, np.float64)
    np.take(means, np.repeat(np.arange(counts.size), counts), axis=-1, out=dev, mode="clip")
    np.subtract(xs, dev, out=dev)
    if d == 1:
        np.square(dev, out=dev)
        var = np.add.reduceat(dev[:, 0], starts, axis=-1) / (counts - 1.0)
        return np.einsum("vk,k->v", _half_logdet(var[..., None, None], who), counts / counts.sum())
    c = np.empty((xs.shape[0], counts.size, d, d))
    for i in range(d):
        for j in range(i + 1):
            c[:, :, i, j] = c[:, :, j, i] = np.add.reduceat(dev[:, i] * dev[:, j], starts, axis=-1)
    c /= (counts - 1.0)[:, None, None]
    return np.einsum("vk,k->v", _half_logdet(c, who), counts / counts.sum())


def _model_bias(n, d, counts) -> float:
    """bias(n) - sum_c p(c) bias(n_c), each bias as in :func:`gcmi.bias_nats` (vectorised)."""
    k = np.arange(1, d + 1)
    nc = counts.astype(float)[:, None]
    per_class = d * (LN2 - np.log(nc[:, 0] - 1.0)) / 2.0 + (psi((nc - k) / 2.0) / 2.0).sum(-1)
    return bias_nats(n, d) - float(np.dot(counts / n, per_class))


def mi_model_gd(x, y, Ym, *, biascorrect: bool = True, demeaned: bool = False,
                chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> np.ndarray:
    """MI between each Gaussian variable of x and a shared discrete y, bits.

    ``I = H(X) - sum_c p(c) H(X|Y=c)`` (see ``gcmi.mi_model_gd``); class statistics for
    all classes come from one segmented reduction over class-sorted samples.
    """
    who = "mass.mi_model_gd"
    x, counts, perm, starts = _model_setup(x, y, Ym, who)
    biascorrect, demeaned = _check_flags(who, biascorrect=biascorrect, demeaned=demeaned)
    (d, n), out = x.shape[1:], np.empty(x.shape[0])
    for sl in _chunks(x.shape[0], 3 * d * n, chunk_bytes):
        out[sl] = _half_logdet(_cov(x[sl], demeaned), who) - _model_chunk(
            x[sl][..., perm], counts, starts, who)
    if biascorrect:
        out -= _model_bias(n, d, counts)
    return out / LN2


def gcmi_model_cd(x, y, Ym, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> np.ndarray:
    """Gaussian-copula MI between each continuous variable of x and a discrete y, bits.

    ``mi_model_gd(copnorm(x), y, Ym, biascorrect=True, demeaned=True)`` per variable (see
    ``gcmi.gcmi_model_cd``).  One dimension per variable runs the compiled kernels of
    :mod:`benchmark.info._kernels` (class statistics read straight off the sorted keys);
    several dimensions run :func:`_gcmi_model_cd_numpy`, which is also the reference.
    """
    who = "mass.gcmi_model_cd"
    x, counts, perm, starts = _model_setup(x, y, Ym, who)
    d, n = x.shape[1:]
    if d > 1:
        return _gcmi_model_cd_numpy(x, counts, perm, starts, who, chunk_bytes)
    table, labels = _table(n), V.as_labels(y, "y", who)  # validated by _model_setup
    out, n_unique = K.model_d1_class_term(x[:, 0, :], labels, counts, table, chunk_bytes)
    if not np.all(np.isfinite(out)):  # distinct ranks leave no class variance at zero
        raise ValueError(f"{who}: a variance is zero (a constant variable?)")
    V.warn_ties(n_unique, n, "x", who)
    # one copula-normalised dimension is a permutation of the table: its variance is known
    hunc = 0.5 * math.log(table @ table / (n - 1.0))
    return (hunc - out - _model_bias(n, d, counts)) / LN2


def _gcmi_model_cd_numpy(x, counts, perm, starts, who, chunk_bytes) -> np.ndarray:
    """Reference numpy path of :func:`gcmi_model_cd` (bits), arguments from ``_model_setup``.

    The copula scores are scattered straight into class order, then class statistics come
    from segmented reductions.
    """
    (d, n), out = x.shape[1:], np.empty(x.shape[0])
    where = np.empty(n, dtype=np.int64)
    where[perm] = np.arange(n)  # position of each sample once sorted by class
    table = _table(n)
    n_unique, ws = np.empty(x.shape[0] * d, dtype=np.int64), C.Workspace()
    for sl in _chunks(x.shape[0], 4 * d * n, chunk_bytes):
        order, n_unique[sl.start * d:sl.stop * d] = C.order(x[sl].reshape(-1, n), ws)
        pos = np.take(where, order, out=ws.get("pos", order.shape, np.int64), mode="clip")
        xs = C.scatter(pos, table, ws.get("xs", order.shape, np.float64)).reshape(-1, d, n)
        # one copula-normalised dimension is a permutation of the table: its variance is known
        hunc = 0.5 * math.log(table @ table / (n - 1.0)) if d == 1 else _half_logdet(_cov(xs, True), who)
        out[sl] = hunc - _model_chunk(xs, counts, starts, who, ws)
    V.warn_ties(n_unique, n, "x", who)
    return (out - _model_bias(n, d, counts)) / LN2


def _cmi_chunk(x, y, z, demeaned, who) -> np.ndarray:
    dx, dy = x.shape[1], y.shape[1]
    c = _cov(np.concatenate((x, y, z), axis=1), demeaned)
    ixz = np.r_[0:dx, dx + dy:c.shape[-1]]
    return (_half_logdet(c[:, ixz][:, :, ixz], who) + _half_logdet(c[:, dx:, dx:], who)
            - _half_logdet(c, who) - _half_logdet(c[:, dx + dy:, dx + dy:], who))


def _cmi_bias(n, dx, dy, dz) -> float:
    return (bias_nats(n, dx + dz) + bias_nats(n, dy + dz) - bias_nats(n, dx + dy + dz)
            - bias_nats(n, dz))


def _cmi(x, y, z, who, copula, biascorrect, demeaned, chunk_bytes) -> np.ndarray:
    x = _as_x(x, "x", who)
    (y, ys), (z, zs) = _as_other(y, "y", who, x.shape[0]), _as_other(z, "z", who, x.shape[0])
    n = V.check_same_samples(who, x=x, y=y, z=z)
    dx, dy, dz = x.shape[1], y.shape[-2], z.shape[-2]
    V.check_samples(n, dx + dy + dz, who)
    if copula:
        y, z = _copnorm_warn(y, "y", who, chunk_bytes), _copnorm_warn(z, "z", who, chunk_bytes)
    table, out = _table(n), np.empty(x.shape[0])
    n_unique = np.empty(x.shape[0] * dx, dtype=np.int64)
    for sl in _chunks(x.shape[0], 2 * (dx + dy + dz) * n, chunk_bytes):
        xc = x[sl]
        if copula:
            xc, n_unique[sl.start * dx:sl.stop * dx] = C.copnorm_rows(xc.reshape(-1, n), table)
            xc = xc.reshape(-1, dx, n)
        out[sl] = _cmi_chunk(xc, _pick(y, ys, sl), _pick(z, zs, sl), demeaned, who)
    if copula:
        V.warn_ties(n_unique, n, "x", who)
    if biascorrect:
        out -= _cmi_bias(n, dx, dy, dz)
    return out / LN2


def cmi_ggg(x, y, z, *, biascorrect: bool = True, demeaned: bool = False,
            chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> np.ndarray:
    """Conditional MI I(X;Y|Z) between Gaussian variables per variable of x, bits.

    ``I = H(X,Z) + H(Y,Z) - H(X,Y,Z) - H(Z)`` (see ``gcmi.cmi_ggg``).
    """
    biascorrect, demeaned = _check_flags("mass.cmi_ggg", biascorrect=biascorrect, demeaned=demeaned)
    return _cmi(x, y, z, "mass.cmi_ggg", False, biascorrect, demeaned, chunk_bytes)


def gccmi_ccc(x, y, z, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> np.ndarray:
    """Gaussian-copula CMI I(X;Y|Z) per variable of x, bits (see ``gcmi.gccmi_ccc``)."""
    return _cmi(x, y, z, "mass.gccmi_ccc", True, True, True, chunk_bytes)


def gccmi_ccd(x, y, z, Zm, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian-copula CMI I(X;Y|Z) with discrete shared z, per variable of x, bits.

    Returns ``(cmi, i)`` like ``gcmi.gccmi_ccd``: ``cmi = sum_c p(c) I(X;Y|Z=c)`` with each
    class copula-normalised on its own, ``i`` the MI of the pooled class-normalised data.
    """
    who = "mass.gccmi_ccd"
    x = _as_x(x, "x", who)
    y, shared = _as_other(y, "y", who, x.shape[0])
    z = V.as_labels(z, "z", who)
    zm = V.check_n_classes(Zm, "Zm", who)
    n = V.check_same_samples(who, x=x, y=y, z=z)
    dx, dy = x.shape[1], y.shape[-2]
    counts = V.class_counts(z, zm, "z", "Zm", who, min_count=dx + dy + 1)
    cmi, cx, cy = np.zeros(x.shape[0]), np.empty_like(x), np.empty_like(y)
    for c in range(zm):
        idx = np.flatnonzero(z == c)
        cx[..., idx] = _copnorm_warn(x[..., idx], "x", who, chunk_bytes)
        cy[..., idx] = _copnorm_warn(y[..., idx], "y", who, chunk_bytes)
        cmi += counts[c] / n * mi_gg(cx[..., idx], cy[..., idx], demeaned=True, chunk_bytes=chunk_bytes)
    return cmi, mi_gg(cx, cy, biascorrect=True, demeaned=False, chunk_bytes=chunk_bytes)


# -------------------------------------------------------------------- slow reference
def loop_reference(name: str, x, *args):
    """The slow reference: a Python loop of ``gcmi.<name>`` over the variables of x.

    ``args`` follow the mass shape convention (shared or per variable); integers and 1-D
    integer arrays are passed through unchanged (class counts, labels).  Used by the tests
    and by ``scripts/bench_info.py``.
    """
    fn = getattr(G, name)
    x = np.asarray(x)
    x = x[:, None, :] if x.ndim == 2 else x

    def arg(a, v):
        return a[v] if (isinstance(a, np.ndarray) and a.ndim == 3) else a

    out = [fn(x[v], *[arg(a, v) for a in args]) for v in range(x.shape[0])]
    return tuple(np.array(o) for o in zip(*out)) if isinstance(out[0], tuple) else np.array(out)

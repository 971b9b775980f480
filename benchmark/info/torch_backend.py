"""Mass-univariate Gaussian-copula information on torch tensors (CPU or GPU).

The same functions, shapes, formulas, units (bits) and bias correction as
:mod:`benchmark.info.mass`, computed with torch so that they run where the data live
(``device="cuda"``).  Results equal the numpy ones to 1e-6 (float64: to rounding error;
float32 inputs are promoted to ``dtype``, float64 by default).  Returns a 1-D tensor with
one value per variable, on ``device``.

Differences from the numpy path are implementation only: ranks come from one stable
``torch.sort`` (ties in sample order, as everywhere in this package) and class statistics
from ``index_add_``, whose summation order on a GPU is not fixed (rounding-level changes).
Like every Gaussian-copula estimator these are lower bounds on the MI, blind to
dependence a Gaussian copula cannot express.  Requires torch; import this module explicitly.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from . import _validate as V
from .gcmi import LN2, bias_nats

__all__ = ["copnorm", "ent_g", "mi_gg", "gcmi_cc", "mi_model_gd", "gcmi_model_cd", "cmi_ggg",
           "gccmi_ccc", "DEFAULT_CHUNK_BYTES"]

DEFAULT_CHUNK_BYTES = 256 * 2**20


def _tensor(a, name: str, who: str, ndims: tuple[int, ...], device, dtype) -> torch.Tensor:
    if isinstance(a, (str, bytes)) or a is None:
        raise TypeError(f"{who}: {name} must be a tensor or array, got {type(a).__name__}")
    if not isinstance(a, torch.Tensor):
        a = torch.from_numpy(V.as_float(a, name, ndims=ndims, who=who))
    if a.is_complex() or not (a.is_floating_point() or a.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"{who}: {name} must be a real floating tensor, got {a.dtype}")
    if a.dim() not in ndims:
        allowed = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{who}: {name} must be {allowed} with samples last, got shape {tuple(a.shape)}")
    a = a.to(device=device if device is not None else a.device, dtype=dtype)
    if a.numel() == 0:
        raise ValueError(f"{who}: {name} is empty (shape {tuple(a.shape)})")
    if not bool(torch.isfinite(a).all()):
        raise ValueError(f"{who}: {name} contains NaN or infinite values; remove or impute them first")
    return a


def _as_x(x, who, device, dtype):
    x = _tensor(x, "x", who, (2, 3), device, dtype)
    return x[:, None, :] if x.dim() == 2 else x


def _as_other(a, name, who, n_vars, device, dtype):
    a = _tensor(a, name, who, (1, 2, 3), device, dtype)
    if V.shared_or_per_variable(tuple(a.shape), n_vars, name, who):
        return a.reshape(-1, a.shape[-1]), True
    return a, False


def _labels(y, who, device):
    y = V.as_labels(y.cpu().numpy() if isinstance(y, torch.Tensor) else y, "y", who)
    return y, torch.as_tensor(y, device=device)


def _chunks(n_vars, floats_per_var, chunk_bytes):
    step = max(1, int(chunk_bytes) // (8 * 4 * max(1, floats_per_var)))
    for start in range(0, n_vars, step):
        yield slice(start, min(n_vars, start + step))


def _pick(a, shared, sl):
    return a.expand((sl.stop - sl.start,) + tuple(a.shape)) if shared else a[sl]


def _table(n, like: torch.Tensor) -> torch.Tensor:
    k = torch.arange(1, n + 1, dtype=torch.float64, device=like.device)
    return torch.special.ndtri(k / (n + 1.0)).to(like.dtype)


def _copnorm_rows(x2: torch.Tensor, table: torch.Tensor):
    srt, order = torch.sort(x2, dim=-1, stable=True)
    n_unique = x2.shape[-1] - (srt[:, 1:] == srt[:, :-1]).sum(-1)
    return torch.empty_like(x2).scatter_(-1, order, table.expand_as(x2)), n_unique


def _copnorm_warn(a, name, who, chunk_bytes):
    n = a.shape[-1]
    flat = a.reshape(-1, n)
    out, n_unique, table = torch.empty_like(flat), [], _table(n, a)
    for sl in _chunks(flat.shape[0], 3 * n, chunk_bytes):
        out[sl], nu = _copnorm_rows(flat[sl], table)
        n_unique.append(nu)
    V.warn_ties(torch.cat(n_unique).cpu().numpy(), n, name, who)
    return out.reshape(a.shape)


def _half_logdet(c: torch.Tensor, who: str) -> torch.Tensor:
    if c.shape[-1] == 1:
        v = c[..., 0, 0]
        if not bool((v > 0).all()):
            raise ValueError(f"{who}: a variance is zero (a constant variable?)")
        return 0.5 * torch.log(v)
    chol, info = torch.linalg.cholesky_ex(c)
    if bool((info != 0).any()):
        raise ValueError(f"{who}: a covariance is singular (a constant or duplicated dimension?)")
    return torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)


def _cov(a: torch.Tensor, demeaned: bool) -> torch.Tensor:
    if not demeaned:
        a = a - a.mean(dim=-1, keepdim=True)
    return (a @ a.transpose(-1, -2)) / float(a.shape[-1] - 1)


def _mi_nats(x, y, demeaned, who):
    dx = x.shape[1]
    c = _cov(torch.cat((x, y), dim=1), demeaned)
    return _half_logdet(c[:, :dx, :dx], who) + _half_logdet(c[:, dx:, dx:], who) - _half_logdet(c, who)


def _mi_bias(n, dx, dy):
    return bias_nats(n, dx) + bias_nats(n, dy) - bias_nats(n, dx + dy)


def copnorm(x, *, device=None, dtype=torch.float64, chunk_bytes: int = DEFAULT_CHUNK_BYTES):
    """Copula normalisation ``Phi^-1(rank / (n + 1))`` along the last axis (ties in sample order)."""
    x = _tensor(x, "x", "torch.copnorm", tuple(range(1, 8)), device, dtype)
    return _copnorm_warn(x, "x", "torch.copnorm", chunk_bytes)


def ent_g(x, *, biascorrect=True, device=None, dtype=torch.float64, chunk_bytes=DEFAULT_CHUNK_BYTES):
    """Gaussian entropy per variable, bits: ``1/2 ln det(2 pi e C_x) / ln 2``."""
    who = "torch.ent_g"
    x = _as_x(x, who, device, dtype)
    biascorrect = V.check_flag(biascorrect, "biascorrect", who)
    d, n = x.shape[1:]
    V.check_samples(n, d, who)
    out = torch.cat([_half_logdet(_cov(x[sl], False), who) for sl in _chunks(x.shape[0], d * n, chunk_bytes)])
    out = out + 0.5 * d * (math.log(2 * math.pi) + 1.0) - (bias_nats(n, d) if biascorrect else 0.0)
    return out / LN2


def mi_gg(x, y, *, biascorrect=True, demeaned=False, device=None, dtype=torch.float64,
          chunk_bytes=DEFAULT_CHUNK_BYTES):
    """MI between Gaussian variables per variable of x, bits (see ``mass.mi_gg``)."""
    who = "torch.mi_gg"
    x = _as_x(x, who, device, dtype)
    y, shared = _as_other(y, "y", who, x.shape[0], x.device, dtype)
    biascorrect = V.check_flag(biascorrect, "biascorrect", who)
    demeaned = V.check_flag(demeaned, "demeaned", who)
    n = V.check_same_samples(who, x=x, y=y)
    dx, dy = x.shape[1], y.shape[-2]
    V.check_samples(n, dx + dy, who)
    out = torch.cat([_mi_nats(x[sl], _pick(y, shared, sl), demeaned, who)
                     for sl in _chunks(x.shape[0], (dx + dy) * n, chunk_bytes)])
    return (out - (_mi_bias(n, dx, dy) if biascorrect else 0.0)) / LN2


def gcmi_cc(x, y, *, device=None, dtype=torch.float64, chunk_bytes=DEFAULT_CHUNK_BYTES):
    """Gaussian-copula MI per variable of x with y, bits (see ``mass.gcmi_cc``)."""
    who = "torch.gcmi_cc"
    x = _as_x(x, who, device, dtype)
    y, shared = _as_other(y, "y", who, x.shape[0], x.device, dtype)
    n = V.check_same_samples(who, x=x, y=y)
    dx, dy = x.shape[1], y.shape[-2]
    V.check_samples(n, dx + dy, who)
    cy = _copnorm_warn(y, "y", who, chunk_bytes)
    table, parts, n_unique = _table(n, x), [], []
    for sl in _chunks(x.shape[0], (2 * dx + dy) * n, chunk_bytes):
        cx, nu = _copnorm_rows(x[sl].reshape(-1, n), table)
        n_unique.append(nu)
        parts.append(_mi_nats(cx.reshape(-1, dx, n), _pick(cy, shared, sl), True, who))
    V.warn_ties(torch.cat(n_unique).cpu().numpy(), n, "x", who)
    return (torch.cat(parts) - _mi_bias(n, dx, dy)) / LN2


def _model(x, y, ym, who, copula, biascorrect, demeaned, device, dtype, chunk_bytes):
    x = _as_x(x, who, device, dtype)
    y_np, y_t = _labels(y, who, x.device)
    ym = V.check_n_classes(ym, "Ym", who)
    n = V.check_same_samples(who, x=x, y=y_np)
    d = x.shape[1]
    V.check_samples(n, d, who)
    counts_np = V.class_counts(y_np, ym, "y", "Ym", who, min_count=d + 1)
    counts = torch.as_tensor(counts_np, device=x.device, dtype=dtype)
    w = counts / n
    table, parts, n_unique = _table(n, x), [], []
    for sl in _chunks(x.shape[0], 4 * d * n, chunk_bytes):
        xc = x[sl]
        if copula:
            xc, nu = _copnorm_rows(xc.reshape(-1, n), table)
            xc, demeaned = xc.reshape(-1, d, n), True
            n_unique.append(nu)
        hunc = _half_logdet(_cov(xc, demeaned), who)
        means = torch.zeros(xc.shape[:2] + (ym,), dtype=dtype, device=x.device).index_add_(-1, y_t, xc) / counts
        dev = xc - means[..., y_t]
        c = torch.empty((xc.shape[0], ym, d, d), dtype=dtype, device=x.device)
        for i in range(d):
            for j in range(i + 1):
                s = torch.zeros((xc.shape[0], ym), dtype=dtype, device=x.device).index_add_(
                    -1, y_t, dev[:, i] * dev[:, j])
                c[:, :, i, j] = c[:, :, j, i] = s / (counts - 1.0)
        parts.append(hunc - _half_logdet(c, who) @ w)
    if copula:
        V.warn_ties(torch.cat(n_unique).cpu().numpy(), n, "x", who)
    out = torch.cat(parts)
    if biascorrect:
        out = out - (bias_nats(n, d) - float(np.dot(counts_np / n, [bias_nats(int(k), d) for k in counts_np])))
    return out / LN2


def mi_model_gd(x, y, Ym, *, biascorrect=True, demeaned=False, device=None, dtype=torch.float64,
                chunk_bytes=DEFAULT_CHUNK_BYTES):
    """MI between each Gaussian variable of x and a shared discrete y, bits (see ``mass.mi_model_gd``)."""
    who = "torch.mi_model_gd"
    biascorrect = V.check_flag(biascorrect, "biascorrect", who)
    demeaned = V.check_flag(demeaned, "demeaned", who)
    return _model(x, y, Ym, who, False, biascorrect, demeaned, device, dtype, chunk_bytes)


def gcmi_model_cd(x, y, Ym, *, device=None, dtype=torch.float64, chunk_bytes=DEFAULT_CHUNK_BYTES):
    """Gaussian-copula MI between each variable of x and a discrete y, bits (see ``mass.gcmi_model_cd``)."""
    return _model(x, y, Ym, "torch.gcmi_model_cd", True, True, True, device, dtype, chunk_bytes)


def _cmi(x, y, z, who, copula, biascorrect, demeaned, device, dtype, chunk_bytes):
    x = _as_x(x, who, device, dtype)
    y, ys = _as_other(y, "y", who, x.shape[0], x.device, dtype)
    z, zs = _as_other(z, "z", who, x.shape[0], x.device, dtype)
    n = V.check_same_samples(who, x=x, y=y, z=z)
    dx, dy, dz = x.shape[1], y.shape[-2], z.shape[-2]
    V.check_samples(n, dx + dy + dz, who)
    if copula:
        y, z = _copnorm_warn(y, "y", who, chunk_bytes), _copnorm_warn(z, "z", who, chunk_bytes)
    table, parts, n_unique = _table(n, x), [], []
    ixz = torch.cat((torch.arange(dx), torch.arange(dx + dy, dx + dy + dz))).to(x.device)
    for sl in _chunks(x.shape[0], 2 * (dx + dy + dz) * n, chunk_bytes):
        xc = x[sl]
        if copula:
            xc, nu = _copnorm_rows(xc.reshape(-1, n), table)
            xc = xc.reshape(-1, dx, n)
            n_unique.append(nu)
        c = _cov(torch.cat((xc, _pick(y, ys, sl), _pick(z, zs, sl)), dim=1), demeaned)
        cxz = c.index_select(1, ixz).index_select(2, ixz)
        parts.append(_half_logdet(cxz, who) + _half_logdet(c[:, dx:, dx:], who)
                     - _half_logdet(c, who) - _half_logdet(c[:, dx + dy:, dx + dy:], who))
    if copula:
        V.warn_ties(torch.cat(n_unique).cpu().numpy(), n, "x", who)
    out = torch.cat(parts)
    if biascorrect:
        out = out - (bias_nats(n, dx + dz) + bias_nats(n, dy + dz) - bias_nats(n, dx + dy + dz)
                     - bias_nats(n, dz))
    return out / LN2


def cmi_ggg(x, y, z, *, biascorrect=True, demeaned=False, device=None, dtype=torch.float64,
            chunk_bytes=DEFAULT_CHUNK_BYTES):
    """Conditional MI I(X;Y|Z) between Gaussian variables per variable of x, bits."""
    who = "torch.cmi_ggg"
    biascorrect = V.check_flag(biascorrect, "biascorrect", who)
    demeaned = V.check_flag(demeaned, "demeaned", who)
    return _cmi(x, y, z, who, False, biascorrect, demeaned, device, dtype, chunk_bytes)


def gccmi_ccc(x, y, z, *, device=None, dtype=torch.float64, chunk_bytes=DEFAULT_CHUNK_BYTES):
    """Gaussian-copula CMI I(X;Y|Z) per variable of x, bits (see ``mass.gccmi_ccc``)."""
    return _cmi(x, y, z, "torch.gccmi_ccc", True, True, True, device, dtype, chunk_bytes)

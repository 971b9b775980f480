"""Co-information and redundancy/synergy between two predictors about one target.

All quantities in bits, one value per variable, with the shape convention of
:mod:`benchmark.info.mass` (x per variable ``(n_vars, n_dims, n_samples)`` or
``(n_vars, n_samples)``; the other continuous arguments shared ``(n_dims, n_samples)`` /
``(n_samples,)`` or per variable ``(n_vars, n_dims, n_samples)``; discrete arguments shared
1-D ints ``0..Ym-1``).

**Sign convention** (McGill 1954; Ince et al. 2017, Human Brain Mapping 38:1541, sec. 2.7)::

    coinfo(X; Y; Z) = I(X;Y) - I(X;Y|Z) = I(X;Y) + I(Z;Y) - I(X,Z;Y)

is symmetric in X, Y, Z.  **Positive: redundancy** (X and Z carry overlapping information
about Y); **negative: synergy** (X and Z together say more about Y than the sum of their
parts).  It measures the net balance only: equal redundancy and synergy cancel to 0.

:func:`pid_mmi_ccc` / :func:`pid_mmi_ccd` split ``I(X1,X2;Y)`` into redundancy, two unique
parts and synergy with the minimum-mutual-information redundancy (Barrett 2015, exact for
Gaussian predictors of a univariate Gaussian target)::

    R = min(I1, I2);  U1 = I1 - R;  U2 = I2 - R;  S = I12 - I1 - I2 + R

so that ``R + U1 + U2 + S = I12`` and ``R - S = coinfo``.  Every term inherits the
Gaussian-copula estimator's blind spot: dependence a Gaussian copula cannot express is
missed.  With bias-corrected estimates a term can come out slightly negative; it is
reported as estimated, never clipped.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate as V
from . import mass
from .mass import DEFAULT_CHUNK_BYTES

__all__ = ["PID", "coinfo_ccc", "coinfo_ccd", "pid_mmi_ccc", "pid_mmi_ccd"]


@dataclass(frozen=True)
class PID:
    """Minimum-mutual-information partial information decomposition, bits, arrays (n_vars,).

    ``redundancy + unique_x1 + unique_x2 + synergy == mi_joint``;
    ``coinfo = mi_x1 + mi_x2 - mi_joint = redundancy - synergy`` (positive: redundant).
    """

    redundancy: np.ndarray
    unique_x1: np.ndarray
    unique_x2: np.ndarray
    synergy: np.ndarray
    mi_x1: np.ndarray
    mi_x2: np.ndarray
    mi_joint: np.ndarray
    coinfo: np.ndarray


def coinfo_ccc(x, y, z, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> np.ndarray:
    """Co-information ``I(X;Y) - I(X;Y|Z)`` of three continuous variables, bits.

    ``gcmi_cc(x, y) - gccmi_ccc(x, y, z)``; positive = redundancy, negative = synergy.
    """
    return (mass.gcmi_cc(x, y, chunk_bytes=chunk_bytes)
            - mass.gccmi_ccc(x, y, z, chunk_bytes=chunk_bytes))


def coinfo_ccd(x, y, z, Zm, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> np.ndarray:
    """Co-information ``I(X;Y) - I(X;Y|Z)`` with a discrete z (``0..Zm-1``), bits.

    ``gcmi_cc(x, y) - gccmi_ccd(x, y, z, Zm)[0]``; positive = redundancy, negative = synergy.
    The conditional term copula-normalises each class of z separately (as gcmi does), so
    this is not exactly symmetric in its arguments.
    """
    return (mass.gcmi_cc(x, y, chunk_bytes=chunk_bytes)
            - mass.gccmi_ccd(x, y, z, Zm, chunk_bytes=chunk_bytes)[0])


def _joint(x1, x2, who):
    a = V.as_float(x1, "x1", ndims=(2, 3), who=who)
    a = a[:, None, :] if a.ndim == 2 else a
    b = V.as_float(x2, "x2", ndims=(1, 2, 3), who=who)
    if b.shape[-1] == a.shape[-1] and V.shared_or_per_variable(b.shape, a.shape[0], "x2", who):
        b = b.reshape(-1, b.shape[-1])
        b = np.broadcast_to(b, (a.shape[0],) + b.shape)
    if b.shape[0] != a.shape[0] or b.shape[-1] != a.shape[-1]:
        raise ValueError(f"{who}: x2 of shape {b.shape} does not match x1 of shape {a.shape} "
                         "(same n_vars and n_samples)")
    return a, b, np.concatenate((a, b), axis=1)


def _pid(i1, i2, i12) -> PID:
    red = np.minimum(i1, i2)
    return PID(redundancy=red, unique_x1=i1 - red, unique_x2=i2 - red, synergy=i12 - i1 - i2 + red,
               mi_x1=i1, mi_x2=i2, mi_joint=i12, coinfo=i1 + i2 - i12)


def pid_mmi_ccc(x1, x2, y, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> PID:
    """MMI decomposition of what continuous x1 and x2 say about a continuous target y.

    x1 per variable; x2 per variable or shared; y shared or per variable.  The three MI
    terms are ``gcmi_cc`` (each dimension copula-normalised on its own).
    """
    a, b, ab = _joint(x1, x2, "pid_mmi_ccc")
    mi = [mass.gcmi_cc(v, y, chunk_bytes=chunk_bytes) for v in (a, b, ab)]
    return _pid(*mi)


def pid_mmi_ccd(x1, x2, y, Ym, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> PID:
    """MMI decomposition of what continuous x1 and x2 say about a discrete target y (0..Ym-1).

    The three MI terms are ``gcmi_model_cd``.  MMI redundancy is a convention (exact only
    for Gaussian targets); read the parts as a summary, the MI terms as the measurement.
    """
    a, b, ab = _joint(x1, x2, "pid_mmi_ccd")
    mi = [mass.gcmi_model_cd(v, y, Ym, chunk_bytes=chunk_bytes) for v in (a, b, ab)]
    return _pid(*mi)

"""Boundary checks shared by every estimator in :mod:`benchmark.info`.

Validate once at the public boundary, then trust.  Every message names the
argument, says what was expected and what was received.  ``TypeError`` is
raised for a wrong type, ``ValueError`` for a wrong value.
"""
from __future__ import annotations

import warnings
from numbers import Integral

import numpy as np

#: a variable whose fraction of distinct values falls below this warns (as in gcmi)
TIE_FRACTION = 0.9


def as_float(a, name: str, *, ndims: tuple[int, ...], who: str) -> np.ndarray:
    """Return ``a`` as a float64 array with ``a.ndim in ndims``, free of NaN and inf."""
    if isinstance(a, (str, bytes)) or a is None:
        raise TypeError(f"{who}: {name} must be a numeric array, got {type(a).__name__}")
    if _is_torch_tensor(a):
        a = a.detach().cpu().numpy()
    arr = np.asarray(a)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{who}: {name} must be a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{who}: {name} must be real-valued, got dtype {arr.dtype}")
    if arr.ndim not in ndims:
        allowed = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(
            f"{who}: {name} must be {allowed} with samples on the last axis, "
            f"got shape {arr.shape}; reshape it (e.g. x[None] or x.reshape(n_dims, n_samples))")
    arr = np.asarray(arr, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{who}: {name} is empty (shape {arr.shape})")
    # a sum is NaN/inf if any value is (no full-size temporary); only then count them exactly
    if not np.isfinite(np.add.reduce(arr, axis=None)) and not np.isfinite(arr).all():
        n_bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"{who}: {name} contains {n_bad} NaN or infinite value(s); the copula transform "
            "would rank them like numbers. Remove or impute them first.")
    return arr


def as_single(a, name: str, who: str) -> np.ndarray:
    """A single (possibly multivariate) variable as a 2-D array (n_dims, n_samples)."""
    return np.atleast_2d(as_float(a, name, ndims=(1, 2), who=who))


def as_labels(y, name: str, who: str) -> np.ndarray:
    """A discrete variable as a 1-D int64 array; a (1, n) array is squeezed as in gcmi."""
    if _is_torch_tensor(y):
        y = y.detach().cpu().numpy()
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 1:
        raise ValueError(f"{who}: {name} must be a 1-D array of class labels, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{who}: {name} must hold integer class labels 0..n_classes-1, got dtype {arr.dtype}; "
            f"convert with numpy.unique({name}, return_inverse=True)[1]")
    return arr.astype(np.int64, copy=False)


def check_n_classes(m, name: str, who: str) -> int:
    """The number of classes (gcmi's ``Ym``/``Zm``): a positive integer."""
    if isinstance(m, bool) or not isinstance(m, Integral):
        raise TypeError(f"{who}: {name} must be an int (the number of classes), got {type(m).__name__}")
    if m < 1:
        raise ValueError(f"{who}: {name} must be >= 1, got {m}")
    return int(m)


def class_counts(y: np.ndarray, m: int, name: str, mname: str, who: str, *, min_count: int) -> np.ndarray:
    """Samples per class; error if a label is out of range or a class has < min_count samples."""
    if y.min() < 0 or y.max() >= m:
        raise ValueError(
            f"{who}: {name} must take values in 0..{mname}-1 = 0..{m - 1}, "
            f"got values from {y.min()} to {y.max()}")
    counts = np.bincount(y, minlength=m)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise ValueError(
            f"{who}: class(es) {empty[:10].tolist()} of {name} have no samples "
            f"({mname}={m}); relabel {name} so every class 0..{mname}-1 occurs")
    small = np.flatnonzero(counts < min_count)
    if small.size:
        raise ValueError(
            f"{who}: class(es) {small[:10].tolist()} of {name} have fewer than {min_count} samples "
            f"(need more samples than dimensions to fit a class covariance)")
    return counts


def check_samples(n_samples: int, n_dims: int, who: str) -> None:
    """Covariance of ``n_dims`` dimensions needs more than ``n_dims`` samples."""
    if n_samples <= n_dims:
        raise ValueError(
            f"{who}: needs more samples than dimensions, got {n_samples} samples for "
            f"{n_dims} joint dimensions")


def check_same_samples(who: str, **arrays) -> int:
    """All arrays share the length of their last axis; return it."""
    lengths = {k: v.shape[-1] for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        got = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"{who}: the number of samples (last axis) must match: {got}")
    return next(iter(lengths.values()))


def shared_or_per_variable(shape: tuple, n_vars: int, name: str, who: str) -> bool:
    """True if an argument of this shape is shared by all variables, False if per variable.

    1-D ``(n,)`` and 2-D ``(d, n)`` are shared, 3-D ``(n_vars, d, n)`` is per variable and
    ``(1, d, n)`` shared.  A 2-D argument with ``n_vars`` rows is refused as ambiguous.
    """
    if len(shape) == 3:
        if shape[0] not in (1, n_vars):
            raise ValueError(f"{who}: {name} is per-variable with {shape[0]} variables but x has "
                             f"{n_vars}; pass a shared {name} as (n_dims, n_samples)")
        return shape[0] == 1 and n_vars != 1
    if len(shape) == 2 and n_vars > 1 and shape[0] == n_vars:
        raise ValueError(
            f"{who}: {name} of shape {shape} is ambiguous: it has one row per variable of x but a "
            f"2-D {name} means one shared {shape[0]}-dimensional variable. Pass {name}[:, None, :] "
            f"for one {name} per variable, or {name}[None] for a shared multivariate {name}")
    return True


def check_flag(flag, name: str, who: str) -> bool:
    if not isinstance(flag, (bool, np.bool_)):
        raise TypeError(f"{who}: {name} must be a bool, got {type(flag).__name__}")
    return bool(flag)


def check_positive_int(v, name: str, who: str) -> int:
    if isinstance(v, bool) or not isinstance(v, Integral):
        raise TypeError(f"{who}: {name} must be an int, got {type(v).__name__}")
    if v < 1:
        raise ValueError(f"{who}: {name} must be >= 1, got {v}")
    return int(v)


def warn_ties(n_unique: np.ndarray, n_samples: int, name: str, who: str) -> None:
    """Warn when some variable has fewer than 90% distinct values (gcmi's rule).

    Tied values get distinct ranks by sample order, which invents an ordering the
    data do not have; the copula transform, and the information, then depend on it.
    """
    n_unique = np.atleast_1d(n_unique)
    bad = np.flatnonzero(n_unique < TIE_FRACTION * n_samples)
    if bad.size:
        worst = int(n_unique[bad].min())
        warnings.warn(
            f"{who}: {bad.size} variable(s) of {name} have more than {100 - 100 * TIE_FRACTION:.0f}% "
            f"tied values (fewest distinct: {worst} of {n_samples}); ties are broken by sample "
            "order, which biases the copula transform. Add tiny jitter or use a discrete estimator.",
            UserWarning, stacklevel=3)


def _is_torch_tensor(a) -> bool:
    return type(a).__module__.startswith("torch") and hasattr(a, "detach")

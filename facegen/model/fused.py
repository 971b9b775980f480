"""Compiled per-sample face composition for dataset generation.

``FaceModel.compose`` builds a face in several numpy float32 passes over (V, 3) arrays (base, factor
offsets, each expression unit, clip, cast); per sample that cost about as much as rendering the face
at 64 px. ``compose_face`` does it in one pass per output, in float64 with one rounding to float32
at the end, so it matches ``compose`` to float32 rounding (``tests/test_model_fused.py``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["compose_face", "expression_direction"]

_NONE = np.zeros((1, 3))


@njit(cache=True)
def _compose(shape, albedo, gshape, galb, da, age_shape, age_alb, use_factors, expr, intensity, use_expr,
             ggain, gain, dy, use_gain, out_v, out_a):
    # one loop per case: numba left loop-invariant branches inside the loops, at several times the cost
    nv = shape.shape[0]
    if use_factors and use_gain:
        for i in range(nv):
            for c in range(3):
                a = ((np.float64(albedo[i, c]) * np.float64(ggain[i, c]) + np.float64(galb[i, c]))
                     * (1.0 + dy * np.float64(gain[i, c])) + da * np.float64(age_alb[i, c]))
                out_a[i, c] = np.float32(min(max(a, 0.0), 1.0))
    elif use_factors:
        for i in range(nv):
            for c in range(3):
                a = np.float64(albedo[i, c]) + (np.float64(galb[i, c]) + da * np.float64(age_alb[i, c]))
                out_a[i, c] = np.float32(min(max(a, 0.0), 1.0))
    else:
        for i in range(nv):
            for c in range(3):
                out_a[i, c] = np.float32(min(max(np.float64(albedo[i, c]), 0.0), 1.0))
    if use_factors and use_expr:
        for i in range(nv):
            for c in range(3):
                x = np.float64(shape[i, c]) + (np.float64(gshape[i, c]) + da * np.float64(age_shape[i, c]))
                out_v[i, c] = np.float32(x + intensity * expr[i, c])
    elif use_factors:
        for i in range(nv):
            for c in range(3):
                x = np.float64(shape[i, c]) + (np.float64(gshape[i, c]) + da * np.float64(age_shape[i, c]))
                out_v[i, c] = np.float32(x)
    elif use_expr:
        for i in range(nv):
            for c in range(3):
                out_v[i, c] = np.float32(np.float64(shape[i, c]) + intensity * expr[i, c])
    else:
        for i in range(nv):
            for c in range(3):
                out_v[i, c] = np.float32(shape[i, c])


def expression_direction(model, expression: str) -> np.ndarray | None:
    """(V, 3) float64 offset of ``expression`` at intensity 1 (``FaceModel.expression_offset`` summed
    in float64); None for an expression without units (e.g. neutral)."""
    if not model.expressions.get(expression):
        return None
    return model.expression_offset(expression, 1.0, dtype=np.float64)


def compose_face(shape: np.ndarray, albedo: np.ndarray, *, factor_shape=None, factor_albedo=None, da: float = 0.0,
                 age_shape=None, age_albedo=None, group_gain=None, age_gain=None, dy: float = 0.0,
                 expression=None, intensity: float = 1.0):
    """(vertices (V, 3) float32, albedo (V, 3) float32 clipped to [0, 1]) of one face::

        vertices = float32(shape + (factor_shape + da * age_shape) + intensity * expression)
        albedo   = float32(clip((albedo * group_gain + factor_albedo) * (1 + dy * age_gain)
                                + da * age_albedo, 0, 1))

    computed in float64 (``FactorModel.apply``): da is the age minus the reference age, dy the age
    minus the youngest age, ``group_gain`` the ``FactorModel.group_gain`` of the face's gender and
    ethnicity. ``expression``: the (V, 3) ``expression_direction`` or None; the factor terms are
    skipped when ``factor_shape`` is None (a model without factors); with neither gain (None), the
    albedo is ``albedo + (factor_albedo + da * age_albedo)`` as before gains existed.
    """
    use_factors, use_expr = factor_shape is not None, expression is not None
    use_gain = use_factors and (age_gain is not None or group_gain is not None)
    if use_gain:
        group_gain = np.ones(albedo.shape) if group_gain is None else group_gain
        age_gain = np.zeros(albedo.shape) if age_gain is None else age_gain
    out_v = np.empty(shape.shape, np.float32)
    out_a = np.empty(albedo.shape, np.float32)
    f = (factor_shape, factor_albedo, age_shape, age_albedo) if use_factors else (shape, albedo, shape, albedo)
    _compose(shape, albedo, f[0], f[1], float(da), f[2], f[3], use_factors,
             expression if use_expr else _NONE, float(intensity), use_expr,
             group_gain if use_gain else _NONE, age_gain if use_gain else _NONE, float(dy), use_gain, out_v, out_a)
    return out_v, out_a

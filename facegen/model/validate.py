"""Consistency checks for a FaceModel, run once when one is built; errors name the source and the problem."""
from __future__ import annotations

import numpy as np

from .types import ModelFileError

__all__ = ["check_model", "check_millimetres"]

# A human head is about 150-250 mm across; a model whose extent is far outside that range is in other units.
_HEAD_EXTENT_MM = (60.0, 600.0)


def _fail(source: str, msg: str) -> None:
    raise ModelFileError(f"{source}: {msg}")


def _arr(source: str, name: str, a, ndim: int, tail: tuple = ()) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        _fail(source, f"{name} must be a numpy array, got {type(a).__name__}")
    if a.ndim != ndim or (tail and tuple(a.shape[-len(tail):]) != tail):
        want = "(" + ", ".join(["N"] * (ndim - len(tail)) + [str(t) for t in tail]) + ")"
        _fail(source, f"{name} has shape {a.shape}; expected {want}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        _fail(source, f"{name} contains NaN or inf")
    return a


def check_model(m, source: str) -> None:
    """Raise ModelFileError naming ``source`` if the arrays of model ``m`` do not fit together."""
    V = _arr(source, "mean_shape", m.mean_shape, 2, (3,)).shape[0]
    if V < 3:
        _fail(source, f"mean_shape has {V} vertices; a mesh needs at least 3")
    for name in ("shape_basis", "texture_basis", "expression_basis"):
        b = _arr(source, name, getattr(m, name), 3, (V, 3))
        del b
    _arr(source, "mean_albedo", m.mean_albedo, 2, (V, 3))
    for basis, sd in (("shape_basis", "shape_sd"), ("texture_basis", "texture_sd")):
        s = _arr(source, sd, getattr(m, sd), 1)
        if s.shape[0] != getattr(m, basis).shape[0]:
            _fail(source, f"{sd} has {s.shape[0]} entries but {basis} has {getattr(m, basis).shape[0]} modes")
        if np.any(s < 0):
            _fail(source, f"{sd} has negative standard deviations")
    if len(m.expression_names) != m.expression_basis.shape[0]:
        _fail(source, f"{len(m.expression_names)} expression names for {m.expression_basis.shape[0]} expression modes")
    t = _arr(source, "triangles", m.triangles, 2, (3,))
    if t.dtype.kind not in "iu":
        _fail(source, f"triangles must be integers, got dtype {t.dtype}")
    if t.size and (t.min() < 0 or t.max() >= V):
        _fail(source, f"triangles index vertices {t.min()}..{t.max()}; valid range is 0..{V - 1}")
    if m.uvs is not None:
        _arr(source, "uvs", m.uvs, 2, (2,))
        if m.uvs.shape[0] != V:
            _fail(source, f"uvs has {m.uvs.shape[0]} rows for {V} vertices")
    if m.texture_bands is not None and len(m.texture_bands) != m.texture_basis.shape[0]:
        _fail(source, "texture_bands must give one band per texture mode")
    if m.landmarks is not None:
        lm = np.asarray(m.landmarks)
        if lm.shape != (68,):
            _fail(source, f"landmarks has shape {lm.shape}; expected (68,) iBUG vertex indices")
        if lm.min() < 0 or lm.max() >= V:
            _fail(source, f"landmark indices must lie in 0..{V - 1}")
    for name, idx in m.regions.items():
        idx = np.asarray(idx)
        if idx.size and (idx.min() < 0 or idx.max() >= V):
            _fail(source, f"region {name!r} indexes vertices outside 0..{V - 1}")
    for name, i in m.points.items():
        if not 0 <= int(i) < V:
            _fail(source, f"point {name!r} = {i} is outside 0..{V - 1}")
    for expr, weights in m.expressions.items():
        for unit in weights:
            if unit not in m.expression_names:
                _fail(source, f"expression {expr!r} uses unit {unit!r}, which is not among expression_names")
    f = m.factors
    if f is not None:
        for name, levels in (("gender", f.genders), ("ethnicity", f.ethnicities)):
            parts = ("shape", "albedo") + (("albedo_gain",) if getattr(f, f"{name}_albedo_gain") is not None else ())
            for part in parts:
                a = _arr(source, f"{name}_{part}", getattr(f, f"{name}_{part}"), 3, (V, 3))
                if a.shape[0] != len(levels):
                    _fail(source, f"{name}_{part} has {a.shape[0]} levels but {len(levels)} names")
        _arr(source, "age_shape", f.age_shape, 2, (V, 3))
        _arr(source, "age_albedo", f.age_albedo, 2, (V, 3))
        if f.age_albedo_gain is not None:
            _arr(source, "age_albedo_gain", f.age_albedo_gain, 2, (V, 3))
        if not f.age_range[0] < f.age_range[1]:
            _fail(source, f"age_range {f.age_range} must be increasing")
    check_millimetres(m.mean_shape, source)


def check_millimetres(vertices: np.ndarray, source: str) -> None:
    """Reject geometry whose extent shows it is not in millimetres (e.g. metres or centimetres)."""
    extent = float(np.max(np.ptp(vertices, axis=0)))
    lo, hi = _HEAD_EXTENT_MM
    if not lo <= extent <= hi:
        _fail(source, f"mesh extent is {extent:.4g} units; a head in millimetres spans {lo:.0f}-{hi:.0f}. "
                      "Convert the units on load (cm x10, m x1000)")

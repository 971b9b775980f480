"""A small synthetic FaceModel for fast tests: an ellipsoid 'head' with random modes and factors."""
from __future__ import annotations

import numpy as np

from facegen.model import FaceModel, FactorModel


def ellipsoid(n_u: int = 24, n_v: int = 16, radii=(75.0, 100.0, 85.0)):
    """Vertices (V, 3) mm and CCW triangles (F, 3) of a closed UV-sphere scaled to ``radii``."""
    verts = [(0.0, radii[1], 0.0)]
    for i in range(1, n_v):
        th = np.pi * i / n_v
        for j in range(n_u):
            ph = 2 * np.pi * j / n_u
            verts.append((radii[0] * np.sin(th) * np.sin(ph), radii[1] * np.cos(th), radii[2] * np.sin(th) * np.cos(ph)))
    verts.append((0.0, -radii[1], 0.0))
    v = np.asarray(verts, np.float32)
    tris = []
    ring = lambda i, j: 1 + (i - 1) * n_u + (j % n_u)  # noqa: E731
    for j in range(n_u):
        tris.append((0, ring(1, j), ring(1, j + 1)))
    for i in range(1, n_v - 1):
        for j in range(n_u):
            a, b, c, d = ring(i, j), ring(i, j + 1), ring(i + 1, j), ring(i + 1, j + 1)
            tris += [(a, c, b), (b, c, d)]
    last = len(v) - 1
    for j in range(n_u):
        tris.append((last, ring(n_v - 1, j + 1), ring(n_v - 1, j)))
    t = np.asarray(tris, np.int32)
    # orient counter-clockwise seen from outside
    n = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
    flip = (n * v[t].mean(axis=1)).sum(axis=1) < 0
    t[flip] = t[flip][:, ::-1]
    return v, t


def synthetic_model(seed: int = 0, n_shape: int = 6, n_texture: int = 5) -> FaceModel:
    rng = np.random.default_rng(seed)
    v, t = ellipsoid()
    V = len(v)
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
    factors = FactorModel(
        genders=("female", "male"), gender_shape=f32(np.stack([-1, 1])[:, None, None] * v * 0.03),
        gender_albedo=f32(np.stack([1, -1])[:, None, None] * np.full((V, 3), 0.02)),
        ethnicities=("a", "b", "c"), ethnicity_shape=f32(rng.normal(0, 1, (3, V, 3)) - 0),
        ethnicity_albedo=f32(np.stack([0.05, 0, -0.05])[:, None, None] * np.ones((V, 3))),
        age_reference=45.0, age_range=(20.0, 70.0), age_shape=f32(rng.normal(0, 0.02, (V, 3))),
        age_albedo=f32(np.full((V, 3), -0.001)))
    return FaceModel(
        name="synthetic", version="1", mean_shape=v, shape_basis=f32(rng.normal(0, 1, (n_shape, V, 3))),
        shape_sd=f32(np.linspace(3, 1, n_shape)), mean_albedo=f32(np.full((V, 3), 0.6)),
        texture_basis=f32(rng.normal(0, 0.02, (n_texture, V, 3))), texture_sd=f32(np.linspace(1, 0.5, n_texture)),
        triangles=t, expression_basis=f32(rng.normal(0, 2, (2, V, 3))), expression_names=("AU12", "AU26"),
        expressions={"neutral": {}, "happy": {"AU12": 1.0}, "surprise": {"AU26": 1.0}},
        landmarks=np.arange(68, dtype=np.int32) * 3, factors=factors, provenance="synthetic test model")

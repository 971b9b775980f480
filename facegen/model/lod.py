"""Levels of detail: coarser triangulations of a model's mesh over a subset of its own vertices.

At 128 px the embedded model's 20,904 triangles average 0.6 px² each, so most of the renderer's
work goes into triangles that cover no pixel centre; a quarter of them renders about 1.8x as fast
at 128 px and changes the image by about 1.5/255 on average, mask IoU 0.999
(``scripts/bench_lod.py``); its surface stays within 0.27 mm of the full mesh for 95% of the
vertices (0.24 px at 224 px). A level keeps a *subset* of the model's vertices (no new points), so
a face of the model is rendered at that level by composing only those rows: every basis, factor
and expression of the model applies unchanged. What a coarser level loses is mostly albedo detail,
which is stored per vertex.

The subset comes from quadric-error edge collapses (``fast_simplification``, the fast-quadric-
mesh-reduction algorithm) run on the mean face: each collapse merges one vertex into another, and a
merged cluster is represented by its surviving original vertex. The result depends only on the
mean face, the triangles and the fraction, and is the same on every run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DETAIL_LEVELS", "MeshLevel", "at_detail", "auto_fraction", "mesh_level"]

#: Fractions of the model's triangles a level may keep (each halves the one before).
DETAIL_LEVELS = (1.0, 0.5, 0.25)


@dataclass(frozen=True)
class MeshLevel:
    """One level of detail of a model's mesh.

    ``vertices``: (K,) int64 sorted indices of the model's vertices the level uses;
    ``triangles``: (F, 3) int32 indices into ``vertices`` (counter-clockwise, like the model's).
    A face ``v`` (V, 3) of the model renders at this level as ``render(v[vertices], triangles, ...)``.
    """

    fraction: float
    vertices: np.ndarray
    triangles: np.ndarray


def mesh_level(points: np.ndarray, triangles: np.ndarray, fraction: float, keep=()) -> MeshLevel:
    """The level keeping about ``fraction`` of ``triangles``, decimated on ``points`` (V, 3) (the mean face).

    ``keep``: vertex indices the level must contain even if no triangle uses them any more (e.g.
    landmarks, so that their positions and visibility stay those of the full mesh's vertices).
    ``fraction`` 1 returns the full mesh (every vertex, the model's triangles).
    """
    if not isinstance(fraction, (int, float)) or not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction: expected a number in (0, 1], received {fraction!r}")
    pts = np.ascontiguousarray(points, np.float64)
    tris = np.ascontiguousarray(triangles, np.int32)
    if pts.ndim != 2 or pts.shape[1] != 3 or tris.ndim != 2 or tris.shape[1] != 3:
        raise ValueError(f"expected points (V, 3) and triangles (F, 3), received {pts.shape} and {tris.shape}")
    if fraction == 1.0:
        return MeshLevel(1.0, np.arange(len(pts), dtype=np.int64), tris)
    import fast_simplification

    _, _, collapses = fast_simplification.simplify(pts, tris, target_count=max(int(len(tris) * fraction), 1),
                                                   return_collapses=True)
    rep = np.arange(len(pts), dtype=np.int64)
    for into, gone in np.asarray(collapses, np.int64).reshape(-1, 2):
        rep[gone] = into
    while True:  # follow chains (a vertex merged into one that was merged later) to the survivor
        nxt = rep[rep]
        if np.array_equal(nxt, rep):
            break
        rep = nxt
    t = rep[tris]
    t = t[(t[:, 0] != t[:, 1]) & (t[:, 1] != t[:, 2]) & (t[:, 0] != t[:, 2])]
    # two faces over the same three vertices would be drawn twice: keep the first
    _, first = np.unique(np.sort(t, axis=1), axis=0, return_index=True)
    t = t[np.sort(first)]
    used = np.union1d(np.unique(t), np.asarray(keep, np.int64))
    remap = np.full(len(pts), -1, np.int64)
    remap[used] = np.arange(len(used))
    return MeshLevel(float(fraction), used, remap[t].astype(np.int32))


def at_detail(model, fraction: float):
    """``model`` (a ``FaceModel``) restricted to the vertices of its level ``fraction``: every
    per-vertex array keeps those rows, ``triangles`` are the level's, and landmarks and named
    points (kept by the level) are re-indexed; regions keep their surviving vertices. Composing a
    face of the result gives the rows ``vertices`` of the same face of ``model``."""
    import dataclasses

    if fraction == 1.0:
        return model
    pts = dict(model.points)
    lm = () if model.landmarks is None else np.asarray(model.landmarks, np.int64)
    lev = mesh_level(model.mean_shape, model.triangles, fraction,
                     keep=np.union1d(lm, np.asarray(list(pts.values()), np.int64)))
    keep = lev.vertices
    new = np.full(model.n_vertices, -1, np.int64)
    new[keep] = np.arange(len(keep))

    def rows(a):
        return None if a is None else np.ascontiguousarray(a[..., keep, :] if a.ndim == 3 else a[keep])

    f = model.factors
    if f is not None:
        f = dataclasses.replace(f, gender_shape=rows(f.gender_shape), gender_albedo=rows(f.gender_albedo),
                                ethnicity_shape=rows(f.ethnicity_shape), ethnicity_albedo=rows(f.ethnicity_albedo),
                                age_shape=rows(f.age_shape), age_albedo=rows(f.age_albedo),
                                age_albedo_gain=rows(f.age_albedo_gain),
                                gender_albedo_gain=rows(f.gender_albedo_gain),
                                ethnicity_albedo_gain=rows(f.ethnicity_albedo_gain))
    regions = {}
    for name, idx in model.regions.items():
        moved = new[np.asarray(idx, np.int64)]
        regions[name] = moved[moved >= 0].astype(np.asarray(idx).dtype)
    return dataclasses.replace(
        model, mean_shape=rows(model.mean_shape), shape_basis=rows(model.shape_basis),
        mean_albedo=rows(model.mean_albedo), texture_basis=rows(model.texture_basis),
        expression_basis=rows(model.expression_basis), uvs=rows(model.uvs), triangles=lev.triangles,
        landmarks=None if model.landmarks is None else new[lm].astype(np.asarray(model.landmarks).dtype),
        points={k: int(new[int(i)]) for k, i in pts.items()}, regions=regions, factors=f)


def auto_fraction(points: np.ndarray, triangles: np.ndarray, image_size: int, max_px: float = 4.0) -> float:
    """The coarsest of ``DETAIL_LEVELS`` whose front-facing triangles average at most ``max_px`` px².

    The mean area is measured on ``points`` (the mean face) seen frontally at the default framing
    (``Camera()`` centred on the face's bounding box, scale 1) in an ``image_size`` px image, and
    grows as 1 / fraction. Triangles much smaller than a pixel add work but nothing visible.
    """
    from ..render.camera import Camera, camera_intrinsics

    pts = np.asarray(points, np.float64)
    f, cx, cy, d = camera_intrinsics(Camera(), image_size, image_size)
    p = pts - (pts.min(axis=0) + pts.max(axis=0)) / 2
    z = d - p[:, 2]
    uv = np.stack([cx + f * p[:, 0] / z, cy - f * p[:, 1] / z], axis=1)[np.asarray(triangles)]
    e1, e2 = uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]
    area = (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) / 2
    front = area < 0  # counter-clockwise in the model is clockwise on screen (v points down)
    mean_px = float(-area[front].mean()) if front.any() else 0.0
    ok = [fr for fr in DETAIL_LEVELS if mean_px / fr <= max_px]
    return min(ok) if ok else 1.0

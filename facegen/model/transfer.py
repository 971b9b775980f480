"""Give a model without a colour model (SFM, FLAME, ICT) the albedo model of another, via 68 landmarks.

How (:func:`transfer_albedo`):

1. **Correspondence by landmarks.** The iBUG points defined on both meshes (target ``-1`` = undefined)
   pair a target vertex with a source vertex (a target vertex named twice is used once, as the exact
   spline cannot take one point to two places); at least 5 pairs are needed.
2. **Similarity alignment** (Umeyama 1991): the scale ``s``, rotation ``R`` and translation ``t``
   minimising ``sum_i |s R p_i + t - q_i|^2`` over target landmarks ``p_i`` and source landmarks
   ``q_i`` map every target vertex into the source's frame (this absorbs units, pose and size).
3. **Thin-plate-spline warp** (``scipy.interpolate.RBFInterpolator``, kernel ``thin_plate_spline``,
   ``smoothing`` default 0 = exact): a smooth displacement field that takes each aligned target landmark
   exactly onto its source landmark, applied to every target vertex, so that the two faces overlap.
4. **Closest surface point**: for each warped target vertex, the closest point on the source surface
   (candidates = the triangles around the ``k`` nearest source vertices found with
   ``scipy.spatial.cKDTree``; exact point-triangle distance), and its barycentric weights.
5. **Baked shading divided out** (``source_shading``, optional): when the source's albedo carries
   shading computed from its own surface (the embedded model darkens down-facing skin by
   ``1 - 0.45 max(0, -n_y)``, :func:`underside_shading`), that per-vertex factor is divided out of its
   mean albedo and of every texture mode before the copy. Shading belongs to the source's geometry, not
   to its skin: copied by correspondence it lands on target surfaces that face another way (the shadow
   under the embedded model's steep brow ridge, copied onto ICT-FaceKit's forward-facing brow ridge and
   upper lid, read as a second brow). The renderer shades the target from its own geometry.
6. **Copy**: the target's mean albedo (clipped to [0, 1]) and every texture mode are the source's
   (step 5's), interpolated with the step-4 weights; ``texture_sd`` and ``texture_bands`` are the
   source's. Coefficients therefore mean the same in both models: texture coefficient k = 1 s.d. of
   the source's mode k.

``distances`` reports how far (in source mm) each warped target vertex was from the source surface:
large values flag parts (e.g. the back of a head, teeth) that the source does not cover.
:func:`closest_points_reference` is the brute-force version of step 4, kept to test the fast path.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import RBFInterpolator
from scipy.spatial import cKDTree

from .types import FaceModel

__all__ = ["TransferredAlbedo", "transfer_albedo", "similarity_transform", "warp_to_source",
           "closest_points", "closest_points_reference", "underside_shading"]

log = logging.getLogger(__name__)

MIN_PAIRS = 5


@dataclass(frozen=True)
class TransferredAlbedo:
    """Albedo model carried onto a target mesh.

    Attributes:
        mean_albedo: (V, 3) float32 linear RGB of the target vertices.
        texture_basis: (Kt, V, 3) float32 texture modes on the target vertices.
        texture_sd: (Kt,) float32, the source's s.d. per mode.
        texture_bands: (Kt,) int band per mode, or None (as the source).
        distances: (V,) float32 distance (source units, mm) from each warped target vertex to the source surface.
        n_pairs: number of landmark pairs used.
    """

    mean_albedo: np.ndarray
    texture_basis: np.ndarray
    texture_sd: np.ndarray
    texture_bands: np.ndarray | None
    distances: np.ndarray
    n_pairs: int


def similarity_transform(p: np.ndarray, q: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Umeyama: ``(s, R (3,3), t (3,))`` minimising ``sum |s R p_i + t - q_i|^2`` for (N, 3) ``p``, ``q``."""
    mp, mq = p.mean(axis=0), q.mean(axis=0)
    P, Q = p - mp, q - mq
    U, S, Wt = np.linalg.svd(Q.T @ P / len(p))
    D = np.eye(3)
    if np.linalg.det(U) * np.linalg.det(Wt) < 0:
        D[2, 2] = -1.0
    R = U @ D @ Wt
    var_p = (P ** 2).sum() / len(p)
    s = float(np.trace(np.diag(S) @ D) / var_p) if var_p > 0 else 1.0
    return s, R, mq - s * R @ mp


def warp_to_source(target_vertices: np.ndarray, target_lm: np.ndarray, source_lm_points: np.ndarray,
                   *, smoothing: float = 0.0) -> np.ndarray:
    """Target vertices (V, 3) mapped into the source frame: similarity on the landmark pairs, then a TPS.

    ``target_lm`` (L,) target vertex indices and ``source_lm_points`` (L, 3) the paired source positions.
    """
    p = target_vertices[target_lm].astype(np.float64)
    q = np.asarray(source_lm_points, dtype=np.float64)
    s, R, t = similarity_transform(p, q)
    aligned = s * target_vertices.astype(np.float64) @ R.T + t
    tps = RBFInterpolator(aligned[target_lm], q - aligned[target_lm], kernel="thin_plate_spline",
                          smoothing=smoothing, degree=1)
    return aligned + tps(aligned)


def _closest_on_triangles(x: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest points (..., 3) on triangles (a, b, c) to points x, and barycentric weights (..., 3)."""
    ab, ac, ax = b - a, c - a, x - a
    d00, d01, d11 = (ab * ab).sum(-1), (ab * ac).sum(-1), (ac * ac).sum(-1)
    d20, d21 = (ax * ab).sum(-1), (ax * ac).sum(-1)
    den = d00 * d11 - d01 * d01
    with np.errstate(divide="ignore", invalid="ignore"):
        v = (d11 * d20 - d01 * d21) / den
        w = (d00 * d21 - d01 * d20) / den
    u = 1.0 - v - w
    inside = (den > 1e-12 * d00 * d11) & (u >= 0) & (v >= 0) & (w >= 0)
    best_bary = np.where(inside[..., None], np.stack([u, v, w], -1), np.nan)
    best_pt = np.where(inside[..., None], a + v[..., None] * ab + w[..., None] * ac, np.nan)
    best_d = np.where(inside, ((best_pt - x) ** 2).sum(-1), np.inf)
    # Outside (or degenerate): the closest point lies on an edge.
    for (p0, p1, i0, i1) in ((a, b, 0, 1), (b, c, 1, 2), (c, a, 2, 0)):
        e = p1 - p0
        ee = (e * e).sum(-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            tt = np.clip(np.where(ee > 0, ((x - p0) * e).sum(-1) / ee, 0.0), 0.0, 1.0)
        pt = p0 + tt[..., None] * e
        d = ((pt - x) ** 2).sum(-1)
        better = d < best_d
        bary = np.zeros(tt.shape + (3,))
        bary[..., i0] = 1.0 - tt
        bary[..., i1] = tt
        best_d = np.where(better, d, best_d)
        best_pt = np.where(better[..., None], pt, best_pt)
        best_bary = np.where(better[..., None], bary, best_bary)
    return best_pt, best_bary


def closest_points(points: np.ndarray, vertices: np.ndarray, triangles: np.ndarray, *, k: int = 8,
                   chunk: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each of (P, 3) ``points``: nearest triangle index (P,), barycentric weights (P, 3), distance (P,).

    Candidates are the triangles incident to the ``k`` nearest mesh vertices (cKDTree), which finds the
    true closest triangle on well-shaped meshes; exact point-triangle distances choose among them.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    triangles = np.asarray(triangles, dtype=np.int64)
    V, F = len(vertices), len(triangles)
    k = min(k, V)
    # vertex -> incident triangles, padded to the maximum valence with -1
    owner = np.repeat(np.arange(F), 3)
    order = np.argsort(triangles.ravel(), kind="stable")
    counts = np.bincount(triangles.ravel(), minlength=V)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    M = max(int(counts.max()), 1)
    inc = np.full((V, M), -1, dtype=np.int64)
    slot = np.arange(3 * F) - np.repeat(starts, counts)
    inc[triangles.ravel()[order], slot] = owner[order]
    tree = cKDTree(vertices)
    P = len(points)
    tri_out, bary_out, dist_out = np.zeros(P, np.int64), np.zeros((P, 3)), np.zeros(P)
    for s0 in range(0, P, chunk):
        x = np.asarray(points[s0:s0 + chunk], dtype=np.float64)
        _, nn = tree.query(x, k=k)
        nn = nn.reshape(len(x), -1)
        cand = inc[nn].reshape(len(x), -1)  # (n, k*M)
        valid = cand >= 0
        c = np.where(valid, cand, 0)
        tv = vertices[triangles[c]]  # (n, C, 3, 3)
        pt, bary = _closest_on_triangles(x[:, None, :], tv[..., 0, :], tv[..., 1, :], tv[..., 2, :])
        d = np.where(valid, ((pt - x[:, None, :]) ** 2).sum(-1), np.inf)
        j = d.argmin(axis=1)
        r = np.arange(len(x))
        tri_out[s0:s0 + len(x)] = c[r, j]
        bary_out[s0:s0 + len(x)] = bary[r, j]
        dist_out[s0:s0 + len(x)] = np.sqrt(d[r, j])
    return tri_out, bary_out, dist_out


def closest_points_reference(points: np.ndarray, vertices: np.ndarray, triangles: np.ndarray):
    """Brute force over every triangle (slow, exact); same outputs as :func:`closest_points`."""
    tv = np.asarray(vertices, dtype=np.float64)[np.asarray(triangles)]
    tris, barys, dists = [], [], []
    for x in np.asarray(points, dtype=np.float64):
        pt, bary = _closest_on_triangles(x[None, :], tv[:, 0], tv[:, 1], tv[:, 2])
        d = ((pt - x) ** 2).sum(-1)
        j = int(d.argmin())
        tris.append(j)
        barys.append(bary[j])
        dists.append(np.sqrt(d[j]))
    return np.array(tris), np.array(barys), np.array(dists)


def underside_shading(vertices: np.ndarray, triangles: np.ndarray, strength: float) -> np.ndarray:
    """(V,) float32 factor ``1 - strength * max(0, -n_y)`` of a mesh's unit vertex normals ``n``.

    The shading that a model bakes into its albedo to darken surfaces facing the floor (the embedded
    model, strength ``facegen.model.embedded.albedo.UNDERSIDE``); vertices without a triangle get 1.
    """
    from ..render.camera import vertex_normals

    if not 0.0 <= strength < 1.0:
        raise ValueError(f"strength: expected a value in [0, 1), received {strength!r}")
    down = np.clip(-vertex_normals(vertices, triangles)[:, 1], 0.0, 1.0)
    return (1.0 - strength * down).astype(np.float32)


def transfer_albedo(source: FaceModel, target_vertices: np.ndarray, target_triangles: np.ndarray,
                    target_landmarks: np.ndarray, *, smoothing: float = 0.0, k: int = 8,
                    source_shading: np.ndarray | None = None) -> TransferredAlbedo:
    """Carry ``source``'s albedo model onto a target mesh through the 68 iBUG landmarks (module docstring).

    Args:
        source: a FaceModel with ``landmarks`` (68,) and an albedo model (mean, modes, s.d.).
        target_vertices: (V, 3) target mesh, any units (the similarity step absorbs scale).
        target_triangles: (F, 3) target triangles (unused by the maths; checked for range).
        target_landmarks: (68,) target vertex per iBUG point, -1 where the target does not define it.
        source_shading: (Vs,) positive per-vertex shading factor baked into ``source``'s albedo (mean
            and modes), divided out before the copy (step 5), e.g. :func:`underside_shading`; None: none.
    Raises:
        ValueError: no source landmarks, bad shapes, fewer than 5 landmark pairs, or a
            ``source_shading`` that is not (Vs,) positive and finite.
    """
    if source.landmarks is None:
        raise ValueError(f"source model {source.name!r} has no landmarks; albedo transfer needs 68 iBUG points")
    tv = np.asarray(target_vertices, dtype=np.float64)
    lm = np.asarray(target_landmarks, dtype=np.int64).ravel()
    if tv.ndim != 2 or tv.shape[1] != 3:
        raise ValueError(f"target_vertices has shape {tv.shape}; expected (V, 3)")
    if lm.shape != (68,):
        raise ValueError(f"target_landmarks has shape {lm.shape}; expected (68,) with -1 for undefined points")
    if lm.max() >= len(tv):
        raise ValueError(f"target_landmarks index vertex {lm.max()}; the target has {len(tv)} vertices")
    t = np.asarray(target_triangles)
    if t.size and (t.min() < 0 or t.max() >= len(tv)):
        raise ValueError("target_triangles index vertices outside the target mesh")
    ok = lm >= 0
    _, first = np.unique(lm, return_index=True)  # a target vertex named by two points is used once
    dup = np.ones(68, bool)
    dup[first] = False
    ok &= ~dup
    if ok.sum() < MIN_PAIRS:
        raise ValueError(f"only {int(ok.sum())} landmarks are defined on the target; need at least {MIN_PAIRS}")
    src_mean, src_basis = source.mean_albedo, source.texture_basis
    if source_shading is not None:
        f = np.asarray(source_shading, dtype=np.float32)
        if f.shape != (source.n_vertices,) or not np.all(np.isfinite(f)) or f.min() <= 0:
            raise ValueError(f"source_shading: expected ({source.n_vertices},) positive finite factors, "
                             f"received shape {f.shape}")
        src_mean = src_mean / f[:, None]
        src_basis = src_basis / f[None, :, None]
    src_pts = source.mean_shape[np.asarray(source.landmarks)[ok]]
    warped = warp_to_source(tv, lm[ok], src_pts, smoothing=smoothing)
    tri, bary, dist = closest_points(warped, source.mean_shape, source.triangles, k=k)
    corners = np.asarray(source.triangles)[tri]  # (V, 3)
    w = bary.astype(np.float32)

    def interp(a: np.ndarray) -> np.ndarray:  # a (..., Vs, 3) -> (..., V, 3)
        return sum(w[:, c, None] * a[..., corners[:, c], :] for c in range(3))

    mean = np.clip(interp(src_mean), 0.0, 1.0).astype(np.float32)
    basis = interp(src_basis).astype(np.float32) if source.n_texture else \
        np.zeros((0, len(tv), 3), np.float32)
    far = float(np.percentile(dist, 95))
    log.info("albedo transferred from %r through %d landmark pairs; 95%% of target vertices within %.3g mm "
             "of the source surface", source.name, int(ok.sum()), far)
    return TransferredAlbedo(mean_albedo=mean, texture_basis=basis, texture_sd=np.asarray(source.texture_sd, np.float32),
                             texture_bands=None if source.texture_bands is None else np.asarray(source.texture_bands),
                             distances=dist.astype(np.float32), n_pairs=int(ok.sum()))

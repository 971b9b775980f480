"""2-D landmarks with z-buffer visibility: the projection of chosen vertices, compiled (the sampler
asks for 68 of them per image, where numpy's per-call overhead cost more than the work)."""
from __future__ import annotations

import numpy as np
from numba import njit

from .camera import Camera, camera_intrinsics, rotation_matrix

__all__ = ["project_landmarks"]


@njit(cache=True)
def _project(verts, idx, rot, center, f, cx, cy, d, depth, tol, out):
    """``out[k] = [u, v, visible]`` of vertex ``idx[k]``; the formulas of ``camera.project_points``."""
    h, w = depth.shape
    for k in range(idx.shape[0]):
        i = idx[k]
        px = verts[i, 0] - center[0]
        py = verts[i, 1] - center[1]
        pz = verts[i, 2] - center[2]
        wx = rot[0, 0] * px + rot[0, 1] * py + rot[0, 2] * pz
        wy = rot[1, 0] * px + rot[1, 1] * py + rot[1, 2] * pz
        wz = rot[2, 0] * px + rot[2, 1] * py + rot[2, 2] * pz
        z = d - wz
        u = cx + f * wx / z
        v = cy - f * wy / z
        col = np.floor(u)
        row = np.floor(v)
        vis = 0.0
        if 0.0 <= col < w and 0.0 <= row < h and z > 0.0:
            if z <= np.float64(depth[int(row), int(col)]) + tol:
                vis = 1.0
        out[k, 0] = u
        out[k, 1] = v
        out[k, 2] = vis


def project_landmarks(vertices: np.ndarray, idx: np.ndarray, camera: Camera, depth: np.ndarray,
                      tolerance_mm: float) -> np.ndarray:
    """(K, 3) float32 ``[x, y, visible]`` of vertices ``idx`` (validated (K,) int64 in range).

    x, y: ``project_points`` of the vertex (pixels, top-left origin). visible: 1.0 when the vertex
    falls inside the (H, W) ``depth`` map (camera depth in mm, +inf where empty) in front of the
    camera and its depth is at most the map's depth at its pixel plus ``tolerance_mm``, else 0.0.
    """
    h, w = depth.shape
    f, cx, cy, d = camera_intrinsics(camera, h, w)
    out = np.empty((len(idx), 3))
    _project(vertices, idx, rotation_matrix(camera.yaw, camera.pitch, camera.roll),
             np.asarray(camera.center, np.float64), f, cx, cy, d, depth, float(tolerance_mm), out)
    return out.astype(np.float32)

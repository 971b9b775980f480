"""Procedural test meshes in facegen conventions (mm, +x face's left, +y up, +z out of the face;
triangles counter-clockwise seen from outside): a UV sphere, an ellipsoid "head" with a nose, a cube.
Used by the renderer's tests and by ``scripts/bench_render.py`` when no embedded model exists."""
from __future__ import annotations

import numpy as np

__all__ = ["cube", "ellipsoid_head", "read_obj", "uv_sphere"]


def uv_sphere(n_lat: int = 32, n_lon: int = 64, radius: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (V, 3) float64 mm and triangles (F, 3) int32 of a sphere centred at the origin.

    V = (n_lat - 1) * n_lon + 2, F = 2 * n_lon * (n_lat - 1). Pole 0 is +y, the last vertex is -y;
    longitude 0 faces +z.
    """
    theta = np.linspace(0, np.pi, n_lat + 1)[1:-1]            # polar angle from +y
    phi = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)    # azimuth from +z towards +x
    t, p = np.meshgrid(theta, phi, indexing="ij")
    ring = np.stack([np.sin(t) * np.sin(p), np.cos(t), np.sin(t) * np.cos(p)], axis=-1).reshape(-1, 3)
    verts = np.concatenate([[[0.0, 1.0, 0.0]], ring, [[0.0, -1.0, 0.0]]]) * radius
    tris = []
    idx = lambda i, j: 1 + i * n_lon + (j % n_lon)  # noqa: E731
    last = len(verts) - 1
    for j in range(n_lon):
        tris.append((0, idx(0, j), idx(0, j + 1)))
        tris.append((last, idx(n_lat - 2, j + 1), idx(n_lat - 2, j)))
    for i in range(n_lat - 2):
        for j in range(n_lon):
            a, b, c, d = idx(i, j), idx(i, j + 1), idx(i + 1, j), idx(i + 1, j + 1)
            tris.append((a, c, b))
            tris.append((b, c, d))
    return verts, np.asarray(tris, dtype=np.int32)


def ellipsoid_head(n_lat: int = 71, n_lon: int = 142) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A head-sized ellipsoid (75 x 110 x 95 mm semi-axes) with a nose bump on +z.

    Returns vertices (V, 3) float64 mm, triangles (F, 3) int32 and albedo (V, 3) float64 (skin tone,
    darker "eyes" and "mouth" patches so images have structure). The defaults give about 10k
    vertices and 20k triangles. The nose tip is the vertex with the largest z.
    """
    verts, tris = uv_sphere(n_lat, n_lon, 1.0)
    x, y, z = verts[:, 0], verts[:, 1], verts[:, 2]
    nose = 0.35 * np.exp(-((x / 0.18) ** 2 + ((y + 0.05) / 0.3) ** 2)) * np.clip(z, 0, None) ** 2
    verts = verts * (1 + nose)[:, None] * np.array([75.0, 110.0, 95.0])
    albedo = np.tile([0.80, 0.60, 0.50], (len(verts), 1))
    front = z > 0.6
    eyes = front & (np.abs(np.abs(x) - 0.35) < 0.12) & (np.abs(y - 0.25) < 0.07)
    mouth = front & (np.abs(x) < 0.25) & (np.abs(y + 0.45) < 0.05)
    albedo[eyes] = (0.15, 0.15, 0.2)
    albedo[mouth] = (0.6, 0.25, 0.25)
    return verts, tris, albedo


def cube(side: float = 100.0) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned cube centred at the origin: 8 vertices (mm) and 12 outward-CCW triangles."""
    h = side / 2
    v = np.array([[x, y, z] for x in (-h, h) for y in (-h, h) for z in (-h, h)], dtype=np.float64)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    tris = []
    for a, b, c, d in quads:
        tris += [(a, b, c), (a, c, d)]
    t = np.asarray(tris, dtype=np.int32)
    # make every triangle counter-clockwise seen from outside (normal along centroid direction)
    n = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
    flip = (n * v[t].mean(axis=1)).sum(axis=1) < 0
    t[flip] = t[flip][:, ::-1]
    return v, t


def read_obj(path) -> tuple[np.ndarray, np.ndarray]:
    """Vertex positions (V, 3) float64 (file units) and triangles (F, 3) int32 of a Wavefront OBJ.

    Polygons are fan-split ((a, b, c, d) -> (a, b, c), (a, c, d)); texture and normal indices are
    ignored. A minimal reader for test meshes; real model loaders live in ``facegen.model``.
    """
    verts, tris = [], []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("f "):
                idx = [int(tok.split("/")[0]) for tok in line.split()[1:]]
                idx = [i - 1 if i > 0 else len(verts) + i for i in idx]
                tris += [(idx[0], idx[j], idx[j + 1]) for j in range(1, len(idx) - 1)]
    return np.asarray(verts, dtype=np.float64), np.asarray(tris, dtype=np.int32)

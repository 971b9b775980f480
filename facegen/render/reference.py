"""Plain-numpy reference rasteriser (backend name ``"numpy"``): slow, written for clarity, and the
yardstick the compiled backend is tested against. Same maths as ``numba_backend`` (Gouraud shading,
perspective-correct interpolation, z-buffer with strict ``<``, pixel centres at half-integers, the
same output encoding: ``resolve_reference``, ``facegen.render.colour``)."""
from __future__ import annotations

import numpy as np

from .camera import camera_intrinsics, shade_vertices, transform_points, vertex_normals
from .colour import SRGB_LUT, SRGB_LUT_SIZE, decode_srgb
from .types import Buffers, Scene

__all__ = ["NumpyBackend", "rasterize_reference", "resolve_reference", "sample_texture_reference"]


def sample_texture_reference(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear, clamp-to-edge lookup of (Ht, Wt, 3) ``texture`` at (N, 2) ``uv`` -> (N, 3) float64.

    Texel (r, c) has its centre at u = (c + 0.5) / Wt, v = 1 - (r + 0.5) / Ht.
    """
    ht, wt = texture.shape[:2]
    x = uv[:, 0] * wt - 0.5
    y = (1.0 - uv[:, 1]) * ht - 0.5
    x0 = np.floor(x)
    y0 = np.floor(y)
    fx = x - x0
    fy = y - y0
    x0i = np.clip(x0.astype(np.int64), 0, wt - 1)
    x1i = np.clip(x0.astype(np.int64) + 1, 0, wt - 1)
    y0i = np.clip(y0.astype(np.int64), 0, ht - 1)
    y1i = np.clip(y0.astype(np.int64) + 1, 0, ht - 1)
    t = texture.astype(np.float64)
    top = t[y0i, x0i] * (1 - fx)[:, None] + t[y0i, x1i] * fx[:, None]
    bot = t[y1i, x0i] * (1 - fx)[:, None] + t[y1i, x1i] * fx[:, None]
    return top * (1 - fy)[:, None] + bot * fy[:, None]


def rasterize_reference(scene: Scene) -> Buffers:
    """Rasterise ``scene`` at (k*H, k*W) into colour and z buffers (see ``Buffers``)."""
    k = scene.ssaa
    hs, ws = scene.height * k, scene.width * k
    world = transform_points(scene.vertices, scene.camera)
    normals = vertex_normals(world, scene.triangles)
    f, cx, cy, d = camera_intrinsics(scene.camera, scene.height, scene.width)
    diffuse, spec = shade_vertices(world, normals, scene.lighting, d)
    z = d - world[:, 2]
    rz = 1.0 / z
    u = (cx + f * world[:, 0] * rz) * k
    v = (cy - f * world[:, 1] * rz) * k
    textured = scene.texture is not None
    vcol = None if textured else scene.albedo * diffuse + spec

    zbuf = np.full((hs, ws), np.inf)
    cbuf = np.zeros((hs, ws, 3))
    for tri in scene.triangles:
        i0, i1, i2 = int(tri[0]), int(tri[1]), int(tri[2])
        if min(z[i0], z[i1], z[i2]) <= scene.camera.near:
            continue
        area = (u[i1] - u[i0]) * (v[i2] - v[i0]) - (v[i1] - v[i0]) * (u[i2] - u[i0])
        if area == 0.0 or (scene.cull_backfaces and area > 0.0):
            continue  # y-down image: front faces (CCW seen by the viewer) have negative area
        x_lo = max(int(np.ceil(min(u[i0], u[i1], u[i2]) - 0.5)), 0)
        x_hi = min(int(np.floor(max(u[i0], u[i1], u[i2]) - 0.5)), ws - 1)
        y_lo = max(int(np.ceil(min(v[i0], v[i1], v[i2]) - 0.5)), 0)
        y_hi = min(int(np.floor(max(v[i0], v[i1], v[i2]) - 0.5)), hs - 1)
        if x_lo > x_hi or y_lo > y_hi:
            continue
        ia = 1.0 / area
        py, px = np.mgrid[y_lo:y_hi + 1, x_lo:x_hi + 1]
        px = px + 0.5
        py = py + 0.5
        b0 = ((u[i2] - u[i1]) * (py - v[i1]) - (v[i2] - v[i1]) * (px - u[i1])) * ia
        b1 = ((u[i0] - u[i2]) * (py - v[i2]) - (v[i0] - v[i2]) * (px - u[i2])) * ia
        b2 = ((u[i1] - u[i0]) * (py - v[i0]) - (v[i1] - v[i0]) * (px - u[i0])) * ia
        inside = (b0 >= 0) & (b1 >= 0) & (b2 >= 0)
        q0, q1, q2 = b0 * (1.0 / z[i0]), b1 * (1.0 / z[i1]), b2 * (1.0 / z[i2])
        depth = 1.0 / (q0 + q1 + q2)
        for r, c in zip(*np.nonzero(inside)):
            if depth[r, c] < zbuf[y_lo + r, x_lo + c]:
                w0, w1, w2 = q0[r, c] * depth[r, c], q1[r, c] * depth[r, c], q2[r, c] * depth[r, c]
                zbuf[y_lo + r, x_lo + c] = depth[r, c]
                if textured:
                    uv = w0 * scene.uvs[i0] + w1 * scene.uvs[i1] + w2 * scene.uvs[i2]
                    alb = sample_texture_reference(scene.texture, uv[None])[0]
                    dif = w0 * diffuse[i0] + w1 * diffuse[i1] + w2 * diffuse[i2]
                    spc = w0 * spec[i0] + w1 * spec[i1] + w2 * spec[i2]
                    cbuf[y_lo + r, x_lo + c] = alb * dif + spc
                else:
                    cbuf[y_lo + r, x_lo + c] = w0 * vcol[i0] + w1 * vcol[i1] + w2 * vcol[i2]
    return Buffers(colour=cbuf.astype(np.float32), zbuf=zbuf.astype(np.float32))


def resolve_reference(buffers: Buffers, background: np.ndarray, ssaa: int, encoding: str = "srgb"):
    """Composite over ``background`` ((H, W, 3) image or (3,) colour, display values) and box-filter
    k x k samples, then encode (``encoding`` "srgb" or "linear").

    Returns (image (H, W, 3) uint8, mask (H, W) bool, depth (H, W) float32). A pixel's colour x is
    the mean over its k*k samples, each sample being the (linear) surface colour where covered and
    the background elsewhere: ``decode_srgb(background)`` (linear light) for "srgb", ``background``
    as it is for "linear". Its byte is ``SRGB_LUT[floor(clip(x, 0, 1) * (N - 1) + 0.5)]`` for "srgb",
    ``floor(clip(x, 0, 1) * 255 + 0.5)`` for "linear". mask = covered samples >= half; depth = mean
    depth of the covered samples where mask, +inf elsewhere.
    """
    k = ssaa
    srgb = encoding == "srgb"
    if srgb:
        background = decode_srgb(background)
    h, w = buffers.zbuf.shape[0] // k, buffers.zbuf.shape[1] // k
    cov = np.isfinite(buffers.zbuf).reshape(h, k, w, k)
    col = np.where(cov[..., None], buffers.colour.reshape(h, k, w, k, 3).astype(np.float64), 0.0)
    cnt = cov.sum(axis=(1, 3))
    out = (col.sum(axis=(1, 3)) + (k * k - cnt)[..., None] * background) / (k * k)
    if srgb:
        image = SRGB_LUT[np.floor(np.clip(out, 0.0, 1.0) * (SRGB_LUT_SIZE - 1) + 0.5).astype(np.intp)]
    else:
        image = np.floor(np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    zs = np.where(cov, buffers.zbuf.reshape(h, k, w, k).astype(np.float64), 0.0).sum(axis=(1, 3))
    mask = 2 * cnt >= k * k
    depth = np.where(mask, zs / np.maximum(cnt, 1), np.inf).astype(np.float32)
    return image, mask, depth


class NumpyBackend:
    """Reference backend: ``rasterize_reference`` then ``resolve_reference``."""

    name = "numpy"

    def render(self, scene: Scene):
        """(image, mask, depth) of one scene; see ``resolve_reference``."""
        return resolve_reference(rasterize_reference(scene), scene.background, scene.ssaa, scene.encoding)

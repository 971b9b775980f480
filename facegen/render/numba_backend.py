"""Default backend ``"numba"``: a fused, compiled CPU z-buffer rasteriser (pip-only, deterministic).

One compiled function per image (``_render_one``) does pose, projection, Gouraud shading,
rasterisation and resolve, mirroring ``facegen.render.reference`` (the numpy reference it is tested
against). Vertex normals are computed inside it from the posed vertices (the dataset brings new
vertices every image, so a cache by value would only cost a copy and a compare); ``NormalsCache``
and ``vertex_normals_fast`` remain for the GPU backends. Geometry and shading are float64 in a
fixed order (the colour buffer is float32, as the resolve rounds through float32) and each image is
computed by one thread, so an image is bit-identical across calls, processes and batch sizes.
``render_many`` spreads a batch of images over all cores (``numba.prange`` over images, never within
one).

Output encoding (``facegen.render.colour``): with ``encoding="srgb"`` the resolve composites over
the background decoded to linear light (decoded once per call, before the kernel) and writes
``SRGB_LUT[floor(clip(x, 0, 1) * 4095 + 0.5)]``, as ``reference.resolve_reference`` does; with
"linear" the kernel gets an empty table and runs the arithmetic it always had.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit, prange
from numba.extending import overload

from .camera import Lighting, camera_intrinsics, light_direction, rotation_matrix
from .colour import SRGB_LUT, linear_background
from .types import Scene

__all__ = ["NormalsCache", "NumbaBackend", "lighting_arrays", "resolve_buffers", "vertex_normals_fast"]

_NO_ALBEDO, _NO_UVS, _NO_TEXTURE = np.zeros((1, 3)), np.zeros((1, 2)), np.zeros((1, 1, 3), np.float32)
#: The table ``_resolve`` gets per encoding; empty = "linear" (both read-only: one compiled type).
_NO_LUT = np.zeros(0, np.uint8)
_NO_LUT.setflags(write=False)
_LUTS = {"srgb": SRGB_LUT, "linear": _NO_LUT}
_SH = np.array([0.282095, 0.488603, 0.488603, 0.488603, 1.092548, 1.092548, 0.315392, 1.092548, 0.546274])


@njit(cache=True)
def _sample_tex(tex, u, v):
    ht, wt = tex.shape[0], tex.shape[1]
    x = u * wt - 0.5
    y = (1.0 - v) * ht - 0.5
    x0 = math.floor(x)
    y0 = math.floor(y)
    fx = x - x0
    fy = y - y0
    xa = min(max(int(x0), 0), wt - 1)
    xb = min(max(int(x0) + 1, 0), wt - 1)
    ya = min(max(int(y0), 0), ht - 1)
    yb = min(max(int(y0) + 1, 0), ht - 1)
    out = np.empty(3)
    for c in range(3):
        top = tex[ya, xa, c] * (1 - fx) + tex[ya, xb, c] * fx
        bot = tex[yb, xa, c] * (1 - fx) + tex[yb, xb, c] * fx
        out[c] = top * (1 - fy) + bot * fy
    return out


@njit(cache=True)
def _clampf(x):
    return min(max(x, -1.0e9), 1.0e9)


@njit(cache=True)
def _clampi(x):
    """Integer-valued float in [-1e9, 1e9] -> int32."""
    return np.int32(x)


def _bg(bg, i, j, c):
    """Background value at pixel (i, j), channel c, of an (H, W, 3) image or a (3,) colour."""
    return bg[i, j, c] if bg.ndim == 3 else bg[c]


@overload(_bg, jit_options={"cache": True})
def _bg_compiled(bg, i, j, c):
    # chosen at compile time, so a flat colour costs no per-pixel memory traffic
    if bg.ndim == 3:
        return lambda bg, i, j, c: bg[i, j, c]
    return lambda bg, i, j, c: bg[c]


@njit(cache=True, inline="always")
def _to_byte(x):
    """uint8 of floor(clip(x, 0, 1) * 255 + 0.5), by truncation (the value is >= 0.5)."""
    return np.uint8(np.int32(min(max(x, 0.0), 1.0) * 255.0 + 0.5))


@njit(cache=True, inline="always")
def _lut_byte(x, lut):
    """``lut[floor(clip(x, 0, 1) * (N - 1) + 0.5)]`` (N = len(lut)), by truncation (the value is
    >= 0.5) to an unsigned index (no negative-index wraparound: a third faster than int32); NaN
    (from an infinite light, say) reads entry 0 rather than outside the table."""
    x = x if x > 0.0 else 0.0
    return lut[np.uint32(min(x, 1.0) * (lut.shape[0] - 1) + 0.5)]


@njit(cache=True, inline="always")
def _encode(x, lut):
    """The output byte of linear value x: ``_lut_byte`` with a table (sRGB), ``_to_byte`` without
    (linear; the arithmetic the renderer always had)."""
    return _lut_byte(x, lut) if lut.shape[0] > 0 else _to_byte(x)


def _bg_byte(bg, flat, lut, i, j, c):
    """Background byte at pixel (i, j), channel c: of the (H, W, 3) image, or ``flat[c]`` (the
    bytes of a (3,) colour, computed once)."""
    return _encode(bg[i, j, c], lut) if bg.ndim == 3 else flat[c]


@overload(_bg_byte, jit_options={"cache": True})
def _bg_byte_compiled(bg, flat, lut, i, j, c):
    if bg.ndim == 3:
        return lambda bg, flat, lut, i, j, c: _encode(bg[i, j, c], lut)
    return lambda bg, flat, lut, i, j, c: flat[c]


@njit(cache=True, error_model="numpy")  # no ZeroDivisionError branch per pixel; divisors are guarded
def _render_one(verts, tris, albedo, uvs, tex, use_tex, rot, center, f, cx, cy, d, near,
                ldirs, lrads, amb, sh, use_sh, spec, shin, cull, k, bg, lut, img, mask, depth):
    """Render one scene into ``img`` (H, W, 3) uint8, ``mask`` (H, W) bool, ``depth`` (H, W) f32.
    ``bg``: the background in linear light; ``lut``: ``SRGB_LUT``, or empty for linear output.

    Passes: (1) pose and project the vertices; (2) vertex normals in the world frame, the
    area-weighted sums of incident face normals ``(v1 - v0) x (v2 - v0)`` normalised (the
    reference's ``vertex_normals`` of the posed vertices; no cache needed when every call brings
    new vertices); (3) Gouraud shading per vertex; (4) z-buffer rasterisation (strict ``<``,
    triangle order, colour stored as float32 since the resolve rounds through it); (5) resolve
    (``_resolve``). Geometry is float64 in the reference's operation order, so coverage equals
    the reference's exactly.
    """
    nv = verts.shape[0]
    nt = tris.shape[0]
    h, w = img.shape[0], img.shape[1]
    hs, ws = h * k, w * k
    # -- vertices: world position, screen position (u, v, Z, 1/Z), pixel-centre bounds -------
    wv = np.empty((nv, 3))
    sv = np.empty((nv, 4))
    pb = np.empty((nv, 4), np.int32)  # ceil(u - .5), floor(u - .5), ceil(v - .5), floor(v - .5)
    c0, c1, c2 = center[0], center[1], center[2]
    r00, r01, r02 = rot[0, 0], rot[0, 1], rot[0, 2]
    r10, r11, r12 = rot[1, 0], rot[1, 1], rot[1, 2]
    r20, r21, r22 = rot[2, 0], rot[2, 1], rot[2, 2]
    for i in range(nv):
        px = verts[i, 0] - c0
        py = verts[i, 1] - c1
        pz = verts[i, 2] - c2
        wx = r00 * px + r01 * py + r02 * pz
        wy = r10 * px + r11 * py + r12 * pz
        wz = r20 * px + r21 * py + r22 * pz
        wv[i, 0], wv[i, 1], wv[i, 2] = wx, wy, wz
        z = d - wz
        rz = 1.0 / z
        u = (cx + f * wx * rz) * k
        v = (cy - f * wy * rz) * k
        sv[i, 0], sv[i, 1], sv[i, 2], sv[i, 3] = u, v, z, rz
        if z > near:  # triangles with a vertex nearer than ``near`` are dropped below
            pb[i, 0] = _clampi(math.ceil(_clampf(u - 0.5)))
            pb[i, 1] = _clampi(math.floor(_clampf(u - 0.5)))
            pb[i, 2] = _clampi(math.ceil(_clampf(v - 0.5)))
            pb[i, 3] = _clampi(math.floor(_clampf(v - 0.5)))
        else:
            pb[i, 0], pb[i, 1], pb[i, 2], pb[i, 3] = 1, 0, 1, 0  # empty box
    # -- vertex normals (world frame, area-weighted sums of incident face normals) -------------
    # ``back[t]``: the face points clearly away from the eye (0, 0, d) (n . (eye - v0) below -1e-6
    # |n|_1 |eye - v0|_1, far outside rounding), so its screen area is surely > 0 and culling
    # drops it: the raster loop skips it without loading its vertices. Near-edge-on faces are left
    # to the exact screen-area test; faces with a vertex behind ``near`` are dropped there anyway.
    nrm = np.zeros((nv, 3))
    back = np.empty(nt, np.bool_)
    for t in range(nt):
        i0, i1, i2 = tris[t, 0], tris[t, 1], tris[t, 2]
        ax, ay, az = wv[i0, 0], wv[i0, 1], wv[i0, 2]
        e1x, e1y, e1z = wv[i1, 0] - ax, wv[i1, 1] - ay, wv[i1, 2] - az
        e2x, e2y, e2z = wv[i2, 0] - ax, wv[i2, 1] - ay, wv[i2, 2] - az
        fx = e1y * e2z - e1z * e2y
        fy = e1z * e2x - e1x * e2z
        fz = e1x * e2y - e1y * e2x
        ex, ey, ez = -ax, -ay, d - az
        back[t] = fx * ex + fy * ey + fz * ez < -1e-6 * (abs(fx) + abs(fy) + abs(fz)) * (abs(ex) + abs(ey) + abs(ez))
        nrm[i0, 0] += fx
        nrm[i0, 1] += fy
        nrm[i0, 2] += fz
        nrm[i1, 0] += fx
        nrm[i1, 1] += fy
        nrm[i1, 2] += fz
        nrm[i2, 0] += fx
        nrm[i2, 1] += fy
        nrm[i2, 2] += fz
    # -- Gouraud shading: simple passes, one light at a time ---------------------------------
    nl = ldirs.shape[0]
    dif = np.empty((nv, 3))
    for i in range(nv):
        sx, sy, sz = nrm[i, 0], nrm[i, 1], nrm[i, 2]
        ln = math.sqrt(sx * sx + sy * sy + sz * sz)
        il = 1.0 / ln if ln > 0 else 0.0
        nrm[i, 0], nrm[i, 1], nrm[i, 2] = sx * il, sy * il, sz * il
        dif[i, 0], dif[i, 1], dif[i, 2] = amb[0], amb[1], amb[2]
    spc = np.zeros((nv, 3))
    for j in range(nl):
        lx, ly, lz = ldirs[j, 0], ldirs[j, 1], ldirs[j, 2]
        r0, r1, r2 = lrads[j, 0], lrads[j, 1], lrads[j, 2]
        for i in range(nv):
            ndl = max(nrm[i, 0] * lx + nrm[i, 1] * ly + nrm[i, 2] * lz, 0.0)
            dif[i, 0] += ndl * r0
            dif[i, 1] += ndl * r1
            dif[i, 2] += ndl * r2
        if spec > 0.0:
            for i in range(nv):
                if nrm[i, 0] * lx + nrm[i, 1] * ly + nrm[i, 2] * lz > 0.0:
                    vx, vy, vz = -wv[i, 0], -wv[i, 1], d - wv[i, 2]
                    vl = max(math.sqrt(vx * vx + vy * vy + vz * vz), 1e-12)
                    hx, hy, hz = vx / vl + lx, vy / vl + ly, vz / vl + lz
                    hl = max(math.sqrt(hx * hx + hy * hy + hz * hz), 1e-12)
                    ndh = max(nrm[i, 0] * (hx / hl) + nrm[i, 1] * (hy / hl) + nrm[i, 2] * (hz / hl), 0.0)
                    sp = spec * ndh ** shin
                    spc[i, 0] += sp * r0
                    spc[i, 1] += sp * r1
                    spc[i, 2] += sp * r2
    if use_sh:
        for i in range(nv):
            nx, ny, nz = nrm[i, 0], nrm[i, 1], nrm[i, 2]
            b1, b2, b3 = _SH[1] * ny, _SH[2] * nz, _SH[3] * nx
            b4, b5, b6 = _SH[4] * nx * ny, _SH[5] * ny * nz, _SH[6] * (3.0 * nz * nz - 1.0)
            b7, b8 = _SH[7] * nx * nz, _SH[8] * (nx * nx - ny * ny)
            for c in range(3):
                dif[i, c] += (_SH[0] * sh[0, c] + b1 * sh[1, c] + b2 * sh[2, c] + b3 * sh[3, c] + b4 * sh[4, c]
                              + b5 * sh[5, c] + b6 * sh[6, c] + b7 * sh[7, c] + b8 * sh[8, c])
    vcol = np.empty((nv, 3))
    if not use_tex:
        for i in range(nv):
            vcol[i, 0] = albedo[i, 0] * dif[i, 0] + spc[i, 0]
            vcol[i, 1] = albedo[i, 1] * dif[i, 1] + spc[i, 1]
            vcol[i, 2] = albedo[i, 2] * dif[i, 2] + spc[i, 2]
    # -- rasterise ----------------------------------------------------------------------------
    zbuf = np.full((hs, ws), np.inf)
    cbuf = np.empty((hs, ws, 3), np.float32)  # the resolve rounds colour through float32 anyway
    for t in range(nt):
        if cull and back[t]:
            continue
        i0, i1, i2 = tris[t, 0], tris[t, 1], tris[t, 2]
        # pixel centres inside the bounding box (integer test first: most triangles hit none)
        x_lo = max(min(pb[i0, 0], pb[i1, 0], pb[i2, 0]), 0)
        x_hi = min(max(pb[i0, 1], pb[i1, 1], pb[i2, 1]), ws - 1)
        if x_lo > x_hi:
            continue
        y_lo = max(min(pb[i0, 2], pb[i1, 2], pb[i2, 2]), 0)
        y_hi = min(max(pb[i0, 3], pb[i1, 3], pb[i2, 3]), hs - 1)
        if y_lo > y_hi:
            continue
        u0, v0, z0, rz0 = sv[i0, 0], sv[i0, 1], sv[i0, 2], sv[i0, 3]
        u1, v1, z1, rz1 = sv[i1, 0], sv[i1, 1], sv[i1, 2], sv[i1, 3]
        u2, v2, z2, rz2 = sv[i2, 0], sv[i2, 1], sv[i2, 2], sv[i2, 3]
        area = (u1 - u0) * (v2 - v0) - (v1 - v0) * (u2 - u0)
        if area == 0.0 or (cull and area > 0.0) or min(z0, z1, z2) <= near:
            continue
        ia = 1.0 / area
        for yy in range(y_lo, y_hi + 1):
            py = yy + 0.5
            for xx in range(x_lo, x_hi + 1):
                px = xx + 0.5
                # all three, then one branch: inside/outside is unpredictable, and one mispredicted
                # branch costs more than the two edge functions it would skip (4-9% per render)
                b0 = ((u2 - u1) * (py - v1) - (v2 - v1) * (px - u1)) * ia
                b1 = ((u0 - u2) * (py - v2) - (v0 - v2) * (px - u2)) * ia
                b2 = ((u1 - u0) * (py - v0) - (v1 - v0) * (px - u0)) * ia
                if min(b0, b1, b2) < 0:
                    continue
                q0, q1, q2 = b0 * rz0, b1 * rz1, b2 * rz2
                z = 1.0 / (q0 + q1 + q2)
                if z < zbuf[yy, xx]:
                    zbuf[yy, xx] = z
                    w0, w1, w2 = q0 * z, q1 * z, q2 * z
                    if use_tex:
                        tu = w0 * uvs[i0, 0] + w1 * uvs[i1, 0] + w2 * uvs[i2, 0]
                        tv = w0 * uvs[i0, 1] + w1 * uvs[i1, 1] + w2 * uvs[i2, 1]
                        al = _sample_tex(tex, tu, tv)
                        for c in range(3):
                            cbuf[yy, xx, c] = al[c] * (w0 * dif[i0, c] + w1 * dif[i1, c] + w2 * dif[i2, c]) + (
                                w0 * spc[i0, c] + w1 * spc[i1, c] + w2 * spc[i2, c])
                    else:
                        for c in range(3):
                            cbuf[yy, xx, c] = w0 * vcol[i0, c] + w1 * vcol[i1, c] + w2 * vcol[i2, c]
    _resolve(cbuf, zbuf, k, bg, lut, img, mask, depth)


@njit(cache=True)
def _resolve(cbuf, zbuf, k, bg, lut, img, mask, depth):
    """Compiled twin of ``reference.resolve_reference`` (colour rounded through float32 like it);
    ``bg`` is an (H, W, 3) image or a (3,) colour, in the light it is composited in (linear for
    sRGB output); ``lut``: ``SRGB_LUT`` for sRGB output or empty for linear (``_encode``)."""
    h, w = img.shape[0], img.shape[1]
    kk = k * k
    if k == 1:  # the same arithmetic, one sample per pixel; a flat background's bytes computed once
        flat = np.empty(3, np.uint8)
        for c in range(3):
            flat[c] = _encode(_bg(bg, 0, 0, c), lut)
        for i in range(h):
            for j in range(w):
                z = zbuf[i, j]
                depth[i, j] = np.float32(z)
                if z < np.inf:
                    mask[i, j] = True
                    img[i, j, 0] = _encode(np.float64(np.float32(cbuf[i, j, 0])), lut)
                    img[i, j, 1] = _encode(np.float64(np.float32(cbuf[i, j, 1])), lut)
                    img[i, j, 2] = _encode(np.float64(np.float32(cbuf[i, j, 2])), lut)
                else:
                    mask[i, j] = False
                    img[i, j, 0] = _bg_byte(bg, flat, lut, i, j, 0)
                    img[i, j, 1] = _bg_byte(bg, flat, lut, i, j, 1)
                    img[i, j, 2] = _bg_byte(bg, flat, lut, i, j, 2)
        return
    for i in range(h):
        for j in range(w):
            cnt = 0
            zs = 0.0
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            for a in range(k):
                for b in range(k):
                    z = zbuf[i * k + a, j * k + b]
                    if z < np.inf:
                        cnt += 1
                        zs += np.float64(np.float32(z))
                        a0 += np.float64(np.float32(cbuf[i * k + a, j * k + b, 0]))
                        a1 += np.float64(np.float32(cbuf[i * k + a, j * k + b, 1]))
                        a2 += np.float64(np.float32(cbuf[i * k + a, j * k + b, 2]))
            rest = kk - cnt
            img[i, j, 0] = _encode((a0 + rest * _bg(bg, i, j, 0)) / kk, lut)
            img[i, j, 1] = _encode((a1 + rest * _bg(bg, i, j, 1)) / kk, lut)
            img[i, j, 2] = _encode((a2 + rest * _bg(bg, i, j, 2)) / kk, lut)
            mask[i, j] = 2 * cnt >= kk
            depth[i, j] = np.float32(zs / cnt) if 2 * cnt >= kk else np.float32(np.inf)


@njit(cache=True, parallel=True)
def _render_many(verts, mesh_of, tris, albedo, albedo_of, rots, centers, intr, near, ldirs, lrads, amb, sh,
                 use_sh, spec, shin, cull, k, bg, bg_of, lut, img, mask, depth):
    """Batch twin of ``_render_one``, one image per thread: image b shows mesh ``verts[mesh_of[b]]``
    with albedo ``albedo[albedo_of[b]]`` over ``bg[bg_of[b]]``, seen by camera ``rots[b]``,
    ``centers[b]``, ``intr[b] = (f, cx, cy, d)``, ``near[b]``, lit by ``ldirs[b]``, ``lrads[b]``,
    ``amb[b]``, ``sh[b]``, ``spec[b]``, ``shin[b]``; all encoded through ``lut``."""
    dummy_uv = np.zeros((1, 2))
    dummy_tex = np.zeros((1, 1, 3), dtype=np.float32)
    for b in prange(img.shape[0]):
        _render_one(verts[mesh_of[b]], tris, albedo[albedo_of[b]], dummy_uv, dummy_tex, False, rots[b], centers[b],
                    intr[b, 0], intr[b, 1], intr[b, 2], intr[b, 3], near[b], ldirs[b], lrads[b], amb[b], sh[b],
                    use_sh[b], spec[b], shin[b], cull, k, bg[bg_of[b]], lut, img[b], mask[b], depth[b])


@njit(cache=True)
def vertex_normals_fast(verts, tris):
    """Compiled ``camera.vertex_normals`` (V, 3) (same sums, accumulated triangle by triangle)."""
    nv, nt = verts.shape[0], tris.shape[0]
    nrm = np.zeros((nv, 3))
    for t in range(nt):
        a, b, c = tris[t, 0], tris[t, 1], tris[t, 2]
        e1x, e1y, e1z = verts[b, 0] - verts[a, 0], verts[b, 1] - verts[a, 1], verts[b, 2] - verts[a, 2]
        e2x, e2y, e2z = verts[c, 0] - verts[a, 0], verts[c, 1] - verts[a, 1], verts[c, 2] - verts[a, 2]
        fx = e1y * e2z - e1z * e2y
        fy = e1z * e2x - e1x * e2z
        fz = e1x * e2y - e1y * e2x
        for vi in (a, b, c):
            nrm[vi, 0] += fx
            nrm[vi, 1] += fy
            nrm[vi, 2] += fz
    for i in range(nv):
        ln = math.sqrt(nrm[i, 0] * nrm[i, 0] + nrm[i, 1] * nrm[i, 1] + nrm[i, 2] * nrm[i, 2])
        if ln > 0:
            nrm[i, 0] /= ln
            nrm[i, 1] /= ln
            nrm[i, 2] /= ln
    return nrm


@njit(cache=True)
def _same_bits(a, b):
    """True when the two equally long 1-D integer arrays are equal (no early exit: vectorises)."""
    acc = 0
    for i in range(a.shape[0]):
        acc |= a[i] ^ b[i]
    return acc == 0


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bitwise equality of two C-contiguous arrays of the same dtype and shape."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    view = np.int64 if a.nbytes % 8 == 0 else np.int32 if a.nbytes % 4 == 0 else np.uint8
    return bool(_same_bits(a.reshape(-1).view(view), b.reshape(-1).view(view)))


class NormalsCache:
    """Model-space vertex normals of the last mesh seen, reused while vertices and triangles are
    unchanged (compared bit by bit, so in-place edits are noticed). Rendering one face in many
    poses and lights then computes its normals once."""

    def __init__(self) -> None:
        self._key: tuple | None = None

    def get(self, vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
        """(V, 3) unit normals of the mesh (``vertex_normals_fast``)."""
        k = self._key
        if k is not None and _same(k[0], vertices) and _same(k[1], triangles):
            return k[2]
        nrm = vertex_normals_fast(vertices, triangles)
        self._key = (vertices.copy(), triangles.copy(), nrm)
        return nrm


def resolve_buffers(colour: np.ndarray, zbuf: np.ndarray, background: np.ndarray, ssaa: int,
                    encoding: str = "srgb"):
    """Compiled ``reference.resolve_reference`` for any backend's (Hs, Ws, 3) linear colour and
    (Hs, Ws) zbuf (+inf = empty) over ``background`` ((H, W, 3) image or (3,) colour, display
    values), with output ``encoding`` ("srgb" or "linear", ``facegen.render.colour``). Returns
    (image (H, W, 3) uint8, mask (H, W) bool, depth (H, W) float32)."""
    h, w = zbuf.shape[0] // ssaa, zbuf.shape[1] // ssaa
    img = np.empty((h, w, 3), np.uint8)
    mask = np.empty((h, w), np.bool_)
    depth = np.empty((h, w), np.float32)
    _resolve(colour, zbuf, ssaa, linear_background(background, encoding), _LUTS[encoding], img, mask, depth)
    return img, mask, depth


def lighting_arrays(lighting: Lighting, n_lights: int | None = None):
    """Flatten ``lighting`` for the kernel: (ldirs (L, 3), lrads (L, 3), amb (3,), sh (9, 3), use_sh).

    ``n_lights`` pads with zero-radiance lights (for batches with differing light counts). Lightings
    without spherical harmonics are cached (a dataset uses a few hundred); callers must not modify
    the arrays.
    """
    if lighting.sh is None:  # (``sh`` takes no part in Lighting's equality, so it cannot be a key)
        try:
            return _cached_lighting_arrays(lighting, n_lights)
        except TypeError:  # unhashable members, e.g. a list as a colour
            pass
    return _lighting_arrays(lighting, n_lights)


def _lighting_arrays(lighting: Lighting, n_lights: int | None):
    n = len(lighting.lights) if n_lights is None else n_lights
    ldirs = np.zeros((n, 3))
    lrads = np.zeros((n, 3))
    for j, light in enumerate(lighting.lights):
        ldirs[j] = light_direction(light)
        lrads[j] = light.intensity * np.asarray(light.colour, dtype=np.float64)
    amb = lighting.ambient * np.asarray(lighting.ambient_colour, dtype=np.float64)
    use_sh = lighting.sh is not None
    sh = np.asarray(lighting.sh, dtype=np.float64) if use_sh else np.zeros((9, 3))
    return ldirs, lrads, amb, sh, use_sh


_cached_lighting_arrays = functools.lru_cache(maxsize=4096)(_lighting_arrays)


class NumbaBackend:
    """The default backend; see the module docstring."""

    name = "numba"

    def render(self, scene: Scene):
        """(image (H, W, 3) uint8, mask (H, W) bool, depth (H, W) float32) of one scene."""
        h, w = scene.height, scene.width
        img = np.empty((h, w, 3), np.uint8)
        mask = np.empty((h, w), np.bool_)
        depth = np.empty((h, w), np.float32)
        cam = scene.camera
        f, cx, cy, d = camera_intrinsics(cam, h, w)
        ldirs, lrads, amb, sh, use_sh = lighting_arrays(scene.lighting)
        use_tex = scene.texture is not None
        albedo = _NO_ALBEDO if use_tex else scene.albedo
        uvs = scene.uvs if use_tex else _NO_UVS
        tex = scene.texture if use_tex else _NO_TEXTURE
        _render_one(scene.vertices, scene.triangles, albedo, uvs, tex, use_tex,
                    rotation_matrix(cam.yaw, cam.pitch, cam.roll), np.asarray(cam.center, np.float64),
                    f, cx, cy, d, float(cam.near), ldirs, lrads, amb, sh, use_sh,
                    float(scene.lighting.specular), float(scene.lighting.shininess), scene.cull_backfaces,
                    scene.ssaa, linear_background(scene.background, scene.encoding), _LUTS[scene.encoding],
                    img, mask, depth)
        return img, mask, depth

    def render_many(self, scenes: list[Scene]):
        """Images of scenes sharing triangles, size, ssaa, culling, encoding and vertex albedo, on all cores.

        Scenes whose ``vertices`` (or ``albedo``) are the same array object share one copy (vertex
        normals are computed per image, from the posed vertices). Returns (images (B, H, W, 3)
        uint8, masks (B, H, W) bool, depths (B, H, W) float32), each image bit-identical to
        ``render`` of that scene alone.
        """
        s0 = scenes[0]
        b, h, w = len(scenes), s0.height, s0.width
        mesh_of, verts = _dedupe([s.vertices for s in scenes])
        albedo_of, albedo = _dedupe([s.albedo for s in scenes])
        nl = max(len(s.lighting.lights) for s in scenes)
        rots = np.stack([rotation_matrix(s.camera.yaw, s.camera.pitch, s.camera.roll) for s in scenes])
        centers = np.array([s.camera.center for s in scenes], dtype=np.float64)
        intr = np.array([camera_intrinsics(s.camera, h, w) for s in scenes], dtype=np.float64)
        near = np.array([s.camera.near for s in scenes], dtype=np.float64)
        la = [lighting_arrays(s.lighting, nl) for s in scenes]
        ldirs, lrads, amb, sh = (np.stack([x[i] for x in la]) for i in range(4))
        use_sh = np.array([x[4] for x in la], dtype=np.bool_)
        spec = np.array([s.lighting.specular for s in scenes], dtype=np.float64)
        shin = np.array([s.lighting.shininess for s in scenes], dtype=np.float64)
        bg_of, bgs = _dedupe([s.background for s in scenes])
        bgs = [linear_background(bg, s0.encoding) for bg in bgs]
        img = np.empty((b, h, w, 3), np.uint8)
        mask = np.empty((b, h, w), np.bool_)
        depth = np.empty((b, h, w), np.float32)
        _render_many(np.stack(verts), mesh_of, s0.triangles, np.stack(albedo), albedo_of, rots, centers, intr,
                     near, ldirs, lrads, amb, sh, use_sh, spec, shin, s0.cull_backfaces, s0.ssaa, np.stack(bgs), bg_of,
                     _LUTS[s0.encoding], img, mask, depth)
        return img, mask, depth


def _dedupe(arrays: list) -> tuple[np.ndarray, list]:
    """(index (B,) int64 of each array in the unique list, unique arrays by object identity)."""
    seen: dict = {}
    uniq, index = [], np.empty(len(arrays), np.int64)
    for i, a in enumerate(arrays):
        if id(a) not in seen:
            seen[id(a)] = len(uniq)
            uniq.append(a)
        index[i] = seen[id(a)]
    return index, uniq

"""The typed hand-offs of the renderer: a validated ``Scene`` in, raw ``Buffers`` between a backend
and the shared resolve step, a ``RenderOutput`` out. Units and signs: ``facegen.render.camera``."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .camera import Camera, Lighting

__all__ = ["Buffers", "RenderOutput", "Scene"]


@dataclass(frozen=True)
class Scene:
    """One validated scene (built by ``facegen.render.api``; backends trust it).

    Attributes:
        vertices: (V, 3) float64 or float32, mm, model coordinates (geometry is computed in float64
            either way; float32 is kept as it is so per-sample meshes need no conversion copy).
        triangles: (F, 3) int32, counter-clockwise seen from outside.
        albedo: (V, 3) float64 or float32 per-vertex albedo in [0, 1], or None when ``texture`` is given.
        uvs: (V, 2) float64 texture coordinates (u right, v up, [0, 1]) or None.
        texture: (Ht, Wt, 3) float32 albedo texture in [0, 1] (row 0 = top = v 1) or None.
        camera, lighting: settings (``facegen.render.camera``).
        height, width: output image size, pixels.
        background: composited behind the mesh, float64 in [0, 1]: an (H, W, 3) image, or a (3,)
            RGB colour (backends then read three numbers instead of an image per pixel). Display
            values: with ``encoding="srgb"`` backends decode them to linear light before compositing
            (``facegen.render.colour``).
        ssaa: supersampling factor k >= 1 (rasterise at k*H x k*W, box-filter down).
        cull_backfaces: drop triangles seen from behind.
        want_depth: the caller needs the depth map (for itself or for landmark visibility); a
            backend may skip reading depth back when False (its depth output is then undefined).
        encoding: the image's bytes, one of ``colour.ENCODINGS``: "srgb" (sRGB-encoded display
            values of the linear shading) or "linear" (the linear values themselves).
    """

    vertices: np.ndarray
    triangles: np.ndarray
    albedo: np.ndarray | None
    uvs: np.ndarray | None
    texture: np.ndarray | None
    camera: Camera
    lighting: Lighting
    height: int
    width: int
    background: np.ndarray
    ssaa: int = 1
    cull_backfaces: bool = True
    want_depth: bool = True
    encoding: str = "srgb"


@dataclass(frozen=True)
class Buffers:
    """A backend's raw output at supersampled resolution (Hs = ssaa*H, Ws = ssaa*W).

    Attributes:
        colour: (Hs, Ws, 3) float32 shaded colour (unclipped); undefined where ``zbuf`` is inf.
        zbuf: (Hs, Ws) float32 camera depth Z in mm of the nearest surface, +inf where empty.
    """

    colour: np.ndarray
    zbuf: np.ndarray


@dataclass(frozen=True)
class RenderOutput:
    """One rendered image and, on request, its labels.

    Attributes:
        image: (H, W, 3) uint8 RGB. The linear shaded colour c (``facegen.render.camera``), composited
            over the background (decoded to linear light) and box-filtered, then encoded: with
            ``encoding="srgb"`` (the default) sRGB display values, ``SRGB_LUT[round(4095 * clip(c, 0,
            1))]``, within one byte of ``round(255 * encode_srgb(clip(c, 0, 1)))``
            (``facegen.render.colour``), as a camera writes a JPEG; with ``encoding="linear"``
            ``round(255 * clip(c, 0, 1))`` over the background as given.
        mask: (H, W) bool, True where the mesh covers the pixel (>= half its samples), or None.
        depth: (H, W) float32 camera depth Z in mm (mean over the pixel's covered samples) where
            ``mask`` is True, +inf elsewhere, or None.
        landmarks_2d: (K, 3) float32 ``[x, y, visible]`` per requested landmark vertex: x, y in
            pixels (top-left origin, +y down; pixel centres at half-integers), visible 1.0 when
            the vertex is inside the image and its depth is at most the depth map at its pixel plus
            a tolerance (5 mm by default; a pixel the mesh does not cover hides nothing), else
            0.0; or None.
    """

    image: np.ndarray
    mask: np.ndarray | None = None
    depth: np.ndarray | None = None
    landmarks_2d: np.ndarray | None = None

"""Reference GL backend ``"pyrender"`` (OSMesa by default, or EGL), an independent rasteriser.

pyrender's lit shader is a PBR model (Fresnel, microfacet specular, sRGB encoding), not the
project's Gouraud Lambert + ambient model, so this backend shades vertices on the CPU with the
numpy reference maths (``camera.shade_vertices``) and lets pyrender rasterise them with
``RenderFlags.FLAT`` (colour = interpolated vertex colour, no lighting, no sRGB conversion). What
pyrender checks is therefore everything after shading: projection through its own
``IntrinsicsCamera``, clipping, culling, depth testing, perspective-correct interpolation, depth
read-back. On OSMesa pyrender draws into the default buffer (no alpha, no MSAA; coverage = depth
> 0); on EGL it draws with 4x MSAA into an RGBA framebuffer, so silhouette pixels blend with the
transparent clear colour and this backend un-premultiplies them. Either way the background is
composited and the image encoded (sRGB by default) here, by the shared resolve step.

Precision: pyrender reads back 8-bit linear colour, clamped to [0, 1] per sample. With sRGB output
(the default) the darks lose most: one 8-bit linear step is 13 sRGB steps near black (1.7 at a
linear 0.1, 0.7 at 0.5), so the half-step rounding error alone can reach 6 sRGB steps in the
deepest shadows (``tests/test_render_pyrender_backend.py`` states the tolerance measured).

Platform: PyOpenGL picks its platform once, at import, from ``PYOPENGL_PLATFORM``; pyrender reads
the variable again when it creates an OffscreenRenderer. This backend sets it to ``platform`` only
around those two steps and restores the environment afterwards. An already set value wins; the
default is ``"egl"`` when libEGL is installed, else ``"osmesa"`` (an OSMesa context created after
moderngl's EGL context in the same process breaks the latter; two EGL users coexist). If OpenGL was
imported earlier on a platform without offscreen contexts (GLX), the backend refuses and says why;
if it was imported on EGL or OSMesa, the backend uses that platform.

Limits: UV textures only without specular (``colour = texture * D``); vertex normals use
``numba_backend.vertex_normals_fast`` (tested equal to ``camera.vertex_normals``).
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys

import numpy as np

from .camera import camera_intrinsics, shade_vertices, transform_points
from .numba_backend import resolve_buffers, vertex_normals_fast
from .types import Scene

__all__ = ["PyrenderBackend", "default_platform", "import_pyrender"]

log = logging.getLogger(__name__)


def default_platform() -> str:
    """"egl" when a libEGL can be found, else "osmesa"."""
    import ctypes.util

    return "egl" if ctypes.util.find_library("EGL") else "osmesa"


def import_pyrender(platform: str | None = None):
    """Import pyrender on ``platform`` ("osmesa", "egl", None = ``default_platform()``) without
    leaving PYOPENGL_PLATFORM set. Returns (module, platform used)."""
    platform = platform or default_platform()
    if platform not in ("osmesa", "egl"):
        raise ValueError(f"platform: expected 'osmesa' or 'egl', received {platform!r}")
    env = os.environ.get("PYOPENGL_PLATFORM")
    if "OpenGL.platform" in sys.modules:  # PyOpenGL's platform is fixed now: use it if it can work
        current = type(sys.modules["OpenGL.platform"].PLATFORM).__name__.lower()
        for name in ("egl", "osmesa"):
            if name in current:
                platform, env = name, None
                break
        else:
            raise RuntimeError(f"PyOpenGL was already imported with platform {current}, which has no "
                               "offscreen context; import the pyrender backend before anything that "
                               "imports OpenGL, or set PYOPENGL_PLATFORM=egl (or osmesa) before starting Python")
    chosen = env or platform
    with _platform_env(chosen):
        import pyrender
    return pyrender, chosen


@contextlib.contextmanager
def _platform_env(platform: str):
    """Set PYOPENGL_PLATFORM (read by PyOpenGL's import and pyrender's OffscreenRenderer) only inside."""
    before = os.environ.get("PYOPENGL_PLATFORM")
    os.environ["PYOPENGL_PLATFORM"] = platform
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYOPENGL_PLATFORM", None)
        else:
            os.environ["PYOPENGL_PLATFORM"] = before


class PyrenderBackend:
    """See the module docstring."""

    name = "pyrender"

    def __init__(self, platform: str | None = None) -> None:
        self._pr, self.platform = import_pyrender(platform)
        self._renderers: dict = {}
        atexit.register(self.close)  # free GL contexts before PyOpenGL is torn down
        self._renderer(8, 8)  # fail here, not at the first render, if no context can be made
        log.info("pyrender backend on %s", self.platform)

    def close(self) -> None:
        """Delete the offscreen renderers (their GL contexts)."""
        for r in self._renderers.values():
            try:
                r.delete()
            except Exception:  # noqa: BLE001 - best effort at shutdown
                log.debug("pyrender renderer delete failed", exc_info=True)
        self._renderers.clear()

    def _renderer(self, hs: int, ws: int):
        if (hs, ws) not in self._renderers:
            with _platform_env(self.platform):
                self._renderers[(hs, ws)] = self._pr.OffscreenRenderer(viewport_width=ws, viewport_height=hs)
        return self._renderers[(hs, ws)]

    def render(self, scene: Scene):
        """(image (H, W, 3) uint8, mask (H, W) bool, depth (H, W) float32) of one scene."""
        pr, k = self._pr, scene.ssaa
        textured = scene.texture is not None
        if textured and scene.lighting.specular > 0:
            raise ValueError("the pyrender backend renders UV textures without specular only; received "
                             f"lighting.specular={scene.lighting.specular}; use backend='numba' or 'moderngl'")
        hs, ws = scene.height * k, scene.width * k
        cam = scene.camera
        world = transform_points(scene.vertices, cam)
        normals = vertex_normals_fast(world, scene.triangles)
        f, cx, cy, d = camera_intrinsics(cam, scene.height, scene.width)
        dif, spc = shade_vertices(world, normals, scene.lighting, d)
        colour = dif if textured else scene.albedo * dif + spc
        rgba = np.concatenate([colour, np.ones((len(colour), 1))], axis=1).astype(np.float32)
        material = pr.MetallicRoughnessMaterial(baseColorFactor=(1.0, 1.0, 1.0, 1.0),
                                                doubleSided=not scene.cull_backfaces)
        texcoord = None
        if textured:
            material.baseColorTexture = pr.Texture(source=(np.clip(scene.texture, 0, 1) * 255 + 0.5).astype(np.uint8),
                                                   source_channels="RGB")
            texcoord = scene.uvs.astype(np.float32)
        prim = pr.Primitive(positions=world.astype(np.float32), indices=scene.triangles, color_0=rgba,
                            texcoord_0=texcoord, material=material, mode=pr.constants.GLTF.TRIANGLES)
        pscene = pr.Scene(bg_color=(0.0, 0.0, 0.0, 0.0), ambient_light=(0.0, 0.0, 0.0))
        pscene.add(pr.Mesh([prim]))
        pose = np.eye(4)
        pose[2, 3] = d
        pscene.add(pr.IntrinsicsCamera(fx=f * k, fy=f * k, cx=cx * k, cy=cy * k, znear=cam.near,
                                       zfar=d + 10.0 * cam.frame_mm), pose=pose)
        flags = pr.RenderFlags.FLAT | pr.RenderFlags.RGBA
        if not scene.cull_backfaces:
            flags |= pr.RenderFlags.SKIP_CULL_FACES
        col, z = self._renderer(hs, ws).render(pscene, flags=flags)
        fg = col[..., :3].astype(np.float32) / np.float32(255.0)
        covered = z > 0  # pyrender reports 0 depth where nothing was drawn
        if col.shape[-1] == 4:  # framebuffer path (EGL): 4x MSAA, alpha = coverage
            alpha = col[..., 3].astype(np.float32) / np.float32(255.0)
            covered &= alpha >= 0.5
            fg = fg / np.maximum(alpha, np.float32(1e-6))[..., None]
        zbuf = np.where(covered, z, np.inf).astype(np.float32)
        return resolve_buffers(np.ascontiguousarray(fg), zbuf, scene.background, k, scene.encoding)

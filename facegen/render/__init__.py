"""Renderer: (mesh, albedo or UV texture, camera, lights, background) -> uint8 RGB image, plus on
request a mask, a depth map (mm) and 2-D landmarks with visibility.

Shading is linear; the image holds sRGB-encoded display values by default (``encoding="srgb"``,
as a camera writes a JPEG) or the linear values with ``encoding="linear"``; a background is a
display value either way (``facegen.render.colour``).

Backends: "numba" (default, pip-only CPU, deterministic), "numpy" (slow reference), "moderngl"
(headless EGL GL), "pyrender" (OSMesa/EGL reference). Every sign and unit is documented once in
``facegen.render.camera``.
"""
from .api import BACKENDS, available_backends, get_backend, quick_render, render, render_batch
from .camera import Camera, DirectionalLight, Lighting, project_points, rotation_matrix
from .types import RenderOutput

__all__ = [
    "BACKENDS",
    "Camera",
    "DirectionalLight",
    "Lighting",
    "RenderOutput",
    "available_backends",
    "get_backend",
    "project_points",
    "quick_render",
    "render",
    "render_batch",
    "rotation_matrix",
]

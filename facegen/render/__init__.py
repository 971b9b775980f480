"""Renderer: (mesh, albedo or UV texture, camera, lights, background) -> uint8 RGB image, plus on
request a mask, a depth map (mm) and 2-D landmarks with visibility.

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

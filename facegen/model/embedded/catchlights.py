"""Catchlights of the embedded model: the small bright reflection of a light in each cornea.

The eyes are painted on the head's surface, which is shaded diffusely, so nothing in a render makes
the highlight that brings a portrait's eyes to life. Each eye gets a small disc of white albedo
floating ``LIFT`` mm in front of the painted iris, up and to the face's right of the pupil, where a
key light above and in front of the face reflects. The disc is fixed to the eye: it does not move
with the design's light (a render-time choice the linear model cannot follow), so it stands for the
photographer's key light, not for the design's directional light. In every identity mode, factor
direction and expression it moves as the eye vertex under its centre does, with the painted iris.
"""
from __future__ import annotations

import numpy as np

from .albedo import EYE_X
from .geometry import EYE_Y

__all__ = ["build_catchlights", "RADIUS", "LIFT", "OFFSET"]

#: disc radius (mm), height above the painted iris (mm), and centre relative to the pupil's (x, y) mm
RADIUS = 0.9
LIFT = 0.3
OFFSET = (-1.6, 1.9)
_SEGMENTS = 10


def build_catchlights(surface_z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vertices (T, 3), triangles (F, 3) from 0, centres (2, 3)) of both discs on a face whose
    frontal depth is ``surface_z(x, y)`` (mm): a fan of ``_SEGMENTS`` triangles per eye, counter-
    clockwise seen from the front, each vertex ``LIFT`` mm in front of the surface under it."""
    a = 2.0 * np.pi * np.arange(_SEGMENTS) / _SEGMENTS
    verts, tris, centres = [], [], []
    for side in (-1.0, 1.0):
        cx, cy = side * EYE_X + OFFSET[0], EYE_Y + 0.8 + OFFSET[1]
        x = np.concatenate([[cx], cx + RADIUS * np.cos(a)])
        y = np.concatenate([[cy], cy + RADIUS * np.sin(a)])
        z = surface_z(x, y) + LIFT
        base = sum(len(v) for v in verts)
        verts.append(np.stack([x, y, z], -1))
        ring = np.arange(1, _SEGMENTS + 1)
        tris.append(np.stack([np.zeros(_SEGMENTS, int), ring, np.roll(ring, -1)], -1) + base)
        centres.append(verts[-1][0])
    return np.concatenate(verts), np.concatenate(tris).astype(np.int32), np.array(centres)

"""Teeth of the embedded model: two arches behind the lips, seen when the mouth opens.

The head is one surface, so the open mouth is the strip between the two grid rows of the mouth line
(the dark band of ``albedo``). When the lips part (AU25) or the jaw drops (AU26), ``expressions``
moves that strip back into the head (``MOUTH_RECESSION``), so the lips' inner edges curl in and the
strip becomes the back of the mouth. The arches sit between the strip's rest position and where it
goes, so they are hidden while the mouth is closed and show in front of the dark back when it opens.

Each arch is a curved band of vertices (an arch curving back by ``ARCH_DEPTH`` over its half-width,
crowns ``CROWN`` mm high, sloping back towards the root) with ivory enamel, darker gaps between the
teeth and a band of gum at the root; their albedo has no identity or factor variation.

How they move (``anchors``):
- identity modes and factor directions: each tooth vertex as the face vertex in front of it, so the
  arches stay behind the lips as faces vary;
- expressions: sideways and back and forth only, with one lip vertex (the nearest in x on the row
  just above the mouth line for the upper arch, just below it for the lower), so lips pressed
  together (AU23) or corners pulled back (AU12) take the teeth with them rather than pass through
  them; and the lower arch drops with the jaw (AU26) as one piece, as the lower lip's midline does.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .albedo import CH_X
from .geometry import MOUTH_Y

__all__ = ["Teeth", "build_teeth", "anchors", "MOUTH_RECESSION", "ENAMEL", "GUM", "CLEARANCE"]

#: how far (mm) the mouth line's two rows move back into the head at full AU25 and at full AU26
#: (times the lip opening's lateral profile, 0 at the mouth corners)
MOUTH_RECESSION = {"AU25": 10.0, "AU26": 6.0}
#: linear RGB of enamel and gum
ENAMEL = np.array([0.62, 0.56, 0.45])
GUM = np.array([0.42, 0.15, 0.13])
#: half-width (mm) of the visible arch, how far it curves back over that half-width, crown height
HALF_WIDTH = 0.88 * CH_X
ARCH_DEPTH = 6.0
CROWN = 9.0
#: how far (mm) behind the mean face's surface every tooth vertex stays at least
CLEARANCE = 1.2
#: how far (mm) a crown goes back per mm from its biting edge towards the root
SLOPE = 0.8
#: tooth widths (mm) from the midline outwards: incisors, lateral incisors, canines, premolars
_UPPER_WIDTHS = (8.5, 6.5, 7.5, 7.0, 7.0)
_LOWER_WIDTHS = (5.0, 5.5, 7.0, 7.0, 7.0)


@dataclass(frozen=True)
class Teeth:
    """Vertices (T, 3) mm, triangles (F, 3) indexing them from 0, albedo (T, 3), and per vertex
    whether it belongs to the lower arch (T,) bool."""

    vertices: np.ndarray
    triangles: np.ndarray
    albedo: np.ndarray
    lower: np.ndarray


def _arch(z_front: float, y_edge: float, height: float, widths, root_up: bool,
          cols: int = 49, rows: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One arch: (vertices, triangles, albedo). ``y_edge`` is the biting edge; the crown runs
    ``height`` mm up (``root_up``) or down from it."""
    t = np.linspace(-1.0, 1.0, cols)
    x = HALF_WIDTH * t
    z = z_front - ARCH_DEPTH * t ** 2
    # arc length from the midline along the arch, for the gaps between teeth
    dz = 2.0 * ARCH_DEPTH * t / HALF_WIDTH
    seg = np.sqrt(1.0 + dz ** 2) * (x[1] - x[0])
    arc = np.concatenate([[0.0], np.cumsum(0.5 * (seg[1:] + seg[:-1]))])
    arc = np.abs(arc - np.interp(0.0, x, arc))
    bounds = np.cumsum(widths)
    gap = np.exp(-0.5 * (np.min(np.abs(arc[:, None] - np.concatenate([[0.0], bounds])[None, :]), 1) / 0.5) ** 2)
    f = np.linspace(0.0, 1.0, rows)                         # 0 at the biting edge, 1 at the gum
    y = y_edge + (1.0 if root_up else -1.0) * height * f
    # each tooth's face bulges forward a little between its gaps, and slopes back towards the root
    # (as incisors do, about 40 deg), which keeps the crowns inside the lips
    bulge = 0.6 * (1.0 - gap)
    zz = (z + bulge)[None, :] - SLOPE * height * f[:, None]
    V = np.stack(np.broadcast_arrays(x[None, :], y[:, None], zz), -1).reshape(-1, 3)
    col = ENAMEL[None, None, :] * (1.0 - 0.45 * gap)[None, :, None] * (1.0 - 0.15 * (f[:, None, None] < 0.1))
    gum = np.clip((f - 0.75) / 0.2, 0.0, 1.0)[:, None, None]
    col = (col * (1.0 - gum) + GUM[None, None, :] * gum).reshape(-1, 3)
    i, j = np.meshgrid(np.arange(rows - 1), np.arange(cols - 1), indexing="ij")
    a, b = i * cols + j, i * cols + j + 1
    c, d = (i + 1) * cols + j + 1, (i + 1) * cols + j
    tri = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    # counter-clockwise seen from the front (+z): rows go up for the upper arch, down for the lower
    e1, e2 = V[tri[:, 1]] - V[tri[:, 0]], V[tri[:, 2]] - V[tri[:, 0]]
    if np.cross(e1, e2)[:, 2].mean() < 0:
        tri = tri[:, ::-1]
    return V, tri.astype(np.int32), col


def build_teeth(stomion_z: float, surface_z: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Teeth:
    """Both arches of the neutral mean face whose mouth line is at depth ``stomion_z`` (mm) on the
    midline: the upper incisors' front 1.2 mm behind it with their edge 1 mm below the mouth line,
    the lower ones 1.2 mm further back and overlapping them by 2 mm (a normal overbite). No vertex
    comes nearer than ``CLEARANCE`` behind the face, ``surface_z(x, y)`` (the mean face's depth
    seen from the front), so the arches stay inside the head where the lips curve back to the
    corners of the mouth."""
    vu, tu, cu = _arch(stomion_z - 1.2, MOUTH_Y - 1.0, CROWN, _UPPER_WIDTHS, root_up=True)
    vl, tl, cl = _arch(stomion_z - 2.4, MOUTH_Y + 1.0, CROWN, _LOWER_WIDTHS, root_up=False)
    v = np.concatenate([vu, vl])
    v[:, 2] = np.minimum(v[:, 2], surface_z(v[:, 0], v[:, 1]) - CLEARANCE)
    return Teeth(vertices=v, triangles=np.concatenate([tu, tl + len(vu)]), albedo=np.concatenate([cu, cl]),
                 lower=np.concatenate([np.zeros(len(vu), bool), np.ones(len(vl), bool)]))


def anchors(teeth: Teeth, grid_xy: np.ndarray, facing: np.ndarray, upper_row: np.ndarray,
            lower_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Grid vertices (indices into ``grid_xy`` (V, 2), the mean face's frontal positions) each tooth
    vertex moves with: (T,) the ``facing`` vertex in front of it (nearest in x, y), for identity and
    factors; (T,) the vertex of the lip row above the mouth line (``upper_row``) for the upper arch,
    below it (``lower_row``) for the lower, nearest in x, for expressions."""
    from scipy.spatial import cKDTree

    idx = np.nonzero(facing)[0]
    front = idx[cKDTree(grid_xy[idx]).query(teeth.vertices[:, :2])[1]]
    lips = np.empty(len(teeth.vertices), np.int64)
    for rows, sel in ((upper_row, ~teeth.lower), (lower_row, teeth.lower)):
        d = np.abs(teeth.vertices[sel, 0][:, None] - grid_xy[rows, 0][None, :])
        lips[sel] = rows[np.argmin(d, axis=1)]
    return front, lips

"""Parts of the embedded model that ride on the head's surface: teeth (``teeth``) and catchlights
(``catchlights``), appended after the grid's vertices (the grid's own code needs rows x cols of them).

Each part's vertex moves in identity modes and factor directions as one grid vertex (its anchor:
the face vertex in front of, or under, it) and in the expressions as the part's module says.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import LinearNDInterpolator
from scipy.spatial import cKDTree

from . import catchlights as _catch
from . import teeth as _teeth
from .expressions import AU_NAMES
from .geometry import Grid

__all__ = ["Part", "build_parts"]


@dataclass(frozen=True)
class Part:
    """``vertices`` (T, 3) mm on the mean face, ``triangles`` (F, 3) from 0, ``albedo`` (T, 3),
    ``anchor`` (T,) the grid vertex each one moves with in identity and factor fields, and
    ``expressions`` (Ke, T, 3) its displacement per action unit."""

    name: str
    vertices: np.ndarray
    triangles: np.ndarray
    albedo: np.ndarray
    anchor: np.ndarray
    expressions: np.ndarray


def build_parts(g: Grid, mean_shape: np.ndarray, upper_row: int, au: np.ndarray) -> list[Part]:
    """The teeth and the catchlights of the mean face ``mean_shape`` (grid vertices, (V, 3) mm), whose
    mouth line's upper row is ``upper_row``, with the action units ``au`` (Ke, V, 3) of the grid."""
    j0 = int(np.argmin(np.abs(g.theta)))
    rows = np.arange(mean_shape.shape[0]) // g.cols
    facing = (g.front > 0.5) & (mean_shape[:, 2] > 0.0)
    depth = LinearNDInterpolator(mean_shape[facing, :2], mean_shape[facing, 2])
    surface = lambda x, y: depth(x, y)  # noqa: E731

    teeth = _teeth.build_teeth(float(mean_shape[upper_row * g.cols + j0, 2]), surface)
    front, lips = _teeth.anchors(teeth, mean_shape[:, :2], facing, np.nonzero(facing & (rows == upper_row + 1))[0],
                                 np.nonzero(facing & (rows == upper_row - 2))[0])
    teeth_au = au[:, lips] * np.array([1.0, 0.0, 1.0])    # sideways and back with the lips
    k26 = AU_NAMES.index("AU26")
    teeth_au[k26, teeth.lower] = au[k26, (upper_row - 2) * g.cols + j0]   # and the lower arch drops with the jaw

    cl_verts, cl_tris, cl_centres = _catch.build_catchlights(surface)
    idx = np.nonzero(facing)[0]
    under = idx[cKDTree(mean_shape[idx, :2]).query(cl_centres[:, :2])[1]]
    cl_anchor = np.repeat(under, len(cl_verts) // 2)       # each disc moves as the eye vertex under it
    return [Part("teeth", teeth.vertices, teeth.triangles, teeth.albedo, front, teeth_au),
            Part("catchlights", cl_verts, cl_tris, np.ones_like(cl_verts), cl_anchor, au[:, cl_anchor])]

"""Mean head surface of the embedded model: a regular (row, column) grid wrapped around the vertical axis.

The surface is built in two steps, both pure functions of constants in this module:

1. A *profile* (``_PROFILE``): per row, the height ``y``, the forward extent of the face ``zf``,
   the backward extent of the skull ``zb``, the half-width ``a``, the depth ``zo`` at which the
   cross-section is widest, and the exponent ``nf`` of the frontal superellipse (low = V-shaped
   chin, high = flat cheeks). Row ``i``'s cross-section is the closed curve

       x = a * sgn(sin t) |sin t|^(2/n),   z = zo + (zf - zo) |cos t|^(2/n)   (front, cos t > 0)
                                           z = zo + (zb - zo) |cos t|^(2/n)   (back)

   over azimuth ``t`` in [-pi, pi) (t = 0 faces the viewer, t > 0 towards the face's left, +x).
2. Anatomical *features* (brow ridge, eye sockets, nose, lips, chin, cheekbones, ears ...) added as
   smooth Gaussian displacements, positioned in millimetres on the frontal plane (x, y).

Columns are denser at the front (about 1.2 mm apart across the face, 8 mm at the back of the head)
and rows are denser through the face, with an extra-fine band at the mouth line so that the lip
parting of AU25/AU26 stretches only the dark band painted there (see ``albedo.py``).

Units: millimetres. Axes (``facegen.model.types``): +x face's left, +y up, +z towards the viewer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

__all__ = ["Grid", "build_grid", "gauss2", "frontal_features", "MOUTH_Y", "EYE_Y", "N_COLS"]

N_COLS = 104
# Rows and columns are ~1.4x coarser than the first design (20k vertices): ~10k vertices keep the
# features and halve rendering time (scripts/bench_render.py).
_ROW_COARSEN = 1.4
#: Height (mm) of the mouth line (stomion) and of the eye fissure centre line.
MOUTH_Y = -39.0
EYE_Y = 24.0

# Profile keyframes from the neck (bottom) over the chin and face to the crown (top):
#        y      zf     zb     a     zo    nf
_PROFILE = np.array([
    [-150.0, 40.0, -56.0, 49.0, -12.0, 2.0],
    [-115.0, 43.0, -58.0, 49.0, -12.0, 2.0],
    [-103.0, 54.0, -64.0, 51.0, -10.0, 2.0],    # throat, under the jaw
    [-96.0, 66.0, -70.0, 52.0, -8.0, 2.0],      # under the chin
    [-89.0, 79.0, -76.0, 53.0, -6.0, 2.0],      # gnathion level
    [-78.0, 88.0, -82.0, 54.0, -5.0, 2.0],
    [-55.0, 93.0, -88.0, 57.0, -4.0, 2.0],      # gonion level
    [-39.0, 95.0, -92.0, 61.0, -3.0, 2.0],      # mouth line
    [-20.0, 96.0, -95.0, 67.0, -2.0, 2.05],     # subnasale
    [10.0, 94.0, -99.0, 72.0, 0.0, 2.15],       # zygion level
    [33.0, 96.0, -101.0, 73.0, 0.0, 2.2],       # nasion
    [55.0, 95.0, -101.0, 74.0, 0.0, 2.3],       # forehead (eurion level)
    [78.0, 89.0, -96.0, 70.0, 0.0, 2.2],        # hairline
    [96.0, 75.0, -80.0, 58.0, -2.0, 2.2],
    [110.0, 52.0, -56.0, 40.0, -4.0, 2.0],
    [117.0, 28.0, -30.0, 22.0, -5.0, 2.0],
    [120.5, 0.0, 0.0, 0.0, -6.0, 2.0],          # crown (pole)
])


@dataclass(frozen=True)
class Grid:
    """The structured surface.

    Attributes:
        rows, cols: grid size; vertex (i, j) has index ``i * cols + j``.
        theta: (cols,) azimuth of each column, radians, 0 = facing the viewer, + towards +x.
        s: (rows,) arc-length parameter of each row along the profile, mm.
        base: (V, 3) profile surface before features, mm.
        vertices: (V, 3) mean surface with features, mm.
        front: (V,) weight in [0, 1]: 1 on the face front, 0 from the side of the head backwards.
        triangles: (F, 3) int32, counter-clockwise seen from outside.
        uvs: (V, 2) cylindrical projection: u = azimuth, v = row parameter, both in [0, 1].
        surf: (V, 2) surface coordinates (mm) for smooth random fields: azimuth x 80 mm, row arc length.
    """

    rows: int
    cols: int
    theta: np.ndarray
    s: np.ndarray
    base: np.ndarray
    vertices: np.ndarray
    front: np.ndarray
    triangles: np.ndarray
    uvs: np.ndarray
    surf: np.ndarray


def gauss2(x, y, cx, cy, sx, sy):
    """Unnormalised 2-D Gaussian exp(-((x-cx)/sx)^2/2 - ((y-cy)/sy)^2/2)."""
    return np.exp(-0.5 * ((x - cx) / sx) ** 2 - 0.5 * ((y - cy) / sy) ** 2)


def _profile_arclength() -> np.ndarray:
    d = np.hypot(np.diff(_PROFILE[:, 0]), np.diff(_PROFILE[:, 1]))
    return np.concatenate([[0.0], np.cumsum(d)])


#: extra row density (mm less spacing, before ``_ROW_COARSEN``) through the eye fissure and the upper
#: lid, so that the painted iris, pupil, lids and lid crease get rows about 1.2-1.6 mm apart
EYE_ROWS = 0.9


def _row_params() -> np.ndarray:
    """Row positions along the profile arc: denser through the face, extra-fine at the mouth line."""
    s_key = _profile_arclength()
    y_of_s = PchipInterpolator(s_key, _PROFILE[:, 0])
    s_dense = np.linspace(0.0, s_key[-1], 20001)
    y = y_of_s(s_dense)
    # spacing (mm) as a function of height: 1.6 mm on the face, 5 mm on neck and crown
    face = np.exp(-0.5 * ((y + 20.0) / 55.0) ** 4)
    spacing = 5.0 - 3.4 * face
    spacing = spacing - 1.15 * np.exp(-0.5 * ((y - MOUTH_Y) / 4.0) ** 2)   # fine near the mouth line
    spacing = spacing - 0.5 * np.exp(-0.5 * ((y - EYE_Y - 5.0) / 11.0) ** 2)   # eyes and brows
    spacing = spacing - EYE_ROWS * np.exp(-0.5 * ((y - EYE_Y - 3.0) / 8.0) ** 2)   # the eye fissure and lid
    under_chin = (y < -85.0) & (s_dense < s_key[5])
    spacing = np.where(under_chin, np.minimum(spacing, 2.5), spacing)
    spacing = spacing * _ROW_COARSEN
    n = np.concatenate([[0.0], np.cumsum(np.diff(s_dense) / spacing[1:])])
    rows = int(np.floor(n[-1])) + 1
    return np.interp(np.linspace(0.0, n[-1], rows), n, s_dense)


def _col_params() -> np.ndarray:
    u = -1.0 + 2.0 * np.arange(N_COLS) / N_COLS
    k = 2.2
    return np.pi * (u + k * u ** 3) / (1.0 + k)


def _superellipse(s: np.ndarray, theta: np.ndarray) -> np.ndarray:
    s_key = _profile_arclength()
    p = PchipInterpolator(s_key, _PROFILE, axis=0)(s)              # rows x 6
    y = p[:, 0]
    zf, zb, a, zo, nf = (p[:, k][:, None] for k in range(1, 6))
    st, ct = np.sin(theta)[None, :], np.cos(theta)[None, :]
    nb = 2.0
    # blend exponents smoothly across the side so the surface has no crease at cos t = 0
    wgt = np.clip(ct / 0.35, 0.0, 1.0)
    n = nb + (nf - nb) * wgt * (ct > 0)
    x = a * np.sign(st) * np.abs(st) ** (2.0 / n)
    zext = np.where(ct > 0, zf, zb)
    z = zo + (zext - zo) * np.abs(ct) ** (2.0 / n)
    yy = np.broadcast_to(y[:, None], x.shape)
    return np.stack([x, yy, z], axis=-1)


def _smooth01(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _triangles(rows: int, cols: int) -> np.ndarray:
    i, j = np.meshgrid(np.arange(rows - 1), np.arange(cols), indexing="ij")
    j1 = (j + 1) % cols
    a = i * cols + j
    b = i * cols + j1
    c = (i + 1) * cols + j1
    d = (i + 1) * cols + j
    # Rows go up (+y), columns go towards +x at the front: (a, b, c) is counter-clockwise from outside.
    t1 = np.stack([a, b, c], -1).reshape(-1, 3)
    t2 = np.stack([a, c, d], -1).reshape(-1, 3)
    tri = np.concatenate([t1, t2]).astype(np.int32)
    # drop triangles collapsed at the crown pole (all of the last row is one point)
    top = (rows - 1) * cols
    collapsed = (tri >= top).sum(1) >= 2
    return tri[~collapsed]


def frontal_features(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Forward (+z) displacement (mm) of the facial features at frontal-plane positions (x, y)."""
    ax = np.abs(x)
    dz = np.zeros_like(x)
    # forehead, brow ridge and glabella
    dz += 4.0 * gauss2(ax, y, 28.0, 40.0, 16.0, 5.0) + 3.0 * gauss2(x, y, 0.0, 40.0, 10.0, 7.0)
    dz -= 3.0 * gauss2(ax, y, 60.0, 40.0, 9.0, 14.0)                       # temples
    # eye sockets and the convex eyeball / lids inside them
    dz -= 13.0 * gauss2(ax, y, 31.0, EYE_Y + 1.0, 13.0, 8.0)
    dz += 7.0 * gauss2(ax, y, 31.0, EYE_Y, 9.0, 5.0)
    dz -= 1.2 * gauss2(ax, y, 31.0, EYE_Y + 7.5, 10.0, 1.2)                # upper lid crease
    dz -= 2.0 * gauss2(ax, y, 31.0, EYE_Y - 9.0, 11.0, 3.0)                # lower lid crease
    # nose: dorsum from the nasion (y 33) to the tip (y -8), tip bulb, alae, columella
    t = np.clip((33.0 - y) / 41.0, 0.0, 1.0)
    w = 5.5 + 4.5 * t
    dorsum = 24.0 * t ** 1.2 * np.exp(-0.5 * (x / w) ** 2) * (1.0 / (1.0 + np.exp((-7.0 - y) / 1.6)))
    dz += dorsum
    dz -= 2.0 * gauss2(x, y, 0.0, 31.0, 9.0, 3.0)                           # nasal root
    dz += 7.0 * gauss2(x, y, 0.0, -7.0, 8.0, 5.5)                           # tip bulb
    dz += 4.0 * gauss2(x, y, 0.0, -15.0, 4.0, 3.0)                          # columella
    dz += 6.5 * gauss2(ax, y, 13.0, -13.0, 5.5, 4.5)                        # alae
    dz -= 2.0 * gauss2(ax, y, 19.0, -16.0, 2.0, 3.0)                        # alar groove
    # cheekbones, nasolabial folds
    dz += 6.0 * gauss2(ax, y, 44.0, 6.0, 15.0, 11.0)
    dz -= 3.0 * gauss2(ax, y, 46.0, -22.0, 10.0, 10.0)                     # below the cheekbone
    u = (ax - 20.0) - 0.35 * (-14.0 - y)      # distance-like coordinate across the nasolabial line
    dz -= 1.8 * np.exp(-0.5 * (u / 3.0) ** 2) * gauss2(0, y, 0.0, -30.0, 1.0, 14.0)
    # lips: upper and lower vermilion, philtrum, mouth line, chin
    dz += 3.0 * gauss2(x, y, 0.0, -38.0, 30.0, 15.0)
    dz += 4.0 * gauss2(x, y, 0.0, MOUTH_Y + 5.5, 20.0, 4.0)
    dz += 4.5 * gauss2(x, y, 0.0, MOUTH_Y - 6.0, 18.0, 4.5)
    dz -= 1.2 * gauss2(x, y, 0.0, -27.0, 3.0, 5.0)                          # philtrum groove
    dz -= 1.5 * np.exp(-0.5 * (x / 22.0) ** 6 - 0.5 * ((y - MOUTH_Y) / 1.0) ** 2)   # mouth line
    dz -= 3.0 * gauss2(x, y, 0.0, -56.0, 16.0, 3.5)                         # labiomental fold
    dz += 6.0 * gauss2(x, y, 0.0, -72.0, 16.0, 9.0)                         # chin
    return dz


def _ears(theta: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Outward radial displacement (mm) of two simple ears centred at azimuth +-95 deg, y = +8 mm."""
    d = np.zeros_like(y)
    for side in (-1.0, 1.0):
        dt = (theta - side * np.radians(97.0)) * 75.0
        r = np.sqrt((dt / 14.0) ** 2 + ((y - 8.0) / 30.0) ** 2)
        rim = np.exp(-0.5 * ((r - 0.85) / 0.12) ** 2)
        d += 10.0 * np.exp(-0.5 * (r / 0.75) ** 6) + 6.0 * rim * (r < 1.3)
    return d


def build_grid() -> Grid:
    s = _row_params()
    theta = _col_params()
    rows, cols = s.size, theta.size
    base = _superellipse(s, theta)                                  # rows, cols, 3
    ct = np.cos(theta)[None, :] * np.ones((rows, 1))
    front = np.clip((ct - 0.25) / 0.45, 0.0, 1.0)
    front = front * front * (3 - 2 * front)
    # narrow the lower face towards the chin (a V-shaped jaw in front view)
    yb = base[..., 1]
    taper = 0.30 * _smooth01((-42.0 - yb) / 45.0) * _smooth01((yb + 112.0) / 12.0)
    base[..., 0] *= 1.0 - taper * front
    x, y = base[..., 0], base[..., 1]
    dz = frontal_features(x, y) * front
    v = base.copy()
    v[..., 2] += dz
    # ears push outward along the horizontal normal of the cross-section
    e = _ears(np.broadcast_to(theta[None, :], x.shape), y)
    v[..., 0] += e * np.sin(theta)[None, :]
    v[..., 2] += e * np.cos(theta)[None, :] * 0.3
    tri = _triangles(rows, cols)
    uv = np.stack(np.meshgrid((theta + np.pi) / (2 * np.pi), (s - s[0]) / (s[-1] - s[0]), indexing="xy"), -1)
    surf = np.stack(np.meshgrid(theta * 80.0, s, indexing="xy"), -1)
    return Grid(rows=rows, cols=cols, theta=theta, s=s, base=base.reshape(-1, 3), vertices=v.reshape(-1, 3),
                front=front.ravel(), triangles=tri, uvs=uv.reshape(-1, 2), surf=surf.reshape(-1, 2))

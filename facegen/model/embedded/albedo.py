"""Mean albedo of the embedded model: skin with regional variation, painted brows, eyes, lips, nostrils.

Everything is painted as a function of a vertex's position on the frontal plane (x, y) in mm of the
mean neutral surface, weighted by how much the vertex faces forward, so paint stays on the features
when identity and expression modes later move the vertices. Colours are linear RGB in [0, 1].

Layout constants (mm) come from ``geometry``; the mouth line carries a thin dark band (rows within
``MOUTH_BAND`` mm of the stomion) that AU25/AU26 stretch into an open mouth.
"""
from __future__ import annotations

import numpy as np

from .geometry import EYE_Y, MOUTH_Y, gauss2

__all__ = ["SKIN", "HAIR", "BEARD", "CREASE", "hair_mask", "hair_fields", "temples", "underside", "cavity", "mean_albedo",
           "paint_masks", "brow_line", "lip_heights", "MOUTH_BAND", "EYE_X", "EYE_HALF", "CH_X"]

#: Mean skin colour (linear RGB), the average of the four ethnicity levels in ``factors``.
SKIN = np.array([0.3975, 0.24375, 0.16875])
#: Darkening of the deepest creases (baked ambient occlusion) and of surfaces facing down.
OCCLUSION = 0.3
UNDERSIDE = 0.45
#: Darkening of the beard area of men (relative), the male-female difference of ``factors``.
BEARD = 0.25
#: Albedo factor (linear RGB) of the painted upper-lid crease.
CREASE = np.array([0.82, 0.78, 0.78])
#: Mean scalp-hair colour (linear RGB): dark brown.
HAIR = np.array([0.045, 0.032, 0.022])
#: Hairline height (mm) against |azimuth| (rad): the frontal hairline (trichion about 55 mm above the
#: brows), the temples, in front of and over the ears, the nape.
_HAIRLINE = (np.array([0.0, 0.3, 0.6, 0.85, 1.15, 1.45, 1.75, 2.1, np.pi]),
             np.array([90.0, 88.0, 80.0, 66.0, 48.0, 42.0, 38.0, -45.0, -62.0]))
#: Softness (mm) of the hairline.
HAIR_EDGE = 3.0
#: Half-height (mm) of the dark band at the mouth line; horizontal centre (mm) and half-width of each eye.
MOUTH_BAND = 0.55
EYE_X = 31.0
EYE_HALF = 15.0
#: Half mouth width (mm) at the cheilion.
CH_X = 25.9


def _smooth(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _eye_lids(ax: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper and lower lid heights (mm) of the palpebral fissure at |x| = ax, and the inside weight u."""
    u = (ax - EYE_X) / EYE_HALF                       # -1 at the inner canthus, +1 at the outer
    w = np.clip(1.0 - u ** 2, 0.0, None)
    up = EYE_Y + 0.6 + 6.0 * w ** 0.6 - 0.8 * u
    lo = EYE_Y + 0.6 - 4.0 * w ** 0.7 - 0.8 * u
    return up, lo, u


def brow_line(ax: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Brow centre height (mm), half-thickness (mm) and position bu (-1 inner end .. +1 tail) at |x| = ax."""
    bu = (ax - 31.0) / 21.0
    return EYE_Y + 13.5 + 3.0 * (1.0 - bu ** 2) - 1.0 * bu, 3.4 - 1.6 * np.clip((bu + 1.0) / 2.0, 0.0, 1.0), bu


def lip_heights(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower vermilion heights (mm) above / below the mouth line at x (Cupid's bow at x = 0)."""
    lw = np.clip(1.0 - np.clip(np.abs(x) / CH_X, 0.0, 1.5) ** 2, 0.0, None)
    upper_h = (8.5 * lw ** 0.5) * (1.0 - 0.12 * np.exp(-0.5 * (x / 2.5) ** 2))
    return upper_h, 10.0 * lw ** 0.5


def paint_masks(x: np.ndarray, y: np.ndarray, front: np.ndarray) -> dict[str, np.ndarray]:
    """Soft masks in [0, 1] (V,) of the painted regions at frontal-plane positions (x, y) mm."""
    ax = np.abs(x)
    up, lo, u = _eye_lids(ax)
    inside_x = np.abs(u) < 1.0
    eye = _smooth((up - y) / 1.0) * _smooth((y - lo) / 1.0) * inside_x * front
    iris_r = np.hypot(ax - EYE_X, y - (EYE_Y + 0.8))
    iris = eye * _smooth((5.9 - iris_r) / 0.5)
    pupil = eye * _smooth((2.4 - iris_r) / 0.4)
    lash = (np.exp(-0.5 * ((y - up) / 0.55) ** 2) * 1.0 + np.exp(-0.5 * ((y - lo) / 0.4) ** 2) * 0.45)
    lash = lash * _smooth((1.08 - np.abs(u)) / 0.12) * front
    # brows: an arc from the inner end (|x| 13) to the tail (|x| 52)
    brow_y, brow_th, bu = brow_line(ax)
    brow = _smooth((brow_th + 0.8 - np.abs(y - brow_y)) / 2.4) * _smooth((1.05 - np.abs(bu)) / 0.3) * front
    # lips: vermilion with a Cupid's bow; the cheilion sits at |x| = CH_X on the mouth line
    upper_h, lower_h = lip_heights(x)
    lips = (_smooth((MOUTH_Y + upper_h - y) / 1.4) * _smooth((y - (MOUTH_Y - lower_h)) / 1.4)
            * (ax < CH_X * 1.02) * front)
    band = (_smooth((MOUTH_BAND + 0.25 - np.abs(y - MOUTH_Y)) / 0.25)
            * _smooth((CH_X - ax) / 2.0) * front)
    nostril = sum(gauss2(x, y, sx, -17.0, 2.4, 1.2) for sx in (-6.5, 6.5)) * front
    cheek = gauss2(ax, y, 40.0, -2.0, 14.0, 12.0) * front
    # the upper-lid crease (supratarsal fold) about 4 mm above the lash line, following the lid
    crease = np.exp(-0.5 * ((y - (up + 3.5 * np.clip(1.0 - u ** 2, 0.0, None) ** 0.5 + 0.5)) / 1.2) ** 2)
    crease = crease * _smooth((1.0 - np.abs(u)) / 0.35) * (1.0 - eye) * front
    socket = (gauss2(ax, y, EYE_X - 2.0, EYE_Y + 1.0, 13.0, 8.0) * (1.0 - eye)
              + 0.6 * gauss2(ax, y, EYE_X, EYE_Y + 8.0, 11.0, 1.5)) * front
    beard = (_smooth((MOUTH_Y + 24.0 - y) / 16.0) * _smooth((y + 95.0) / 6.0) * _smooth((60.0 - ax) / 16.0)
             * (1.0 - lips) * front)
    return {"socket": np.clip(socket, 0.0, 1.0), "crease": crease, "eye": eye, "iris": iris, "pupil": pupil, "lash": lash,
            "brow": brow, "lips": lips,
            "band": band, "nostril": nostril, "cheek": cheek, "beard": beard}


def hair_mask(theta: np.ndarray, y: np.ndarray, raise_mm: float | np.ndarray = 0.0) -> np.ndarray:
    """Scalp-hair coverage (V,) in [0, 1] at azimuth ``theta`` (rad) and height ``y`` (mm): 1 above the
    hairline ``_HAIRLINE`` (raised by ``raise_mm``), 0 below, over a ``HAIR_EDGE`` mm soft edge."""
    line = np.interp(np.abs(theta), *_HAIRLINE) + raise_mm
    return _smooth((y - line) / (2.0 * HAIR_EDGE) + 0.5)


def temples(theta: np.ndarray) -> np.ndarray:
    """Weight (V,) in [0, 1] of the temples, where the frontal hairline recedes, at azimuth ``theta``."""
    return np.exp(-0.5 * ((np.abs(theta) - 0.8) / 0.25) ** 2)


def hair_fields(theta: np.ndarray, y: np.ndarray, skin_alb: np.ndarray) -> list[np.ndarray]:
    """Identity albedo fields (V, 3), one s.d. each, of the scalp hair: hairline height (+-5 mm),
    temple recession, hair lightness and hair redness. ``skin_alb`` (V, 3) is
    the albedo without hair, so a moved hairline trades skin for hair colour (the model is linear)."""
    cover = hair_mask(theta, y)
    diff = HAIR[None, :] - skin_alb

    def moved(dy):
        return 0.5 * (hair_mask(theta, y, -dy) - hair_mask(theta, y, dy))[:, None] * diff

    # amplitudes keep +-3 s.d. inside [0, 1] (a linear model cannot make blond hair from black)
    return [0.2 * moved(4.0), 0.2 * moved(6.0 * temples(theta)),
            cover[:, None] * HAIR * np.array([0.25, 0.24, 0.2]),       # lightness
            cover[:, None] * HAIR * np.array([0.12, 0.02, -0.06])]    # redness


def cavity(vertices: np.ndarray, rows: int, cols: int, sigma: float = 3.0) -> np.ndarray:
    """Concavity (V,) mm of a grid surface: how far the surface lies below its smoothed self.

    The smoothed surface is a Gaussian filter (``sigma`` grid steps, wrapped around the head) of the
    vertex positions; concavity = max(0, (smoothed - v) . n) with n the grid normal. Used as baked
    ambient occlusion (eye sockets, nostrils, folds, mouth corners are darker), as in photographs.
    """
    from scipy import ndimage

    v = vertices.reshape(rows, cols, 3)
    sm = ndimage.gaussian_filter(v, sigma=(sigma, sigma, 0.0), mode=("nearest", "wrap", "nearest"))
    du = np.roll(v, -1, axis=1) - np.roll(v, 1, axis=1)
    dv = np.gradient(v, axis=0)
    n = np.cross(du, dv)
    n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-9)
    return np.clip(((sm - v) * n).sum(-1), 0.0, None).ravel()


def underside(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """How much each vertex faces down (V,) in [0, 1]: max(0, -n_y) of the vertex normal. Surfaces
    facing the floor (under the chin and jaw, under the nose and brows) get little of the light of a
    room or the sky, so baking it in separates the jaw from the neck as photographs do."""
    from ...render.camera import vertex_normals

    return np.clip(-vertex_normals(vertices, triangles)[:, 1], 0.0, 1.0)


def mean_albedo(vertices: np.ndarray, front: np.ndarray, occlusion: np.ndarray | None = None,
                hair: np.ndarray | None = None, down: np.ndarray | None = None) -> np.ndarray:
    """Mean albedo (V, 3) linear RGB of the neutral mean surface ``vertices`` (V, 3) mm.

    ``occlusion`` (V,) in mm of concavity (see :func:`cavity`) darkens creases and sockets, ``down``
    (V,) (see :func:`underside`) the undersides; ``hair``
    (V,) coverage in [0, 1] (see :func:`hair_mask`) paints scalp hair of colour ``HAIR``.
    """
    x, y = vertices[:, 0], vertices[:, 1]
    m = paint_masks(x, y, front)
    col = np.tile(SKIN, (x.size, 1))
    if occlusion is not None:
        col = col * (1.0 - OCCLUSION * np.clip(occlusion / 2.5, 0.0, 1.0))[:, None]
    if down is not None:
        col = col * (1.0 - UNDERSIDE * down)[:, None]

    def mix(mask, rgb):
        nonlocal col
        col = col * (1.0 - mask[:, None]) + mask[:, None] * np.asarray(rgb)

    def mul(mask, rgb):
        nonlocal col
        col = col * (1.0 + mask[:, None] * (np.asarray(rgb) - 1.0))

    mul(m["cheek"], (1.05, 0.94, 0.94))
    mul(m["socket"], (0.72, 0.66, 0.66))
    mul(m["crease"], CREASE)
    mul(m["lips"], (0.88, 0.62, 0.64))
    mul(m["brow"], (0.30, 0.27, 0.25))       # mid density: identity modes make them sparser or denser
    mix(m["eye"], (0.42, 0.38, 0.35))
    mix(m["iris"], (0.075, 0.05, 0.035))
    mix(m["pupil"], (0.01, 0.01, 0.01))
    mul(np.clip(m["lash"], 0.0, 1.0), (0.10, 0.09, 0.09))
    mix(np.clip(m["nostril"], 0.0, 1.0) * 0.7, (0.05, 0.02, 0.02))
    mix(m["band"], (0.05, 0.015, 0.015))
    if hair is not None:
        mix(hair, HAIR)
        # half a beard shadow: the gender offsets (+-half the male-female difference) then leave
        # women's lower face clear and give men the whole shadow
        mul(m["beard"] * (1.0 - hair), 1.0 - 0.5 * BEARD)
    return np.clip(col, 0.0, 1.0)

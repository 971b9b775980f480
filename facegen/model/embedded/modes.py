"""Identity modes of the embedded model: shape (feature-targeted + smooth random) and banded texture.

Shape. Each latent is a displacement field (V, 3) mm for one s.d.: 44 anatomically targeted fields
(face width and height, nose width/length/protrusion, eye spacing/height/depth, mouth width/height,
lip fullness, jaw width, chin, brow ridge, cheekbones, forehead slope, head length ...; fields
that move the painted features: brow height, slant, thickness, gap and arch, eye opening, fissure
length and canthal tilt, lip thickness and vermilion height, the mouth corners; the nose tip,
alae, tip and bridge widths, philtrum, lip protrusion, chin width, hollow cheeks, jaw angle, eye
prominence and upper-lid fold), 6 antisymmetric fields of facial asymmetry, and 30
smooth random fields at correlation lengths of 40, 25 and 15 mm (mostly left-right symmetric).
The five fields that drive the anthropometric measures (``TARGETED``) get their s.d. solved so that
each measure's identity s.d. is ``ID_SD_FRACTION`` of the published norm s.d. (see
``facegen.model.anthropometry``). ``fields.pca_modes`` then rotates the latents into orthonormal
principal modes with decreasing s.d., as GMF's identity PCA is.

Texture. Smooth random colour fields in three spatial-frequency bands (GMF uses five), band k with
correlation length ``BANDS[k]`` mm and a per-band s.d.; each field's colour direction mixes the
melanin, haemoglobin and luminance axes of skin. The finest band is skin detail (uneven
pigmentation at the scale of the mesh, about 2 mm between vertices), mostly in luminance
(``FINE_COLOUR``). With the 12 mm band it gives skin a luminance contrast of about 3%, between a
quarter and a third of the 2-8 mm contrast of a real photographed skin texture, which also carries
the shading of pores and wrinkles (``tests/test_skin_detail.py`` measures both). The fields are
additive and sized to the mean albedo, so dark skin varies by more, relatively; a stronger band
(0.05) streaked it orange and grey-blue. Feature
fields (overall tone, brow density, lip redness and darkness, iris lightness and brown-blue, cheek
flush, stubble, lash density, nostril shadow, sclera tint; and the scalp hair of
``albedo.hair_fields``) join band 0. PCA runs within each band; modes are then ordered
by s.d. and ``texture_bands`` records each mode's band.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .albedo import CH_X, EYE_HALF, EYE_X
from .fields import pca_modes, rng_for, smooth_field
from .geometry import EYE_Y, MOUTH_Y, Grid, gauss2

__all__ = ["feature_fields", "calibration_fields", "random_shape_fields", "texture_fields", "mirror_index",
           "TARGETED", "CALIBRATION", "ID_SD_FRACTION", "BANDS", "FINE_COLOUR", "ASYMMETRY",
           "linear_sensitivity"]

#: measure -> the feature field that controls it
TARGETED = {"zy-zy": "face_width", "al-al": "nose_width", "en-en": "eye_spacing", "ch-ch": "mouth_width",
            "n-gn": "face_height"}
#: measure of ``anthropometry.ALL_MEASURES`` -> the field (of ``feature_fields`` or
#: ``calibration_fields``) that the factor calibration moves it with
CALIBRATION = {**{m: f for m, f in TARGETED.items()}, "n-sn": "nose_length", "sn-sto": "mouth_height",
               "ls-sto": "upper_vermilion", "en-ex": "eye_length", "sn-prn": "nose_protrusion",
               "n-prn": "nose_tip"}
#: identity s.d. of each measure as a fraction of the published (sex-averaged) s.d.: the published
#: s.d. are within one sex and one population, which is what identity alone varies; 0.9 of the
#: sex-averaged value puts the model's within-sex s.d. at 0.78-1.03 of each published one
ID_SD_FRACTION = 0.9
#: texture bands: (correlation length mm, number of random fields, total relative s.d. of the band);
#: the 4 mm band is skin detail: 0.02 at model v3, 0.03 since v4 (0.05 lifted dlib's rank-1 more but
#: streaked dark skin; docs/judge-faces.md)
BANDS = ((40.0, 18, 0.07), (12.0, 14, 0.035), (4.0, 12, 0.03))
#: s.d. of the melanin, haemoglobin and luminance weights of the finest band's fields: mostly
#: luminance, since the fields are sized to the mean albedo and so vary dark skin by more, relatively,
#: and melanin-led fields of that size made orange and grey-blue streaks on it
FINE_COLOUR = np.array([0.3, 0.3, 1.0])
#: the same for the coarser bands: mostly melanin, as skin tone varies
COLOUR = np.array([1.0, 0.3, 0.6])
#: a displacement field's mirror image across x = 0 flips its x component
_FLIP_X = np.array([-1.0, 1.0, 1.0])


def mirror_index(g: Grid) -> np.ndarray:
    """Vertex index of each vertex's left-right mirror image (x -> -x)."""
    i, j = np.divmod(np.arange(g.rows * g.cols), g.cols)
    return (i * g.cols + (g.cols - j) % g.cols).astype(np.int64)


def _smoothstep(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def feature_fields(g: Grid, v: np.ndarray) -> dict[str, np.ndarray]:
    """Anatomically targeted displacement fields (V, 3) mm, each one plausible s.d. (before calibration)."""
    x, y = v[:, 0], v[:, 1]
    ax, sx, fr = np.abs(x), np.sign(x), g.front
    zero = np.zeros_like(x)

    def f(dx=zero, dy=zero, dz=zero):
        return np.stack([dx, dy, dz], -1)

    cal = calibration_fields(g, v)
    lower = np.where(y < 33.0, y - 33.0, 0.0) * _smoothstep((y + 140.0) / 40.0)
    brow = gauss2(ax, y, 31.0, EYE_Y + 15.0, 17.0, 6.0) * fr
    side = _smoothstep((np.cos(g.theta)[np.arange(x.size) % g.cols] + 0.6) / 0.8)
    cheek_band = np.exp(-0.5 * ((y - 5.0) / 45.0) ** 2) * side * _smoothstep((ax - 28.0) / 25.0)
    return {
        "face_width": f(dx=x * 0.03 * cheek_band),
        "face_height": f(dy=0.04 * lower),
        "nose_width": f(dx=x * 0.06 * gauss2(x, y, 0.0, -11.0, 16.0, 9.0) * fr),
        "eye_spacing": f(dx=sx * 1.0 * gauss2(ax, y, 31.0, EYE_Y, 14.0, 11.0) * fr),
        "mouth_width": f(dx=x * 0.06 * gauss2(x, y, 0.0, MOUTH_Y, 30.0, 9.0) * fr),
        "nose_length": f(dy=-1.8 * gauss2(x, y, 0.0, -9.0, 14.0, 9.0) * fr),
        "nose_protrusion": f(dz=2.0 * gauss2(x, y, 0.0, 2.0, 7.0, 14.0) * fr),
        "nose_bridge": f(dz=1.5 * gauss2(x, y, 0.0, 22.0, 6.0, 8.0) * fr),
        "eye_height": f(dy=1.2 * gauss2(ax, y, 31.0, EYE_Y + 4.0, 16.0, 12.0) * fr),
        "eye_depth": f(dz=1.6 * gauss2(ax, y, 31.0, EYE_Y + 2.0, 13.0, 9.0) * fr),
        "mouth_height": f(dy=1.8 * gauss2(x, y, 0.0, MOUTH_Y, 28.0, 12.0) * fr),
        "lip_fullness": f(dz=1.2 * gauss2(x, y, 0.0, MOUTH_Y, 20.0, 6.0) * fr),
        "jaw_width": f(dx=x * 0.05 * _smoothstep((-25.0 - y) / 30.0) * _smoothstep((y + 120.0) / 20.0)
                       * _smoothstep((ax - 15.0) / 25.0)),
        "chin": f(dz=2.5 * gauss2(x, y, 0.0, -74.0, 16.0, 11.0) * fr),
        "brow_ridge": f(dz=1.6 * gauss2(ax, y, 26.0, 39.0, 18.0, 6.0) * fr),
        "cheekbones": f(dx=sx * 1.2 * gauss2(ax, y, 50.0, 6.0, 15.0, 11.0) * fr,
                        dz=1.5 * gauss2(ax, y, 44.0, 6.0, 15.0, 11.0) * fr),
        "cheek_fullness": f(dz=2.0 * gauss2(ax, y, 42.0, -25.0, 14.0, 12.0) * fr),
        "forehead_slope": f(dz=-2.5 * _smoothstep((y - 40.0) / 60.0) * fr),
        "head_length": f(dz=-5.0 * _smoothstep(-np.cos(g.theta)[np.arange(x.size) % g.cols] / 0.8)),
        "head_width": f(dx=x * 0.03 * _smoothstep((y - 0.0) / 40.0) * (1.0 - fr)),
        # the painted features move with the vertices: brow height, slant and thickness, eye
        # opening and canthal tilt, lip thickness (the five measures' share is removed later)
        "brow_height": f(dy=2.0 * brow),
        "brow_slant": f(dy=1.8 * np.clip((ax - 31.0) / 21.0, -1.2, 1.2) * brow),
        "brow_thickness": f(dy=0.25 * (y - (EYE_Y + 15.0)) * brow),
        "eye_opening": f(dy=0.18 * (y - (EYE_Y + 0.8)) * gauss2(ax, y, EYE_X, EYE_Y, 12.0, 7.0) * fr),
        "canthal_tilt": f(dy=0.08 * (ax - EYE_X) * gauss2(ax, y, EYE_X, EYE_Y, 13.0, 6.0) * fr),
        "lip_thickness": f(dy=0.15 * (y - MOUTH_Y) * gauss2(x, y, 0.0, MOUTH_Y, 20.0, 8.0) * fr),
        # eye, brow, nose, lip and chin shapes that the measures above leave free (model v4):
        # fissure length (eye corners 0.7 mm each), the gap between the brows' inner ends, the brow's
        # arch, the nose tip's height, the upper vermilion's height, the chin's width, the mouth
        # corners up or down, and the depth of the upper-lid fold below the brow
        "fissure_length": 0.7 * cal["eye_length"],
        "brow_gap": f(dx=sx * 1.5 * gauss2(ax, y, 15.0, EYE_Y + 13.0, 6.0, 5.0) * fr),
        "brow_arch": f(dy=1.5 * gauss2(ax, y, 38.0, EYE_Y + 16.0, 6.0, 5.0) * fr),
        "nose_tip_height": cal["nose_tip"],
        "vermilion_height": 0.8 * cal["upper_vermilion"],
        "chin_width": f(dx=x * 0.08 * gauss2(x, y, 0.0, -80.0, 18.0, 10.0) * fr),
        "mouth_corners": f(dy=1.0 * gauss2(ax, y, CH_X, MOUTH_Y, 6.0, 5.0) * fr),
        "lid_fold": f(dz=-1.0 * gauss2(ax, y, EYE_X, EYE_Y + 7.0, 10.0, 3.0) * fr),
        # and the brow's length, the nose's alae, tip and bridge widths, the philtrum's depth, each
        # lip's protrusion, hollow cheeks, the jaw angle's flare and the eyes' prominence
        "brow_length": f(dx=sx * 1.5 * gauss2(ax, y, 52.0, EYE_Y + 12.0, 6.0, 5.0) * fr),
        "alar_flare": f(dx=sx * 1.0 * gauss2(ax, y, 16.0, -16.0, 4.0, 4.0) * fr),
        "nose_tip_width": f(dx=x * 0.1 * gauss2(x, y, 0.0, -10.0, 8.0, 6.0) * fr),
        "bridge_width": f(dx=x * 0.08 * gauss2(x, y, 0.0, 18.0, 8.0, 10.0) * fr),
        "philtrum_depth": f(dz=-0.8 * gauss2(x, y, 0.0, MOUTH_Y + 12.0, 3.0, 5.0) * fr),
        "upper_lip_protrusion": f(dz=1.0 * gauss2(x, y, 0.0, MOUTH_Y + 5.0, 16.0, 4.0) * fr),
        "lower_lip_protrusion": f(dz=1.0 * gauss2(x, y, 0.0, MOUTH_Y - 6.0, 16.0, 4.0) * fr),
        "cheek_hollow": f(dz=-1.5 * gauss2(ax, y, 45.0, -20.0, 10.0, 10.0) * fr),
        "jaw_angle": f(dx=sx * 2.0 * gauss2(ax, y, 55.0, -60.0, 12.0, 12.0)),
        "eye_prominence": f(dz=1.0 * gauss2(ax, y, EYE_X, EYE_Y, 10.0, 6.0) * fr),
    }


def calibration_fields(g: Grid, v: np.ndarray) -> dict[str, np.ndarray]:
    """Displacement fields (V, 3) mm used only to calibrate the factors (not identity modes).

    ``eye_length`` moves the eye corners apart (exocanthion out, endocanthion in, 1 mm each per
    unit) and leaves the iris in place; ``upper_vermilion`` raises the upper vermilion border
    (labrale superius, 1 mm per unit) with the stretch taken up by the philtrum above and the
    vermilion below, the mouth line fixed; ``nose_tip`` lowers the nose tip (pronasale).
    """
    x, y = v[:, 0], v[:, 1]
    ax, sx, fr = np.abs(x), np.sign(x), g.front
    zero = np.zeros_like(x)
    corners = (gauss2(ax, y, EYE_X + EYE_HALF, EYE_Y - 0.2, 4.5, 4.0)
               - gauss2(ax, y, EYE_X - EYE_HALF, EYE_Y + 1.4, 4.5, 4.0)) * fr
    ls = MOUTH_Y + 7.0
    up = 1.0 - _smoothstep((y - ls) / (-19.0 - ls))              # 1 at ls, 0 at the subnasale
    down = 1.0 - _smoothstep((ls - y) / (ls - MOUTH_Y))          # 1 at ls, 0 at the mouth line
    border = np.where(y >= ls, up, down) * np.exp(-0.5 * (x / 24.0) ** 4) * fr
    return {
        "eye_length": np.stack([sx * corners, zero, zero], -1),
        "upper_vermilion": np.stack([zero, border, zero], -1),
        "nose_tip": np.stack([zero, -gauss2(x, y, 0.0, -6.0, 7.0, 5.0) * fr, zero], -1),
    }


#: left-right asymmetry of the face: this many mirror-antisymmetric random fields at 25 mm, about
#: 0.7 mm RMS over the face together (faces are a little asymmetric, and people differ in how)
ASYMMETRY = (6, 25.0, 1.0)


def random_shape_fields(g: Grid, weight: np.ndarray) -> list[np.ndarray]:
    """30 smooth random displacement fields (V, 3) mm at 40/25/15 mm, mostly mirror-symmetric, and the
    ``ASYMMETRY`` fields (antisymmetric, on the front of the face)."""
    mi = mirror_index(g)
    y = g.vertices[:, 1]
    crown = _smoothstep((112.0 - y) / 25.0) * _smoothstep((y + 145.0) / 20.0)   # the poles stay closed
    out = []
    for L, n, amp in ((40.0, 12, 2.2), (25.0, 10, 1.2), (15.0, 8, 0.6)):
        for k in range(n):
            f = smooth_field(g.surf, L, rng_for(int(L), k), weight, channels=3)
            mirrored = f[mi] * _FLIP_X
            sym, anti = 0.5 * (f + mirrored), 0.5 * (f - mirrored)
            out.append(amp * (sym + 0.25 * anti) * (weight * crown)[:, None] / max(weight.max(), 1e-12))
    n, L, amp = ASYMMETRY
    for k in range(n):
        f = smooth_field(g.surf, L, rng_for(5000, k), weight, channels=3)
        anti = 0.5 * (f - f[mi] * _FLIP_X)
        out.append((amp / np.sqrt(n)) * anti * (weight * g.front)[:, None])
    return out


def linear_sensitivity(measure: Callable[[np.ndarray], np.ndarray], v: np.ndarray,
                       fields: list[np.ndarray], eps: float = 1e-3) -> np.ndarray:
    """(M, K) change of each measure per unit of each field, by central differences at ``v``."""
    cols = [(measure(v + eps * f) - measure(v - eps * f)) / (2 * eps) for f in fields]
    return np.stack(cols, axis=1)


# Relative skin colour axes (fraction of the mean albedo per unit): melanin darkens and browns,
# haemoglobin reddens, luminance scales all channels.
_MELANIN = np.array([-0.30, -0.38, -0.46])
_HAEMO = np.array([0.06, -0.12, -0.08])
_LUMA = np.array([0.30, 0.30, 0.30])


def texture_fields(g: Grid, weight: np.ndarray, masks: dict[str, np.ndarray],
                   mean_alb: np.ndarray) -> list[list[np.ndarray]]:
    """Per band, a list of colour fields (V, 3) for one s.d. each (band 0 includes feature fields).

    A random field's colour is a random mix of the relative skin axes times the mean albedo, so
    variation is proportional to the local colour (no green or violet skin). The per-band total
    relative s.d. is ``BANDS[k][2]``.
    """
    mi = mirror_index(g)
    skin = np.clip(1.0 - masks["eye"] - masks["band"] - 0.7 * masks["nostril"], 0.0, 1.0)
    base = mean_alb * skin[:, None]
    bands: list[list[np.ndarray]] = []
    for b, (L, n, sd) in enumerate(BANDS):
        fields = []
        for k in range(n):
            rng = rng_for(100 + b, k)
            w3 = rng.standard_normal(3) * (FINE_COLOUR if b == len(BANDS) - 1 else COLOUR)
            col = w3[0] * _MELANIN + w3[1] * _HAEMO + w3[2] * _LUMA
            col = col / np.sqrt((col ** 2).mean())
            f = smooth_field(g.surf, L, rng, weight)[:, 0]
            f = 0.5 * (f + f[mi]) + 0.3 * 0.5 * (f - f[mi])
            fields.append((sd / np.sqrt(n)) * f[:, None] * col[None, :] * base)
        bands.append(fields)
    brow, lips, iris = masks["brow"], masks["lips"], masks["iris"] * (1.0 - masks["pupil"])
    beard = masks["beard"] * (1.0 - masks["hair"])
    bands[0] += [
        0.14 * base * (1.0 - masks["hair"][:, None]) * _MELANIN[None, :] / np.sqrt((_MELANIN ** 2).mean()),  # tone
        0.33 * (brow[:, None] * mean_alb) * np.array([-1.0, -1.0, -1.0]),             # brow density
        0.08 * (lips[:, None] * mean_alb) * np.array([0.2, -0.5, -0.4]),              # lip redness
        0.14 * (lips[:, None] * mean_alb) * np.array([-1.0, -1.0, -1.0]),             # lip darkness
        0.30 * iris[:, None] * np.array([0.075, 0.05, 0.035]),                        # iris lightness
        iris[:, None] * np.array([0.004, 0.009, 0.015]),                              # iris: brown-blue
        0.08 * (masks["cheek"][:, None] * mean_alb) * np.array([0.3, -0.6, -0.4]),    # cheek flush
        0.07 * (beard[:, None] * mean_alb) * np.array([-1.0, -0.95, -0.85]),          # stubble shadow
        0.35 * (np.clip(masks["lash"], 0.0, 1.0)[:, None] * mean_alb) * -1.0,          # lash density
        0.30 * (np.clip(masks["nostril"], 0.0, 1.0)[:, None] * mean_alb) * -1.0,       # nostril shadow
        0.12 * ((masks["eye"] - masks["iris"])[:, None] * mean_alb) * np.array([0.3, -0.5, -0.5]),  # sclera tint
    ]
    return bands


def pca_texture(bands: list[list[np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Texture basis (Kt, V, 3), s.d. (Kt,) decreasing, band (Kt,) int from per-band PCA."""
    basis, sd, band = [], [], []
    for b, fields in enumerate(bands):
        bb, ss = pca_modes(fields)
        basis.append(bb)
        sd.append(ss)
        band.append(np.full(ss.size, b))
    basis, sd, band = np.concatenate(basis), np.concatenate(sd), np.concatenate(band)
    order = np.lexsort((band, -np.round(sd, 9)))
    return basis[order], sd[order], band[order]

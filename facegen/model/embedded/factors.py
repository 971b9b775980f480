"""Gender, age and ethnicity directions of the embedded model (shape and albedo), GMF style.

Gender: a male-minus-female difference field; female = -1/2 of it, male = +1/2 (so the population
mean is the sex average). Its anthropometric part is solved so that the five measures of
``facegen.model.anthropometry`` differ by the published male-female differences (Farkas 1994);
the rest follows the usual descriptions of facial sexual dimorphism (e.g. Enlow & Hans 1996,
*Essentials of Facial Growth*): a more prominent brow ridge and nose, a squarer, wider jaw and larger
chin in men, fuller lips in women; in albedo darker brows and a beard-shadow region in men, redder
lips and lighter skin in women (Jablonski & Chaplin 2000, *J. Hum. Evol.* 39:57).

Age: per year above 45 (valid 20 to 70): jowl and brow sag, deeper nasolabial folds, thinner lips,
lower-lid bags, a longer nose tip; albedo slightly darker, less saturated, blotchier, with faint
lines on the forehead and at the eye corners.

Ethnicity (african, east_asian, european, south_asian): skin colour offsets, and shape offsets
given as anthropometric differences (nose width, face width, intercanthal width, mouth width) plus
nose-bridge height, lip fullness and eye depth. All offsets sum to zero across levels, so the mean
face is the average of the groups.
"""
from __future__ import annotations

import numpy as np

from .albedo import SKIN
from .fields import rng_for, smooth_field
from .geometry import EYE_Y, MOUTH_Y, Grid, gauss2

__all__ = ["GENDERS", "ETHNICITIES", "AGE_REFERENCE", "AGE_RANGE", "SKIN_TONES", "ETHNIC_MEASURES",
           "gender_extras", "age_fields", "ethnic_extras"]

GENDERS = ("female", "male")
ETHNICITIES = ("african", "east_asian", "european", "south_asian")
AGE_REFERENCE = 45.0
AGE_RANGE = (20.0, 70.0)

#: Skin colour (linear RGB) of each ethnicity level; their mean is ``albedo.SKIN``.
SKIN_TONES = {
    "african": np.array([0.28, 0.16, 0.10]),
    "east_asian": np.array([0.70, 0.48, 0.34]),
    "european": np.array([0.74, 0.48, 0.38]),
    "south_asian": np.array([0.46, 0.28, 0.18]),
}
#: Anthropometric offsets (mm) of each level before centring; kept within about half a norm s.d.
ETHNIC_MEASURES = {
    "african": {"al-al": 1.6, "ch-ch": 1.6, "zy-zy": 0.0, "en-en": 0.3, "n-gn": 0.0},
    "east_asian": {"al-al": 0.4, "ch-ch": -0.6, "zy-zy": 2.5, "en-en": 1.2, "n-gn": -1.0},
    "european": {"al-al": -1.2, "ch-ch": -0.4, "zy-zy": -1.5, "en-en": -0.8, "n-gn": 1.0},
    "south_asian": {"al-al": -0.3, "ch-ch": 0.0, "zy-zy": -0.5, "en-en": -0.2, "n-gn": 0.0},
}
#: Published male - female differences (mm) are taken from ``anthropometry.NORMS``.


def _smoothstep(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _xyz(dx, dy, dz):
    return np.stack([dx, dy, dz], -1)


def gender_extras(g: Grid, v: np.ndarray, masks: dict[str, np.ndarray],
                  mean_alb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Male-minus-female shape (V, 3) mm outside the five measures, and albedo difference (V, 3)."""
    x, y = v[:, 0], v[:, 1]
    ax, fr = np.abs(x), g.front
    z0 = np.zeros_like(x)
    shape = _xyz(z0, z0, fr * (4.0 * gauss2(ax, y, 24.0, 40.0, 18.0, 6.0) + 2.5 * gauss2(x, y, 0.0, 40.0, 10.0, 7.0)
                              + 3.0 * gauss2(x, y, 0.0, 0.0, 8.0, 14.0)                  # nose
                              + 3.0 * gauss2(x, y, 0.0, -74.0, 18.0, 10.0)               # chin
                              - 1.2 * gauss2(x, y, 0.0, MOUTH_Y, 20.0, 6.0)))            # thinner lips
    shape[:, 1] -= 1.5 * gauss2(ax, y, 30.0, 40.0, 16.0, 6.0) * fr                     # lower, flatter brows
    jaw = _smoothstep((-30.0 - y) / 25.0) * _smoothstep((y + 120.0) / 20.0) * _smoothstep((ax - 18.0) / 20.0)
    shape[:, 0] += 0.07 * x * jaw                                                        # wider, squarer jaw
    shape[:, 0] += 0.03 * x * _smoothstep((y - 40.0) / 40.0) * (1.0 - fr)                # larger skull
    shape[:, 2] += -6.0 * _smoothstep(-np.cos(g.theta)[np.arange(x.size) % g.cols] / 0.8)
    shape[:, 0] += 0.04 * x * _smoothstep((-95.0 - y) / 15.0)                           # thicker neck
    skin = np.clip(1.0 - masks["eye"] - masks["band"], 0.0, 1.0)
    rel = (-0.08 * skin[:, None] * np.array([1.0, 1.0, 1.0])
           - 0.10 * masks["brow"][:, None] * np.array([1.0, 1.0, 1.0])
           - 0.18 * masks["beard"][:, None] * np.array([1.0, 0.9, 0.75])
           + 0.15 * masks["lips"][:, None] * np.array([-0.1, 1.0, 0.8]))   # paler lips in men
    alb = rel * mean_alb
    return shape, alb


def age_fields(g: Grid, v: np.ndarray, masks: dict[str, np.ndarray], weight: np.ndarray,
               mean_alb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shape (V, 3) mm and albedo (V, 3) change per year of age."""
    x, y = v[:, 0], v[:, 1]
    ax, sx, fr = np.abs(x), np.sign(x), g.front
    sag = 3.5 * gauss2(ax, y, 42.0, -52.0, 14.0, 12.0) + 1.5 * gauss2(ax, y, 40.0, -15.0, 16.0, 14.0)
    dy = -(sag + 1.5 * gauss2(ax, y, 40.0, 38.0, 12.0, 6.0) + 1.5 * gauss2(x, y, 0.0, -9.0, 8.0, 6.0))
    fold = (ax - 20.0) - 0.35 * (-14.0 - y)
    dz = (-2.0 * np.exp(-0.5 * (fold / 3.0) ** 2) * gauss2(0.0, y, 0.0, -30.0, 1.0, 14.0)
          - 2.0 * gauss2(x, y, 0.0, MOUTH_Y, 20.0, 6.0)
          + 1.5 * gauss2(ax, y, 32.0, EYE_Y - 9.0, 10.0, 3.0)
          + 1.5 * gauss2(ax, y, 44.0, -55.0, 12.0, 10.0))
    dx = 1.0 * sx * gauss2(ax, y, 45.0, -55.0, 12.0, 10.0)
    shape = _xyz(dx, dy, dz) * fr[:, None] / 25.0             # the listed amounts accrue over 25 years
    skin = np.clip(1.0 - masks["eye"] - masks["band"], 0.0, 1.0)
    blotch = smooth_field(g.surf, 4.0, rng_for(300, 0), weight)[:, 0]
    lines = np.zeros_like(x)
    for k in range(4):                                           # forehead lines
        lines += np.exp(-0.5 * ((y - (52.0 + 7.0 * k)) / 1.0) ** 2) * _smoothstep((45.0 - ax) / 12.0)
    for k in range(3):                                           # crow's feet
        ang = np.radians(-25.0 + 25.0 * k)
        d = (ax - 50.0) * np.sin(ang) - (y - EYE_Y) * np.cos(ang)
        lines += 0.8 * np.exp(-0.5 * (d / 0.6) ** 2) * gauss2(ax, y, 53.0, EYE_Y, 4.0, 6.0)
    grey = SKIN.mean() / SKIN - 1.0
    rel = skin[:, None] * (-0.002 + 0.002 * grey[None, :]
                           + 0.0012 * blotch[:, None] * np.array([1.0, 1.1, 1.2])
                           - 0.002 * lines[:, None] * fr[:, None])
    alb = rel * mean_alb
    return shape, alb


def ethnic_extras(g: Grid, v: np.ndarray, masks: dict[str, np.ndarray],
                  mean_alb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per level (E, V, 3): shape beyond the measures (mm) and albedo offsets, both centred over levels.

    Albedo offsets scale the mean albedo of skin, brows and lips by the level's skin tone relative to
    ``albedo.SKIN`` (so brows and lips darken with the skin); eye whites, irises and the mouth band stay.
    """
    x, y = v[:, 0], v[:, 1]
    ax, fr = np.abs(x), g.front
    bridge = gauss2(x, y, 0.0, 18.0, 7.0, 12.0) * fr
    lips = gauss2(x, y, 0.0, MOUTH_Y, 20.0, 6.0) * fr
    eyes = gauss2(ax, y, 31.0, EYE_Y + 2.0, 13.0, 9.0) * fr
    tip = gauss2(x, y, 0.0, -5.0, 9.0, 8.0) * fr
    spec = {  # (nose bridge dz, lip fullness dz, eye depth dz, nose tip dz) mm
        "african": (-2.0, 2.0, 0.0, -1.5),
        "east_asian": (-2.5, 0.0, 2.0, -1.0),
        "european": (2.5, -1.5, -1.5, 1.5),
        "south_asian": (1.0, 0.5, -0.5, 0.5),
    }
    skin = np.clip(1.0 - masks["eye"] - masks["band"] - masks["nostril"], 0.0, 1.0)
    shapes, albs = [], []
    for e in ETHNICITIES:
        br, lp, ey, tp = spec[e]
        s = np.zeros_like(v)
        s[:, 2] = br * bridge + lp * lips + ey * eyes + tp * tip
        shapes.append(s)
        albs.append(skin[:, None] * mean_alb * (SKIN_TONES[e] / SKIN - 1.0)[None, :])
    shapes, albs = np.stack(shapes), np.stack(albs)
    return shapes - shapes.mean(0), albs - albs.mean(0)

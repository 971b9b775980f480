"""Gender, age and ethnicity directions of the embedded model (shape and albedo), GMF style.

Gender: a male-minus-female difference field; female = -1/2 of it, male = +1/2 (so the population
mean is the sex average). Its anthropometric part is solved so that the five measures of
``facegen.model.anthropometry`` differ by the published male-female differences (Farkas 1994);
the rest follows the usual descriptions of facial sexual dimorphism (e.g. Enlow & Hans 1996,
*Essentials of Facial Growth*): a more prominent brow ridge and nose, a squarer, wider jaw and larger
chin in men, fuller lips in women; in albedo darker brows and a beard-shadow region in men, redder
lips and lighter skin in women (Jablonski & Chaplin 2000, *J. Hum. Evol.* 39:57).

Age: per year above 45 (valid 20 to 70): jowl and brow sag, deeper nasolabial folds, thinner lips,
lower-lid bags (``age_fields``), plus a solved part that gives the measures of ``age_targets``
their rates: the documented rates of ``anthropometry.AGE_CHANGES`` (a longer nose, n-prn, and a
longer upper lip, sn-sto), and for the changes documented only in direction (a thinner upper
vermilion, a wider mouth and nose, a longer and more protrusive nose) magnitudes of this model's
choosing; the other measures are held. Albedo slightly darker, less saturated, blotchier, with
faint lines on the forehead and at the eye corners.

Ethnicity (african, east_asian, european, south_asian): skin colour offsets, and shape offsets
given as anthropometric differences from ``european`` (``ethnic_targets``: the published
differences of ``anthropometry.ETHNIC_DIFFERENCES`` where they give a number, this model's choices
elsewhere, within any documented direction) plus nose-bridge height, lip fullness and eye depth.
All offsets sum to zero across levels, so the mean face is the average of the groups; the mean is
placed so that the european level at the norms' age matches the NAW norms.
"""
from __future__ import annotations

import numpy as np

from .albedo import BEARD, HAIR, SKIN, temples
from .fields import rng_for, smooth_field
from .geometry import EYE_Y, MOUTH_Y, Grid, gauss2

__all__ = ["GENDERS", "ETHNICITIES", "AGE_REFERENCE", "AGE_RANGE", "SKIN_TONES", "HAIR_TONES", "ETHNIC_CHOICES",
           "ETHNIC_CALIBRATED", "ethnic_targets", "AGE_CHOICES", "AGE_SPAN", "age_targets", "gender_extras",
           "age_fields", "ethnic_extras"]

GENDERS = ("female", "male")
ETHNICITIES = ("african", "east_asian", "european", "south_asian")
AGE_REFERENCE = 45.0
AGE_RANGE = (20.0, 70.0)

#: Skin colour (linear RGB) of each ethnicity level; their mean is ``albedo.SKIN``. Anchored on the
#: "light skin" and "dark skin" patches of the ColorChecker (sRGB 194/150/130 and 115/82/68, i.e.
#: linear 0.54/0.31/0.22 and 0.17/0.08/0.06; McCamy, Marcus & Davidson 1976), shown through the sRGB
#: output encoding of the renderer; african a little above the dark patch (skin reflectance at
#: 650 nm of dark skin lies between about 0.1 and 0.3).
SKIN_TONES = {
    "african": np.array([0.21, 0.115, 0.075]),
    "east_asian": np.array([0.50, 0.33, 0.22]),
    "european": np.array([0.55, 0.34, 0.26]),
    "south_asian": np.array([0.33, 0.19, 0.12]),
}
#: Scalp-hair colour (linear RGB) of each level; their mean is ``albedo.HAIR``.
HAIR_TONES = {
    "african": np.array([0.030, 0.022, 0.018]),
    "east_asian": np.array([0.028, 0.022, 0.018]),
    "european": np.array([0.090, 0.060, 0.034]),
    "south_asian": np.array([0.032, 0.024, 0.018]),
}
#: Measure differences (mm, sex-averaged) of each level from ``european`` that the published table
#: does not give as a number: where ``anthropometry.ETHNIC_DIFFERENCES`` documents a direction, the
#: value follows it; ``n-prn`` is left free (it follows n-sn and sn-prn). african ls-sto (fuller
#: lips): 5 mm, a choice guided by the Kenyan upper vermilion heights of Virdi et al. 2019 (Table 9:
#: 13.7 mm men, 13.4 mm women), about twice the model's european value; african sn-prn and the
#: east/south Asian values without a source: the model's earlier choices.
ETHNIC_CHOICES = {
    "african": {"ls-sto": 5.0, "sn-prn": -2.5},
    "east_asian": {"zy-zy": 4.0, "al-al": 1.6, "ch-ch": 1.0, "n-gn": -1.0, "n-sn": -0.7, "sn-prn": -2.4},
    "european": {},
    "south_asian": {"zy-zy": 1.0, "al-al": 0.9, "en-en": 0.6, "ch-ch": 0.4, "n-gn": -1.0, "n-sn": -1.0,
                    "sn-prn": -0.9},
}
#: Measures the ethnicity levels are calibrated on (the rest of ``anthropometry.ALL_MEASURES`` is free).
ETHNIC_CALIBRATED = ("zy-zy", "al-al", "en-en", "ch-ch", "n-gn", "n-sn", "sn-sto", "ls-sto", "en-ex", "sn-prn")
#: Changes (mm over 40 years of adult age, sex-averaged) for the age changes that
#: ``anthropometry.AGE_CHANGES`` documents in direction only; measures not listed there are held (0).
AGE_CHOICES = {"ls-sto": -1.5, "ch-ch": 2.0, "al-al": 2.0, "n-sn": 1.0, "sn-prn": 1.0}
#: Years over which the age targets are stated (25 to 65 around the reference age 45).
AGE_SPAN = 40.0
#: Published male - female differences (mm) are taken from ``anthropometry.NORMS``.


def ethnic_targets() -> dict[str, dict[str, float]]:
    """Level -> measure -> difference (mm) from ``european`` that the build calibrates to.

    Published numbers (``anthropometry.ETHNIC_DIFFERENCES``, sex-averaged) override
    ``ETHNIC_CHOICES``; a difference against another reference level is added to that level's target.
    Raises ValueError if a choice contradicts a documented direction.
    """
    from ..anthropometry import ETHNIC_DIFFERENCES

    out = {e: {m: 0.0 for m in ETHNIC_CALIBRATED} for e in ETHNICITIES}
    for e, d in ETHNIC_CHOICES.items():
        out[e].update(d)
    relative = []
    for d in ETHNIC_DIFFERENCES:
        if d.mm is None:
            if np.sign(out[d.group][d.measure]) != d.sign:
                raise ValueError(f"ETHNIC_CHOICES {d.group} {d.measure}={out[d.group][d.measure]} contradicts "
                                 f"the documented direction {d.sign:+d} ({d.source})")
        elif d.reference == "european":
            out[d.group][d.measure] = d.mm
        else:
            relative.append(d)
    for d in relative:                       # after the european-referenced ones they build on
        out[d.group][d.measure] = out[d.reference][d.measure] + d.mm
    return out


def age_targets(reference: dict[str, float]) -> dict[str, float]:
    """Measure -> change (mm) over ``AGE_SPAN`` years that the build calibrates the age direction to.

    ``reference``: the measures (mm) of the face the rates refer to (relative rates scale them).
    """
    from ..anthropometry import AGE_CHANGES, ALL_MEASURES

    out = {m: 0.0 for m in ALL_MEASURES}
    for c in AGE_CHANGES:
        if c.per_year is None:
            out[c.measure] = AGE_CHOICES[c.measure]
            if np.sign(out[c.measure]) != c.sign:
                raise ValueError(f"AGE_CHOICES {c.measure} contradicts the documented direction ({c.source})")
        else:
            out[c.measure] = c.per_year * AGE_SPAN * (reference[c.measure] if c.relative else 1.0)
    return out


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
    # men: darker, denser brows, a beard shadow, temples receding (hair traded for skin)
    recede = masks["hair"] * _smoothstep((88.0 - y) / 20.0) * temples(g.theta[np.arange(x.size) % g.cols])
    rel = (-0.08 * skin[:, None] * np.array([1.0, 1.0, 1.0])
           - 0.35 * masks["brow"][:, None] * np.array([1.0, 1.0, 1.0])
           - BEARD / (1.0 - 0.5 * BEARD) * masks["beard"][:, None] * (1.0 - masks["hair"][:, None])
           + 0.15 * masks["lips"][:, None] * np.array([-0.1, 1.0, 0.8]))   # paler lips in men
    alb = rel * mean_alb + 0.5 * recede[:, None] * (SKIN - HAIR)[None, :]
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
    greying = masks["hair"][:, None] * (np.array([0.16, 0.15, 0.14]) - HAIR)[None, :] / 50.0   # grey at 95
    grey = SKIN.mean() / SKIN - 1.0
    rel = skin[:, None] * (-0.002 + 0.002 * grey[None, :]
                           + 0.0012 * blotch[:, None] * np.array([1.0, 1.1, 1.2])
                           - 0.002 * lines[:, None] * fr[:, None])
    alb = rel * mean_alb + greying
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
    skin = np.clip(1.0 - masks["eye"] - masks["band"] - masks["nostril"], 0.0, 1.0) * (1.0 - masks["hair"])
    shapes, albs = [], []
    for e in ETHNICITIES:
        br, lp, ey, tp = spec[e]
        s = np.zeros_like(v)
        s[:, 2] = br * bridge + lp * lips + ey * eyes + tp * tip
        shapes.append(s)
        albs.append(skin[:, None] * mean_alb * (SKIN_TONES[e] / SKIN - 1.0)[None, :]
                    + masks["hair"][:, None] * (HAIR_TONES[e] - HAIR)[None, :])
    shapes, albs = np.stack(shapes), np.stack(albs)
    return shapes - shapes.mean(0), albs - albs.mean(0)

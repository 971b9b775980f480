"""Gender, age and ethnicity directions of the embedded model (shape and albedo), GMF style.

Gender: a male-minus-female difference field; female = -1/2 of it, male = +1/2 (so the population
mean is the sex average). Its anthropometric part is solved so that the five measures of
``facegen.model.anthropometry`` differ by the published male-female differences (Farkas 1994);
the rest follows the usual descriptions of facial sexual dimorphism (e.g. Enlow & Hans 1996,
*Essentials of Facial Growth*): a more prominent brow ridge and nose, a squarer, wider jaw and larger
chin in men, fuller lips in women; in albedo darker brows and a beard-shadow region in men, redder
lips and lighter skin in women (Jablonski & Chaplin 2000, *J. Hum. Evol.* 39:57).

Age: per year above 45 (valid 20 to 70): jowls, malar fat and brows descend, the nasolabial and
marionette folds deepen, temples, tear troughs and lips hollow, lower-lid bags grow
(``age_fields``), plus a solved part that gives the measures of ``age_targets`` their rates: the
documented rates of ``anthropometry.AGE_CHANGES`` (a longer nose, n-prn, and a longer upper lip,
sn-sto), and for the changes documented only in direction (a thinner upper
vermilion, a wider mouth and nose, a longer and more protrusive nose) magnitudes of this model's
choosing; the other measures are held. Wrinkles, pigment blotches, paler lips and brows and grey
hair appear from 20 and grow to 70; skin turns slightly darker and less saturated.

Albedo: what gender, ethnicity and age do to skin, brows, lips and lashes is a gain on each face's
own albedo (``FactorModel.*_albedo_gain``), so dark and light skin change by the same fraction;
additive offsets remain for hair colour, the temples and greying.

Ethnicity (african, east_asian, european, south_asian): skin colour gains, and shape offsets
given as anthropometric differences from ``european`` (``ethnic_targets``: the published
differences of ``anthropometry.ETHNIC_DIFFERENCES`` where they give a number, this model's choices
elsewhere, within any documented direction) plus nose-bridge height, lip fullness and eye depth.
All offsets sum to zero across levels, so the mean face is the average of the groups; the mean is
placed so that the european level at the norms' age matches the NAW norms.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .albedo import BEARD, CREASE, EYE_X, HAIR, SKIN, brow_line, temples
from .fields import rng_for, smooth_field
from .geometry import EYE_Y, MOUTH_Y, Grid, gauss2

__all__ = ["GENDERS", "ETHNICITIES", "AGE_REFERENCE", "AGE_RANGE", "SKIN_TONES", "HAIR_TONES", "ETHNIC_CHOICES",
           "ETHNIC_CALIBRATED", "ethnic_targets", "AGE_CHOICES", "AGE_SPAN", "age_targets", "gender_extras",
           "age_fields", "ethnic_extras", "EthnicFields"]

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
#: East Asian eyes, against the mean of the levels: palpebral fissure opening (mm at each lid margin),
#: canthal tilt (outer canthus up, mm), upper-lid fullness (mm forward) and the fraction of the
#: painted upper-lid crease removed (monolids in about half of East Asians).
EAST_ASIAN_EYES = (-0.8, 1.5, 1.5, 0.5)
#: Measures the ethnicity levels are calibrated on (the rest of ``anthropometry.ALL_MEASURES`` is free).
ETHNIC_CALIBRATED = ("zy-zy", "al-al", "en-en", "ch-ch", "n-gn", "n-sn", "sn-sto", "ls-sto", "en-ex", "sn-prn")
#: Changes (mm over 40 years of adult age, sex-averaged) for the age changes that
#: ``anthropometry.AGE_CHANGES`` documents in direction only; measures not listed there are held (0).
AGE_CHOICES = {"ls-sto": -1.5, "ch-ch": 2.0, "al-al": 2.0, "n-sn": 1.0, "sn-prn": 1.0}
#: Years over which the age targets are stated (25 to 65 around the reference age 45).
AGE_SPAN = 40.0
#: What age brings from 20 to 70, relative to a face's own albedo: darkening in the wrinkle lines, the
#: s.d. of pigment blotches at 4 mm and 12 mm, and the fractions by which lips and brows fade towards
#: the skin colour.
AGE_RAMP = (0.15, 0.03, 0.03, 0.35, 0.35)
#: Fraction of the way to grey that scalp hair has gone at 70.
GREY_AT_70 = 0.6
# Published male - female differences (mm) of the measures are taken from ``anthropometry.NORMS``.
#: Male - female albedo (relative) at the brow's edge band: thicker brows in men.
BROW_EDGE = 0.6
#: How much lower (mm) men's brows sit above the eyes than women's, beyond the flatter lateral brow.
BROW_DROP = 2.5
#: Male - female albedo (relative) on the lash lines: darker, higher-contrast eyes in women (Russell
#: 2009, *Perception* 38:1211).
LASH_CONTRAST = 0.4


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


class GenderFields(NamedTuple):
    """What ``gender_extras`` returns (male minus female): ``shape`` (V, 3) mm outside the five
    measures, the ``relative`` albedo difference (V, 3) (of each face's own albedo: skin, brows, beard,
    lips, lashes) and the additive one (V, 3) (receding temples trade hair for skin); and what the
    sex-averaged mean albedo gains (V, 3)."""

    shape: np.ndarray
    relative: np.ndarray
    albedo: np.ndarray
    mean_albedo: np.ndarray


def gender_extras(g: Grid, v: np.ndarray, masks: dict[str, np.ndarray], mean_alb: np.ndarray) -> GenderFields:
    """The male-minus-female differences of the model beyond the five calibrated measures."""
    x, y = v[:, 0], v[:, 1]
    ax, fr = np.abs(x), g.front
    z0 = np.zeros_like(x)
    shape = _xyz(z0, z0, fr * (4.0 * gauss2(ax, y, 24.0, 40.0, 18.0, 6.0) + 2.5 * gauss2(x, y, 0.0, 40.0, 10.0, 7.0)
                              + 3.0 * gauss2(x, y, 0.0, 0.0, 8.0, 14.0)                  # nose
                              + 3.0 * gauss2(x, y, 0.0, -74.0, 18.0, 10.0)               # chin
                              - 1.2 * gauss2(x, y, 0.0, MOUTH_Y, 20.0, 6.0)))            # thinner lips
    shape[:, 1] -= (1.5 * gauss2(ax, y, 30.0, 40.0, 16.0, 6.0)                          # lower, flatter brows
                    + BROW_DROP * gauss2(ax, y, 28.0, 38.0, 22.0, 5.0)) * fr
    jaw = _smoothstep((-30.0 - y) / 25.0) * _smoothstep((y + 120.0) / 20.0) * _smoothstep((ax - 18.0) / 20.0)
    shape[:, 0] += 0.07 * x * jaw                                                        # wider, squarer jaw
    shape[:, 0] += 0.03 * x * _smoothstep((y - 40.0) / 40.0) * (1.0 - fr)                # larger skull
    shape[:, 2] += -6.0 * _smoothstep(-np.cos(g.theta)[np.arange(x.size) % g.cols] / 0.8)
    shape[:, 0] += 0.04 * x * _smoothstep((-95.0 - y) / 15.0)                           # thicker neck
    skin = np.clip(1.0 - masks["eye"] - masks["band"], 0.0, 1.0)
    # men: darker, denser brows, a beard shadow, temples receding (hair traded for skin)
    recede = masks["hair"] * _smoothstep((88.0 - y) / 20.0) * temples(g.theta[np.arange(x.size) % g.cols])
    # thicker brows in men, thinner in women: the band around the brow, up to 1.2 mm out from its edge
    brow_y, brow_th, bu = brow_line(ax)
    thick = _smoothstep((brow_th + 2.0 - np.abs(y - brow_y)) / 2.4) * _smoothstep((1.1 - np.abs(bu)) / 0.3) * fr
    edge = np.clip(thick - masks["brow"], 0.0, 1.0)
    rel = (-0.08 * skin[:, None] * np.array([1.0, 1.0, 1.0])
           - 0.35 * masks["brow"][:, None] * np.array([1.0, 1.0, 1.0])
           - BROW_EDGE * edge[:, None]
           + LASH_CONTRAST * np.clip(masks["lash"], 0.0, 1.0)[:, None]
           - BEARD / (1.0 - 0.5 * BEARD) * masks["beard"][:, None] * (1.0 - masks["hair"][:, None])
           + 0.15 * masks["lips"][:, None] * np.array([-0.1, 1.0, 0.8]))   # paler lips in men
    add = 0.5 * recede[:, None] * (SKIN - HAIR)[None, :]
    # women's lash lines darker, men's as they were: the sex-averaged mean face darkens by half
    mean_delta = -0.5 * LASH_CONTRAST * np.clip(masks["lash"], 0.0, 1.0)[:, None] * mean_alb
    return GenderFields(shape=shape, relative=rel, albedo=add, mean_albedo=mean_delta)


class AgeFields(NamedTuple):
    """What ``age_fields`` returns: per year ``shape`` (V, 3) mm, additive ``albedo`` (V, 3) and
    relative ``gain`` (V, 3) (``FactorModel.age_albedo_gain``); and what the mean albedo gains,
    being that of the reference age: ``mean_albedo`` (V, 3)."""

    shape: np.ndarray
    albedo: np.ndarray
    gain: np.ndarray
    mean_albedo: np.ndarray


def age_fields(g: Grid, v: np.ndarray, masks: dict[str, np.ndarray], weight: np.ndarray,
               mean_alb: np.ndarray) -> AgeFields:
    """The age direction of the model.

    Shape, per 25 years (Coleman & Grover 2006, *Aesthet. Surg. J.* 26:S4; Albert, Ricanek &
    Patterson 2007, *Forensic Sci. Int.* 172:1): jowls and malar fat descend, the lateral brow
    drops, the nasolabial and marionette folds deepen, the tear trough, temples and lips hollow,
    lower-lid bags and a submental bulge grow. Changes of this kind run both ways about the
    reference age (a young face is tighter).

    Wrinkles (forehead, frown, crow's feet, under-eye, nasolabial and marionette lines), pigment
    blotches, and lips and brows fading towards the skin colour (facial contrast falls with age:
    Porcheron, Mauger & Russell 2013, *PLoS ONE* 8:e57985) are absent at 20 and grow to 70
    (``AGE_RAMP``) relative to each face's own albedo (``gain``), so dark and light skin age alike.
    Skin turns a tenth darker and less saturated, relative too. Hair greys towards one grey
    (additive: ``GREY_AT_70``); greying is absent at 20, and the model is linear in age, so its value
    at the reference age goes into the mean albedo and its slope into the per-year change.
    """
    x, y = v[:, 0], v[:, 1]
    ax, sx, fr = np.abs(x), np.sign(x), g.front
    sag = (5.0 * gauss2(ax, y, 42.0, -52.0, 14.0, 12.0) + 3.0 * gauss2(ax, y, 38.0, -12.0, 16.0, 14.0)
           + 3.0 * gauss2(ax, y, 44.0, 40.0, 10.0, 6.0) + 1.0 * gauss2(ax, y, 30.0, 38.0, 10.0, 5.0)
           + 1.5 * gauss2(x, y, 0.0, -9.0, 8.0, 6.0) + 2.0 * gauss2(x, y, 0.0, -78.0, 14.0, 10.0))
    dy = -sag
    fold = (ax - 20.0) - 0.35 * (-14.0 - y)                       # nasolabial fold line
    nasolabial = np.exp(-0.5 * (fold / 3.0) ** 2) * gauss2(0.0, y, 0.0, -30.0, 1.0, 14.0)
    mar = (ax - 24.0) - 0.25 * (MOUTH_Y - y)                      # marionette line, down from the mouth corner
    marionette = np.exp(-0.5 * (mar / 2.5) ** 2) * gauss2(0.0, y, 0.0, MOUTH_Y - 14.0, 1.0, 10.0)
    dz = (-3.5 * nasolabial + 1.5 * np.exp(-0.5 * ((fold - 6.0) / 4.0) ** 2) * gauss2(0.0, y, 0.0, -28.0, 1.0, 12.0)
          - 2.0 * marionette
          - 2.5 * gauss2(x, y, 0.0, MOUTH_Y, 20.0, 6.0)                 # thinner lips
          + 2.0 * gauss2(ax, y, 32.0, EYE_Y - 9.0, 10.0, 3.0)           # lower-lid bags
          - 2.0 * gauss2(ax, y, 26.0, EYE_Y - 15.0, 9.0, 2.5)           # tear trough below them
          - 2.5 * gauss2(ax, y, 56.0, 38.0, 8.0, 12.0)                  # temples
          - 1.5 * gauss2(ax, y, 40.0, 5.0, 10.0, 8.0)                   # midface volume
          + 2.5 * gauss2(ax, y, 44.0, -56.0, 12.0, 10.0)                # jowls
          + 3.0 * gauss2(x, y, 0.0, -100.0, 22.0, 8.0))                 # submental fullness
    dx = 1.5 * sx * gauss2(ax, y, 45.0, -56.0, 12.0, 10.0)
    shape = _xyz(dx, dy, dz) * fr[:, None] / 25.0             # the listed amounts accrue over 25 years

    skin = np.clip(1.0 - masks["eye"] - masks["band"] - masks["nostril"], 0.0, 1.0) * (1.0 - masks["hair"])
    lines = np.zeros_like(x)
    for k in range(4):                                           # forehead lines
        yk = 50.0 + 8.0 * k + 1.5 * np.cos(x / 18.0)
        lines += np.exp(-0.5 * ((y - yk) / 1.6) ** 2) * _smoothstep((48.0 - ax) / 14.0) * (0.8 + 0.2 * (k % 2))
    for sgn in (-1.0, 1.0):                                      # glabellar (frown) lines
        lines += 0.8 * np.exp(-0.5 * ((x - sgn * 5.0) / 1.3) ** 2) * gauss2(0.0, y, 0.0, EYE_Y + 12.0, 1.0, 5.0)
    for k in range(3):                                           # crow's feet
        ang = np.radians(-25.0 + 25.0 * k)
        d = (ax - 52.0) * np.sin(ang) - (y - EYE_Y) * np.cos(ang)
        lines += np.exp(-0.5 * (d / 1.3) ** 2) * gauss2(ax, y, 54.0, EYE_Y, 5.0, 7.0)
    under = y - (EYE_Y - 7.0 - 0.004 * (ax - 31.0) ** 2)         # under-eye line
    lines += 0.7 * np.exp(-0.5 * (under / 1.4) ** 2) * gauss2(ax, 0.0, 31.0, 0.0, 10.0, 1.0)
    lines = lines * fr
    folds = lines + (0.9 * nasolabial + 0.7 * marionette) * fr
    blotch = smooth_field(g.surf, 4.0, rng_for(300, 0), weight)[:, 0]
    mottle = smooth_field(g.surf, 12.0, rng_for(300, 1), weight)[:, 0]
    grey = SKIN.mean() / SKIN - 1.0
    # the ramp from 20 to 70 (50 years), relative to each face's own albedo, so that it shows alike
    # on every skin: wrinkles, pigment blotches, lips and brows fading towards the skin colour
    lines_w, blotch_w, mottle_w, lips_w, brow_w = AGE_RAMP
    # (the painted lines of lashes and lips' parting stay dark)
    toward_skin = np.clip(SKIN[None, :] / np.maximum(mean_alb, 1e-3) - 1.0, -0.5, 3.0)
    fading = (lips_w * masks["lips"] + brow_w * masks["brow"]) * skin * np.clip(1.0 - masks["lash"], 0.0, 1.0)
    ramp = skin[:, None] * (-lines_w * folds[:, None] * np.array([1.0, 1.05, 1.1])
                            + blotch_w * blotch[:, None] * np.array([1.0, 1.15, 1.35])
                            + mottle_w * mottle[:, None] * np.array([1.0, 1.2, 1.4])
                            - 0.1 + 0.1 * grey[None, :]) + fading[:, None] * toward_skin   # darker, greyer
    span = AGE_RANGE[1] - AGE_RANGE[0]
    to_ref = (AGE_REFERENCE - AGE_RANGE[0]) / span
    # greying is additive (towards one grey whatever the hair colour), so the mean albedo carries
    # its value at the reference age
    greying = GREY_AT_70 * masks["hair"][:, None] * (np.array([0.17, 0.16, 0.15]) - HAIR)[None, :]
    return AgeFields(shape=shape, albedo=greying / span, gain=ramp / span, mean_albedo=greying * to_ref)


class EthnicFields(NamedTuple):
    """What ``ethnic_extras`` returns, per level (E, V, 3): ``shape`` beyond the measures (mm) and
    additive ``albedo`` offsets, both centred over levels, and albedo ``gain`` averaging 1."""

    shape: np.ndarray
    gain: np.ndarray
    albedo: np.ndarray


def ethnic_extras(g: Grid, v: np.ndarray, masks: dict[str, np.ndarray]) -> EthnicFields:
    """Per level (E, V, 3): shape beyond the measures (mm), albedo gains and additive albedo offsets
    (``EthnicFields``).

    The gains scale the albedo of skin, brows and lips, the identity's own included, by the level's
    skin tone relative to ``albedo.SKIN`` (so brows and lips darken with the skin, and skin detail
    keeps its relative contrast); eye whites, irises and the mouth band stay. The offsets set the
    level's hair colour.

    East Asian eyes (``EAST_ASIAN_EYES``): a lower palpebral fissure with a steeper canthal tilt, a
    fuller upper lid and, for about half of East Asians, no visible upper-lid crease (the monolid:
    Jeong et al. 1999, *Arch. Ophthalmol.* 117:907; Park 1999, *Plast. Reconstr. Surg.* 104:1016),
    so the level carries half the crease.
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
    shapes, gains, albs = [], [], []
    opening, tilt, lid, crease = EAST_ASIAN_EYES
    around = gauss2(ax, y, EYE_X, EYE_Y, 12.0, 7.0) * fr
    for e in ETHNICITIES:
        br, lp, ey, tp = spec[e]
        s = np.zeros_like(v)
        s[:, 2] = br * bridge + lp * lips + ey * eyes + tp * tip
        gain = 1.0 + skin[:, None] * (SKIN_TONES[e] / SKIN - 1.0)[None, :]
        alb = masks["hair"][:, None] * (HAIR_TONES[e] - HAIR)[None, :]
        if e == "east_asian":
            # lids closer (``opening`` mm at the lid margins, 6 mm from the fissure's centre line),
            # outer canthi up (``tilt`` mm at 15 mm from the eye's centre), a fuller upper lid
            s[:, 1] += opening / 6.0 * (y - (EYE_Y + 0.8)) * around
            s[:, 1] += tilt / 15.0 * (ax - EYE_X) * gauss2(ax, y, EYE_X, EYE_Y, 13.0, 6.0) * fr
            s[:, 2] += lid * gauss2(ax, y, EYE_X, EYE_Y + 7.0, 10.0, 3.0) * fr
            gain = gain * (1.0 + crease * masks["crease"][:, None] * (1.0 / CREASE - 1.0)[None, :])
        shapes.append(s)
        gains.append(gain)
        albs.append(alb)
    shapes, gains, albs = np.stack(shapes), np.stack(gains), np.stack(albs)
    return EthnicFields(shapes - shapes.mean(0), gains / gains.mean(0), albs - albs.mean(0))

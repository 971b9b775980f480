"""FACS action units of the embedded model and the seven expressions built from them.

Each action unit (Ekman & Friesen, *Facial Action Coding System*, 1978; Ekman, Friesen & Hager 2002)
is a displacement field (V, 3) mm at full activation, hand-placed on the mean face. Units that part
the lips (AU10, AU16, AU25, AU26) move the rows above and below the mouth line apart; the thin dark
band painted along that line (``albedo.MOUTH_BAND``) then stretches into the open mouth, and AU25
and AU26 move it back into the head (``teeth.MOUTH_RECESSION``) so that the teeth show in front of it.

Expression prototypes (``EXPRESSIONS``) follow the EMFACS emotion prototypes of Friesen & Ekman
(1983, *EMFACS-7: Emotional Facial Action Coding System*, unpublished manual), as tabulated by
Matsumoto, Keltner, Shiota, O'Sullivan & Frank (2008), "Facial expressions of emotion", in
*Handbook of Emotions*, 3rd ed., ch. 13: happiness 6+12; sadness 1+4+15; surprise 1+2+5B+26;
fear 1+2+4+5+7+20+26; anger 4+5+7+23; disgust 9+15+16. Units added beyond that core (marked *)
are lip parting (AU25) where the jaw drops or the lips stretch, AU10 in disgust and AU17 in sadness,
units that the Glasgow group's perceptual AU models also report (Yu, Garrod & Schyns 2012,
"Perception-driven facial expression synthesis", *Computers & Graphics* 36(3):152-162; Jack,
Garrod, Yu, Caldara & Schyns 2012, *PNAS* 109(19):7241-7244); check those papers before quoting a
particular combination from them. Weights below 1 soften a unit so the prototypes blend legibly.

==========  ==============================================================
expression  AU weights
==========  ==============================================================
neutral     (none)
happy       AU6 1, AU12 1, AU25* 0.4
surprise    AU1 1, AU2 1, AU5 1, AU26 1, AU25* 1
fear        AU1 1, AU2 0.7, AU4 0.7, AU5 1, AU7 0.5, AU20 1, AU26 0.5, AU25* 1
disgust     AU9 1, AU15 0.8, AU16 0.8, AU10* 0.6, AU25* 0.5
anger       AU4 1, AU5 0.8, AU7 1, AU23 1
sad         AU1 1, AU4 0.6, AU15 1, AU17* 0.5
==========  ==============================================================

Intensity (0..1) scales all weights linearly (``FaceModel.expression_offset``).
"""
from __future__ import annotations

import numpy as np

from .albedo import CH_X, EYE_HALF, EYE_X
from .geometry import EYE_Y, MOUTH_Y, Grid, gauss2
from .teeth import MOUTH_RECESSION

__all__ = ["AU_NAMES", "EXPRESSIONS", "action_units"]

AU_NAMES = ("AU1", "AU2", "AU4", "AU5", "AU6", "AU7", "AU9", "AU10", "AU12", "AU15", "AU16", "AU17",
            "AU20", "AU23", "AU25", "AU26")

EXPRESSIONS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"AU6": 1.0, "AU12": 1.0, "AU25": 0.4},
    "surprise": {"AU1": 1.0, "AU2": 1.0, "AU5": 1.0, "AU25": 1.0, "AU26": 1.0},
    "fear": {"AU1": 1.0, "AU2": 0.7, "AU4": 0.7, "AU5": 1.0, "AU7": 0.5, "AU20": 1.0, "AU25": 1.0,
             "AU26": 0.5},
    "disgust": {"AU9": 1.0, "AU10": 0.6, "AU15": 0.8, "AU16": 0.8, "AU25": 0.5},
    "anger": {"AU4": 1.0, "AU5": 0.8, "AU7": 1.0, "AU23": 1.0},
    "sad": {"AU1": 1.0, "AU4": 0.6, "AU15": 1.0, "AU17": 0.5},
}


def _smoothstep(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def action_units(g: Grid, v: np.ndarray, upper_row: int) -> np.ndarray:
    """Displacement fields (16, V, 3) mm of ``AU_NAMES`` on the mean surface ``v`` (V, 3).

    ``upper_row`` is the first grid row above the mouth line: rows >= it belong to the upper lip.
    """
    x, y = v[:, 0], v[:, 1]
    ax, sx, fr = np.abs(x), np.sign(x), g.front
    row = np.arange(x.size) // g.cols
    above = (row >= upper_row).astype(float)
    below = 1.0 - above
    # lateral profile of the lip opening: 1 at the centre, 0 at the mouth corners
    lens = np.sqrt(np.clip(1.0 - (x / (CH_X * 0.97)) ** 2, 0.0, None))
    eye_x = _smoothstep((1.15 - np.abs((ax - EYE_X) / EYE_HALF)) / 0.3)
    # lid fields ramp across the whole fissure (0 at the opposite lid, 1 at their own lid), so raising
    # or lowering a lid stretches or compresses the painted eye instead of folding the mesh
    upper_lid = (eye_x * _smoothstep((y - (EYE_Y - 4.0)) / 10.0)
                 * np.exp(-0.5 * (np.clip(y - (EYE_Y + 6.0), 0.0, None) / 7.0) ** 2))
    lower_lid = (eye_x * _smoothstep(((EYE_Y + 6.0) - y) / 10.0)
                 * np.exp(-0.5 * (np.clip((EYE_Y - 4.0) - y, 0.0, None) / 5.0) ** 2))
    zero = np.zeros_like(x)

    def f(dx=zero, dy=zero, dz=zero):
        return np.stack([dx, dy, dz], -1) * fr[:, None]

    corner = gauss2(ax, y, CH_X, MOUTH_Y, 9.0, 8.0)
    # jaw drop: the lower lip splits from the upper at the mouth line, lateral cheeks stretch smoothly
    jaw = (_smoothstep((62.0 - ax) / 30.0) * _smoothstep((y + 125.0) / 25.0)
           * (lens * below + (1.0 - lens) * _smoothstep((MOUTH_Y - y) / 18.0)))
    # the mouth line's two rows: they go back into the head as the mouth opens (``teeth``)
    inner = ((row == upper_row) | (row == upper_row - 1)) * lens
    lip_up = above * lens * np.exp(-0.5 * ((y - MOUTH_Y) / 12.0) ** 2)
    lip_lo = below * lens * np.exp(-0.5 * ((y - MOUTH_Y) / 10.0) ** 2)
    units = {
        "AU1": f(dy=5.0 * gauss2(ax, y, 13.0, 42.0, 11.0, 10.0), dx=-0.8 * sx * gauss2(ax, y, 13.0, 40.0, 10.0, 6.0)),
        "AU2": f(dy=5.0 * gauss2(ax, y, 42.0, 40.0, 12.0, 10.0)),
        "AU4": f(dy=-4.5 * gauss2(ax, y, 20.0, 38.0, 14.0, 8.0), dx=-3.5 * sx * gauss2(ax, y, 18.0, 38.0, 10.0, 8.0),
                 dz=1.0 * gauss2(x, y, 0.0, 38.0, 8.0, 6.0)),
        "AU5": f(dy=2.8 * upper_lid),
        "AU6": f(dy=2.5 * gauss2(ax, y, 40.0, 4.0, 14.0, 10.0) + 1.8 * lower_lid,
                 dz=1.5 * gauss2(ax, y, 40.0, 4.0, 14.0, 10.0)),
        "AU7": f(dy=2.2 * lower_lid - 0.8 * upper_lid),
        "AU9": f(dy=3.0 * gauss2(x, y, 0.0, -8.0, 16.0, 10.0) - 2.0 * gauss2(ax, y, 14.0, 38.0, 10.0, 6.0)
                 + 1.5 * lip_up, dz=-0.8 * gauss2(x, y, 0.0, 22.0, 6.0, 6.0)),
        "AU10": f(dy=3.5 * lip_up + 1.0 * gauss2(ax, y, 18.0, -22.0, 12.0, 8.0)),
        "AU12": f(dx=5.0 * sx * corner, dy=6.5 * corner + 1.5 * gauss2(ax, y, 38.0, -10.0, 14.0, 10.0),
                  dz=-2.0 * corner),
        "AU15": f(dy=-4.0 * gauss2(ax, y, CH_X, MOUTH_Y - 2.0, 9.0, 8.0), dx=-0.8 * sx * corner),
        "AU16": f(dy=-3.5 * lip_lo),
        "AU17": f(dy=2.5 * gauss2(x, y, 0.0, -66.0, 18.0, 12.0) * below,
                  dz=1.8 * gauss2(x, y, 0.0, MOUTH_Y - 7.0, 18.0, 6.0) * below),
        "AU20": f(dx=4.0 * sx * gauss2(ax, y, CH_X, MOUTH_Y, 12.0, 10.0),
                  dy=-1.2 * gauss2(ax, y, CH_X, MOUTH_Y, 12.0, 10.0)),
        "AU23": f(dx=-2.5 * sx * gauss2(ax, y, CH_X, MOUTH_Y, 8.0, 8.0),
                  dz=-1.2 * gauss2(x, y, 0.0, MOUTH_Y, 18.0, 6.0)),
        "AU25": f(dy=1.6 * lip_up - 2.6 * lip_lo, dz=-MOUTH_RECESSION["AU25"] * inner),
        "AU26": f(dy=-11.0 * jaw, dz=-3.0 * jaw - MOUTH_RECESSION["AU26"] * inner),
    }
    return np.stack([units[n] for n in AU_NAMES])

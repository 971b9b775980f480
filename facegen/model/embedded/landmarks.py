"""Named vertices of the embedded model: Farkas anthropometric points, the 68 iBUG landmarks, regions.

Every point is chosen on the mean neutral surface as the frontal vertex nearest to a target position
on the frontal plane (x, y) in mm, so the choice is a pure function of the geometry. The face's
right is -x (``facegen.model.types``), so iBUG point 0 (the jaw contour's start, the face's right)
has x < 0 and point 16 has x > 0.
"""
from __future__ import annotations

import numpy as np

from .albedo import CH_X, EYE_HALF, EYE_X, _eye_lids, brow_line, lip_heights
from .geometry import EYE_Y, MOUTH_Y, Grid

__all__ = ["mouth_rows", "points", "ibug68", "regions", "TARGETS"]

#: Target positions (x, y) mm of Farkas points on the face's left (+x); "_r" mirrors them to -x.
#: zy and go are taken at fixed azimuth instead (they lie on the side of the face, see ``points``).
TARGETS = {
    "en": (EYE_X - EYE_HALF, EYE_Y + 1.4), "ex": (EYE_X + EYE_HALF, EYE_Y - 0.2),
    "al": (16.6, -13.5), "ch": (CH_X, MOUTH_Y), "ps": (EYE_X, EYE_Y + 6.0), "pi": (EYE_X, EYE_Y - 2.8),
}
_MIDLINE = {"n": 33.0, "g": 40.0, "sn": -19.0, "ls": MOUTH_Y + 7.0, "li": MOUTH_Y - 9.0,
            "pg": -74.0, "tr": 82.0}
_SIDE = {"zy": (np.radians(70.0), 8.0), "go": (np.radians(80.0), -55.0), "t": (np.radians(95.0), 6.0)}


def _nearest(g: Grid, verts: np.ndarray, x: float, y: float, min_front: float = 0.3) -> int:
    d = (verts[:, 0] - x) ** 2 + (verts[:, 1] - y) ** 2
    d = np.where(g.front >= min_front, d, np.inf)
    return int(np.argmin(d))


def mouth_rows(g: Grid, verts: np.ndarray) -> tuple[int, int]:
    """Rows (upper, lower) just above and below the mouth line on the midline column."""
    j0 = int(np.argmin(np.abs(g.theta)))
    y = verts.reshape(g.rows, g.cols, 3)[:, j0, 1]
    upper = int(np.nonzero(y > MOUTH_Y)[0][0])
    return upper, upper - 1


def _row_vertex(g: Grid, verts: np.ndarray, row: int, x: float) -> int:
    r = verts.reshape(g.rows, g.cols, 3)[row]
    ok = g.front.reshape(g.rows, g.cols)[row] > 0.3
    j = int(np.argmin(np.where(ok, np.abs(r[:, 0] - x), np.inf)))
    return row * g.cols + j


def _side_vertex(g: Grid, verts: np.ndarray, theta: float, y: float) -> int:
    j = int(np.argmin(np.abs(g.theta - theta)))
    col = verts.reshape(g.rows, g.cols, 3)[:, j]
    i = int(np.argmin(np.abs(col[:, 1] - y)))
    return i * g.cols + j


def points(g: Grid, verts: np.ndarray) -> dict[str, int]:
    """Farkas points by abbreviation ("n", "gn", "zy_r", "zy_l" ...) -> vertex index."""
    out: dict[str, int] = {}
    for name, (x, y) in TARGETS.items():
        if name == "ch":
            up, _ = mouth_rows(g, verts)
            out["ch_l"] = _row_vertex(g, verts, up, x)
            out["ch_r"] = _row_vertex(g, verts, up, -x)
            continue
        out[f"{name}_l"] = _nearest(g, verts, x, y)
        out[f"{name}_r"] = _nearest(g, verts, -x, y)
    for name, (th, y) in _SIDE.items():
        out[f"{name}_l"] = _side_vertex(g, verts, th, y)
        out[f"{name}_r"] = _side_vertex(g, verts, -th, y)
    for name, y in _MIDLINE.items():
        out[name] = _nearest(g, verts, 0.0, y)
    j0 = int(np.argmin(np.abs(g.theta)))
    col = verts.reshape(g.rows, g.cols, 3)[:, j0]
    fr = g.front.reshape(g.rows, g.cols)[:, j0]
    nose = (col[:, 1] > -25.0) & (col[:, 1] < 20.0)
    out["prn"] = int(np.argmax(np.where(nose, col[:, 2], -np.inf))) * g.cols + j0
    # gnathion: the lowest point of the chin's front (where the chin turns under)
    chin = (col[:, 1] < -60.0) & (col[:, 1] > -110.0) & (fr > 0.5)
    zz = np.where(chin, col[:, 2], -np.inf)
    rows_chin = np.nonzero(chin)[0]
    # lowest row whose surface still faces mostly forward-down: the frontal-profile minimum of y
    # among rows within 12 mm of the most prominent chin point in z
    zmax = zz.max()
    cand = rows_chin[col[rows_chin, 2] > zmax - 12.0]
    out["gn"] = int(cand[np.argmin(col[cand, 1])]) * g.cols + j0
    up, lo = mouth_rows(g, verts)
    out["sto"] = up * g.cols + j0
    return out


def ibug68(g: Grid, verts: np.ndarray, pts: dict[str, int]) -> np.ndarray:
    """The 68 iBUG landmarks (vertex indices) in the standard order (0-16 jaw from the face's right)."""
    idx: list[int] = []
    # 0-16 jaw contour: targets on the frontal outline, face's right (-x) to left, 8 = gnathion. The
    # 300-W convention starts the contour near the level of the eyes (by the tragus); targets were set
    # by the mean placement of dlib's 300-W predictor on 40 frontal renders (scripts/judge_faces.py)
    jaw = [(67.4, 29.8), (66.7, 11.1), (65.2, -7.7), (61.1, -24.5), (53.6, -41.1), (44.2, -58.2),
           (30.5, -70.5), (15.9, -78.5)]
    idx += [_nearest(g, verts, -x, y, 0.05) for x, y in jaw]
    idx.append(pts["gn"])
    idx += [_nearest(g, verts, x, y, 0.05) for x, y in reversed(jaw)]
    # 17-21 right brow outer -> inner, 22-26 left brow inner -> outer
    bx = np.array([49.0, 41.0, 32.0, 23.0, 14.0])
    by = brow_line(bx)[0]
    idx += [_nearest(g, verts, -x, y) for x, y in zip(bx, by)]
    idx += [_nearest(g, verts, x, y) for x, y in zip(bx[::-1], by[::-1])]
    # 27-30 nose bridge down to the tip (30 = pronasale), 31-35 nostril base right -> left
    # (300-W: 27 on the bridge at the level of the eyes, below the nasion; 27-30 equally spaced)
    y27, y30 = EYE_Y + 1.0, float(verts[pts["prn"], 1])
    idx += [_nearest(g, verts, 0.0, y27 + (y30 - y27) * k / 3.0) for k in range(3)] + [pts["prn"]]
    idx += [_nearest(g, verts, x, y) for x, y in ((-9.5, -16.0), (-5.0, -18.0), (0.0, -19.0),
                                                  (5.0, -18.0), (9.5, -16.0))]
    # 36-41 right eye (outer corner, upper lid x2, inner corner, lower lid x2); 42-47 left eye
    def eye(sign: float) -> list[int]:
        xs = EYE_X + EYE_HALF * np.array([1.0, 1 / 3, -1 / 3, -1.0, -1 / 3, 1 / 3])
        up, lo, _ = _eye_lids(xs)
        ys = [0.5 * (up[0] + lo[0]), up[1], up[2], 0.5 * (up[3] + lo[3]), lo[4], lo[5]]
        return [_nearest(g, verts, sign * x, y) for x, y in zip(xs, ys)]
    right = eye(-1.0)
    left = eye(1.0)
    idx += right
    idx += [left[3], left[2], left[1], left[0], left[5], left[4]]
    # 48-59 outer lip from the right corner over the upper lip, 60-67 inner lip
    up, lo = mouth_rows(g, verts)
    lxs = np.array([17.0, 8.0])
    uh, lh = lip_heights(lxs)
    uh, lh = 0.9 * uh, 0.9 * lh
    idx.append(pts["ch_r"])
    idx += [_nearest(g, verts, -lxs[0], MOUTH_Y + uh[0]), _nearest(g, verts, -lxs[1], MOUTH_Y + uh[1]), pts["ls"],
            _nearest(g, verts, lxs[1], MOUTH_Y + uh[1]), _nearest(g, verts, lxs[0], MOUTH_Y + uh[0])]
    idx.append(pts["ch_l"])
    idx += [_nearest(g, verts, lxs[0], MOUTH_Y - lh[0]), _nearest(g, verts, lxs[1], MOUTH_Y - lh[1]), pts["li"],
            _nearest(g, verts, -lxs[1], MOUTH_Y - lh[1]), _nearest(g, verts, -lxs[0], MOUTH_Y - lh[0])]
    ix = 0.8 * CH_X
    idx += [_row_vertex(g, verts, up, -ix), _row_vertex(g, verts, up, -9.0), _row_vertex(g, verts, up, 0.0),
            _row_vertex(g, verts, up, 9.0), _row_vertex(g, verts, up, ix),
            _row_vertex(g, verts, lo, 9.0), _row_vertex(g, verts, lo, 0.0), _row_vertex(g, verts, lo, -9.0)]
    out = np.asarray(idx, dtype=np.int32)
    assert out.shape == (68,)
    return out


def regions(g: Grid, verts: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Named vertex sets (int32 index arrays) of the mean surface."""
    x, y, z = verts[:, 0], verts[:, 1], verts[:, 2]
    ax = np.abs(x)
    fr = g.front
    face = (fr > 0.4) & (y > -95.0) & (y < 55.0)
    sel = {
        "face": face,
        "forehead": (fr > 0.3) & (y >= 36.0) & (y < 90.0),
        "brows": masks["brow"] > 0.5,
        "eyes": (masks["eye"] > 0.5) | (masks["lash"] > 0.5),
        "nose": (fr > 0.6) & (ax < 21.0) & (y > -21.0) & (y < 32.0) & (z > 96.0),
        "mouth": (masks["lips"] > 0.5) | (masks["band"] > 0.5),
        "cheeks": (fr > 0.3) & (ax > 26.0) & (ax < 62.0) & (y > -30.0) & (y < 12.0),
        "chin": (fr > 0.5) & (ax < 22.0) & (y < -52.0) & (y > -92.0),
        "jaw": (fr > 0.05) & (y < -40.0) & (y > -92.0) & (ax > 24.0),
        "ears": (np.abs(np.abs(np.arctan2(x, z - 0.0)) - np.radians(97.0)) < np.radians(14.0))
                & (np.abs(y - 8.0) < 34.0),
        "neck": y < -100.0,
    }
    sel["scalp"] = (y > 40.0) & ~sel["forehead"] & ~sel["ears"]
    return {k: np.nonzero(v)[0].astype(np.int32) for k, v in sel.items()}

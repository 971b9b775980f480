"""An off-the-shelf face detector (OpenCV's Haar cascades) finds embedded-model faces from -45 to +45 deg yaw.

Detectors: the frontal cascade at every yaw, and the profile cascade on the image and on its mirror
image (the cascade is trained on faces looking one way). A detection counts only when its box
contains the projected, visible nose tip (iBUG landmark 30) and is no bigger than 1.5 face heights,
so a false alarm elsewhere, or a box around the whole head, does not pass. Measured on 20 other
identities: 0 deg 100%, +-30 deg 95%, +-45 deg 80-85% (the profile cascade is the weak one). On this
test's 24 identities the frontal cascade alone finds 83% (model v3), 92% (v4) and 92% (v5) of frontal
faces; over the first 48 identities of the same draw 90% (v4 and v5). Its misses are african faces,
which this test's one fixed light renders dark (it does not expose for the face). A v5 build with
additive gender and ethnicity albedo (before FactorModel's group gains) found 83% and 81%.
Renders: ``facegen.render.render`` at 224 x 224 px on a mid-grey background, one light 20 deg above.
"""
from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2", reason="opencv-python-headless is not installed")
render_mod = pytest.importorskip("facegen.render", reason="facegen.render is not importable")
if not hasattr(cv2, "CascadeClassifier"):
    pytest.skip("this OpenCV build has no Haar cascades (OpenCV >= 5 moved them out; use 4.x)",
                allow_module_level=True)

YAWS = (-45.0, -30.0, 0.0, 30.0, 45.0)
N_IDS = 24   # at 8, one or two frontal misses decide the test (v3 and v4 each miss 1-2 in 8 for some draws)


def _cascade(name: str):
    c = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if c.empty():
        pytest.skip(f"OpenCV cascade {name} not found in {cv2.data.haarcascades}")
    return c


def _found(grey: np.ndarray, lm: np.ndarray, frontal, profile) -> str:
    """Which detector found the face whose projected iBUG landmarks are ``lm`` (68, 3); "" if none.

    A box counts when it contains the visible nose tip (landmark 30) and is at most 1.5 times the
    face height (brow to chin, landmarks 19/24 to 8): a box around the whole head does not count.
    """
    w = grey.shape[1]
    nose = lm[30]
    if nose[2] < 0.5:
        return ""
    top = min(lm[19, 1], lm[24, 1])
    biggest = int(1.5 * (lm[8, 1] - top))
    tries = [("frontal", frontal, grey, False), ("profile", profile, grey, False),
             ("profile-mirrored", profile, np.ascontiguousarray(grey[:, ::-1]), True)]
    for name, det, img, mirrored in tries:
        for x, y, bw, bh in det.detectMultiScale(img, scaleFactor=1.05, minNeighbors=3, minSize=(30, 30),
                                                  maxSize=(biggest, biggest)):
            if mirrored:
                x = w - x - bw
            if x <= nose[0] <= x + bw and y <= nose[1] <= y + bh:
                return name
    return ""


def test_haar_cascades_find_faces_across_yaw(embedded):
    m = embedded
    frontal = _cascade("haarcascade_frontalface_default.xml")
    profile = _cascade("haarcascade_profileface.xml")
    rng = np.random.default_rng(2018)
    lighting = render_mod.Lighting(lights=(render_mod.DirectionalLight(0.0, 20.0, 0.65),), ambient=0.35)
    hits = {yaw: [] for yaw in YAWS}
    for _ in range(N_IDS):
        v, a = m.compose(m.sample_identity(rng))
        for yaw in YAWS:
            cam = render_mod.Camera(yaw=yaw, center=(0.0, -5.0, 0.0), scale=0.8)
            out = render_mod.render(v, m.triangles, a, camera=cam, lighting=lighting, size=224,
                                    background=(0.5, 0.5, 0.5), landmarks=m.landmarks)
            # histogram equalisation, as in OpenCV's own cascade-classifier tutorial
            grey = cv2.equalizeHist(cv2.cvtColor(np.ascontiguousarray(out.image), cv2.COLOR_RGB2GRAY))
            hits[yaw].append(_found(grey, out.landmarks_2d, frontal, profile))
    rate = {yaw: np.mean([h != "" for h in hs]) for yaw, hs in hits.items()}
    assert np.mean([h == "frontal" for h in hits[0.0]]) >= 0.8, hits   # frontal faces look frontal
    assert rate[-30.0] >= 0.75 and rate[30.0] >= 0.75, hits
    assert rate[-45.0] >= 0.6 and rate[45.0] >= 0.6, hits
    assert np.mean(list(rate.values())) >= 0.8, hits

"""The embedded model's catchlights (``facegen.model.embedded.catchlights``): a small white disc in
front of each painted iris, seen in every pose and expression of the designs, on the eye and
nowhere else, and moving with the iris."""
from __future__ import annotations

import numpy as np
import pytest

from facegen.model.types import Identity
from facegen.render import Camera, DirectionalLight, Lighting, render


def _renders(m, verts, alb, yaw, pitch, size=224):
    """(image, image without the catchlights' triangles, mask of the painted eyes' pixels)."""
    cl = m.regions["catchlights"]
    keep = ~np.isin(m.triangles, cl).any(axis=1)
    lo, hi = m.mean_shape.min(0), m.mean_shape.max(0)
    kw = dict(camera=Camera(yaw=yaw, pitch=pitch, center=tuple((lo + hi) / 2)), size=size,
              lighting=Lighting(lights=(DirectionalLight(azimuth=20, elevation=-10, intensity=0.7),), ambient=0.35))
    eyes = np.zeros_like(alb)
    eyes[m.regions["eyes"]] = 1.0            # the painted eye (fissure and lashes) in white, the rest black
    eye_mask = render(verts, m.triangles[keep], eyes, **{**kw, "lighting": Lighting(lights=(), ambient=1.0)}).image
    return render(verts, m.triangles, alb, **kw).image, render(verts, m.triangles[keep], alb, **kw).image, \
        eye_mask[..., 0] > 0


@pytest.mark.parametrize("expression", ["neutral", "surprise", "anger", "happy", "sad"])
def test_each_eye_shows_its_catchlight_on_the_eye(embedded, expression):
    rng = np.random.default_rng(3)
    m = embedded
    for yaw, pitch in ((0, 0), (30, 0), (-30, 15), (15, -20)):
        ident = Identity(shape=rng.standard_normal(m.n_shape), texture=rng.standard_normal(m.n_texture),
                         gender="female", ethnicity=str(rng.choice(m.factors.ethnicities)), base_age=40.0)
        v, a = m.compose(ident, expression=expression)
        img, without, eye = _renders(m, v, a, yaw, pitch)
        brighter = (img.astype(int) - without).min(axis=2) > 20
        assert brighter.any(), (expression, yaw, pitch)
        # on the eye: every changed pixel is within a pixel of the painted eye
        near_eye = eye.copy()
        for ax in (0, 1):
            near_eye |= np.roll(eye, 1, ax) | np.roll(eye, -1, ax)
        changed = (img != without).any(axis=2)
        assert changed[~near_eye].sum() == 0, (expression, yaw, pitch, changed[~near_eye].sum())
        # two separate spots, one per eye (turned 30 deg, the far eye's disc can fall between pixels)
        cols = np.nonzero(brighter.any(axis=0))[0]
        assert abs(yaw) > 20 or cols.max() - cols.min() > 20, (expression, yaw, pitch)


def test_catchlights_move_with_the_iris(embedded):
    m = embedded
    cl = m.regions["catchlights"]
    v0 = m.mean_shape[cl]
    # identity, factors and expressions move every disc vertex as one
    for field in (m.shape_basis[:5], m.expression_basis, m.factors.ethnicity_shape):
        d = field[:, cl]
        half = len(cl) // 2
        for part in (d[:, :half], d[:, half:]):
            np.testing.assert_allclose(part, np.broadcast_to(part[:, :1], part.shape), atol=1e-6)
    np.testing.assert_array_equal(m.mean_albedo[cl], 1.0)
    assert np.ptp(v0[:len(cl) // 2, 0]) < 2.0                  # a disc about 1.8 mm across

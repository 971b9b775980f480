"""The embedded model's teeth (``facegen.model.embedded.teeth``): hidden behind the lips while the
mouth is closed, whatever the identity, pose or closed-mouth expression; in front of the dark back
of the mouth when it opens; the lower arch drops with the jaw and the upper one stays."""
from __future__ import annotations

import numpy as np
import pytest

from facegen.model.embedded.teeth import ENAMEL, GUM
from facegen.model.types import Identity
from facegen.render import Camera, DirectionalLight, Lighting, render


def _pair(m, verts, alb, yaw=0.0, pitch=0.0, size=160):
    """(image with teeth, image without): the same render with the teeth's triangles dropped."""
    teeth = m.regions["teeth"]
    keep = ~np.isin(m.triangles, teeth).any(axis=1)
    lo, hi = m.mean_shape.min(0), m.mean_shape.max(0)
    kw = dict(camera=Camera(yaw=yaw, pitch=pitch, center=tuple((lo + hi) / 2), scale=1.4), size=size,
              lighting=Lighting(lights=(DirectionalLight(azimuth=-20, elevation=20, intensity=0.7),), ambient=0.35))
    return render(verts, m.triangles, alb, **kw).image, render(verts, m.triangles[keep], alb, **kw).image


def _face(m, rng, expression, k=1.0, sd=1.0):
    ident = Identity(shape=sd * rng.standard_normal(m.n_shape), texture=rng.standard_normal(m.n_texture),
                     gender=str(rng.choice(m.factors.genders)), ethnicity=str(rng.choice(m.factors.ethnicities)),
                     base_age=float(rng.uniform(*m.factors.age_range)))
    return m.compose(ident, expression=expression, intensity=k)


def test_teeth_are_appended_and_carry_no_identity_colour(embedded):
    t, c = embedded.regions["teeth"], embedded.regions["catchlights"]
    assert t.min() == embedded.n_vertices - len(t) - len(c) and c.max() == embedded.n_vertices - 1
    assert not np.isin(t, embedded.landmarks).any() and not np.isin(t, embedded.regions["face"]).any()
    np.testing.assert_array_equal(embedded.texture_basis[:, t], 0.0)
    np.testing.assert_array_equal(embedded.factors.ethnicity_albedo[:, t], 0.0)
    a = embedded.mean_albedo[t]
    assert np.median(a @ [0.2126, 0.7152, 0.0722]) > 0.8 * (ENAMEL @ [0.2126, 0.7152, 0.0722])  # mostly enamel
    gum = np.linalg.norm(a - GUM, axis=1) < 0.05
    assert 0.1 < gum.mean() < 0.3 and (a[gum, 0] > 2 * a[gum, 1]).all()     # a band of pink gum at the roots


@pytest.mark.parametrize("expression", ["neutral", "anger", "sad"])
def test_closed_mouth_hides_the_teeth_for_any_identity_and_pose(embedded, expression):
    rng = np.random.default_rng(7)
    for yaw, pitch, sd in ((0, 0, 1.0), (30, 0, 2.0), (-30, 15, 2.0), (0, -25, 2.0), (15, 25, 1.0)):
        v, a = _face(embedded, rng, expression, sd=sd)
        with_teeth, without = _pair(embedded, v, a, yaw, pitch)
        assert np.array_equal(with_teeth, without), (expression, yaw, pitch, np.abs(with_teeth.astype(int) - without).max())


@pytest.mark.parametrize("expression", ["happy", "surprise", "fear", "disgust"])
def test_open_mouth_shows_enamel_in_front_of_the_dark_mouth(embedded, expression):
    rng = np.random.default_rng(8)
    v, a = _face(embedded, rng, expression)
    with_teeth, without = _pair(embedded, v, a)
    changed = np.abs(with_teeth.astype(int) - without).max(axis=2) > 30
    assert changed.sum() > 40, changed.sum()                              # a visible row of teeth
    assert with_teeth[changed].mean() > without[changed].mean() + 60      # light teeth on the dark back


def test_the_lower_arch_drops_with_the_jaw_and_the_upper_stays(embedded):
    m = embedded
    t = m.regions["teeth"]
    k25, k26 = m.expression_names.index("AU25"), m.expression_names.index("AU26")
    lo = t[m.mean_shape[t, 1] < m.mean_shape[t, 1].min() + 3.0]          # the lower arch's roots
    up = t[m.mean_shape[t, 1] > m.mean_shape[t, 1].max() - 3.0]          # the upper arch's roots
    assert m.expression_basis[k26, lo, 1].mean() < -8.0                   # drops about as far as the lower lip
    np.testing.assert_allclose(m.expression_basis[:, up, 1], 0.0)         # the upper arch never moves up or down
    np.testing.assert_allclose(m.expression_basis[k25, t, :2], 0.0)       # parting the lips moves no tooth

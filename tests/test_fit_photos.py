"""scripts/fit_photos.py: the evolution strategy that fits a model's identity to a face embedding.
dlib is not needed: the tests give it a known distance, or a pixel embedding of renders."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_scripts = Path(__file__).parents[1] / "scripts"
sys.path.insert(0, str(_scripts))
_spec = importlib.util.spec_from_file_location("fit_photos", _scripts / "fit_photos.py")
fp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fp)


def _problem(k=30, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((16, k)) / np.sqrt(k)
    truth = rng.standard_normal(k)
    return (lambda c: float(np.linalg.norm(a @ (c - truth)))), truth


def test_fit_finds_a_known_target_and_is_reproducible():
    dist, truth = _problem()
    coeffs, history = fp.fit(dist, truth.size, iters=80, beta=0.0, seed=3)
    assert history[0] == pytest.approx(dist(np.zeros(truth.size)))
    assert dist(coeffs) == min(history) < 0.3 * history[0]       # beta 0: the closest mean of all steps
    assert np.all(np.abs(coeffs) <= 3.0)
    again, h2 = fp.fit(dist, truth.size, iters=80, beta=0.0, seed=3)
    np.testing.assert_array_equal(again, coeffs)
    assert h2 == history


def test_beta_keeps_the_coefficients_small():
    dist, truth = _problem()
    free, _ = fp.fit(dist, truth.size, iters=60, beta=0.0, seed=1)
    held, hist = fp.fit(dist, truth.size, iters=60, beta=2.0, seed=1)
    assert np.sqrt(np.mean(held ** 2)) < 0.6 * np.sqrt(np.mean(free ** 2))
    assert dist(held) < hist[0]                    # still closer than the start


def test_fit_face_brings_a_render_closer_to_another_render(embedded):
    """With a plain pixel embedding at 48 px, the search moves the model's face towards another
    render of the model: a target it can reach."""
    from facegen.render import Camera, DirectionalLight, Lighting
    from facegen.render.api import render

    m = embedded
    lo, hi = m.mean_shape.min(0), m.mean_shape.max(0)

    def embed(v, a):
        img = render(np.asarray(v, np.float32), m.triangles, np.clip(a, 0, 1).astype(np.float32),
                     camera=Camera(center=tuple((lo + hi) / 2)), size=48, background=(0.5, 0.5, 0.5),
                     lighting=Lighting(lights=(DirectionalLight(azimuth=0.0, elevation=0.0),), ambient=0.3)).image
        return img.astype(np.float64).ravel() / 255.0 / 20.0

    rng = np.random.default_rng(4)
    group = ("male", "african", 60.0)
    target = embed(*fp.model_face(m, rng.standard_normal(m.n_shape + m.n_texture), group))
    r = fp.fit_face(m, embed, target, iters=12, population=8, sigma=0.4, seed=0)
    assert r["group"][0] in m.factors.genders and r["group"][1] in m.factors.ethnicities
    assert r["end"] < 0.9 * r["start"]
    assert r["embedding"].shape == target.shape

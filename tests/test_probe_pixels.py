"""Probe images show what their records declare: samples of the probe-morph and probe-cue presets,
rendered by the real sampler, equal an independent render of the record's coefficients, factors,
pose and light (``FaceModel.compose`` + ``facegen.render.render``); a shape-only morph moves the
silhouette and keeps the texture, a texture-only morph keeps the silhouette and changes the colours,
and a cue-conflict hybrid has one identity's silhouette with another's colours.

The designs are the presets as shipped, rendered as PNG at full detail (so nothing is lost to JPEG
or to a coarser mesh); neither changes any sample's values.
"""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from facegen.design import PRESETS, identity_for, parse_config
from facegen.design.plan import ShardSpec
from facegen.design.probe import probe_condition
from facegen.model.types import Identity
from facegen.render import Camera, DirectionalLight, Lighting, render
from facegen.sampler import render_samples
from facegen.shards.encode import decode_image


def _design(name: str):
    raw = copy.deepcopy(PRESETS[name])
    raw["render"].update(format="png", detail="full", extras=["coeffs", "mask"])
    return parse_config(raw)


def _sampled(cfg, pairs):
    """{(identity, sample): (image (H, W, 3) uint8, mask (H, W) bool, record)} from the real sampler."""
    spi = cfg.samples_per_identity
    shard = ShardSpec("probe-000000.tar", "probe", 0, np.array([i * spi + s for i, s in pairs], np.int64))
    out = {}
    for item in render_samples(cfg, shard):
        rec = json.loads(item["json"])
        mask = decode_image(item["mask.png"])[..., 0] > 127   # decoded as RGB
        out[rec["identity"], rec["sample"]] = (decode_image(item["png"]), mask, rec)
    return out


def _independent(model, rec, shape_coeffs=None, texture_coeffs=None):
    """RenderOutput of the face and scene a record declares, composed through the model's public API
    (optionally with other coefficients)."""
    ident = Identity(shape=np.asarray(rec["shape_coeffs"] if shape_coeffs is None else shape_coeffs),
                     texture=np.asarray(rec["texture_coeffs"] if texture_coeffs is None else texture_coeffs),
                     gender=rec["gender"], ethnicity=rec["ethnicity"], base_age=rec["base_age"])
    verts, alb = model.compose(ident, age=rec["age"], expression=rec["expression"],
                               intensity=rec["expression_intensity"])
    lo, hi = model.mean_shape.min(0), model.mean_shape.max(0)   # the head centre: the mean face's box
    p, li = rec["pose_deg"], rec["light"]
    cam = Camera(yaw=p["yaw"], pitch=p["pitch"], roll=p["roll"], scale=rec["scale"],
                 translation=tuple(rec["translation_px"]), center=tuple(float(c) for c in (lo + hi) / 2))
    light = Lighting((DirectionalLight(li["azimuth_deg"], li["elevation_deg"], li["intensity"]),),
                     ambient=li["ambient"])
    return render(verts, model.triangles, alb, camera=cam, lighting=light, size=tuple(rec["image_size"]),
                  background=(rec["background"],) * 3, return_mask=True)


def _assert_same_render(image, mask, ref, what):
    """Pixels equal to one 1/255 step (the record's coefficients are rounded to 6 decimals, and the
    sampler composes in float64 where ``compose`` sums in float32), the silhouette to a few pixels."""
    d = np.abs(image.astype(int) - ref.image)
    assert d.max() <= 1 and (d > 0).mean() < 0.005, (what, d.max(), (d > 0).mean())
    assert (mask ^ ref.mask).sum() <= 2, (what, (mask ^ ref.mask).sum())


def _first(cfg, i, want):
    """The first sample of identity ``i`` whose probe condition has the items of ``want``."""
    for s in range(cfg.samples_per_identity):
        c = probe_condition(cfg.probe, cfg.n_identities, i, s)
        if all(c[k] == v for k, v in want.items()):
            return s
    raise AssertionError(f"no sample of identity {i} with {want}")


@pytest.fixture(scope="module")
def morph():
    cfg = _design("probe-morph")
    far = max(cfg.probe.distances)
    picks = {(i, comp, dist): (i, _first(cfg, i, {"component": comp, "distance": dist, "direction": 0}))
             for i in (0, 13) for comp, dist in (("shape", 0.0), ("shape", far), ("texture", far))}
    return cfg, picks, _sampled(cfg, list(picks.values()))


def test_morph_images_are_renders_of_their_declared_coefficients(embedded, morph):
    cfg, picks, got = morph
    for key, (i, s) in picks.items():
        image, mask, rec = got[i, s]
        _assert_same_render(image, mask, _independent(embedded, rec), key)


def test_shape_morph_moves_the_silhouette_and_texture_morph_keeps_it(embedded, morph):
    """Each morph against the same person unmorphed, rendered in the morph's own pose and light."""
    cfg, picks, got = morph
    far = max(cfg.probe.distances)
    for i in (0, 13):
        base = identity_for(cfg, embedded, i)
        rec0 = got[picks[i, "shape", 0.0]][2]   # distance 0: the person as trained
        assert np.allclose(rec0["shape_coeffs"], base.shape, atol=1e-6)
        assert np.allclose(rec0["texture_coeffs"], base.texture, atol=1e-6)

        image, mask, rec = got[picks[i, "shape", far]]
        assert np.allclose(rec["texture_coeffs"], base.texture, atol=1e-6)
        assert np.linalg.norm(np.subtract(rec["shape_coeffs"], base.shape)) == pytest.approx(far, abs=1e-4)
        unmorphed = _independent(embedded, rec, shape_coeffs=base.shape)
        assert (mask ^ unmorphed.mask).sum() > 0.01 * mask.sum(), (i, (mask ^ unmorphed.mask).sum())

        image, mask, rec = got[picks[i, "texture", far]]
        assert np.allclose(rec["shape_coeffs"], base.shape, atol=1e-6)
        assert np.linalg.norm(np.subtract(rec["texture_coeffs"], base.texture)) == pytest.approx(far, abs=1e-4)
        unmorphed = _independent(embedded, rec, texture_coeffs=base.texture)
        assert np.array_equal(mask, unmorphed.mask), (i, (mask ^ unmorphed.mask).sum())   # the same pixels...
        colour = np.abs(image[mask].astype(int) - unmorphed.image[mask]).mean()
        assert colour > 2.0, (i, colour)                                                   # ...in other colours


def test_cue_hybrids_are_renders_of_one_shape_and_another_texture(embedded):
    cfg = _design("probe-cue")
    picks = [(i, c) for i in (2, 17) for c in range(cfg.probe.partners)]
    got = _sampled(cfg, picks)
    for i, s in picks:
        image, mask, rec = got[i, s]
        j = rec["probe"]["texture_identity"]
        shape_donor, texture_donor = identity_for(cfg, embedded, i), identity_for(cfg, embedded, j)
        assert (texture_donor.gender, texture_donor.ethnicity) == (rec["gender"], rec["ethnicity"])
        assert np.allclose(rec["shape_coeffs"], shape_donor.shape, atol=1e-6)
        assert np.allclose(rec["texture_coeffs"], texture_donor.texture, atol=1e-6)
        _assert_same_render(image, mask, _independent(embedded, rec), (i, s))
        # the shape donor's own face in the same scene covers the same pixels, in other colours
        own = _independent(embedded, rec, texture_coeffs=shape_donor.texture)
        assert np.array_equal(mask, own.mask)
        assert np.abs(image[mask].astype(int) - own.image[mask]).mean() > 2.0
        # the texture donor's own face does not
        other = _independent(embedded, rec, shape_coeffs=texture_donor.shape)
        assert (mask ^ other.mask).sum() > 0.01 * mask.sum()

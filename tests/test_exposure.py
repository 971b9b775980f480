"""``render.exposure``: 'fixed' renders every face under the design's light; 'face' exposes each
image for its face (lights scaled by e = Y(mean face) / Y(this face), ``facegen.sampler.exposure``).
Checked against an independent computation of e from the model's public API and an independent
render with the scaled lights, and by what it is for: dark and light skin render alike bright."""
from __future__ import annotations

import json

import numpy as np
import pytest

from facegen.design import ConfigError, parse_config, plan_shards
from facegen.model import load_model
from facegen.model.types import Identity
from facegen.render import Camera, DirectionalLight, Lighting, render
from facegen.render.colour import LUMA, decode_srgb
from facegen.sampler import render_samples
from facegen.shards.encode import decode_image


def _cfg(exposure=None, n=8, ethnicities=("african", "european")):
    ren = {"image_size": 96, "format": "png", "detail": "full", "extras": ["mask"]}
    if exposure is not None:
        ren["exposure"] = exposure
    return parse_config({
        "name": "exposure", "seed": 3, "identities": {"count": n, "ethnicities": list(ethnicities)},
        "samples": {"mode": "random", "per_identity": 1}, "render": ren,
        "intrinsic": {"expression": "neutral"},
        "extrinsic": {"yaw": {"uniform": [-20, 20]}, "light_azimuth": {"uniform": [-30, 30]}},
        "splits": {"by": "image", "fractions": {"test": 1.0}}})


def _samples(cfg):
    out = []
    for shard in plan_shards(cfg):
        for item in render_samples(cfg, shard):
            rec = json.loads(item["json"])
            out.append((rec, decode_image(item["png"]), decode_image(item["mask.png"])[..., 0] > 127))
    return sorted(out, key=lambda t: t[0]["identity"])


def test_exposure_is_checked_and_defaults_to_fixed():
    assert _cfg().exposure == "fixed" and _cfg().to_dict()["render"]["exposure"] == "fixed"
    assert parse_config(_cfg("face").to_dict()).exposure == "face"     # round trip
    with pytest.raises(ConfigError, match=r"render.exposure: got 'auto'; allowed: \['fixed', 'face'\]"):
        _cfg("auto")


def test_fixed_exposure_records_one():
    assert {r["light"]["exposure"] for r, _, _ in _samples(_cfg(n=3))} == {1.0}


def test_face_exposure_matches_an_independent_computation_and_render():
    """e from the model's own compose and face region, and the image re-rendered with the record's
    lights scaled by e, equal the sampler's (pixels to one 1/255 step: the record's coefficients are
    rounded to 6 decimals)."""
    m = load_model("embedded")
    f, face = m.factors, m.regions["face"]
    mean = m.mean_albedo + f.gender_albedo.mean(0) + f.ethnicity_albedo.mean(0)
    target = (mean[face].astype(np.float64) @ LUMA).mean()
    lo, hi = m.mean_shape.min(0), m.mean_shape.max(0)
    seen = []
    for rec, img, _ in _samples(_cfg("face", n=4)):
        ident = Identity(shape=np.asarray(rec["shape_coeffs"]), texture=np.asarray(rec["texture_coeffs"]),
                         gender=rec["gender"], ethnicity=rec["ethnicity"], base_age=rec["base_age"])
        verts, alb = m.compose(ident, age=rec["age"], expression="neutral", intensity=0.0)
        e = target / (alb[face].astype(np.float64) @ LUMA).mean()
        li, p = rec["light"], rec["pose_deg"]
        assert li["exposure"] == pytest.approx(e, rel=1e-5)
        seen.append(e)
        cam = Camera(yaw=p["yaw"], pitch=p["pitch"], roll=p["roll"], scale=rec["scale"],
                     translation=tuple(rec["translation_px"]), center=tuple(float(c) for c in (lo + hi) / 2))
        light = Lighting((DirectionalLight(li["azimuth_deg"], li["elevation_deg"], li["intensity"] * e),),
                         ambient=li["ambient"] * e)
        ref = render(verts, m.triangles, alb, camera=cam, lighting=light, size=96, background=(rec["background"],) * 3)
        d = np.abs(img.astype(int) - ref.image)
        assert d.max() <= 1 and (d > 0).mean() < 0.005
    assert max(seen) > 1.2 and min(seen) < 0.9      # african faces are exposed up, european ones down


def _face_luminance(samples, ethnicity):
    """Mean linear luminance of the face pixels (mask, central box) of one ethnicity's images."""
    vals = []
    for rec, img, mask in samples:
        if rec["ethnicity"] == ethnicity:
            lin = decode_srgb(img.astype(np.float64) / 255.0) @ LUMA
            box = np.zeros_like(mask)
            box[30:70, 30:66] = True
            vals.append(lin[mask & box].mean())
    return float(np.mean(vals))


def test_face_exposure_renders_dark_and_light_skin_alike_bright():
    fixed, face = _samples(_cfg("fixed")), _samples(_cfg("face"))
    r_fixed = _face_luminance(fixed, "african") / _face_luminance(fixed, "european")
    r_face = _face_luminance(face, "african") / _face_luminance(face, "european")
    assert r_fixed < 0.6 and 0.85 < r_face < 1.15, (r_fixed, r_face)
    # the same people, poses and lights: only the exposure differs
    assert [r["identity"] for r, _, _ in fixed] == [r["identity"] for r, _, _ in face]
    assert all(a["pose_deg"] == b["pose_deg"] for (a, _, _), (b, _, _) in zip(fixed, face))

"""`render.detail`: the sampler renders the design's level of detail, records it, and keeps landmarks exact."""
from __future__ import annotations

import copy

import numpy as np
import orjson
import pytest

from facegen.design import PRESETS, parse_config, plan_shards
from facegen.render import Camera, DirectionalLight, Lighting, render
from facegen.render.api import render_checked_mesh
from facegen.sampler import context_for, render_samples
from facegen.shards.encode import decode_image


def _design(size, detail):
    raw = copy.deepcopy(PRESETS["mini"])
    raw["name"] = f"detail{size}"
    raw["identities"]["count"] = 4
    raw["render"].update(image_size=size, format="png", detail=detail)
    return parse_config(raw)


def _samples(cfg, n=12):
    out = []
    for shard in plan_shards(cfg, limit=n):
        out += list(render_samples(cfg, shard))
    return out


def test_default_is_auto_and_records_say_what_was_rendered(embedded):
    cfg = _design(64, "auto")
    assert cfg.detail == "auto" and parse_config(copy.deepcopy(PRESETS["mini"])).detail == "auto"
    rec = orjson.loads(_samples(cfg, 1)[0]["json"])
    assert rec["renderer"]["detail"] == 0.25
    assert rec["renderer"]["triangles"] == len(context_for(cfg).model.triangles) < len(embedded.triangles) / 3
    full = orjson.loads(_samples(_design(64, "full"), 1)[0]["json"])["renderer"]
    assert full["detail"] == 1.0 and full["triangles"] == len(embedded.triangles)


def test_a_coarser_level_changes_pixels_slightly_and_landmark_positions_not_at_all():
    full, quarter = _samples(_design(128, "full")), _samples(_design(128, 0.25))
    diffs = []
    for a, b in zip(full, quarter):
        ra, rb = orjson.loads(a["json"]), orjson.loads(b["json"])
        for k in ("identity", "sample", "pose_deg", "light", "shape_coeffs", "texture_coeffs", "expression"):
            assert ra[k] == rb[k]
        la, lb = np.array(ra["landmarks_2d"]), np.array(rb["landmarks_2d"])
        np.testing.assert_allclose(la[:, :2], lb[:, :2], atol=2e-3)  # same vertices, same projection
        assert (la[:, 2] == lb[:, 2]).mean() >= 0.9  # visibility is tested against each level's own depth
        ia, ib = decode_image(a["png"]).astype(int), decode_image(b["png"]).astype(int)
        diffs.append(np.abs(ia - ib).mean())
    assert 0 < np.mean(diffs) <= 3.0


def test_checked_mesh_path_equals_render_bit_for_bit(embedded):
    cfg = _design(96, "auto")
    ctx = context_for(cfg)
    m = ctx.model
    ident = m.sample_identity(np.random.default_rng(0))
    v = m.shape(ident.shape).astype(np.float32)
    a = np.clip(m.albedo(ident.texture), 0, 1).astype(np.float32)
    cam = Camera(yaw=20, pitch=-10, scale=1.1, translation=(3, -2), center=ctx.center)
    lig = Lighting((DirectionalLight(-30, 15, 0.7),), ambient=0.3)
    kw = dict(camera=cam, lighting=lig, size=96, background=(0.5, 0.5, 0.5), landmarks=ctx.landmarks,
              return_mask=True, return_depth=True)
    ref = render(v, m.triangles, a, **kw)
    out = render_checked_mesh(v, ctx.triangles, a, **kw)
    for name in ("image", "mask", "depth", "landmarks_2d"):
        assert np.array_equal(getattr(ref, name), getattr(out, name)), name
    with pytest.raises(ValueError, match="camera.scale"):
        render_checked_mesh(v, ctx.triangles, a, **{**kw, "camera": Camera(scale=-1.0)})


def test_mesh_indices_are_checked_once_with_render_s_messages():
    from facegen.render.api import check_mesh_indices

    tris = np.array([[0, 1, 2], [2, 1, 3]])
    t, lm = check_mesh_indices(tris, [3, 0], 4)
    assert t.dtype == np.int32 and np.array_equal(t, tris) and lm.dtype == np.int64 and lm.tolist() == [3, 0]
    assert check_mesh_indices(tris, None, 4)[1] is None
    with pytest.raises(ValueError, match=r"landmarks: expected vertex indices in \[0, 3\]"):
        check_mesh_indices(tris, [0, 4], 4)
    with pytest.raises(ValueError, match=r"triangles: expected vertex indices in \[0, 3\]"):
        check_mesh_indices(np.array([[0, 1, 5]]), None, 4)

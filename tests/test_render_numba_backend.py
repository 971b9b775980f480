"""The compiled default backend against the numpy reference, and its determinism."""
import hashlib
import subprocess
import sys

import numpy as np
import pytest

from facegen.render import Camera, DirectionalLight, Lighting, render, render_batch
from facegen.render.meshes import ellipsoid_head, uv_sphere

HEAD = ellipsoid_head(24, 48)
RICH = Lighting((DirectionalLight(35, 20, 0.6, (1.0, 0.9, 0.8)), DirectionalLight(-60, -10, 0.3)),
                ambient=0.25, specular=0.3, shininess=16.0,
                sh=np.random.default_rng(1).normal(0, 0.05, (9, 3)))


def both(**kw):
    a = render(*HEAD, backend="numba", return_mask=True, return_depth=True, **kw)
    b = render(*HEAD, backend="numpy", return_mask=True, return_depth=True, **kw)
    return a, b


@pytest.mark.parametrize("camera", [Camera(), Camera(yaw=30, pitch=-20, roll=10, scale=1.3),
                                    Camera(yaw=-25, translation=(6.5, -4.25), fov=35)])
def test_matches_reference(camera):
    a, b = both(camera=camera, lighting=RICH, size=48, background=(0.2, 0.4, 0.6))
    assert np.array_equal(a.mask, b.mask)
    assert np.abs(a.image.astype(int) - b.image).max() <= 1
    assert np.allclose(a.depth[a.mask], b.depth[b.mask], rtol=1e-6)


@pytest.mark.parametrize("ssaa", [1, 2])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_image_background_matches_reference_exactly_off_the_face(ssaa, dtype):
    rng = np.random.default_rng(5)
    bg = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    bg = bg if dtype == np.uint8 else bg / 255.0
    a, b = both(camera=Camera(yaw=20), lighting=RICH, size=40, ssaa=ssaa, background=bg)
    assert np.array_equal(a.mask, b.mask) and 0 < a.mask.mean() < 1
    assert np.array_equal(a.image[~a.mask], b.image[~b.mask])
    if ssaa == 1:  # one sample per pixel: the background shows through unchanged
        assert np.array_equal(a.image[~a.mask], (bg if dtype == np.uint8 else np.round(bg * 255)).astype(np.uint8)[~a.mask])
    assert np.abs(a.image.astype(int) - b.image).max() <= 1


def test_matches_reference_supersampled_and_unculled():
    a, b = both(camera=Camera(yaw=15), size=24, ssaa=3, cull_backfaces=False)
    assert np.array_equal(a.mask, b.mask) and np.abs(a.image.astype(int) - b.image).max() <= 1


def test_matches_reference_uv_texture():
    v, t = uv_sphere(12, 24, 90.0)
    uvs = np.stack([np.arctan2(v[:, 0], v[:, 2]) / (2 * np.pi) + 0.5, v[:, 1] / 180.0 + 0.5], axis=1)
    tex = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    kw = dict(uvs=uvs, texture=tex, size=40, lighting=RICH, return_mask=True)
    a = render(v, t, backend="numba", **kw)
    b = render(v, t, backend="numpy", **kw)
    assert np.array_equal(a.mask, b.mask) and np.abs(a.image.astype(int) - b.image).max() <= 1
    assert a.image[a.mask].std() > 10  # the texture is visible


def test_compiled_vertex_normals_match_reference():
    from facegen.render.camera import vertex_normals
    from facegen.render.numba_backend import vertex_normals_fast

    v, t, _ = HEAD
    assert np.allclose(vertex_normals_fast(v, t), vertex_normals(v, t), atol=1e-12)


def _digest(img):
    return hashlib.sha256(img.tobytes()).hexdigest()


def test_bit_identical_across_calls_processes_and_batches():
    v, t, a = ellipsoid_head(40, 80)
    cams = [Camera(yaw=y, pitch=p) for y, p in ((-30, 0), (0, 15), (30, -15))]
    singles = [render(v, t, a, camera=c, size=64).image for c in cams]
    again = [render(v, t, a, camera=c, size=64).image for c in cams]
    batch = [o.image for o in render_batch(np.stack([v] * 3), t, a, cameras=cams, size=64)]
    assert all(np.array_equal(x, y) and np.array_equal(x, z) for x, y, z in zip(singles, again, batch))
    code = ("from facegen.render import render, Camera; from facegen.render.meshes import ellipsoid_head; "
            "import hashlib; v,t,a=ellipsoid_head(40,80); "
            "print(hashlib.sha256(render(v,t,a,camera=Camera(yaw=30,pitch=-15),size=64).image.tobytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _digest(singles[2])


def test_batch_with_per_image_albedo_and_lighting():
    v, t, a = HEAD
    lights = [Lighting(), RICH]
    albs = np.stack([a, a[::-1].copy()])
    outs = render_batch([v, v * 1.1], t, albs, lightings=lights, size=32, return_mask=True)
    for i, o in enumerate(outs):
        ref = render([v, v * 1.1][i], t, albs[i], lighting=lights[i], size=32, return_mask=True)
        assert np.array_equal(o.image, ref.image) and np.array_equal(o.mask, ref.mask)


def test_batch_of_one_mesh_in_many_poses_and_normals_cache_sees_edits():
    v, t, a = HEAD
    cams = [Camera(yaw=y) for y in (-30, 0, 30)]
    outs = render_batch(v, t, a, cameras=cams, size=32)
    assert len(outs) == 3
    for o, c in zip(outs, cams):
        assert np.array_equal(o.image, render(v, t, a, camera=c, size=32).image)
    edited = v.copy()
    before = render(edited, t, a, size=32).image
    edited[:, 2] *= 0.5  # in place: the cached normals must not be reused
    fresh = render(edited.copy(), t, a, size=32, backend="numpy").image
    after = render(edited, t, a, size=32).image
    assert not np.array_equal(before, after) and np.abs(after.astype(int) - fresh).max() <= 1


def test_cached_lighting_arrays_never_confuse_lightings():
    # Lighting's equality ignores ``sh``: lightings differing only there must still render differently
    sh1, sh2 = np.zeros((9, 3)), np.zeros((9, 3))
    sh2[0] = 0.8
    a = render(*HEAD, lighting=Lighting(sh=sh1), size=32).image
    b = render(*HEAD, lighting=Lighting(sh=sh2), size=32).image
    assert not np.array_equal(a, b)
    # equal lightings built separately hit the cache and give the same image; unhashable members work
    c = render(*HEAD, lighting=Lighting((DirectionalLight(20, 10, 0.7),)), size=32).image
    d = render(*HEAD, lighting=Lighting((DirectionalLight(20, 10, 0.7),)), size=32).image
    e = render(*HEAD, lighting=Lighting((DirectionalLight(20, 10, 0.7, [1.0, 1.0, 1.0]),)), size=32).image
    assert np.array_equal(c, d) and np.array_equal(c, e)
    assert not np.array_equal(c, render(*HEAD, lighting=Lighting((DirectionalLight(-20, 10, 0.7),)), size=32).image)

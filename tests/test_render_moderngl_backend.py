"""The moderngl (headless EGL) backend agrees with the default backend on the same scenes."""

import numpy as np
import pytest

from facegen.render import Camera, DirectionalLight, Lighting, available_backends, render
from facegen.render.meshes import ellipsoid_head, read_obj, uv_sphere

BACKEND = "moderngl"
_STATUS = available_backends()[BACKEND]
pytestmark = pytest.mark.skipif(_STATUS != "ok", reason=f"{BACKEND} backend unavailable here: {_STATUS}")

HEAD = ellipsoid_head()
RICH = Lighting((DirectionalLight(35, 20, 0.6, (1.0, 0.9, 0.8)), DirectionalLight(-60, -10, 0.3)),
                ambient=0.25, specular=0.3, shininess=16.0,
                sh=np.random.default_rng(1).normal(0, 0.05, (9, 3)))


def agreement(mesh, **kw):
    """(mask IoU, mean |difference| in 1/255 units over pixels both backends cover, depth max |diff| mm)."""
    a = render(*mesh, backend="numba", return_mask=True, return_depth=True, **kw)
    b = render(*mesh, backend=BACKEND, return_mask=True, return_depth=True, **kw)
    both = a.mask & b.mask
    iou = both.sum() / (a.mask | b.mask).sum()
    mad = np.abs(a.image[both].astype(int) - b.image[both]).mean()
    dz = np.median(np.abs(a.depth[both] - b.depth[both]))
    return iou, mad, dz


@pytest.mark.parametrize("camera, lighting, ssaa", [
    (Camera(), Lighting(), 1),
    (Camera(yaw=30, pitch=-20, roll=10, scale=1.2, translation=(7.0, -5.0)), RICH, 1),
    (Camera(yaw=-30, pitch=30, fov=40), Lighting((DirectionalLight(-30, 30),)), 2),
])
def test_agrees_with_default_backend_at_224(camera, lighting, ssaa):
    iou, mad, dz = agreement(HEAD, camera=camera, lighting=lighting, size=224, ssaa=ssaa, background=(0.3, 0.3, 0.3))
    assert iou >= 0.99 and mad <= 3.0 and dz < 0.1, (iou, mad, dz)


def test_agrees_on_ict_mesh(models_dir):
    path = models_dir / "ict-facekit-subset" / "generic_neutral_mesh.obj"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    v, t = read_obj(path)
    v = v * 10.0
    mesh = (v, t, np.full((len(v), 3), 0.7))
    cam = Camera(yaw=20, pitch=10, center=tuple((v.min(0) + v.max(0)) / 2))
    iou, mad, dz = agreement(mesh, camera=cam, lighting=RICH, size=224)
    assert iou >= 0.99 and mad <= 3.0, (iou, mad, dz)


def test_agrees_with_uv_texture_and_without_culling():
    v, t = uv_sphere(24, 48, 100.0)
    uvs = np.stack([np.arctan2(v[:, 0], v[:, 2]) / (2 * np.pi) + 0.5, v[:, 1] / 200.0 + 0.5], axis=1)
    tex = np.kron(np.random.default_rng(0).integers(0, 256, (8, 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    a = render(v, t, uvs=uvs, texture=tex, size=224, return_mask=True, cull_backfaces=False)
    b = render(v, t, uvs=uvs, texture=tex, size=224, return_mask=True, cull_backfaces=False, backend=BACKEND)
    both = a.mask & b.mask
    assert both.sum() / (a.mask | b.mask).sum() >= 0.99
    assert np.abs(a.image[both].astype(int) - b.image[both]).mean() <= 3.0


def test_landmarks_identical_across_backends():
    v, t, a = HEAD
    idx = np.argsort(v[:, 2])[-20:]
    la = render(v, t, a, camera=Camera(yaw=25), size=128, landmarks=idx).landmarks_2d
    lb = render(v, t, a, camera=Camera(yaw=25), size=128, landmarks=idx, backend=BACKEND).landmarks_2d
    assert np.array_equal(la[:, :2], lb[:, :2]) and (la[:, 2] == lb[:, 2]).mean() >= 0.9

"""Scenes and checks shared by the GL backend tests: each GL backend must agree with the default one."""
import numpy as np
import pytest

from facegen.render import Camera, DirectionalLight, Lighting, render
from facegen.render.meshes import ellipsoid_head, read_obj, uv_sphere

HEAD = ellipsoid_head()
RICH = Lighting((DirectionalLight(35, 20, 0.6, (1.0, 0.9, 0.8)), DirectionalLight(-60, -10, 0.3)),
                ambient=0.25, specular=0.3, shininess=16.0,
                sh=np.random.default_rng(1).normal(0, 0.05, (9, 3)))
SCENES = [
    (Camera(), Lighting(), 1),
    (Camera(yaw=30, pitch=-20, roll=10, scale=1.2, translation=(7.0, -5.0)), RICH, 1),
    (Camera(yaw=-30, pitch=30, fov=40), Lighting((DirectionalLight(-30, 30),)), 2),
]


def agreement(mesh, backend, **kw):
    """(mask IoU, mean |difference| in 1/255 units over pixels both backends cover, median |depth diff| mm)."""
    a = render(*mesh, backend="numba", return_mask=True, return_depth=True, **kw)
    b = render(*mesh, backend=backend, return_mask=True, return_depth=True, **kw)
    both = a.mask & b.mask
    iou = both.sum() / (a.mask | b.mask).sum()
    mad = np.abs(a.image[both].astype(int) - b.image[both]).mean()
    dz = np.median(np.abs(a.depth[both] - b.depth[both]))
    return iou, mad, dz


def check_ict_mesh(backend, models_dir):
    path = models_dir / "ict-facekit-subset" / "generic_neutral_mesh.obj"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    v, t = read_obj(path)
    v = v * 10.0
    mesh = (v, t, np.full((len(v), 3), 0.7))
    cam = Camera(yaw=20, pitch=10, center=tuple((v.min(0) + v.max(0)) / 2))
    iou, mad, dz = agreement(mesh, backend, camera=cam, lighting=RICH, size=224)
    assert iou >= 0.99 and mad <= 3.0, (iou, mad, dz)


def check_uv_texture_without_culling(backend):
    v, t = uv_sphere(24, 48, 100.0)
    uvs = np.stack([np.arctan2(v[:, 0], v[:, 2]) / (2 * np.pi) + 0.5, v[:, 1] / 200.0 + 0.5], axis=1)
    tex = np.kron(np.random.default_rng(0).integers(0, 256, (8, 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    a = render(v, t, uvs=uvs, texture=tex, size=224, return_mask=True, cull_backfaces=False)
    b = render(v, t, uvs=uvs, texture=tex, size=224, return_mask=True, cull_backfaces=False, backend=backend)
    both = a.mask & b.mask
    assert both.sum() / (a.mask | b.mask).sum() >= 0.99
    assert np.abs(a.image[both].astype(int) - b.image[both]).mean() <= 3.0


def check_landmarks(backend):
    v, t, a = HEAD
    idx = np.argsort(v[:, 2])[-20:]
    la = render(v, t, a, camera=Camera(yaw=25), size=128, landmarks=idx).landmarks_2d
    lb = render(v, t, a, camera=Camera(yaw=25), size=128, landmarks=idx, backend=backend).landmarks_2d
    assert np.array_equal(la[:, :2], lb[:, :2]) and (la[:, 2] == lb[:, 2]).mean() >= 0.9

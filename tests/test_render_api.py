"""Public entry points: validation messages, outputs on request, landmarks, pose recovery, quick_render."""
import inspect
import json

import numpy as np
import pytest

from facegen.render import (BACKENDS, Camera, Lighting, available_backends, project_points, quick_render,
                            render)
from facegen.render.meshes import ellipsoid_head, read_obj, uv_sphere

HEAD = ellipsoid_head(30, 60)


@pytest.fixture(scope="module")
def ict(models_dir):
    folder = models_dir / "ict-facekit-subset"
    if not (folder / "generic_neutral_mesh.obj").is_file():
        pytest.skip(f"ICT-FaceKit mesh not found in {folder}")
    v, t = read_obj(folder / "generic_neutral_mesh.obj")
    lms = np.asarray(json.loads((folder / "vertex_indices.json").read_text())["idx_to_landmark_verts"])
    return v * 10.0, t, np.full((len(v), 3), 0.7), lms  # cm -> mm


def test_quick_render_signature_and_output():
    params = list(inspect.signature(quick_render).parameters)
    assert params == ["vertices", "triangles", "albedo", "size", "yaw", "pitch", "light_azimuth",
                      "light_elevation", "ambient", "encoding"]
    img = quick_render(*HEAD, size=96, yaw=20)
    assert img.shape == (96, 96, 3) and img.dtype == np.uint8
    cover = img.max(axis=2) > 0
    rows, cols = np.nonzero(cover)
    assert 0.7 * 96 < rows.max() - rows.min() + 1 <= 0.9 * 96   # framed to 85% of the larger side
    assert abs((rows.max() + rows.min()) / 2 - 47.5) < 3


def test_outputs_only_on_request():
    out = render(*HEAD, size=32)
    assert out.mask is None and out.depth is None and out.landmarks_2d is None
    out = render(*HEAD, size=(24, 40), return_mask=True, return_depth=True, landmarks=[0, 5])
    assert out.image.shape == (24, 40, 3) and out.mask.shape == (24, 40) and out.mask.dtype == bool
    assert out.depth.dtype == np.float32 and out.landmarks_2d.shape == (2, 3)
    assert np.all(np.isinf(out.depth[~out.mask])) and np.all(out.depth[out.mask] > 0)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(vertices=np.zeros((4, 2))), ValueError, "expected shape (N, 3)"),
    (dict(vertices="mesh.obj"), TypeError, "received str"),
    (dict(triangles=np.array([[0, 1, 99999]])), ValueError, "vertex indices"),
    (dict(albedo=np.zeros((3, 3))), ValueError, "albedo: expected shape"),
    (dict(albedo=None), ValueError, "exactly one of albedo"),
    (dict(vertices=np.full((HEAD[0].shape[0], 3), np.nan)), ValueError, "finite"),
    (dict(backend="opengl"), ValueError, "expected one of"),
    (dict(size=0), ValueError, "size"),
    (dict(ssaa=0), ValueError, "ssaa"),
    (dict(camera=dict(yaw=3)), TypeError, "expected facegen.render.Camera"),
    (dict(camera=Camera(scale=0.0)), ValueError, "scale"),
    (dict(lighting=Lighting(ambient=0.3, specular=-1)), ValueError, "specular"),
    (dict(background=(0, 0, 2)), ValueError, "[0, 1]"),
    (dict(visibility_tolerance_mm=-1.0), ValueError, "visibility_tolerance_mm"),
    (dict(encoding="gamma"), ValueError, "encoding: expected one of ['srgb', 'linear']"),
])
def test_validation_messages(kwargs, exc, words):
    args = dict(vertices=HEAD[0], triangles=HEAD[1], albedo=HEAD[2])
    args.update(kwargs)
    v, t, a = args.pop("vertices"), args.pop("triangles"), args.pop("albedo")
    with pytest.raises(exc) as info:
        render(v, t, a, size=args.pop("size", 16), **args)
    assert words in str(info.value)


def test_available_backends_reports_every_backend():
    status = available_backends()
    assert set(status) == set(BACKENDS)
    assert status["numba"] == "ok" and status["numpy"] == "ok"
    assert all(isinstance(s, str) and s for s in status.values())


def test_landmarks_are_projections_with_visibility():
    v, t = uv_sphere(24, 48, 80.0)
    front, back = int(np.argmax(v[:, 2])), int(np.argmin(v[:, 2]))
    cam = Camera(yaw=20, translation=(3, 2))
    out = render(v, t, np.full((len(v), 3), 0.5), camera=cam, size=64, landmarks=[front, back], return_mask=True)
    expect = project_points(v[[front, back]], cam, 64, 64)[:, :2]
    assert np.allclose(out.landmarks_2d[:, :2], expect, atol=1e-4)
    assert out.landmarks_2d[0, 2] == 1.0 and out.landmarks_2d[1, 2] == 0.0   # back of the sphere is hidden
    x, y = out.landmarks_2d[0, :2].astype(int)
    assert out.mask[y, x]


@pytest.mark.parametrize("yaw", [-30.0, -15.0, 0.0, 15.0, 30.0])
def test_jaw_landmark_visibility_follows_yaw_on_ict(ict, yaw):
    """Pose itself is recovered by solvePnP to 0.01 deg in test_render_camera.py; this checks self-occlusion."""
    v, t, a, lms = ict
    centre = tuple((v.min(0) + v.max(0)) / 2)
    out = render(v, t, a, camera=Camera(yaw=yaw, center=centre, fov=12.0), size=224, landmarks=lms,
                 return_mask=True)
    vis = out.landmarks_2d[:, 2] > 0
    assert vis.sum() >= 40
    jaw = out.landmarks_2d[:17, 2]   # iBUG 0-16: jaw contour from the subject's right to left
    if yaw >= 15:                     # the face turns to its left: its left jaw turns away
        assert jaw[:4].all() and not jaw[13:].any()
    elif yaw <= -15:
        assert jaw[13:].all() and not jaw[:4].any()
    else:
        assert jaw.all()


def test_ict_mesh_renders_centred_and_facing_camera(ict):
    v, t, a, lms = ict
    centre = tuple((v.min(0) + v.max(0)) / 2)
    out = render(v, t, a, camera=Camera(center=centre), size=64, landmarks=lms, return_mask=True)
    assert 0.2 < out.mask.mean() < 0.8
    nose, r_eye, l_eye = out.landmarks_2d[30], out.landmarks_2d[36], out.landmarks_2d[45]
    assert r_eye[0] < nose[0] < l_eye[0] and nose[1] > r_eye[1]   # subject's right eye on image left
    assert np.all(out.landmarks_2d[27:48, 2] == 1.0)

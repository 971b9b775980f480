"""Sign and unit conventions of facegen.render.camera (documented in its module docstring)."""
import math

import cv2
import numpy as np
import pytest

from facegen.render import Camera, DirectionalLight, Lighting, render
from facegen.render.camera import (camera_intrinsics, light_direction, project_points, rotation_matrix,
                                   shade_vertices, sh_basis, vertex_normals)
from facegen.render.meshes import uv_sphere

NOSE = np.array([[0.0, 0.0, 100.0]])
TOP = np.array([[0.0, 100.0, 0.0]])


def test_rotation_is_proper_and_identity_at_zero():
    assert np.allclose(rotation_matrix(0, 0, 0), np.eye(3))
    r = rotation_matrix(17, -23, 41)
    assert np.allclose(r @ r.T, np.eye(3)) and np.isclose(np.linalg.det(r), 1.0)


def test_positive_yaw_turns_face_to_its_left_nose_to_image_right():
    u, v, _ = project_points(NOSE, Camera(yaw=30), 224, 224)[0]
    assert u > 112 + 20 and abs(v - 112) < 1e-9


def test_positive_pitch_is_nose_up():
    u, v, _ = project_points(NOSE, Camera(pitch=30), 224, 224)[0]
    assert v < 112 - 20 and abs(u - 112) < 1e-9


def test_positive_roll_is_counter_clockwise_in_image():
    u, v, _ = project_points(TOP, Camera(roll=30), 224, 224)[0]
    assert u < 112 - 20 and v < 112  # top of head moves to the image left


def test_rotation_order_roll_then_pitch_then_yaw():
    r = rotation_matrix(30, 20, 10)
    expected = rotation_matrix(30, 0, 0) @ rotation_matrix(0, 20, 0) @ rotation_matrix(0, 0, 10)
    assert np.allclose(r, expected)


@pytest.mark.parametrize("fov", [10.0, 20.0, 45.0])
def test_scale_one_fits_frame_mm_across_image_width(fov):
    seg = np.array([[-125.0, 0, 0], [125.0, 0, 0]])
    p = project_points(seg, Camera(fov=fov), 100, 160)
    assert np.allclose(p[:, 0], [0.0, 160.0]) and np.allclose(p[:, 1], 50.0)
    p2 = project_points(seg, Camera(fov=fov, scale=2.0), 100, 160)
    assert np.allclose(p2[:, 0], [-80.0, 240.0])  # zoom about the image centre


def test_translation_is_pixels_right_and_down():
    pts = np.random.default_rng(0).normal(0, 50, (20, 3))
    a = project_points(pts, Camera(), 224, 224)
    b = project_points(pts, Camera(translation=(7.5, -3.0)), 224, 224)
    assert np.allclose(b[:, 0] - a[:, 0], 7.5) and np.allclose(b[:, 1] - a[:, 1], -3.0)


def test_integer_translation_shifts_rendered_image_exactly():
    v, t = uv_sphere(16, 32, 60.0)
    alb = np.full((len(v), 3), 0.8)
    a = render(v, t, alb, size=64).image
    b = render(v, t, alb, camera=Camera(translation=(5, -3)), size=64).image
    assert np.array_equal(b[:61, 5:], a[3:, :59])


def test_depth_is_distance_along_view_axis():
    cam = Camera()
    p = project_points(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 50.0]]), cam, 224, 224)
    assert np.allclose(p[:, 2], [cam.distance, cam.distance - 50.0])
    assert np.isclose(cam.distance, 125.0 / math.tan(math.radians(10.0)))
    f, cx, cy, d = camera_intrinsics(cam, 224, 224)
    assert (cx, cy) == (112.0, 112.0) and np.isclose(f, 112.0 / math.tan(math.radians(10.0)))


def test_light_direction_signs():
    assert np.allclose(light_direction(DirectionalLight(0, 0)), [0, 0, 1])
    assert np.allclose(light_direction(DirectionalLight(90, 0)), [1, 0, 0])   # from the face's left
    assert np.allclose(light_direction(DirectionalLight(0, 90)), [0, 1, 0])   # from above


def _halves(img):
    g = img.astype(float).mean(axis=2)
    h, w = g.shape
    return g[:, : w // 2].mean(), g[:, w // 2:].mean(), g[: h // 2].mean(), g[h // 2:].mean()


def test_light_from_faces_left_brightens_image_right_half_and_elevation_up_brightens_top():
    v, t = uv_sphere(24, 48, 90.0)
    alb = np.full((len(v), 3), 0.8)
    left, right, _, _ = _halves(render(v, t, alb, lighting=Lighting((DirectionalLight(60, 0),)), size=64).image)
    assert right > left + 20
    _, _, top, bottom = _halves(render(v, t, alb, lighting=Lighting((DirectionalLight(0, 60),)), size=64).image)
    assert top > bottom + 20


def test_shading_formula_lambert_ambient_specular_sh():
    n = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])
    pts = n * 100.0
    light = DirectionalLight(0.0, 0.0, 0.5, (1.0, 0.5, 0.25))
    d, s = shade_vertices(pts, n, Lighting((light,), ambient=0.2), 700.0)
    assert np.allclose(d[0], 0.2 + 0.5 * np.array([1.0, 0.5, 0.25]))
    assert np.allclose(d[1], 0.2) and np.allclose(d[2], 0.2) and np.all(s == 0)
    _, s2 = shade_vertices(pts, n, Lighting((light,), ambient=0.2, specular=0.3), 700.0)
    assert np.allclose(s2[0], 0.3 * 0.5 * np.array([1.0, 0.5, 0.25]))  # n = h exactly
    assert np.all(s2[1] == 0)
    sh = np.zeros((9, 3))
    sh[0] = 1.0
    d3, _ = shade_vertices(pts, n, Lighting((), ambient=0.0, sh=sh), 700.0)
    assert np.allclose(d3, 0.282095)
    assert np.allclose(sh_basis(n)[:, 3], 0.488603 * n[:, 0])


def test_vertex_normals_of_sphere_point_outwards():
    v, t = uv_sphere(12, 24, 50.0)
    n = vertex_normals(v, t)
    assert np.allclose(np.linalg.norm(n, axis=1), 1.0)
    assert np.all((n * v / 50.0).sum(axis=1) > 0.95)


# -- pose recovery with OpenCV's perspective-n-point solver -------------------------------------------

#: OpenCV's camera frame (+x right, +y down, +z forward) from the world frame documented above (+y up,
#: camera looking down -z): X_cv = FLIP @ p_world + (0, 0, d).
FLIP = np.diag([1.0, -1.0, -1.0])


def _documented_angles(r: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) degrees of ``R = R_y(yaw) @ R_x(-pitch) @ R_z(roll)`` (module docstring),
    solved from its elements: R[0,2] = sin(yaw)cos(pitch), R[2,2] = cos(yaw)cos(pitch),
    R[1,2] = sin(pitch), R[1,0] = cos(pitch)sin(roll), R[1,1] = cos(pitch)cos(roll)."""
    return (math.degrees(math.atan2(r[0, 2], r[2, 2])), math.degrees(math.asin(np.clip(r[1, 2], -1.0, 1.0))),
            math.degrees(math.atan2(r[1, 0], r[1, 1])))


POSES = [(0, 0, 0), (30, -20, 10), (-45, 15, -20), (15, 30, 0), (-30, -30, 25)]


def _check_pose_recovery(v, triangles, lms, pose, fov=20.0, size=224):
    """cv2.solvePnP on the visible rendered 2-D landmarks and the mesh's 3-D landmark vertices, with
    the renderer's intrinsics, gives back the pose (angles by the documented convention) and the
    camera distance; and the rendered depth at the landmarks' pixels is the solved camera depth.

    The 2-D landmarks are exact projections (float32), so the pose comes back to about 1e-5 deg; a
    rotation order or sign slip gives errors of degrees, a focal length 1% off about 0.013 deg and a
    principal point half a pixel off about 0.05 deg, so 0.01 deg leaves room only for rounding. (A
    scaled-orthographic fit, as in test_render_api, is itself off by up to 1.9 deg at 30 deg yaw.)"""
    yaw, pitch, roll = pose
    v = np.asarray(v, np.float64)
    centre = tuple((v.min(0) + v.max(0)) / 2)
    cam = Camera(yaw=yaw, pitch=pitch, roll=roll, scale=1.1, translation=(3.0, -2.5), center=centre, fov=fov)
    out = render(v, triangles, np.full((len(v), 3), 0.7), camera=cam, size=size, landmarks=lms,
                 return_depth=True)
    vis = out.landmarks_2d[:, 2] > 0
    assert vis.sum() >= 40 and vis[27:31].all()   # the nose ridge is never hidden at these poses
    f, cx, cy, d = camera_intrinsics(cam, size, size)
    k = np.array([[f, 0.0, cx], [0.0, f, cy], [0.0, 0.0, 1.0]])
    ok, rvec, tvec = cv2.solvePnP(v[lms][vis], out.landmarks_2d[vis, :2].astype(np.float64), k, None,
                                  flags=cv2.SOLVEPNP_ITERATIVE)
    assert ok
    r_cv = cv2.Rodrigues(rvec)[0]
    est = _documented_angles(FLIP @ r_cv)
    assert np.allclose(est, pose, rtol=0, atol=0.01), (est, pose)
    # the head centre sits on the view axis at the documented distance
    assert np.isclose((r_cv @ np.asarray(centre) + tvec.ravel())[2], d, rtol=0, atol=0.01)
    # pixels: the depth map at each visible landmark's pixel is the landmark's solved camera depth (a
    # pixel spans about 1 mm here, so the surface moves a fraction of a mm across it; landmarks on
    # the silhouette may fall on an empty pixel)
    z = (v[lms][vis] @ r_cv.T + tvec.ravel())[:, 2]
    col, row = out.landmarks_2d[vis, :2].astype(int).T
    dz = np.abs(out.depth[row, col] - z)
    assert np.median(dz[np.isfinite(dz)]) < 1.0, np.median(dz[np.isfinite(dz)])


@pytest.mark.parametrize("pose", POSES)
def test_solvepnp_recovers_pose_from_rendered_embedded_landmarks(embedded, pose):
    _check_pose_recovery(embedded.mean_shape, embedded.triangles, np.asarray(embedded.landmarks), pose)


@pytest.mark.parametrize("pose", POSES)
def test_solvepnp_recovers_pose_from_rendered_ict_landmarks(models_dir, pose):
    """The same on a real third-party mesh (ICT-FaceKit, cm -> mm) at a longer lens."""
    import json

    from facegen.render.meshes import read_obj

    folder = models_dir / "ict-facekit-subset"
    if not (folder / "generic_neutral_mesh.obj").is_file():
        pytest.skip(f"ICT-FaceKit mesh not found in {folder}")
    v, t = read_obj(folder / "generic_neutral_mesh.obj")
    lms = np.asarray(json.loads((folder / "vertex_indices.json").read_text())["idx_to_landmark_verts"])
    _check_pose_recovery(v * 10.0, t, lms, pose, fov=12.0)

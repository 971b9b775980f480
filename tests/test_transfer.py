"""Albedo transfer through landmarks: closest-point search vs brute force, synthetic and real meshes."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from facegen.model import FaceModel
from facegen.model.loaders import GREY_ALBEDO, untextured_albedo
from facegen.model.transfer import (closest_points, closest_points_reference, similarity_transform,
                                    transfer_albedo)


def _ellipsoid(n_lat: int, n_lon: int, radii=(75.0, 100.0, 90.0)):
    """UV-sphere mesh scaled to an ellipsoid: vertices (V, 3) mm, triangles (F, 3) outward CCW."""
    th = np.linspace(0, np.pi, n_lat)[1:-1]
    ph = np.linspace(0, 2 * np.pi, n_lon, endpoint=False)
    T, P = np.meshgrid(th, ph, indexing="ij")
    d = np.stack([np.sin(T) * np.sin(P), np.cos(T), np.sin(T) * np.cos(P)], -1).reshape(-1, 3)
    v = np.concatenate([[[0, 1, 0]], d, [[0, -1, 0]]]) * radii
    R, C = len(th), n_lon
    idx = 1 + np.arange(R * C).reshape(R, C)
    tris = [[0, idx[0, (j + 1) % C], idx[0, j]] for j in range(C)]
    for i in range(R - 1):
        for j in range(C):
            a, b, c, e = idx[i, j], idx[i, (j + 1) % C], idx[i + 1, j], idx[i + 1, (j + 1) % C]
            tris += [[a, b, c], [b, e, c]]
    last = len(v) - 1
    tris += [[last, idx[-1, j], idx[-1, (j + 1) % C]] for j in range(C)]
    return v, np.array(tris, np.int32)


def _colour(x: np.ndarray) -> np.ndarray:
    """A smooth albedo field on the source's frame."""
    return np.stack([0.5 + 0.3 * np.tanh(x[:, 0] / 60), 0.5 + 0.3 * np.tanh(x[:, 1] / 80), 0.4 + 0.002 * x[:, 2]], 1)


def _front_landmarks(v: np.ndarray, rng) -> np.ndarray:
    """68 distinct vertices on the front half (+z) of a mesh."""
    front = np.flatnonzero(v[:, 2] > 0.3 * v[:, 2].max())
    return rng.choice(front, 68, replace=False).astype(np.int32)


def _source(seed: int = 0) -> FaceModel:
    rng = np.random.default_rng(seed)
    v, t = _ellipsoid(40, 60)
    V = len(v)
    return FaceModel(
        name="synthetic-source", version="1", mean_shape=v.astype(np.float32),
        shape_basis=np.zeros((0, V, 3), np.float32), shape_sd=np.zeros(0, np.float32),
        mean_albedo=_colour(v).astype(np.float32), texture_basis=np.stack([_colour(v) - .5, v / 100]).astype(np.float32),
        texture_sd=np.array([0.1, 0.05], np.float32), texture_bands=np.array([0, 1]), triangles=t,
        expression_basis=np.zeros((0, V, 3), np.float32), expression_names=(),
        landmarks=_front_landmarks(v, rng))


def test_similarity_transform_recovers_known_transform():
    rng = np.random.default_rng(0)
    p = rng.normal(size=(20, 3))
    R = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    R *= np.sign(np.linalg.det(R))
    s, t = 0.01, np.array([1.0, -2.0, 3.0])
    q = s * p @ R.T + t
    s2, R2, t2 = similarity_transform(p, q)
    assert abs(s2 - s) < 1e-10 and np.allclose(R2, R) and np.allclose(t2, t)


def test_closest_points_matches_brute_force():
    v, t = _ellipsoid(12, 16)
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(60, 3)) * 90
    fast = closest_points(pts, v, t)
    ref = closest_points_reference(pts, v, t)
    np.testing.assert_allclose(fast[2], ref[2], atol=1e-9)
    pf = (v[t[fast[0]]] * fast[1][:, :, None]).sum(1)
    pr = (v[t[ref[0]]] * ref[1][:, :, None]).sum(1)
    np.testing.assert_allclose(pf, pr, atol=1e-6)


def test_transfer_between_ellipsoids_in_other_units_and_pose():
    src = _source()
    # target: another tessellation, other radii, in cm, rotated and shifted
    tv_mm, tt = _ellipsoid(30, 45, radii=(70.0, 105.0, 85.0))
    ang = np.deg2rad(25)
    R = np.array([[np.cos(ang), 0, np.sin(ang)], [0, 1, 0], [-np.sin(ang), 0, np.cos(ang)]])
    tv = (tv_mm @ R.T) / 10 + [3.0, -1.0, 2.0]
    # target landmarks: target vertices nearest to the source landmarks' directions
    dirs = src.mean_shape[src.landmarks] / [75.0, 100.0, 90.0]
    tdirs = tv_mm / [70.0, 105.0, 85.0]
    lm = np.array([np.argmax(tdirs @ d) for d in dirs], np.int32)
    lm[:3] = -1  # undefined points are skipped
    out = transfer_albedo(src, tv, tt, lm)
    assert out.n_pairs == len(np.unique(lm[lm >= 0])) and out.texture_basis.shape == (2, len(tv), 3)
    expected = _colour(tdirs * [75.0, 100.0, 90.0])
    err = np.abs(out.mean_albedo - expected)
    assert np.median(err) < 0.01 and np.percentile(err, 95) < 0.05
    np.testing.assert_array_equal(out.texture_sd, src.texture_sd)
    np.testing.assert_array_equal(out.texture_bands, [0, 1])
    # at the landmarks themselves the TPS is exact: albedo equals the source's at its landmark vertex
    _, first = np.unique(lm, return_index=True)
    used = np.zeros(68, bool)
    used[first] = True
    used &= lm >= 0  # pairs used: defined, first time each target vertex is named
    np.testing.assert_allclose(out.mean_albedo[lm[used]], src.mean_albedo[src.landmarks[used]], atol=1e-3)


def test_transfer_errors():
    src = _source()
    v, t = _ellipsoid(10, 12)
    with pytest.raises(ValueError, match="only 4 landmarks"):
        transfer_albedo(src, v, t, np.r_[np.arange(4), -np.ones(64, int)])
    with pytest.raises(ValueError, match=r"expected \(68,\)"):
        transfer_albedo(src, v, t, np.arange(10))


def test_untextured_albedo_fallback_is_grey_with_warning(caplog):
    v, t = _ellipsoid(20, 30)
    with caplog.at_level(logging.WARNING):
        mean, basis, sd, bands = untextured_albedo("x.obj", v, t, None, _source())
    assert "no iBUG landmarks" in caplog.text
    assert np.all(mean == GREY_ALBEDO) and basis.shape == (0, len(v), 3) and sd.shape == (0,) and bands is None
    mean, basis, sd, _ = untextured_albedo("x.obj", v, t, _front_landmarks(v, np.random.default_rng(0)), _source())
    assert basis.shape == (2, len(v), 3)


def test_real_ict_to_sfm_transfer(models_dir):
    """ICT's neutral mesh (68 landmarks) with a synthetic albedo field, carried onto the SFM (50 landmarks)."""
    import json

    from facegen.model.loaders import load_path
    from facegen.model.loaders.obj import read_obj

    ict_dir, sfm_path = models_dir / "ict-facekit-subset", models_dir / "sfm-3448" / "sfm_shape_3448.bin"
    if not (ict_dir.is_dir() and sfm_path.is_file()):
        pytest.skip("ICT or SFM files not found")
    mesh = read_obj(ict_dir / "generic_neutral_mesh.obj")
    face = mesh.triangles[(mesh.triangles < 9409).all(axis=1)]  # the face area only
    v = (mesh.vertices * 10).astype(np.float32)
    lm = np.array(json.loads((ict_dir / "vertex_indices.json").read_text())["idx_to_landmark_verts"], np.int32)
    V = len(v)
    src = FaceModel(name="ict+synthetic-albedo", version="1", mean_shape=v, shape_basis=np.zeros((0, V, 3), np.float32),
                    shape_sd=np.zeros(0, np.float32), mean_albedo=_colour(v).astype(np.float32),
                    texture_basis=np.zeros((0, V, 3), np.float32), texture_sd=np.zeros(0, np.float32),
                    triangles=face, expression_basis=np.zeros((0, V, 3), np.float32), expression_names=(),
                    landmarks=lm)
    sfm = load_path(sfm_path, albedo_source=src)
    assert sfm.mean_albedo.shape == (3448, 3) and np.all(np.isfinite(sfm.mean_albedo))
    pairs = [(int(k[5:]) - 1, i) for k, i in sfm.points.items()]
    got = np.array([sfm.mean_albedo[i] for _, i in pairs])
    want = np.array([src.mean_albedo[lm[k]] for k, _ in pairs])
    np.testing.assert_allclose(got, want, atol=0.02)
    # the nose tip is in front of the eyes in both: the x-gradient colour is symmetric about the midline
    assert abs(sfm.mean_albedo[sfm.points["ibug_31"], 0] - 0.5) < 0.05


def test_embedded_model_transfer(models_dir):
    try:
        from facegen.model.embedded import embedded_model
    except ImportError as e:
        pytest.skip(f"facegen.model.embedded (the embedded default model) is not importable yet: {e}")
    from facegen.model.loaders import load_path

    sfm_path = models_dir / "sfm-3448" / "sfm_shape_3448.bin"
    if not sfm_path.is_file():
        pytest.skip(f"{sfm_path} not found")
    src = embedded_model()
    sfm = load_path(sfm_path, albedo_source=src)
    assert sfm.n_texture == src.n_texture
    assert np.all(np.isfinite(sfm.mean_albedo)) and 0 <= sfm.mean_albedo.min() and sfm.mean_albedo.max() <= 1

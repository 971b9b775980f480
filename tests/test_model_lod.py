"""Levels of detail (facegen.model.lod): vertex-subset decimation, restricted models, the auto rule."""
from __future__ import annotations

import numpy as np
import pytest

from facegen.model.lod import DETAIL_LEVELS, at_detail, auto_fraction, mesh_level
from facegen.render import Camera, DirectionalLight, Lighting, render
from facegen.render.camera import project_points


def _centre(m):
    return tuple(float(c) for c in (m.mean_shape.min(0) + m.mean_shape.max(0)) / 2)


@pytest.mark.parametrize("fraction", [0.5, 0.25])
def test_level_is_a_clean_subset_mesh_of_about_the_asked_size(embedded, fraction):
    m = embedded
    lev = mesh_level(m.mean_shape, m.triangles, fraction, keep=m.landmarks)
    assert abs(len(lev.triangles) - fraction * len(m.triangles)) <= 0.02 * len(m.triangles)
    assert np.all(np.diff(lev.vertices) > 0) and lev.vertices[-1] < m.n_vertices  # sorted, unique, in range
    assert set(m.landmarks.tolist()) <= set(lev.vertices.tolist())
    t = lev.triangles
    assert t.dtype == np.int32 and t.min() >= 0 and t.max() < len(lev.vertices)
    assert np.all((t[:, 0] != t[:, 1]) & (t[:, 1] != t[:, 2]) & (t[:, 0] != t[:, 2]))
    assert len(np.unique(np.sort(t, axis=1), axis=0)) == len(t)
    # same orientation as the model: the level's face normals point where the full mesh's do
    v = m.mean_shape.astype(np.float64)
    p = v[lev.vertices][t]
    n_lev = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    q = v[m.triangles]
    n_full = np.zeros_like(v)
    np.add.at(n_full, m.triangles.ravel(), np.repeat(np.cross(q[:, 1] - q[:, 0], q[:, 2] - q[:, 0]), 3, axis=0))
    agree = np.einsum("ij,ij->i", n_lev, n_full[lev.vertices][t].sum(axis=1)) > 0
    assert agree.mean() > 0.99
    again = mesh_level(m.mean_shape, m.triangles, fraction, keep=m.landmarks)
    assert np.array_equal(again.vertices, lev.vertices) and np.array_equal(again.triangles, lev.triangles)


def test_full_level_is_the_model_mesh_and_bad_fractions_are_refused(embedded):
    lev = mesh_level(embedded.mean_shape, embedded.triangles, 1.0)
    assert np.array_equal(lev.vertices, np.arange(embedded.n_vertices))
    assert np.array_equal(lev.triangles, embedded.triangles)
    assert at_detail(embedded, 1.0) is embedded
    for bad in (0, -0.5, 1.5, "half", None):
        with pytest.raises(ValueError, match="fraction: expected a number in \\(0, 1\\]"):
            mesh_level(embedded.mean_shape, embedded.triangles, bad)


def test_restricted_model_composes_the_same_rows_as_the_full_model(embedded):
    m = embedded
    s = at_detail(m, 0.25)
    lev = mesh_level(m.mean_shape, m.triangles, 0.25, keep=np.union1d(m.landmarks, np.asarray(list(m.points.values()))))
    keep = lev.vertices
    assert s.n_vertices == len(keep) and np.array_equal(s.triangles, lev.triangles)
    ident = m.sample_identity(np.random.default_rng(3))
    np.testing.assert_allclose(s.shape(ident.shape), m.shape(ident.shape)[keep], atol=1e-4)
    np.testing.assert_allclose(s.albedo(ident.texture), m.albedo(ident.texture)[keep], atol=1e-6)
    for e in m.expressions:
        np.testing.assert_array_equal(s.expression_offset(e, 0.7), m.expression_offset(e, 0.7)[keep])
    g, eth = m.factors.genders[0], m.factors.ethnicities[-1]
    for a, b in zip(s.factors.offsets(g, eth, 60.0), m.factors.offsets(g, eth, 60.0)):
        np.testing.assert_array_equal(a, b[keep])
    # landmarks and named points are the same vertices; regions keep their surviving members
    np.testing.assert_array_equal(s.mean_shape[s.landmarks], m.mean_shape[m.landmarks])
    for name, i in m.points.items():
        np.testing.assert_array_equal(s.mean_shape[s.points[name]], m.mean_shape[i])
    for name, idx in m.regions.items():
        assert set(keep[s.regions[name]].tolist()) == set(idx.tolist()) & set(keep.tolist())


def _agreement(m, fraction, size, n=3):
    """(mean |diff| /255 over the union of masks, mask IoU) of level ``fraction`` against full detail."""
    s = at_detail(m, fraction)
    rng = np.random.default_rng(7)
    diffs, ious = [], []
    for k in range(n):
        ident = m.sample_identity(rng)
        v, a = m.shape(ident.shape), np.clip(m.albedo(ident.texture), 0, 1)
        vs, as_ = s.shape(ident.shape), np.clip(s.albedo(ident.texture), 0, 1)
        cam = Camera(yaw=(-30, 0, 30)[k], pitch=(15, 0, -15)[k], center=_centre(m))
        lig = Lighting((DirectionalLight((30, 0, -30)[k], 15, 0.65),), ambient=0.35)
        ref = render(v, m.triangles, a, camera=cam, lighting=lig, size=size, return_mask=True)
        out = render(vs, s.triangles, as_, camera=cam, lighting=lig, size=size, return_mask=True)
        union = ref.mask | out.mask
        diffs.append(np.abs(ref.image.astype(int) - out.image.astype(int))[union].mean())
        ious.append((ref.mask & out.mask).sum() / union.sum())
    return float(np.mean(diffs)), float(np.mean(ious))


@pytest.mark.parametrize("size", [128, 224])
def test_levels_render_within_the_backend_agreement_tolerance(embedded, size):
    # the tolerance the renderer issue accepts between backends: IoU >= 0.99, mean |diff| <= 3/255
    half, quarter = _agreement(embedded, 0.5, size), _agreement(embedded, 0.25, size)
    assert half[1] >= 0.99 and half[0] <= 3.0
    assert quarter[1] >= 0.99 and quarter[0] <= 3.0
    assert 0 < half[0] < quarter[0]  # coarser levels change the image more, and do change it


def test_levels_of_a_real_third_party_model(models_dir):
    from facegen.model.loaders import load_path

    path = models_dir / "sfm-3448" / "sfm_shape_3448.bin"
    if not path.exists():
        pytest.skip(f"SFM file not found at {path}")
    m = load_path(path, albedo_source=None)
    s = at_detail(m, 0.5)
    assert abs(len(s.triangles) - len(m.triangles) / 2) <= 0.02 * len(m.triangles)
    if m.landmarks is not None:
        np.testing.assert_array_equal(s.mean_shape[s.landmarks], m.mean_shape[m.landmarks])
    diff, iou = _agreement(m, 0.5, 128)
    assert iou >= 0.99 and diff <= 3.0


def _mean_front_area_px(m, size):
    """Mean screen area (px²) of front-facing triangles of the mean face, frontal default framing."""
    cam = Camera(center=_centre(m))
    uv = project_points(m.mean_shape.astype(np.float64), cam, size, size)[:, :2][m.triangles]
    e1, e2 = uv[:, 1] - uv[:, 0], uv[:, 2] - uv[:, 0]
    area = (e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) / 2
    return float(-area[area < 0].mean())


@pytest.mark.parametrize("size", [32, 64, 128, 160, 224, 256, 512])
def test_auto_picks_the_coarsest_level_with_triangles_of_at_most_4_px(embedded, size):
    m = embedded
    fr = auto_fraction(m.mean_shape, m.triangles, size)
    assert fr in DETAIL_LEVELS
    area = _mean_front_area_px(m, size)
    assert area / fr <= 4.0 or fr == 1.0
    coarser = [f for f in DETAIL_LEVELS if f < fr]
    assert not coarser or area / max(coarser) > 4.0
    assert auto_fraction(m.mean_shape, m.triangles, size, max_px=1e9) == min(DETAIL_LEVELS)

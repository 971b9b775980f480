"""Per-vertex maps: outward normals, displacement and luminance bases from the face model, MI that
lights up the vertices a response follows, and the PNG drawing."""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model  # noqa: E402

from benchmark.score.maps import (draw_map, luminance_basis, normal_displacement_basis,  # noqa: E402
                                  vertex_information, vertex_normals)


def test_normals_point_outwards_on_the_ellipsoid():
    m = synthetic_model()
    n = vertex_normals(m.mean_shape, m.triangles)
    assert np.allclose(np.linalg.norm(n, axis=1), 1)
    assert np.all((n * m.mean_shape).sum(axis=1) > 0)


def test_maps_light_up_the_vertices_the_response_follows(tmp_path):
    m = synthetic_model()
    sb, tb = normal_displacement_basis(m), luminance_basis(m)
    assert sb.shape == (m.n_shape, m.n_vertices) and tb.shape == (m.n_texture, m.n_vertices)
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(4), 100)
    ds = rng.standard_normal((400, m.n_shape))
    v = 17
    r = ds @ sb[:, v] + 0.3 * rng.standard_normal(400)  # the response reads vertex 17's displacement
    mi = vertex_information(r, ds, sb, ids)
    assert mi.shape == (m.n_vertices,)
    assert mi[v] >= 0.95 * mi.max()  # neighbours with nearly the same displacement may tie
    assert np.median(mi) < 0.5 * mi[v]
    draw_map(m.mean_shape, m.triangles, mi, tmp_path / "map.png", "test")
    assert (tmp_path / "map.png").stat().st_size > 1000


def test_vertex_test_matches_vertex_information_and_its_null_is_the_permuted_map():
    from benchmark.info.stats import permutations
    from benchmark.score.maps import vertex_test

    m = synthetic_model()
    sb = normal_displacement_basis(m)
    rng = np.random.default_rng(1)
    ids = np.repeat(np.arange(4), 60)
    ds = rng.standard_normal((240, m.n_shape))
    r = ds @ sb[:, 5] + 3.0 * rng.standard_normal(240) + 5.0 * ids  # an identity effect too
    t = vertex_test(r, ds, sb, ids, n_perm=19, seed=7, chunk=100, batch=8)
    np.testing.assert_allclose(t.mi, vertex_information(r, ds, sb, ids), atol=1e-10)
    perms = permutations(240, 19, np.random.default_rng(7), strata=ids)  # within identity
    for k in (0, 11, 18):
        np.testing.assert_allclose(t.null_max[k], vertex_information(r[perms[k]], ds, sb, ids).max(), atol=1e-10)


def test_max_statistic_threshold_controls_family_wise_error_on_noise_maps():
    """50 maps of a response that reads nothing: at most ~10% may show any significant vertex (3 of 50
    measured, alpha = 5% expected); uncorrected, 32 of these 50 maps have vertices above the
    single-vertex 95% point (chi-square approximation), about 5% of their vertices."""
    import math

    from benchmark.info import mass
    from benchmark.score.maps import vertex_test

    m = synthetic_model()
    sb = normal_displacement_basis(m)
    n, ids = 200, np.repeat(np.arange(4), 50)
    uncorrected = (-0.5 * math.log(1 - 3.84 / (n - 1)) - mass._mi_bias(n, 1, 1)) / math.log(2)
    any_sig = any_uncorrected = 0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        ds = rng.standard_normal((n, m.n_shape))
        t = vertex_test(rng.standard_normal(n), ds, sb, ids, n_perm=99, seed=seed)
        any_sig += bool(t.significant.any())
        assert t.significant.sum() == np.sum(t.mi > t.threshold)  # the threshold is what is applied
        assert np.array_equal(t.significant, t.p_fwe <= 0.05) and t.threshold > uncorrected
        any_uncorrected += bool(np.any(t.mi > uncorrected))
    assert any_sig <= 5, any_sig
    assert any_uncorrected >= 20, any_uncorrected


def test_max_statistic_detects_a_planted_vertex_and_masks_the_map(tmp_path):
    from benchmark.score.maps import VertexMaps, vertex_test

    m = synthetic_model()
    sb, tb = normal_displacement_basis(m), luminance_basis(m)
    rng = np.random.default_rng(0)
    ids = np.repeat(np.arange(4), 100)
    ds, dt = rng.standard_normal((400, m.n_shape)), rng.standard_normal((400, m.n_texture))
    v = 17
    r = ds @ sb[:, v] + 2.0 * rng.standard_normal(400)
    ts, tt = vertex_test(r, ds, sb, ids, n_perm=99, seed=1), vertex_test(r, dt, tb, ids, n_perm=99, seed=2)
    assert ts.significant[v] and ts.p_fwe[v] == 1 / 100 and ts.threshold < ts.mi[v]
    assert 0 < ts.significant.sum() < m.n_vertices  # vertices whose displacement is unlike 17's stay out
    assert not tt.significant.any()  # the response reads no texture
    maps = VertexMaps(ts.mi, tt.mi, m.mean_shape, m.triangles, "synthetic", ts, tt)
    s = maps.summary()
    assert s["shape"]["n_significant"] == int(ts.significant.sum()) and s["texture"]["n_significant"] == 0
    assert s["shape"]["threshold"] == ts.threshold and s["shape"]["alpha"] == 0.05 and s["shape"]["n_perm"] == 99
    assert np.all(maps.masked("texture") == 0) and maps.masked("shape")[v] == ts.mi[v]
    draw_map(m.mean_shape, m.triangles, ts.mi, tmp_path / "masked.png", "test", significant=ts.significant)
    assert (tmp_path / "masked.png").stat().st_size > 1000
    few = vertex_test(r, ds, sb, ids, n_perm=9, seed=1)  # 9 permutations cannot reach p <= 0.05
    assert few.threshold == np.inf and not few.significant.any() and maps.summary()["shape"]["p_fwe_min"] == 0.01

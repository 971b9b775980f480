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
    """200 maps of a response that reads nothing: the family-wise rate (any vertex significant) must
    stay at alpha = 5% within sampling error (14 of 200 measured; 19 or more has probability 0.6% at
    exactly 5%); uncorrected, 188 of these maps have vertices above the single-vertex 95% point of
    the 2-D statistic (chi-square, 2 d.o.f.), about 5% of their vertices."""
    import math

    from benchmark.info import mass
    from benchmark.score.maps import vertex_test

    m = synthetic_model()
    sb = normal_displacement_basis(m)
    n, ids = 200, np.repeat(np.arange(4), 50)
    uncorrected = (-0.5 * math.log(1 - 5.99 / (n - 1)) - mass._mi_bias(n, 2, 1)) / math.log(2)
    any_sig = any_uncorrected = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        ds = rng.standard_normal((n, m.n_shape))
        t = vertex_test(rng.standard_normal(n), ds, sb, ids, n_perm=99, seed=seed)
        any_sig += bool(t.significant.any())
        assert t.significant.sum() == np.sum(t.mi > t.threshold)  # the threshold is what is applied
        assert np.array_equal(t.significant, t.p_fwe <= 0.05) and t.threshold > uncorrected
        any_uncorrected += bool(np.any(t.mi > uncorrected))
    assert any_sig <= 18, any_sig
    assert any_uncorrected >= 150, any_uncorrected


def test_map_sees_a_response_to_the_displacement_magnitude_that_the_signed_statistic_misses():
    """The response falls with |h_17| (any change away from the mean face lowers it): the 2-D map
    [copnorm(h), copnorm(|h|)] peaks at vertex 17 and passes the family-wise test; the signed-only
    statistic mi_gg(copnorm(h_v), cn_id(R)), tested the same way, does not find it."""
    from benchmark.info import mass
    from benchmark.info.stats import permutations
    from benchmark.score.information import _RESPONSE, within_copnorm
    from benchmark.score.maps import vertex_test

    m = synthetic_model()
    sb = normal_displacement_basis(m)
    rng = np.random.default_rng(3)
    ids = np.repeat(np.arange(4), 100)
    ds = rng.standard_normal((400, m.n_shape))
    v = 17
    h = ds @ sb[:, v]
    r = -np.abs(h) / h.std() + 0.5 * rng.standard_normal(400) + ids  # symmetric in h, plus an identity effect
    t = vertex_test(r, ds, sb, ids, n_perm=99, seed=1)
    assert t.significant[v] and t.p_fwe[v] == 1 / 100 and np.argmax(t.mi) == v
    np.testing.assert_allclose(t.mi, vertex_information(r, ds, sb, ids), atol=1e-10)
    # the old, signed-only statistic and its own max-statistic null on the same permutations
    rc = within_copnorm(r, ids, seed=(0, _RESPONSE))[None]
    x = mass.copnorm((ds @ sb).T)
    signed = mass.mi_gg(x, rc, biascorrect=True, demeaned=True)
    perms = permutations(400, 99, np.random.default_rng(1), strata=ids)
    null_max = np.array([mass.mi_gg(x, rc[:, p], biascorrect=True, demeaned=True).max() for p in perms])
    p_signed = (1 + (null_max[None, :] >= signed[:, None]).sum(axis=1)) / 100
    assert p_signed[v] > 0.05 and not np.any(p_signed <= 0.05), p_signed[v]
    assert t.mi[v] > 20 * signed[v]


def test_fast_path_is_mi_gg_of_the_two_dimensional_copula_variable():
    """vertex_test's closed form (squared multiple correlation, 2-D bias) equals the plain
    gcmi.mi_gg of x_v = [copnorm(h_v), copnorm(|h_v|)] with cn_id(R), observed and permuted; a vertex
    whose h never changes sign falls back to the 1-D GCMI on both paths."""
    from benchmark.info import gcmi
    from benchmark.info.stats import permutations
    from benchmark.score.information import _RESPONSE, within_copnorm
    from benchmark.score.maps import vertex_test

    m = synthetic_model()
    sb = normal_displacement_basis(m)
    rng = np.random.default_rng(5)
    n, ids = 300, np.repeat(np.arange(3), 100)
    ds = rng.standard_normal((n, m.n_shape))
    ds[:, 0] = np.abs(ds[:, 0])  # coefficient 0 is only ever added: the extra vertex below is one-sided
    basis = np.hstack((sb, np.eye(m.n_shape)[:, :1]))
    r = np.abs(ds @ sb[:, 9]) + 0.7 * (ds @ sb[:, 40]) + rng.standard_normal(n)
    t = vertex_test(r, ds, basis, ids, n_perm=7, seed=2, chunk=50, batch=3)
    rc = within_copnorm(r, ids, seed=(0, _RESPONSE))
    perms = permutations(n, 7, np.random.default_rng(2), strata=ids)

    def plain(v, y):
        h = ds @ basis[:, v]
        x = gcmi.copnorm(h)[None] if v == basis.shape[1] - 1 else np.vstack((gcmi.copnorm(h), gcmi.copnorm(np.abs(h))))
        return gcmi.mi_gg(x, y[None], biascorrect=True, demeaned=True)

    for v in (0, 9, 40, 200, basis.shape[1] - 1):
        assert abs(t.mi[v] - plain(v, rc)) < 1e-10
    assert abs(t.mi[-1] - gcmi.mi_gg(gcmi.copnorm(ds[:, 0])[None], rc[None], True, True)) < 1e-10
    for k in (0, 6):
        ref = max(plain(v, rc[perms[k]]) for v in range(basis.shape[1]))
        assert abs(t.null_max[k] - ref) < 1e-10


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

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

"""Procedural test meshes: closed, outward-facing, the advertised sizes; the minimal OBJ reader."""
import numpy as np
import pytest

from facegen.render.meshes import cube, ellipsoid_head, read_obj, uv_sphere


def _closed_and_outward(v, t):
    edges = np.sort(np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    n = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
    outward = (n * (v[t].mean(axis=1) - v.mean(axis=0))).sum(axis=1) > 0
    return np.all(counts == 2), outward.mean()


@pytest.mark.parametrize("mesh", [uv_sphere(8, 16), uv_sphere(), cube(), ellipsoid_head(20, 40)[:2]])
def test_meshes_are_closed_and_counter_clockwise_from_outside(mesh):
    closed, outward = _closed_and_outward(*mesh)
    assert closed and outward == 1.0


def test_ellipsoid_head_size_and_nose():
    v, t, a = ellipsoid_head()
    assert 9000 < len(v) < 11000 and 19000 < len(t) < 21000
    assert np.allclose(v.max(0)[:2], [75, 110], rtol=0.05) and v[:, 2].max() > 100  # nose on +z
    assert a.shape == v.shape and a.min() >= 0 and a.max() <= 1


def test_read_obj_fan_splits_polygons_and_handles_negative_indices(tmp_path):
    p = tmp_path / "quad.obj"
    p.write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvt 0 0\nf 1/1 2/1 3/1 4/1\nf -4 -3 -2\n")
    v, t = read_obj(p)
    assert v.shape == (4, 3) and t.tolist() == [[0, 1, 2], [0, 2, 3], [0, 1, 2]]

"""ICT-FaceKit loader and the OBJ reader: real files (skipped without them) and small synthetic folders."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from facegen.model import ModelFileError
from facegen.model.loaders import load_path
from facegen.model.loaders.ict import ICT_EXPRESSIONS, load_ict
from facegen.model.loaders.obj import read_obj, read_obj_reference, read_obj_vertices


@pytest.fixture(scope="module")
def ict(ict_dir):
    t = time.perf_counter()
    m = load_path(ict_dir, albedo_source=None)
    return m, time.perf_counter() - t


def test_ict_sizes_units_and_speed(ict, ict_dir):
    m, seconds = ict
    assert m.n_vertices == 26719 and m.triangles.shape == (548 + 2 * 25836, 3)
    assert m.n_shape == 20 and np.all(m.shape_sd == 1)
    assert len(m.expression_names) == 29 and m.expression_basis.shape == (29, 26719, 3)
    width = np.ptp(m.mean_shape[m.regions["face"]], axis=0)[0]
    assert 150 < width < 300, f"face width {width} mm: cm were not converted to mm"
    assert m.uvs.shape == (26719, 2) and m.texture_basis.shape[0] == 0
    assert seconds < 30, f"loading 49 OBJs took {seconds:.1f} s"


def test_ict_identity_modes_reproduce_identity_objs(ict, ict_dir):
    m, _ = ict
    for k in range(m.n_shape):
        c = np.zeros(m.n_shape)
        c[k] = 1.0
        ref = read_obj_vertices(ict_dir / f"identity{k:03d}.obj") * 10.0
        np.testing.assert_allclose(m.shape(c), ref, rtol=0, atol=1e-6 * np.abs(ref).max(),
                                   err_msg=f"identity{k:03d}.obj")


def test_ict_expression_units_reproduce_their_objs(ict, ict_dir):
    m, _ = ict
    for name in m.expression_names:
        ref = read_obj_vertices(ict_dir / f"{name}.obj") * 10.0
        got = m.mean_shape + m.expression_offset({name: 1.0})
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6 * np.abs(ref).max(), err_msg=name)


def test_ict_landmarks_and_paper_expressions(ict, ict_dir):
    m, _ = ict
    meta = json.loads((ict_dir / "vertex_indices.json").read_text())
    np.testing.assert_array_equal(m.landmarks, meta["idx_to_landmark_verts"])
    assert m.mean_shape[m.landmarks[36], 0] < 0 < m.mean_shape[m.landmarks[45], 0]  # subject's right eye at -x
    assert set(m.expressions) == set(ICT_EXPRESSIONS)
    happy = m.expression_offset("happy")
    assert np.abs(happy).max() > 1.0  # mm: the expression moves the face


def test_obj_fast_reader_matches_reference_on_real_mesh(ict_dir):
    a, b = read_obj(ict_dir / "generic_neutral_mesh.obj"), read_obj_reference(ict_dir / "generic_neutral_mesh.obj")
    np.testing.assert_array_equal(a.vertices, b.vertices)
    np.testing.assert_array_equal(a.triangles, b.triangles)
    np.testing.assert_array_equal(a.uvs, b.uvs)


# -- synthetic folders ------------------------------------------------------------------------------

def _grid(n: int = 6):
    """A bumpy quad grid in cm (20 cm across): vertices (n*n, 3), quads (Q, 4) 0-based."""
    x, y = np.meshgrid(np.linspace(-10, 10, n), np.linspace(-10, 10, n))
    v = np.stack([x.ravel(), y.ravel(), 5 * np.cos(x.ravel() / 8) * np.cos(y.ravel() / 8)], axis=1)
    i = np.arange(n * n).reshape(n, n)
    q = np.stack([i[:-1, :-1], i[:-1, 1:], i[1:, 1:], i[1:, :-1]], axis=-1).reshape(-1, 4)
    return v, q


def _write_obj(path: Path, v: np.ndarray, faces, uv: bool = True) -> None:
    lines = [f"v {a:.6f} {b:.6f} {c:.6f}" for a, b, c in v]
    if uv:
        lines += [f"vt {a:.4f} {b:.4f}" for a, b in (v[:, :2] + 10) / 20]
    for f in faces:
        lines.append("f " + " ".join(f"{k + 1}/{k + 1}" if uv else str(k + 1) for k in f))
    path.write_text("\n".join(lines) + "\n")


def _ict_folder(tmp_path: Path, n_id: int = 3) -> Path:
    v, q = _grid()
    rng = np.random.default_rng(0)
    _write_obj(tmp_path / "generic_neutral_mesh.obj", v, q)
    for k in range(n_id):
        _write_obj(tmp_path / f"identity{k:03d}.obj", v + rng.normal(0, 0.1, v.shape), q)
    for name in ("jawOpen", "mouthSmile_L", "mouthSmile_R"):
        _write_obj(tmp_path / f"{name}.obj", v + rng.normal(0, 0.1, v.shape), q)
    return tmp_path


def test_ict_synthetic_folder_loads(tmp_path):
    d = _ict_folder(tmp_path)
    m = load_path(d, albedo_source=None)
    v, q = _grid()
    np.testing.assert_allclose(m.mean_shape, v * 10, atol=1e-4)
    assert m.triangles.shape == (2 * len(q), 3) and m.n_shape == 3
    assert m.expression_names == ("jawOpen", "mouthSmile_L", "mouthSmile_R")
    assert set(m.expressions) == {"neutral"}  # no paper expression has all its units here
    assert m.landmarks is None  # no vertex_indices.json
    assert load_ict(d, albedo_source=None, max_identity=2).n_shape == 2


def test_ict_bad_vertex_count_names_file(tmp_path):
    d = _ict_folder(tmp_path)
    v, q = _grid(5)
    _write_obj(d / "identity001.obj", v, q)
    with pytest.raises(ModelFileError, match=r"identity001\.obj.*vertices"):
        load_path(d, albedo_source=None)


def test_ict_identity_gap_is_an_error(tmp_path):
    d = _ict_folder(tmp_path)
    (d / "identity001.obj").unlink()
    with pytest.raises(ModelFileError, match="identity001.obj"):
        load_path(d, albedo_source=None)


def test_ict_truncated_obj_is_an_error(tmp_path):
    d = _ict_folder(tmp_path)
    text = (d / "identity000.obj").read_text()
    (d / "identity000.obj").write_text(text[: len(text) // 5].rsplit(" ", 1)[0])
    with pytest.raises(ModelFileError, match="identity000.obj"):
        load_path(d, albedo_source=None)


def test_ict_nan_in_neutral_is_an_error(tmp_path):
    d = _ict_folder(tmp_path)
    text = (d / "generic_neutral_mesh.obj").read_text().replace("v ", "v nan nan nan #", 1)
    (d / "generic_neutral_mesh.obj").write_text(text)
    with pytest.raises(ModelFileError, match="NaN"):
        load_path(d, albedo_source=None)


def test_ict_bad_json_is_an_error(tmp_path):
    d = _ict_folder(tmp_path)
    (d / "vertex_indices.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="vertex_indices.json"):
        load_path(d, albedo_source=None)


def test_obj_reader_forms_match_reference(tmp_path):
    p = tmp_path / "m.obj"
    p.write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nv 2 0 0\nvt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvt .5 .5\n"
                 "f 1/1 2/2 3/3 4/4\nf -4/-4 -1/-1 -3/-3\n")
    a, b = read_obj(p), read_obj_reference(p)
    np.testing.assert_array_equal(a.triangles, b.triangles)
    np.testing.assert_array_equal(a.triangles, [[0, 1, 2], [0, 2, 3], [1, 4, 2]])
    np.testing.assert_array_equal(a.uvs, b.uvs)
    q = tmp_path / "n.obj"
    q.write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nvn 0 0 1\nf 1//1 2//1 3//1\n")
    np.testing.assert_array_equal(read_obj(q).triangles, [[0, 1, 2]])
    r = tmp_path / "bad.obj"
    r.write_text("v 0 0 0\nv 1 0 0\nf 1 2 3\n")
    with pytest.raises(ModelFileError, match="bad.obj"):
        read_obj(r)


def test_ict_wrong_units_is_an_error(tmp_path):
    """A folder re-saved in mm (not the published cm) becomes a 2 m head after the x10: refused."""
    v, q = _grid()
    _write_obj(tmp_path / "generic_neutral_mesh.obj", v * 10, q)
    with pytest.raises(ModelFileError, match=r"millimetres.*Convert"):
        load_path(tmp_path, albedo_source=None)

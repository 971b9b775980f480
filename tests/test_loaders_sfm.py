"""Surrey Face Model loader: our cereal parser against eos-py (the reference reader), and bad files."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from facegen.model import ModelFileError
from facegen.model.loaders import load_path
from facegen.model.loaders.sfm import load_sfm, read_cereal_blendshapes, read_cereal_model, read_ibug_mapping


@pytest.fixture(scope="module")
def sfm(sfm_dir):
    return load_path(sfm_dir / "sfm_shape_3448.bin", albedo_source=None)


def test_sfm_arrays_equal_eos(sfm, sfm_dir):
    eos = pytest.importorskip("eos")
    e = eos.morphablemodel.load_model(str(sfm_dir / "sfm_shape_3448.bin"))
    s = e.get_shape_model()
    np.testing.assert_array_equal(sfm.mean_shape.ravel(), s.get_mean())
    np.testing.assert_array_equal(sfm.shape_basis.reshape(sfm.n_shape, -1).T, s.get_orthonormal_pca_basis())
    np.testing.assert_allclose(sfm.shape_sd.astype(np.float64) ** 2, s.get_eigenvalues(), rtol=1e-6)
    np.testing.assert_array_equal(sfm.triangles, np.asarray(s.get_triangle_list()))
    np.testing.assert_allclose(sfm.uvs, np.asarray(e.get_texture_coordinates()), rtol=1e-6)
    c = np.random.default_rng(1).standard_normal(sfm.n_shape)
    np.testing.assert_allclose(sfm.shape(c).ravel(), s.draw_sample(c.tolist()), atol=1e-3)
    bs = eos.morphablemodel.load_blendshapes(str(sfm_dir / "expression_blendshapes_3448.bin"))
    assert list(sfm.expression_names) == [b.name for b in bs]
    for k, b in enumerate(bs):
        np.testing.assert_array_equal(sfm.expression_basis[k].ravel(), b.deformation)


def test_sfm_published_facts(sfm):
    assert sfm.n_vertices == 3448 and sfm.n_shape == 63 and sfm.triangles.shape == (6736, 3)
    np.testing.assert_allclose(sfm.shape_sd[:5] ** 2, [56502, 29755, 9638, 6955, 5172], rtol=1e-3)
    assert set(sfm.expressions) == {"neutral", "anger", "disgust", "fear", "happy", "sad", "surprise"}
    assert sfm.landmarks is None  # the public SFM defines 50 of the 68 iBUG points
    assert sfm.points["ibug_09"] == 33 and sfm.points["ibug_31"] == 114 and len(sfm.points) == 50
    assert sfm.texture_basis.shape[0] == 0  # no colour model and no albedo source asked for


def test_ibug_mapping(sfm_dir):
    lm = read_ibug_mapping(sfm_dir / "ibug_to_sfm.txt", 3448)
    assert lm.shape == (68,) and lm[8] == 33 and lm[36] == 177 and lm[0] == -1 and lm[60] == -1


def test_cereal_v4_with_colour_blendshapes_landmarks_matches_eos(tmp_path):
    """eos writes its current format (v4: expression model, landmark definitions, uv triangles)."""
    eos = pytest.importorskip("eos")
    mm = eos.morphablemodel
    rng = np.random.default_rng(0)
    V, K = 50, 4
    mean = (rng.normal(0, 60, 3 * V)).astype(np.float32)
    q, _ = np.linalg.qr(rng.normal(size=(3 * V, K)))
    tris = rng.integers(0, V, (20, 3)).tolist()
    shape = mm.PcaModel(mean, q.astype(np.float32), np.array([9.0, 4, 2, 1], np.float32), tris)
    colour = mm.PcaModel(np.full(3 * V, 0.5, np.float32), q[:, :2].astype(np.float32),
                         np.array([0.01, 0.004], np.float32), tris)
    bs = [mm.Blendshape("happiness", rng.normal(0, 1, 3 * V).astype(np.float32)),
          mm.Blendshape("surprise", rng.normal(0, 1, 3 * V).astype(np.float32))]
    uv = rng.uniform(0, 1, (V, 2)).tolist()
    model = mm.MorphableModel(shape, bs, colour, {"nose": 3, "chin": 7}, uv, tris)
    p = tmp_path / "model.bin"
    mm.save_model(model, str(p))
    a = read_cereal_model(p)
    assert a["version"] == 4 and a["landmarks"] == {"nose": 3, "chin": 7}
    np.testing.assert_array_equal(a["shape"]["basis"], q.astype(np.float32))
    np.testing.assert_allclose(a["color"]["eigenvalues"], [0.01, 0.004], rtol=1e-6)
    assert [n for n, _ in a["expression"]] == ["happiness", "surprise"]
    np.testing.assert_array_equal(a["uv_triangles"], tris)
    m = load_sfm(p, albedo_source=None)
    assert m.expressions["happy"] == {"happiness": 1.0} and m.n_texture == 2
    np.testing.assert_allclose(m.texture_sd ** 2, [0.01, 0.004], rtol=1e-6)
    loaded = mm.load_model(str(p)).get_shape_model()
    np.testing.assert_array_equal(m.mean_shape.ravel(), loaded.get_mean())
    # blendshape files written by eos parse the same
    mm.save_blendshapes(bs, str(tmp_path / "bs.bin"))
    got = read_cereal_blendshapes(tmp_path / "bs.bin")
    np.testing.assert_array_equal(got[1][1], bs[1].deformation)


def _tiny_v1(path: Path, scale: float = 1.0, nan: bool = False) -> Path:
    """A version-1 cereal model written by hand: V=4 vertices, 2 modes, no colour, no uvs."""
    rng = np.random.default_rng(2)
    V, K = 4, 2
    mean = (rng.normal(0, 50, (V, 3)) * scale).astype(np.float32).ravel()
    if nan:
        mean[3] = np.nan
    basis = np.linalg.qr(rng.normal(size=(3 * V, K)))[0].astype(np.float32)
    b = struct.pack("<I", 1)
    b += struct.pack("<ii", 3 * V, 1) + mean.tobytes()
    b += struct.pack("<ii", 3 * V, K) + basis.T.tobytes()  # column-major
    b += struct.pack("<ii", K, 1) + np.array([4.0, 1.0], np.float32).tobytes()
    b += struct.pack("<Q", 2) + np.array([[0, 1, 2], [0, 2, 3]], np.int32).tobytes()
    b += struct.pack("<ii", 0, 1) + struct.pack("<ii", 0, 0) + struct.pack("<ii", 0, 1) + struct.pack("<Q", 0)
    b += struct.pack("<Q", 0)  # texture coordinates
    path.write_bytes(b)
    return path


def test_hand_written_v1_file_loads(tmp_path):
    m = load_sfm(_tiny_v1(tmp_path / "tiny.bin"), albedo_source=None)
    assert m.n_vertices == 4 and m.n_shape == 2 and m.expression_names == () and m.uvs is None
    np.testing.assert_allclose(m.shape_sd, [2.0, 1.0])


@pytest.mark.parametrize("cut", [3, 20, 100, -9])
def test_truncated_file_names_path(tmp_path, cut):
    p = _tiny_v1(tmp_path / "tiny.bin")
    p.write_bytes(p.read_bytes()[:cut])
    with pytest.raises(ModelFileError, match=r"tiny\.bin.*(truncated|ends)"):
        load_path(p, albedo_source=None)


def test_trailing_bytes_and_bad_version(tmp_path):
    p = _tiny_v1(tmp_path / "tiny.bin")
    p.write_bytes(p.read_bytes() + b"\0\0")
    with pytest.raises(ModelFileError, match="bytes left"):
        load_path(p, albedo_source=None)
    p.write_bytes(struct.pack("<I", 9) + p.read_bytes()[4:])
    with pytest.raises(ModelFileError, match="version 9"):
        load_path(p, albedo_source=None)


def test_metres_and_nan_are_rejected(tmp_path):
    with pytest.raises(ModelFileError, match=r"tiny\.bin.*millimetres"):
        load_path(_tiny_v1(tmp_path / "tiny.bin", scale=0.001), albedo_source=None)
    with pytest.raises(ModelFileError, match=r"tiny\.bin.*NaN"):
        load_path(_tiny_v1(tmp_path / "tiny.bin", nan=True), albedo_source=None)


def test_blendshapes_of_wrong_size(tmp_path):
    eos = pytest.importorskip("eos")
    p = _tiny_v1(tmp_path / "tiny.bin")
    eos.morphablemodel.save_blendshapes([eos.morphablemodel.Blendshape("anger", np.zeros(9, np.float32))],
                                        str(tmp_path / "bs.bin"))
    with pytest.raises(ModelFileError, match=r"bs\.bin.*anger"):
        load_sfm(p, blendshapes=tmp_path / "bs.bin", albedo_source=None)


def test_unknown_format_lists_allowed(tmp_path):
    p = tmp_path / "model.xyz"
    p.write_text("x")
    with pytest.raises(ModelFileError, match=r"model\.xyz.*Allowed.*\.bin.*\.h5"):
        load_path(p)
    with pytest.raises(ModelFileError, match="no such file"):
        load_path(tmp_path / "missing.bin")

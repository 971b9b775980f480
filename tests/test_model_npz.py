"""facegen's own .npz model file: round trips through load_path, and bad files named in errors."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from facegen.model import FaceModel, FactorModel, ModelFileError, load_npz, save_npz
from facegen.model.loaders import load_path


def _model(V: int = 30, seed: int = 0) -> FaceModel:
    rng = np.random.default_rng(seed)
    f32 = np.float32
    mean = rng.normal(0, 50, (V, 3)).astype(f32)
    factors = FactorModel(
        genders=("female", "male"), gender_shape=rng.normal(0, 1, (2, V, 3)).astype(f32),
        gender_albedo=rng.normal(0, .01, (2, V, 3)).astype(f32), ethnicities=("a", "b", "c"),
        ethnicity_shape=rng.normal(0, 1, (3, V, 3)).astype(f32),
        ethnicity_albedo=rng.normal(0, .01, (3, V, 3)).astype(f32), age_reference=40.0,
        age_range=(18.0, 80.0), age_shape=rng.normal(0, .1, (V, 3)).astype(f32),
        age_albedo=rng.normal(0, .001, (V, 3)).astype(f32))
    return FaceModel(
        name="tiny", version="1", mean_shape=mean, shape_basis=rng.normal(0, 1, (5, V, 3)).astype(f32),
        shape_sd=np.linspace(5, 1, 5).astype(f32), mean_albedo=np.full((V, 3), .5, f32),
        texture_basis=rng.normal(0, .1, (3, V, 3)).astype(f32), texture_sd=np.ones(3, f32),
        triangles=rng.integers(0, V, (40, 3)).astype(np.int32),
        expression_basis=rng.normal(0, 1, (2, V, 3)).astype(f32), expression_names=("AU12", "AU26"),
        expressions={"neutral": {}, "happy": {"AU12": 1.0}}, texture_bands=np.array([0, 0, 1]),
        uvs=rng.uniform(0, 1, (V, 2)).astype(f32), landmarks=np.arange(68, dtype=np.int32) % V,
        regions={"face": np.arange(10, dtype=np.int32)}, points={"n": 3}, factors=factors, provenance="test")


def _rewrite(path: Path, name: str, array: np.ndarray | None) -> None:
    """Replace (or, with None, drop) one array inside an .npz."""
    with zipfile.ZipFile(path) as zf:
        entries = {n: zf.read(n) for n in zf.namelist()}
    if array is None:
        del entries[name + ".npy"]
    else:
        buf = io.BytesIO()
        np.lib.format.write_array(buf, array)
        entries[name + ".npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        for n, b in entries.items():
            zf.writestr(n, b)


def test_npz_round_trip_through_load_path(tmp_path):
    m = _model()
    p = save_npz(m, tmp_path / "m.npz")
    back = load_path(p)
    assert back.sha256() == m.sha256()
    np.testing.assert_array_equal(back.factors.gender_shape, m.factors.gender_shape)
    assert back.expressions == m.expressions and back.points == m.points
    np.testing.assert_array_equal(back.regions["face"], m.regions["face"])
    assert save_npz(back, tmp_path / "again.npz").read_bytes() == p.read_bytes()  # deterministic bytes


def test_npz_round_trip_of_the_albedo_gains(tmp_path):
    import dataclasses

    m = _model()
    rng = np.random.default_rng(4)
    gain = rng.normal(0, .002, m.mean_albedo.shape).astype(np.float32)
    groups = dict(gender_albedo_gain=rng.uniform(.8, 1.2, (2,) + m.mean_albedo.shape).astype(np.float32),
                  ethnicity_albedo_gain=rng.uniform(.5, 1.5, (3,) + m.mean_albedo.shape).astype(np.float32))
    g = dataclasses.replace(m, factors=dataclasses.replace(m.factors, age_albedo_gain=gain, **groups))
    assert g.sha256() != m.sha256()                       # the gain is part of the model
    back = load_path(save_npz(g, tmp_path / "g.npz"))
    np.testing.assert_array_equal(back.factors.age_albedo_gain, gain)
    for k, v in groups.items():
        np.testing.assert_array_equal(getattr(back.factors, k), v)
    assert back.sha256() == g.sha256()
    assert load_path(save_npz(m, tmp_path / "m.npz")).factors.age_albedo_gain is None   # optional
    p = save_npz(g, tmp_path / "g.npz")
    _rewrite(p, "factor/age_albedo_gain", gain[:3])
    with pytest.raises(ModelFileError, match=r"g\.npz.*age_albedo_gain"):
        load_path(p)
    p = save_npz(g, tmp_path / "g.npz")
    _rewrite(p, "factor/ethnicity_albedo_gain", groups["ethnicity_albedo_gain"][:2])   # 2 levels, 3 names
    with pytest.raises(ModelFileError, match=r"g\.npz.*ethnicity_albedo_gain has 2 levels but 3 names"):
        load_path(p)


def test_npz_round_trip_of_a_real_model(tmp_path, models_dir):
    src = models_dir / "sfm-3448" / "sfm_shape_3448.bin"
    if not src.is_file():
        pytest.skip(f"{src} not found")
    m = load_path(src, albedo_source=None)
    back = load_path(save_npz(m, tmp_path / "sfm.npz"))
    assert back.sha256() == m.sha256() and back.points == m.points


def test_truncated_npz(tmp_path):
    p = save_npz(_model(), tmp_path / "m.npz")
    p.write_bytes(p.read_bytes()[:500])
    with pytest.raises(ModelFileError, match=r"m\.npz.*(truncated|corrupt)"):
        load_path(p)


@pytest.mark.parametrize("key", ["mean_shape", "shape_sd", "triangles"])
def test_missing_key(tmp_path, key):
    p = save_npz(_model(), tmp_path / "m.npz")
    _rewrite(p, key, None)
    with pytest.raises(ModelFileError, match=rf"m\.npz.*missing key '{key}'"):
        load_npz(p)


def test_nan_wrong_shape_wrong_units(tmp_path):
    m = _model()
    p = save_npz(m, tmp_path / "m.npz")
    bad = m.shape_basis.copy()
    bad[0, 0, 0] = np.nan
    _rewrite(p, "shape_basis", bad)
    with pytest.raises(ModelFileError, match=r"m\.npz.*shape_basis contains NaN"):
        load_path(p)
    p = save_npz(m, tmp_path / "m.npz")
    _rewrite(p, "mean_albedo", m.mean_albedo[:-1])
    with pytest.raises(ModelFileError, match=r"m\.npz.*mean_albedo has shape"):
        load_path(p)
    p = save_npz(m, tmp_path / "m.npz")
    _rewrite(p, "mean_shape", m.mean_shape / 1000)
    with pytest.raises(ModelFileError, match=r"m\.npz.*millimetres"):
        load_path(p)
    p = save_npz(m, tmp_path / "m.npz")
    _rewrite(p, "factor/age_shape", m.factors.age_shape[:3])
    with pytest.raises(ModelFileError, match=r"m\.npz.*age_shape"):
        load_path(p)


def test_load_model_loads_a_file_once_per_process_until_it_changes(tmp_path, monkeypatch):
    """One ``facegen sample`` asks for its model three times (design check, render context,
    datasheet); a file model loads once, and a model rewritten in place (or a folder with a new
    file) loads again."""
    import facegen.model.loaders as loaders
    from facegen.model import load_model

    calls = []
    real = loaders.load_path
    monkeypatch.setattr(loaders, "load_path", lambda p: calls.append(p) or real(p))
    p = save_npz(_model(seed=1), tmp_path / "m.npz")
    a = load_model(p)
    assert load_model(str(p)) is a and load_model(tmp_path / "." / "m.npz") is a and len(calls) == 1
    save_npz(_model(seed=2), p)          # same name and size, new bytes
    b = load_model(p)
    assert len(calls) == 2 and b.sha256() != a.sha256() and b.sha256() == _model(seed=2).sha256()
    p.unlink()
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(p)                    # a deleted file is not served from memory

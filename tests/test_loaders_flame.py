"""FLAME loader: restricted unpickling of a chumpy-style pickle, the npz form, and bad files."""
from __future__ import annotations

import os
import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

from facegen.model import ModelFileError
from facegen.model.loaders import load_path
from facegen.model.loaders.flame import read_flame_arrays

V, F = 80, 120


def _arrays(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(V, 3))
    v = d / np.linalg.norm(d, axis=1, keepdims=True) * [0.08, 0.11, 0.10]  # metres
    return {"v_template": v, "shapedirs": rng.normal(0, 1e-3, (V, 3, 7)), "f": rng.integers(0, V, (F, 3)).astype(np.uint32),
            "posedirs": rng.normal(0, 1e-3, (V, 3, 36)), "weights": rng.uniform(0, 1, (V, 5)),
            "kintree_table": np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.int64),
            "J_regressor": scipy.sparse.csc_matrix(rng.uniform(0, 1, (5, V)) * (rng.uniform(size=(5, V)) > .9)),
            "bs_style": "lbs", "bs_type": "lrotmin"}


def _fake_chumpy():
    """Register importable stand-ins for chumpy.ch.Ch so pickle can write references to them."""
    class Ch:
        def __init__(self, x):
            self.x = x
            self._dirty_vars = set()

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    pkg, mod = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")
    mod.Ch = Ch
    pkg.ch = mod
    return Ch, {"chumpy": pkg, "chumpy.ch": mod}


def _write_pkl(path: Path, d: dict, chumpy_keys=("shapedirs", "v_template")) -> Path:
    Ch, mods = _fake_chumpy()
    saved = {k: sys.modules.get(k) for k in mods}
    sys.modules.update(mods)
    try:
        out = {k: (Ch(v) if k in chumpy_keys else v) for k, v in d.items()}
        with path.open("wb") as fh:
            pickle.dump(out, fh, protocol=2)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    return path


def test_flame_pickle_without_chumpy(tmp_path):
    a = _arrays()
    p = _write_pkl(tmp_path / "generic_model.pkl", a)
    assert "chumpy" not in sys.modules or not hasattr(sys.modules["chumpy"], "Ch")
    m = load_path(p, albedo_source=None)
    np.testing.assert_allclose(m.mean_shape, a["v_template"] * 1000, rtol=1e-6)  # m -> mm
    assert m.n_shape == 7 and m.expression_names == ()  # fewer than 300 components: all identity
    np.testing.assert_allclose(m.shape_basis[3], a["shapedirs"][:, :, 3] * 1000, rtol=1e-6)
    np.testing.assert_array_equal(m.shape_sd, 1.0)
    np.testing.assert_array_equal(m.triangles, a["f"])
    raw = read_flame_arrays(p)
    assert isinstance(raw["J_regressor"], scipy.sparse.csc_matrix) and raw["bs_style"] == "lbs"


def test_flame_identity_and_expression_split(tmp_path):
    a = _arrays()
    from facegen.model.loaders.flame import load_flame

    m = load_flame(_write_pkl(tmp_path / "flame2020.pkl", a), n_identity=5, albedo_source=None)
    assert m.n_shape == 5 and m.expression_names == ("exp_00", "exp_01")
    np.testing.assert_allclose(m.expression_offset({"exp_01": 1.0}), a["shapedirs"][:, :, 6] * 1000, rtol=1e-6)


def test_flame_npz(tmp_path):
    a = _arrays(1)
    p = tmp_path / "flame.npz"
    np.savez(p, **{k: a[k] for k in ("v_template", "shapedirs", "f", "posedirs", "weights")})
    m = load_path(p, albedo_source=None)  # no 'meta' -> FLAME
    np.testing.assert_allclose(m.mean_shape, a["v_template"] * 1000, rtol=1e-6)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_flame_pickle_refuses_code(tmp_path):
    p = tmp_path / "evil.pkl"
    p.write_bytes(pickle.dumps({"v_template": _Evil()}, protocol=2))
    with pytest.raises(ModelFileError, match=r"evil\.pkl.*(system|not allowed)"):
        load_path(p, albedo_source=None)
    p.write_bytes(pickle.dumps({"x": os.getcwd}, protocol=2))  # any other global: refused too
    with pytest.raises(ModelFileError, match=r"evil\.pkl"):
        load_path(p, albedo_source=None)


@pytest.mark.parametrize("key", ["v_template", "shapedirs", "f"])
def test_flame_missing_key(tmp_path, key):
    a = _arrays()
    del a[key]
    with pytest.raises(ModelFileError, match=rf"m\.pkl.*missing key.*{key}"):
        load_path(_write_pkl(tmp_path / "m.pkl", a, chumpy_keys=()), albedo_source=None)


def test_flame_bad_files(tmp_path):
    a = _arrays()
    with pytest.raises(ModelFileError, match=r"m\.pkl.*shapedirs has shape"):
        load_path(_write_pkl(tmp_path / "m.pkl", dict(a, shapedirs=a["shapedirs"][:-1])), albedo_source=None)
    bad = a["v_template"].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ModelFileError, match=r"m\.pkl.*v_template contains NaN"):
        load_path(_write_pkl(tmp_path / "m.pkl", dict(a, v_template=bad)), albedo_source=None)
    with pytest.raises(ModelFileError, match=r"m\.pkl.*metres"):  # saved in mm
        load_path(_write_pkl(tmp_path / "m.pkl", dict(a, v_template=a["v_template"] * 1000)), albedo_source=None)
    with pytest.raises(ModelFileError, match=r"m\.pkl.*f indexes"):
        load_path(_write_pkl(tmp_path / "m.pkl", dict(a, f=a["f"] + V)), albedo_source=None)
    p = _write_pkl(tmp_path / "m.pkl", a)
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(ModelFileError, match=r"m\.pkl.*(truncated|ends early|readable)"):
        load_path(p, albedo_source=None)
    p.write_bytes(pickle.dumps([1, 2], protocol=2))
    with pytest.raises(ModelFileError, match=r"m\.pkl.*holds a list"):
        load_path(p, albedo_source=None)

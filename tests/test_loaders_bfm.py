"""Basel Face Model 2009 (.mat) and 2017 (.h5) loaders on small synthetic files in the published layouts."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io

from facegen.model import ModelFileError
from facegen.model.loaders import load_path

V, K = 120, 6


def _arrays(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(V, 3))
    mean_mm = d / np.linalg.norm(d, axis=1, keepdims=True) * [75.0, 100.0, 90.0]
    q = np.linalg.qr(rng.normal(size=(3 * V, K)))[0]
    tq = np.linalg.qr(rng.normal(size=(3 * V, K - 1)))[0]
    tri0 = rng.integers(0, V, (200, 3))
    return {"mean_mm": mean_mm, "basis": q, "sd_mm": np.linspace(20, 2, K), "tex_basis": tq,
            "tex_mean": rng.uniform(0.3, 0.8, (V, 3)), "tex_sd": np.linspace(.1, .01, K - 1), "tri0": tri0}


def _write_mat(path: Path, a: dict, *, um: float = 1000.0, drop: str | None = None, **override) -> Path:
    d = {"shapeMU": (a["mean_mm"].reshape(-1, 1) * um).astype(np.float32), "shapePC": a["basis"].astype(np.float32),
         "shapeEV": (a["sd_mm"].reshape(-1, 1) * um).astype(np.float32),
         "texMU": (a["tex_mean"].reshape(-1, 1) * 255).astype(np.float32), "texPC": a["tex_basis"].astype(np.float32),
         "texEV": (a["tex_sd"].reshape(-1, 1) * 255).astype(np.float32), "tl": (a["tri0"] + 1).astype(np.float64)}
    d.update(override)
    if drop:
        del d[drop]
    scipy.io.savemat(str(path), d)
    return path


def _write_h5(path: Path, a: dict, *, scale: float = 1.0, drop: str | None = None, expression: bool = True,
              **override) -> Path:
    d = {"shape/model/mean": a["mean_mm"].ravel() * scale, "shape/model/pcaBasis": a["basis"],
         "shape/model/pcaVariance": (a["sd_mm"] * scale) ** 2, "shape/representer/cells": a["tri0"].T,
         "shape/representer/points": a["mean_mm"].T * scale, "color/model/mean": a["tex_mean"].ravel(),
         "color/model/pcaBasis": a["tex_basis"], "color/model/pcaVariance": a["tex_sd"] ** 2}
    if expression:
        d.update({"expression/model/mean": np.full(3 * V, 0.5), "expression/model/pcaBasis": a["basis"][:, :3],
                  "expression/model/pcaVariance": np.array([4.0, 1.0, 0.25])})
    d.update(override)
    if drop:
        del d[drop]
    with h5py.File(path, "w") as f:
        for k, v in d.items():
            f[k] = np.asarray(v, dtype=np.float32 if k != "shape/representer/cells" else np.uint32)
    return path


def test_bfm2009_layout_and_units(tmp_path):
    a = _arrays()
    m = load_path(_write_mat(tmp_path / "01_MorphableModel.mat", a))
    np.testing.assert_allclose(m.mean_shape, a["mean_mm"], rtol=1e-5, atol=1e-3)  # um -> mm
    np.testing.assert_allclose(m.shape_sd, a["sd_mm"], rtol=1e-5)  # shapeEV is a s.d., not a variance
    np.testing.assert_allclose(m.shape_basis[2].ravel(), a["basis"][:, 2], atol=1e-6)
    np.testing.assert_array_equal(m.triangles, a["tri0"][:, [0, 2, 1]])  # 1-based, re-wound
    np.testing.assert_allclose(m.mean_albedo, a["tex_mean"], atol=1e-5)  # /255
    np.testing.assert_allclose(m.texture_sd, a["tex_sd"], rtol=1e-5)
    c = np.array([1.0, -0.5, 0, 0, 0, 2.0])
    ref = a["mean_mm"].ravel() + a["basis"] @ (c * a["sd_mm"])
    np.testing.assert_allclose(m.shape(c).ravel(), ref, atol=1e-3)


def test_bfm2017_layout_and_units(tmp_path):
    a = _arrays(1)
    m = load_path(_write_h5(tmp_path / "model2017-1_bfm_nomouth.h5", a))
    np.testing.assert_allclose(m.mean_shape, a["mean_mm"] + 0.5, atol=1e-4)  # expression mean added
    np.testing.assert_allclose(m.shape_sd, a["sd_mm"], rtol=1e-5)  # pcaVariance is a variance
    np.testing.assert_array_equal(m.triangles, a["tri0"])  # cells (3, F), 0-based
    np.testing.assert_allclose(m.texture_sd, a["tex_sd"], rtol=1e-5)
    assert m.expression_names == ("expr_00", "expr_01", "expr_02")
    np.testing.assert_allclose(m.expression_offset({"expr_01": 1.0}).ravel(), a["basis"][:, 1] * 1.0, atol=1e-5)
    np.testing.assert_allclose(m.expression_offset({"expr_00": 1.0}).ravel(), a["basis"][:, 0] * 2.0, atol=1e-5)
    m2 = load_path(_write_h5(tmp_path / "noexpr.h5", a, expression=False, drop="color/model/mean"))
    assert m2.n_texture == 0 and m2.expression_names == ()


@pytest.mark.parametrize("key", ["shapeMU", "shapeEV", "texPC", "tl"])
def test_bfm2009_missing_key(tmp_path, key):
    with pytest.raises(ModelFileError, match=rf"bfm\.mat.*missing key.*{key}"):
        load_path(_write_mat(tmp_path / "bfm.mat", _arrays(), drop=key))


def test_bfm2009_bad_files(tmp_path):
    a = _arrays()
    with pytest.raises(ModelFileError, match=r"bfm\.mat.*shapePC has shape"):
        load_path(_write_mat(tmp_path / "bfm.mat", a, shapePC=a["basis"][:-3]))
    bad = (a["mean_mm"].reshape(-1, 1) * 1000).astype(np.float32)
    bad[5] = np.nan
    with pytest.raises(ModelFileError, match=r"bfm\.mat.*shapeMU contains NaN"):
        load_path(_write_mat(tmp_path / "bfm.mat", a, shapeMU=bad))
    with pytest.raises(ModelFileError, match=r"bfm\.mat.*micrometres"):  # saved in mm, not um
        load_path(_write_mat(tmp_path / "bfm.mat", a, um=1.0))
    with pytest.raises(ModelFileError, match=r"bfm\.mat.*tl indexes"):
        load_path(_write_mat(tmp_path / "bfm.mat", a, tl=a["tri0"].astype(float)))  # 0-based: 0 is invalid
    with pytest.raises(ModelFileError, match=r"bfm\.mat.*0\.\.255"):
        load_path(_write_mat(tmp_path / "bfm.mat", a, texMU=a["tex_mean"].reshape(-1, 1)))
    p = _write_mat(tmp_path / "bfm.mat", a)
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(ModelFileError, match=r"bfm\.mat"):
        load_path(p)


def test_bfm2017_bad_files(tmp_path):
    a = _arrays(1)
    with pytest.raises(ModelFileError, match=r"b\.h5.*missing key.*shape/model/pcaVariance"):
        load_path(_write_h5(tmp_path / "b.h5", a, drop="shape/model/pcaVariance"))
    with pytest.raises(ModelFileError, match=r"b\.h5.*pcaVariance has 4 values"):
        load_path(_write_h5(tmp_path / "b.h5", a, **{"shape/model/pcaVariance": np.ones(4)}))
    with pytest.raises(ModelFileError, match=r"b\.h5.*millimetres"):  # metres
        load_path(_write_h5(tmp_path / "b.h5", a, scale=1e-3, expression=False))
    mean = a["mean_mm"].ravel().copy()
    mean[0] = np.nan
    with pytest.raises(ModelFileError, match=r"b\.h5.*NaN"):
        load_path(_write_h5(tmp_path / "b.h5", a, **{"shape/model/mean": mean}))
    p = _write_h5(tmp_path / "b.h5", a)
    p.write_bytes(p.read_bytes()[:4000])
    with pytest.raises(ModelFileError, match=r"b\.h5.*(truncated|corrupt)"):
        load_path(p)

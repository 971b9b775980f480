"""Basel Face Model loaders: BFM 2009 (``01_MorphableModel.mat``) and BFM 2017/2019 (statismo ``.h5``).

BFM 2009 (Paysan et al., AVSS 2009; ``PublicMM1/01_MorphableModel.mat``, MATLAB v5):

* ``shapeMU`` (3V, 1) mean shape ``[x0 y0 z0 x1 ...]`` in **micrometres** (a face mask ~150,000 um
  across), converted here to mm (x 1e-3).
* ``shapePC`` (3V, K) orthonormal principal components; ``shapeEV`` (K, 1) their **standard
  deviations** (not variances) in um.
* ``texMU`` (3V, 1) mean RGB in 0..255; ``texPC`` (3V, K); ``texEV`` (K, 1) s.d. in 0..255 units.
  Colours are divided by 255 (treated as linear RGB in [0, 1]).
* ``tl`` (F, 3) triangles, **1-based** and clockwise seen from outside; converted to 0-based and
  re-wound counter-clockwise (indices 1 and 2 swapped, as eos's converter does).

BFM 2017/2019 (Gerig et al. 2017; statismo HDF5):

* ``/shape/model/mean`` (3V,) mm, ``/shape/model/pcaBasis`` (3V, K) orthonormal columns,
  ``/shape/model/pcaVariance`` (K,) **variances** (mm^2).
* ``/color/model/{mean,pcaBasis,pcaVariance}`` RGB in [0, 1] (absent in shape-only files).
* ``/expression/model/{mean,pcaBasis,pcaVariance}`` (optional): the expression mean is added to the
  mean shape; expression unit ``expr_NN`` = 1 s.d. of expression component NN, in mm.
* ``/shape/representer/cells`` (3, F) 0-based triangles; ``/shape/representer/points`` (3, V) the
  reference mesh (used only to check the vertex count).

Shape mode k is the k-th basis column reshaped (V, 3) with s.d. sqrt(variance_k) (2017) or
shapeEV_k (2009), all in mm. Neither file has 68-point landmarks, so ``landmarks`` is None.
Axes follow the files: +y up, +z out of the face, as in facegen.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..types import FaceModel, ModelFileError
from ..validate import check_millimetres
from . import make_model

__all__ = ["load_bfm2009", "load_bfm2017", "BFM2009_KEYS", "BFM2017_KEYS"]

log = logging.getLogger(__name__)

UM_TO_MM = 1e-3
BFM2009_KEYS = ("shapeMU", "shapePC", "shapeEV", "texMU", "texPC", "texEV", "tl")
BFM2017_KEYS = ("shape/model/mean", "shape/model/pcaBasis", "shape/model/pcaVariance", "shape/representer/cells")


def _finite(path: Path, name: str, a: np.ndarray) -> np.ndarray:
    if a.dtype.kind not in "fiu":
        raise ModelFileError(f"{path}: {name} has dtype {a.dtype}; expected numbers")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise ModelFileError(f"{path}: {name} contains NaN or inf")
    return a


def _pca(path: Path, names: tuple[str, str, str], mean, basis, spread) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Check (3V,) mean, (3V, K) basis, (K,) spread; return mean (V,3), basis (K,V,3), spread (K,), V."""
    mean = _finite(path, names[0], np.asarray(mean)).reshape(-1)
    basis = _finite(path, names[1], np.asarray(basis))
    spread = _finite(path, names[2], np.asarray(spread)).reshape(-1)
    if mean.size == 0 or mean.size % 3:
        raise ModelFileError(f"{path}: {names[0]} has {mean.size} values; expected 3 x (number of vertices)")
    if basis.ndim != 2 or basis.shape[0] != mean.size:
        raise ModelFileError(f"{path}: {names[1]} has shape {basis.shape}; expected ({mean.size}, K) to match {names[0]}")
    if spread.shape[0] != basis.shape[1]:
        raise ModelFileError(f"{path}: {names[2]} has {spread.shape[0]} values for {basis.shape[1]} components in {names[1]}")
    if np.any(spread < 0):
        raise ModelFileError(f"{path}: {names[2]} has negative values")
    V = mean.size // 3
    return mean.reshape(V, 3), np.ascontiguousarray(basis.T.reshape(-1, V, 3)), spread, V


def _triangles(path: Path, name: str, t: np.ndarray, V: int, one_based: bool) -> np.ndarray:
    t = _finite(path, name, np.asarray(t))
    if t.ndim != 2 or t.shape[1] != 3:
        raise ModelFileError(f"{path}: {name} has shape {t.shape}; expected (F, 3)")
    t = t.astype(np.int64) - (1 if one_based else 0)
    if t.min() < 0 or t.max() >= V:
        base = "1-based" if one_based else "0-based"
        raise ModelFileError(f"{path}: {name} indexes vertices {t.min()}..{t.max()} (0-based after reading it as "
                             f"{base}); the model has {V} vertices")
    return t.astype(np.int32)


def _read_mat(path: Path) -> dict:
    import scipy.io

    try:
        return scipy.io.loadmat(str(path), variable_names=list(BFM2009_KEYS))
    except NotImplementedError:  # MATLAB v7.3 is HDF5: arrays come transposed
        import h5py

        try:
            with h5py.File(path, "r") as f:
                return {k: np.asarray(f[k]).T for k in BFM2009_KEYS if k in f}
        except OSError as e:
            raise ModelFileError(f"{path}: unreadable MATLAB v7.3 file: {e}") from None
    except (ValueError, TypeError, OSError, EOFError) as e:
        raise ModelFileError(f"{path}: not a readable MATLAB .mat file (truncated or corrupt?): {e}") from None


def load_bfm2009(path: str | Path) -> FaceModel:
    """Load ``01_MorphableModel.mat`` (BFM 2009) into a FaceModel in mm; see the module docstring."""
    path = Path(path)
    d = _read_mat(path)
    missing = [k for k in BFM2009_KEYS if k not in d]
    if missing:
        raise ModelFileError(f"{path}: missing key(s) {missing}; a BFM 2009 file has {list(BFM2009_KEYS)}")
    mean, basis, sd, V = _pca(path, ("shapeMU", "shapePC", "shapeEV"), d["shapeMU"], d["shapePC"], d["shapeEV"])
    extent = float(np.max(np.ptp(mean, axis=0)))
    if extent * UM_TO_MM < 60:
        raise ModelFileError(f"{path}: shapeMU spans {extent:.4g} units; BFM 2009 is published in micrometres "
                             f"(a face spans ~1.5e5), so this file is in other units (mm or m?). "
                             "Re-export it in micrometres or load it with its own converter")
    mean = mean * UM_TO_MM
    check_millimetres(mean, str(path))
    tmean, tbasis, tsd, Vt = _pca(path, ("texMU", "texPC", "texEV"), d["texMU"], d["texPC"], d["texEV"])
    if Vt != V:
        raise ModelFileError(f"{path}: texMU has {Vt} vertices; shapeMU has {V}")
    if tmean.max() <= 1.0:
        raise ModelFileError(f"{path}: texMU lies in [0, {tmean.max():.3g}]; BFM 2009 colours are 0..255")
    tris = _triangles(path, "tl", d["tl"], V, one_based=True)[:, [0, 2, 1]]
    return make_model(
        path, name="bfm2009", version="2009", mean_shape=mean.astype(np.float32), shape_basis=basis.astype(np.float32),
        shape_sd=(sd * UM_TO_MM).astype(np.float32), mean_albedo=(tmean / 255.0).astype(np.float32),
        texture_basis=tbasis.astype(np.float32), texture_sd=(tsd / 255.0).astype(np.float32), triangles=tris,
        expression_basis=np.zeros((0, V, 3), np.float32), expression_names=(), expressions={"neutral": {}},
        provenance=f"Basel Face Model 2009 read from {path} (um converted to mm; colours /255). "
                   "Licence: BFM non-commercial research licence (University of Basel)")


def load_bfm2017(path: str | Path) -> FaceModel:
    """Load a BFM 2017/2019 statismo ``.h5`` into a FaceModel in mm; see the module docstring."""
    import h5py

    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise ModelFileError(f"{path}: not a readable HDF5 file (truncated or corrupt?): {e}") from None
    with f:
        missing = [k for k in BFM2017_KEYS if k not in f]
        if missing:
            raise ModelFileError(f"{path}: missing key(s) {missing}; a BFM 2017 file has {list(BFM2017_KEYS)}")
        try:
            g = {k: np.asarray(f[k]) for k in BFM2017_KEYS}
            colour = {k: np.asarray(f[f"color/model/{k}"]) for k in ("mean", "pcaBasis", "pcaVariance")} \
                if "color/model/mean" in f else None
            expr = {k: np.asarray(f[f"expression/model/{k}"]) for k in ("mean", "pcaBasis", "pcaVariance")} \
                if "expression/model/mean" in f else None
            points = np.asarray(f["shape/representer/points"]) if "shape/representer/points" in f else None
        except (OSError, KeyError) as e:
            raise ModelFileError(f"{path}: a dataset cannot be read (truncated file?): {e}") from None
    mean, basis, var, V = _pca(path, ("shape/model/mean", "shape/model/pcaBasis", "shape/model/pcaVariance"),
                               g["shape/model/mean"], g["shape/model/pcaBasis"], g["shape/model/pcaVariance"])
    if points is not None and points.shape not in ((3, V), (V, 3)):
        raise ModelFileError(f"{path}: shape/representer/points has shape {points.shape}; expected (3, {V})")
    cells = g["shape/representer/cells"]
    tris = _triangles(path, "shape/representer/cells", cells.T if cells.shape[0] == 3 else cells, V, one_based=False)
    names, ebasis = (), np.zeros((0, V, 3), np.float32)
    if expr is not None:
        emean, eb, evar, Ve = _pca(path, ("expression/model/mean", "expression/model/pcaBasis",
                                          "expression/model/pcaVariance"), expr["mean"], expr["pcaBasis"], expr["pcaVariance"])
        if Ve != V:
            raise ModelFileError(f"{path}: expression model has {Ve} vertices; the shape model has {V}")
        mean = mean + emean
        ebasis = (eb * np.sqrt(evar)[:, None, None]).astype(np.float32)
        names = tuple(f"expr_{k:02d}" for k in range(len(evar)))
    check_millimetres(mean, str(path))
    if colour is not None:
        cmean, cbasis, cvar, Vc = _pca(path, ("color/model/mean", "color/model/pcaBasis", "color/model/pcaVariance"),
                                       colour["mean"], colour["pcaBasis"], colour["pcaVariance"])
        if Vc != V:
            raise ModelFileError(f"{path}: colour model has {Vc} vertices; the shape model has {V}")
        if cmean.max() > 1.5:
            raise ModelFileError(f"{path}: color/model/mean reaches {cmean.max():.4g}; BFM 2017 colours lie in [0, 1]")
        alb = (cmean, cbasis, np.sqrt(cvar))
    else:
        log.warning("%s: no colour model; using flat grey albedo with no texture modes", path)
        alb = (np.full((V, 3), 0.5), np.zeros((0, V, 3)), np.zeros(0))
    return make_model(
        path, name="bfm2017", version="2017", mean_shape=mean.astype(np.float32), shape_basis=basis.astype(np.float32),
        shape_sd=np.sqrt(var).astype(np.float32), mean_albedo=alb[0].astype(np.float32),
        texture_basis=alb[1].astype(np.float32), texture_sd=alb[2].astype(np.float32), triangles=tris,
        expression_basis=ebasis, expression_names=names, expressions={"neutral": {}},
        provenance=f"Basel Face Model 2017 read from {path} (mm). Licence: BFM non-commercial research licence")

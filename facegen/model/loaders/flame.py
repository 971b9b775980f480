"""FLAME loader (Li et al., SIGGRAPH Asia 2017): ``generic_model.pkl`` / ``flame2020`` / ``flame2023``
pickles, or an ``.npz`` with the same keys, read WITHOUT chumpy and without running pickled code.

Published layout (a dict pickled by Python 2 with chumpy arrays, protocol 2, latin-1 strings):

* ``v_template`` (V, 3) mean head in **metres** (V = 5023), converted to mm (x 1000).
* ``shapedirs`` (V, 3, 300 + 100): identity components 0..299 then expression components 300..399,
  already scaled so that coefficients are N(0, 1) (betas in s.d. units), in metres. Identity mode k
  = ``shapedirs[:, :, k] * 1000`` with s.d. 1; expression unit ``exp_NN`` = component 300 + NN at 1 s.d.
* ``f`` (F, 3) 0-based triangles. ``posedirs``, ``J_regressor`` (scipy.sparse), ``weights``,
  ``kintree_table``, ``J`` drive posing and are read but not used (facegen poses the whole head).

Unpickling is restricted (:class:`SafeFlameUnpickler`): chumpy classes map to :class:`ChumpyStandIn`,
which keeps the array data (its ``x``); only numpy array / dtype / scalar reconstruction, copyreg's
``_reconstructor`` with ``object``, ``_codecs.encode`` (bytes in protocol-2 pickles), ``set``, and scipy.sparse matrix classes may be built. Any other class
in the file is refused with ModelFileError. FLAME has no iBUG vertex landmarks (its landmark embedding
is barycentric and ships separately), so ``landmarks`` is None and the albedo is flat grey unless a
caller supplies landmarks. Licence: FLAME model licence (non-commercial, MPI-IS).
"""
from __future__ import annotations

import importlib
import logging
import pickle
import zipfile
from pathlib import Path

import numpy as np

from ..types import FaceModel, ModelFileError
from ..validate import check_millimetres
from . import AlbedoSource, make_model, untextured_albedo

__all__ = ["load_flame", "read_flame_arrays", "SafeFlameUnpickler", "ChumpyStandIn", "FLAME_KEYS"]

log = logging.getLogger(__name__)

M_TO_MM = 1000.0
FLAME_KEYS = ("v_template", "shapedirs", "f")
N_IDENTITY = 300


class ChumpyStandIn:
    """Takes the place of any chumpy class while unpickling; keeps the pickled state (array in ``x``)."""

    def __init__(self, *args, **kwargs):
        self.state = {}

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2:  # (dict, slots)
            state = {**(state[0] or {}), **(state[1] or {})}
        self.state = state if isinstance(state, dict) else {"x": state}

    def array(self) -> np.ndarray | None:
        x = self.state.get("x")
        return np.asarray(x) if isinstance(x, np.ndarray) else None


def _numpy_core(sub: str):
    try:
        return importlib.import_module(f"numpy._core.{sub}")
    except ImportError:  # numpy < 2
        return importlib.import_module(f"numpy.core.{sub}")


_SPARSE = {"csc_matrix", "csr_matrix", "coo_matrix", "lil_matrix", "dok_matrix", "dia_matrix", "bsr_matrix"}


class SafeFlameUnpickler(pickle.Unpickler):
    """An Unpickler whose ``find_class`` allows only array-reconstruction classes; see the module doc."""

    def find_class(self, module: str, name: str):
        root = module.split(".")[0]
        if root == "chumpy":
            return ChumpyStandIn
        if root == "numpy":
            if name in ("_reconstruct", "scalar") and module.endswith("multiarray"):
                return getattr(_numpy_core("multiarray"), name)
            if name == "_frombuffer" and module.endswith("numeric"):
                return getattr(_numpy_core("numeric"), name)
            if module == "numpy" and name in ("ndarray", "dtype"):
                return getattr(np, name)
            if name == "dtype" and module.endswith("multiarray"):
                return np.dtype
            if module.startswith("numpy.dtypes") and name.endswith("DType"):
                return getattr(importlib.import_module("numpy.dtypes"), name)
        if module in ("copy_reg", "copyreg") and name == "_reconstructor":
            import copyreg

            return copyreg._reconstructor
        if module == "_codecs" and name == "encode":  # how protocol-2 pickles written by Python 3 store bytes
            import codecs

            return codecs.encode
        if module in ("__builtin__", "builtins") and name in ("object", "set", "frozenset"):
            return {"object": object, "set": set, "frozenset": frozenset}[name]
        if root == "scipy" and module.startswith("scipy.sparse") and name in _SPARSE:
            import scipy.sparse

            return getattr(scipy.sparse, name)
        raise pickle.UnpicklingError(f"class {module}.{name} is not allowed in a FLAME model file "
                                     "(only numpy arrays, scipy.sparse matrices and chumpy arrays are)")


def _plain(path: Path, key: str, v):
    if isinstance(v, ChumpyStandIn):
        a = v.array()
        if a is None:
            raise ModelFileError(f"{path}: {key} is a chumpy expression, not a stored array; "
                                 "re-save the model with plain arrays")
        return a
    return v


def read_flame_arrays(path: str | Path) -> dict:
    """The FLAME dict from a ``.pkl`` (restricted unpickling) or ``.npz`` (no pickles), chumpy arrays as numpy."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
        else:
            with path.open("rb") as fh:
                d = SafeFlameUnpickler(fh, encoding="latin1").load()
    except pickle.UnpicklingError as e:
        raise ModelFileError(f"{path}: refused or malformed pickle: {e}") from None
    except (EOFError, zipfile.BadZipFile) as e:
        raise ModelFileError(f"{path}: file ends early (truncated or corrupt?): {e}") from None
    except (OSError, ValueError, TypeError, AttributeError, KeyError, IndexError) as e:
        raise ModelFileError(f"{path}: not a readable FLAME file: {type(e).__name__}: {e}") from None
    if not isinstance(d, dict):
        raise ModelFileError(f"{path}: holds a {type(d).__name__}; a FLAME model file holds a dict")
    return {str(k): _plain(path, str(k), v) for k, v in d.items()}


def load_flame(path: str | Path, *, n_identity: int = N_IDENTITY, albedo_source: AlbedoSource = "embedded",
               landmarks: np.ndarray | None = None) -> FaceModel:
    """Load a FLAME ``.pkl`` or ``.npz`` into a FaceModel in mm; see the module docstring.

    ``n_identity`` is how many of the ``shapedirs`` components are identity (the rest are expression);
    ``landmarks`` optional (68,) iBUG vertex indices for this topology (used for albedo transfer).
    """
    path = Path(path)
    d = read_flame_arrays(path)
    missing = [k for k in FLAME_KEYS if k not in d]
    if missing:
        raise ModelFileError(f"{path}: missing key(s) {missing}; a FLAME file has {list(FLAME_KEYS)} "
                             f"(found {sorted(d)})")
    v = np.asarray(d["v_template"])
    dirs = np.asarray(d["shapedirs"])
    f = np.asarray(d["f"])
    for key, a in (("v_template", v), ("shapedirs", dirs), ("f", f)):
        if a.dtype.kind not in "fiu":
            raise ModelFileError(f"{path}: {key} has dtype {a.dtype}; expected numbers")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise ModelFileError(f"{path}: {key} contains NaN or inf")
    if v.ndim != 2 or v.shape[1] != 3:
        raise ModelFileError(f"{path}: v_template has shape {v.shape}; expected (V, 3)")
    V = v.shape[0]
    if dirs.ndim != 3 or dirs.shape[:2] != (V, 3):
        raise ModelFileError(f"{path}: shapedirs has shape {dirs.shape}; expected ({V}, 3, K)")
    if f.ndim != 2 or f.shape[1] != 3:
        raise ModelFileError(f"{path}: f has shape {f.shape}; expected (F, 3)")
    extent = float(np.max(np.ptp(v, axis=0)))
    if extent > 5.0:
        raise ModelFileError(f"{path}: v_template spans {extent:.4g} units; FLAME is published in metres "
                             "(a head spans ~0.2), so this file is in other units. Save it in metres")
    mean = v * M_TO_MM
    check_millimetres(mean, str(path))
    K = dirs.shape[2]
    n_id = min(n_identity, K)
    basis = np.ascontiguousarray(np.moveaxis(dirs, 2, 0)) * M_TO_MM  # (K, V, 3)
    names = tuple(f"exp_{k:02d}" for k in range(K - n_id))
    tris = f.astype(np.int64)
    if tris.min() < 0 or tris.max() >= V:
        raise ModelFileError(f"{path}: f indexes vertices {tris.min()}..{tris.max()}; valid are 0..{V - 1}")
    alb = untextured_albedo(path, mean.astype(np.float32), tris, landmarks, albedo_source)
    return make_model(
        path, name="flame", version=path.stem, mean_shape=mean.astype(np.float32),
        shape_basis=basis[:n_id].astype(np.float32), shape_sd=np.ones(n_id, np.float32),
        mean_albedo=alb[0], texture_basis=alb[1], texture_sd=alb[2], texture_bands=alb[3],
        triangles=tris.astype(np.int32), expression_basis=basis[n_id:].astype(np.float32), expression_names=names,
        expressions={"neutral": {}},
        landmarks=None if landmarks is None or np.any(np.asarray(landmarks) < 0) else np.asarray(landmarks, np.int32),
        provenance=f"FLAME read from {path} (m converted to mm; {n_id} identity, {K - n_id} expression "
                   "components). Licence: FLAME model licence (non-commercial, MPI-IS)")

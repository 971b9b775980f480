"""The project's own model file: one uncompressed-or-compressed ``.npz`` with no pickled objects.

Layout (format ``facegen.model/1``): every array field of FaceModel under its own name; mappings are
flattened (``region/<name>``, ``factor/<field>``); strings and small mappings go into one JSON
string ``meta``. Loading never unpickles (``allow_pickle=False``).
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from .types import FaceModel, FactorModel, ModelFileError

__all__ = ["save_npz", "load_npz", "model_sha256", "FORMAT"]

FORMAT = "facegen.model/1"
_ARRAYS = ("mean_shape", "shape_basis", "shape_sd", "mean_albedo", "texture_basis", "texture_sd",
           "triangles", "expression_basis")
_OPTIONAL = ("texture_bands", "uvs", "landmarks")
_FACTOR_ARRAYS = ("gender_shape", "gender_albedo", "ethnicity_shape", "ethnicity_albedo", "age_shape", "age_albedo")
_FACTOR_OPTIONAL = ("age_albedo_gain", "gender_albedo_gain", "ethnicity_albedo_gain")


def _to_arrays(m: FaceModel) -> dict[str, np.ndarray]:
    out = {k: np.asarray(getattr(m, k)) for k in _ARRAYS}
    for k in _OPTIONAL:
        if getattr(m, k) is not None:
            out[k] = np.asarray(getattr(m, k))
    for name, idx in m.regions.items():
        out[f"region/{name}"] = np.asarray(idx, dtype=np.int32)
    meta = {
        "format": FORMAT, "name": m.name, "version": m.version, "provenance": m.provenance,
        "expression_names": list(m.expression_names),
        "expressions": {k: dict(v) for k, v in m.expressions.items()},
        "points": {k: int(v) for k, v in m.points.items()},
    }
    if m.factors is not None:
        f = m.factors
        for k in _FACTOR_ARRAYS:
            out[f"factor/{k}"] = np.asarray(getattr(f, k))
        for k in _FACTOR_OPTIONAL:
            if getattr(f, k) is not None:
                out[f"factor/{k}"] = np.asarray(getattr(f, k))
        meta["factors"] = {"genders": list(f.genders), "ethnicities": list(f.ethnicities),
                           "age_reference": f.age_reference, "age_range": list(f.age_range)}
    out["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    return out


def model_sha256(m: FaceModel) -> str:
    """sha256 over every array's dtype, shape and bytes, and the metadata: equal models hash equal."""
    h = hashlib.sha256()
    for k, a in sorted(_to_arrays(m).items()):
        a = np.ascontiguousarray(a)
        h.update(f"{k}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def save_npz(m: FaceModel, path: str | Path, *, compress: bool = True) -> Path:
    """Write ``m`` to ``path`` atomically (temp file, then rename). Returns the path."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    arrays = _to_arrays(m)
    # np.savez stamps zip entries with the current time; write entries ourselves for identical bytes.
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as zf:
        for k in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[k]), allow_pickle=False)
            info = zipfile.ZipInfo(k + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zf.compression
            zf.writestr(info, buf.getvalue())
    tmp.replace(path)
    return path


def load_npz(path: str | Path) -> FaceModel:
    """Read a model written by :func:`save_npz`; errors name the file and what is wrong."""
    path = Path(path)
    src = str(path)
    if not path.exists():
        raise ModelFileError(f"{src}: no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise ModelFileError(f"{src}: not a readable facegen model .npz (truncated or corrupt?): {e}") from None
    if "meta" not in data:
        raise ModelFileError(f"{src}: missing key 'meta'; not a {FORMAT} file")
    meta = json.loads(bytes(data.pop("meta")).decode())
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"{src}: format {meta.get('format')!r}; expected {FORMAT!r}")
    for k in _ARRAYS:
        if k not in data:
            raise ModelFileError(f"{src}: missing key {k!r}")
    factors = None
    if "factors" in meta:
        fm = meta["factors"]
        try:
            fa = {k: data[f"factor/{k}"] for k in _FACTOR_ARRAYS}
        except KeyError as e:
            raise ModelFileError(f"{src}: missing key {e.args[0]!r}") from None
        fa.update({k: data.get(f"factor/{k}") for k in _FACTOR_OPTIONAL})
        factors = FactorModel(genders=tuple(fm["genders"]), ethnicities=tuple(fm["ethnicities"]),
                              age_reference=float(fm["age_reference"]), age_range=tuple(fm["age_range"]), **fa)
    regions = {k.split("/", 1)[1]: v for k, v in data.items() if k.startswith("region/")}
    kwargs = {k: data[k] for k in _ARRAYS}
    kwargs.update({k: data.get(k) for k in _OPTIONAL})
    try:
        return FaceModel(
            name=meta["name"], version=meta["version"], provenance=meta.get("provenance", ""),
            expression_names=tuple(meta["expression_names"]), expressions=meta["expressions"],
            points=meta.get("points", {}), regions=regions, factors=factors, **kwargs,
        )
    except ModelFileError as e:
        raise ModelFileError(f"{src}: {e}") from None

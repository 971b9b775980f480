"""Precomputed model outputs keyed by sample key: the file format, read without unpickling.

Two encodings, the same content: ``keys`` (N,) sample keys (``{identity:06d}_{sample:08d}``) and
``outputs`` (N, D) float32/float64 logits or embeddings, row n belonging to keys[n].

* ``.npz``: arrays ``keys`` (unicode) and ``outputs``; loaded with ``allow_pickle=False``, so object
  arrays (pickles) are refused.
* ``.safetensors``: tensor ``outputs``; metadata entry ``keys`` holding a JSON list of the keys.
"""
from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["OutputsError", "save_outputs", "load_outputs", "parse_outputs"]

_KEY = re.compile(r"^\d{6}_\d{8}$")


class OutputsError(ValueError):
    """Precomputed outputs are malformed; ``problems`` lists each problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def save_outputs(path: str | Path, keys, outputs: np.ndarray) -> Path:
    path = Path(path)
    keys = np.asarray(list(keys), dtype="U")
    outputs = np.asarray(outputs)
    if path.suffix == ".npz":
        np.savez(path, keys=keys, outputs=outputs)
    elif path.suffix == ".safetensors":
        from safetensors.numpy import save_file

        save_file({"outputs": np.ascontiguousarray(outputs)}, str(path), metadata={"keys": json.dumps(keys.tolist())})
    else:
        raise ValueError(f"{path.name}: outputs files are .npz or .safetensors")
    return path


def parse_outputs(name: str, data: bytes, *, expected_keys=None, dim: int | None = None) -> tuple[list[str], np.ndarray]:
    """Validate and decode an outputs file given as bytes; raise OutputsError listing every problem.

    ``expected_keys`` (the probe set's keys) makes missing and unknown keys errors; ``dim`` fixes D.
    """
    problems: list[str] = []
    if name.endswith(".npz"):
        if not data.startswith(b"PK\x03\x04"):
            raise OutputsError([f"{name}: not a readable npz (not a zip archive)"])
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                files = set(z.files)
                if files != {"keys", "outputs"}:
                    raise OutputsError([f"{name}: arrays {sorted(files)}; expected exactly ['keys', 'outputs']"])
                keys, out = z["keys"], z["outputs"]
        except OutputsError:
            raise
        except ValueError as e:
            if "pickle" in str(e).lower() or "object" in str(e).lower():
                raise OutputsError([f"{name}: holds object arrays (pickles), which are never loaded"]) from None
            raise OutputsError([f"{name}: not a readable npz ({e})"]) from None
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise OutputsError([f"{name}: not a readable npz ({e})"]) from None
        if keys.dtype.kind != "U":
            problems.append(f"{name}: keys have dtype {keys.dtype}; expected unicode strings")
        keys = [str(k) for k in keys.tolist()] if keys.ndim == 1 else []
    elif name.endswith(".safetensors"):
        from safetensors import SafetensorError
        from safetensors.numpy import load

        try:
            tensors = load(data)
            header_len = int.from_bytes(data[:8], "little")
            meta = json.loads(data[8:8 + header_len]).get("__metadata__") or {}
            keys = json.loads(meta.get("keys", "null"))
        except (SafetensorError, ValueError, UnicodeDecodeError) as e:
            raise OutputsError([f"{name}: not a readable safetensors file ({e})"]) from None
        if set(tensors) != {"outputs"}:
            problems.append(f"{name}: tensors {sorted(tensors)}; expected exactly ['outputs']")
        out = tensors.get("outputs", np.zeros((0, 0)))
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            problems.append(f"{name}: metadata 'keys' must be a JSON list of sample keys")
            keys = []
    else:
        raise OutputsError([f"{name}: outputs must be .npz or .safetensors"])
    if out.dtype not in (np.float32, np.float64):
        problems.append(f"{name}: outputs have dtype {out.dtype}; expected float32 or float64")
    elif out.ndim != 2:
        problems.append(f"{name}: outputs have shape {out.shape}; expected (N, D)")
    elif not np.all(np.isfinite(out)):
        problems.append(f"{name}: outputs contain {int((~np.isfinite(out)).sum())} NaN or inf values")
    if out.ndim == 2 and dim is not None and out.shape[1] != dim:
        problems.append(f"{name}: outputs have {out.shape[1]} columns; expected {dim}")
    if out.ndim >= 1 and len(keys) != out.shape[0]:
        problems.append(f"{name}: {len(keys)} keys for {out.shape[0]} output rows")
    bad = [k for k in keys if not _KEY.match(k)]
    if bad:
        problems.append(f"{name}: {len(bad)} malformed keys, e.g. {bad[0]!r}; expected identity_sample digits")
    dup = len(keys) - len(set(keys))
    if dup:
        problems.append(f"{name}: {dup} duplicate keys")
    if expected_keys is not None:
        exp = set(expected_keys)
        missing, unknown = exp - set(keys), set(keys) - exp
        if missing:
            problems.append(f"{name}: {len(missing)} probe keys missing, e.g. {sorted(missing)[0]!r}")
        if unknown:
            problems.append(f"{name}: {len(unknown)} keys not in the probe set, e.g. {sorted(unknown)[0]!r}")
    if problems:
        raise OutputsError(problems)
    return keys, np.asarray(out, dtype=np.float64)


def load_outputs(path: str | Path, **kw) -> tuple[list[str], np.ndarray]:
    path = Path(path)
    return parse_outputs(path.name, path.read_bytes(), **kw)

"""Precomputed model outputs keyed by sample key: the file format, read without unpickling.

Two encodings, the same content: ``keys`` (N,) sample keys (``{identity:06d}_{sample:08d}``) and
``outputs`` (N, D) float32/float64 logits or embeddings, row n belonging to keys[n].

* ``.npz``: arrays ``keys`` (unicode) and ``outputs``. Read by this module, not by ``np.load``: each
  ``.npy`` member's size in the zip directory, its compression ratio and the shape and dtype in its
  header are checked against :data:`MAX_ARRAY_BYTES` and :data:`MAX_RATIO` before any of its data
  is inflated, and object arrays (pickles) are refused without being read.
* ``.safetensors``: tensor ``outputs`` (``F32`` or ``F64``); metadata entry ``keys`` holding a JSON
  list of the keys; the header (at most :data:`MAX_HEADER_BYTES`) is checked before any tensor is
  read.
"""
from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["MAX_ARRAY_BYTES", "MAX_HEADER_BYTES", "MAX_RATIO", "OutputsError", "inflated_bytes", "load_outputs",
           "parse_outputs", "save_outputs"]

_KEY = re.compile(r"^\d{6}_\d{8}$", re.ASCII)
MAX_ARRAY_BYTES = 512 * 2**20  # one array, once read
MAX_RATIO = 200.0  # inflated / compressed size of a .npy member over 1 MiB
MAX_HEADER_BYTES = 32 * 2**20  # a safetensors JSON header
_RATIO_FROM = 2**20
_ARRAYS = ("keys", "outputs")
_ST_DTYPES = {"F32": np.float32, "F64": np.float64}


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


def _npz_members(name: str, data: bytes) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    if not data.startswith(b"PK\x03\x04"):
        raise OutputsError([f"{name}: not a readable npz (not a zip archive)"])
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except UnicodeDecodeError:
        raise OutputsError([f"{name}: not a readable npz (an array name is not UTF-8)"]) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error,
            NotImplementedError) as e:
        raise OutputsError([f"{name}: not a readable npz ({e})"]) from None
    infos = zf.infolist()
    arrays = [i.filename.removesuffix(".npy") for i in infos]
    if sorted(arrays) != sorted(_ARRAYS) or not all(i.filename.endswith(".npy") for i in infos):
        raise OutputsError([f"{name}: arrays {sorted(arrays)}; expected exactly {list(_ARRAYS)}"])
    return zf, infos


def inflated_bytes(name: str, data: bytes) -> int:
    """Bytes an outputs file's arrays take once read, as its own directory declares (nothing inflated)."""
    if name.endswith(".npz"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return sum(i.file_size for i in zf.infolist())
        except Exception:  # unreadable: parse_outputs names the problem
            return 0
    return len(data)


def _npy_header(fh, array: str, who: str, size: int) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran order, dtype, header bytes) of a .npy stream, from at most 64 KiB of it."""
    head = io.BytesIO(fh.read(min(size, 65536)))
    try:
        version = np.lib.format.read_magic(head)
        read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read is None:
            raise ValueError(f"format version {version[0]}.{version[1]}; expected 1.0 or 2.0")
        shape, fortran, dtype = read(head, max_header_size=10000)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError, EOFError, KeyError) as e:
        raise OutputsError([f"{who}: array {array!r} has a malformed .npy header ({str(e)[:200]})"]) from None
    return tuple(shape), fortran, dtype, head.tell()


def _read_npy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, who: str, max_bytes: int) -> np.ndarray:
    """One .npy member, its sizes checked before its data is inflated, read with a cap."""
    array = info.filename.removesuffix(".npy")
    if info.file_size > max_bytes:
        raise OutputsError([f"{who}: array {array!r} unpacks to {info.file_size} bytes; at most {max_bytes} allowed"])
    if info.file_size > _RATIO_FROM and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise OutputsError([f"{who}: array {array!r} expands {info.file_size / max(info.compress_size, 1):.0f}x "
                            f"({info.compress_size} to {info.file_size} bytes); compression ratios over "
                            f"{MAX_RATIO:.0f} are refused (a deflate bomb)"])
    try:
        with zf.open(info) as fh:
            shape, fortran, dtype, offset = _npy_header(fh, array, who, info.file_size)
            if dtype.hasobject:
                raise OutputsError([f"{who}: holds object arrays (pickles), which are never loaded"])
            count = 1
            for n in shape:
                count *= n
            nbytes = count * dtype.itemsize
            if nbytes > max_bytes:
                raise OutputsError([f"{who}: array {array!r} declares shape {shape} of {dtype} ({nbytes} bytes); at "
                                    f"most {max_bytes} bytes allowed"])
            if offset + nbytes != info.file_size:
                raise OutputsError([f"{who}: array {array!r} declares shape {shape} of {dtype} ({nbytes} bytes) but "
                                    f"holds {info.file_size - offset} bytes of data"])
            if dtype.itemsize == 0:
                raise OutputsError([f"{who}: array {array!r} has dtype {dtype}, whose items have no size"])
            fh.seek(offset)
            raw = fh.read(nbytes + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, struct.error) as e:
        if isinstance(e, OutputsError):
            raise
        raise OutputsError([f"{who}: not a readable npz (array {array!r}: {e})"]) from None
    if len(raw) != nbytes:
        raise OutputsError([f"{who}: array {array!r} holds {len(raw)} bytes of data; its header declares {nbytes}"])
    return np.frombuffer(raw, dtype).reshape(shape, order="F" if fortran else "C")


def _parse_npz(name: str, data: bytes, max_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    zf, infos = _npz_members(name, data)
    with zf:
        if sum(i.file_size for i in infos) > max_bytes:
            raise OutputsError([f"{name}: arrays unpack to {sum(i.file_size for i in infos)} bytes; at most "
                                f"{max_bytes} allowed"])
        arrays = {i.filename.removesuffix(".npy"): _read_npy(zf, i, name, max_bytes) for i in infos}
    return arrays["keys"], arrays["outputs"]


def _parse_safetensors(name: str, data: bytes, problems: list[str]) -> tuple[list[str], np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load

    bad = OutputsError([f"{name}: not a readable safetensors file (header)"])
    if len(data) < 8:
        raise bad
    header_len = int.from_bytes(data[:8], "little")
    if header_len > min(MAX_HEADER_BYTES, len(data) - 8):
        raise OutputsError([f"{name}: not a readable safetensors file (header of {header_len} bytes; the file holds "
                            f"{len(data) - 8} and at most {MAX_HEADER_BYTES} are allowed)"])
    try:
        header = json.loads(data[8:8 + header_len])
    except RecursionError:
        raise OutputsError([f"{name}: not a readable safetensors file (its header nests too deep)"]) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise OutputsError([f"{name}: not a readable safetensors file ({e})"]) from None
    if not isinstance(header, dict):
        raise bad
    meta = header.pop("__metadata__", None) or {}
    tensors = sorted(header)
    if tensors != ["outputs"]:
        raise OutputsError([f"{name}: tensors {tensors}; expected exactly ['outputs']"])
    dtype = header["outputs"].get("dtype") if isinstance(header["outputs"], dict) else None
    if dtype not in _ST_DTYPES:
        raise OutputsError([f"{name}: tensor 'outputs' has dtype {dtype!r}; allowed: {sorted(_ST_DTYPES)} "
                            f"(float32, float64)"])
    try:
        out = load(data)["outputs"]
        keys = json.loads(meta.get("keys", "null")) if isinstance(meta, dict) else None
    except RecursionError:
        raise OutputsError([f"{name}: metadata 'keys' nests too deep; it must be a JSON list of sample keys"]) from None
    except (SafetensorError, ValueError, UnicodeDecodeError, TypeError, KeyError) as e:
        raise OutputsError([f"{name}: not a readable safetensors file ({e})"]) from None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        problems.append(f"{name}: metadata 'keys' must be a JSON list of sample keys")
        keys = []
    return keys, out


def parse_outputs(name: str, data: bytes, *, expected_keys=None, dim: int | None = None,
                  max_bytes: int = MAX_ARRAY_BYTES) -> tuple[list[str], np.ndarray]:
    """Validate and decode an outputs file given as bytes; raise OutputsError listing every problem.

    ``expected_keys`` (the probe set's keys) makes missing and unknown keys errors; ``dim`` fixes D;
    ``max_bytes`` bounds what an npz's arrays may take once inflated (checked before inflating).
    """
    problems: list[str] = []
    if name.endswith(".npz"):
        keys, out = _parse_npz(name, data, max_bytes)
        if keys.dtype.kind != "U":
            problems.append(f"{name}: keys have dtype {keys.dtype}; expected unicode strings")
        keys = [str(k) for k in keys.tolist()] if keys.ndim == 1 and keys.dtype.kind == "U" else []
    elif name.endswith(".safetensors"):
        keys, out = _parse_safetensors(name, data, problems)
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

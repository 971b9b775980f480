"""Surrey Face Model loader: eos's cereal binary files, parsed with numpy and struct (no eos needed).

Published layout (github patrikhuber/eos, ``include/eos/morphablemodel/*.hpp``; cereal
``BinaryOutputArchive``, little-endian, no padding):

* ``MorphableModel``: ``uint32`` class version (1..4), then
  v1 ``shape_model, color_model, texture_coordinates``;
  v2 adds ``expression_model`` after ``color_model``;
  v3 adds ``landmark_definitions`` after ``expression_model``;
  v4 adds ``texture_triangle_indices`` at the end.
* ``PcaModel``: ``mean`` (Eigen vector), ``orthonormal_pca_basis`` (Eigen matrix), ``eigenvalues``
  (Eigen vector), ``triangle_list`` (vector of int[3]).
* Eigen matrix: ``int32 rows, int32 cols``, then ``rows*cols`` float32 in column-major order.
  The mean is ``[x0, y0, z0, x1, ...]`` (3V,), the basis (3V, K) with orthonormal columns.
* ``std::vector<T>``: ``uint64`` size, then the elements (``int32[3]`` triangles, ``float64[2]`` uvs).
* ``std::string``: ``uint64`` size, then the bytes.
* ``optional<T>`` (eos cpp17 serialisation): ``bool`` (1 byte) *nullopt*, then ``T`` when false.
* ``variant<PcaModel, Blendshapes>``: ``int32`` index, then the alternative.
* ``Blendshapes`` (also the whole of ``expression_blendshapes_3448.bin``): vector of
  ``{string name; Eigen vector deformation (3V,)}``.
* ``landmark_definitions``: optional ``unordered_map<string, int>``: ``uint64`` size, then
  (string key, int32 value) pairs.

Units are millimetres. Shape mode k = column k of the orthonormal basis reshaped (V, 3) with
s.d. = sqrt(eigenvalue k), so ``mean + sum_k c_k sd_k basis_k`` equals eos's ``draw_sample(c)``.
Landmarks come from ``ibug_to_sfm.txt`` (TOML ``[landmark_mappings]``, 1-based iBUG number = vertex).
The public SFM defines 49 of the 68 points (no jaw contour, no inner mouth corners), so
``FaceModel.landmarks`` is None and the defined ones are kept as ``points["ibug_NN"]`` (NN 1-based);
they still drive the albedo transfer. Expressions map the 6 blendshapes to the paper's names at
weight 1 plus ``neutral``.
"""
from __future__ import annotations

import logging
import re
import struct
from pathlib import Path

import numpy as np

from ..types import FaceModel, ModelFileError
from ..validate import check_millimetres
from . import AlbedoSource, make_model, untextured_albedo

__all__ = ["load_sfm", "read_cereal_model", "read_cereal_blendshapes", "read_ibug_mapping"]

log = logging.getLogger(__name__)

_BLENDSHAPE_EXPRESSIONS = {"anger": "anger", "disgust": "disgust", "fear": "fear", "happiness": "happy",
                           "sadness": "sad", "surprise": "surprise"}


class _Reader:
    """Sequential little-endian reader over bytes; every short read names the file and the field."""

    def __init__(self, data: bytes, path: Path):
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelFileError(f"{self.path}: file ends at byte {len(self.data)} while reading {what} "
                                 f"({n} bytes at {self.pos}); truncated or not an eos cereal file")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def scalar(self, fmt: str, what: str):
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt), what))[0]

    def eigen(self, what: str) -> np.ndarray:
        rows, cols = self.scalar("i", what + " rows"), self.scalar("i", what + " cols")
        if rows < 0 or cols < 0:
            raise ModelFileError(f"{self.path}: {what} has {rows}x{cols} entries; not an eos cereal file")
        a = np.frombuffer(self.take(4 * rows * cols, what), dtype="<f4")
        return a.reshape(cols, rows).T.copy()  # column-major -> (rows, cols)

    def vector(self, item_fmt: str, width: int, what: str) -> np.ndarray:
        n = self.scalar("Q", what + " size")
        dt = np.dtype("<" + item_fmt)
        if n * width * dt.itemsize > len(self.data):
            raise ModelFileError(f"{self.path}: {what} claims {n} entries, more than the file holds")
        return np.frombuffer(self.take(n * width * dt.itemsize, what), dtype=dt).reshape(n, width)

    def string(self, what: str) -> str:
        n = self.scalar("Q", what + " length")
        return self.take(n, what).decode("utf-8", "replace")


def _pca(r: _Reader, what: str) -> dict:
    return {"mean": r.eigen(what + ".mean")[:, 0],
            "basis": r.eigen(what + ".orthonormal_pca_basis"),
            "eigenvalues": r.eigen(what + ".eigenvalues")[:, 0],
            "triangles": r.vector("i4", 3, what + ".triangle_list")}


def _blendshapes(r: _Reader, what: str) -> list[tuple[str, np.ndarray]]:
    n = r.scalar("Q", what + " count")
    out = []
    for i in range(n):
        name = r.string(f"{what}[{i}].name")
        out.append((name, r.eigen(f"{what}[{i}].deformation")[:, 0]))
    return out


def read_cereal_model(path: str | Path) -> dict:
    """Parse an eos MorphableModel cereal binary into arrays in the file's own layout.

    Keys: ``version``; ``shape`` / ``color`` dicts with ``mean`` (3V,) float32, ``basis`` (3V, K)
    float32 orthonormal columns, ``eigenvalues`` (K,) float32 (variances), ``triangles`` (F, 3) int32;
    ``expression`` None, a PCA dict or a list of (name, (3V,) deformation); ``landmarks`` None or a
    dict name -> vertex; ``uvs`` (V, 2) float64; ``uv_triangles`` (F', 3) int32.
    """
    path, data, r = _open(path)
    version = r.scalar("I", "MorphableModel class version")
    if not 1 <= version <= 4:
        raise ModelFileError(f"{path}: MorphableModel version {version}; this reader knows eos versions 1-4")
    out = dict(version=version, expression=None, landmarks=None, uv_triangles=np.zeros((0, 3), np.int32))
    out["shape"] = _pca(r, "shape_model")
    out["color"] = _pca(r, "color_model")
    if version >= 2:
        if not r.scalar("?", "expression_model nullopt flag"):
            index = r.scalar("i", "expression_model variant index")
            if index == 0:
                out["expression"] = _pca(r, "expression_model")
            elif index == 1:
                out["expression"] = _blendshapes(r, "expression_model blendshapes")
            else:
                raise ModelFileError(f"{path}: expression_model variant index {index}; expected 0 or 1")
    if version >= 3 and not r.scalar("?", "landmark_definitions nullopt flag"):
        n = r.scalar("Q", "landmark_definitions size")
        out["landmarks"] = {r.string("landmark name"): r.scalar("i", "landmark vertex") for _ in range(n)}
    out["uvs"] = r.vector("f8", 2, "texture_coordinates")
    if version >= 4:
        out["uv_triangles"] = r.vector("i4", 3, "texture_triangle_indices")
    if r.pos != len(data):
        raise ModelFileError(f"{path}: {len(data) - r.pos} bytes left after the model; not an eos v{version} file")
    return out


def _open(path: str | Path) -> tuple[Path, bytes, "_Reader"]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read: {e}") from None
    return path, data, _Reader(data, path)


def read_cereal_blendshapes(path: str | Path) -> list[tuple[str, np.ndarray]]:
    """Parse an eos Blendshapes file: list of (name, (3V,) float32 deformation in mm)."""
    path, data, r = _open(path)
    out = _blendshapes(r, "blendshapes")
    if r.pos != len(data):
        raise ModelFileError(f"{path}: {len(data) - r.pos} bytes left after the blendshapes; not an eos file")
    return out


def read_ibug_mapping(path: str | Path, n_vertices: int) -> np.ndarray:
    """(68,) int32 vertex of each iBUG point (0-based order) from an eos ``ibug_to_*.txt``; -1 = undefined."""
    path = Path(path)
    lm = np.full(68, -1, np.int32)
    section = None
    for i, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            section = line.strip("[]").strip()
            continue
        if section != "landmark_mappings":
            continue
        m = re.fullmatch(r'"?(\d+)"?\s*=\s*(\d+)', line)
        if not m:
            raise ModelFileError(f"{path}:{i}: expected 'ibug_number = vertex', got {raw.strip()!r}")
        k, v = int(m.group(1)), int(m.group(2))
        if not 1 <= k <= 68 or v >= n_vertices:
            raise ModelFileError(f"{path}:{i}: iBUG point {k} -> vertex {v}; need 1..68 and a vertex < {n_vertices}")
        lm[k - 1] = v
    return lm


def load_sfm(path: str | Path, *, blendshapes: str | Path | None = None, landmarks: str | Path | None = None,
             albedo_source: AlbedoSource = "embedded") -> FaceModel:
    """Load a Surrey Face Model ``.bin`` into a FaceModel (mm; identity modes in s.d. units).

    ``blendshapes`` defaults to ``expression_blendshapes_<N>.bin`` beside the model (``<N>`` from the
    model's name), else any ``expression_blendshapes*.bin`` there; ``landmarks`` to ``ibug_to_sfm.txt``
    beside it. Either may be absent. A colour model in the file is used; otherwise the albedo is
    transferred from ``albedo_source`` (see :func:`facegen.model.loaders.untextured_albedo`).
    """
    path = Path(path)
    a = read_cereal_model(path)
    sh = a["shape"]
    n3 = sh["mean"].shape[0]
    if n3 == 0 or n3 % 3 or sh["basis"].shape[0] != n3 or sh["eigenvalues"].shape[0] != sh["basis"].shape[1]:
        raise ModelFileError(f"{path}: shape model mean {sh['mean'].shape}, basis {sh['basis'].shape}, "
                             f"eigenvalues {sh['eigenvalues'].shape} do not fit (3V,), (3V, K), (K,)")
    V = n3 // 3
    for what, arr in (("mean", sh["mean"]), ("orthonormal_pca_basis", sh["basis"]), ("eigenvalues", sh["eigenvalues"])):
        if not np.all(np.isfinite(arr)):
            raise ModelFileError(f"{path}: shape model {what} contains NaN or inf")
    if np.any(sh["eigenvalues"] < 0):
        raise ModelFileError(f"{path}: negative eigenvalues in the shape model")
    mean = sh["mean"].reshape(V, 3)
    check_millimetres(mean, str(path))
    basis = np.ascontiguousarray(sh["basis"].T.reshape(-1, V, 3))
    sd = np.sqrt(sh["eigenvalues"].astype(np.float64)).astype(np.float32)

    bs_path = Path(blendshapes) if blendshapes is not None else _beside(path)
    names, ebasis = [], np.zeros((0, V, 3), np.float32)
    expr = a["expression"] if isinstance(a["expression"], list) else None
    if expr is None and bs_path is not None:
        expr = read_cereal_blendshapes(bs_path)
    elif isinstance(a["expression"], dict):
        log.warning("%s: PCA expression model not supported yet; loading without expressions", path)
    if expr:
        for name, d in expr:
            if d.shape[0] != n3:
                raise ModelFileError(f"{bs_path or path}: blendshape {name!r} has {d.shape[0] // 3} vertices; "
                                     f"the model has {V}")
        names = [n for n, _ in expr]
        ebasis = np.stack([d.reshape(V, 3) for _, d in expr]).astype(np.float32)
    expressions = {"neutral": {}}
    expressions.update({_BLENDSHAPE_EXPRESSIONS[n]: {n: 1.0} for n in names if n in _BLENDSHAPE_EXPRESSIONS})

    lm_path = Path(landmarks) if landmarks is not None else path.with_name("ibug_to_sfm.txt")
    ibug = read_ibug_mapping(lm_path, V) if lm_path.is_file() else None
    full = ibug is not None and bool(np.all(ibug >= 0))
    points = {} if ibug is None else {f"ibug_{k + 1:02d}": int(v) for k, v in enumerate(ibug) if v >= 0}

    co = a["color"]
    if co["mean"].size:
        if co["mean"].shape[0] != n3:
            raise ModelFileError(f"{path}: colour model has {co['mean'].shape[0] // 3} vertices; shape has {V}")
        alb = (co["mean"].reshape(V, 3), np.ascontiguousarray(co["basis"].T.reshape(-1, V, 3)),
               np.sqrt(np.maximum(co["eigenvalues"], 0)).astype(np.float32), None)
    else:
        alb = untextured_albedo(path, mean, sh["triangles"], ibug, albedo_source)
    uvs = a["uvs"].astype(np.float32) if a["uvs"].shape[0] == V else None
    return make_model(
        path, name=f"sfm-{V}", version=f"eos-v{a['version']}", mean_shape=mean.astype(np.float32),
        shape_basis=basis.astype(np.float32), shape_sd=sd, mean_albedo=alb[0].astype(np.float32),
        texture_basis=alb[1].astype(np.float32), texture_sd=alb[2], texture_bands=alb[3],
        triangles=sh["triangles"].astype(np.int32), expression_basis=ebasis, expression_names=tuple(names),
        expressions=expressions, uvs=uvs, landmarks=ibug if full else None, points=points,
        provenance=f"Surrey Face Model read from {path} (eos cereal v{a['version']})"
                   + (f", blendshapes from {bs_path}" if names and bs_path else "")
                   + "; licence: free for non-commercial use only (see the SFM licence)",
    )


def _beside(path: Path) -> Path | None:
    m = re.search(r"(\d+)$", path.stem)
    if m and (p := path.with_name(f"expression_blendshapes_{m.group(1)}.bin")).is_file():
        return p
    found = sorted(path.parent.glob("expression_blendshapes*.bin"))
    return found[0] if found else None

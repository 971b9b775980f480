"""A small, fast Wavefront OBJ reader (vertices, texture coordinates, polygon faces) built on numpy.

Only what registered face meshes use is read: ``v x y z``, ``vt u v``, ``f a/b/c ...`` (any of the
``a``, ``a/b``, ``a//c``, ``a/b/c`` forms, 1-based or negative indices). Polygons with more than three
corners are fan-split into triangles ``(p0, p_i, p_i+1)``, which keeps the winding of the polygon.
Everything else (``vn``, ``g``, ``usemtl``, comments) is skipped. Units are whatever the file uses.

Parsing joins all ``v`` lines and converts them in one ``np.fromstring(..., sep=' ')`` call, which reads
a 26k-vertex mesh in tens of milliseconds; :func:`read_obj_reference` is a plain line-by-line reader
kept beside it to test the fast path against.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..types import ModelFileError

__all__ = ["ObjMesh", "read_obj", "read_obj_vertices", "read_obj_reference"]


@dataclass(frozen=True)
class ObjMesh:
    """One OBJ mesh.

    Attributes:
        vertices: (V, 3) float64, in the file's units.
        triangles: (F, 3) int32 0-based vertex indices, polygons fan-split.
        uvs: (V, 2) float64 per-vertex texture coordinates, or None when the file has no ``vt``.
            Where a vertex has several UVs (a seam), the first one met in the face list is kept.
        polygon_sizes: (P,) int32 number of corners of each original polygon.
    """

    vertices: np.ndarray
    triangles: np.ndarray
    uvs: np.ndarray | None
    polygon_sizes: np.ndarray


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read OBJ file: {e}") from None


def _floats(path: Path, lines: list[bytes], ncol: int, what: str) -> np.ndarray:
    if not lines:
        return np.zeros((0, ncol))
    try:  # one C-level conversion; any irregular line (extra values, comments) takes the per-line path
        flat = np.fromstring(b" ".join(lines), dtype=np.float64, sep=" ")
    except ValueError:
        flat = np.zeros(0)
    if flat.size != ncol * len(lines):
        # Some writers append a w or colour values to v lines: fall back to per-line parsing.
        try:
            rows = [np.array(ln.split()[:ncol], dtype=np.float64) for ln in lines]
            out = np.stack(rows)
        except ValueError as e:
            raise ModelFileError(f"{path}: malformed '{what}' line ({e}); expected {ncol} numbers") from None
        if out.shape != (len(lines), ncol):
            raise ModelFileError(f"{path}: a '{what}' line has fewer than {ncol} numbers (truncated file?)")
        return out
    return flat.reshape(-1, ncol)


def _split_lines(data: bytes) -> tuple[list[bytes], list[bytes], list[bytes]]:
    v, vt, f = [], [], []
    for ln in data.splitlines():
        if ln[:2] == b"v ":
            v.append(ln[2:])
        elif ln[:3] == b"vt ":
            vt.append(ln[3:])
        elif ln[:2] == b"f ":
            f.append(ln[2:])
    return v, vt, f


def read_obj_vertices(path: str | Path) -> np.ndarray:
    """Only the (V, 3) float64 vertex positions of an OBJ file (faces are not parsed)."""
    path = Path(path)
    data = _read_bytes(path)
    lines = [ln[2:] for ln in data.splitlines() if ln[:2] == b"v "]
    if not lines:
        raise ModelFileError(f"{path}: no 'v' lines; not an OBJ mesh (or an empty/truncated file)")
    return _floats(path, lines, 3, "v")


def read_obj(path: str | Path) -> ObjMesh:
    """Read vertices, fan-split triangles and per-vertex UVs of an OBJ file; see the module docstring."""
    path = Path(path)
    v, vt, f = _split_lines(_read_bytes(path))
    if not v or not f:
        raise ModelFileError(f"{path}: {len(v)} 'v' and {len(f)} 'f' lines; expected a mesh with both")
    verts = _floats(path, v, 3, "v")
    tex = _floats(path, vt, 2, "vt") if vt else None
    nv, nt = len(verts), (0 if tex is None else len(tex))
    toks = [ln.split() for ln in f]
    sizes = np.fromiter((len(t) for t in toks), dtype=np.int32, count=len(toks))
    if sizes.min() < 3:
        raise ModelFileError(f"{path}: a face has {int(sizes.min())} corners; faces need at least 3")
    corners = b" ".join(b" ".join(t) for t in toks)
    nslash = corners.count(b"/")
    width = 1 + nslash // int(sizes.sum()) if nslash % int(sizes.sum()) == 0 else 0
    if b"//" in corners or width == 0:
        return read_obj_reference(path)  # mixed or a//c corner forms: rare; take the plain path
    flat = corners.replace(b"/", b" ").split()
    if len(flat) != width * int(sizes.sum()):
        return read_obj_reference(path)  # corners of mixed forms (a, a/b, a/b/c in one file)
    try:
        idx = np.array(flat, dtype=np.int64).reshape(-1, width)
    except ValueError as e:
        raise ModelFileError(f"{path}: malformed 'f' line ({e})") from None
    vi = np.where(idx[:, 0] < 0, idx[:, 0] + nv, idx[:, 0] - 1)
    if vi.min() < 0 or vi.max() >= nv:
        raise ModelFileError(f"{path}: a face indexes vertex {int(vi.max()) + 1}; the file has {nv} vertices")
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    ntri = sizes - 2
    face_of = np.repeat(np.arange(len(sizes)), ntri)
    k = np.arange(int(ntri.sum())) - np.repeat(np.cumsum(ntri) - ntri, ntri) + 1
    s0 = start[face_of]
    triangles = np.stack([vi[s0], vi[s0 + k], vi[s0 + k + 1]], axis=1).astype(np.int32)
    uvs = None
    if tex is not None and width >= 2:
        ti = np.where(idx[:, 1] < 0, idx[:, 1] + nt, idx[:, 1] - 1)
        if ti.min() < 0 or ti.max() >= nt:
            raise ModelFileError(f"{path}: a face indexes texture coordinate outside 1..{nt}")
        uvs = np.zeros((nv, 2))
        first_v, first_at = np.unique(vi, return_index=True)  # first corner that names each vertex
        uvs[first_v] = tex[ti[first_at]]
    return ObjMesh(vertices=verts, triangles=triangles, uvs=uvs, polygon_sizes=sizes)


def read_obj_reference(path: str | Path) -> ObjMesh:
    """Slow line-by-line reader with the same output as :func:`read_obj` (used to test it)."""
    path = Path(path)
    verts, tex, tris, sizes, uv_of = [], [], [], [], {}
    for lineno, raw in enumerate(_read_bytes(path).decode("utf-8", "replace").splitlines(), 1):
        p = raw.split()
        if not p:
            continue
        try:
            _reference_line(p, verts, tex, tris, sizes, uv_of)
        except (ValueError, IndexError) as e:
            raise ModelFileError(f"{path}:{lineno}: malformed line {raw.strip()[:60]!r} ({e})") from None
    t = np.array(tris, dtype=np.int64).reshape(-1, 3)
    if not verts or not len(t) or t.min() < 0 or t.max() >= len(verts):
        raise ModelFileError(f"{path}: {len(verts)} vertices, {len(t)} triangles; faces must index existing vertices")
    uvs = None
    if tex:
        uvs = np.zeros((len(verts), 2))
        for vi, ti in uv_of.items():
            if not 0 <= ti < len(tex):
                raise ModelFileError(f"{path}: a face indexes texture coordinate {ti + 1}; the file has {len(tex)}")
            uvs[vi] = tex[ti]
    return ObjMesh(np.array(verts), t.astype(np.int32), uvs, np.array(sizes, dtype=np.int32))


def _reference_line(p: list[str], verts: list, tex: list, tris: list, sizes: list, uv_of: dict) -> None:
    """Add one tokenised OBJ line to the reader's lists (raises ValueError / IndexError when malformed)."""
    if p[0] == "v":
        if len(p) < 4:
            raise ValueError("a 'v' line needs 3 coordinates")
        verts.append([float(x) for x in p[1:4]])
    elif p[0] == "vt":
        tex.append([float(x) for x in p[1:3]])
    elif p[0] == "f":
        corners = []
        for c in p[1:]:
            s = c.split("/")
            vi = int(s[0])
            vi = vi - 1 if vi > 0 else vi + len(verts)
            corners.append(vi)
            if len(s) > 1 and s[1]:
                ti = int(s[1])
                uv_of.setdefault(vi, ti - 1 if ti > 0 else ti + len(tex))
        sizes.append(len(corners))
        tris.extend([corners[0], corners[i], corners[i + 1]] for i in range(1, len(corners) - 1))

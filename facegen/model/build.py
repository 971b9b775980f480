"""Build a face model from registered meshes with known gender, ethnicity and age (the GMF recipe).

Given N registered faces (one topology, V vertices, mm) and their factors, fit per vertex coordinate
the linear model (ordinary least squares, all coordinates at once)::

    y_i = mu + sum_g x_ig * beta_g + sum_e x_ie * beta_e + (age_i - age_ref) * beta_age + r_i

with sum-to-zero *effects coding* of the categorical factors: for gender levels l_0 .. l_{G-1} (sorted
names), column j < G-1 is +1 for level j, -1 for level G-1, 0 otherwise. Then ``mu`` is the mean face
with every level weighted equally at ``age_ref`` (= the sample's mean age), the offset of level j is
``beta_j`` and that of the last level ``-sum_j beta_j``, so the per-level offsets (FactorModel
``gender_shape`` etc.) sum to zero; ``beta_age`` is the shape change per year (``age_shape``).

Identity is the residual: the SVD ``R = U S W^T`` of the (N, 3V) residuals (computed through the
eigen-decomposition of the N x N Gram matrix ``R R^T`` when N < 3V) gives modes ``W[:, k]``
(unit norm, reshaped (V, 3)) with s.d. ``S_k / sqrt(N - p)`` (``p`` = columns of the design matrix, the
residuals' degrees of freedom), so coefficients in s.d. units are N(0, 1) over the training faces.
Each mode's sign is fixed so that its largest-magnitude entry is positive (deterministic output).
Albedo (linear RGB in [0, 1]) gets the same treatment when given; without it the model has flat grey
albedo (0.5), no texture modes and zero albedo factor offsets.

Reference: the Glasgow Generative Face Model (GMF) recipe of a linear model of the face on its
factors with identity as the PCA of the residuals (e.g. Zhan et al. 2019; Jack & Schyns 2017).
"""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .types import FaceModel, FactorModel

__all__ = ["build_model", "build_from_files", "read_mesh", "LinearFit", "fit_factors", "LABEL_COLUMNS"]

log = logging.getLogger(__name__)

#: Columns of the labels CSV read by :func:`build_from_files`.
LABEL_COLUMNS = ("file", "gender", "ethnicity", "age")


@dataclass(frozen=True)
class LinearFit:
    """Result of :func:`fit_factors` on data Y (N, D).

    Attributes:
        mean: (D,) the intercept (mean over equally weighted levels at ``age_reference``).
        genders, ethnicities: sorted level names.
        gender_offsets: (G, D) per-level offsets, summing to zero over levels.
        ethnicity_offsets: (E, D) likewise.
        age_slope: (D,) change per year.
        age_reference: mean age (years).
        residuals: (N, D) Y minus the fitted values.
        dof: N - p, the residual degrees of freedom.
    """

    mean: np.ndarray
    genders: tuple[str, ...]
    gender_offsets: np.ndarray
    ethnicities: tuple[str, ...]
    ethnicity_offsets: np.ndarray
    age_slope: np.ndarray
    age_reference: float
    residuals: np.ndarray
    dof: int


def _effects(values: Sequence[str]) -> tuple[tuple[str, ...], np.ndarray]:
    levels = tuple(sorted(set(values)))
    idx = np.array([levels.index(v) for v in values])
    X = np.zeros((len(values), max(len(levels) - 1, 0)))
    for j in range(len(levels) - 1):
        X[idx == j, j] = 1.0
    X[idx == len(levels) - 1, :] = -1.0
    return levels, X


def _level_offsets(beta: np.ndarray) -> np.ndarray:
    """(L-1, D) effects-coded coefficients -> (L, D) per-level offsets (last = minus the sum)."""
    return np.concatenate([beta, -beta.sum(axis=0, keepdims=True)], axis=0)


def fit_factors(Y: np.ndarray, genders: Sequence[str], ethnicities: Sequence[str], ages: Sequence[float]) -> LinearFit:
    """Least-squares fit of Y (N, D) on effects-coded gender and ethnicity and centred age; see module doc."""
    Y = np.asarray(Y, dtype=np.float64)
    ages = np.asarray(ages, dtype=np.float64)
    gl, Xg = _effects(list(genders))
    el, Xe = _effects(list(ethnicities))
    age_ref = float(ages.mean())
    X = np.concatenate([np.ones((len(Y), 1)), Xg, Xe, (ages - age_ref)[:, None]], axis=1)
    rank = np.linalg.matrix_rank(X)
    if rank < X.shape[1]:
        raise ValueError(f"the factors are confounded (design matrix rank {rank} < {X.shape[1]} columns): "
                         "each factor needs variation independent of the others, and age must vary")
    B, *_ = np.linalg.lstsq(X, Y, rcond=None)
    g, e = 1 + Xg.shape[1], 1 + Xg.shape[1] + Xe.shape[1]
    return LinearFit(mean=B[0], genders=gl, gender_offsets=_level_offsets(B[1:g]), ethnicities=el,
                     ethnicity_offsets=_level_offsets(B[g:e]), age_slope=B[e], age_reference=age_ref,
                     residuals=Y - X @ B, dof=len(Y) - X.shape[1])


def _pca(residuals: np.ndarray, dof: int, k: int, V: int) -> tuple[np.ndarray, np.ndarray]:
    """Modes (k, V, 3) unit-norm and s.d. (k,) of the residual rows (zero mean by construction)."""
    if k == 0:
        return np.zeros((0, V, 3), np.float32), np.zeros(0, np.float32)
    N, D = residuals.shape
    if N < D:  # Gram route: eigh of the (N, N) matrix R R^T = U S^2 U^T, then W = R^T U / S (much faster)
        lam, U = np.linalg.eigh(residuals @ residuals.T)
        order = np.argsort(lam)[::-1][:k]
        S = np.sqrt(np.maximum(lam[order], 0.0))
        Wt = (U[:, order].T @ residuals) / np.where(S > 0, S, 1.0)[:, None]
    else:
        _, S, Wt = np.linalg.svd(residuals, full_matrices=False)
        S, Wt = S[:k], Wt[:k]
    sign = np.sign(Wt[np.arange(k), np.abs(Wt).argmax(axis=1)])
    Wt = Wt * np.where(sign == 0, 1.0, sign)[:, None]
    return Wt.reshape(k, V, 3).astype(np.float32), (S / np.sqrt(max(dof, 1))).astype(np.float32)


def _labels(factors, n: int) -> tuple[list[str], list[str], np.ndarray]:
    """Columns gender, ethnicity, age from a mapping of columns or a sequence of row mappings."""
    if isinstance(factors, Mapping):
        cols = dict(factors)
    else:
        rows = list(factors)
        cols = {k: [r.get(k) for r in rows] for k in ("gender", "ethnicity", "age")}
        extra = {k for r in rows for k in r} - {"gender", "ethnicity", "age", "file"}
        if extra:
            raise ValueError(f"unknown factor columns {sorted(extra)}; allowed: gender, ethnicity, age")
    unknown = set(cols) - {"gender", "ethnicity", "age", "file"}
    if unknown:
        raise ValueError(f"unknown factor columns {sorted(unknown)}; allowed: gender, ethnicity, age")
    for k in ("gender", "ethnicity", "age"):
        if k not in cols:
            raise ValueError(f"factors lack the column {k!r}; give gender, ethnicity and age for every face")
        if len(cols[k]) != n:
            raise ValueError(f"factors column {k!r} has {len(cols[k])} entries for {n} faces")
    out = []
    for k in ("gender", "ethnicity"):
        vals = [None if v is None else str(v).strip() for v in cols[k]]
        bad = [i for i, v in enumerate(vals) if not v]
        if bad:
            raise ValueError(f"missing {k} label for face(s) {bad[:10]}; every face needs gender, ethnicity, age")
        out.append(vals)
    try:
        ages = np.array([np.nan if v in (None, "") else float(v) for v in cols["age"]], dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"age labels must be numbers (years): {e}") from None
    bad = np.flatnonzero(~np.isfinite(ages))
    if bad.size:
        raise ValueError(f"missing age label for face(s) {bad[:10].tolist()}; every face needs an age in years")
    return out[0], out[1], ages


def build_model(
    vertices: np.ndarray,
    triangles: np.ndarray,
    factors: Mapping[str, Sequence] | Sequence[Mapping[str, object]],
    albedo: np.ndarray | None = None,
    n_shape: int = 50,
    n_texture: int = 50,
    *,
    name: str = "built",
    version: str = "1",
    landmarks: np.ndarray | None = None,
    uvs: np.ndarray | None = None,
    provenance: str = "",
) -> FaceModel:
    """Fit a FaceModel (with a FactorModel) to registered faces; see the module docstring for the maths.

    Args:
        vertices: (N, V, 3) mm, N registered faces of one topology.
        triangles: (F, 3) int vertex indices.
        factors: columns ``gender``, ``ethnicity``, ``age`` (N each; age in years), as a mapping of
            columns or a sequence of N row mappings.
        albedo: (N, V, 3) linear RGB in [0, 1], or None.
        n_shape, n_texture: identity modes to keep; at most N - p (p = design-matrix columns).
    Raises:
        ValueError: wrong shapes, missing or unknown labels, confounded factors, too few faces.
    """
    Y = np.asarray(vertices, dtype=np.float64)
    if Y.ndim != 3 or Y.shape[2] != 3:
        raise ValueError(f"vertices has shape {Y.shape}; expected (N faces, V vertices, 3) in mm")
    N, V, _ = Y.shape
    g, e, ages = _labels(factors, N)
    fit = fit_factors(Y.reshape(N, -1), g, e, ages)
    for what, k in (("n_shape", n_shape), ("n_texture", n_texture if albedo is not None else 0)):
        if not 0 <= k <= fit.dof:
            raise ValueError(f"{what}={k} but {N} faces leave {fit.dof} residual degrees of freedom "
                             f"({N} faces - {N - fit.dof} factor columns); request at most {fit.dof} modes "
                             "or give more faces")
    shape_basis, shape_sd = _pca(fit.residuals, fit.dof, n_shape, V)
    G, E = len(fit.genders), len(fit.ethnicities)
    if albedo is not None:
        A = np.asarray(albedo, dtype=np.float64)
        if A.shape != Y.shape:
            raise ValueError(f"albedo has shape {A.shape}; expected {Y.shape} like vertices")
        afit = fit_factors(A.reshape(N, -1), g, e, ages)
        mean_albedo = afit.mean.reshape(V, 3)
        texture_basis, texture_sd = _pca(afit.residuals, afit.dof, n_texture, V)
        a_g, a_e, a_age = (afit.gender_offsets.reshape(G, V, 3), afit.ethnicity_offsets.reshape(E, V, 3),
                           afit.age_slope.reshape(V, 3))
    else:
        mean_albedo = np.full((V, 3), 0.5)
        texture_basis, texture_sd = np.zeros((0, V, 3), np.float32), np.zeros(0, np.float32)
        a_g, a_e, a_age = np.zeros((G, V, 3)), np.zeros((E, V, 3)), np.zeros((V, 3))
    f32 = np.float32
    fm = FactorModel(
        genders=fit.genders, gender_shape=fit.gender_offsets.reshape(G, V, 3).astype(f32),
        gender_albedo=a_g.astype(f32), ethnicities=fit.ethnicities,
        ethnicity_shape=fit.ethnicity_offsets.reshape(E, V, 3).astype(f32), ethnicity_albedo=a_e.astype(f32),
        age_reference=fit.age_reference, age_range=(float(ages.min()), float(ages.max())),
        age_shape=fit.age_slope.reshape(V, 3).astype(f32), age_albedo=a_age.astype(f32))
    return FaceModel(
        name=name, version=version, mean_shape=fit.mean.reshape(V, 3).astype(f32), shape_basis=shape_basis,
        shape_sd=shape_sd, mean_albedo=mean_albedo.astype(f32), texture_basis=texture_basis,
        texture_sd=texture_sd, triangles=np.asarray(triangles, dtype=np.int32),
        expression_basis=np.zeros((0, V, 3), f32), expression_names=(), expressions={"neutral": {}},
        landmarks=landmarks, uvs=uvs, factors=fm,
        provenance=provenance or f"built by facegen.model.build from {N} faces (GMF recipe)")


def read_mesh(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Vertices (V, 3), triangles (F, 3) int32 and vertex colours (V, 3) in [0, 1] or None, of a mesh file.

    OBJ (:mod:`facegen.model.loaders.obj`; colours from ``v x y z r g b`` lines) and PLY (ASCII or
    binary, vertex ``x y z`` [``red green blue``], polygon faces fan-split) are read here, keeping the
    file's vertex order, which registration relies on. Other formats go through open3d when it imports.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such mesh file")
    suffix = path.suffix.lower()
    if suffix == ".obj":
        from .loaders.obj import read_obj

        m = read_obj(path)
        rows = [ln.split()[4:7] for ln in path.read_bytes().splitlines() if ln[:2] == b"v "]
        colours = np.array(rows, dtype=np.float64) if rows and all(len(r) == 3 for r in rows) else None
        return m.vertices, m.triangles, colours
    if suffix == ".ply":
        return _read_ply(path)
    try:
        import open3d as o3d
    except (ImportError, OSError) as e:
        raise ValueError(f"{path}: reading {suffix} meshes needs a working open3d ({e}); "
                         "convert to .obj or .ply, or install open3d") from None
    mesh = o3d.io.read_triangle_mesh(str(path))
    v = np.asarray(mesh.vertices, dtype=np.float64)
    if v.size == 0:
        raise ValueError(f"{path}: open3d read no vertices (unsupported or corrupt mesh file)")
    c = np.asarray(mesh.vertex_colors, dtype=np.float64)
    return v, np.asarray(mesh.triangles, dtype=np.int32), (c if len(c) == len(v) else None)


_PLY_TYPES = {"char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
              "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
              "float": "f4", "float32": "f4", "double": "f8", "float64": "f8"}


def _read_ply(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Minimal PLY reader: ``vertex`` (x, y, z, optional red/green/blue) and ``face`` vertex lists."""
    data = path.read_bytes()
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise ValueError(f"{path}: not a PLY file (no 'ply' magic or 'end_header')")
    body = data[data.index(b"\n", end) + 1:]
    fmt, elements = None, []
    for ln in data[:end].decode("ascii", "replace").splitlines()[1:]:
        p = ln.split()
        if not p or p[0] in ("comment", "obj_info"):
            continue
        if p[0] == "format":
            fmt = p[1]
        elif p[0] == "element":
            elements.append((p[1], int(p[2]), []))
        elif p[0] == "property" and elements:
            elements[-1][2].append(p[1:])
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise ValueError(f"{path}: PLY format {fmt!r}; expected ascii or binary")
    end_ch = "<" if fmt == "binary_little_endian" else ">"
    tokens = body.split() if fmt == "ascii" else None
    pos, out = 0, {}
    for name, count, props in elements:
        if fmt == "ascii":
            if all(q[0] != "list" for q in props):
                n = count * len(props)
                out[name] = {q[-1]: c for q, c in zip(props, np.array(tokens[pos:pos + n], dtype=np.float64)
                                                       .reshape(count, len(props)).T)}
                pos += n
            else:  # faces: "n i0 i1 ... " per row
                rows = []
                for _ in range(count):
                    k = int(tokens[pos])
                    rows.append([int(x) for x in tokens[pos + 1:pos + 1 + k]])
                    pos += 1 + k
                out[name] = {"vertex_indices": rows}
            continue
        if all(q[0] != "list" for q in props):
            dt = np.dtype([(q[-1], end_ch + _PLY_TYPES[q[0]]) for q in props])
            arr = np.frombuffer(body, dtype=dt, count=count, offset=pos)
            pos += dt.itemsize * count
            out[name] = {q[-1]: arr[q[-1]] for q in props}
        else:
            (_, ct, it, pname), = [q for q in props if q[0] == "list"]
            cdt, idt = np.dtype(end_ch + _PLY_TYPES[ct]), np.dtype(end_ch + _PLY_TYPES[it])
            rows = []
            for _ in range(count):
                k = int(np.frombuffer(body, cdt, 1, pos)[0])
                rows.append(np.frombuffer(body, idt, k, pos + cdt.itemsize).tolist())
                pos += cdt.itemsize + k * idt.itemsize
            out[name] = {"vertex_indices": rows}
    vx = out.get("vertex", {})
    if not all(k in vx for k in "xyz"):
        raise ValueError(f"{path}: PLY has no vertex x, y, z properties")
    v = np.stack([vx["x"], vx["y"], vx["z"]], axis=1).astype(np.float64)
    faces = out.get("face", {}).get("vertex_indices", [])
    tris = np.array([[f[0], f[i], f[i + 1]] for f in faces for i in range(1, len(f) - 1)], np.int32).reshape(-1, 3)
    colours = None
    if all(k in vx for k in ("red", "green", "blue")):
        c = np.stack([vx["red"], vx["green"], vx["blue"]], axis=1).astype(np.float64)
        colours = c / 255.0 if c.max() > 1.0 or vx["red"].dtype.kind in "iu" else c
    return v, tris, colours


def build_from_files(
    mesh_paths: Sequence[str | Path],
    labels_csv: str | Path,
    n_shape: int = 50,
    n_texture: int = 50,
    *,
    use_colours: bool = True,
    name: str = "built",
) -> FaceModel:
    """Build a model from registered mesh files (mm, one topology) and a CSV ``file,gender,ethnicity,age``.

    ``file`` matches a mesh by its path as given or by its file name. Vertex colours, when every mesh
    has them and ``use_colours``, become the albedo. Errors name the file and the problem.
    """
    labels_csv = Path(labels_csv)
    with labels_csv.open(newline="") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in (reader.fieldnames or [])]
        if set(cols) != set(LABEL_COLUMNS):
            raise ValueError(f"{labels_csv}: columns {cols}; expected exactly {list(LABEL_COLUMNS)} "
                             f"(unknown: {sorted(set(cols) - set(LABEL_COLUMNS))}, "
                             f"missing: {sorted(set(LABEL_COLUMNS) - set(cols))})")
        rows = [{k.strip(): (v or "").strip() for k, v in r.items()} for r in reader]
    by_file = {}
    for i, r in enumerate(rows, 2):
        if r["file"] in by_file:
            raise ValueError(f"{labels_csv}:{i}: file {r['file']!r} is labelled twice")
        by_file[r["file"]] = r
    verts, colours, labels, tris = [], [], [], None
    for p in map(Path, mesh_paths):
        row = by_file.get(str(p)) or by_file.get(p.name)
        if row is None:
            raise ValueError(f"{p}: no row in {labels_csv} (match by path or file name); every mesh needs labels")
        v, t, c = read_mesh(p)
        if verts and v.shape != verts[0].shape:
            raise ValueError(f"{p}: {v.shape[0]} vertices; {mesh_paths[0]} has {verts[0].shape[0]}. "
                             "Meshes must be registered to one topology")
        tris = t if tris is None else tris
        verts.append(v)
        colours.append(c)
        labels.append({k: row[k] for k in ("gender", "ethnicity", "age")})
    if not verts:
        raise ValueError("no mesh files given")
    albedo = np.stack(colours) if use_colours and all(c is not None for c in colours) else None
    return build_model(np.stack(verts), tris, labels, albedo, n_shape, n_texture, name=name,
                       provenance=f"built from {len(verts)} meshes labelled in {labels_csv}")

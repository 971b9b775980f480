"""Per-vertex feature maps: which parts of the face the response follows (Xu et al.'s visualisation).

From reverse-correlation trials with shape and texture coefficient perturbations ``ds`` (N, Ks),
``dt`` (N, Kt) in s.d. units and the response ``R`` (N,):

* **shape map**: the displacement of vertex v along the mean face's outward unit normal n_v,
  ``h_v = sum_k ds_k * sd_k * (B_k[v] . n_v)`` mm (B the shape basis), and its 2-D copula variable
  ``x_v = [copnorm(h_v), copnorm(|h_v|)]`` (signed displacement and its magnitude), and
  ``MI_shape[v] = mi_gg(x_v, cn_id(R), biascorrect=True, demeaned=True)`` bits (GCMI);
* **texture map**: the albedo luminance change of vertex v (the mean of its RGB change),
  ``a_v = sum_k dt_k * tsd_k * mean_rgb(T_k[v])``, ``x_v = [copnorm(a_v), copnorm(|a_v|)]`` and
  ``MI_texture[v]`` likewise.

``cn_id`` is the copula normalisation within identity (:mod:`.metrics`). The magnitude component
makes the maps see symmetric dependence too (the standard GCMI device, Ince et al. 2017): a vertex
whose displacement matters in both directions alike (the response follows |h_v|, e.g. any change
away from the mean face lowers it) shows, as well as a signed-linear one. It is still a Gaussian-
copula bound: dependence that neither h_v nor |h_v| expresses monotonically (e.g. a response peaked
at h_v = +1 s.d.) is seen only in part. A vertex whose h_v never changes sign over the trials has
``copnorm(|h_v|) = +-copnorm(h_v)`` (up to ties), so its x_v is the 1-D ``copnorm(h_v)`` and its MI the
1-D GCMI (bias term for 1-D x). Vertex normals are area-weighted sums of the adjacent triangle
normals. Vertices that never move (a zero row) get MI 0 by definition and are not tested.

**Family-wise test** (thousands of vertices, so the largest of them is large by chance alone): the
maximum statistic of Nichols & Holmes (2002). The response is permuted within each identity
(``cn_id(R)`` is unchanged by that, so the null keeps the identity structure), the same
permutations for every vertex; with ``M_k = max_v MI_k[v]`` the map's maximum under permutation k::

    p_fwe[v]    = (1 + #{k : M_k >= MI[v]}) / (n_perm + 1)
    significant = p_fwe[v] <= alpha  <=>  MI[v] > threshold,
    threshold   = the (m + 1)-th largest M_k,  m = floor(alpha (n_perm + 1)) - 1

so on a map without any effect the chance that *any* vertex is significant is at most alpha.
``threshold`` is +inf (nothing can be significant) when ``n_perm < 1 / alpha - 1``.

**Fast path** (:func:`vertex_test`; compared with :func:`vertex_information`, the plain ``mi_gg``,
in the tests). For Gaussian x (d_x = 2) and 1-D y, ``det C_xy = det C_x (C_yy - C_yx C_x^-1 C_xy)``,
so ``mi_gg`` is, exactly::

    MI = (-1/2 ln(1 - R^2) - bias(n, 2, 1)) / ln 2,   R^2 = |Q^T y|^2 / |y|^2,
    bias(n, dx, dy) = b(n, dx) + b(n, dy) - b(n, dx + dy),
    b(n, d) = d/2 ln(2/(n-1)) + 1/2 sum_{k=1..d} psi((n-k)/2)   (mi_gg's entropy bias, nats)

with R^2 the squared multiple correlation of y on the two components and Q (n, 2) an orthonormal
basis of their span (Gram-Schmidt on the uncentred rows, as ``demeaned=True`` uses them). Q is
formed once per vertex, so each batch of permuted responses costs one matrix product (2V, n) x
(n, B); 1-D vertices (above) use Q = x_v / |x_v| and ``bias(n, 1, 1)``.

Drawing: the mean face seen from the front (+z towards the viewer, orthographic), front-facing
triangles painted back to front, each coloured by the mean MI of its three vertices and shaded by
its normal (light from the upper left) so that the face's form shows; non-significant vertices
count as 0, and triangles with no significant vertex are painted grey (shaded), so only what
survives the family-wise test is coloured; the colour scale starts at 0.
"""
from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..info import mass
from ..info.gcmi import LN2
from ..info.stats import permutations
from .information import _RESPONSE, within_copnorm
from .metrics import ALPHA

__all__ = ["MapError", "VertexMaps", "MapTest", "vertex_normals", "normal_displacement_basis", "luminance_basis",
           "vertex_information", "vertex_test", "vertex_maps", "draw_map"]

log = logging.getLogger(__name__)


class MapError(ValueError):
    """The face model of the probe set cannot be loaded or does not match its coefficients."""


@dataclass(frozen=True)
class MapTest:
    """Max-statistic permutation test of one map (module doc): ``mi`` (V,) bits; ``null_max``
    (n_perm,) the map's maximum per within-identity permutation; ``threshold`` bits (MI above it is
    significant; +inf when n_perm is too small for ``alpha``); ``p_fwe`` (V,) family-wise p-values
    (1 for vertices that never move); ``significant`` (V,) bool."""

    mi: np.ndarray
    null_max: np.ndarray
    threshold: float
    p_fwe: np.ndarray
    significant: np.ndarray
    alpha: float
    n_perm: int

    def summary(self) -> dict:
        m = self.mi
        return {"max": float(m.max()), "mean": float(m.mean()), "argmax_vertex": int(np.argmax(m)),
                "threshold": float(self.threshold) if math.isfinite(self.threshold) else None,
                "n_significant": int(self.significant.sum()), "p_fwe_min": float(self.p_fwe.min()),
                "null_max_median": float(np.median(self.null_max)), "alpha": self.alpha, "n_perm": self.n_perm,
                "statistic": "GCMI of [copnorm(x_v), copnorm(|x_v|)] (1-D copnorm(x_v) where x_v never changes sign) "
                             "with the response copula-normalised within identity",
                "correction": "max-statistic permutation, FWE (Nichols & Holmes 2002); response permuted "
                              "within identity"}


@dataclass(frozen=True)
class VertexMaps:
    """``shape`` and ``texture`` (V,) per-vertex MI in bits, ``shape_test`` / ``texture_test`` their
    :class:`MapTest`; ``vertices`` (V, 3) mm and ``triangles`` (F, 3) of the mean face they are
    drawn on; ``model`` the face model's name."""

    shape: np.ndarray
    texture: np.ndarray
    vertices: np.ndarray
    triangles: np.ndarray
    model: str
    shape_test: MapTest | None = None
    texture_test: MapTest | None = None

    def masked(self, component: str) -> np.ndarray:
        """(V,) MI with the non-significant vertices set to 0 (all of it when untested)."""
        t = getattr(self, f"{component}_test")
        m = getattr(self, component)
        return m if t is None else np.where(t.significant, m, 0.0)

    def summary(self) -> dict:
        out = {"model": self.model, "vertices": int(self.shape.size), "units": "bits"}
        for c in ("shape", "texture"):
            t = getattr(self, f"{c}_test")
            m = getattr(self, c)
            out[c] = t.summary() if t is not None else {"max": float(m.max()), "mean": float(m.mean()),
                                                         "argmax_vertex": int(np.argmax(m)), "tested": False}
        return out


def vertex_normals(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(V, 3) unit outward normals: sum of adjacent (area-weighted) triangle normals, normalised."""
    v = np.asarray(vertices, np.float64)
    t = np.asarray(triangles, np.int64)
    fn = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
    n = np.zeros_like(v)
    for j in range(3):
        np.add.at(n, t[:, j], fn)
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    return n / np.where(norm > 0, norm, 1.0)


def normal_displacement_basis(model) -> np.ndarray:
    """(Ks, V) displacement (mm) along the mean-face normal per unit (s.d.) of each shape coefficient."""
    n = vertex_normals(model.mean_shape, model.triangles)
    return np.einsum("kvc,vc->kv", model.shape_basis.astype(np.float64), n) * model.shape_sd[:, None]


def luminance_basis(model) -> np.ndarray:
    """(Kt, V) mean-RGB albedo change per unit (s.d.) of each texture coefficient."""
    return model.texture_basis.astype(np.float64).mean(axis=2) * model.texture_sd[:, None]


def _copula_pair(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For rows h (V, n): ``copnorm(h)``, ``copnorm(|h|)`` (V, n) and the rows that never change sign
    (V,) bool, whose x is the 1-D ``copnorm(h)`` (module doc)."""
    one_sided = np.all(h >= 0, axis=1) | np.all(h <= 0, axis=1)
    return mass.copnorm(h), mass.copnorm(np.abs(h)), one_sided


def vertex_information(response, delta, basis, identity, *, chunk: int = 2048) -> np.ndarray:
    """(V,) GCMI ``mi_gg([copnorm(h_v), copnorm(|h_v|)], cn_id(response))`` bits with ``h_v = delta @
    basis[:, v]`` (1-D ``copnorm(h_v)`` where h_v never changes sign), in chunks of vertices: the plain
    ``mi_gg`` reference of :func:`vertex_test`."""
    rc = within_copnorm(np.asarray(response, np.float64), np.asarray(identity), seed=(0, _RESPONSE))[None]
    d = np.asarray(delta, np.float64)
    out = np.zeros(basis.shape[1])
    moving = np.flatnonzero(np.abs(basis).max(axis=0) > 0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tied values")
        for a in range(0, moving.size, chunk):
            idx = moving[a:a + chunk]
            x1, x2, one = _copula_pair((d @ basis[:, idx]).T)
            if (~one).any():
                out[idx[~one]] = mass.mi_gg(np.stack((x1[~one], x2[~one]), axis=1), rc, biascorrect=True,
                                            demeaned=True)
            if one.any():
                out[idx[one]] = mass.mi_gg(x1[one], rc, biascorrect=True, demeaned=True)
    return out


def vertex_test(response, delta, basis, identity, *, n_perm: int = 1000, alpha: float = ALPHA, seed: int = 0,
                chunk: int = 1024, batch: int = 128) -> MapTest:
    """Per-vertex MI (as :func:`vertex_information`) with the max-statistic permutation threshold
    (module doc); the response is permuted within identity, the same ``n_perm`` permutations for
    every vertex (seeded), evaluated as one matrix product per chunk of vertices and batch of
    permutations."""
    ident = np.asarray(identity)
    rc = within_copnorm(np.asarray(response, np.float64), ident, seed=(0, _RESPONSE))
    d = np.asarray(delta, np.float64)
    n = rc.size
    moving = np.flatnonzero(np.abs(basis).max(axis=0) > 0)
    mi = np.zeros(basis.shape[1])
    null_max = np.full(n_perm, -np.inf)
    perms = permutations(n, n_perm, np.random.default_rng(seed), strata=ident)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tied values")
        for a in range(0, moving.size, chunk):
            idx = moving[a:a + chunk]
            q, bias = _span_basis(*_copula_pair((d @ basis[:, idx]).T))  # as vertex_information
            mi[idx] = _mi_span(q, rc[None], bias)[:, 0]
            for b in range(0, n_perm, batch):
                nul = _mi_span(q, rc[perms[b:b + batch]], bias)
                null_max[b:b + batch] = np.maximum(null_max[b:b + batch], nul.max(axis=0))
    srt = np.sort(null_max)
    k = int(math.floor(alpha * (n_perm + 1) + 1e-9)) - 1  # exceedances a significant vertex may have
    threshold = float(srt[n_perm - 1 - k]) if 0 <= k < n_perm else math.inf  # the (k + 1)-th largest
    p = (1.0 + n_perm - np.searchsorted(srt, mi, side="left")) / (n_perm + 1.0)
    still = np.ones(mi.size, bool)
    still[moving] = False
    p[still] = 1.0
    sig = p <= alpha
    return MapTest(mi, null_max, threshold, p, sig, float(alpha), int(n_perm))


def _span_basis(x1: np.ndarray, x2: np.ndarray, one_sided: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal basis (2, V, n) of the span of the uncentred rows x1, x2 (V, n) (Gram-Schmidt; the
    second vector 0 for one-sided rows, whose x is x1 alone) and the bias (V,) nats of mi_gg for
    their x dimension (module doc)."""
    q = np.empty((2,) + x1.shape)
    e1, e2 = q
    np.divide(x1, np.sqrt(np.einsum("vn,vn->v", x1, x1))[:, None], out=e1)
    np.multiply(np.einsum("vn,vn->v", e1, x2)[:, None], e1, out=e2)
    np.subtract(x2, e2, out=e2)
    e2 /= np.sqrt(np.where(one_sided, 1.0, np.einsum("vn,vn->v", e2, e2)))[:, None]
    e2[one_sided] = 0.0
    n = x1.shape[1]
    bias = np.where(one_sided, mass._mi_bias(n, 1, 1), mass._mi_bias(n, 2, 1))
    return q, bias


def _mi_span(q: np.ndarray, y: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(V, B) bits: ``mi_gg(x_v, y_b, biascorrect=True, demeaned=True)`` of every vertex's x_v (its
    orthonormal span q (2, V, n), :func:`_span_basis`) with every row of y (B, n), from the squared
    multiple correlation ``R^2 = |q_v y_b|^2 / |y_b|^2`` (module doc)."""
    nv, n = q.shape[1], q.shape[2]
    proj = q.reshape(2 * nv, n) @ y.T  # (2V, B): one product for both components
    np.square(proj, out=proj)
    r2 = (proj[:nv] + proj[nv:]) / np.einsum("bn,bn->b", y, y)[None, :]
    with np.errstate(divide="ignore"):
        return (-0.5 * np.log1p(-np.minimum(r2, 1.0)) - bias[:, None]) / LN2


def vertex_maps(model_ref: str, response, shape_delta, texture_delta, identity, *, n_perm: int = 1000,
                alpha: float = ALPHA, seed: int = 0) -> VertexMaps:
    """Shape and texture per-vertex MI maps on the probe design's face model ``model_ref``, each with
    its max-statistic permutation test (:func:`vertex_test`)."""
    from facegen.model import load_model

    try:
        model = load_model(model_ref)
    except Exception as e:  # noqa: BLE001 - any loader failure means: no maps, say why
        raise MapError(f"cannot load face model {model_ref!r}: {e}") from None
    ds, dt = np.asarray(shape_delta), np.asarray(texture_delta)
    if ds.shape[1] > model.n_shape or dt.shape[1] > model.n_texture:
        raise MapError(f"face model {model.name!r} has {model.n_shape}/{model.n_texture} shape/texture modes; the "
                       f"probe records have {ds.shape[1]}/{dt.shape[1]}")
    sb = normal_displacement_basis(model)[: ds.shape[1]]
    tb = luminance_basis(model)[: dt.shape[1]]
    ts = vertex_test(response, ds, sb, identity, n_perm=n_perm, alpha=alpha, seed=seed)
    tt = vertex_test(response, dt, tb, identity, n_perm=n_perm, alpha=alpha, seed=seed + 1)
    return VertexMaps(ts.mi, tt.mi, np.asarray(model.mean_shape, np.float64), np.asarray(model.triangles),
                      model.name, ts, tt)


def draw_map(vertices: np.ndarray, triangles: np.ndarray, values: np.ndarray, path, title: str,
             vmax: float | None = None, significant: np.ndarray | None = None) -> None:
    """PNG of ``values`` (V,) on the mesh seen from the front (+z), painter's order, with a colour bar;
    with ``significant`` (V,) bool, other vertices count as 0 and triangles without a significant
    vertex are grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    v, t = np.asarray(vertices, np.float64), np.asarray(triangles, np.int64)
    fn = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
    keep = fn[:, 2] > 0
    order = np.argsort(v[t[keep]].mean(axis=1)[:, 2])
    front, fu = t[keep][order], fn[keep][order] / np.linalg.norm(fn[keep][order], axis=1, keepdims=True)
    light = np.array([-0.35, 0.45, 1.0]) / np.linalg.norm([-0.35, 0.45, 1.0])
    shade = np.clip(fu @ light, 0.0, 1.0)
    vals = np.asarray(values, np.float64)
    if significant is not None:
        vals = np.where(significant, vals, 0.0)
    c = vals[front].mean(axis=1)
    norm = matplotlib.colors.Normalize(0.0, vmax if vmax else max(float(np.max(vals)), 1e-6))
    cmap = matplotlib.colormaps["inferno"]
    rgb = cmap(norm(c))
    if significant is not None:
        rgb[~np.asarray(significant)[front].any(axis=1)] = (0.75, 0.75, 0.75, 1.0)
    rgb[:, :3] *= (0.3 + 0.7 * shade ** 2)[:, None]  # Lambert shading from the upper left: the form shows
    fig, ax = plt.subplots(figsize=(4, 4.6))
    pc = PolyCollection(v[front][:, :, :2], facecolors=rgb, edgecolors=rgb, linewidths=0.3)
    ax.add_collection(pc)
    ax.set_xlim(v[:, 0].min(), v[:, 0].max())
    ax.set_ylim(v[:, 1].min(), v[:, 1].max())
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    fig.colorbar(matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.046, pad=0.04, label="bits")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

"""Per-vertex feature maps: which parts of the face the response follows (Xu et al.'s visualisation).

From reverse-correlation trials with shape and texture coefficient perturbations ``ds`` (N, Ks),
``dt`` (N, Kt) in s.d. units and the response ``R`` (N,):

* **shape map**: the displacement of vertex v along the mean face's outward unit normal n_v,
  ``h_v = sum_k ds_k * sd_k * (B_k[v] . n_v)`` mm (B the shape basis), and
  ``MI_shape[v] = mi_gg(copnorm(h_v), cn_id(R), biascorrect=True, demeaned=True)`` bits (GCMI);
* **texture map**: the albedo luminance change of vertex v (the mean of its RGB change),
  ``a_v = sum_k dt_k * tsd_k * mean_rgb(T_k[v])``, and ``MI_texture[v]`` likewise.

``cn_id`` is the copula normalisation within identity (:mod:`.metrics`). The maps are signed-linear
(GCMI): a vertex whose displacement matters in both directions alike does not show. Vertex normals
are area-weighted sums of the adjacent triangle normals. Vertices that never move (a zero row) get
MI 0 by definition. No correction for multiple comparisons is applied to the maps; they are drawn,
not tested.

Drawing: the mean face seen from the front (+z towards the viewer, orthographic), front-facing
triangles painted back to front, each coloured by the mean MI of its three vertices and shaded by
its normal (light from the upper left) so that the face's form shows; the colour
scale starts at 0, so slightly negative (bias-corrected) values show as 0.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from ..info import mass
from .metrics import within_copnorm

__all__ = ["MapError", "VertexMaps", "vertex_normals", "normal_displacement_basis", "luminance_basis",
           "vertex_information", "vertex_maps", "draw_map"]

log = logging.getLogger(__name__)


class MapError(ValueError):
    """The face model of the probe set cannot be loaded or does not match its coefficients."""


@dataclass(frozen=True)
class VertexMaps:
    """``shape`` and ``texture`` (V,) per-vertex MI in bits; ``vertices`` (V, 3) mm and
    ``triangles`` (F, 3) of the mean face they are drawn on; ``model`` the face model's name."""

    shape: np.ndarray
    texture: np.ndarray
    vertices: np.ndarray
    triangles: np.ndarray
    model: str

    def summary(self) -> dict:
        out = {"model": self.model, "vertices": int(self.shape.size), "units": "bits"}
        for c in ("shape", "texture"):
            m = getattr(self, c)
            out[c] = {"max": float(m.max()), "mean": float(m.mean()), "argmax_vertex": int(np.argmax(m))}
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


def vertex_information(response, delta, basis, identity, *, chunk: int = 2048) -> np.ndarray:
    """(V,) GCMI ``mi_gg(copnorm(delta @ basis[:, v]), cn_id(response))`` bits, in chunks of vertices."""
    rc = within_copnorm(np.asarray(response, np.float64), np.asarray(identity))[None]
    d = np.asarray(delta, np.float64)
    out = np.zeros(basis.shape[1])
    moving = np.flatnonzero(np.abs(basis).max(axis=0) > 0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tied values")
        for a in range(0, moving.size, chunk):
            idx = moving[a:a + chunk]
            out[idx] = mass.mi_gg(mass.copnorm((d @ basis[:, idx]).T), rc, biascorrect=True, demeaned=True)
    return out


def vertex_maps(model_ref: str, response, shape_delta, texture_delta, identity) -> VertexMaps:
    """Shape and texture per-vertex MI maps on the probe design's face model ``model_ref``."""
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
    return VertexMaps(vertex_information(response, ds, sb, identity), vertex_information(response, dt, tb, identity),
                      np.asarray(model.mean_shape, np.float64), np.asarray(model.triangles), model.name)


def draw_map(vertices: np.ndarray, triangles: np.ndarray, values: np.ndarray, path, title: str,
             vmax: float | None = None) -> None:
    """PNG of ``values`` (V,) on the mesh seen from the front (+z), painter's order, with a colour bar."""
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
    c = np.asarray(values, np.float64)[front].mean(axis=1)
    norm = matplotlib.colors.Normalize(0.0, vmax if vmax else max(float(np.max(values)), 1e-6))
    cmap = matplotlib.colormaps["inferno"]
    rgb = cmap(norm(c))
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

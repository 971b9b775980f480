"""A plain summary of a FaceModel, for ``facegen model info`` and manifests."""
from __future__ import annotations

from .types import FaceModel

__all__ = ["summarize"]


def summarize(m: FaceModel) -> dict:
    """Sizes, modes, expressions, factor levels, hash and provenance of ``m`` as a JSON-able dict."""
    extent = (m.mean_shape.max(axis=0) - m.mean_shape.min(axis=0)).round(1).tolist()
    info = {
        "name": m.name,
        "version": m.version,
        "sha256": m.sha256(),
        "vertices": m.n_vertices,
        "triangles": int(m.triangles.shape[0]),
        "extent_mm": extent,
        "shape_modes": m.n_shape,
        "texture_modes": m.n_texture,
        "texture_bands": None if m.texture_bands is None else int(len(set(m.texture_bands.tolist()))),
        "expression_units": len(m.expression_names),
        "expressions": sorted(m.expressions),
        "landmarks": m.landmarks is not None,
        "uvs": m.uvs is not None,
        "regions": sorted(m.regions),
    }
    if m.factors is not None:
        f = m.factors
        info.update(genders=list(f.genders), ethnicities=list(f.ethnicities), age_range=list(f.age_range),
                    albedo_gains=[k for k in ("gender", "ethnicity", "age")          # relative factor albedo
                                  if getattr(f, f"{k}_albedo_gain") is not None])
    info["provenance"] = m.provenance
    return info

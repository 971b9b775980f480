"""One sample and one shard: compose a face, render it, encode it, write the record.

Everything here is a pure function of (config, identity index, sample index), so a shard can be
produced by any process on any machine and comes out byte-identical.
"""
from __future__ import annotations

import json
import math
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import orjson

from . import __version__
from .design import DesignConfig, factor_values, identity_for, parse_config, sample_key
from .design.plan import ShardSpec
from .design.probe import probe_condition, probe_delta
from .model.fused import compose_face, expression_direction
from .model.lod import at_detail, auto_fraction
from .render.colour import LUMA
from .shards.encode import encode_image, encode_npy
from .shards.jsontext import landmarks_json

__all__ = ["SCHEMA", "backend_info", "Context", "context_for", "detail_fraction", "exposure", "render_samples",
           "sample_record"]

SCHEMA = "facegen.sample/1"


class GroupTerms(NamedTuple):
    """What a gender and ethnicity add to every face of the group: the ``shape`` (V, 3) and additive
    ``albedo`` (V, 3) offsets at the reference age (``FactorModel.offsets``) and the albedo ``gain``
    (``FactorModel.group_gain``; None for a model without gains)."""

    shape: np.ndarray
    albedo: np.ndarray
    gain: np.ndarray | None


@dataclass
class Context:
    """Per-process state for one design: the validated config, the model at the design's level of
    detail (``model_info`` names the full model), an identity cache."""

    cfg: DesignConfig
    model: object
    model_info: dict
    center: tuple[float, float, float]
    renderer: dict
    cache: OrderedDict
    groups: dict = field(default_factory=dict)
    expressions: dict = field(default_factory=dict)
    triangles: np.ndarray | None = None  # the model's, checked once for ``render_checked_mesh``
    landmarks: np.ndarray | None = None
    meter: np.ndarray | None = None  # vertices that ``exposure`` meters on (the face region, else all)
    meter_target: float = 1.0  # their mean albedo luminance on the model's mean face

    def group_terms(self, gender: str, ethnicity: str) -> GroupTerms:
        """What a gender and ethnicity add to a face (``GroupTerms``), cached per group."""
        key = (gender, ethnicity)
        if key not in self.groups:
            f = self.model.factors
            self.groups[key] = GroupTerms(*f.offsets(gender, ethnicity, f.age_reference), f.group_gain(gender, ethnicity))
        return self.groups[key]

    def expression(self, name: str) -> np.ndarray | None:
        """``expression_direction`` of ``name`` (V, 3) float64, cached per expression."""
        if name not in self.expressions:
            self.expressions[name] = expression_direction(self.model, name)
        return self.expressions[name]

    def identity(self, i: int):
        """(Identity, shape without factors (V,3), albedo without factors (V,3)), LRU-cached."""
        hit = self.cache.get(i)
        if hit is not None:
            self.cache.move_to_end(i)
            return hit
        ident = identity_for(self.cfg, self.model, i)
        entry = (ident, self.model.shape(ident.shape), self.model.albedo(ident.texture))
        self.cache[i] = entry
        if len(self.cache) > _cache_capacity(entry[1].nbytes + entry[2].nbytes):
            self.cache.popitem(last=False)
        return entry




def exposure(ctx: Context, albedo: np.ndarray) -> float:
    """The exposure of one face: 1 for ``render.exposure: fixed``; for ``face``,

        e = Y(mean face) / Y(this face),   Y(a) = mean over the metered vertices of LUMA . a_v

    (the metered vertices are the model's ``face`` region, or all when it has none), so that the
    face's mean albedo luminance renders as the mean face's would, as a camera's face metering
    exposes each portrait for its subject. The lights (directional and ambient) are scaled by e;
    the background keeps the design's value."""
    if ctx.cfg.exposure == "fixed":
        return 1.0
    y = float((albedo[ctx.meter] @ LUMA).mean())
    return ctx.meter_target / max(y, 1e-6)


def _cache_capacity(entry_bytes: int) -> int:
    """Identities the per-process cache keeps: ``FACEGEN_IDENTITY_CACHE_MB`` (default 1024) worth.

    Shards mix identities at random, so a cache smaller than the design's identity count misses
    often, and a miss (drawing and composing the person) costs about half a rendered image. The
    default holds xu2018's 2,000 embedded identities (0.25 MB each) with room to spare.
    """
    raw = os.environ.get("FACEGEN_IDENTITY_CACHE_MB", "1024")
    try:
        mb = float(raw)
    except ValueError:
        raise ValueError(f"FACEGEN_IDENTITY_CACHE_MB={raw!r}: expected a number of megabytes, e.g. 1024") from None
    return max(16, int(mb * 2**20 // max(entry_bytes, 1)))


def detail_fraction(cfg: DesignConfig, model) -> float:
    """The fraction of ``model``'s triangles that ``cfg``'s ``render.detail`` renders (``facegen.model.lod``)."""
    if cfg.detail == "auto":
        return auto_fraction(model.mean_shape, model.triangles, cfg.image_size)
    return 1.0 if cfg.detail == "full" else float(cfg.detail)


def backend_info(name: str, detail: float = 1.0, triangles: int | None = None) -> dict:
    """What a record says about the renderer: backend name, the versions that decide its pixels, and
    the level of detail of the mesh (fraction of the model's triangles, and their number), and the
    output encoding of the image bytes (sRGB of linear shading, ``facegen.render.colour``)."""
    import fast_simplification
    import numba

    version = f"facegen {__version__}, numba {numba.__version__}"
    if detail < 1.0:
        version += f", fast_simplification {fast_simplification.__version__}"
    return {"backend": name, "version": version, "detail": detail, "triangles": triangles, "encoding": "srgb"}


@lru_cache(maxsize=4)
def _context(cfg_json: str) -> Context:
    from .model import load_model

    cfg = parse_config(json.loads(cfg_json))
    full = load_model(cfg.model)
    lo, hi = full.mean_shape.min(axis=0), full.mean_shape.max(axis=0)
    detail = detail_fraction(cfg, full)
    model = at_detail(full, detail)  # faces are composed on the level's vertices only
    from .render.api import check_mesh_indices

    tris, lms = check_mesh_indices(model.triangles, model.landmarks, model.n_vertices)
    face = np.asarray(model.regions.get("face", ()), np.int64)
    meter = face if face.size else np.arange(model.n_vertices)
    mean_alb = np.asarray(model.mean_albedo, np.float64)
    if model.factors is not None:   # the mean face of the design's people: the factor offsets average out
        mean_alb = mean_alb + np.mean(model.factors.gender_albedo, 0) + np.mean(model.factors.ethnicity_albedo, 0)
    return Context(cfg=cfg, model=model, meter=meter, meter_target=float((mean_alb[meter] @ LUMA).mean()),
                   model_info={"name": full.name, "version": full.version, "sha256": full.sha256()},
                   center=tuple(float(c) for c in (lo + hi) / 2),
                   renderer=backend_info(cfg.backend, detail, len(model.triangles)), cache=OrderedDict(),
                   triangles=tris, landmarks=lms)


def context_for(cfg: DesignConfig) -> Context:
    """The cached Context of ``cfg`` in this process (the model loads once per process)."""
    return _context(json.dumps(cfg.to_dict(), sort_keys=True))


@dataclass(frozen=True)
class Face:
    """One composed face: who it is, the coefficients actually used, and the mesh to render."""

    ident: object
    age: float
    vertices: np.ndarray
    albedo: np.ndarray
    shape_coeffs: np.ndarray
    texture_coeffs: np.ndarray
    probe: dict | None


def _face(ctx: Context, i: int, s: int, vals: dict) -> Face:
    m, cfg = ctx.model, ctx.cfg
    ident, shape, albedo = ctx.identity(i)
    tex_ident = ident
    sc, tc = ident.shape, ident.texture
    cond = None
    if cfg.probe is not None:
        cond = probe_condition(cfg.probe, cfg.n_identities, i, s)
        if cond["kind"] == "cue_conflict":
            tex_ident, _, albedo = ctx.identity(cond["texture_identity"])
            tc = tex_ident.texture
        else:
            ds, dt = probe_delta(cfg.probe, cfg.seed, i, s, cond, m.n_shape, m.n_texture)
            if ds.any():
                sc = sc + ds
                shape = m.shape(sc)
            if dt.any():
                tc = tc + dt
                albedo = m.albedo(tc)
            if cond["kind"] == "revcorr":
                cond = {**cond, "shape_delta": [round(float(x), 6) for x in ds],
                        "texture_delta": [round(float(x), 6) for x in dt]}
    age = ident.base_age if math.isnan(vals["age"]) else float(vals["age"])
    factors = {}
    if m.factors is not None:
        f = m.factors
        lo, hi = f.age_range
        if not lo <= age <= hi:
            raise ValueError(f"age={age!r} is outside model {m.name!r}'s range [{lo}, {hi}] years")
        # the per-person part (gender + ethnicity) is cached; the sums are FactorModel.apply's; the
        # albedo's group terms are those of the identity the texture comes from
        tex_group = ctx.group_terms(tex_ident.gender, tex_ident.ethnicity)
        factors = dict(factor_shape=ctx.group_terms(ident.gender, ident.ethnicity).shape,
                       factor_albedo=tex_group.albedo, group_gain=tex_group.gain,
                       da=age - f.age_reference, age_shape=f.age_shape, age_albedo=f.age_albedo,
                       age_gain=f.age_albedo_gain, dy=age - lo)
    intensity = float(vals["expression_intensity"])
    if not 0.0 <= intensity <= 1.0:
        raise ValueError(f"expression_intensity={intensity!r} must be within [0, 1]")
    verts, alb = compose_face(shape, albedo, expression=ctx.expression(vals["expression"]), intensity=intensity,
                              **factors)
    return Face(ident, age, verts, alb, sc, tc, cond)


@lru_cache(maxsize=4096)
def _rounded_json(raw: bytes) -> orjson.Fragment:
    """float64 bytes -> the JSON list of the values rounded to 6 decimals (cached: an identity's
    coefficients recur in every one of its samples)."""
    return orjson.Fragment(orjson.dumps(np.round(np.frombuffer(raw, np.float64), 6).tolist()))


def sample_record(ctx: Context, i: int, s: int, vals: dict, face: Face, landmarks, split: str,
                  exposure: float = 1.0) -> dict:
    """The record of one sample (schema facegen.sample/1, see shared DESIGN.md), for ``orjson.dumps``:
    the coefficient and landmark lists are ``orjson.Fragment`` (JSON text made once per identity, and
    by ``facegen.shards.jsontext``). ``gender``, ``ethnicity``, ``base_age`` and ``age`` are null when
    the model has no factor model (they would change nothing in its images)."""
    c = ctx.cfg
    ident, age = face.ident, face.age
    rec = {
        "schema": SCHEMA, "identity": i, "sample": s, "seed": c.seed, "design": c.name, "split": split,
        "model": ctx.model_info,
        "gender": ident.gender, "ethnicity": ident.ethnicity, "base_age": round(ident.base_age, 4),
        "age": round(age, 4),
        "expression": vals["expression"], "expression_intensity": round(float(vals["expression_intensity"]), 6),
        "pose_deg": {k: round(float(vals[k]), 6) for k in ("yaw", "pitch", "roll")},
        "light": {"azimuth_deg": round(float(vals["light_azimuth"]), 6),
                  "elevation_deg": round(float(vals["light_elevation"]), 6),
                  "intensity": round(float(vals["light_intensity"]), 6),
                  "ambient": round(float(vals["ambient"]), 6), "exposure": round(exposure, 6)},
        "background": round(float(vals["background"]), 6),
        "scale": round(float(vals["scale"]), 6),
        "translation_px": [round(float(vals["translation_x"]), 4), round(float(vals["translation_y"]), 4)],
        "image_size": [c.image_size, c.image_size],
        "shape_coeffs": _rounded_json(np.asarray(face.shape_coeffs, np.float64).tobytes()),
        "texture_coeffs": _rounded_json(np.asarray(face.texture_coeffs, np.float64).tobytes()),
        "landmarks_2d": None if landmarks is None else landmarks_json(landmarks),
        "renderer": ctx.renderer,
        "generator": {"facegen": __version__},
    }
    if ctx.model.factors is None:  # gender, ethnicity and age did not shape this face: no labels, not false ones
        rec.update(gender=None, ethnicity=None, base_age=None, age=None)
    if face.probe is not None:
        rec["probe"] = face.probe
    return rec


def render_samples(cfg: DesignConfig, shard: ShardSpec):
    """Yield the WebDataset sample dicts of ``shard`` in order (key, image, json, extras)."""
    from .render import Camera, DirectionalLight, Lighting
    from .render.api import render_checked_mesh

    ctx = context_for(cfg)
    spi = cfg.samples_per_identity
    ids, smp = shard.samples // spi, shard.samples % spi
    # Python lists once per shard: per-sample numpy scalar indexing and conversion cost more
    cols = {k: a.tolist() for k, a in factor_values(cfg, ids, smp).items()}
    ids, smp = ids.tolist(), smp.tolist()
    want_mask, want_depth = "mask" in cfg.extras, "depth" in cfg.extras
    for j in range(len(ids)):
        i, s = ids[j], smp[j]
        v = {k: c[j] for k, c in cols.items()}
        face = _face(ctx, i, s, v)
        cam = Camera(yaw=float(v["yaw"]), pitch=float(v["pitch"]), roll=float(v["roll"]), scale=float(v["scale"]),
                     translation=(float(v["translation_x"]), float(v["translation_y"])), center=ctx.center)
        e = exposure(ctx, face.albedo)
        light = Lighting(lights=(DirectionalLight(azimuth=float(v["light_azimuth"]),
                                                  elevation=float(v["light_elevation"]),
                                                  intensity=float(v["light_intensity"]) * e),),
                         ambient=float(v["ambient"]) * e)
        bg = float(v["background"])
        out = render_checked_mesh(face.vertices, ctx.triangles, face.albedo, camera=cam, lighting=light,
                                  size=cfg.image_size, background=(bg, bg, bg), landmarks=ctx.landmarks,
                                  return_mask=want_mask, return_depth=want_depth, backend=cfg.backend)
        rec = sample_record(ctx, i, s, v, face, out.landmarks_2d, shard.split, e)
        item = {"__key__": sample_key(i, s), cfg.image_format: encode_image(out.image, cfg.image_format, cfg.quality),
                "json": orjson.dumps(rec)}
        if want_mask:
            item["mask.png"] = encode_image(out.mask.astype(np.uint8) * 255, "png")
        if want_depth:
            item["depth.npy"] = encode_npy(out.depth.astype(np.float32))
        if "coeffs" in cfg.extras:
            item["coeffs.npy"] = encode_npy(np.concatenate([face.shape_coeffs, face.texture_coeffs]).astype(np.float32))
        yield item

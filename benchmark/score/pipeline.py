"""Score one model on probe sets: run it, decide identities, compute every score.

``score(model, probes, gallery=..., settings=...)`` returns a :class:`ScoreResult`: the JSON-able
``scores`` dict that :mod:`.report` writes as scores.json, plus the arrays its figures need.
Which scores are computed depends on the probe kinds present:

* ``morph`` -> retention curves, d50_shape, d50_texture, morph information;
* ``cue_conflict`` -> shape bias;
* ``revcorr`` -> I_shape, I_texture, I_total, shape reliance (only where I_total beats its
  permutation null), per-coefficient information, per-vertex maps with their family-wise
  threshold (:mod:`.maps`, when the face model loads), hidden-layer profile (:mod:`.layers`, when
  the model exposes hidden layers).

``scores["warnings"]`` lists what makes a headline number unreadable, each
``{"code", "scores", "message"}``: ``low_accuracy_at_zero`` (the unmorphed faces are recognised
below :data:`.metrics.MIN_ACCURACY_AT_ZERO`, so d50 does not measure tolerance) and
``information_not_significant`` (shape reliance withheld).
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from . import information, metrics
from .adapters import ModelError, ScoreModel
from .decisions import Decisions, choose_rule, decide_argmax, decide_gallery
from .layers import pool_activation
from .probes import ProbeError, ProbeSet, decode_batch, render_gallery

__all__ = ["Settings", "ScoreResult", "score", "collect_outputs", "SCORES_SCHEMA"]

log = logging.getLogger(__name__)

SCORES_SCHEMA = "benchmark.scores/1"


@dataclass(frozen=True)
class Settings:
    """How scores are estimated: bootstrap replicates for counts (``n_boot``) and for information
    (``n_boot_mi``, each one reruns the estimator; the layer profile uses at most 100), permutations
    for the nulls (and for the maps' family-wise threshold), interval ``level``, significance level
    ``alpha`` of the tests behind shape reliance and the maps, one ``seed`` for every random draw;
    ``maps`` / ``layers`` switch those analyses; ``layer_pcs`` principal components per layer;
    ``batch_size`` images per model call."""

    n_boot: int = 1000
    n_boot_mi: int = 200
    n_perm: int = 1000
    level: float = 0.95
    alpha: float = metrics.ALPHA
    seed: int = 0
    batch_size: int = 128
    maps: bool = True
    layers: bool = True
    layer_pcs: int = 8
    progress: bool = False

    def __post_init__(self) -> None:
        for k in ("n_boot", "n_boot_mi", "n_perm", "batch_size", "layer_pcs"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"Settings.{k}: expected an integer >= 1, got {v!r}")
        if not 0.5 <= self.level < 1:
            raise ValueError(f"Settings.level: expected a number in [0.5, 1), got {self.level!r}")
        if isinstance(self.alpha, bool) or not isinstance(self.alpha, (int, float)) or not 0 < self.alpha < 0.5:
            raise ValueError(f"Settings.alpha: expected a significance level in (0, 0.5), got {self.alpha!r}")

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("n_boot", "n_boot_mi", "n_perm", "level", "alpha", "seed",
                                              "layer_pcs")}


@dataclass
class ScoreResult:
    """``scores``: the scores.json dict. ``arrays``: figure data (curves, coefficient MI, vertex
    MI maps, layer profile) keyed by name. ``model_info``/``probes``: provenance."""

    scores: dict
    arrays: dict = field(default_factory=dict)


def collect_outputs(model: ScoreModel, probe: ProbeSet, *, batch_size: int = 128, layers: tuple[str, ...] = (),
                    pool=None, progress: bool = False) -> dict[str, np.ndarray]:
    """Run ``model`` over every sample of ``probe``: ``{"output": (N, D), layer: (N, F)}`` (layers
    reduced per batch by ``pool(activation) -> (B, F)`` to bound memory)."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    parts: dict[str, list] = {}
    size = model.info.preprocess.image_size if model.needs_images else 0
    bar = tqdm(total=len(probe), desc=f"{probe.name}", unit="img", disable=not progress, leave=False)
    for a in range(0, len(probe), batch_size):
        keys = list(probe.keys[a:a + batch_size])
        imgs = decode_batch(probe.images[a:a + batch_size], size) if model.needs_images else None
        out = model.predict(probe.name, keys, imgs, layers)
        for k, v in out.items():
            parts.setdefault(k, []).append(pool(v) if pool is not None and k != "output" else v)
        bar.update(len(keys))
    bar.close()
    log.info("%s: ran the model on %d samples in %.1f s", probe.name, len(probe), time.perf_counter() - t0)
    res = {k: np.concatenate(v) for k, v in parts.items()}
    if res["output"].ndim != 2:
        raise ModelError(f"{model.info.source}: output has shape {res['output'].shape}; expected (N, D)")
    return res


def _decide(rule: str, classes, output: np.ndarray, ids, gallery_out) -> Decisions:
    if rule == "argmax":
        return decide_argmax(output, classes, ids)
    g_out, g_ids = gallery_out
    return decide_gallery(output, g_out, g_ids)


def _morph(probe, dec, s: Settings) -> tuple[dict, dict]:
    """Retention, d50 (each with its own accuracy at distance 0), morph information, accuracy_at_zero."""
    ident = probe.identity
    comp, dist = probe.probe_field("component"), probe.probe_field("distance").astype(float)
    correct = dec.decision == ident
    resp = dec.response(ident)
    out, arrays = {"retention": {}, "morph_information": {}}, {}
    for k, c in enumerate(("shape", "texture")):
        m = comp == c
        if not m.any():
            continue
        curve = metrics.retention_curve(correct[m], dist[m], ident[m], component=c, n_boot=s.n_boot,
                                        level=s.level, seed=s.seed + 10 + k)
        out["retention"][c] = curve.to_dict()
        out[f"d50_{c}"] = curve.d50.to_dict()
        arrays[f"curve_{c}"] = curve
        if np.unique(dist[m]).size > 1:
            out["morph_information"][f"I_{c}_distance"] = information.morph_information(
                resp[m], dist[m], ident[m], n_boot=s.n_boot_mi, n_perm=s.n_perm, level=s.level,
                seed=s.seed + 20 + k).to_dict()
    out["accuracy_at_zero"] = float(correct[dist == 0].mean()) if np.any(dist == 0) else None
    return out, arrays


def _warnings(sc: dict, n_candidates: int) -> list[dict]:
    """scores.json ``warnings`` (module doc) from the finished ``scores`` dict."""
    out = []
    msg = metrics.accuracy_warning(sc.get("accuracy_at_zero"), n_candidates)
    if msg:
        out.append({"code": "low_accuracy_at_zero", "scores": [k for k in ("d50_shape", "d50_texture") if k in sc],
                    "threshold": metrics.MIN_ACCURACY_AT_ZERO, "accuracy_at_zero": sc["accuracy_at_zero"],
                    "message": msg})
    rel = sc.get("shape_reliance")
    if isinstance(rel, dict) and rel.get("significant") is False:
        out.append({"code": "information_not_significant", "scores": ["shape_reliance"],
                    "p_perm_total": rel.get("p_perm_total"), "message": rel.get("reason", "")})
    return out


def _cue(probe, dec, s: Settings) -> dict:
    si, ti = probe.probe_field("shape_identity"), probe.probe_field("texture_identity")
    return {"shape_bias": metrics.shape_bias(dec.decision, si, ti, n_boot=s.n_boot, level=s.level,
                                             seed=s.seed + 30).to_dict()}


def _revcorr(probe, dec, s: Settings, outputs: dict, model: ScoreModel) -> tuple[dict, dict]:
    t0 = time.perf_counter()
    ident = probe.identity
    ds, dt = probe.probe_field("shape_delta").astype(float), probe.probe_field("texture_delta").astype(float)
    resp = dec.response(ident)
    info = information.information_scores(resp, ds, dt, ident, n_boot=s.n_boot_mi, n_perm=s.n_perm, level=s.level,
                                      alpha=s.alpha, seed=s.seed + 40)
    out = {**info.to_dict(),
           "coefficient_information": {
               "shape": information.coefficient_information(resp, ds, ident, n_perm=s.n_perm, seed=s.seed + 43),
               "texture": information.coefficient_information(resp, dt, ident, n_perm=s.n_perm, seed=s.seed + 44)}}
    arrays = {"information": info, "coefficient_information": out["coefficient_information"]}
    log.info("%s: information scores in %.1f s", probe.name, time.perf_counter() - t0)
    if s.maps:
        from .maps import MapError, vertex_maps

        try:
            maps = vertex_maps(probe.config.get("model", "embedded"), resp, ds, dt, ident, n_perm=s.n_perm,
                               alpha=s.alpha, seed=s.seed + 45)
            arrays["maps"] = maps
            out["maps"] = maps.summary()
        except MapError as e:
            log.warning("per-vertex maps skipped: %s", e)
            out["maps"] = {"skipped": str(e)}
        log.info("%s: per-vertex maps done at %.1f s", probe.name, time.perf_counter() - t0)
    layer_acts = {k: v for k, v in outputs.items() if k != "output"}
    if layer_acts:
        from .layers import layer_profile

        prof = layer_profile(layer_acts, ds, dt, ident, probe.pose("yaw"), n_pcs=s.layer_pcs,
                             n_boot=min(s.n_boot_mi, 100), level=s.level, seed=s.seed + 50)
        out["layers"] = prof
        arrays["layers"] = prof
        log.info("%s: layer profile done at %.1f s", probe.name, time.perf_counter() - t0)
    return out, arrays


def _who(p: ProbeSet) -> tuple:
    """What makes identity i the same person across designs: face model, seed, identities section."""
    c = p.config
    return c.get("model"), c.get("seed"), json.dumps(c.get("identities"), sort_keys=True)


def score(model: ScoreModel, probes: list[ProbeSet], *, gallery: ProbeSet | None = None, rule: str = "auto",
          settings: Settings = Settings()) -> ScoreResult:
    """Every score the probe kinds allow (module doc) for ``model``; see :mod:`.metrics` for formulas."""
    if not probes:
        raise ProbeError("score: no probe sets given; pass at least one --probe")
    kinds = [p.kind for p in probes]
    if len(set(kinds)) != len(kinds) or "gallery" in kinds:
        raise ProbeError(f"score: probe kinds {kinds}; give each of morph, cue_conflict, revcorr at most once")
    for p in [*probes[1:], *([gallery] if gallery is not None else [])]:
        if _who(p) != _who(probes[0]):
            raise ProbeError(f"score: {p.source} and {probes[0].source} define their identities differently "
                             f"(face model, seed or identities section); identity i must be the same person in "
                             f"every probe set: render them from presets on the same training design")
    ids = set()
    for p in probes:
        ids |= set(p.identity.tolist())
        if p.kind == "cue_conflict":
            ids |= set(p.probe_field("texture_identity").tolist())
    ids = sorted(ids)
    wanted = tuple(model.info.hidden_layers) if settings.layers else ()
    outputs = {}
    for p in probes:
        layers = wanted if p.kind == "revcorr" else ()
        outputs[p.kind] = collect_outputs(model, p, batch_size=settings.batch_size, layers=layers,
                                          pool=pool_activation, progress=settings.progress)
    classes = model.info.classes
    if classes is None and model.info.kind == "precomputed" and model.info.output_kind == "logits":
        classes = tuple(range(outputs[probes[0].kind]["output"].shape[1]))  # documented default order
    rule = choose_rule(rule, model.info.output_kind, classes, ids)
    gallery_out = None
    if rule == "gallery":
        if gallery is None:
            gallery = render_gallery(probes[0])
        g = collect_outputs(model, gallery, batch_size=settings.batch_size, progress=settings.progress)["output"]
        missing = sorted(set(ids) - set(gallery.identity.tolist()))
        if missing:
            raise ProbeError(f"score: the gallery lacks probe identities {missing[:8]}")
        gallery_out = (g, gallery.identity)
    scores: dict = {"schema": SCORES_SCHEMA, "model": {**model.info.to_dict(), "decision_rule": rule,
                                                       "classes": None if classes is None else list(classes)},
                    "probes": [p.summary() for p in probes], "settings": settings.to_dict(), "scores": {}}
    if gallery is not None and rule == "gallery":
        scores["gallery"] = gallery.summary()
    arrays: dict = {}
    for p in probes:
        t0 = time.perf_counter()
        dec = _decide(rule, classes, outputs[p.kind]["output"], ids, gallery_out)
        if p.kind == "morph":
            sc, ar = _morph(p, dec, settings)
            scores["scores"].update(sc)
            arrays.update(ar)
        elif p.kind == "cue_conflict":
            scores["scores"].update(_cue(p, dec, settings))
        else:
            sc, ar = _revcorr(p, dec, settings, outputs[p.kind], model)
            scores["scores"].update(sc)
            arrays.update(ar)
        log.info("%s: scored %d samples (%s decisions) in %.1f s", p.name, len(p), rule, time.perf_counter() - t0)
    scores["warnings"] = _warnings(scores["scores"], len(classes) if rule == "argmax" else len(ids))
    for w in scores["warnings"]:
        log.warning("%s", w["message"])
    return ScoreResult(scores, arrays)

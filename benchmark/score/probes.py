"""Probe sets for scoring: the samples of a facegen probe design, with the fields the scores need.

A probe set is a dataset written by ``facegen sample --preset probe-morph|probe-cue|probe-revcorr``
(or any design with a ``probe`` section), read from a folder, a manifest file or a manifest URL.
Every shard is checked against the manifest's sha256 before use.

The **gallery** of an embedding model is one canonical render per identity: the probe design with
its probe removed, one sample per identity, age = the identity's base age, neutral expression,
frontal pose and the default light of :data:`facegen.design.config.DEFAULT_FACTORS`
(:func:`gallery_config`). It is rendered in memory by :func:`render_gallery`, or read from a
folder written from that config.

This module is the one place the scorer touches shards (a small adapter over
:mod:`facegen.shards`), so a shared streaming loader can replace it without touching the scores.
"""
from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facegen.shards.manifest import ManifestError, manifest_location, shard_urls
from facegen.shards.tario import read_shard

__all__ = ["ProbeSet", "ProbeError", "read_probe_set", "gallery_config", "render_gallery", "manifest_sha256",
           "decode_batch"]

log = logging.getLogger(__name__)


class ProbeError(ValueError):
    """A probe set is missing, corrupt, or lacks what a score needs."""


@dataclass(frozen=True)
class ProbeSet:
    """The samples of one probe dataset, in manifest order.

    ``name``: the design name (e.g. ``probe-morph``); ``kind``: the probe kind (``morph``,
    ``cue_conflict``, ``revcorr``) or ``gallery`` for canonical renders; ``source``: where it was
    read; ``manifest_sha256``: sha256 of the manifest's canonical JSON (sorted keys, compact
    separators), which pins every shard by its own sha256; ``config``: the design dict;
    ``keys`` (N,) sample keys; ``records`` (N,) decoded JSON records; ``images`` (N,) encoded
    image bytes (decoded per batch by :func:`decode_batch`); ``image_size``: rendered side, px.
    """

    name: str
    kind: str
    source: str
    manifest_sha256: str
    config: dict
    keys: tuple[str, ...]
    records: tuple[dict, ...] = field(repr=False)
    images: tuple[bytes, ...] = field(repr=False)
    image_size: int = 0

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def identity(self) -> np.ndarray:
        """(N,) int identity index of each sample (for cue conflict: the shape donor)."""
        return np.array([r["identity"] for r in self.records], dtype=np.int64)

    def probe_field(self, name: str) -> np.ndarray:
        """(N,) or (N, K) array of the records' ``probe[name]`` values."""
        try:
            return np.array([r["probe"][name] for r in self.records])
        except KeyError:
            raise ProbeError(f"{self.source}: records lack probe field {name!r}; is this a "
                             f"{self.kind!r} probe set written by facegen >= the probe designs?") from None

    def pose(self, name: str = "yaw") -> np.ndarray:
        """(N,) float pose angle ``name`` (yaw, pitch, roll) in degrees."""
        return np.array([r["pose_deg"][name] for r in self.records], dtype=np.float64)

    def summary(self) -> dict:
        """JSON-able description (no samples) for scores.json."""
        return {"name": self.name, "kind": self.kind, "source": self.source,
                "manifest_sha256": self.manifest_sha256, "samples": len(self),
                "identities": int(np.unique(self.identity).size), "image_size": self.image_size}


def manifest_sha256(manifest: dict) -> str:
    """sha256 hex of ``json.dumps(manifest, sort_keys=True, separators=(',', ':'))``."""
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _read_bytes(loc: str) -> bytes:
    if "://" in loc and not loc.startswith("file://"):
        import urllib.request

        with urllib.request.urlopen(loc, timeout=120) as r:
            return r.read()
    return Path(loc.removeprefix("file://")).read_bytes()


def _samples(loc: str, sha256: str) -> list[dict]:
    data = _read_bytes(loc)
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        raise ProbeError(f"{loc}: sha256 {got} differs from the manifest's {sha256}; the shard is corrupt or "
                         f"was replaced: regenerate it with facegen sample")
    return read_shard(data)


def _image(s: dict, loc: str) -> bytes:
    for ext in ("png", "jpg", "jpeg"):
        if ext in s:
            return s[ext]
    raise ProbeError(f"{loc}: sample {s['__key__']} has no png/jpg image; has {sorted(s)}")


def _kind(cfg: dict) -> str:
    probe = cfg.get("probe")
    return probe["kind"] if isinstance(probe, dict) and "kind" in probe else "gallery"


def read_probe_set(source: str | Path, *, split: str | None = None) -> ProbeSet:
    """Read every sample of a probe dataset (folder, manifest file or URL), checking shard sha256s.

    ``split`` keeps one split (default: all). Raises :class:`ProbeError` when the manifest is
    incomplete or a shard does not match it.
    """
    try:
        m, urls = shard_urls(source, split)
    except ManifestError as e:
        raise ProbeError(str(e)) from None
    if not m.get("complete", False):
        raise ProbeError(f"{manifest_location(source)}: manifest is incomplete ({len(m['shards'])} of "
                         f"{m.get('planned_shards')} shards); finish the run (rerun facegen sample) before scoring")
    recs = [s for s in m["shards"] if split is None or s["split"] == split]
    keys, records, images = [], [], []
    for loc, r in zip(urls, recs):
        for s in _samples(loc, r["sha256"]):
            if "json" not in s:
                raise ProbeError(f"{loc}: sample {s['__key__']} has no json record")
            keys.append(s["__key__"])
            records.append(json.loads(s["json"]))
            images.append(_image(s, loc))
    cfg = m.get("config", {})
    size = int(cfg.get("render", {}).get("image_size", 0)) or (records[0]["image_size"][0] if records else 0)
    return ProbeSet(name=str(m.get("name", cfg.get("name", "probe"))), kind=_kind(cfg), source=str(source),
                    manifest_sha256=manifest_sha256(m), config=cfg, keys=tuple(keys), records=tuple(records),
                    images=tuple(images), image_size=size)


def gallery_config(probe_config: dict) -> dict:
    """The design dict (named ``gallery``) of the canonical gallery for a probe design: same model, seed and identities;
    one sample per identity at the identity's base age, neutral expression, every extrinsic factor
    at its default (frontal pose, default light, no scale/translation jitter), no probe."""
    raw = copy.deepcopy(probe_config)
    raw.pop("probe", None)
    raw["name"] = "gallery"
    raw["description"] = "Canonical renders (frontal, neutral, default light), one per identity."
    raw["samples"] = {"mode": "random", "per_identity": 1}
    raw["intrinsic"] = {"age": "base", "expression": "neutral", "expression_intensity": 1.0}
    raw["extrinsic"] = {}
    render = dict(raw.get("render", {}))
    render["extras"] = []
    raw["render"] = render
    raw["splits"] = {"by": "image", "fractions": {"gallery": 1.0}}
    return raw


def render_gallery(probe: ProbeSet) -> ProbeSet:
    """Render the canonical gallery of ``probe``'s identities in memory (needs the design's face model)."""
    from facegen.design import parse_config, plan_shards
    from facegen.sampler import render_samples

    raw = gallery_config(probe.config)
    cfg = parse_config(raw)
    keys, records, images = [], [], []
    for shard in plan_shards(cfg):
        for item in render_samples(cfg, shard):
            keys.append(item["__key__"])
            records.append(json.loads(item["json"]))
            images.append(item[cfg.image_format])
    digest = hashlib.sha256(json.dumps(cfg.to_dict(), sort_keys=True).encode()).hexdigest()
    log.info("rendered a gallery of %d canonical faces for %s", len(keys), probe.name)
    return ProbeSet(name=cfg.name, kind="gallery", source="rendered from " + probe.name,
                    manifest_sha256=digest, config=cfg.to_dict(), keys=tuple(keys), records=tuple(records),
                    images=tuple(images), image_size=cfg.image_size)


def decode_batch(images, size: int) -> np.ndarray:
    """Encoded images -> uint8 (B, size, size, 3) RGB; images of another side are resized bilinearly."""
    from PIL import Image

    out = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for k, data in enumerate(images):
        img = Image.open(io.BytesIO(data)).convert("RGB")
        if img.size != (size, size):
            img = img.resize((size, size), Image.Resampling.BILINEAR)
        out[k] = np.asarray(img)
    return out

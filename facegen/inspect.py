"""``facegen inspect``: check a dataset folder against its manifest and the record schema.

Reports every problem found (it does not stop at the first), counts per factor level, and a
contact sheet of the first images.
"""
from __future__ import annotations

import json
import tarfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from .datasets.facts import RECORD_GETTERS
from .sampler import SCHEMA
from .shards.encode import decode_image
from .shards.manifest import ManifestError, read_manifest
from .shards.tario import read_shard, sha256_file

__all__ = ["inspect_dataset", "check_record", "contact_sheet"]

_NONE = type(None)
# Record field -> the Python types allowed (gender, ethnicity and age are null in the records of a model
# without a factor model; counted as level 'n/a').
_FIELDS = {"schema": str, "identity": int, "sample": int, "seed": int, "model": dict, "gender": (str, _NONE),
           "ethnicity": (str, _NONE), "age": (int, float, _NONE), "expression": str,
           "expression_intensity": (int, float), "pose_deg": dict, "light": dict, "scale": (int, float),
           "translation_px": list, "image_size": list, "landmarks_2d": (list, _NONE), "renderer": dict,
           "split": str}
_COUNTED = {"split": lambda r: r["split"],
            **{k: RECORD_GETTERS[k] for k in ("gender", "ethnicity", "age", "expression", "yaw", "pitch",
                                              "light_azimuth", "light_elevation")}}
_LABELS = ("gender", "ethnicity", "base_age", "age")  # null together, or set together


def check_record(rec: dict, key: str) -> list[str]:
    """Problems with one sample record (empty list when valid)."""
    probs = []
    for f, t in _FIELDS.items():
        if f not in rec:
            probs.append(f"{key}: record lacks {f!r}")
        elif not isinstance(rec[f], t) or isinstance(rec[f], bool):
            probs.append(f"{key}: {f} = {rec[f]!r} has the wrong type")
    if probs:
        return probs
    labels = [f for f in _LABELS if f in rec]
    unset = [f for f in labels if rec[f] is None]
    if unset and len(unset) != len(labels):
        probs.append(f"{key}: {', '.join(unset)} null but {', '.join(f for f in labels if f not in unset)} set; "
                     "a record labels all of them (model with factors) or none (model without)")
    if rec["schema"] != SCHEMA:
        probs.append(f"{key}: schema {rec['schema']!r}, expected {SCHEMA!r}")
    if key != f"{rec['identity']:06d}_{rec['sample']:08d}":
        probs.append(f"{key}: key does not match identity {rec['identity']} / sample {rec['sample']}")
    lm = rec["landmarks_2d"]
    if lm is not None and (len(lm) != 68 or any(len(p) != 3 for p in lm)):
        probs.append(f"{key}: landmarks_2d must be 68 [x, y, visible] triples")
    return probs


def _levels(counts: Counter, n_max: int = 12) -> str:
    items = sorted(counts.items(), key=lambda kv: (str(type(kv[0])), kv[0]))
    if len(items) > n_max:
        vals = [k for k, _ in items]
        return f"{len(items)} distinct values in [{vals[0]}, {vals[-1]}]"
    return ", ".join(f"{k}: {v}" for k, v in items)


def inspect_dataset(d: Path, *, sheet: Path | None = None, sheet_count: int = 32) -> dict:
    """Validate folder ``d``; returns {"problems": [...], "counts": {...}, "samples": n, "text": str}."""
    problems: list[str] = []
    try:
        m = read_manifest(d)
    except ManifestError as e:
        return {"problems": [str(e)], "counts": {}, "samples": 0, "text": str(e)}
    counts: dict[str, Counter] = defaultdict(Counter)
    thumbs: list[np.ndarray] = []
    keys_seen: set[str] = set()
    n = 0
    per_shard = -(-sheet_count // max(1, len(m["shards"])))  # spread the sheet over every shard
    for s in m["shards"]:
        shard_thumbs = 0
        p = d / s["name"]
        if not p.is_file():
            problems.append(f"{s['name']}: listed in the manifest but missing")
            continue
        if p.stat().st_size != s["bytes"] or sha256_file(p) != s["sha256"]:
            problems.append(f"{s['name']}: size or sha256 differs from the manifest (corrupted or replaced)")
        try:
            members = _read_members(p)
        except (tarfile.TarError, OSError, EOFError) as e:
            problems.append(f"{s['name']}: unreadable tar: {e}")
            continue
        if len(members) != s["samples"]:
            problems.append(f"{s['name']}: {len(members)} samples, manifest says {s['samples']}")
        for key, files in members.items():
            n += 1
            if key in keys_seen:
                problems.append(f"{s['name']}: duplicate key {key}")
            keys_seen.add(key)
            img_ext = next((e for e in ("png", "jpg") if e in files), None)
            if img_ext is None or "json" not in files:
                problems.append(f"{s['name']}: {key} lacks an image (png/jpg) or its json record")
                continue
            try:
                rec = json.loads(files["json"])
            except ValueError:
                problems.append(f"{s['name']}: {key}.json is not valid JSON")
                continue
            rp = check_record(rec, key)
            problems += [f"{s['name']}: {x}" for x in rp]
            if rp:
                continue
            if rec["split"] != s["split"]:
                problems.append(f"{s['name']}: {key} has split {rec['split']!r}, shard is {s['split']!r}")
            for f, get in _COUNTED.items():
                v = get(rec)
                counts[f]["n/a" if v is None else v] += 1
            if len(thumbs) < sheet_count and shard_thumbs < per_shard and int(rec["sample"]) % 7 == 0:
                try:
                    thumbs.append(decode_image(files[img_ext]))
                    shard_thumbs += 1
                except OSError:
                    problems.append(f"{s['name']}: {key}.{img_ext} does not decode")
    if not m.get("complete", False):
        problems.append(f"manifest lists {len(m['shards'])} of {m.get('planned_shards')} planned shards "
                        "(incomplete run: rerun facegen sample to finish)")
    if sheet is not None and thumbs:
        contact_sheet(thumbs, sheet)
    lines = [f"{d}: {len(m['shards'])} shards, {n} samples, {len(problems)} problem(s)"]
    lines += [f"  {f:>16}: {_levels(c)}" for f, c in counts.items()]
    if sheet is not None and thumbs:
        lines.append(f"  contact sheet: {sheet}")
    return {"problems": problems, "samples": n, "text": "\n".join(lines),
            "counts": {f: {str(k): v for k, v in c.items()} for f, c in counts.items()}}


def _read_members(p: Path) -> dict[str, dict[str, bytes]]:
    out: dict[str, dict[str, bytes]] = {}
    for sample in read_shard(p):  # a key split across the tar shows up as a duplicate, reported by the caller
        key = sample.pop("__key__")
        out.setdefault(key, {}).update(sample)
    return out


def contact_sheet(images: list[np.ndarray], path: Path, cols: int = 8) -> Path:
    """Tile equally sized uint8 images into a grid PNG."""
    from PIL import Image

    h, w = images[0].shape[:2]
    rows = -(-len(images) // cols)
    sheet = np.full((rows * h, cols * w, 3), 255, np.uint8)
    for k, im in enumerate(images):
        if im.shape[:2] != (h, w):
            continue
        r, c = divmod(k, cols)
        sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] = im[..., :3]
    Image.fromarray(sheet).save(path)
    return path

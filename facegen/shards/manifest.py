"""The dataset manifest (``DIR/manifest.json``) and the per-shard progress records behind resuming.

A run records each finished shard in ``DIR/.facegen/parts/NAME.json`` right after the shard is
renamed into place; ``manifest.json`` is assembled from those records in run order. A shard counts
as done only when its file exists and its size and sha256 equal its record, so a truncated,
corrupted or foreign file is regenerated. No timestamps are written: equal runs give equal bytes.

Manifest layout (``facegen.manifest/1``)::

    {"schema": ..., "name": ..., "complete": bool, "planned_shards": int, "limit": int | null,
     "config": {...full design...}, "model": {"name", "version", "sha256"},
     "software": {...generate.byte_versions() (facegen, numpy, numba, pillow, simplejpeg,
                  fast_simplification, orjson), "python", "renderer"},
     "splits": {split: {"samples": n, "shards": k}},
     "shards": [{"name", "split", "index", "samples", "bytes", "sha256"}, ...]}
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from .tario import sha256_file

__all__ = ["SCHEMA", "write_json_atomic", "read_manifest", "parts_dir", "write_part", "read_part",
           "shard_is_done", "assemble_manifest", "ManifestError", "manifest_location", "shard_urls"]

SCHEMA = "facegen.manifest/1"


class ManifestError(ValueError):
    """A manifest is missing, unreadable or does not match the files."""


def write_json_atomic(path: Path, obj: Any) -> None:
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)


def parts_dir(out: Path) -> Path:
    return Path(out) / ".facegen" / "parts"


def write_part(out: Path, record: dict) -> None:
    d = parts_dir(out)
    d.mkdir(parents=True, exist_ok=True)
    write_json_atomic(d / (record["name"] + ".json"), record)


def read_part(out: Path, name: str) -> dict | None:
    p = parts_dir(out) / (name + ".json")
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def shard_is_done(out: Path, name: str, n_samples: int) -> dict | None:
    """The shard's record if its file matches it (size, sha256, sample count), else None."""
    rec = read_part(out, name)
    f = Path(out) / name
    if rec is None or not f.is_file() or rec.get("samples") != n_samples:
        return None
    if f.stat().st_size != rec.get("bytes") or sha256_file(f) != rec.get("sha256"):
        return None
    return rec


def assemble_manifest(out: Path, *, head: dict, planned: Iterable[str]) -> dict:
    """Write ``out/manifest.json`` from the part records of ``planned`` shards (run order)."""
    planned = list(planned)
    shards = [r for r in (read_part(out, n) for n in planned) if r is not None]
    splits: dict[str, dict] = {}
    for r in shards:
        s = splits.setdefault(r["split"], {"samples": 0, "shards": 0})
        s["samples"] += r["samples"]
        s["shards"] += 1
    manifest = {"schema": SCHEMA, **head, "complete": len(shards) == len(planned),
                "planned_shards": len(planned), "splits": splits, "shards": shards}
    write_json_atomic(Path(out) / "manifest.json", manifest)
    return manifest


def _is_url(source: str) -> bool:
    return "://" in source and not source.startswith("file://")


def manifest_location(source: str | Path) -> str:
    """The manifest file path or URL of a dataset folder, manifest file, or manifest URL."""
    s = str(source)
    if s.startswith("file://"):
        s = s[len("file://"):]
    if _is_url(s):
        return s
    p = Path(s)
    return str(p / "manifest.json") if p.is_dir() else str(p)


def read_manifest(source: str | Path) -> dict:
    """Load and sanity-check a manifest from a dataset folder, a manifest file, or an http(s) URL."""
    p = manifest_location(source)
    try:
        if _is_url(p):
            import urllib.request

            with urllib.request.urlopen(p, timeout=60) as r:
                text = r.read().decode()
        else:
            text = Path(p).read_text()
        m = json.loads(text)
    except OSError as e:
        raise ManifestError(f"{p}: cannot read manifest: {getattr(e, 'strerror', None) or e}") from None
    except ValueError as e:
        raise ManifestError(f"{p}: not valid JSON: {e}") from None
    if m.get("schema") != SCHEMA:
        raise ManifestError(f"{p}: schema {m.get('schema')!r}; expected {SCHEMA!r}")
    for i, s in enumerate(m.get("shards", [])):
        missing = {"name", "split", "samples", "bytes", "sha256"} - set(s)
        if missing:
            raise ManifestError(f"{p}: shards[{i}] lacks {sorted(missing)}")
    return m


def shard_urls(source: str | Path, split: str | None = None) -> tuple[dict, list[str]]:
    """(manifest, shard locations) for a dataset folder, manifest file or manifest URL.

    Shard names resolve relative to the manifest's location; ``split`` keeps one split's shards.
    Names that would escape the dataset folder (absolute, ``..``) are refused.
    """
    m = read_manifest(source)
    loc = manifest_location(source)
    base = loc.rsplit("/", 1)[0] if "/" in loc else "."
    splits = sorted({s["split"] for s in m["shards"]})
    if split is not None and split not in splits:
        raise ManifestError(f"{loc}: no split {split!r}; splits: {splits}")
    out = []
    for s in m["shards"]:
        name = s["name"]
        if name.startswith("/") or ".." in name.split("/") or "\\" in name:
            raise ManifestError(f"{loc}: shard name {name!r} escapes the dataset folder")
        if split is None or s["split"] == split:
            out.append(f"{base}/{name}")
    return m, out

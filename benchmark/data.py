"""One call from a dataset to samples: ``load(NAME_OR_URL_OR_DIR, split=...)``.

SOURCE is a release name from the registry (``facegen datasets list``; its manifest sha256 is
checked, so a changed or tampered release is refused), a manifest URL (``http(s)://``,
``file://``, ``hf://datasets/OWNER/NAME[@REV]``), a manifest file, or a dataset folder.

Three ways to read, chosen by the arguments:

* a local folder or file: read in place (``verify=True`` hashes each shard before reading it);
* a remote source with ``cache_dir``: downloaded once into ``cache_dir/NAME-SHA12`` with
  :func:`facegen.datasets.download` (verified, resumable; a verified shard is never fetched twice),
  then read locally;
* a remote source without ``cache_dir``: streamed over HTTP shard by shard. With ``verify=True``
  each shard is first fetched into a temporary file (resumed and retried like a download), its
  sha256 checked, and only then read, so no sample of an unverified shard is ever yielded.

The result is a ``webdataset.DataPipeline`` of dicts ``{"key", "url", "image", "record"}`` plus
``"mask"`` (uint8 H x W), ``"depth"`` (float32 H x W) and ``"coeffs"`` (float32) when the shards
carry them. ``image`` is uint8 H x W x 3 RGB (``decode=False``: the encoded bytes); ``record`` is
the sample's JSON record (schema ``facegen.sample/1``). Arrays load with ``allow_pickle=False``.
"""
from __future__ import annotations

import io
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from facegen.datasets.download import (DownloadError, RemoteManifest, ShardEntry, check_entries, download,
                                       fetch_file, fetch_manifest, open_with_retries, select_shards)
from facegen.datasets.registry import Registry, default_registry
from facegen.shards.tario import sha256_file

__all__ = ["load", "shard_sources", "resolve_source", "default_cache_dir", "decode_sample", "open_shards",
           "ShardIntegrityError"]

log = logging.getLogger(__name__)


class ShardIntegrityError(DownloadError):
    """A shard's bytes do not match the manifest's sha256 or size."""


@dataclass(frozen=True)
class _Resolved:
    location: str
    expected_sha256: str | None
    local: bool


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/facegen/datasets`` (default ``~/.cache/facegen/datasets``): pass it as ``cache_dir``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "facegen" / "datasets"


def resolve_source(source: str | Path, *, registry: Registry | None = None) -> _Resolved:
    """Where SOURCE's manifest is, the sha256 a registry pins for it (or None), and whether it is local."""
    s = str(source)
    if s.startswith("file://") or Path(s).exists():
        return _Resolved(s, None, True)
    if "://" in s:
        return _Resolved(s, None, False)
    rel = (registry or default_registry()).get(s)  # RegistryError names the known releases
    return _Resolved(rel.require_published(), rel.manifest_sha256, rel.require_published().startswith("file://"))


def shard_sources(source: str | Path, split: str | None = None, *, registry: Registry | None = None,
                  timeout: float = 30.0) -> tuple[RemoteManifest, list[ShardEntry]]:
    """(manifest, shard entries of ``split``) of SOURCE; hostile entries raise UnsafeManifestError."""
    r = resolve_source(source, registry=registry)
    rm = fetch_manifest(r.location, timeout=timeout, expected_sha256=r.expected_sha256)
    root = Path(tempfile.gettempdir()) / "facegen-path-check"  # names are checked as if saved under a folder
    return rm, select_shards(check_entries(rm, root), split=split)


def open_shards(data: Iterator[dict], *, entries: dict[str, ShardEntry], verify: bool, headers=(),
                timeout: float = 30.0, retries: int = 5) -> Iterator[dict]:
    """Pipeline stage: ``{"url"}`` -> ``{"url", "stream"}``, verifying each shard first when ``verify``."""
    for sample in data:
        url = sample["url"]
        e = entries[url]
        local = not url.startswith(("http://", "https://"))
        if not verify:
            stream = open_with_retries(url, timeout=timeout, retries=retries, headers=headers)
            try:
                yield dict(sample, stream=stream)
            finally:
                stream.close()
            continue
        if local:
            if os.path.getsize(url) != e.bytes or sha256_file(url) != e.sha256:
                raise ShardIntegrityError(f"{url}: size or sha256 differs from the manifest; refusing to read it")
            with open(url, "rb") as fh:
                yield dict(sample, stream=fh)
            continue
        with tempfile.TemporaryDirectory(prefix="facegen-shard-") as tmp:
            path = Path(tmp) / "shard.tar"
            try:
                fetch_file(e, path, retries=retries, timeout=timeout, headers=headers)
            except DownloadError as ex:
                raise ShardIntegrityError(str(ex)) from None
            with open(path, "rb") as fh:
                yield dict(sample, stream=fh)


def _npy(b: bytes) -> np.ndarray:
    return np.load(io.BytesIO(b), allow_pickle=False)


def _img(b: bytes, mode: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(b)).convert(mode))


def decode_sample(sample: dict, *, decode: bool = True) -> dict:
    """A raw WebDataset sample -> ``{"key", "url", "image", "record", ["mask", "depth", "coeffs"]}``."""
    ext = next((e for e in ("png", "jpg") if e in sample), None)
    if ext is None or "json" not in sample:
        raise ShardIntegrityError(f"{sample.get('__url__')}: sample {sample.get('__key__')} lacks an image or record")
    out = {"key": sample["__key__"], "url": sample.get("__url__"), "record": json.loads(sample["json"]),
           "image": _img(sample[ext], "RGB") if decode else sample[ext]}
    if "mask.png" in sample:
        out["mask"] = _img(sample["mask.png"], "L") if decode else sample["mask.png"]
    for k in ("depth", "coeffs"):
        if f"{k}.npy" in sample:
            out[k] = _npy(sample[f"{k}.npy"]) if decode else sample[f"{k}.npy"]
    return out


def load(source: str | Path, split: str | None = None, *, cache_dir: str | Path | None = None,
         verify: bool = False, decode: bool = True, registry: Registry | None = None,
         shuffle_shards: bool = False, seed: int = 0, timeout: float = 30.0, workers: int = 4,
         progress: bool = False):
    """A ``webdataset.DataPipeline`` over SOURCE's samples (one ``split`` or all); see module docstring.

    ``shuffle_shards`` shuffles shard order with ``seed``; shards are split across DataLoader
    workers and nodes (``split_by_node``, ``split_by_worker``), so each sample is read once per epoch.
    """
    rm, entries = shard_sources(source, split, registry=registry, timeout=timeout)
    import webdataset as wds  # after the checks: it imports torch, which takes seconds
    from webdataset import tariterators

    local = not rm.base.startswith(("http://", "https://"))
    if cache_dir is not None and not local:
        folder = Path(cache_dir) / f"{rm.manifest.get('name', 'dataset')}-{rm.sha256[:12]}"
        download(rm, folder, split=split, verify=verify, timeout=timeout, workers=workers, progress=progress)
        entries = [ShardEntry(e.name, e.split, e.samples, e.bytes, e.sha256, str(folder / e.name)) for e in entries]
        verify = False  # every shard in the cache was verified before it got its name
    by_url = {e.url: e for e in entries}
    stages = [wds.SimpleShardList([e.url for e in entries])]
    if shuffle_shards:
        stages.append(wds.detshuffle(bufsize=max(len(entries), 1), seed=seed))
    stages += [wds.split_by_node, wds.split_by_worker,
               lambda src: open_shards(src, entries=by_url, verify=verify, headers=rm.headers, timeout=timeout),
               tariterators.tar_file_expander, tariterators.group_by_keys,
               wds.map(lambda s: decode_sample(s, decode=decode))]
    return wds.DataPipeline(*stages)

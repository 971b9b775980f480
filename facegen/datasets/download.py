"""Download a released dataset: every shard its manifest lists, verified, resumable, in parallel.

A SOURCE is a manifest URL (``http://``, ``https://``, ``file://``, ``hf://datasets/...``), a
manifest file, or a dataset folder. Shard names resolve relative to the manifest's location.

Nothing reaches its final name unverified: each shard is written to ``NAME.part``, resumed with an
HTTP ``Range`` request after a dropped connection, checked against the manifest's size and sha256,
fsynced, and only then renamed to ``NAME``. A file under its final name is therefore either absent
or one that passed verification (``verify=True`` re-hashes such files anyway). Dropped connections,
timeouts, 408/429 and 5xx answers are retried with exponential backoff; a server that ignores
``Range`` is handled by starting the file over; a file whose sha256 fails is fetched again from
scratch (at most ``refetch`` times). A manifest whose entries would land outside the output folder
(absolute paths, ``..``, backslashes, hidden names), or that declares impossible sizes, is refused
before any byte is written.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from typing import BinaryIO, Callable

from .. import __version__
from ..shards.manifest import SCHEMA, write_json_atomic
from ..shards.tario import sha256_file
from .entries import (MAX_MANIFEST_BYTES, MAX_SHARD_BYTES, RESERVED_NAMES, DownloadError, RemoteManifest,
                      ShardEntry, UnsafeManifestError, check_entries, is_http, safe_target, select_shards)

__all__ = ["DownloadError", "UnsafeManifestError", "ShardEntry", "RemoteManifest", "DownloadResult",
           "fetch_manifest", "open_with_retries", "check_entries", "safe_target", "select_shards", "fetch_file",
           "download", "open_location", "MAX_SHARD_BYTES", "MAX_MANIFEST_BYTES", "RESERVED_NAMES"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 16


class _Transient(Exception):
    """A failure worth retrying: dropped connection, timeout, 408/429/5xx, short read."""


class _RangeNotSatisfiable(_Transient):
    """HTTP 416: the partial file is not a prefix of what the server has; start it over."""


@dataclass
class DownloadResult:
    """What :func:`download` did: shard names fetched, already present, and the manifest."""

    out: Path
    manifest: RemoteManifest
    fetched: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- locations and opening

_is_http = is_http


def _local_path(loc: str) -> Path:
    if loc.startswith("file://"):
        return Path(urllib.request.url2pathname(urllib.parse.urlparse(loc).path))
    return Path(loc)


def _resolve_source(source: str | Path) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """(manifest location, base location, headers) of a SOURCE."""
    s = str(source)
    headers: tuple[tuple[str, str], ...] = ()
    if s.startswith("hf://"):
        from .hf import hf_manifest_url

        s, hdrs = hf_manifest_url(s)
        headers = tuple(sorted(hdrs.items()))
    if _is_http(s):
        return s, s.rsplit("/", 1)[0], headers
    if "://" in s and not s.startswith("file://"):
        raise ValueError(f"source {source!r}: unsupported scheme; expected http://, https://, file://, "
                         "hf://datasets/..., a manifest file or a dataset folder")
    p = _local_path(s)
    if p.is_dir():
        p = p / "manifest.json"
    return str(p), str(p.parent), headers


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows redirects, but never sends credentials to another host (as ``requests`` does)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_RedirectHandler)


def open_location(loc: str, *, offset: int = 0, timeout: float = 30.0,
                  headers: tuple[tuple[str, str], ...] = ()) -> tuple[BinaryIO, int, int | None]:
    """Open a URL or path for reading from byte ``offset``: (stream, status, start).

    ``status`` is the HTTP status (200 for local files); ``start`` the first byte the stream holds
    (``offset`` when the server honoured Range or for local files, 0 when it sent the whole file).
    HTTP errors that are worth retrying raise ``_Transient``; others raise DownloadError.
    """
    if not _is_http(loc):
        try:
            fh = open(_local_path(loc), "rb")
        except OSError as e:
            raise DownloadError(f"{loc}: {e.strerror or e}") from None
        fh.seek(offset)
        return fh, 200, offset
    req = urllib.request.Request(loc, headers={"User-Agent": f"facegen/{__version__}", **dict(headers)})
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    try:
        resp = _OPENER.open(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code in (408, 429) or e.code >= 500:
            raise _Transient(f"HTTP {e.code} from {loc}") from None
        if e.code == 416:
            raise _RangeNotSatisfiable(f"HTTP 416 (range {offset}- not satisfiable) from {loc}") from None
        raise DownloadError(f"{loc}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, HTTPException, OSError) as e:
        raise _Transient(f"{loc}: {getattr(e, 'reason', None) or e}") from None
    if resp.status == 206:
        m = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
        return resp, 206, int(m.group(1)) if m else None
    return resp, resp.status, 0


def _with_retries(what: str, fn: Callable, *, retries: int, backoff: float):
    for attempt in range(retries + 1):
        try:
            return fn()
        except _Transient as e:
            if attempt == retries:
                raise DownloadError(f"{what}: giving up after {retries + 1} attempts; last error: {e}") from None
            delay = min(backoff * 2 ** attempt, 30.0) * (1 + 0.25 * random.random())
            log.info("%s: %s; retrying in %.2f s", what, e, delay)
            time.sleep(delay)


def open_with_retries(loc: str, *, timeout: float = 30.0, retries: int = 5, backoff: float = 0.5,
                      headers: tuple[tuple[str, str], ...] = ()) -> BinaryIO:
    """A stream of the whole file at ``loc``, retrying the connection (not a drop mid-stream)."""
    return _with_retries(loc, lambda: open_location(loc, timeout=timeout, headers=headers)[0],
                         retries=retries, backoff=backoff)


def fetch_manifest(source: str | Path, *, timeout: float = 30.0, retries: int = 5, backoff: float = 0.5,
                   expected_sha256: str | None = None) -> RemoteManifest:
    """Fetch and parse the manifest of SOURCE; ``expected_sha256`` (a registry's) is checked first."""
    loc, base, headers = _resolve_source(source)

    def get() -> bytes:
        try:
            stream, _, _ = open_location(loc, timeout=timeout, headers=headers)
        except DownloadError as e:
            raise DownloadError(f"{e} (expected a dataset folder with manifest.json, a manifest file or a "
                                "manifest URL)") from None
        try:
            data = stream.read(MAX_MANIFEST_BYTES + 1)
        except (HTTPException, OSError) as e:
            raise _Transient(f"{loc}: {e}") from None
        finally:
            stream.close()
        if len(data) > MAX_MANIFEST_BYTES:
            raise UnsafeManifestError(f"{loc}: manifest larger than {MAX_MANIFEST_BYTES} bytes; refused")
        return data

    raw = _with_retries(f"manifest {loc}", get, retries=retries, backoff=backoff)
    digest = hashlib.sha256(raw).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        raise DownloadError(f"{loc}: manifest sha256 is {digest}, the registry expects {expected_sha256}: "
                            "the release was changed or tampered with; refusing it")
    try:
        m = json.loads(raw)
    except ValueError as e:
        raise DownloadError(f"{loc}: manifest is not valid JSON: {e}") from None
    if not isinstance(m, dict) or m.get("schema") != SCHEMA:
        got = m.get("schema") if isinstance(m, dict) else type(m).__name__
        raise DownloadError(f"{loc}: manifest schema {got!r}; expected {SCHEMA!r}")
    if not isinstance(m.get("shards"), list):
        raise DownloadError(f"{loc}: manifest has no 'shards' list")
    return RemoteManifest(location=loc, base=base, manifest=m, raw=raw, sha256=digest, headers=headers)


# ---------------------------------------------------------------- one file

def _transfer(e: ShardEntry, part: Path, *, timeout: float, headers, progress: Callable[[int], None]) -> None:
    """Append the missing bytes of ``e`` to ``part`` (restarting it if the server ignores Range)."""
    have = part.stat().st_size if part.exists() else 0
    try:
        stream, status, start = open_location(e.url, offset=have, timeout=timeout, headers=headers)
    except _RangeNotSatisfiable:
        part.unlink(missing_ok=True)
        progress(-have)
        raise
    try:
        if start != have:  # Range ignored (200): start over
            if start != 0:
                raise _Transient(f"{e.url}: Content-Range starts at {start}, asked for {have}")
            log.info("%s: server ignored Range (resume from byte %d); restarting the file", e.name, have)
            progress(-have)
            have = 0
        with open(part, "r+b" if have else "wb") as fh:
            fh.seek(have)
            fh.truncate()
            while have < e.bytes:
                try:
                    block = stream.read(min(_CHUNK, e.bytes - have))
                except (HTTPException, OSError) as ex:
                    raise _Transient(f"{e.url}: connection dropped at byte {have}: {ex}") from None
                if not block:
                    raise _Transient(f"{e.url}: stream ended at byte {have} of {e.bytes}")
                fh.write(block)
                have += len(block)
                progress(len(block))
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        stream.close()


def fetch_file(e: ShardEntry, final: Path, *, retries: int = 5, backoff: float = 0.5, timeout: float = 30.0,
               refetch: int = 2, headers: tuple[tuple[str, str], ...] = (),
               progress: Callable[[int], None] = lambda n: None) -> None:
    """Fetch ``e`` into ``final`` via ``final.part``: resume, retry, verify size and sha256, rename."""
    part = final.with_name(final.name + ".part")
    final.parent.mkdir(parents=True, exist_ok=True)
    if part.exists() and part.stat().st_size <= e.bytes:
        progress(part.stat().st_size)  # bytes a previous run already fetched count as done
    for round_ in range(refetch + 1):
        if part.exists() and part.stat().st_size > e.bytes:
            part.unlink()  # never counted
        if not part.exists() or part.stat().st_size < e.bytes:  # a whole .part only needs checking
            _with_retries(e.name, lambda: _transfer(e, part, timeout=timeout, headers=headers, progress=progress),
                          retries=retries, backoff=backoff)
        if part.stat().st_size == e.bytes and sha256_file(part) == e.sha256:
            os.replace(part, final)
            return
        log.warning("%s: sha256 differs from the manifest; fetching it again (%d/%d)", e.name, round_ + 1, refetch)
        progress(-e.bytes)
        part.unlink()
    raise DownloadError(f"{e.name}: sha256 still differs from the manifest after {refetch + 1} full downloads; "
                        f"the file at {e.url} is not the one the manifest lists")


# ---------------------------------------------------------------- the whole download

def download(source: "str | Path | RemoteManifest", out: str | Path, *, split: str | None = None,
             shards: str | None = None,
             workers: int = 4, verify: bool = False, retries: int = 5, backoff: float = 0.5,
             timeout: float = 30.0, refetch: int = 2, progress: bool = True,
             expected_manifest_sha256: str | None = None, max_shard_bytes: int = MAX_SHARD_BYTES) -> DownloadResult:
    """Download the shards of SOURCE into ``out`` and write ``out/manifest.json``; see module docstring.

    A shard already under its final name with the manifest's size counts as present (it was only
    renamed there after verification); ``verify=True`` re-hashes it and re-fetches it on mismatch.
    Raises UnsafeManifestError (hostile manifest, nothing written), ValueError (bad ``split`` /
    ``shards``) or DownloadError (after every other shard finished).
    """
    if workers < 1:
        raise ValueError(f"workers={workers}: must be >= 1")
    out = Path(out)
    if isinstance(source, RemoteManifest):  # already fetched (and checked) by the caller
        rm = source
        if expected_manifest_sha256 is not None and rm.sha256 != expected_manifest_sha256:
            raise DownloadError(f"{rm.location}: manifest sha256 is {rm.sha256}, expected "
                                f"{expected_manifest_sha256}: the release was changed or tampered with")
        source = rm.location
    else:
        rm = fetch_manifest(source, timeout=timeout, retries=retries, backoff=backoff,
                            expected_sha256=expected_manifest_sha256)
    if not _is_http(rm.base) and Path(rm.base).resolve() == out.resolve():
        raise ValueError(f"--out {out} is the source folder itself; choose another folder")
    entries = select_shards(check_entries(rm, out, max_shard_bytes=max_shard_bytes), split=split, shards=shards)
    res = DownloadResult(out=out, manifest=rm)
    todo = []
    for e in entries:
        final = safe_target(out, e.name)
        if final.is_file() and final.stat().st_size == e.bytes and (not verify or sha256_file(final) == e.sha256):
            res.present.append(e.name)
            continue
        if final.exists():
            log.warning("%s: present but %s; fetching it again", e.name,
                        "its sha256 differs" if final.stat().st_size == e.bytes else "its size differs")
            final.unlink()
        todo.append(e)
    need = sum(e.bytes for e in todo)
    out.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out).free
    if need > free:
        raise UnsafeManifestError(f"{rm.location}: the selected shards need {need:,} bytes; {out} has "
                                  f"{free:,} free. Select fewer with --split / --shards")
    from tqdm import tqdm

    lock = threading.Lock()
    bar = tqdm(total=need, unit="B", unit_scale=True, unit_divisor=1024, disable=not progress,
               desc=f"facegen download {rm.manifest.get('name', '')}".rstrip(), dynamic_ncols=True)

    def tick(n: int) -> None:
        with lock:
            bar.update(n)

    def one(e: ShardEntry):
        try:
            fetch_file(e, safe_target(out, e.name), retries=retries, backoff=backoff, timeout=timeout,
                       refetch=refetch, headers=rm.headers, progress=tick)
            return e.name, None
        except DownloadError as ex:
            return e.name, ex

    failed = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for name, err in pool.map(one, todo):
            if err is None:
                res.fetched.append(name)
            else:
                failed.append(str(err))
    bar.close()
    if failed:
        raise DownloadError(f"{len(failed)} of {len(entries)} shards failed:\n  " + "\n  ".join(failed))
    tmp = out / f"manifest.json.tmp-{os.getpid()}"
    tmp.write_bytes(rm.raw)
    os.replace(tmp, out / "manifest.json")
    (out / ".facegen").mkdir(exist_ok=True)
    write_json_atomic(out / ".facegen" / "download.json",
                      {"source": str(source), "manifest": rm.location, "manifest_sha256": rm.sha256,
                       "split": split, "shards": shards, "files": [e.name for e in entries]})
    log.info("%s: %d shards fetched, %d already present", out, len(res.fetched), len(res.present))
    return res

"""Download a released dataset: every shard its manifest lists, verified, resumable, in parallel.

A SOURCE is a manifest URL (``http://``, ``https://``, ``file://``, ``hf://datasets/...``), a
manifest file, or a dataset folder. Shard names resolve relative to the manifest's location.

Nothing reaches its final name unverified: each shard is written to ``NAME.part``, resumed with an
HTTP ``Range`` request after a dropped connection, checked against the manifest's size and sha256,
fsynced, and only then moved over ``NAME`` with ``os.replace`` (atomic). A file under its final
name is therefore either absent or one that passed verification, and a file already there is
never deleted or truncated: at most replaced, in one step, by a verified one. Dropped connections,
timeouts, 408/429 and 5xx answers are retried with exponential backoff; a server that ignores
``Range`` is handled by starting the file over; a file whose sha256 fails is fetched again from
scratch (at most ``refetch`` times).

A manifest is untrusted input, checked as a whole before any shard byte is fetched or any file
written (:func:`check_entries`): names that would land outside the output folder (absolute paths,
``..``, backslashes, hidden names, symlinked escapes), that could not all be written side by side
(:func:`facegen.datasets.layout.check_names`: a file ``a.tar`` beside a folder ``a.tar/``, names
equal but for case, a folder ``manifest.json/``, ``.part`` components, control characters, over
NAME_MAX or PATH_MAX), impossible sizes, more than MAX_MANIFEST_BYTES, JSON nested too deep to
parse. Shards already in the folder that the new manifest lists with another size or sha256 (a
previous release, or someone's data) are left alone unless ``replace=True``.

``timeout`` bounds every connect and read; ``deadline`` the whole call, a trickling server
included (:mod:`facegen.datasets.transport`). The default, ``"auto"``, allows 600 s for the
manifest, then 600 s plus the bytes still to fetch at 256 KiB/s. When it passes, verified shards
stay, partial files stay as ``NAME.part``, and the same call resumes them. Credentials (a Hugging
Face token) go only to the origin they were given for, and never over plain http to another machine.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from typing import Callable

from .._safe_text import safe_text
from ..shards.manifest import SCHEMA, write_json_atomic
from ..shards.tario import sha256_file
from . import entries as _entries
from .entries import (MAX_MANIFEST_BYTES, MAX_SHARD_BYTES, RESERVED_NAMES, DownloadError, RemoteManifest,
                      ShardEntry, UnsafeManifestError, is_http, safe_target, select_shards)
from .layout import PART_SUFFIX, ExistingDataError, check_names, existing_ancestor, plan
from .transport import (Deadline, DeadlineExceeded, _deadline, _local_path, _RangeNotSatisfiable, _Transient,
                        _with_retries, credentials_allowed, open_location, open_with_retries)

__all__ = ["DownloadError", "UnsafeManifestError", "ExistingDataError", "DeadlineExceeded", "Deadline",
           "ShardEntry", "RemoteManifest", "DownloadResult", "fetch_manifest", "open_with_retries", "check_entries",
           "check_names", "safe_target", "select_shards", "fetch_file", "download", "open_location",
           "credentials_allowed", "MAX_SHARD_BYTES", "MAX_MANIFEST_BYTES", "RESERVED_NAMES", "AUTO_DEADLINE_BASE_S",
           "AUTO_DEADLINE_MIN_RATE", "PART_SUFFIX"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 16
AUTO_DEADLINE_BASE_S = 600.0  # "auto": seconds for the manifest, and again on top of the shards' share
AUTO_DEADLINE_MIN_RATE = 256 * 1024  # "auto": bytes/s the shards may not fall below on average
_is_http = is_http


def _show(text: object, limit: int = 100) -> str:
    """``repr`` of untrusted text, escaped and cut for a message."""
    return safe_text(repr(text), limit=limit)


@dataclass
class DownloadResult:
    """What :func:`download` did: shard names fetched (``replaced``: those that replaced a file the
    previous manifest listed otherwise), already present, and the manifest."""

    out: Path
    manifest: RemoteManifest
    fetched: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)


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
        raise ValueError(f"source {_show(str(source))}: unsupported scheme; expected http://, https://, file://, "
                         "hf://datasets/..., a manifest file or a dataset folder")
    p = _local_path(s)
    if p.is_dir():
        p = p / "manifest.json"
    return str(p), str(p.parent), headers


# ---------------------------------------------------------------- the manifest

def _parse_json(raw: bytes, where: str):
    try:
        return json.loads(raw)
    except RecursionError:
        raise UnsafeManifestError(f"{where}: manifest nests lists or objects deeper than the JSON parser can follow "
                                  "(a facegen manifest nests a few levels); refused") from None
    except ValueError as e:
        raise DownloadError(f"{where}: manifest is not valid JSON: {safe_text(e, limit=200)}") from None


def fetch_manifest(source: str | Path, *, timeout: float = 30.0, retries: int = 5, backoff: float = 0.5,
                   expected_sha256: str | None = None,
                   deadline: "Deadline | float | str | None" = "auto") -> RemoteManifest:
    """Fetch and parse the manifest of SOURCE; ``expected_sha256`` (a registry's) is checked first.

    At most MAX_MANIFEST_BYTES are read; ``deadline`` ('auto': 600 s, seconds, a Deadline or None)
    bounds the whole fetch with its retries.
    """
    loc, base, headers = _resolve_source(source)
    shown = safe_text(loc)
    dl, own = _deadline(deadline, AUTO_DEADLINE_BASE_S, f"auto: {AUTO_DEADLINE_BASE_S:.0f} s for the manifest")

    def get() -> bytes:
        try:
            stream, _, _ = open_location(loc, timeout=timeout, headers=headers, deadline=dl)
        except DeadlineExceeded:
            dl.check(f"manifest {shown}")
            raise
        except DownloadError as e:
            raise DownloadError(f"{e} (expected a dataset folder with manifest.json, a manifest file or a "
                                "manifest URL)") from None
        try:
            data = stream.read(MAX_MANIFEST_BYTES + 1)
        except (HTTPException, OSError) as e:
            raise _Transient(f"{shown}: {safe_text(e, limit=200)}") from None
        finally:
            stream.close()
        if dl is not None:
            dl.check(f"manifest {shown}")
        if len(data) > MAX_MANIFEST_BYTES:
            raise UnsafeManifestError(f"{shown}: manifest larger than {MAX_MANIFEST_BYTES:,} bytes; refused")
        return data

    try:
        raw = _with_retries(f"manifest {shown}", get, retries=retries, backoff=backoff, deadline=dl)
    finally:
        if own:
            dl.close()
    digest = hashlib.sha256(raw).hexdigest()
    if expected_sha256 is not None and digest != expected_sha256:
        raise DownloadError(f"{shown}: manifest sha256 is {digest}, the registry expects {expected_sha256}: "
                            "the release was changed or tampered with; refusing it")
    m = _parse_json(raw, shown)
    if not isinstance(m, dict) or m.get("schema") != SCHEMA:
        got = m.get("schema") if isinstance(m, dict) else type(m).__name__
        raise DownloadError(f"{shown}: manifest schema {_show(got)}; expected {SCHEMA!r}")
    if not isinstance(m.get("shards"), list):
        raise DownloadError(f"{shown}: manifest has no 'shards' list")
    return RemoteManifest(location=loc, base=base, manifest=m, raw=raw, sha256=digest, headers=headers)


def check_entries(rm: RemoteManifest, out: Path, *, max_shard_bytes: int = MAX_SHARD_BYTES) -> list[ShardEntry]:
    """Validate the whole manifest (names together: :func:`check_names`; then each entry's path, size,
    sha256 and duplicates: :func:`facegen.datasets.entries.check_entries`) before anything is written."""
    check_names(rm, out)
    return _entries.check_entries(rm, out, max_shard_bytes=max_shard_bytes)


# ---------------------------------------------------------------- one file

def _transfer(e: ShardEntry, part: Path, *, timeout: float, headers, progress: Callable[[int], None],
              deadline: Deadline | None = None) -> None:
    """Append the missing bytes of ``e`` to ``part`` (restarting it if the server ignores Range)."""
    have = part.stat().st_size if part.exists() else 0
    try:
        stream, status, start = open_location(e.url, offset=have, timeout=timeout, headers=headers, deadline=deadline)
    except _RangeNotSatisfiable:
        part.unlink(missing_ok=True)
        progress(-have)
        raise
    try:
        if start != have:  # Range ignored (200): start over
            if start != 0:
                raise _Transient(f"{safe_text(e.url)}: Content-Range starts at {start}, asked for {have}")
            log.info("%s: server ignored Range (resume from byte %d); restarting the file", e.name, have)
            progress(-have)
            have = 0
        with open(part, "r+b" if have else "wb") as fh:
            fh.seek(have)
            fh.truncate()
            while have < e.bytes:
                where = f"{e.name}: byte {have:,} of {e.bytes:,}"
                if deadline is not None:
                    deadline.check(where)
                try:
                    block = stream.read(min(_CHUNK, e.bytes - have))
                except (HTTPException, OSError) as ex:
                    if deadline is not None:
                        deadline.check(where)
                    raise _Transient(f"{safe_text(e.url)}: connection dropped at byte {have}: "
                                     f"{safe_text(ex, limit=200)}") from None
                if not block:
                    if deadline is not None:
                        deadline.check(where)
                    raise _Transient(f"{safe_text(e.url)}: stream ended at byte {have} of {e.bytes}")
                fh.write(block)
                have += len(block)
                progress(len(block))
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        stream.close()


def fetch_file(e: ShardEntry, final: Path, *, retries: int = 5, backoff: float = 0.5, timeout: float = 30.0,
               refetch: int = 2, headers: tuple[tuple[str, str], ...] = (),
               progress: Callable[[int], None] = lambda n: None,
               deadline: "Deadline | float | str | None" = "auto") -> None:
    """Fetch ``e`` into ``final`` via ``final.part``: resume, retry, verify size and sha256, then
    ``os.replace`` over ``final`` (a file already there stays until then). ``deadline``: 'auto'
    (600 s plus the file at 256 KiB/s), seconds, a shared Deadline, or None."""
    dl, own = _deadline(deadline, AUTO_DEADLINE_BASE_S + e.bytes / AUTO_DEADLINE_MIN_RATE,
                        f"auto: {AUTO_DEADLINE_BASE_S:.0f} s + {e.bytes:,} bytes at 256 KiB/s")
    try:
        _fetch_file(e, final, retries=retries, backoff=backoff, timeout=timeout, refetch=refetch, headers=headers,
                    progress=progress, deadline=dl)
    finally:
        if own:
            dl.close()


def _fetch_file(e, final, *, retries, backoff, timeout, refetch, headers, progress, deadline) -> None:
    part = final.with_name(final.name + PART_SUFFIX)
    final.parent.mkdir(parents=True, exist_ok=True)
    if part.exists() and part.stat().st_size <= e.bytes:
        progress(part.stat().st_size)  # bytes a previous run already fetched count as done
    for round_ in range(refetch + 1):
        if part.exists() and part.stat().st_size > e.bytes:
            part.unlink()  # never counted
        if not part.exists() or part.stat().st_size < e.bytes:  # a whole .part only needs checking
            _with_retries(e.name, lambda: _transfer(e, part, timeout=timeout, headers=headers, progress=progress,
                                                    deadline=deadline),
                          retries=retries, backoff=backoff, deadline=deadline)
        if part.stat().st_size == e.bytes and sha256_file(part) == e.sha256:
            os.replace(part, final)
            return
        log.warning("%s: sha256 differs from the manifest; fetching it again (%d/%d)", e.name, round_ + 1, refetch)
        progress(-e.bytes)
        part.unlink()
    raise DownloadError(f"{e.name}: sha256 still differs from the manifest after {refetch + 1} full downloads; "
                        f"the file at {safe_text(e.url)} is not the one the manifest lists")


# ---------------------------------------------------------------- the whole download

def download(source: "str | Path | RemoteManifest", out: str | Path, *, split: str | None = None,
             shards: str | None = None,
             workers: int = 4, verify: bool = False, retries: int = 5, backoff: float = 0.5,
             timeout: float = 30.0, refetch: int = 2, progress: bool = True,
             expected_manifest_sha256: str | None = None, max_shard_bytes: int = MAX_SHARD_BYTES,
             replace: bool = False, deadline: "float | str | None" = "auto") -> DownloadResult:
    """Download the shards of SOURCE into ``out`` and write ``out/manifest.json``; see module docstring.

    A shard already under its final name with the manifest's size counts as present (it was only
    renamed there after verification); ``verify=True`` re-hashes it and re-fetches it on mismatch.
    ``replace=True`` allows replacing shards the previous ``out/manifest.json`` (or none) lists
    otherwise. ``timeout`` bounds each connect and read; ``deadline`` ('auto', seconds, or None for
    no limit) the whole call. Raises UnsafeManifestError (hostile manifest; ExistingDataError: data
    in ``out`` in the way; nothing fetched or written), ValueError (bad ``split`` / ``shards``),
    DeadlineExceeded or DownloadError (after every other shard finished).
    """
    if workers < 1:
        raise ValueError(f"workers={workers}: must be >= 1")
    out = Path(out)
    if os.path.lexists(out) and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    explicit, own = _deadline(None if deadline == "auto" else deadline, 0, "")
    try:
        return _download(source, out, split=split, shards=shards, workers=workers, verify=verify, retries=retries,
                         backoff=backoff, timeout=timeout, refetch=refetch, progress=progress,
                         expected=expected_manifest_sha256, max_shard_bytes=max_shard_bytes, replace=replace,
                         explicit=explicit, auto=deadline == "auto")
    finally:
        if own:
            explicit.close()


def _download(source, out: Path, *, split, shards, workers, verify, retries, backoff, timeout, refetch, progress,
              expected, max_shard_bytes, replace, explicit: Deadline | None, auto: bool) -> DownloadResult:
    if isinstance(source, RemoteManifest):  # already fetched (and checked) by the caller
        rm = source
        if expected is not None and rm.sha256 != expected:
            raise DownloadError(f"{rm.location}: manifest sha256 is {rm.sha256}, expected "
                                f"{expected}: the release was changed or tampered with")
        source = rm.location
    else:
        rm = fetch_manifest(source, timeout=timeout, retries=retries, backoff=backoff, expected_sha256=expected,
                            deadline="auto" if auto else explicit)
    if not _is_http(rm.base) and Path(rm.base).resolve() == out.resolve():
        raise ValueError(f"--out {out} is the source folder itself; choose another folder")
    entries = select_shards(check_entries(rm, out, max_shard_bytes=max_shard_bytes), split=split, shards=shards)
    res = DownloadResult(out=out, manifest=rm)
    res.present, todo, res.replaced = plan(entries, out, verify=verify, replace=replace)
    need = sum(e.bytes for e in todo)
    free = shutil.disk_usage(existing_ancestor(out)).free
    if need > free:
        raise UnsafeManifestError(f"{safe_text(rm.location)}: the selected shards need {need:,} bytes; {out} has "
                                  f"{free:,} free. Select fewer with --split / --shards")
    dl = explicit
    if auto:
        dl = Deadline(AUTO_DEADLINE_BASE_S + need / AUTO_DEADLINE_MIN_RATE,
                      f"auto: {AUTO_DEADLINE_BASE_S:.0f} s + {need:,} bytes at 256 KiB/s")
    try:
        _fetch_all(rm, out, todo, res, workers=workers, retries=retries, backoff=backoff, timeout=timeout,
                   refetch=refetch, progress=progress, deadline=dl, n_selected=len(entries), need=need)
    finally:
        if auto:
            dl.close()
    (out / ".facegen").mkdir(exist_ok=True)
    tmp = out / ".facegen" / f"manifest.json.tmp-{os.getpid()}"  # hidden: no shard name can be this
    tmp.write_bytes(rm.raw)
    os.replace(tmp, out / "manifest.json")
    write_json_atomic(out / ".facegen" / "download.json",
                      {"source": str(source), "manifest": rm.location, "manifest_sha256": rm.sha256,
                       "split": split, "shards": shards, "files": [e.name for e in entries]})
    log.info("%s: %d shards fetched (%d replaced), %d already present", out, len(res.fetched), len(res.replaced),
             len(res.present))
    return res


def _fetch_all(rm: RemoteManifest, out: Path, todo: list[ShardEntry], res: DownloadResult, *, workers, retries,
               backoff, timeout, refetch, progress, deadline: Deadline | None, n_selected: int, need: int) -> None:
    from tqdm import tqdm

    out.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    got = [0]
    title = safe_text(rm.manifest.get("name", ""), limit=60) if isinstance(rm.manifest.get("name"), str) else ""
    bar = tqdm(total=need, unit="B", unit_scale=True, unit_divisor=1024, disable=not progress,
               desc=f"facegen download {title}".rstrip(), dynamic_ncols=True)

    def tick(n: int) -> None:
        with lock:
            got[0] += n
            bar.update(n)

    def one(e: ShardEntry):
        try:
            if deadline is not None:
                deadline.check(e.name)
            fetch_file(e, safe_target(out, e.name), retries=retries, backoff=backoff, timeout=timeout,
                       refetch=refetch, headers=rm.headers, progress=tick, deadline=deadline)
            return e.name, None
        except DownloadError as ex:
            return e.name, ex

    failed, late = [], 0
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for name, err in pool.map(one, todo):
            if err is None:
                res.fetched.append(name)
            elif isinstance(err, DeadlineExceeded):
                late += 1
            else:
                failed.append(str(err))
    bar.close()
    others = ("; other failures:\n  " + "\n  ".join(failed)) if failed else ""
    if late:
        raise DeadlineExceeded(f"{safe_text(rm.location)}: the overall deadline of {deadline.describe()} passed with "
                               f"{len(res.fetched)} of {len(todo)} shards to fetch verified ({max(got[0], 0):,} of "
                               f"{need:,} bytes fetched). Nothing unverified got a shard name: partial files stay as "
                               f"NAME{PART_SUFFIX} and the next run resumes them. Rerun the same command, or give a "
                               f"longer --deadline{others}")
    if failed:
        raise DownloadError(f"{len(failed)} of {n_selected} shards failed:\n  " + "\n  ".join(failed))

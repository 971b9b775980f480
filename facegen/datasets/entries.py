"""Manifest entries: the types, and the checks that keep a hostile manifest from writing anywhere.

A manifest is untrusted input. Before anything is written, every entry's name must be a relative
path that stays inside the output folder (no ``..``, absolute paths, backslashes, drive letters,
hidden or reserved names, symlinked escapes), its size an integer in [0, MAX_SHARD_BYTES], its
sha256 64 hex digits, and names unique.
"""
from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DownloadError", "UnsafeManifestError", "ShardEntry", "RemoteManifest", "safe_target", "check_entries",
           "select_shards", "is_http", "MAX_SHARD_BYTES", "MAX_MANIFEST_BYTES", "RESERVED_NAMES"]

MAX_SHARD_BYTES = 1 << 40  # 1 TiB: any shard the manifest says is bigger is refused as hostile
MAX_MANIFEST_BYTES = 256 << 20
RESERVED_NAMES = ("manifest.json", "datasheet.md", "croissant.json")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class DownloadError(RuntimeError):
    """A shard or manifest could not be fetched and verified (after the allowed retries)."""


class UnsafeManifestError(ValueError):
    """A manifest entry would write outside the output folder, or declares an impossible size."""


@dataclass(frozen=True)
class ShardEntry:
    """One manifest entry to fetch: ``url`` its location, ``bytes`` its size, ``sha256`` hex digest."""

    name: str
    split: str
    samples: int
    bytes: int
    sha256: str
    url: str


@dataclass(frozen=True)
class RemoteManifest:
    """A fetched manifest: where it came from, its parsed content, its exact bytes and their sha256.

    ``base`` is the location shard names resolve against (a URL or folder, no trailing slash);
    ``headers`` are sent with every request for this source (e.g. a Hugging Face token).
    """

    location: str
    base: str
    manifest: dict
    raw: bytes
    sha256: str
    headers: tuple[tuple[str, str], ...] = ()


def is_http(loc: str) -> bool:
    return loc.startswith(("http://", "https://"))


# ---------------------------------------------------------------- validation of entries

def safe_target(out: Path, name: object) -> Path:
    """The path of shard ``name`` inside ``out``; raises UnsafeManifestError if it could escape it."""
    if not isinstance(name, str) or not name:
        raise UnsafeManifestError(f"shard name {name!r}: expected a non-empty relative path")
    bad = (name.startswith(("/", "\\")) or "\\" in name or re.match(r"^[A-Za-z]:", name)
           or any(ord(c) < 32 for c in name))
    parts = name.split("/")
    if bad or any(p in ("", ".", "..") or p.startswith(".") or len(p) > 255 for p in parts):
        raise UnsafeManifestError(f"shard name {name!r} would land outside the output folder or in a hidden "
                                  "file; names must be relative paths without '..', '.', leading dots, "
                                  "backslashes or drive letters")
    if name in RESERVED_NAMES or name.endswith(".part"):
        raise UnsafeManifestError(f"shard name {name!r} is reserved ({', '.join(RESERVED_NAMES)}, *.part)")
    root = Path(out).resolve()
    target = (root / name).resolve()
    if root not in target.parents:
        raise UnsafeManifestError(f"shard name {name!r} resolves to {target}, outside {root} (a symlink?)")
    return root / name


def check_entries(rm: RemoteManifest, out: Path, *, max_shard_bytes: int = MAX_SHARD_BYTES) -> list[ShardEntry]:
    """Validate every manifest entry (path, size, sha256, duplicates) before anything is written."""
    entries, seen = [], set()
    for i, s in enumerate(rm.manifest["shards"]):
        where = f"{rm.location}: shards[{i}]"
        if not isinstance(s, dict):
            raise UnsafeManifestError(f"{where}: expected an object, got {type(s).__name__}")
        safe_target(out, s.get("name"))
        name = s["name"]
        if name in seen:
            raise UnsafeManifestError(f"{where}: shard name {name!r} appears twice")
        seen.add(name)
        size, n = s.get("bytes"), s.get("samples")
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= max_shard_bytes:
            raise UnsafeManifestError(f"{where} ({name}): size {size!r} bytes; expected an integer in "
                                      f"[0, {max_shard_bytes}]")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise UnsafeManifestError(f"{where} ({name}): samples {n!r}; expected an integer >= 0")
        digest = s.get("sha256")
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise UnsafeManifestError(f"{where} ({name}): sha256 {digest!r}; expected 64 lowercase hex digits")
        split = s.get("split")
        if not isinstance(split, str) or not split:
            raise UnsafeManifestError(f"{where} ({name}): split {split!r}; expected a name")
        url = f"{rm.base}/{urllib.parse.quote(name)}" if is_http(rm.base) else str(Path(rm.base) / name)
        entries.append(ShardEntry(name=name, split=split, samples=n, bytes=size, sha256=digest, url=url))
    return entries


def select_shards(entries: list[ShardEntry], *, split: str | None = None,
                  shards: str | None = None) -> list[ShardEntry]:
    """Keep one split's entries (``split``), then the slice ``shards`` 'A:B' of what is left."""
    if split is not None:
        splits = sorted({e.split for e in entries})
        if split not in splits:
            raise ValueError(f"--split {split!r}: the manifest has splits {splits}")
        entries = [e for e in entries if e.split == split]
    if shards is not None:
        n = len(entries)
        try:
            a, b = shards.split(":")
            a, b = (int(a) if a else 0), (int(b) if b else n)
        except ValueError:
            raise ValueError(f"--shards {shards!r}: expected A:B with integers, e.g. 0:4") from None
        if not 0 <= a < b <= n:
            raise ValueError(f"--shards {shards!r}: {n} shards selected; need 0 <= A < B <= {n}")
        entries = entries[a:b]
    return entries

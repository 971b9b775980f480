"""Where a manifest's shards will go: the names taken together, and what is already in the folder.

:func:`check_names` refuses a manifest whose shard names cannot all be written side by side
(collisions between a file and a folder, names equal but for case, over NAME_MAX or PATH_MAX,
control characters, ``.part`` components, a folder named ``manifest.json``). :func:`plan` sorts
the selected shards against the output folder without changing it: present (keep), to fetch,
and to replace; data a previous manifest put there with other contents is only replaced on
request, and a non-file in a shard's way is always refused. Both run before any shard byte is
fetched or any file written.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import unicodedata
from pathlib import Path

from .._safe_text import safe_text
from ..shards.tario import sha256_file
from .entries import MAX_MANIFEST_BYTES, RESERVED_NAMES, RemoteManifest, ShardEntry, UnsafeManifestError, safe_target

__all__ = ["ExistingDataError", "check_names", "plan", "existing_ancestor", "PART_SUFFIX"]

log = logging.getLogger(__name__)

PART_SUFFIX = ".part"  # a shard's temporary file is NAME.part beside it; no manifest name may end so


class ExistingDataError(UnsafeManifestError):
    """The output folder holds files this manifest would replace (pass ``replace=True``) or a non-file
    (a folder, say) where a shard must go. Raised before anything is fetched or changed."""


def _show(text: object, limit: int = 100) -> str:
    """``repr`` of untrusted text, escaped and cut for a message."""
    return safe_text(repr(text), limit=limit)


# ---------------------------------------------------------------- names, as a whole

_KINDS = {"Cc": "a control character", "Cf": "an invisible format character", "Cs": "a lone surrogate",
          "Zl": "a line separator", "Zp": "a paragraph separator"}
_BAD_CATEGORIES = tuple(_KINDS)


def _fold(name: str) -> str:
    """The key under which a case-insensitive, normalising filesystem (macOS, Windows) sees ``name``."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())


def existing_ancestor(p: Path) -> Path:
    """``p`` made absolute, or its nearest parent that exists (for disk usage and limits)."""
    p = Path(os.path.abspath(p))
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _fs_limits(out: Path) -> tuple[int, int]:
    """(NAME_MAX, PATH_MAX) in bytes where ``out`` is, capped at the portable 255 and 4096."""
    where = existing_ancestor(out)
    limits = []
    for key, default in (("PC_NAME_MAX", 255), ("PC_PATH_MAX", 4096)):
        try:
            limits.append(min(os.pathconf(where, key), default))
        except (OSError, ValueError, AttributeError):
            limits.append(default)
    return limits[0], limits[1]


def check_names(rm: RemoteManifest, out: Path) -> None:
    """Refuse the manifest if its shard names, taken together, cannot all be written under ``out``.

    Each name must be printable (no control, format or separator characters), fit the filesystem
    (every component at most NAME_MAX bytes and the whole path under PATH_MAX, both counting the
    ``.part`` suffix of its temporary file), have no component ending ``.part``, not use a reserved
    name (``manifest.json`` ...) as a folder, and not collide with another name: a file that
    another name needs as a folder (``a.tar`` and ``a.tar/b.tar``), or names that differ only by
    case or Unicode normalisation (one file on macOS and Windows). Entries that are not objects
    with a string name are left to :func:`facegen.datasets.entries.check_entries` to word.
    """
    root = Path(out).resolve()  # as safe_target joins it
    name_max, path_max = _fs_limits(root)
    names: dict[str, str] = {}  # folded name -> name
    dirs: dict[str, str] = {}  # folded folder -> a name inside it
    suffix = len(PART_SUFFIX)
    for i, s in enumerate(rm.manifest["shards"]):
        if not isinstance(s, dict) or not isinstance(s.get("name"), str) or not s["name"]:
            continue
        name, where = s["name"], f"{safe_text(rm.location)}: shards[{i}]"
        bad = next((c for c in name if unicodedata.category(c) in _BAD_CATEGORIES), None)
        if bad is not None:
            label = " ".join(filter(None, [f"U+{ord(bad):04X}", unicodedata.name(bad, "")]))
            raise UnsafeManifestError(f"{where}: shard name {_show(name)} contains {label}, "
                                      f"{_KINDS[unicodedata.category(bad)]}; names may hold printable characters only")
        try:
            encoded = [os.fsencode(p) for p in name.split("/")]
        except UnicodeEncodeError:
            raise UnsafeManifestError(f"{where}: shard name {_show(name)} cannot be a file name here (filesystem "
                                      f"encoding {sys.getfilesystemencoding()})") from None
        parts = name.split("/")
        for p, b in zip(parts, encoded):
            if p.endswith(PART_SUFFIX):
                raise UnsafeManifestError(f"{where}: shard name {_show(name)}: {_show(p, 60)} ends with "
                                          f"{PART_SUFFIX!r}, reserved for the download's temporary files")
            if len(b) + suffix > name_max:
                raise UnsafeManifestError(f"{where}: shard name {_show(name)}: a component of {len(b):,} bytes; at "
                                          f"most {name_max - suffix} allowed (the filesystem's NAME_MAX {name_max}, "
                                          f"less {suffix} for the {PART_SUFFIX!r} of its temporary file)")
        total = len(os.fsencode(str(root))) + 1 + len(os.fsencode(name)) + suffix
        if total >= path_max:
            raise UnsafeManifestError(f"{where}: shard name {_show(name)} ({len(os.fsencode(name)):,} bytes) makes a "
                                      f"path of {total:,} bytes under {safe_text(root)}; the filesystem's PATH_MAX is "
                                      f"{path_max} (less one, with the {PART_SUFFIX!r} of its temporary file)")
        if len(parts) > 1 and parts[0] in RESERVED_NAMES:
            raise UnsafeManifestError(f"{where}: shard name {_show(name)} uses {parts[0]!r} as a folder; "
                                      f"{', '.join(RESERVED_NAMES)} are the dataset's own files")
        key = _fold(name)
        if key in names and names[key] != name:
            raise UnsafeManifestError(f"{where}: shard names {_show(names[key])} and {_show(name)} differ only by "
                                      "case or Unicode normalisation: one file on macOS and Windows")
        if key in dirs:
            raise UnsafeManifestError(f"{where}: shard name {_show(name)} is a file, but {_show(dirs[key])} needs it "
                                      "as a folder")
        names.setdefault(key, name)  # an exact repeat is worded by check_entries ("appears twice")
        for k in range(1, len(parts)):
            d = _fold("/".join(parts[:k]))
            if d in names:
                raise UnsafeManifestError(f"{where}: shard name {_show(name)} needs {_show(names[d])} as a folder, "
                                          "but that is another shard's file name")
            dirs.setdefault(d, name)


# ---------------------------------------------------------------- what is already in --out

def _previous_entries(out: Path) -> dict[str, tuple]:
    """name -> (bytes, sha256) as listed by ``out/manifest.json`` (the manifest of the last finished
    download or generation there), or {} when there is none or it cannot be read."""
    p = out / "manifest.json"
    if not p.is_file():
        return {}
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ValueError("too large")
        m = json.loads(raw)
        return {s["name"]: (s.get("bytes"), s.get("sha256")) for s in m["shards"]
                if isinstance(s, dict) and isinstance(s.get("name"), str)}
    except (OSError, ValueError, RecursionError, KeyError, TypeError) as ex:
        log.warning("%s: unreadable (%s); the files beside it count as unknown", p, safe_text(ex, limit=100))
        return {}


def _blocker(root: Path, final: Path) -> str | None:
    """Why a shard cannot be written at ``final`` whatever the options (a non-file in its way), or None."""
    rel = final.relative_to(root)
    p = root
    for part in rel.parts[:-1]:
        p = p / part
        if os.path.lexists(p) and not p.is_dir():
            return f"{p.relative_to(root)} is a file, but shard {rel} needs it as a folder"
    for q in (final, final.with_name(final.name + PART_SUFFIX)):
        if os.path.lexists(q) and not q.is_file():
            return f"{q.relative_to(root)} exists and is not a regular file"
    return None


def plan(entries: list[ShardEntry], out: Path, *, verify: bool, replace: bool) -> tuple[list, list, list]:
    """(present names, entries to fetch, names of those that will replace other data); reads only.

    A shard already in ``out`` is present when it has the manifest's size (and sha256, with
    ``verify``). One that differs is fetched again (and replaced once verified) when the previous
    manifest in ``out`` listed it as this one does (it was damaged); otherwise it is another
    release's or someone's data, and needs ``replace``. A non-file in a shard's way is always refused.
    """
    prev = _previous_entries(out)
    root = Path(out).resolve()
    present, todo, conflicts, blocked = [], [], [], []
    for own, kind in (("manifest.json", "file"), (".facegen", "folder"), (".facegen/download.json", "file")):
        q = root / own  # the download's own files, written at the end
        if os.path.lexists(q) and not (q.is_file() if kind == "file" else q.is_dir()):
            blocked.append(f"{own} exists and is not a {'regular file' if kind == 'file' else 'folder'}")
    for e in entries:
        final = safe_target(out, e.name)
        why = _blocker(root, final)
        if why:
            blocked.append(why)
            continue
        if not final.is_file():
            todo.append(e)
            continue
        size, old = final.stat().st_size, prev.get(e.name)
        listed = f"this manifest: {e.bytes:,} bytes, sha256 {e.sha256[:12]}..."
        if old is not None and tuple(old) != (e.bytes, e.sha256):
            if size == e.bytes and sha256_file(final) == e.sha256:
                present.append(e.name)
            else:
                conflicts.append((e, f"{e.name} (here: {size:,} bytes, as {out}/manifest.json lists it; {listed})"))
            continue
        if size == e.bytes and (not verify or sha256_file(final) == e.sha256):
            present.append(e.name)
        elif old is None:
            other = ", another sha256" if size == e.bytes else ""
            conflicts.append((e, f"{e.name} (here: {size:,} bytes{other}, not listed in {out}/manifest.json; {listed})"))
        else:
            log.warning("%s: its %s differs from the manifest it was verified against; fetching it again (the file "
                        "stays until its replacement verifies)", e.name, "sha256" if size == e.bytes else "size")
            todo.append(e)
    if blocked:
        raise ExistingDataError(f"{out}: {len(blocked)} path(s) the download writes are taken by something else: "
                                + "; ".join(blocked[:5]) + (f"; and {len(blocked) - 5} more" if len(blocked) > 5 else "")
                                + ". Nothing was fetched or changed; move them away or choose another --out")
    if conflicts and not replace:
        shown = "; ".join(c for _, c in conflicts[:5]) + (f"; and {len(conflicts) - 5} more" if len(conflicts) > 5 else "")
        raise ExistingDataError(f"{out} already holds {len(conflicts)} shard(s) that this manifest lists with another size "
                                f"or sha256: {shown}. They may be another release's or someone's data, so nothing was "
                                "fetched or changed. Pass --replace (replace=True) to download this manifest's versions "
                                "(each old file stays until its replacement has been downloaded and verified), or "
                                "choose another --out")
    todo += [e for e, _ in conflicts]
    return present, todo, [e.name for e, _ in conflicts]

"""Open a submission (zip or folder) without trusting it.

Rules, each with its own message: no member may escape the submission folder (absolute paths,
``..``, drive letters, backslashes), no member name that is not safe_text UTF-8 text (control
characters, bytes that are not UTF-8), no symbolic links or special files, no member over
``MAX_MEMBER_BYTES`` uncompressed, no more than ``MAX_TOTAL_BYTES`` in all, no member whose
compression ratio exceeds ``MAX_RATIO`` (a zip bomb), no duplicate names, at most ``MAX_MEMBERS``
members; a folder may nest at most ``MAX_DEPTH`` levels, with relative paths of at most
``MAX_PATH_CHARS`` characters (:func:`walk_folder` never descends further, so a folder nested
thousands deep or a path over PATH_MAX is refused, not followed). Members are read into memory with
a size cap enforced while reading, so a lying header cannot inflate past the cap.
"""
from __future__ import annotations

import os
import stat
import struct
import zipfile
from pathlib import Path, PurePosixPath

from facegen._safe_text import safe_text, unsafe_chars

__all__ = [
    "MAX_DEPTH",
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_PATH_CHARS",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "SubmissionError",
    "read_submission_files",
    "walk_folder",
]

MAX_MEMBER_BYTES = 512 * 2**20
MAX_TOTAL_BYTES = 1024 * 2**20
MAX_RATIO = 200.0
MAX_MEMBERS = 64
MAX_DEPTH = 8  # folders within folders; a submission needs 2: TOP/outputs/
MAX_PATH_CHARS = 512
_MAX_WALK = 16 * MAX_MEMBERS  # folder entries looked at, at most


class SubmissionError(ValueError):
    """A submission breaks a rule; ``problems`` lists every rule broken, each in its own words."""

    def __init__(self, problems: list[str]):
        self.problems = [safe_text(p) for p in problems]
        super().__init__("; ".join(self.problems))


def _short(name: str, n: int = 60) -> str:
    return repr(name) if len(name) <= n else repr(name[:n]) + "..."


def _bad_name(name: str) -> str | None:
    bad = unsafe_chars(name)
    if bad:
        what = "bytes that are not UTF-8" if any(0xD800 <= int(c[2:], 16) <= 0xDFFF for c in bad) else \
            f"control characters ({', '.join(bad)})"
        return f"member {name!r} has {what} in its name; names are safe_text UTF-8 text"
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return f"member {name!r} has an absolute path"
    if "\\" in name:
        return f"member {name!r} uses backslashes"
    if ".." in PurePosixPath(name).parts:
        return f"member {name!r} escapes the submission folder ('..')"
    if len(name) > MAX_PATH_CHARS:
        return f"member {_short(name)} has a name of {len(name)} characters; at most {MAX_PATH_CHARS} allowed"
    return None


def _open_zip(path: Path, problems: list[str]) -> zipfile.ZipFile | None:
    try:
        return zipfile.ZipFile(path)
    except UnicodeDecodeError as e:
        problems.append(f"{path.name}: not a readable zip file: member name {e.object[:80]!r} is flagged as UTF-8 "
                        f"but is not UTF-8; write the zip with UTF-8 member names")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error,
            NotImplementedError) as e:
        problems.append(f"{path.name}: not a readable zip file ({e})")
    return None


def _from_zip(path: Path, problems: list[str]) -> dict[str, bytes]:
    zf = _open_zip(path, problems)
    if zf is None:
        return {}
    files: dict[str, bytes] = {}
    total = 0
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            problems.append(f"{len(infos)} members; at most {MAX_MEMBERS} allowed")
            return {}
        for info in infos:
            name = info.filename
            if info.is_dir():
                continue
            why = _bad_name(name)
            if why:
                problems.append(why)
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                problems.append(f"member {name!r} is a symbolic link")
                continue
            if stat.S_IFMT(mode) and not stat.S_ISREG(mode):  # type bits are optional in zips
                problems.append(f"member {name!r} is not a regular file")
                continue
            if name in files:
                problems.append(f"member {name!r} appears twice")
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                problems.append(f"member {name!r} is {info.file_size} bytes; at most {MAX_MEMBER_BYTES} allowed")
                continue
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                problems.append(f"member {name!r} expands {info.file_size / info.compress_size:.0f}x; "
                                f"compression ratios over {MAX_RATIO:.0f} are refused (zip bomb)")
                continue
            try:
                with zf.open(info) as fh:
                    data = fh.read(MAX_MEMBER_BYTES + 1)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError, NotImplementedError,
                    struct.error) as e:
                problems.append(f"member {name!r} cannot be read ({e})")
                continue
            if len(data) > MAX_MEMBER_BYTES or len(data) != info.file_size:
                problems.append(f"member {name!r} does not match its declared size")
                continue
            total += len(data)
            if total > MAX_TOTAL_BYTES:
                problems.append(f"submission unpacks to over {MAX_TOTAL_BYTES} bytes")
                return {}
            files[name] = data
    return files


def walk_folder(path: str | Path) -> tuple[list[tuple[str, str, Path]], list[str]]:
    """Every entry under ``path`` without following links: ([(relative name, kind, path)], problems).

    ``kind``: ``"F"`` regular file, ``"D"`` folder, ``"L"`` symbolic link, ``"O"`` anything else;
    sorted by relative name (``/``-separated; bytes that are not UTF-8 kept as surrogate escapes).
    Iterative: a folder nested deeper than :data:`MAX_DEPTH`, a relative path longer than
    :data:`MAX_PATH_CHARS`, more than 1,024 entries, or a folder that cannot be read is a problem
    and is not descended into.
    """
    path = Path(path)
    found: list[tuple[str, str, Path]] = []
    problems: list[str] = []
    stack = [(path, "", 0)]
    while stack:
        folder, prefix, depth = stack.pop()
        try:
            with os.scandir(folder) as it:
                items = sorted(it, key=lambda d: d.name)
        except OSError as e:
            problems.append(f"folder {prefix.rstrip('/') or '.'!r} cannot be read ({e.strerror or e})")
            continue
        for d in items:
            rel = prefix + d.name
            if len(found) >= _MAX_WALK:
                problems.append(f"the folder holds over {_MAX_WALK} entries; a submission holds at most "
                                f"{MAX_MEMBERS} files")
                return sorted(found), problems
            if len(rel) > MAX_PATH_CHARS:
                problems.append(f"path {_short(rel)} is {len(rel)} characters long; at most {MAX_PATH_CHARS} allowed")
                continue
            try:
                kind = "L" if d.is_symlink() else "D" if d.is_dir(follow_symlinks=False) else \
                    "F" if d.is_file(follow_symlinks=False) else "O"
            except OSError as e:
                problems.append(f"{rel!r} cannot be read ({e.strerror or e})")
                continue
            found.append((rel, kind, Path(d.path)))
            if kind == "D":
                if depth + 1 > MAX_DEPTH:
                    problems.append(f"folder {_short(rel)} is nested {depth + 1} folders deep; at most {MAX_DEPTH} "
                                    f"allowed (a submission needs 2: TOP/outputs/)")
                else:
                    stack.append((Path(d.path), rel + "/", depth + 1))
    return sorted(found), problems


def _from_dir(path: Path, problems: list[str]) -> dict[str, bytes]:
    found, walk_problems = walk_folder(path)
    problems += walk_problems
    files: dict[str, bytes] = {}
    total = 0
    for rel, kind, p in found:
        if kind == "L":
            problems.append(f"member {rel!r} is a symbolic link")
            continue
        if kind == "D":
            continue
        if kind != "F":
            problems.append(f"member {rel!r} is not a regular file")
            continue
        why = _bad_name(rel)
        if why:
            problems.append(why)
            continue
        try:
            with open(p, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size > MAX_MEMBER_BYTES:
                    problems.append(f"member {rel!r} is {size} bytes; at most {MAX_MEMBER_BYTES} allowed")
                    continue
                total += size
                if total > MAX_TOTAL_BYTES:
                    problems.append(f"submission holds over {MAX_TOTAL_BYTES} bytes")
                    return {}
                files[rel] = fh.read(MAX_MEMBER_BYTES + 1)
        except OSError as e:
            problems.append(f"member {rel!r} cannot be read ({e.strerror or e})")
    if len(files) > MAX_MEMBERS:
        problems.append(f"{len(files)} files; at most {MAX_MEMBERS} allowed")
    return files


def read_submission_files(path: str | Path) -> dict[str, bytes]:
    """Every file of a submission zip or folder as {relative name: bytes}; SubmissionError lists problems.

    A zip whose files all sit in one top-level folder is read as if that folder were the root.
    """
    path = Path(path)
    problems: list[str] = []
    if path.is_dir():
        files = _from_dir(path, problems)
    elif path.is_file():
        files = _from_zip(path, problems)
    else:
        raise SubmissionError([f"{path}: no such file or folder"])
    if problems:
        raise SubmissionError(problems)
    tops = {n.split("/", 1)[0] for n in files}
    if len(tops) == 1 and all("/" in n for n in files):
        top = tops.pop() + "/"
        files = {n[len(top):]: d for n, d in files.items()}
    return files

"""Open a submission (zip or folder) without trusting it.

Rules, each with its own message: no member may escape the submission folder (absolute paths,
``..``, drive letters, backslashes), no symbolic links or special files, no member over
``MAX_MEMBER_BYTES`` uncompressed, no more than ``MAX_TOTAL_BYTES`` in all, no member whose
compression ratio exceeds ``MAX_RATIO`` (a zip bomb), no duplicate names, at most ``MAX_MEMBERS``
members. Members are read into memory with a size cap enforced while reading, so a lying header
cannot inflate past the cap.
"""
from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

__all__ = [
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "SubmissionError",
    "read_submission_files",
]

MAX_MEMBER_BYTES = 512 * 2**20
MAX_TOTAL_BYTES = 1024 * 2**20
MAX_RATIO = 200.0
MAX_MEMBERS = 64


class SubmissionError(ValueError):
    """A submission breaks a rule; ``problems`` lists every rule broken, each in its own words."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def _bad_name(name: str) -> str | None:
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return f"member {name!r} has an absolute path"
    if "\\" in name:
        return f"member {name!r} uses backslashes"
    if ".." in PurePosixPath(name).parts:
        return f"member {name!r} escapes the submission folder ('..')"
    return None


def _from_zip(path: Path, problems: list[str]) -> dict[str, bytes]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        problems.append(f"{path.name}: not a readable zip file ({e})")
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
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as e:
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


def _from_dir(path: Path, problems: list[str]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    total = 0
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path).as_posix()
        if p.is_symlink():
            problems.append(f"member {rel!r} is a symbolic link")
            continue
        if p.is_dir():
            continue
        if not p.is_file():
            problems.append(f"member {rel!r} is not a regular file")
            continue
        size = p.stat().st_size
        if size > MAX_MEMBER_BYTES:
            problems.append(f"member {rel!r} is {size} bytes; at most {MAX_MEMBER_BYTES} allowed")
            continue
        total += size
        if total > MAX_TOTAL_BYTES:
            problems.append(f"submission holds over {MAX_TOTAL_BYTES} bytes")
            return {}
        files[rel] = p.read_bytes()
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

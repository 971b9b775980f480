"""Validate and score every submission in a folder, then render the leaderboard site.

:func:`run_leaderboard` takes each ``*.zip`` or folder in ``submissions_dir`` in name order:

1. **skip** it when ``OUT/results/<id>.json`` already records the same entry name, the same
   ``source_sha256`` (the zip's bytes, or the folder's names, file types and bytes), the same probe
   manifests and the same score settings, with status ``scored`` or ``rejected`` (both are
   deterministic; ``failed`` is retried, as a timeout may be transient). ``id`` is
   :func:`.site.entry_id` of the entry's file name: a readable slug plus a hash of the exact name,
   the same whatever other entries exist, so a newcomer can never take over another entry's results
   or page;
2. **validate** it (:func:`.submission.load_submission` against the probe sets' keys); a problem
   gives status ``rejected`` with every message;
3. **unpack** the validated files into a temporary folder (names already checked by
   :mod:`.safezip`) and write the scorer's declaration from submission.json (``outputs/model.json``,
   or ``model.onnx.json`` beside an ONNX graph);
4. **score** it in a child process, ``python -m benchmark.leaderboard.worker``, under a wall-time
   limit (``timeout_s``; the whole process group is killed) and ``RLIMIT_AS`` (``memory_mb``);
   ONNX graphs run only there, in onnxruntime. A scorer error, a crash, a timeout or the memory
   limit gives status ``failed`` with its message; one submission never stops the others;
5. **write** ``OUT/results/<id>.json`` (schema ``benchmark.leaderboard-result/1``: status,
   messages, hashes, submission.json, the whole scores.json) and the figures under
   ``OUT/figures/<id>/``.

Anything that goes wrong with one entry (a name that is not UTF-8, a folder nested too deep, a
path over PATH_MAX, results that cannot be written) gives that entry a ``rejected`` or ``failed``
record with its message; the others go on. Messages have control characters as visible escapes.

Then :func:`.site.render_site` draws the ranked table from the ``scored`` results (others are
listed below it with their messages). :func:`site_metrics` maps scores.json onto the table's
columns; d50 beyond the largest tested distance keeps ``value`` null with ``beyond_range`` and
``max_distance``, and the site shows it as ``> max_distance`` (sorted above every finite d50).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from facegen._safe_text import safe_text
from ..score import Settings, read_probe_set, render_gallery
from ..score.adapters import file_sha256
from .safezip import SubmissionError, walk_folder
from .site import entry_id, render_site, write_atomic
from .submission import Submission, load_submission

__all__ = ["RESULT_SCHEMA", "run_leaderboard", "score_submission", "site_metrics", "source_sha256"]

log = logging.getLogger(__name__)

RESULT_SCHEMA = "benchmark.leaderboard-result/1"
_SKIPPABLE = ("scored", "rejected")
_SCORED_KEYS = ("submission", "submission_sha256", "scores", "figures")


def source_sha256(path: str | Path) -> str:
    """sha256 of a zip's bytes, or of a folder's sorted (name, type, bytes or link target) without following
    links, walked by :func:`.safezip.walk_folder` (bounded depth and path length; what it cannot walk is
    hashed as its problem messages, so the hash is still a pure function of the folder)."""
    path = Path(path)
    if path.is_symlink():
        return hashlib.sha256(b"L" + os.fsencode(os.readlink(path))).hexdigest()
    if path.is_file():
        return file_sha256(path)
    h = hashlib.sha256()
    found, problems = walk_folder(path)
    for rel, kind, p in found:
        name = os.fsencode(rel)
        if kind == "L":
            h.update(b"L" + name + b"\0" + os.fsencode(os.readlink(p)) + b"\0")
        elif kind == "F":
            h.update(b"F" + name + b"\0" + bytes.fromhex(file_sha256(p)))
        else:
            h.update(kind.encode() + name + b"\0")
    for m in problems:
        h.update(b"P" + m.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


class _ProbeKeys(Mapping):
    """{probe set name: keys}; ``"gallery"`` is rendered on first use only (embedding submissions)."""

    def __init__(self, sets, gallery):
        self._keys = {p.name: list(p.keys) for p in sets}
        self._sets, self._gallery = sets, gallery

    def __getitem__(self, name):
        if name == "gallery" and name not in self._keys:
            self._gallery = self._gallery or render_gallery(self._sets[0])
            self._keys["gallery"] = list(self._gallery.keys)
        return self._keys[name]

    def __iter__(self):
        return iter([*[k for k in self._keys if k != "gallery"], "gallery"])

    def __len__(self):
        return len(self._sets) + 1


def _settings_dict(s: Settings) -> dict:
    return {**s.to_dict(), "maps": s.maps, "layers": s.layers, "batch_size": s.batch_size}


def _unpack(sub: Submission, tmp: Path) -> tuple[str, dict | None]:
    """Write the validated files and the declaration; returns (model spec for the worker, expected declaration)."""
    if sub.onnx is not None:
        (tmp / "model.onnx").write_bytes(sub.onnx)
        (tmp / "model.onnx.json").write_text(json.dumps(sub.declaration))
        return str(tmp / "model.onnx"), sub.declaration
    out = tmp / "outputs"
    out.mkdir()
    for name, data in sub.files.items():
        if name.startswith("outputs/"):
            (tmp / name).write_bytes(data)  # names checked: outputs/NAME.npz|.safetensors, no '/' or '..' in NAME
    (out / "model.json").write_text(json.dumps(sub.declaration))
    return str(out), None


def score_submission(sub: Submission, probe_dirs, report: Path, *, gallery_dir=None, timeout_s: float = 1800.0,
                     memory_mb: int = 4096, settings: Settings | None = None, threads: int = 1) -> list[str]:
    """Score a validated submission in a child process; writes ``report/scores.json`` and figures.

    The child (:mod:`.worker`) sets ``RLIMIT_AS`` to ``memory_mb`` first thing, runs in
    its own session, and its whole process group is killed after ``timeout_s`` seconds.

    Returns [] on success, else the messages of the failure (timeout, memory limit, scorer error, crash).
    """
    settings = settings or Settings()
    with tempfile.TemporaryDirectory(prefix="leaderboard-") as t:
        spec, expect = _unpack(sub, Path(t))
        cmd = [sys.executable, "-m", "benchmark.leaderboard.worker", "--model", spec, "--out", str(report),
               "--settings", json.dumps(_settings_dict(settings)), "--threads", str(threads),
               "--memory-mb", str(memory_mb)]
        cmd += [a for d in probe_dirs for a in ("--probe", _abs(d))]
        cmd += ["--gallery", _abs(gallery_dir)] if gallery_dir else []
        cmd += ["--expect", json.dumps(expect)] if expect else []
        env = {**os.environ, **{k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                          "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")}}
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=t,
                                start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return [f"scoring exceeded the time limit of {timeout_s:g} s and was stopped"]
    if proc.returncode == 0:
        return []
    # the unpacked files' temporary folder is no part of a message (and would change every run)
    return [safe_text(m.replace(t + os.sep, "").replace(t, ".")) for m in _failure(proc.returncode, err, report,
                                                                                    memory_mb)]


def _failure(returncode: int, err: bytes, report: Path, memory_mb: int) -> list[str]:
    err_s = err.decode(errors="replace").strip()
    if (report / "error.json").is_file():
        return [str(m) for m in json.loads((report / "error.json").read_text())["messages"]]
    if any(w in err_s for w in ("MemoryError", "bad_alloc", "Failed to allocate", "Cannot allocate memory")):
        return [f"scoring ran out of the memory limit of {memory_mb} MiB (RLIMIT_AS)"]
    tail = err_s.splitlines()[-1] if err_s else f"signal {-returncode}" if returncode < 0 else ""
    return [(f"scoring failed (exit status {returncode}): {tail}; it ran under a memory limit of {memory_mb} "
            f"MiB (RLIMIT_AS), which may be the cause")]


def _abs(source) -> str:
    """A local probe path made absolute (the child runs in a temporary folder); URLs unchanged."""
    return str(Path(source).resolve()) if Path(source).exists() else str(source)


def _est(e: dict) -> dict:
    keep = ("beyond_range", "ci_beyond_range", "max_distance", "nonfinite", "significant", "p_perm",
            "p_perm_total", "low_accuracy_at_zero")
    return {"value": e.get("value"), "ci": e.get("ci"), **{k: e[k] for k in keep if k in e}}


def site_metrics(scores: dict) -> dict:
    """scores.json -> the site's ``metrics``: {key: {"value", "ci", ...}} for the keys of ``site.COLUMNS``.

    ``accuracy`` is ``accuracy_at_zero`` (identity decisions on the unmorphed probes, distance 0), shown
    without an interval (scores.json has none); it is absent where undefined (no distance-0 probes).
    d50 beyond the tested range keeps value null plus ``beyond_range``/``max_distance`` (shown ``> max``);
    an infinite MI (perfect dependence) keeps value null plus ``nonfinite`` (shown as infinity).
    """
    s = scores.get("scores", {})
    out = {}
    if s.get("accuracy_at_zero") is not None:
        out["accuracy"] = {"value": s["accuracy_at_zero"], "ci": None}
    for k in ("shape_bias", "d50_shape", "d50_texture", "shape_reliance", "I_shape", "I_texture"):
        if isinstance(s.get(k), dict):
            out[k] = _est(s[k])
    return out


_FIGURE = re.compile(r"^[A-Za-z0-9_.-]+\.png$")


def _write_json(path: Path, obj: dict) -> None:
    write_atomic(path, json.dumps(obj, indent=1, allow_nan=False) + "\n")


def _process(entry: Path, slug: str, out: Path, keys: Mapping, base: dict, probe_dirs, gallery_dir,
             **limits) -> dict:
    rec = dict(base)
    try:
        sub = load_submission(entry, probes=keys)
    except SubmissionError as e:
        log.warning("%s: rejected (%s)", safe_text(entry.name), "; ".join(e.problems))
        return {**rec, "status": "rejected", "messages": e.problems}
    rec.update(submission=sub.meta, submission_sha256=sub.sha256)
    report = Path(tempfile.mkdtemp(prefix="report-"))
    try:
        msgs = [safe_text(m) for m in score_submission(sub, probe_dirs, report, gallery_dir=gallery_dir, **limits)]
        if msgs:
            log.warning("%s: failed (%s)", safe_text(entry.name), "; ".join(msgs))
            return {**rec, "status": "failed", "messages": msgs}
        scores = json.loads((report / "scores.json").read_text())
        scores["model"]["source"] = entry.name
        figs = out / "figures" / slug
        shutil.rmtree(figs, ignore_errors=True)
        figs.mkdir(parents=True)
        names = []
        for name in scores.get("figures", {}).values():
            if not (isinstance(name, str) and _FIGURE.match(name)):
                raise ValueError(f"the scorer named a figure {safe_text(name)!r}, not a plain .png file name")
            shutil.copyfile(report / name, figs / name)
            names.append(f"figures/{slug}/{name}")
        log.info("%s: scored", safe_text(entry.name))
        return {**rec, "status": "scored", "messages": [], "scores": scores, "figures": names}
    finally:
        shutil.rmtree(report, ignore_errors=True)


def _entry(entry: Path, out: Path, keys: Mapping, base: dict, probe_dirs, gallery_dir, force: bool,
           limits: dict) -> dict:
    """One entry's record (written to ``OUT/results/<id>.json``), whatever the entry holds."""
    slug = entry_id(entry.name)
    base = {**base, "entry": entry.name, "slug": slug, "source_sha256": None}
    path = out / "results" / f"{slug}.json"
    try:
        base["source_sha256"] = source_sha256(entry)
        old = _old_record(path) if not force else {}
        if old.get("status") in _SKIPPABLE and all(old.get(k) == base[k] for k in
                                                   ("source_sha256", "probes", "settings", "entry")) \
                and (old["status"] == "rejected" or all(k in old for k in _SCORED_KEYS)):
            log.info("%s: unchanged since it was %s; skipped", safe_text(entry.name), old["status"])
            return {**old, "skipped": True}
        if entry.is_symlink():
            rec = {**base, "status": "rejected", "messages": [(f"{safe_text(entry.name)} is a symbolic link; "
                                                              "submissions are plain zips or folders")]}
        else:
            rec = _process(entry, slug, out, keys, base, probe_dirs, gallery_dir, **limits)
    except SubmissionError as e:
        rec = {**base, "status": "rejected", "messages": e.problems}
    except OSError as e:  # retried next time: it may be the machine's, not the entry's
        rec = {**base, "status": "failed", "messages": [safe_text(f"cannot read or unpack the entry ({e})")]}
    except Exception as e:  # one submission never stops the others
        log.exception("%s: unexpected error", safe_text(entry.name))
        rec = {**base, "status": "failed", "messages": [safe_text(f"unexpected error: {type(e).__name__}: {e}")]}
    try:
        try:
            _write_json(path, rec)
        except ValueError as e:  # NaN or infinity in the scores (allow_nan=False)
            rec = {**base, "status": "failed", "messages": [safe_text(f"its results cannot be saved as JSON ({e})")]}
            _write_json(path, rec)
    except OSError as e:
        log.error("%s: %s not written (%s)", safe_text(entry.name), path, safe_text(e))
    return {**rec, "skipped": False}


def _old_record(path: Path) -> dict:
    try:
        old = json.loads(path.read_bytes()) if path.is_file() else {}
    except (ValueError, RecursionError, OSError):
        return {}
    return old if isinstance(old, dict) else {}


def run_leaderboard(submissions_dir: str | Path, out_site: str | Path, probe_dirs, *, gallery_dir=None,
                    timeout_s: float = 1800.0, memory_mb: int = 4096, settings: Settings | None = None,
                    threads: int = 1, force: bool = False) -> list[dict]:
    """Validate, score (skipping unchanged ones) and rank every submission; render the site in ``out_site``.

    Returns the result records (one per ``*.zip`` or folder in ``submissions_dir``, name order), each
    as written to ``out_site/results/<id>.json`` (``slug`` in the record: :func:`.site.entry_id` of its
    file name). ``force`` rescores everything.
    """
    subs_dir, out = Path(submissions_dir), Path(out_site)
    settings = settings or Settings()
    if not subs_dir.is_dir():
        raise FileNotFoundError(f"{subs_dir}: no such submissions folder")
    sets = [read_probe_set(d) for d in probe_dirs]
    gallery = read_probe_set(gallery_dir) if gallery_dir else None
    keys = _ProbeKeys(sets, gallery)
    manifests = {p.name: p.manifest_sha256 for p in sets}
    if gallery is not None:
        manifests["gallery"] = gallery.manifest_sha256
    (out / "results").mkdir(parents=True, exist_ok=True)
    base = {"schema": RESULT_SCHEMA, "probes": manifests, "settings": _settings_dict(settings)}
    limits = dict(timeout_s=timeout_s, memory_mb=memory_mb, settings=settings, threads=threads)
    records = []
    for entry in sorted(subs_dir.iterdir()):
        if not (entry.is_dir() or entry.suffix == ".zip") or entry.name.startswith("."):
            log.warning("%s: not a submission (a .zip or a folder); ignored", safe_text(entry.name))
            continue
        records.append(_entry(entry, out, keys, base, probe_dirs, gallery_dir, force, limits))
    entries = [{"model": r["submission"]["model_name"], "authors": r["submission"]["authors"],
                **{k: r["submission"][k] for k in ("paper_url", "code_url") if k in r["submission"]},
                "metrics": site_metrics(r["scores"]), "figures": r["figures"], "id": r["slug"],
                "entry": r["entry"], "submission_sha256": r["submission_sha256"]}
               for r in records if r["status"] == "scored"]
    others = [{"entry": r["entry"], "status": r["status"], "messages": r["messages"]}
              for r in records if r["status"] != "scored"]
    render_site(entries, out, not_ranked=others)
    return records

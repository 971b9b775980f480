"""Submissions: ``submission.json`` plus either precomputed outputs on the public probe sets or an ONNX model.

Layout (a zip, or a folder; a zip whose members all sit in one top-level folder is read from it)::

    submission.json
    outputs/probe-morph.npz      (or .safetensors)  \\
    outputs/probe-cue.npz                            > payload "outputs": one file per public probe set,
    outputs/probe-revcorr.npz                        |  plus outputs/gallery.* for embedding models
    outputs/gallery.npz          (embedding only)   /
    model.onnx                   payload "model.onnx" instead of outputs/
    README.md                    optional

``submission.json`` fields (all required unless marked optional)::

    {"schema": "facegen.submission/1",
     "model_name": "ResNet-10 (reference)", "authors": ["A. Person"], "contact": "a@b.org",
     "paper_url": "https://..." (optional), "code_url": "https://..." (optional), "licence": "MIT",
     "description": "..." (optional),
     "output_kind": "logits" | "embedding",
     "classes": [0, 1, ...]          (required for logits: logit column k is facegen identity classes[k];
                                      not allowed for embeddings),
     "preprocessing": {"image_size": 64, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
     "payload": "outputs" | "model.onnx"}

Outputs files are the :mod:`benchmark.outputs` format and are checked with
:func:`benchmark.outputs.parse_outputs`: against the probe sets' sample keys when ``probes`` is given,
with ``len(classes)`` columns for logits, and one embedding width across every file.

``submission.json`` is at most :data:`MAX_META_BYTES`; NaN, Infinity and numbers too large to be
finite are refused, and so is nesting too deep to parse; names and URLs must be safe_text UTF-8
text (:func:`text_problems`). Nothing in a submission is unpickled or executed here; an ONNX payload
is parsed (where the onnx package is installed) and refused if any tensor keeps its data in an
external file, and is run only when the maintainer scores it in onnxruntime, in a child process
under a time and memory limit (:mod:`.runner`).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegen._safe_text import unsafe_chars
from ..outputs import MAX_ARRAY_BYTES, OutputsError, inflated_bytes, parse_outputs
from .safezip import MAX_TOTAL_BYTES, SubmissionError, read_submission_files

__all__ = ["MAX_META_BYTES", "PROBE_NAMES", "SCHEMA", "Submission", "SubmissionError", "load_submission",
           "required_outputs", "text_problems"]

SCHEMA = "facegen.submission/1"
PROBE_NAMES = ("probe-morph", "probe-cue", "probe-revcorr")
_REQUIRED = {"schema": str, "model_name": str, "authors": list, "contact": str, "licence": str,
             "output_kind": str, "preprocessing": dict, "payload": str}
_OPTIONAL = {"paper_url": str, "code_url": str, "description": str, "classes": list}
_PAYLOADS = ("outputs", "model.onnx")
_EXTS = (".npz", ".safetensors")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TEXT_FIELDS = ("model_name", "contact", "licence", "paper_url", "code_url", "description")
_PREPROCESSING = ("image_size", "mean", "std")
MAX_META_BYTES = 2**20


class _NotFinite(ValueError):
    pass


def _finite(text: str) -> float:
    x = float(text)
    if not math.isfinite(x):
        raise _NotFinite(f"the number {text[:40]} is too large to be finite")
    return x


def _finite_number(x) -> bool:
    try:
        return math.isfinite(float(x))
    except OverflowError:  # an int with hundreds of digits
        return False


def _no_constant(name: str):
    raise _NotFinite(f"{name} is not a JSON number")


def _read_meta(data: bytes):
    """submission.json parsed: finite numbers only, at most :data:`MAX_META_BYTES`, any depth refused cleanly."""
    if len(data) > MAX_META_BYTES:
        raise SubmissionError([f"submission.json is {len(data)} bytes; at most {MAX_META_BYTES} allowed"])
    try:
        return json.loads(data, parse_float=_finite, parse_constant=_no_constant)
    except _NotFinite as e:
        raise SubmissionError([f"submission.json: {e}; every number must be finite (no NaN or Infinity)"]) from None
    except RecursionError:
        raise SubmissionError(["submission.json nests arrays or objects too deep to read; it is one flat object "
                               "(see benchmark.leaderboard.submission)"]) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise SubmissionError([f"submission.json is not valid JSON ({e})"]) from None


def text_problems(meta: dict) -> list[str]:
    """Problems of submission.json's names, contact, licence, URLs and description: each must be safe_text
    text, with no control characters (newlines only in the description) and no lone surrogates (text that
    was not UTF-8, e.g. ``benchmark submit --name $'\\xff'``)."""
    probs = []
    fields = [(k, meta[k]) for k in _TEXT_FIELDS if isinstance(meta.get(k), str)]
    fields += [(f"authors[{i}]", a) for i, a in enumerate(meta.get("authors") or []) if isinstance(a, str)]
    for k, v in fields:
        bad = unsafe_chars(v, allow="\n" if k == "description" else "")
        if any(0xD800 <= int(c[2:], 16) <= 0xDFFF for c in bad):
            probs.append(f"submission.json: {k} holds lone surrogates ({', '.join(bad)}), i.e. text that was not "
                         f"UTF-8 (e.g. a name typed in a terminal with another encoding); write it as UTF-8")
        elif bad:
            probs.append(f"submission.json: {k} holds control characters ({', '.join(bad)}); " + (
                "it must be safe_text text (newlines allowed)" if k == "description" else
                "it must be one line of safe_text text"))
    return probs


@dataclass(frozen=True)
class Submission:
    """A validated submission.

    ``meta``: the submission.json dict; ``outputs``: {probe set name: (keys (N,), outputs (N, D)
    float64)} for an outputs payload, else None; ``onnx``: the ONNX bytes, else None; ``files``:
    {relative name: bytes} of every validated file (names already checked, safe to write under a
    folder); ``sha256``: over every file (name and sha256 of its bytes, sorted by name).
    """

    meta: dict
    outputs: dict[str, tuple[list[str], np.ndarray]] | None
    onnx: bytes | None
    files: dict[str, bytes]
    sha256: str

    @property
    def declaration(self) -> dict:
        """The scorer's model declaration (``model.json`` / ``MODEL.onnx.json``, see benchmark.score.adapters)."""
        d = {"output_kind": self.meta["output_kind"], "preprocessing": self.meta["preprocessing"]}
        if "classes" in self.meta:
            d["classes"] = self.meta["classes"]
        return d


def required_outputs(output_kind: str, probe_names=PROBE_NAMES) -> tuple[str, ...]:
    """Outputs files (names without extension) an outputs payload must hold: one per probe set, and
    ``gallery`` for embedding models (their decisions are nearest canonical-gallery embeddings)."""
    names = tuple(n for n in probe_names if n != "gallery")
    return names + (("gallery",) if output_kind == "embedding" else ())


def _check_meta(meta) -> list[str]:
    if not isinstance(meta, dict):
        return ["submission.json must hold a JSON object"]
    probs = []
    for k, t in _REQUIRED.items():
        if k not in meta:
            probs.append(f"submission.json lacks required field {k!r}")
        elif not isinstance(meta[k], t):
            probs.append(f"submission.json: {k} must be a {t.__name__}, got {type(meta[k]).__name__}")
    for k, t in _OPTIONAL.items():
        if k in meta and not isinstance(meta[k], t):
            probs.append(f"submission.json: {k} must be a {t.__name__}")
    unknown = set(meta) - set(_REQUIRED) - set(_OPTIONAL)
    if unknown:
        probs.append(f"submission.json: unknown field(s) {sorted(unknown)}")
    if probs:
        return probs
    if meta["schema"] != SCHEMA:
        probs.append(f"submission.json: schema {meta['schema']!r}; expected {SCHEMA!r}")
    if not meta["model_name"].strip() or len(meta["model_name"]) > 100:
        probs.append("submission.json: model_name must be 1-100 characters")
    if not meta["authors"] or not all(isinstance(a, str) and a.strip() for a in meta["authors"]):
        probs.append("submission.json: authors must be a non-empty list of names")
    elif len(meta["authors"]) > 100 or max(len(a) for a in meta["authors"]) > 200:
        probs.append("submission.json: authors must be at most 100 names of at most 200 characters")
    probs += text_problems(meta)
    if not _EMAIL.match(meta["contact"]):
        probs.append(f"submission.json: contact {meta['contact']!r} is not an e-mail address")
    for k in ("paper_url", "code_url"):
        if k in meta and not meta[k].startswith(("https://", "http://")):
            probs.append(f"submission.json: {k} must be an http(s) URL")
    kind = meta["output_kind"]
    if kind not in ("logits", "embedding"):
        probs.append(f"submission.json: output_kind {kind!r}; allowed: ['logits', 'embedding']")
    classes = meta.get("classes")
    if kind == "logits" and classes is None:
        probs.append("submission.json: classes is required for logits (logit column k is facegen identity "
                     "classes[k]); add e.g. \"classes\": [0, 1, 2, ...]")
    elif kind == "embedding" and classes is not None:
        probs.append("submission.json: classes is only for logits; remove it for an embedding model")
    elif classes is not None:
        if not classes or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in classes):
            probs.append("submission.json: classes must be a non-empty list of facegen identity indices (ints >= 0)")
        elif len(set(classes)) != len(classes):
            probs.append("submission.json: classes lists an identity twice")
    if meta["payload"] not in _PAYLOADS:
        probs.append(f"submission.json: payload {meta['payload']!r}; allowed: {list(_PAYLOADS)}")
    pre = meta["preprocessing"]
    unknown = sorted(set(pre) - set(_PREPROCESSING))
    if unknown:
        probs.append(f"submission.json: preprocessing has unknown field(s) {unknown}; allowed: {list(_PREPROCESSING)}")
    size = pre.get("image_size")
    if not isinstance(size, int) or isinstance(size, bool) or not 16 <= size <= 1024:
        probs.append("submission.json: preprocessing.image_size must be an integer in [16, 1024]")
    for k in ("mean", "std"):
        v = pre.get(k)
        if not (isinstance(v, list) and len(v) == 3
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)):
            probs.append(f"submission.json: preprocessing.{k} must be three numbers (RGB)")
        elif not all(_finite_number(x) for x in v):
            probs.append(f"submission.json: preprocessing.{k} must be three finite numbers (no NaN or Infinity)")
        elif k == "std" and min(v) <= 0:
            probs.append("submission.json: preprocessing.std must be positive")
    return probs


def _check_outputs(files: dict[str, bytes], meta: dict, probes: dict | None, problems: list[str]) -> dict:
    """Parse every outputs/ file; append problems; return {name: (keys, outputs)}."""
    names = required_outputs(meta["output_kind"], tuple(probes) if probes is not None else PROBE_NAMES)
    found: dict[str, str] = {}
    for f in sorted(n for n in files if n.startswith("outputs/")):
        stem, ext = f[len("outputs/"):], ""
        for e in _EXTS:
            if stem.endswith(e):
                stem, ext = stem[:-len(e)], e
        if not ext or "/" in stem:
            problems.append(f"{f}: outputs are outputs/NAME.npz or outputs/NAME.safetensors")
        elif stem not in names:
            problems.append(f"{f}: no probe set {stem!r}; expected outputs for {list(names)}")
        elif stem in found:
            problems.append(f"{f}: probe set {stem!r} has two outputs files ({found[stem]} too); keep one")
        else:
            found[stem] = f
    missing = [n for n in names if n not in found]
    if missing:
        problems.append(f"outputs/ lacks {', '.join(n + '.npz' for n in missing)} (or .safetensors); "
                        f"run the model on every public probe set (benchmark submit does)")
    dim = len(meta["classes"]) if meta["output_kind"] == "logits" else None
    out: dict[str, tuple[list[str], np.ndarray]] = {}
    budget = MAX_TOTAL_BYTES  # what every outputs file's arrays may take once read, together
    for name, f in found.items():
        need = inflated_bytes(f, files[f])
        if budget < need <= MAX_ARRAY_BYTES:  # over MAX_ARRAY_BYTES: parse_outputs refuses it with its own message
            problems.append(f"{f}: its arrays unpack to {need} bytes, over what is left ({budget}) of the "
                            f"{MAX_TOTAL_BYTES} bytes all outputs files may take together")
            continue
        expected = None if probes is None else probes.get(name)
        try:
            out[name] = parse_outputs(f, files[f], expected_keys=expected, dim=dim)
            budget -= need
        except OutputsError as e:
            problems += e.problems
    widths = {n: o.shape[1] for n, (_, o) in out.items()}
    if dim is None and len(set(widths.values())) > 1:
        problems.append(f"outputs/: embedding widths differ between probe sets {widths}; one model gives one width")
    return out


def _onnx_problems(data: bytes) -> list[str]:
    """External data (files beside the graph) is refused here already, where the onnx package is installed;
    the scoring worker checks again (:func:`benchmark.score.adapters.onnx_external_data`) before onnxruntime
    sees the graph."""
    try:
        import onnx
    except ImportError:
        return []
    from ..score.adapters import onnx_external_data

    try:
        model = onnx.load_model_from_string(data)
    except Exception as e:  # protobuf's DecodeError and onnx's own errors share no base class
        return [f"model.onnx is not a readable ONNX protobuf ({type(e).__name__}: {e})"]
    ext = onnx_external_data(model)
    if ext:
        return [f"model.onnx: tensor(s) {ext[:5]} keep their data in external files; external data is refused "
                "(a graph could read any file): embed every tensor in model.onnx "
                "(onnx.save(model, path, save_as_external_data=False))"]
    return []


def load_submission(path: str | Path, *, probes: dict | None = None) -> Submission:
    """Read and validate a submission zip or folder; :class:`SubmissionError` lists every problem found.

    ``probes``: {probe set name: its sample keys} of the public probe sets (plus ``"gallery"``: the
    canonical gallery's keys, for embedding models); with it, outputs must cover exactly those keys
    and exactly those probe sets. Without it, the names default to :data:`PROBE_NAMES` and keys are
    checked for form, duplicates, dtypes and finiteness only.
    """
    files = read_submission_files(path)
    h = hashlib.sha256()
    for name in sorted(files):  # names checked: safe_text UTF-8
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    if "submission.json" not in files:
        raise SubmissionError(["submission.json is missing"])
    meta = _read_meta(files["submission.json"])
    problems = _check_meta(meta)
    if problems:
        raise SubmissionError(problems)
    payload = meta["payload"]
    allowed = {"submission.json", "README.md"} | ({"model.onnx"} if payload == "model.onnx" else set())
    extra = {n for n in files if n not in allowed and not (payload == "outputs" and n.startswith("outputs/"))}
    if extra:
        problems.append(f"unexpected file(s) {sorted(extra)}; a submission holds submission.json, its payload "
                        f"({'outputs/' if payload == 'outputs' else 'model.onnx'}) and optionally README.md")
    outputs = onnx = None
    if payload == "model.onnx":
        if "model.onnx" not in files:
            raise SubmissionError(problems + ["payload 'model.onnx' named in submission.json is missing"])
        onnx = files["model.onnx"]
        if onnx[:1] != b"\x08":  # an ONNX ModelProto starts with field 1 (ir_version), varint
            problems.append("model.onnx is not an ONNX protobuf")
        else:
            problems += _onnx_problems(onnx)
    else:
        if not any(n.startswith("outputs/") for n in files):
            raise SubmissionError(problems + [("payload 'outputs' named in submission.json is missing: no outputs/ "
                                              "folder")])
        outputs = _check_outputs(files, meta, probes, problems)
    if problems:
        raise SubmissionError(problems)
    return Submission(meta=meta, outputs=outputs, onnx=onnx, files=files, sha256=h.hexdigest())

"""Submissions: ``submission.json`` plus either precomputed outputs on the public probe set or an ONNX model.

``submission.json`` fields (all required unless marked optional)::

    {"schema": "facegen.submission/1",
     "model_name": "ResNet-10 (reference)", "authors": ["A. Person"], "contact": "a@b.org",
     "paper_url": "https://..." (optional), "code_url": "https://..." (optional), "licence": "MIT",
     "output_kind": "logits" | "embedding",
     "preprocessing": {"image_size": 64, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
     "payload": "outputs.npz" | "outputs.safetensors" | "model.onnx"}

Nothing in a submission is unpickled or executed here; an ONNX payload is only size-checked and
parsed as a protobuf by onnx (no custom ops run) until the maintainer scores it in onnxruntime.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..outputs import OutputsError, parse_outputs
from .safezip import SubmissionError, read_submission_files

__all__ = ["Submission", "load_submission", "SCHEMA", "SubmissionError"]

SCHEMA = "facegen.submission/1"
_REQUIRED = {"schema": str, "model_name": str, "authors": list, "contact": str, "licence": str,
             "output_kind": str, "preprocessing": dict, "payload": str}
_OPTIONAL = {"paper_url": str, "code_url": str, "description": str}
_PAYLOADS = ("outputs.npz", "outputs.safetensors", "model.onnx")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Submission:
    """A validated submission. ``outputs`` (N, D) float64 with ``keys`` for output payloads, or
    ``onnx`` bytes. ``sha256`` is over every file of the submission (names and bytes, sorted)."""

    meta: dict
    keys: list[str] | None
    outputs: np.ndarray | None
    onnx: bytes | None
    sha256: str


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
    if not _EMAIL.match(meta["contact"]):
        probs.append(f"submission.json: contact {meta['contact']!r} is not an e-mail address")
    for k in ("paper_url", "code_url"):
        if k in meta and not meta[k].startswith(("https://", "http://")):
            probs.append(f"submission.json: {k} must be an http(s) URL")
    if meta["output_kind"] not in ("logits", "embedding"):
        probs.append(f"submission.json: output_kind {meta['output_kind']!r}; allowed: ['logits', 'embedding']")
    if meta["payload"] not in _PAYLOADS:
        probs.append(f"submission.json: payload {meta['payload']!r}; allowed: {list(_PAYLOADS)}")
    pre = meta["preprocessing"]
    size = pre.get("image_size")
    if not isinstance(size, int) or isinstance(size, bool) or not 16 <= size <= 1024:
        probs.append("submission.json: preprocessing.image_size must be an integer in [16, 1024]")
    for k in ("mean", "std"):
        v = pre.get(k)
        if not (isinstance(v, list) and len(v) == 3 and all(isinstance(x, (int, float)) for x in v)):
            probs.append(f"submission.json: preprocessing.{k} must be three numbers (RGB)")
        elif k == "std" and min(v) <= 0:
            probs.append("submission.json: preprocessing.std must be positive")
    return probs


def load_submission(path: str | Path, *, expected_keys=None, n_classes: int | None = None) -> Submission:
    """Read and validate a submission zip or folder; SubmissionError lists every problem found."""
    files = read_submission_files(path)
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    if "submission.json" not in files:
        raise SubmissionError(["submission.json is missing"])
    try:
        meta = json.loads(files["submission.json"])
    except (ValueError, UnicodeDecodeError) as e:
        raise SubmissionError([f"submission.json is not valid JSON ({e})"]) from None
    problems = _check_meta(meta)
    if problems:
        raise SubmissionError(problems)
    payload = meta["payload"]
    extra = set(files) - {"submission.json", payload, "README.md"}
    if extra:
        problems.append(f"unexpected file(s) {sorted(extra)}; a submission holds submission.json, its payload "
                        "and optionally README.md")
    if payload not in files:
        raise SubmissionError(problems + [f"payload {payload!r} named in submission.json is missing"])
    keys = outputs = onnx = None
    if payload == "model.onnx":
        onnx = files[payload]
        if not onnx[:1] or onnx[:1] != b"\x08":  # ONNX ModelProto starts with field 1 (ir_version)
            problems.append("model.onnx is not an ONNX protobuf")
    else:
        dim = n_classes if meta["output_kind"] == "logits" else None
        try:
            keys, outputs = parse_outputs(payload, files[payload], expected_keys=expected_keys, dim=dim)
        except OutputsError as e:
            problems += e.problems
    if problems:
        raise SubmissionError(problems)
    return Submission(meta=meta, keys=keys, outputs=outputs, onnx=onnx, sha256=h.hexdigest())

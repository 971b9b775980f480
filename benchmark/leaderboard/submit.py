"""Build a submission zip: run a model on the public probe sets and pack its outputs.

:func:`build_submission` opens the model with :func:`benchmark.score.open_model` (a RUN folder, an
ONNX file, precomputed outputs, or with ``allow_code`` TorchScript / ``module:callable``), runs it on
every probe set (and on the canonical gallery for embedding models), writes
``outputs/<probe set name>.npz`` per set plus ``submission.json`` from the model's declaration and
the given metadata, and checks the zip with :func:`.submission.load_submission` before returning.
The zip is deterministic: sorted members, fixed timestamps.
"""
from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path

import numpy as np

from ..score import ModelError, open_model, read_probe_set, render_gallery
from ..score.pipeline import collect_outputs
from .safezip import SubmissionError
from .submission import SCHEMA, load_submission, text_problems

__all__ = ["DECLARED_BY_MODEL", "build_submission"]

log = logging.getLogger(__name__)

DECLARED_BY_MODEL = ("output_kind", "classes", "preprocessing")
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _npz_bytes(keys, out: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, keys=np.asarray(list(keys), dtype="U"), outputs=np.asarray(out, np.float32))
    return buf.getvalue()


def _meta(info, meta: dict, n_out: int) -> dict:
    clash = [k for k in DECLARED_BY_MODEL if k in meta and k != "preprocessing"]
    if clash:
        raise ValueError(f"build_submission: meta sets {clash}, which the model declares itself; remove them")
    pre = info.preprocess.to_dict() if info.preprocess is not None else meta.get("preprocessing")
    if pre is None:
        raise ValueError(f"build_submission: {info.source} declares no preprocessing (precomputed outputs); "
                         "pass meta['preprocessing'] = {'image_size', 'mean', 'std'} of the model that made them")
    full = {"schema": SCHEMA, **{k: v for k, v in meta.items() if k != "preprocessing"},
            "output_kind": info.output_kind, "preprocessing": pre, "payload": "outputs"}
    if info.output_kind == "logits":
        full["classes"] = list(info.classes) if info.classes is not None else list(range(n_out))
    return full


def build_submission(model_spec: str, probe_dirs, out_zip: str | Path, meta: dict, *, gallery_dir=None,
                     batch_size: int = 128, allow_code: bool = False, device: str = "cpu") -> Path:
    """Run ``model_spec`` on the probe sets in ``probe_dirs`` and write a valid submission zip to ``out_zip``.

    ``meta``: the submission.json fields the model cannot declare (model_name, authors, contact,
    licence, optional paper_url, code_url, description; preprocessing only for precomputed outputs).
    Raises :class:`benchmark.score.ModelError`, :class:`benchmark.score.ProbeError`, ValueError, or
    :class:`.SubmissionError` if the result would not validate.
    """
    problems = text_problems({"authors": [], **meta})
    if problems:  # before the model runs
        raise SubmissionError(problems)
    model = open_model(model_spec, allow_code=allow_code, device=device)
    sets = [read_probe_set(d) for d in probe_dirs]
    if model.info.output_kind == "embedding":
        sets.append(read_probe_set(gallery_dir) if gallery_dir else render_gallery(sets[0]))
    files, keys, width = {}, {}, 0
    for p in sets:
        out = collect_outputs(model, p, batch_size=batch_size)["output"]
        if not np.all(np.isfinite(out)):
            raise ModelError(f"{model_spec}: outputs on {p.name} contain NaN or inf; fix the model before submitting")
        files[f"outputs/{p.name}.npz"] = _npz_bytes(p.keys, out)
        keys[p.name] = list(p.keys)
        width = out.shape[1]
        log.info("%s: %d outputs of width %d", p.name, len(p), width)
    files["submission.json"] = json.dumps(_meta(model.info, meta, width), indent=1).encode()
    out_zip = Path(out_zip)
    out_zip.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_zip.with_name(out_zip.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, files[name])
    try:
        load_submission(tmp, probes=keys)
    except Exception:
        tmp.unlink()
        raise
    tmp.replace(out_zip)
    return out_zip

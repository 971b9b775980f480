"""Identity decisions and responses from a model's outputs.

Two rules, chosen once per model (:func:`choose_rule`):

* **argmax** — for a classifier trained on these identities (its declared ``classes`` cover every
  probe identity): ``decision_n = classes[argmax_k logit_nk]`` over *all* its classes, and the
  score of candidate identity ``j`` is the logit of the class that is ``j``.
* **gallery** — for any other model (embeddings, or logits over other classes): outputs are used
  as embeddings; the gallery holds one canonical render per probe identity (the mean embedding if
  several); ``score_nj = cos(e_n, g_j) = e_n . g_j / (|e_n| |g_j|)`` and
  ``decision_n = argmax_j score_nj`` among the probe identities.

The **response** of sample n to identity j is ``score_nj``: the correct-identity logit or cosine
similarity, the variable whose information about shape and texture is measured.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Decisions", "RULES", "choose_rule", "decide_argmax", "decide_gallery", "DecisionError"]

RULES = ("auto", "argmax", "gallery")


class DecisionError(ValueError):
    """Decisions cannot be made as asked (no gallery for an embedding model, classes missing ...)."""


@dataclass(frozen=True)
class Decisions:
    """Identity decisions of N samples among K candidate identities.

    ``rule``: ``argmax`` or ``gallery``. ``identities`` (K,) candidate identity indices.
    ``scores`` (N, K) float64: logit of each candidate's class, or cosine similarity to its gallery
    embedding. ``decision`` (N,) int: the identity chosen (for argmax possibly one outside the
    candidates, when the model's top class is not a probe identity).
    """

    rule: str
    identities: np.ndarray
    scores: np.ndarray
    decision: np.ndarray

    def response(self, identity: np.ndarray) -> np.ndarray:
        """(N,) score of each sample for the given identity per sample (e.g. its true identity)."""
        col = {int(j): k for k, j in enumerate(self.identities)}
        try:
            idx = np.array([col[int(i)] for i in identity])
        except KeyError as e:
            raise DecisionError(f"identity {e.args[0]} is not among the candidates "
                                f"{self.identities.tolist()}") from None
        return self.scores[np.arange(len(idx)), idx]


def choose_rule(rule: str, output_kind: str, classes, probe_identities) -> str:
    """Resolve ``auto``: argmax when the model outputs logits whose classes cover every probe identity."""
    if rule not in RULES:
        raise DecisionError(f"decision rule {rule!r}; allowed: {list(RULES)}")
    covered = classes is not None and {int(i) for i in probe_identities} <= set(classes)
    if rule == "auto":
        return "argmax" if output_kind == "logits" and covered else "gallery"
    if rule == "argmax" and not (output_kind == "logits" and covered):
        missing = sorted({int(i) for i in probe_identities} - set(classes or ()))
        raise DecisionError(f"argmax needs logits over classes that include every probe identity; the model gives "
                            f"{output_kind} and lacks identities {missing[:8]}; use the gallery rule")
    return rule


def decide_argmax(logits: np.ndarray, classes, identities) -> Decisions:
    """Argmax decisions of a classifier; ``classes[k]`` is the identity of logit column k."""
    logits = np.asarray(logits, np.float64)
    classes = np.asarray(classes, np.int64)
    if logits.ndim != 2 or logits.shape[1] != classes.size:
        raise DecisionError(f"logits have shape {logits.shape}; expected (N, {classes.size}) for the declared classes")
    col = {int(c): k for k, c in enumerate(classes)}
    ids = np.asarray(sorted(int(i) for i in identities), np.int64)
    cols = np.array([col[int(i)] for i in ids])
    return Decisions("argmax", ids, logits[:, cols], classes[np.argmax(logits, axis=1)])


def _unit(e: np.ndarray, who: str) -> np.ndarray:
    n = np.linalg.norm(e, axis=1, keepdims=True)
    if np.any(n == 0):
        raise DecisionError(f"{who}: {int((n == 0).sum())} embeddings are all zeros; cosine similarity is undefined")
    return e / n


def decide_gallery(embeddings: np.ndarray, gallery: np.ndarray, gallery_identities) -> Decisions:
    """Nearest-gallery decisions by cosine similarity; gallery rows of the same identity are averaged."""
    e = _unit(np.asarray(embeddings, np.float64), "probe")
    g = np.asarray(gallery, np.float64)
    gid = np.asarray(gallery_identities, np.int64)
    if g.ndim != 2 or e.ndim != 2 or g.shape[1] != e.shape[1] or len(gid) != len(g):
        raise DecisionError(f"gallery {g.shape} and probe {e.shape} embeddings do not match (or identities "
                            f"{gid.shape} do not)")
    ids = np.unique(gid)
    centres = _unit(np.stack([g[gid == i].mean(axis=0) for i in ids]), "gallery")
    scores = e @ centres.T
    return Decisions("gallery", ids, scores, ids[np.argmax(scores, axis=1)])

"""``benchmark score``: how much any model relies on face shape versus face texture.

Stages, each a module: :mod:`.probes` (read probe shards, render the gallery) ->
:mod:`.adapters` (ONNX, RUN folder, TorchScript / callable behind --allow-code, precomputed
outputs) -> :mod:`.decisions` (argmax or nearest gallery embedding) -> :mod:`.metrics`
(retention curves and d50, cue-conflict shape bias, with cluster-bootstrap intervals) and
:mod:`.information` (GCMI I_shape / I_texture and shape reliance, with within-identity permutation
nulls), :mod:`.maps` (per-vertex MI
on the mean face with a max-statistic family-wise threshold),
:mod:`.layers` (hidden-layer MI and pose invariance) -> :mod:`.report` (scores.json, report.html).
:func:`.pipeline.score` runs them; :mod:`.cli` is the click command.
"""
from .adapters import ModelError, ModelInfo, Preprocess, ScoreModel, open_model
from .decisions import Decisions, decide_argmax, decide_gallery
from .pipeline import SCORES_SCHEMA, ScoreResult, Settings, score
from .probes import ProbeError, ProbeSet, read_probe_set, render_gallery
from .report import format_summary, write_report

__all__ = ["open_model", "ModelError", "ModelInfo", "Preprocess", "ScoreModel", "Decisions", "decide_argmax",
           "decide_gallery", "score", "Settings", "ScoreResult", "SCORES_SCHEMA", "ProbeSet", "ProbeError",
           "read_probe_set", "render_gallery", "write_report", "format_summary"]

"""The RUN folder of a training run, and reading a finished run back.

Layout::

    RUN/model.safetensors      final weights (registered architecture, see benchmark.nets)
    RUN/config.json            architecture, classes, preprocessing, data summary, train settings, result
    RUN/metrics.jsonl          one JSON object per log / evaluation event
    RUN/checkpoints/step-NNNNNNNNN.pt   resumable state (weights, optimiser, step), newest kept
    RUN/report/                evaluation tables and heat-map PNGs

Checkpoints are written by this code and loaded with ``torch.load(weights_only=True)``: tensors and
plain containers only, never pickled code.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from ..nets import load_weights

__all__ = [
    "CONFIG_SCHEMA",
    "RunError",
    "RunPaths",
    "latest_checkpoint",
    "load_checkpoint",
    "load_run_model",
    "read_config",
    "save_checkpoint",
]

CONFIG_SCHEMA = "benchmark.run/1"
_CKPT = re.compile(r"step-(\d{9})\.pt$")


class RunError(ValueError):
    """A RUN folder is missing, incomplete, or does not match what was asked of it."""


@dataclass(frozen=True)
class RunPaths:
    """Paths inside a RUN folder."""

    root: Path

    @property
    def model(self) -> Path:
        return self.root / "model.safetensors"

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def report(self) -> Path:
        return self.root / "report"


def save_checkpoint(paths: RunPaths, step: int, state: dict, *, keep: int = 2) -> Path:
    """Write ``state`` atomically as ``checkpoints/step-{step:09d}.pt``; keep the newest ``keep``."""
    paths.checkpoints.mkdir(parents=True, exist_ok=True)
    dst = paths.checkpoints / f"step-{step:09d}.pt"
    tmp = dst.with_name(dst.name + f".tmp-{os.getpid()}")
    torch.save(state, tmp)
    os.replace(tmp, dst)
    old = sorted(p for p in paths.checkpoints.iterdir() if _CKPT.search(p.name))
    for p in old[:-keep] if keep > 0 else []:
        p.unlink()
    return dst


def latest_checkpoint(paths: RunPaths) -> Path | None:
    """The newest complete checkpoint, or None."""
    if not paths.checkpoints.is_dir():
        return None
    found = sorted(p for p in paths.checkpoints.iterdir() if _CKPT.search(p.name))
    return found[-1] if found else None


def load_checkpoint(path: Path) -> dict:
    """A checkpoint's state dict, loaded without unpickling code."""
    return torch.load(path, map_location="cpu", weights_only=True)


def read_config(run: str | Path) -> dict:
    """RUN/config.json, checked for the schema and the keys a model needs."""
    p = RunPaths(Path(run)).config
    try:
        cfg = json.loads(p.read_text())
    except OSError:
        raise RunError(f"{p}: no config.json; is {run} a finished run of 'benchmark train'?") from None
    if cfg.get("schema") != CONFIG_SCHEMA:
        raise RunError(f"{p}: schema {cfg.get('schema')!r}; expected {CONFIG_SCHEMA!r}")
    return cfg


def load_run_model(run: str | Path) -> tuple[torch.nn.Module, dict]:
    """(model in eval mode on CPU, config) of a finished run."""
    cfg = read_config(run)
    paths = RunPaths(Path(run))
    if not paths.model.is_file():
        raise RunError(f"{paths.model}: missing; the run did not finish (resume it with --resume)")
    return load_weights(paths.model, cfg["architecture"], len(cfg["classes"])), cfg

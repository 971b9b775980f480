"""ONNX export of a finished run, checked against onnxruntime.

The ONNX graph takes ``input``: float32 (N, 3, H, W) images normalised as the run's config.json says
(``(pixel / 255 - mean) / std``), N, H and W dynamic; it returns ``logits`` (N, classes) and, with
``embedding=True``, ``embedding`` (N, 512).
"""
from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .run import load_run_model

__all__ = ["export_onnx", "run_onnx"]

log = logging.getLogger(__name__)


class _WithEmbedding(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor):
        h = self.net.hidden(x, ("embedding", "logits"))
        return h["logits"], h["embedding"]


def run_onnx(path: str | Path, x: np.ndarray) -> list[np.ndarray]:
    """Outputs of the ONNX model ``path`` on float32 input ``x`` (N, 3, H, W), via onnxruntime on CPU."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": np.ascontiguousarray(x, dtype=np.float32)})


def export_onnx(run: str | Path, out: str | Path, *, opset: int = 17, embedding: bool = False,
                check: bool = True, seed: int = 0) -> dict:
    """Write the run's model as ONNX to ``out``; with ``check``, compare onnxruntime with torch on random
    inputs at the run's image size. Also writes ``out + ".json"``, the run's config.json, which declares
    classes and preprocessing to ``benchmark score``. Returns {"outputs": names, "max_abs_diff": float | None}."""
    model, cfg = load_run_model(run)
    net = _WithEmbedding(model).eval() if embedding else model.eval()
    size = int(cfg["preprocessing"]["image_size"])
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(seed))
    names = ["logits", "embedding"] if embedding else ["logits"]
    axes = {"input": {0: "batch", 2: "height", 3: "width"}, **{n: {0: "batch"} for n in names}}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), str(out), input_names=["input"], output_names=names, dynamic_axes=axes,
                          opset_version=opset, dynamo=False)
    info: dict = {"outputs": names, "max_abs_diff": None}
    if check:
        with torch.no_grad():
            ref = net(x)
        ref = [ref] if not isinstance(ref, tuple) else list(ref)
        got = run_onnx(out, x.numpy())
        info["max_abs_diff"] = float(max(np.abs(g - r.numpy()).max() for g, r in zip(got, ref)))
        scale = float(max(np.abs(r.numpy()).max() for r in ref))
        if info["max_abs_diff"] > 1e-3 * max(1.0, scale):
            raise ValueError(f"{out}: onnxruntime differs from torch by {info['max_abs_diff']:.3g} "
                             f"(outputs up to {scale:.3g}); the export is wrong")
    # The model's declaration (classes, preprocessing) travels beside it, where benchmark score looks.
    (out.parent / (out.name + ".json")).write_text(json.dumps(cfg, indent=1) + "\n")
    log.info("exported %s to %s (%s)", run, out, info)
    return info

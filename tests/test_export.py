"""benchmark.train.export: ONNX export of a RUN folder matches torch in onnxruntime, at any batch and size."""
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from benchmark.cli import main as cli
from benchmark.nets import ResNet10, save_weights
from benchmark.train.run import CONFIG_SCHEMA

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A RUN folder holding a randomly initialised 5-class ResNet-10 (BN statistics made non-trivial)."""
    d = tmp_path_factory.mktemp("run")
    torch.manual_seed(0)
    net = ResNet10(5)
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(torch.randn(8, 3, 48, 48))
    save_weights(net.eval(), d / "model.safetensors")
    (d / "config.json").write_text(json.dumps({
        "schema": CONFIG_SCHEMA, "architecture": "resnet10", "classes": [0, 1, 2, 3, 4],
        "preprocessing": {"image_size": 48, "mean": [0.5] * 3, "std": [0.25] * 3}}))
    return d, net


def test_onnx_matches_torch_at_other_batch_and_image_sizes(run, tmp_path):
    from benchmark.train.export import export_onnx, run_onnx

    d, net = run
    out = tmp_path / "m.onnx"
    info = export_onnx(d, out, embedding=True)
    assert info["outputs"] == ["logits", "embedding"] and info["max_abs_diff"] < 1e-4
    x = torch.randn(3, 3, 64, 80)
    logits, emb = run_onnx(out, x.numpy())
    with torch.no_grad():
        assert np.abs(logits - net(x).numpy()).max() < 1e-4
        assert emb.shape == (3, 512) and np.abs(emb - net.embed(x).numpy()).max() < 1e-4


def test_export_cli(run, tmp_path):
    d, _ = run
    res = CliRunner().invoke(cli, ["export", str(d), "--onnx", str(tmp_path / "a.onnx")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "a.onnx").stat().st_size > 1_000_000 and "onnxruntime vs torch" in res.output
    assert CliRunner().invoke(cli, ["export", str(d)]).exit_code == 2  # --onnx missing
    assert CliRunner().invoke(cli, ["export", str(tmp_path), "--onnx", str(tmp_path / "b.onnx")]).exit_code == 2

"""Model adapters: an ONNX export scores the same as its RUN folder; code runs only behind
allow_code; preprocessing and output kinds are declared, never guessed; precomputed outputs are
checked key by key."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_score_controls import PROBES, probe_sets, write_control  # noqa: E402

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from benchmark.score import ModelError, Settings, open_model, read_probe_set, score  # noqa: E402

DECL = {"classes": list(range(6)), "preprocessing": {"image_size": 32, "mean": [0.5] * 3, "std": [0.25] * 3}}
LAYERS = ("embedding",)


@pytest.fixture(scope="module")
def sets():
    _, folders = probe_sets()
    return [read_probe_set(folders[n]) for n, _, _ in PROBES]


class Tiny(torch.nn.Module):
    """A small CNN with the ``hidden(x, names)`` interface of benchmark.nets.ResNet10 (fast on a CPU)."""

    names = ("conv1", "layer2", "embedding", "logits")

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 5, 2, 2)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, 2, 1)
        self.fc = torch.nn.Linear(16, num_classes)

    def hidden(self, x, names=names):
        h = {"conv1": torch.relu(self.conv1(x))}
        h["layer2"] = torch.relu(self.conv2(h["conv1"]))
        h["embedding"] = h["layer2"].mean(dim=(2, 3))
        h["logits"] = self.fc(h["embedding"])
        return {n: h[n] for n in names}

    def forward(self, x):
        return self.hidden(x, ("logits",))["logits"]


@pytest.fixture(scope="module")
def run_and_onnx(tmp_path_factory):
    """A RUN folder (a registered architecture's safetensors weights and the config.json 'benchmark
    train' writes) and its ONNX export by benchmark.train.export with the embedding as a second
    output; the RUN's config.json is the ONNX file's sidecar declaration."""
    from benchmark.nets import ARCHITECTURES, register, save_weights

    if "score-test-tiny" not in ARCHITECTURES:
        register("score-test-tiny", Tiny)
    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    net = Tiny(6).eval()
    run = root / "run"
    run.mkdir()
    save_weights(net, run / "model.safetensors")
    cfg = {"schema": "benchmark.run/1", "architecture": "score-test-tiny", **DECL, "hidden_layers": list(Tiny.names)}
    (run / "config.json").write_text(json.dumps(cfg))

    from benchmark.train.export import export_onnx

    path = root / "model.onnx"
    export_onnx(run, path, embedding=True)  # what 'benchmark export RUN --onnx' writes
    (root / "model.onnx.json").write_text((run / "config.json").read_text())  # its declaration, beside it
    return run, path, net.eval()


def test_onnx_export_scores_the_same_as_its_run_folder(run_and_onnx, sets):
    run, path, _ = run_and_onnx
    st = Settings(n_boot=50, n_boot_mi=20, n_perm=50, maps=False)
    a, b = open_model(str(run)), open_model(str(path))
    assert a.info.kind == "run" and b.info.kind == "onnx" and b.info.hidden_layers == LAYERS
    assert a.info.preprocess == b.info.preprocess
    ra, rb = score(a, sets, settings=st).scores["scores"], score(b, sets, settings=st).scores["scores"]
    for k in ("d50_shape", "d50_texture", "shape_bias"):
        assert ra[k] == rb[k]
    for k in ("I_shape", "I_texture", "shape_reliance"):
        assert ra[k]["value"] == pytest.approx(rb[k]["value"], abs=2e-3)
    la = {r["layer"]: r for r in ra["layers"]}
    for r in rb["layers"]:
        assert r["I_shape"] == pytest.approx(la[r["layer"]]["I_shape"], abs=2e-3)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch deprecates TorchScript; we still read it
@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
def test_torchscript_and_callables_need_allow_code(run_and_onnx, tmp_path, sets):
    _, _, net = run_and_onnx
    path = tmp_path / "m.pt"
    torch.jit.save(torch.jit.trace(net, torch.zeros(1, 3, 32, 32)), str(path),
                   _extra_files={"config.json": json.dumps(DECL)})
    with pytest.raises(ModelError, match="--allow-code"):
        open_model(str(path))
    with pytest.raises(ModelError, match="--allow-code"):
        open_model("os:getcwd")
    m = open_model(str(path), allow_code=True)
    imgs = np.zeros((2, 32, 32, 3), np.uint8)
    out = m.predict("x", ["a", "b"], imgs)["output"]
    ref = net(torch.from_numpy(m.info.preprocess.apply(imgs))).detach().numpy()
    assert np.allclose(out, ref, atol=1e-5)
    bare = tmp_path / "bare.pt"
    torch.jit.save(torch.jit.trace(net, torch.zeros(1, 3, 32, 32)), str(bare))
    with pytest.raises(ModelError, match="config.json"):
        open_model(str(bare), allow_code=True)


def test_preprocessing_is_declared_never_guessed(run_and_onnx, tmp_path):
    import shutil

    _, path, _ = run_and_onnx
    bare = tmp_path / "bare.onnx"
    shutil.copy(path, bare)
    with pytest.raises(ModelError, match="declares nothing"):
        open_model(str(bare))
    (tmp_path / "bare.onnx.json").write_text(json.dumps({"output_kind": "embedding"}))
    with pytest.raises(ModelError, match="never guessed"):
        open_model(str(bare))
    (tmp_path / "bare.onnx.json").write_text(json.dumps({**DECL, "output_kind": "scores"}))
    with pytest.raises(ModelError, match="output_kind"):
        open_model(str(bare))
    (tmp_path / "bare.onnx.json").unlink()
    m = onnx.load(str(bare))  # the declaration may also live in the ONNX metadata
    e = m.metadata_props.add()
    e.key, e.value = "benchmark.config", json.dumps(DECL)
    onnx.save(m, str(bare))
    assert open_model(str(bare)).info.preprocess.image_size == 32


def test_precomputed_outputs_are_checked(tmp_path, sets):
    from benchmark.outputs import save_outputs

    folder = write_control(tmp_path / "ok", "shape", sets)
    m = open_model(str(folder))
    assert m.info.kind == "precomputed" and not m.needs_images and len(m.info.sha256) == 64
    with pytest.raises(ModelError, match="no outputs for probe set 'probe-other'"):
        m.predict("probe-other", ["000000_00000000"], None)
    with pytest.raises(ModelError, match="have no outputs"):
        m.predict("probe-cue", ["000099_00000000"], None)
    (folder / "model.json").unlink()
    with pytest.raises(ModelError, match="no declaration model.json"):
        open_model(str(folder))
    np.savez(tmp_path / "pickle.npz", keys=np.array(["000000_00000000"], dtype=object), outputs=np.zeros((1, 6)))
    (tmp_path / "pickle.npz.json").write_text(json.dumps({"output_kind": "logits"}))
    with pytest.raises(ModelError, match="pickles"):
        open_model(str(tmp_path / "pickle.npz")).predict("probe-cue", ["000000_00000000"], None)
    save_outputs(tmp_path / "one.safetensors", sets[1].keys, np.zeros((len(sets[1]), 6), np.float32))
    (tmp_path / "one.safetensors.json").write_text(json.dumps({"output_kind": "embedding"}))
    one = open_model(str(tmp_path / "one.safetensors"))
    assert one.predict("probe-cue", list(sets[1].keys[:3]), None)["output"].shape == (3, 6)

"""benchmark.train: the shard stream (order, resume skip, augmentation), the schedule, training that learns,
resume after SIGKILL equal to an uninterrupted run, the evaluation report and the CLI's usage errors."""
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from benchmark.cli import main as cli
from benchmark.train.data import (
    NO_AUGMENT,
    Augment,
    DataError,
    EvalStream,
    ShardStream,
    decode_image,
    open_dataset,
    worker_skip,
)
from benchmark.train.loop import TIMING_KEYS, TrainConfig, lr_at, train
from facegen.design import parse_config
from facegen.generate import generate
from facegen.model import save_npz

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """4 identities x 40 images at 32 px from the synthetic model, with strong texture differences
    between identities so that a few dozen steps learn them; shards of 12 samples."""
    d = tmp_path_factory.mktemp("data")
    m = synthetic_model()
    m = dataclasses.replace(m, texture_basis=m.texture_basis * 10)
    save_npz(m, d / "synth.npz")
    raw = {"name": "synth", "model": str(d / "synth.npz"), "seed": 3,
           "identities": {"count": 4, "ethnicities": ["a", "b"]},
           "samples": {"mode": "random", "per_identity": 40},
           "intrinsic": {"age": {"levels": [25, 65]}, "expression": {"levels": ["neutral", "happy"]}},
           "extrinsic": {"yaw": {"levels": [-20, 0, 20]}, "light_azimuth": {"levels": [-30, 30]},
                         "scale": {"uniform": [0.95, 1.05]}},
           "render": {"image_size": 32, "format": "jpg", "quality": 90},
           "splits": {"by": "image", "fractions": {"train": 0.7, "val": 0.3}},
           "shards": {"samples_per_shard": 12}}
    generate(parse_config(raw), d / "shards", workers=1, progress=False)
    return d / "shards"


def _stream(spec, **kw):
    args = dict(batch_size=8, seed=1, image_size=32, augment=Augment(), shuffle_buffer=30)
    return ShardStream(spec, "train", **{**args, **kw})


def _take(ds, n, workers=0):
    kw = dict(num_workers=workers, multiprocessing_context="fork") if workers else {}
    it = iter(torch.utils.data.DataLoader(ds, batch_size=None, **kw))
    return [next(it) for _ in range(n)]


def test_open_dataset_reads_classes_and_splits(dataset):
    spec = open_dataset(str(dataset))
    assert spec.classes == (0, 1, 2, 3) and spec.image_size == 32
    assert set(spec.shards) == {"train", "val"} and spec.samples("train") + spec.samples("val") == 160
    with pytest.raises(DataError, match="no split"):
        ShardStream(spec, "test", batch_size=8, seed=0, image_size=32, augment=NO_AUGMENT)
    with pytest.raises(DataError, match="fewer --workers"):
        _stream(spec, workers=50)


def test_stream_is_deterministic_endless_and_resumes_at_any_batch(dataset):
    spec = open_dataset(str(dataset))
    n_batch = spec.samples("train") // 8 + 3  # into the second epoch
    full = _take(_stream(spec, workers=2), n_batch, workers=2)
    again = _take(_stream(spec, workers=2), n_batch, workers=2)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(full, again))
    assert full[0][0].shape == (8, 3, 32, 32) and full[0][0].dtype == torch.uint8
    assert full[0][0].is_contiguous(memory_format=torch.channels_last)
    # shards hold one or two identities each (facegen writes identity-major); interleaving open
    # shards must still mix classes within a batch
    assert all(len(set(b[1].tolist())) >= 3 for b in full[:4])
    for k in (3, n_batch - 4):  # restart after k batches, without decoding the skipped ones
        tail = _take(_stream(spec, workers=2, start_batch=k), 4, workers=2)
        assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(full[k:k + 4], tail))
    # every train sample appears once per epoch (labels histogram of the first epoch of one worker)
    one = _take(_stream(spec, augment=NO_AUGMENT, shuffle_buffer=1000), spec.samples("train") // 8)
    labels = torch.cat([b[1] for b in one]).numpy()
    assert len(labels) == spec.samples("train") // 8 * 8 and set(labels) <= {0, 1, 2, 3}
    assert worker_skip(0, 0, 2) == 0 and worker_skip(5, 0, 2) == 3 and worker_skip(5, 1, 2) == 2


def test_zero_and_one_workers_give_the_same_batches(dataset):
    spec = open_dataset(str(dataset))
    a, b = _take(_stream(spec, workers=1), 5), _take(_stream(spec, workers=1), 5, workers=1)
    assert all(torch.equal(x[0], y[0]) for x, y in zip(a, b))


def test_decode_identity_shift_and_zoom():
    import io

    from PIL import Image

    img = (np.random.default_rng(0).random((16, 16, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "png")
    data = buf.getvalue()
    assert np.array_equal(decode_image(data, 16), img)
    shifted = decode_image(data, 16, 1.0, (1 / 16, 0.0)).astype(int)  # one pixel to the right
    assert np.abs(shifted[:, 1:] - img[:, :-1]).max() <= 1
    half = decode_image(data, 8).astype(float)  # 2x downscale = mean of 2x2 blocks
    assert np.abs(half - img.reshape(8, 2, 8, 2, 3).mean((1, 3))).max() <= 1
    zoomed = decode_image(data, 16, 2.0)  # centre 8x8 magnified
    assert np.abs(zoomed[4:12, 4:12].astype(float).mean() - img[6:10, 6:10].mean()) < 40


def test_schedules():
    cfg = TrainConfig(data="x", lr_max=0.3, lr_min=1e-6, warmup=0.25)
    lrs = [lr_at(s, 100, cfg, 10) for s in range(100)]
    assert lrs[0] == pytest.approx(1e-6) and max(lrs) == pytest.approx(0.3) and lrs[25] == pytest.approx(0.3)
    assert lrs[-1] < 0.001 and all(a >= b for a, b in zip(lrs[25:], lrs[26:]))
    cyc = TrainConfig(data="x", schedule="cyclic", cycle_epochs=1)
    c = [lr_at(s, 100, cyc, 10) for s in range(41)]
    assert c[0] == pytest.approx(1e-6) and c[10] == pytest.approx(0.3) and c[20] == pytest.approx(1e-6)
    assert c[5] == pytest.approx((0.3 + 1e-6) / 2) and c[30] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(data="x", schedule="step")


def _metrics(run):
    recs = [json.loads(line) for line in (Path(run) / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in recs]


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "learn"
    cfg = TrainConfig(data=str(dataset), epochs=6, batch_size=16, lr_max=0.05, workers=0, log_every=4,
                      checkpoint_every=0, eval_every=0, zoom=(1.0, 1.05), shift=0.03)
    return train(cfg, run, progress=False, threads=1)


def test_training_learns_far_above_chance(trained):
    assert trained.val_acc >= 0.7, trained  # chance is 0.25 (4 identities)
    m = _metrics(trained.run)
    assert m[-1]["split"] == "val" and m[-1]["val_samples"] == 160 - open_dataset(
        json.loads((trained.run / "config.json").read_text())["data"]["source"]).samples("train")
    assert m[0]["loss"] > m[-2]["loss"]
    conf = json.loads((trained.run / "config.json").read_text())
    assert conf["architecture"] == "resnet10" and conf["classes"] == [0, 1, 2, 3]
    assert conf["preprocessing"]["image_size"] == 32 and len(conf["preprocessing"]["mean"]) == 3


def test_evaluation_report(trained):
    rep = trained.report
    rd = trained.run / "report"
    assert rep["splits"]["val"]["accuracy"] == pytest.approx(trained.val_acc)
    assert {p.name for p in rd.iterdir()} >= {"summary.json", "accuracy.md", "per_factor.csv",
                                               "heatmap_val_light_azimuth_x_yaw.png"}
    t = rep["splits"]["val"]["factors"]
    assert set(t["yaw"]) == {"-20.0", "0.0", "20.0"} and set(t["light_azimuth"]) == {"-30.0", "30.0"}
    for name in ("yaw", "age", "expression", "gender", "ethnicity", "light_azimuth"):
        assert sum(v["n"] for v in t[name].values()) == rep["splits"]["val"]["n"]
        acc = sum(v["n"] * v["acc"] for v in t[name].values()) / rep["splits"]["val"]["n"]
        assert acc == pytest.approx(rep["splits"]["val"]["accuracy"])
    res = CliRunner().invoke(cli, ["evaluate", str(trained.run), "--split", "val"])
    assert res.exit_code == 0 and "val: accuracy" in res.output


def _train_args(data, out):
    return ["train", "--data", str(data), "--out", str(out), "--steps", "16", "--batch-size", "16",
            "--lr-max", "0.05", "--workers", "0", "--threads", "1", "--checkpoint-every", "6", "--log-every", "4",
            "--eval-every", "6", "--seed", "5", "--no-report", "-q"]


def test_resume_after_sigkill_equals_uninterrupted(dataset, tmp_path):
    whole = tmp_path / "whole"
    res = CliRunner().invoke(cli, _train_args(dataset, whole))
    assert res.exit_code == 0, res.output
    killed = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "benchmark.cli", *_train_args(dataset, killed)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ck = killed / "checkpoints" / "step-000000006.pt"
    deadline = time.time() + 120
    while not ck.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ck.exists() and not (killed / "model.safetensors").exists(), "the run ended before it could be killed"
    res = CliRunner().invoke(cli, _train_args(dataset, killed) + ["--resume"])
    assert res.exit_code == 0, res.output
    from safetensors.torch import load_file

    a, b = load_file(whole / "model.safetensors"), load_file(killed / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert _metrics(whole) == _metrics(killed)
    res = CliRunner().invoke(cli, _train_args(dataset, killed)[:-2] + ["--seed", "6", "--resume"])
    assert res.exit_code == 2 and "different settings" in res.output


def test_cli_usage_errors_exit_2(dataset, tmp_path):
    r = CliRunner()
    assert r.invoke(cli, ["train", "--out", str(tmp_path / "r")]).exit_code == 2  # no --data
    res = r.invoke(cli, ["train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "manifest" in res.output
    res = r.invoke(cli, ["train", "--data", str(dataset), "--out", str(tmp_path / "r"), "--arch", "vgg"])
    assert res.exit_code == 2 and "not registered" in res.output
    res = r.invoke(cli, ["train", "--data", str(dataset), "--out", str(tmp_path / "r2"), "--resume"])
    assert res.exit_code == 2 and "nothing to resume" in res.output
    assert r.invoke(cli, ["evaluate", str(tmp_path)]).exit_code == 2  # not a run


def test_verify_sha256_catches_a_corrupt_shard(dataset, tmp_path):
    import shutil

    d = tmp_path / "copy"
    shutil.copytree(dataset, d)
    victim = sorted(d.glob("val-*.tar"))[0]
    data = bytearray(victim.read_bytes())
    data[-2000] ^= 0xFF
    victim.write_bytes(bytes(data))
    spec = open_dataset(str(d))
    with pytest.raises(DataError, match="sha256"):
        next(iter(EvalStream(spec, "val", batch_size=4, image_size=32, verify_sha256=True)))

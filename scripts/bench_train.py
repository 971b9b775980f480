"""Training throughput: the full pipeline (read shards, decode, augment, train step) against the model alone.

Both run in this one process, alternately (model alone, pipeline, model alone, pipeline, ...), with
the same batch size, image size, threads and optimiser, so that load from other programs affects both
alike; the figures are medians over rounds, images per second, excluding each round's first window.

    python scripts/bench_train.py                      # synthetic-model shards at 64 px (made here)
    python scripts/bench_train.py --data out/mini      # a facegen dataset, e.g. the mini preset
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmark.nets import build
from benchmark.train.data import normalize, open_dataset
from benchmark.train.loop import TrainConfig, train

log = logging.getLogger("bench_train")


def synthetic_shards(out: Path, size: int, identities: int, per: int) -> Path:
    """Shards rendered from the synthetic test model (tests/synth.py): jpg at ``size`` px, 200 per shard."""
    import dataclasses

    sys.path.insert(0, str(ROOT / "tests"))
    from synth import synthetic_model

    from facegen.design import parse_config
    from facegen.generate import generate
    from facegen.model import save_npz

    m = synthetic_model()
    save_npz(dataclasses.replace(m, texture_basis=m.texture_basis * 5), out / "synth.npz")
    raw = {"name": "bench", "model": str(out / "synth.npz"), "seed": 1,
           "identities": {"count": identities, "ethnicities": ["a", "b", "c"]},
           "samples": {"mode": "random", "per_identity": per},
           "intrinsic": {"age": {"levels": [25, 45, 65]}, "expression": {"levels": ["neutral", "happy", "surprise"]}},
           "extrinsic": {"yaw": {"levels": [-30, -15, 0, 15, 30]}, "pitch": {"levels": [-30, -15, 0, 15, 30]},
                         "light_azimuth": {"levels": [-30, 0, 30]}, "scale": {"uniform": [0.9, 1.1]},
                         "translation_x": {"uniform": [-3, 3]}, "translation_y": {"uniform": [-3, 3]}},
           "render": {"image_size": size, "format": "jpg", "quality": 90},
           "shards": {"samples_per_shard": 200}}
    generate(parse_config(raw), out / "shards", workers=1, progress=False)
    return out / "shards"


def model_alone(classes: int, size: int, batch: int, steps: int, channels_last: bool) -> float:
    """images/s of normalise + forward + loss + backward + SGD step on one fixed uint8 batch."""
    torch.manual_seed(0)
    net = build("resnet10", classes)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randint(0, 256, (batch, size, size, 3), dtype=torch.uint8).permute(0, 3, 1, 2)
    y = torch.randint(0, classes, (batch,))
    times = []
    for i in range(steps + 2):
        t = time.perf_counter()
        xin = normalize(x).contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        loss = F.cross_entropy(net(xin), y)  # as benchmark.train.loop does
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return batch * steps / sum(times[2:])


def pipeline(data: str, run: Path, batch: int, steps: int, workers: int, channels_last: bool) -> float:
    """images/s of ``benchmark.train.loop.train`` (shards -> decode -> augment -> step), first window dropped."""
    shutil.rmtree(run, ignore_errors=True)
    window = max(2, steps // 4)
    cfg = TrainConfig(data=data, steps=steps + window, batch_size=batch, workers=workers, log_every=window,
                      checkpoint_every=0, val_split="none", report=False, channels_last=channels_last,
                      lr_max=0.05)
    train(cfg, run, progress=False)
    recs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    imgs = sum(window * batch for _ in recs[1:])
    secs = sum(window * batch / r["images_per_s"] for r in recs[1:])
    return imgs / secs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="facegen dataset (default: render synthetic-model shards here)")
    ap.add_argument("--size", type=int, default=64, help="image side of the synthetic shards, px")
    ap.add_argument("--batch-size", type=int, default=128, help="images per step")
    ap.add_argument("--steps", type=int, default=24, help="timed steps per round")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of both measurements")
    ap.add_argument("--workers", type=int, default=1, help="decoding processes of the pipeline")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--channels-last", action="store_true", help="channels-last memory format in both")
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if a.threads:
        torch.set_num_threads(a.threads)
    tmp = Path(tempfile.mkdtemp(prefix="bench_train_"))
    try:
        data = a.data or str(synthetic_shards(tmp, a.size, 24, 120))
        spec = open_dataset(data)
        size = spec.image_size
        alone, full, ratios = [], [], []
        for r in range(a.rounds):
            alone.append(model_alone(len(spec.classes), size, a.batch_size, a.steps, a.channels_last))
            full.append(pipeline(data, tmp / "run", a.batch_size, a.steps, a.workers, a.channels_last))
            ratios.append(full[-1] / alone[-1])
            print(f"round {r}: model alone {alone[-1]:.1f} images/s, full pipeline {full[-1]:.1f} images/s, "
                  f"ratio {ratios[-1]:.3f}", file=sys.stderr, flush=True)
        ma, fp = statistics.median(alone), statistics.median(full)
        print(f"data {spec.name} ({size} px, {len(spec.classes)} classes), batch {a.batch_size}, "
              f"torch threads {torch.get_num_threads()}, pipeline workers {a.workers}, "
              f"channels-last {a.channels_last}")
        print(f"model alone (synthetic tensors): {ma:8.1f} images/s")
        print(f"full pipeline (shards->train):   {fp:8.1f} images/s")
        print(f"pipeline / model alone:          {fp / ma:8.3f}  (ratio of medians; target >= 0.90)")
        print(f"median of per-round ratios:      {statistics.median(ratios):8.3f}  "
              f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

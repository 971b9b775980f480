"""GPU check: render xu2018-style 224 px shards, train the ResNet-10 a few hundred steps, print images/s.

Self-contained and offline (needs the facegen/benchmark tree, torch with CUDA, webdataset):

    python scripts/gpu_train_check.py                    # 10,000 images, 300 steps of 256, 10 decoders
    python scripts/gpu_train_check.py --images 20000 --steps 500 --workers 14

On a lent H200 (torch 2.11, 16 cores), the defaults gave: rendering 601 images/s; pipeline 4,515
images/s with 10 decoding processes (JPEG decode bound) against 16,497 images/s for the model alone.

Prints, in one run: rendering images/s; the full training pipeline's images/s (shards -> decode ->
augment -> bf16 channels-last train step), first log window excluded; the model alone on synthetic
tensors (same batch, same settings); their ratio; validation accuracy. With $OUT set, writes
summary.json and metrics.jsonl there.
"""
from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch
import torch.nn.functional as F

log = logging.getLogger("gpu_train_check")


def design(images: int, identities: int) -> dict:
    """The xu2018 preset (224 px jpg, every factor of the paper, random scale and shift) with ``identities``
    identities and ``images`` random factor draws in all, 250 samples per shard."""
    from facegen.design.presets import PRESETS

    d = copy.deepcopy(PRESETS["xu2018"])
    d["name"] = "xu2018-gpucheck"
    d["identities"]["count"] = identities
    d["samples"] = {"mode": "random", "per_identity": max(1, images // identities)}
    d["shards"] = {"samples_per_shard": 250}
    return d


def model_alone(classes: int, size: int, batch: int, steps: int) -> float:
    """images/s of the train step alone (bf16 autocast, channels-last) on one fixed uint8 batch on the GPU."""
    from benchmark.nets import build
    from benchmark.train.data import normalize

    dev = torch.device("cuda")
    net = build("resnet10", classes).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randint(0, 256, (batch, size, size, 3), dtype=torch.uint8, device=dev).permute(0, 3, 1, 2)
    y = torch.randint(0, classes, (batch,), device=dev)
    for i in range(steps + 10):
        if i == 10:
            torch.cuda.synchronize()
            t = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = net(normalize(x).contiguous(memory_format=torch.channels_last))
        loss = F.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=10000, help="images to render (all splits)")
    ap.add_argument("--identities", type=int, default=100, help="identities (classes)")
    ap.add_argument("--steps", type=int, default=300, help="training steps")
    ap.add_argument("--batch-size", type=int, default=256, help="images per step")
    ap.add_argument("--workers", type=int, default=min(10, max(1, (os.cpu_count() or 2) - 2)),
                    help="decoding processes (each needs >= batch-size train samples per epoch)")
    ap.add_argument("--gen-workers", type=int, default=os.cpu_count() or 1, help="rendering processes")
    ap.add_argument("--dir", default="/tmp/gpu_train_check", help="scratch folder (shards, run)")
    a = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if not torch.cuda.is_available():
        sys.exit("gpu_train_check: CUDA is not available here")
    from benchmark.train.loop import TrainConfig, train
    from facegen.design import parse_config
    from facegen.generate import generate

    work = Path(a.dir)
    shutil.rmtree(work, ignore_errors=True)
    t = time.perf_counter()
    res = generate(parse_config(design(a.images, a.identities)), work / "shards", workers=a.gen_workers, progress=False)
    gen_s = time.perf_counter() - t
    n = sum(s["samples"] for s in res.manifest["shards"])
    print(f"rendered {n} images at 224 px in {gen_s:.1f} s ({n / gen_s:.0f} images/s, {a.gen_workers} processes, "
          f"model load and JIT included)", flush=True)

    window = 25
    cfg = TrainConfig(data=str(work / "shards"), steps=a.steps, batch_size=a.batch_size, workers=a.workers,
                      log_every=window, checkpoint_every=0, report=False, device="cuda", lr_max=0.2,
                      shuffle_buffer=1000)
    r = train(cfg, work / "run", progress=False)
    recs = [json.loads(line) for line in (work / "run" / "metrics.jsonl").read_text().splitlines()]
    steady = [x for x in recs if "images_per_s" in x][1:]
    pipe = sum(window * a.batch_size for _ in steady) / sum(window * a.batch_size / x["images_per_s"] for x in steady)
    alone = model_alone(a.identities, 224, a.batch_size, 100)
    summary = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "rendered_images": n,
               "render_images_per_s": n / gen_s, "steps": r.steps, "batch_size": a.batch_size, "workers": a.workers,
               "pipeline_images_per_s": pipe, "model_alone_images_per_s": alone, "ratio": pipe / alone,
               "train_seconds": r.seconds, "val_acc": r.val_acc, "classes": a.identities}
    print(f"{summary['device']}: full pipeline {pipe:.0f} images/s ({a.workers} decoding processes), model alone "
          f"{alone:.0f} images/s, ratio {pipe / alone:.2f}; {r.steps} steps in {r.seconds:.1f} s; "
          f"val accuracy {r.val_acc:.3f} ({a.identities} classes)", flush=True)
    print(json.dumps(summary))
    out = os.environ.get("OUT")
    if out:
        Path(out, "summary.json").write_text(json.dumps(summary, indent=1))
        shutil.copy(work / "run" / "metrics.jsonl", Path(out) / "metrics.jsonl")


if __name__ == "__main__":
    main()

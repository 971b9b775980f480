"""Training the reference network on facegen shards: SGD + cyclic / one-cycle LR, checkpoints, resume, DDP.

Determinism: the model initialises from :func:`seed_everything` and every data-side random choice is
a pure function of the seed and the sample (see :mod:`benchmark.train.data`), so on CPU the same
config gives the same weights and metrics, and a run killed after a checkpoint and resumed with
``resume=True`` ends identical to an uninterrupted one (timing fields of metrics aside).

Multi-GPU / multi-node: start with ``torchrun``; ranks read disjoint shards and gradients are
averaged by DistributedDataParallel. Rank 0 alone writes the RUN folder.
"""
from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..nets import build, save_weights
from .data import (
    MEAN,
    STD,
    Augment,
    EvalStream,
    ShardStream,
    normalize,
    open_dataset,
    spec_dict,
)
from .run import (
    CONFIG_SCHEMA,
    RunError,
    RunPaths,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)

__all__ = ["SCHEDULES", "TIMING_KEYS", "TrainConfig", "TrainResult", "lr_at", "seed_everything", "train"]

log = logging.getLogger(__name__)

SCHEDULES = ("onecycle", "cyclic")
#: metrics keys that measure time (they differ between otherwise identical runs)
TIMING_KEYS = ("images_per_s", "elapsed_s")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run's result. Steps are optimiser steps of one global batch.

    ``epochs`` sets the length (``ceil(epochs * train_samples / (batch_size * world))`` steps) unless
    ``steps`` is given. ``schedule`` 'onecycle': linear warm-up from ``lr_min`` to ``lr_max`` over the
    first ``warmup`` fraction, then cosine down to ``lr_min``; 'cyclic': triangular between ``lr_min``
    and ``lr_max`` with a half period of ``cycle_epochs`` epochs (the paper's code: 1e-6 to 0.3).
    ``image_size`` None trains at the rendered size. ``workers`` DataLoader processes per rank (0 = in
    the main process; 0 and 1 give the same batches).
    """

    data: str
    arch: str = "resnet10"
    epochs: float = 10.0
    steps: int | None = None
    batch_size: int = 128
    lr_max: float = 0.3
    lr_min: float = 1e-6
    schedule: str = "onecycle"
    warmup: float = 0.25
    cycle_epochs: float = 2.0
    momentum: float = 0.9
    weight_decay: float = 5e-4
    seed: int = 0
    image_size: int | None = None
    zoom: tuple[float, float] = (0.95, 1.1)
    shift: float = 0.06
    shuffle_buffer: int = 10000
    open_shards: int = 16
    workers: int = 1
    train_split: str = "train"
    val_split: str = "val"
    eval_every: int = 0
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    log_every: int = 20
    device: str = "auto"
    amp: bool = True
    channels_last: bool | None = None
    verify_sha256: bool = False
    report: bool = True

    def __post_init__(self) -> None:
        checks = [("epochs", self.epochs > 0, "> 0"), ("batch_size", self.batch_size >= 2, ">= 2"),
                  ("lr_max", self.lr_max > 0, "> 0"), ("lr_min", 0 <= self.lr_min <= self.lr_max, "in [0, lr_max]"),
                  ("schedule", self.schedule in SCHEDULES, f"one of {SCHEDULES}"),
                  ("warmup", 0 <= self.warmup < 1, "in [0, 1)"), ("cycle_epochs", self.cycle_epochs > 0, "> 0"),
                  ("momentum", 0 <= self.momentum < 1, "in [0, 1)"), ("weight_decay", self.weight_decay >= 0, ">= 0"),
                  ("steps", self.steps is None or self.steps >= 1, ">= 1"),
                  ("image_size", self.image_size is None or self.image_size >= 32, ">= 32"),
                  ("zoom", len(self.zoom) == 2 and 0 < self.zoom[0] <= self.zoom[1], "(lo, hi) with 0 < lo <= hi"),
                  ("shift", 0 <= self.shift < 0.5, "in [0, 0.5)"), ("workers", self.workers >= 0, ">= 0"),
                  ("shuffle_buffer", self.shuffle_buffer >= 1, ">= 1"),
                  ("open_shards", self.open_shards >= 1, ">= 1"), ("eval_every", self.eval_every >= 0, ">= 0"),
                  ("checkpoint_every", self.checkpoint_every >= 0, ">= 0"), ("log_every", self.log_every >= 1, ">= 1"),
                  ("keep_checkpoints", self.keep_checkpoints >= 1, ">= 1")]
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"TrainConfig.{name}: got {getattr(self, name)!r}; expected {allowed}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["zoom"] = list(self.zoom)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        extra = sorted(set(d) - known)
        if extra:
            raise ValueError(f"train config: unknown keys {extra}; known: {sorted(known)}")
        return cls(**{**d, "zoom": tuple(d.get("zoom", (0.95, 1.1)))})


@dataclass(frozen=True)
class TrainResult:
    """What a finished run reached: steps, final validation accuracy (fraction) and loss, wall time (s)."""

    run: Path
    steps: int
    val_acc: float | None
    val_loss: float | None
    seconds: float
    images_per_s: float
    report: dict = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA) from ``seed``.

    CPU kernels are deterministic for a fixed thread count; on GPU cuDNN autotuning (enabled for speed)
    makes results vary slightly between runs.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def lr_at(step: int, total: int, cfg: TrainConfig, steps_per_epoch: float) -> float:
    """Learning rate of optimiser step ``step`` (0-based) of ``total`` under ``cfg.schedule``."""
    lo, hi = cfg.lr_min, cfg.lr_max
    if cfg.schedule == "cyclic":
        half = max(1.0, cfg.cycle_epochs * steps_per_epoch)
        return lo + (hi - lo) * (1 - abs((step / half) % 2 - 1))
    warm = cfg.warmup * total
    if step < warm:
        return lo + (hi - lo) * step / warm
    t = (step - warm) / max(1.0, total - warm)
    return lo + (hi - lo) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def _dist() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment; (0, 1, 0) when not distributed."""
    env = os.environ
    return int(env.get("RANK", "0")), int(env.get("WORLD_SIZE", "1")), int(env.get("LOCAL_RANK", "0"))


def _device(cfg: TrainConfig, local_rank: int) -> torch.device:
    if cfg.device == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    dev = torch.device(cfg.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {cfg.device!r}: CUDA is not available here; use --device cpu or auto")
    return torch.device(f"cuda:{local_rank}") if dev.type == "cuda" and dev.index is None else dev


def _loader(ds, workers: int, cuda: bool) -> torch.utils.data.DataLoader:
    kw = dict(prefetch_factor=4, multiprocessing_context="fork") if workers > 0 else {}
    return torch.utils.data.DataLoader(ds, batch_size=None, num_workers=workers, pin_memory=cuda, **kw)


@torch.no_grad()
def _evaluate(model, spec, split: str, cfg: TrainConfig, size: int, device, rank: int, world: int,
              dtype) -> tuple[float, float, int]:
    """(accuracy, mean loss, samples) of ``model`` on ``split``, summed over ranks."""
    was = model.training
    model.eval()
    ds = EvalStream(spec, split, batch_size=cfg.batch_size, image_size=size, part=rank, parts=world)
    tot = torch.zeros(3, dtype=torch.float64, device=device)
    for x, y, _ in _loader(ds, min(cfg.workers, 1), device.type == "cuda"):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            logits = model(normalize(x))
        tot += torch.stack([(logits.argmax(1) == y).sum().double(),
                            F.cross_entropy(logits.float(), y, reduction="sum").double(),
                            torch.tensor(float(len(y)), device=device, dtype=torch.float64)])
    if world > 1:
        torch.distributed.all_reduce(tot)
    model.train(was)
    n = max(1.0, tot[2].item())
    return tot[0].item() / n, tot[1].item() / n, int(tot[2].item())


def _log_metrics(paths: RunPaths, rec: dict) -> None:
    with open(paths.metrics, "a") as fh:
        fh.write(json.dumps(rec, sort_keys=True) + "\n")


def _prepare_run(paths: RunPaths, cfg: TrainConfig, resume: bool) -> dict | None:
    """Check the RUN folder against ``resume``; return the checkpoint state to resume from, if any."""
    saved = paths.root / "train.json"
    if resume:
        if not saved.is_file():
            raise RunError(f"{paths.root}: nothing to resume (no train.json); start without --resume")
        old = json.loads(saved.read_text())
        if old != cfg.to_dict():
            diff = sorted(k for k in set(old) | set(cfg.to_dict()) if old.get(k) != cfg.to_dict().get(k))
            raise RunError(f"{paths.root}: --resume with different settings {diff}; resume with the options "
                           f"of the first run (see {saved})")
        ck = latest_checkpoint(paths)
        return None if ck is None else load_checkpoint(ck)
    if saved.exists() or paths.model.exists():
        raise RunError(f"{paths.root} already holds a run; use --resume to continue it or a new --out")
    paths.root.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(cfg.to_dict(), indent=1) + "\n")
    return None


def train(cfg: TrainConfig, out: str | Path, *, resume: bool = False, progress: bool = True,
          threads: int | None = None) -> TrainResult:
    """Train ``cfg.arch`` on ``cfg.data`` into the RUN folder ``out`` (see :mod:`benchmark.train.run`)."""
    rank, world, local = _dist()
    paths = RunPaths(Path(out))
    if threads:
        torch.set_num_threads(threads)
    device = _device(cfg, local)
    if world > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
    spec = open_dataset(cfg.data)
    size = cfg.image_size or spec.image_size
    state = _prepare_run(paths, cfg, resume) if rank == 0 else None
    if world > 1:  # rank 0's checkpoint reaches every rank, with or without a shared file system
        box = [state]
        torch.distributed.broadcast_object_list(box)
        state = box[0]
    n_train = spec.samples(cfg.train_split)
    steps_per_epoch = n_train / (cfg.batch_size * world)
    total = cfg.steps or math.ceil(cfg.epochs * steps_per_epoch)

    seed_everything(cfg.seed)
    model = build(cfg.arch, len(spec.classes)).to(device)
    cl = cfg.channels_last if cfg.channels_last is not None else device.type == "cuda"
    if cl:
        model = model.to(memory_format=torch.channels_last)
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": cfg.weight_decay},
                           {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr_min, momentum=cfg.momentum)
    step = 0
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step = int(state["step"])
        if rank == 0 and paths.metrics.exists():
            with open(paths.metrics, "r+b") as fh:  # drop records written after the checkpoint
                fh.truncate(int(state["metrics_bytes"]))
        log.info("resuming %s at step %d of %d", paths.root, step, total)
    net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda"
                                                    else None) if world > 1 else model
    amp_dtype = torch.bfloat16 if (cfg.amp and device.type == "cuda") else torch.float32
    ds = ShardStream(spec, cfg.train_split, batch_size=cfg.batch_size, seed=cfg.seed, image_size=size,
                     augment=Augment(cfg.zoom, cfg.shift), shuffle_buffer=cfg.shuffle_buffer, rank=rank,
                     world_size=world, workers=cfg.workers, start_batch=step, verify_sha256=cfg.verify_sha256,
                     open_shards=cfg.open_shards)
    from tqdm import tqdm

    bar = tqdm(total=total, initial=step, unit="step", disable=not progress or rank != 0,
               desc=f"train {spec.name}", dynamic_ncols=True)
    t0 = time.perf_counter()
    t_win, n_win, seen = t0, 0, 0
    acc_sum = torch.zeros(2, device=device)  # (loss * images, correct) over the current log window
    if state is not None:
        acc_sum += state["window"].to(device)
        n_win = int(state["window_images"])
    val = (None, None, 0)
    net.train()
    it = iter(_loader(ds, cfg.workers, device.type == "cuda"))
    while step < total:
        x, y = next(it)
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        lr = lr_at(step, total, cfg, steps_per_epoch)
        for g in opt.param_groups:
            g["lr"] = lr
        # batches arrive as channels-last views of NHWC bytes; give the net the layout it was built for
        xin = normalize(x).contiguous(memory_format=torch.channels_last if cl else torch.contiguous_format)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype != torch.float32):
            logits = net(xin)
        loss = F.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        acc_sum += torch.stack([loss.detach() * len(y), (logits.argmax(1) == y).sum().float()])
        n_win += len(y)
        seen += len(y)
        bar.update(1)
        if step % cfg.log_every == 0 or step == total:
            now = time.perf_counter()
            ls, ac = (acc_sum / n_win).tolist()
            ips = n_win * world / max(now - t_win, 1e-9)
            rec = {"step": step, "epoch": round(step / steps_per_epoch, 4), "lr": lr, "loss": ls, "acc": ac,
                   "images_per_s": round(ips, 1), "elapsed_s": round(now - t0, 2)}
            if rank == 0:
                _log_metrics(paths, rec)
            bar.set_postfix(loss=f"{ls:.3f}", acc=f"{ac:.3f}", img_s=f"{ips:.0f}")
            acc_sum.zero_()
            t_win, n_win = now, 0
        if (cfg.eval_every and step % cfg.eval_every == 0) or step == total:
            if cfg.val_split in spec.shards:
                val = _evaluate(model, spec, cfg.val_split, cfg, size, device, rank, world, amp_dtype)
                if rank == 0:
                    _log_metrics(paths, {"step": step, "split": cfg.val_split, "val_acc": val[0],
                                         "val_loss": val[1], "val_samples": val[2]})
                    log.info("step %d: %s accuracy %.4f", step, cfg.val_split, val[0])
            t_win = time.perf_counter()  # evaluation time is not training throughput
        if rank == 0 and cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < total:
            save_checkpoint(paths, step, {"step": step, "model": model.state_dict(), "optimizer": opt.state_dict(),
                                          "window": acc_sum.cpu(), "window_images": n_win,
                                          "metrics_bytes": paths.metrics.stat().st_size if paths.metrics.exists()
                                          else 0}, keep=cfg.keep_checkpoints)
    bar.close()
    seconds = time.perf_counter() - t0
    report: dict = {}
    if rank == 0:
        save_weights(model, paths.model, metadata={"architecture": cfg.arch, "classes": str(len(spec.classes))})
        conf = {"schema": CONFIG_SCHEMA, "architecture": cfg.arch, "classes": list(spec.classes),
                "class_meaning": "class k is facegen identity classes[k] (sample record 'identity')",
                "preprocessing": {"image_size": size, "layout": "NCHW RGB", "input": "uint8 / 255",
                                  "mean": list(MEAN), "std": list(STD),
                                  "formula": "x = (pixel / 255 - mean) / std per channel"},
                "hidden_layers": ["stem", "layer1", "layer2", "layer3", "layer4", "embedding", "logits"],
                "data": spec_dict(spec), "train": cfg.to_dict(), "world_size": world,
                "result": {"steps": step, "val_split": cfg.val_split, "val_acc": val[0], "val_loss": val[1]}}
        paths.config.write_text(json.dumps(conf, indent=1) + "\n")
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    if rank == 0 and cfg.report:
        from .evaluate import evaluate_run

        report = evaluate_run(paths.root, device=str(device), batch_size=cfg.batch_size, workers=min(cfg.workers, 1))
    return TrainResult(run=paths.root, steps=step, val_acc=val[0], val_loss=val[1], seconds=seconds,
                       images_per_s=seen * world / max(seconds, 1e-9), report=report)

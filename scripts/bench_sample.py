#!/usr/bin/env python
"""End-to-end throughput of `facegen sample` (compose face + render + encode + tar + write).

Prints images/s at 64/128/224 px, png and jpg, for 1 and N worker processes, and the projected
wall time of the full xu2018 preset (26,250,000 images at 224 px) on 100 cores from the measured
per-core rate. Baseline in the same run: render-only throughput of one process, so the table shows
what encoding and writing cost on top of rendering.

    python scripts/bench_sample.py            # full table (a few minutes on 2 cores)
    python scripts/bench_sample.py --quick    # fewer images per cell
    python scripts/bench_sample.py --workers 16 --images 8000   # a bigger machine
    python scripts/bench_sample.py --detail full   # every triangle of the model at every size
    python scripts/bench_sample.py --sizes 128 224 --formats jpg --images 8000 --repeat 3   # medians

``--detail`` is the design's ``render.detail`` (default ``auto``: a quarter of the embedded model's
triangles at 64 and 128 px, half at 224 px; ``facegen.model.lod``); the ``mesh`` column shows the
triangles rendered at each size.

``CPU/image`` is the CPU time of all processes (parent and workers) per image with N workers, and
with one: it moves less than wall-clock rates when a shared VM's cores are slow or contended, and
``1e6 / CPU`` is what a core gives when it is not.

The design is xu2018's factors over 50 identities: every worker keeps the identities it has drawn
(``FACEGEN_IDENTITY_CACHE_MB``, default 1024, holds all 2,000 of xu2018's), so after the first
image of each person a full run costs what this measures.
"""
from __future__ import annotations

import argparse
import copy
import os
import resource
import tempfile
import time

import numpy as np

from facegen.design import PRESETS, parse_config, plan_shards
from facegen.generate import generate
from facegen.model import load_model
from facegen.sampler import context_for, render_samples


def design(size: int, fmt: str, n: int, workers: int, model: str, detail="auto") -> dict:
    raw = copy.deepcopy(PRESETS["xu2018"])
    raw.update(model=model, name=f"bench{size}{fmt}")
    raw["identities"]["count"] = 50
    raw["render"].update(image_size=size, format=fmt, detail=detail)
    # translation scaled with the image as in xu2018 (5% of the side)
    t = round(0.05 * size, 2)
    raw["extrinsic"].update(translation_x={"uniform": [-t, t]}, translation_y={"uniform": [-t, t]})
    raw["shards"]["samples_per_shard"] = max(50, n // (4 * workers))
    return raw


def warm(cfg) -> None:
    shard = plan_shards(cfg, limit=8)[0]
    for _ in render_samples(cfg, shard):
        pass


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker pool's processes)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def run(size, fmt, workers, n, model, detail) -> tuple[float, float]:
    """(images/s wall clock, CPU µs per image summed over all processes) of one ``generate``."""
    cfg = parse_config(design(size, fmt, n, workers, model, detail))
    warm(cfg)
    with tempfile.TemporaryDirectory() as d:
        c0, t0 = _cpu_seconds(), time.perf_counter()
        generate(cfg, d, workers=workers, limit=n, progress=False)
        wall, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
        return n / wall, cpu / n * 1e6


def render_only(size, n, model, detail) -> float:
    from facegen.render import Camera, Lighting, render

    cfg = parse_config(design(size, "jpg", n, 1, model, detail))
    ctx = context_for(cfg)
    ident = ctx.identity(0)
    verts, alb = ident[1], np.clip(ident[2], 0, 1)
    render(verts, ctx.model.triangles, alb, size=size, camera=Camera(center=ctx.center))
    t0 = time.perf_counter()
    for k in range(n):
        render(verts, ctx.model.triangles, alb, size=size, lighting=Lighting(),
               camera=Camera(yaw=-30 + 60 * k / n, center=ctx.center), landmarks=ctx.model.landmarks)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer images per measurement")
    ap.add_argument("--model", default="embedded", help="model spec (default: embedded)")
    ap.add_argument("--workers", type=int, default=os.cpu_count(), help="the multi-process column")
    ap.add_argument("--images", type=int, default=None,
                    help="images per cell (default 2000, 400 with --quick; raise it with many workers)")
    ap.add_argument("--detail", default="auto", type=lambda x: x if x in ("auto", "full") else float(x),
                    help="render.detail of the design: auto (default), full, 0.5 or 0.25")
    ap.add_argument("--repeat", type=int, default=1,
                    help="time each cell this many times and print the median (a shared VM drifts between runs)")
    ap.add_argument("--sizes", nargs="+", type=int, default=[64, 128, 224], help="image sides, pixels")
    ap.add_argument("--formats", nargs="+", default=["jpg", "png"], choices=["jpg", "png"], help="image formats")
    a = ap.parse_args()
    n = a.images or (400 if a.quick else 2000)
    full = load_model(a.model)
    print(f"model: {full.name} ({full.n_vertices} vertices, {len(full.triangles)} triangles); render.detail: "
          f"{a.detail}; {n} images per cell; cores: {os.cpu_count()}")
    print(f"{'size':>5} {'mesh':>7} {'format':>6} {'render only':>12} {'1 worker':>10} {f'{a.workers} workers':>11} "
          f"{'speed-up':>9} {'CPU/image':>10} {'(1 worker)':>10}")
    rates = {}
    for size in a.sizes:
        ro = render_only(size, n, a.model, a.detail)
        tris = context_for(parse_config(design(size, "jpg", n, 1, a.model, a.detail))).renderer["triangles"]
        for fmt in a.formats:
            one, many = [], []
            for _ in range(a.repeat):  # interleaved, so a slow spell of a shared VM hits both columns
                one.append(run(size, fmt, 1, n, a.model, a.detail))
                many.append(run(size, fmt, a.workers, n, a.model, a.detail))
            (r1, c1), (rn, cn) = np.median(one, axis=0), np.median(many, axis=0)
            rates[(size, fmt)] = rn / a.workers
            print(f"{size:>5} {tris:>7} {fmt:>6} {ro:>10.0f}/s {r1:>8.0f}/s {rn:>9.0f}/s {rn / r1:>8.2f}x "
                  f"{cn:>7.0f} µs {c1:>7.0f} µs")
    if (224, "jpg") not in rates:
        return
    per_core = rates[(224, "jpg")]
    total = parse_config(PRESETS["xu2018"]).n_samples
    secs = total / (per_core * 100)
    print(f"xu2018 preset: {total:,} images at 224 px jpg; measured {per_core:.0f} images/s per core here "
          f"-> projected {secs / 60:.1f} min on 100 such cores (linear scaling assumed)")


if __name__ == "__main__":
    main()

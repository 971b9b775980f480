#!/usr/bin/env python
"""Levels of detail: render time and image change of each level of a model (``facegen.model.lod``).

For each level (1, 1/2, 1/4 of the triangles, as ``render.detail`` chooses them) and image size:
microseconds per ``render()`` call (CPU time, best of 5 x 100 calls; the full mesh is the baseline
timed in the same run), and against the full mesh's image of the same faces (random identities
and expressions of the model, three poses and lights): the mean absolute difference over face
pixels (/255), its 99th percentile (the largest local changes, at eyes and lips), and the mask
IoU. The ``auto`` column marks the level ``render.detail: auto`` renders at that size.

    python scripts/bench_lod.py                       # embedded model, 64 / 128 / 224 px
    python scripts/bench_lod.py --sizes 224 512 --model path/to/model.npz
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from facegen.model import load_model
from facegen.model.lod import DETAIL_LEVELS, at_detail, auto_fraction
from facegen.render import Camera, DirectionalLight, Lighting, render


def _best_us(fn, n=100, reps=5) -> float:
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.thread_time()
        for _ in range(n):
            fn()
        best = min(best, (time.thread_time() - t0) / n * 1e6)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="embedded", help="model spec (default: embedded)")
    ap.add_argument("--sizes", nargs="+", type=int, default=[64, 128, 224], help="image sides, pixels")
    ap.add_argument("--faces", type=int, default=3, help="random faces compared per size")
    a = ap.parse_args()
    m = load_model(a.model)
    c = tuple(float(x) for x in (m.mean_shape.min(0) + m.mean_shape.max(0)) / 2)
    rng = np.random.default_rng(0)
    idents = [m.sample_identity(rng) for _ in range(a.faces)]
    exprs = ["neutral"] + sorted(m.expressions)
    views = [(Camera(yaw=float(y), pitch=float(p), center=c), Lighting((DirectionalLight(float(az), 15, 0.65),),
                                                                        ambient=0.35))
             for y, p, az in rng.choice([-30, -15, 0, 15, 30], size=(a.faces, 3))]
    print(f"model {m.name}: {m.n_vertices} vertices, {len(m.triangles)} triangles; {a.faces} faces per size")
    print(f"{'level':>6} {'triangles':>9} {'size':>5} {'auto':>5} {'us/render':>10} {'speed-up':>9} "
          f"{'mean |diff|':>12} {'p99 |diff|':>11} {'mask IoU':>9}")
    full_us: dict = {}
    refs: dict = {}
    for fr in DETAIL_LEVELS:
        s = at_detail(m, fr)
        faces = []
        for k, ident in enumerate(idents):
            e = exprs[k % len(exprs)]
            off = s.expression_offset(e, 1.0) if e != "neutral" else 0.0
            faces.append((s.shape(ident.shape) + off, np.clip(s.albedo(ident.texture), 0, 1)))
        for size in a.sizes:
            v0, a0 = faces[0]
            us = _best_us(lambda: render(v0, s.triangles, a0, camera=views[0][0], lighting=views[0][1], size=size))
            full_us.setdefault(size, us)
            diffs, p99, ious = [], [], []
            for (v, alb), (cam, lig) in zip(faces, views):
                out = render(v, s.triangles, alb, camera=cam, lighting=lig, size=size, return_mask=True)
                ref = refs.setdefault((size, id(cam)), out)
                union, both = ref.mask | out.mask, ref.mask & out.mask
                d = np.abs(ref.image.astype(int) - out.image.astype(int))
                diffs.append(d[union].mean())
                p99.append(np.percentile(d[both].max(axis=-1), 99))
                ious.append(both.sum() / union.sum())
            auto = "*" if auto_fraction(m.mean_shape, m.triangles, size) == fr else ""
            print(f"{fr:>6.2f} {len(s.triangles):>9} {size:>5} {auto:>5} {us:>10.0f} {full_us[size] / us:>8.2f}x "
                  f"{np.mean(diffs):>12.2f} {np.mean(p99):>11.1f} {np.mean(ious):>9.4f}")


if __name__ == "__main__":
    main()

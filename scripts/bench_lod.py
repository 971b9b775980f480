#!/usr/bin/env python
"""What a coarser mesh would buy: render time and image change of the embedded mean face decimated.

Evidence for a level-of-detail decision (not a feature): the mean face is decimated with open3d's
quadric decimation to a fraction of its triangles, then each mesh is rendered by the default
backend at each size. Printed per mesh and size: microseconds per ``render()`` (best of 5 x 100
calls, one pose), its speed-up over the full mesh in the same run, and over three poses and lights
the mean absolute difference from the full mesh's image on face pixels (/255) and the mask IoU.

    python scripts/bench_lod.py                     # 1, 1/2, 1/4 of the triangles at 64, 128, 224 px

Needs open3d (in the ``test`` extra).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from facegen.model import load_model
from facegen.render import Camera, DirectionalLight, Lighting, render


def _best_us(fn, n=100, reps=5) -> float:
    fn()
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n * 1e6)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fractions", nargs="+", type=float, default=[1.0, 0.5, 0.25], help="triangle fractions kept")
    ap.add_argument("--sizes", nargs="+", type=int, default=[64, 128, 224], help="image sides, pixels")
    a = ap.parse_args()
    import open3d as o3d

    m = load_model("embedded")
    v, t = m.mean_shape.astype(np.float64), m.triangles
    alb = np.clip(m.mean_albedo, 0, 1).astype(np.float64)
    c = tuple(float(x) for x in (v.min(0) + v.max(0)) / 2)
    mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(v), o3d.utility.Vector3iVector(t))
    mesh.vertex_colors = o3d.utility.Vector3dVector(alb)
    views = [(Camera(yaw=y, pitch=p, center=c), Lighting((DirectionalLight(az, 15, 0.65),), ambient=0.35))
             for y, p, az in ((0, 0, 0), (30, -15, -30), (-30, 15, 30))]
    print(f"{'triangles':>9} {'size':>5} {'us/render':>10} {'speed-up':>9} {'mean |diff| /255':>17} {'mask IoU':>9}")
    full_us = {}
    for frac in a.fractions:
        if frac < 1:
            d = mesh.simplify_quadric_decimation(int(len(t) * frac))
            vv, tt = np.asarray(d.vertices), np.asarray(d.triangles).astype(np.int32)
            aa = np.clip(np.asarray(d.vertex_colors), 0, 1)
        else:
            vv, tt, aa = v, t, alb
        for size in a.sizes:
            us = _best_us(lambda: render(vv, tt, aa, camera=views[1][0], lighting=views[1][1], size=size))
            full_us.setdefault(size, us)
            diffs, ious = [], []
            for cam, lig in views:
                ref = render(v, t, alb, camera=cam, lighting=lig, size=size, return_mask=True)
                out = render(vv, tt, aa, camera=cam, lighting=lig, size=size, return_mask=True)
                union = ref.mask | out.mask
                diffs.append(np.abs(ref.image.astype(int) - out.image.astype(int))[union].mean())
                ious.append((ref.mask & out.mask).sum() / union.sum())
            print(f"{len(tt):>9} {size:>5} {us:>10.0f} {full_us[size] / us:>8.2f}x {np.mean(diffs):>17.2f} "
                  f"{np.mean(ious):>9.4f}")


if __name__ == "__main__":
    main()

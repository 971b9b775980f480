#!/usr/bin/env python
"""Renderer throughput: images/s at 64, 128 and 224 px for each available backend, one process.

Render only: the mesh (the embedded face model's mean face when ``facegen.model.embedded``
exists, else a procedural ellipsoid head of ~10k vertices / 20k triangles) is fixed; each image
has its own pose and light from the paper's 5 x 5 x 5 x 5 grid (yaw, pitch, light azimuth and
elevation in {-30, -15, 0, 15, 30} degrees). Time includes input validation, shading,
rasterisation, read-back and the uint8 image, but no encoding or model composition.

Columns: ``1 thread`` = ``render()`` called in a loop (the numba backend then uses one core; GL
drivers may use their own threads); ``all cores`` = ``render_batch()`` of one face in 64 poses and
lights per call, the dataset's pattern (numba spreads images over all cores; other backends loop).
Both columns render the same face repeatedly (backends that cache vertex normals by value then
compute them once; the numba backend computes them per image); ``--fresh`` copies the vertices for
every call instead (the copy is timed too). ``x pyrender`` = images/s divided by the
pyrender backend's images/s at the same size and column, measured in this same run.

Example::

    python scripts/bench_render.py                    # all backends, 64/128/224 px
    python scripts/bench_render.py --backends moderngl --sizes 224   # e.g. on a GPU machine
    python scripts/bench_render.py --backends numba --profile --fresh # where a render() call's time goes
    python scripts/bench_render.py --detail full      # only the model's full mesh

``--detail`` (default ``full auto``): the mesh rendered at each size, as a design's
``render.detail`` chooses it (``facegen.model.lod``): ``full`` = every triangle, ``auto`` = the level
the sampler renders at that size (a quarter of the embedded model's triangles at 64 and 128 px,
half at 224 px), or a fraction 0.5 / 0.25. Every backend renders the same mesh in a row, so the
``x pyrender`` ratios compare like with like; the ``mesh`` column gives its triangles.

``--fresh`` gives every ``render()`` call its own copy of the vertices, as dataset generation does
(every sample is a new face), so no backend can reuse per-mesh work. ``--profile`` splits one
``render()`` call (with 68 landmarks, as the sampler asks) into validation, the backend's render
and the landmark projection, in CPU microseconds per image (robust to a shared machine).
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from facegen.render import BACKENDS, Camera, DirectionalLight, Lighting, available_backends, get_backend  # noqa: E402
from facegen.render import render, render_batch  # noqa: E402

log = logging.getLogger("bench_render")
LEVELS = (-30.0, -15.0, 0.0, 15.0, 30.0)


def load_mesh(which: str = "auto"):
    """(vertices, triangles, albedo, description) of the benchmark mesh."""
    if which == "auto" and importlib.util.find_spec("facegen.model.embedded") is not None:
        from facegen.model import load_model

        m = load_model("embedded")
        desc = f"embedded model '{m.name}' v{m.version} mean face"
        return m.mean_shape.astype(np.float64), m.triangles, np.clip(m.mean_albedo, 0, 1), desc
    from facegen.render.meshes import ellipsoid_head

    v, t, a = ellipsoid_head()
    why = "chosen with --mesh ellipsoid" if which == "ellipsoid" else "facegen.model.embedded does not exist yet"
    return v, t, a, f"procedural ellipsoid head ({why})"


def scenes(vertices, n):
    """n (camera, lighting) pairs cycling through the pose x light grid."""
    lo, hi = vertices.min(0), vertices.max(0)
    centre = tuple(float(c) for c in (lo + hi) / 2)
    grid = [(y, p, az, el) for y in LEVELS for p in LEVELS for az in LEVELS for el in LEVELS]
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        y, p, az, el = grid[(i * 97) % len(grid)]
        cam = Camera(yaw=y, pitch=p, center=centre, scale=float(rng.uniform(0.9, 1.1)),
                     translation=(float(rng.uniform(-5, 5)), float(rng.uniform(-5, 5))))
        out.append((cam, Lighting((DirectionalLight(az, el, 0.65),), ambient=0.35)))
    return out


def level_meshes(mesh, details, sizes):
    """{(detail, size): (vertices, triangles, albedo)}: each detail's mesh at each size."""
    from facegen.model.lod import auto_fraction, mesh_level

    v, t, a = mesh
    by_fraction, out = {}, {}
    for detail in details:
        for size in sizes:
            fr = 1.0 if detail == "full" else auto_fraction(v, t, size) if detail == "auto" else float(detail)
            if fr not in by_fraction:
                lev = mesh_level(v, t, fr)
                by_fraction[fr] = (np.ascontiguousarray(v[lev.vertices]), lev.triangles,
                                   np.ascontiguousarray(a[lev.vertices]))
            out[(detail, size)] = by_fraction[fr]
    return out


def rate_loop(backend, mesh, size, seconds, fresh=False):
    v, t, a = mesh
    sc = scenes(v, 256)
    for cam, lig in sc[:3]:
        render(v, t, a, camera=cam, lighting=lig, size=size, backend=backend)
    n, t0 = 0, time.perf_counter()
    while True:
        cam, lig = sc[n % len(sc)]
        render(v.copy() if fresh else v, t, a, camera=cam, lighting=lig, size=size, backend=backend)
        n += 1
        el = time.perf_counter() - t0
        if el >= seconds and n >= 5:
            return n / el


def profile(backend, mesh, size, n=200):
    """Mean CPU microseconds (this thread) per image of the stages of one ``render()`` call with 68 landmarks, each
    call on its own copy of the vertices: (validation, backend render, landmarks, whole call)."""
    from facegen.render import api

    v, t, a = mesh
    sc = scenes(v, 64)
    lms = np.linspace(0, len(v) - 1, 68).astype(np.int64)
    be = get_backend(backend)
    tot = np.zeros(4)
    for i in range(n + 3):
        cam, lig = sc[i % len(sc)]
        vv = v.copy()
        t0 = time.thread_time()
        scene = api._scene(vv, t, a, cam, lig, size, (0.0, 0.0, 0.0), None, None, 1, True)
        t1 = time.thread_time()
        result = be.render(scene)
        t2 = time.thread_time()
        api._output(scene, result, lms, False, False, 5.0)
        t3 = time.thread_time()
        render(vv, t, a, camera=cam, lighting=lig, size=size, landmarks=lms, backend=backend)
        t4 = time.thread_time()
        if i >= 3:  # warm-up excluded
            tot += (t1 - t0, t2 - t1, t3 - t2, t4 - t3)
    return tot / n * 1e6


def rate_batch(backend, mesh, size, seconds, batch=64):
    v, t, a = mesh
    sc = scenes(v, batch)
    cams, ligs = [c for c, _ in sc], [li for _, li in sc]
    render_batch(v, t, a, cameras=cams[:2], lightings=ligs[:2], size=size, backend=backend)
    n, t0 = 0, time.perf_counter()
    while True:
        render_batch(v, t, a, cameras=cams, lightings=ligs, size=size, backend=backend)
        n += batch
        el = time.perf_counter() - t0
        if el >= seconds:
            return n / el


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS,
                    help="backends to time (unavailable ones are reported and skipped)")
    ap.add_argument("--sizes", nargs="+", type=int, default=[64, 128, 224], help="image sides in pixels")
    ap.add_argument("--seconds", type=float, default=2.0, help="minimum timing per cell, seconds")
    ap.add_argument("--no-batch", action="store_true", help="skip the all-cores (render_batch) column")
    ap.add_argument("--fresh", action="store_true",
                    help="give every render() call its own copy of the vertices (dataset pattern: no per-mesh reuse)")
    ap.add_argument("--profile", action="store_true",
                    help="also print where one render() call's time goes (validation / backend / landmarks), us")
    ap.add_argument("--detail", nargs="+", default=["full", "auto"], choices=["full", "auto", "0.5", "0.25"],
                    help="meshes to time: full, auto (the sampler's level at each size), or a fraction")
    ap.add_argument("--mesh", choices=["auto", "ellipsoid"], default="auto",
                    help="auto: the embedded model when it exists, else the ellipsoid head")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")

    v, t, a, desc = load_mesh(args.mesh)
    mesh = (v, t, a)
    status = available_backends()
    import numba

    print(f"mesh: {desc}: {len(v)} vertices, {len(t)} triangles")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"numba threads {numba.config.NUMBA_NUM_THREADS}, python {platform.python_version()}")
    for name in args.backends:
        extra = ""
        if status[name] == "ok" and name == "moderngl":
            extra = f" ({get_backend(name).device})"
        elif status[name] == "ok" and name == "pyrender":
            extra = f" (platform {get_backend(name).platform})"
        print(f"backend {name}: {status[name]}{extra}")
    names = [b for b in args.backends if status[b] == "ok"]
    if "numpy" in names:
        names.remove("numpy")  # the reference is 1000x slower; it is not a production backend
        print("backend numpy: skipped (reference implementation, not timed)")
    meshes = level_meshes(mesh, args.detail, args.sizes)
    results = {}
    for detail in args.detail:
        for size in args.sizes:
            for name in names:
                m = meshes[(detail, size)]
                one = rate_loop(name, m, size, args.seconds, args.fresh)
                many = None if args.no_batch else rate_batch(name, m, size, args.seconds)
                results[(detail, name, size)] = (one, many)
                log.info("%s %s %d px: %.1f / %s images/s", detail, name, size, one,
                         "-" if many is None else f"{many:.1f}")
    print()
    print(f"{'detail':6} {'mesh':>6} {'backend':10} {'size':>5} {'1 thread':>10} {'x pyrender':>11} {'all cores':>10} "
          f"{'x pyrender':>11}")
    for detail in args.detail:
        for size in args.sizes:
            ref = results.get((detail, "pyrender", size))
            for name in names:
                one, many = results[(detail, name, size)]
                r1 = f"{one / ref[0]:.1f}" if ref else "-"
                rm = f"{many / ref[1]:.1f}" if ref and many and ref[1] else "-"
                ms = f"{many:.0f}" if many else "-"
                print(f"{detail:6} {len(meshes[(detail, size)][1]):6d} {name:10} {size:5d} {one:10.0f} {r1:>11} "
                      f"{ms:>10} {rm:>11}")
    if args.profile:
        print()
        print(f"{'detail':6} {'backend':10} {'size':>5} {'validate':>9} {'backend':>9} {'landmarks':>10} {'render()':>9}"
              "  (CPU us/image)")
        for detail in args.detail:
            for size in args.sizes:
                for name in names:
                    p = profile(name, meshes[(detail, size)], size)
                    print(f"{detail:6} {name:10} {size:5d} {p[0]:9.0f} {p[1]:9.0f} {p[2]:10.0f} {p[3]:9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark benchmark.info against frites and against a plain loop, in one process.

Cases (full size; ``--quick`` shrinks them):

* ``gcmi_cc``: x of 10,000 variables x 5,000 samples against one continuous target;
* ``gcmi_model_cd``: x of 1,000 variables against a discrete target with 2,000 classes
  (5 samples per class, 10,000 samples).

For each implementation it prints the best wall-clock and CPU (process) time over
``--repeat`` interleaved rounds (CPU time is the steadier one on a shared machine; it
also counts any BLAS helper threads), the peak
memory traced by ``tracemalloc`` in a separate run (numpy and Python allocations; torch's
allocator is not traced), the speed-up over frites and the largest absolute difference
from frites's values (bits).  frites's ``gcmi_nd_cc`` needs y with the shape of x, so it
gets y broadcast to every variable (it then copula-normalises y once per variable); ours is
shown both with the shared y and with that same per-variable y.  The CPU may be shared
with other work: compare ratios within one run, not across runs.

    python scripts/bench_info.py            # full size (about 10 minutes on 2 busy cores)
    python scripts/bench_info.py --quick    # seconds
"""
from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np


def _timed(fn):
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def _peak_mib(fn):
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _run(label, impls, repeat, memory, rows):
    """Time every implementation ``repeat`` times in interleaved rounds; keep the best."""
    wall, cpu, vals = {}, {}, {}
    for _ in range(repeat):
        for name, fn, _traced in impls:
            w, c, vals[name] = _timed(fn)
            wall[name], cpu[name] = min(wall.get(name, w), w), min(cpu.get(name, c), c)
            print(f"  {label} / {name}: {w:.3f} s wall, {c:.3f} s CPU", file=sys.stderr)
    ref = impls[0][0]
    for name, fn, traced in impls:
        mib = _peak_mib(fn) if (memory and traced) else float("nan")
        diff = float(np.max(np.abs(np.asarray(vals[name], dtype=float) - vals[ref])))
        rows.append((label, name, wall[name], cpu[name], mib, wall[ref] / wall[name], cpu[ref] / cpu[name], diff))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    p.add_argument("--n-vars", type=int, default=10_000, help="variables for gcmi_cc")
    p.add_argument("--n-samples", type=int, default=5_000, help="samples for gcmi_cc")
    p.add_argument("--n-classes", type=int, default=2_000, help="classes for gcmi_model_cd")
    p.add_argument("--per-class", type=int, default=5, help="samples per class for gcmi_model_cd")
    p.add_argument("--model-vars", type=int, default=1_000, help="variables for gcmi_model_cd")
    p.add_argument("--loop-vars", type=int, default=500,
                   help="variables the plain loop runs on (its time is scaled to all variables)")
    p.add_argument("--repeat", type=int, default=2, help="timed runs per implementation (best kept)")
    p.add_argument("--no-memory", action="store_true", help="skip the traced peak-memory runs")
    p.add_argument("--no-torch", action="store_true", help="skip the torch (CPU) backend")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic data")
    a = p.parse_args(argv)
    if a.quick:
        a.n_vars, a.n_samples, a.n_classes, a.model_vars, a.loop_vars = 500, 1000, 100, 200, 100

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
    from frites.core import gcmi_model_nd_cd, gcmi_nd_cc

    from benchmark.info import mass

    rng = np.random.default_rng(a.seed)
    rows: list[tuple] = []
    memory = not a.no_memory
    use_torch = not a.no_torch
    if use_torch:
        try:
            from benchmark.info import torch_backend
        except ImportError:
            use_torch = False

    # ---- gcmi_cc: V variables x n samples, one continuous target
    v, n = a.n_vars, a.n_samples
    y = rng.standard_normal(n)
    x = 0.3 * y + rng.standard_normal((v, n))
    y_each = np.broadcast_to(y, (v, n))
    nl = min(a.loop_vars, v)
    label = f"gcmi_cc {v}x{n}"

    impls = [("frites gcmi_nd_cc (y per variable)", lambda: gcmi_nd_cc(x, y_each), True),
             ("ours mass.gcmi_cc (shared y)", lambda: mass.gcmi_cc(x, y), True),
             ("ours mass.gcmi_cc (y per variable)", lambda: mass.gcmi_cc(x, y_each[:, None, :]), True)]
    if use_torch:
        impls.append(("ours torch_backend.gcmi_cc (CPU)",
                      lambda: torch_backend.gcmi_cc(x, y).numpy(), False))
    _run(label, impls, a.repeat, memory, rows)
    _loop_row(rows, label, lambda: mass.loop_reference("gcmi_cc", x[:nl], y), v, nl,
              rows[-len(impls)], gcmi_nd_cc(x[:nl], y_each[:nl]))

    # ---- gcmi_model_cd: V variables, K classes
    k, per, vm = a.n_classes, a.per_class, a.model_vars
    labels = np.repeat(np.arange(k), per)
    rng.shuffle(labels)
    xm = 0.5 * labels / k + rng.standard_normal((vm, labels.size))
    label = f"gcmi_model_cd {vm}x{labels.size}, {k} classes"
    impls = [("frites gcmi_model_nd_cd", lambda: gcmi_model_nd_cd(xm, labels), True),
             ("ours mass.gcmi_model_cd", lambda: mass.gcmi_model_cd(xm, labels, k), True)]
    if use_torch:
        impls.append(("ours torch_backend.gcmi_model_cd (CPU)",
                      lambda: torch_backend.gcmi_model_cd(xm, labels, k).numpy(), False))
    _run(label, impls, a.repeat, memory, rows)
    nlm = min(a.loop_vars // 10, vm) or 1
    _loop_row(rows, label, lambda: mass.loop_reference("gcmi_model_cd", xm[:nlm], labels, k), vm,
              nlm, rows[-len(impls)], gcmi_model_nd_cd(xm[:nlm], labels))

    print("| case | implementation | wall s | CPU s | peak MiB | speed-up vs frites (wall) "
          "| speed-up vs frites (CPU) | max abs diff vs frites (bits) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for case, name, w, c, mib, rw, rc, diff in rows:
        mem = "n/a" if np.isnan(mib) else f"{mib:.0f}"
        print(f"| {case} | {name} | {w:.3f} | {c:.3f} | {mem} | {rw:.1f}x | {rc:.1f}x | {diff:.1e} |")
    return 0


def _loop_row(rows, label, fn, n_all, n_run, frites_row, frites_part):
    """Time the plain loop of single-variable functions on n_run variables, scaled to n_all."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w, c, part = _timed(fn)
    scale = n_all / n_run
    name = f"ours loop of gcmi.* ({n_run} vars timed, x{scale:.0f})"
    rows.append((label, name, w * scale, c * scale, float("nan"), frites_row[2] / (w * scale),
                 frites_row[3] / (c * scale), float(np.max(np.abs(part - frites_part)))))


if __name__ == "__main__":
    sys.exit(main())

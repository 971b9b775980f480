"""Regenerate docs/reference-report from the code at HEAD, in one run, with its provenance.

Runs the README's commands through the real CLIs (so the report is what a user gets): render the
``mini`` design, train the reference ResNet-10, evaluate it, render the three probe sets, score the
trained run on them; then replaces ``--out`` (default ``docs/reference-report``) with the score
report, the training-accuracy table and heat maps, and ``provenance.json``: the git commit (a dirty
tree is refused unless ``--allow-dirty``, and recorded), facegen's version, the machine (CPU, cores,
memory, OS), the versions of the software that decides the numbers, every command with its wall time
and the sha256 of every dataset manifest used.

    python scripts/reference_report.py                        # about 10-20 min on 2 cores
    python scripts/reference_report.py --work /tmp/ref --keep # keep the shards and the run

A larger reference network, on a CPU or a GPU, is the same recipe on more people at a larger size:
``--identities``, ``--size`` and ``--per-identity`` rescale the training design (``mini``'s factors)
and the three probe designs, which keep its seed so that they show the same people; ``--revcorr``
sets the reverse-correlation trials per identity and ``--device`` the training device.

    python scripts/reference_report.py --identities 200 --size 112 --per-identity 96 --revcorr 50 \
        --epochs 6 --out docs/reference-report-200              # the largest CPU reference here, ~30 min
    python scripts/reference_report.py --identities 2000 --size 224 --per-identity 400 --revcorr 200 \
        --epochs 8 --device cuda --workers 16 --out docs/reference-report-2000   # paper scale, on a GPU
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from facegen.shards.tario import sha256_file  # noqa: E402

PROBES = ("probe-morph", "probe-cue", "probe-revcorr")
SOFTWARE = ("facegen", "numpy", "scipy", "numba", "torch", "pillow", "simplejpeg", "orjson", "fast-simplification",
            "webdataset", "onnxruntime")


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def _machine() -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1) if mem else None,
            "os": platform.platform(), "python": platform.python_version()}


def _versions() -> dict:
    out = {}
    for name in SOFTWARE:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def scaled_designs(identities: int | None, size: int | None, per_identity: int | None,
                   revcorr: int | None) -> dict[str, dict | None]:
    """The training design ('mini') and the probe designs, as raw configs rescaled to ``identities``,
    image ``size``, training images ``per_identity`` and ``revcorr`` trials per identity; None for a
    design left as its preset (every argument None leaves them all)."""
    import copy

    from facegen.design import PRESETS

    if identities is None and size is None and per_identity is None and revcorr is None:
        return {name: None for name in ("mini", *PROBES)}
    out = {}
    for name in ("mini", *PROBES):
        raw = copy.deepcopy(PRESETS[name])
        if identities is not None:
            raw["identities"]["count"] = identities
        if size is not None:
            raw["render"]["image_size"] = size
        if name == "mini" and per_identity is not None:
            raw["samples"]["per_identity"] = per_identity
        if name == "probe-revcorr" and revcorr is not None:
            raw["samples"]["per_identity"] = revcorr
        n, px = raw["identities"]["count"], raw["render"]["image_size"]
        raw["name"] = f"{name}-{n}x{px}"
        raw["description"] = f"{PRESETS[name]['description']} Rescaled by scripts/reference_report.py to {n} " \
                             f"identities at {px} px."
        out[name] = raw
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "reference-report", help="report folder to replace")
    ap.add_argument("--work", type=Path, help="work folder for shards and the run (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep --work afterwards")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="facegen sample workers")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads for training")
    ap.add_argument("--epochs", type=float, default=4.0, help="training epochs (the README's 4)")
    ap.add_argument("--allow-dirty", action="store_true", help="run on a tree with uncommitted changes (recorded)")
    ap.add_argument("--identities", type=int, help="identities of the training and probe designs (mini: 24)")
    ap.add_argument("--size", type=int, help="image size in pixels of every design (mini: 64)")
    ap.add_argument("--per-identity", type=int, help="training images per identity (mini: 400)")
    ap.add_argument("--revcorr", type=int, help="reverse-correlation trials per identity (probe-revcorr: 200)")
    ap.add_argument("--device", default="auto", help="training device: auto, cpu, cuda or cuda:N")
    a = ap.parse_args(argv)
    for key in ("identities", "size", "per_identity", "revcorr"):
        v = getattr(a, key)
        if v is not None and v < (8 if key == "identities" else 1):
            ap.error(f"--{key.replace('_', '-')} {v}: must be >= {8 if key == 'identities' else 1}"
                     + (" (one identity per gender x ethnicity cell at least)" if key == "identities" else ""))

    dirty = _git("status", "--porcelain", "--untracked-files=no")
    if dirty and not a.allow_dirty:
        sys.exit(f"the work tree has uncommitted changes:\n{dirty}\ncommit them first (the report records the "
                 "commit it was made from), or pass --allow-dirty")
    work = a.work or Path(tempfile.mkdtemp(prefix="reference-report-"))
    work.mkdir(parents=True, exist_ok=True)
    run = work / "run"
    commands: list[dict] = []

    def step(*cmd: str) -> None:
        print("+", " ".join(cmd), flush=True)
        t0 = time.perf_counter()
        # the CLIs of this checkout (cwd first on sys.path), not whichever copy is installed
        entry = f"import sys; sys.argv[0] = {cmd[0]!r}; from {cmd[0]}.cli import main; main()"
        subprocess.run([sys.executable, "-c", entry, *cmd[1:]], cwd=ROOT, check=True)
        commands.append({"command": " ".join(str(c) for c in cmd), "wall_s": round(time.perf_counter() - t0, 1)})

    designs = scaled_designs(a.identities, a.size, a.per_identity, a.revcorr)
    sources = {}
    for name, raw in designs.items():
        if raw is None:
            sources[name] = ["--preset", name] if name != "mini" else []
        else:
            cfg_file = work / f"{name}.yaml"
            cfg_file.write_text(json.dumps(raw, indent=1) + "\n")   # JSON is YAML
            sources[name] = ["--config", str(cfg_file)]
    step("facegen", "sample", *sources["mini"], "--out", str(work / "mini"), "--workers", str(a.workers))
    step("benchmark", "train", "--data", str(work / "mini"), "--out", str(run), "--epochs", f"{a.epochs:g}",
         "--batch-size", "64", "--lr-max", "0.2", "--threads", str(a.threads), "--device", a.device, "--quiet")
    step("benchmark", "evaluate", str(run))
    for p in PROBES:
        step("facegen", "sample", *sources[p], "--out", str(work / p), "--workers", str(a.workers))
    score = work / "score"
    step("benchmark", "score", "--model", str(run), *[x for p in PROBES for x in ("--probe", str(work / p))],
         "--out", str(score), "--no-progress")

    a.out.mkdir(parents=True, exist_ok=True)
    for old in a.out.iterdir():
        if old.is_file():
            old.unlink()
    for f in score.iterdir():
        if f.is_file():
            shutil.copyfile(f, a.out / f.name)
    report = run / "report"
    shutil.copyfile(report / "accuracy.md", a.out / "training-accuracy.md")
    for f in sorted(report.glob("heatmap_test_*.png"), key=lambda f: "pitch_x_yaw" not in f.name)[:1]:
        shutil.copyfile(f, a.out / f.name)  # the pose grid when there is one
    prov = {"schema": "facegen.reference-report/1", "commit": _git("rev-parse", "HEAD"), "dirty": bool(dirty),
            "designs": {k: (v if v is not None else f"preset {k}") for k, v in designs.items()},
            "made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": _machine(),
            "software": _versions(), "commands": commands,
            "manifests": {d: sha256_file(work / d / "manifest.json") for d in ("mini", *PROBES)},
            "training": json.loads((report / "summary.json").read_text()) if (report / "summary.json").is_file()
            else None}
    (a.out / "provenance.json").write_text(json.dumps(prov, indent=1) + "\n")
    print(f"wrote {a.out} from commit {prov['commit'][:12]}{' (dirty)' if dirty else ''}")
    if not a.keep and a.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""Fit the model's faces to photographed faces in dlib's embedding space.

How close can a model's identity come to a real person, as dlib's face-recognition network sees
them, and with coefficients of what size? For each face found in the images of a folder, an
evolution strategy (``fit``) searches the identity coefficients (shape and texture modes, in s.d.
units) of the model's face, frontal and frontally lit as ``judge_faces.py``'s gallery, under the
group (gender, ethnicity, age 25/45/65) whose mean face starts closest. It minimises

    ||e(render(c)) - e(photo)|| + beta * mean_k(c_k^2)

(e: dlib's 128-d embedding), so that ``beta`` keeps the coefficients near the size of the model's
own people (RMS 1). Reported per face: the distance at the start (the group's mean face) and at the
end, and the coefficients' RMS; over all faces, the mean distance between the photographs and between
their fitted renders. A render of the model itself is fitted too, as a control of the search.

    pip install dlib-bin face-recognition-models
    python scripts/fit_photos.py path/to/photos --faces 6
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import judge_faces  # noqa: E402
import judge_photos  # noqa: E402


def fit(distance: Callable[[np.ndarray], float], k: int, iters: int = 40, population: int = 10,
        sigma: float = 0.8, beta: float = 0.15, limit: float = 3.0, seed: int = 0) -> tuple[np.ndarray, list[float]]:
    """Minimise f(c) = distance(c) + beta * mean(c^2) over c in [-limit, limit]^k from c = 0: each step
    draws ``population`` candidates around the mean, moves the mean to the log-rank-weighted mean of
    the better half and shrinks the step by 3%. Returns (the mean with the lowest f of all steps,
    distance(mean) after each step, starting with distance(0))."""
    rng = np.random.default_rng(seed)
    mu = np.zeros(k)
    half = max(population // 2, 1)
    w = np.log(half + 0.5) - np.log(np.arange(1, half + 1))
    w /= w.sum()
    history = [distance(mu)]
    best, best_f = mu, history[0]
    for _ in range(iters):
        cand = np.clip(mu + sigma * rng.standard_normal((population, k)), -limit, limit)
        score = np.array([distance(c) for c in cand]) + beta * (cand ** 2).mean(1)
        mu = (w[:, None] * cand[np.argsort(score)[:half]]).sum(0)
        sigma *= 0.97
        history.append(distance(mu))
        f = history[-1] + beta * float(np.mean(mu ** 2))
        if f < best_f:
            best, best_f = mu, f
    return best, history


def model_face(m, coeffs: np.ndarray, group: tuple[str, str, float]):
    """(vertices, albedo) of identity ``coeffs`` (shape then texture modes) in ``group``."""
    return judge_faces._reference_face(m, coeffs[:m.n_shape], coeffs[m.n_shape:], *group)


def fit_face(m, embed, target: np.ndarray, **kw) -> dict:
    """``fit`` of model ``m``'s identity to the embedding ``target``, under the group whose mean face
    starts closest; ``embed(vertices, albedo)`` embeds a render."""
    k = m.n_shape + m.n_texture

    def dist(c, group):
        return float(np.linalg.norm(embed(*model_face(m, c, group)) - target))

    groups = [(g, e, a) for g in m.factors.genders for e in m.factors.ethnicities for a in (25.0, 45.0, 65.0)]
    start, group = min((dist(np.zeros(k), grp), grp) for grp in groups)
    coeffs, _ = fit(lambda c: dist(c, group), k, **kw)
    emb = embed(*model_face(m, coeffs, group))
    return {"group": list(group), "start": start, "end": float(np.linalg.norm(emb - target)),
            "coeff_rms": float(np.sqrt(np.mean(coeffs ** 2))), "embedding": emb}


def _mean_pair_distance(e: np.ndarray) -> float:
    iu = np.triu_indices(len(e), 1)
    return float(np.linalg.norm(e[:, None] - e[None], axis=-1)[iu].mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("folder", type=Path, help="photographs (any layout); every face HOG finds is fitted, up to --faces")
    ap.add_argument("--faces", type=int, default=6, help="most faces fitted (default 6; about 40 s each)")
    ap.add_argument("--model", default="embedded", help="a model with a factor model (default embedded)")
    ap.add_argument("--iters", type=int, default=40, help="steps of the search (default 40)")
    ap.add_argument("--beta", type=float, default=0.15, help="weight of the coefficients' mean square (default 0.15)")
    ap.add_argument("--size", type=int, default=224, help="render size in pixels (default 224)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the search and of the control render (default 0)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    a = ap.parse_args(argv)
    from facegen.model import load_model

    try:
        paths = judge_photos.group_photos(a.folder)
    except judge_photos.PhotoFolderError as e:
        ap.error(str(e))
    if a.faces < 1 or a.iters < 1 or a.beta < 0:
        ap.error("--faces and --iters must be >= 1 and --beta >= 0")
    m = load_model(a.model)
    if m.factors is None:
        ap.error(f"model {a.model!r} has no factor model; fit_photos needs one (e.g. 'embedded')")
    nets = judge_faces._dlib()
    faces = judge_photos._dlib_faces(nets)
    targets = []
    for p in paths:
        targets += [(f"{p.name} face {j}", e) for j, e in enumerate(faces(judge_photos._read(p)))]
        if len(targets) >= a.faces:
            break
    targets = targets[:a.faces]
    if not targets:
        ap.error(f"no face found in the {len(paths)} image(s) of {a.folder}")
    embed = judge_faces._embedder(m, nets, a.size)
    rng = np.random.default_rng(a.seed)
    control = (str(rng.choice(m.factors.genders)), str(rng.choice(m.factors.ethnicities)), float(rng.uniform(20, 70)))
    targets.append((f"control: a render ({', '.join(map(str, control[:2]))}, {control[2]:.0f} y)",
                    embed(*model_face(m, rng.standard_normal(m.n_shape + m.n_texture), control))))
    rows = []
    for name, target in targets:
        t0 = time.perf_counter()
        r = fit_face(m, embed, target, iters=a.iters, beta=a.beta, seed=a.seed)
        print(f"{name:40s} distance {r['start']:.3f} -> {r['end']:.3f}, coefficient RMS {r['coeff_rms']:.2f}, "
              f"group {r['group'][0]} {r['group'][1]} {r['group'][2]:g} ({time.perf_counter() - t0:.0f} s)", flush=True)
        rows.append({"face": name, **{k: v for k, v in r.items() if k != "embedding"}, "_emb": r["embedding"],
                     "_target": target})
    photos = rows[:-1]
    summary = {"faces": len(photos), "end_mean": float(np.mean([r["end"] for r in photos])),
               "coeff_rms_mean": float(np.mean([r["coeff_rms"] for r in photos]))}
    if len(photos) > 1:
        summary["photos_pairwise"] = _mean_pair_distance(np.stack([r["_target"] for r in photos]))
        summary["fitted_pairwise"] = _mean_pair_distance(np.stack([r["_emb"] for r in photos]))
        print(f"{len(photos)} faces: fitted to within {summary['end_mean']:.3f} on average (coefficient RMS "
              f"{summary['coeff_rms_mean']:.2f}); the photographs are {summary['photos_pairwise']:.3f} apart, "
              f"their fitted renders {summary['fitted_pairwise']:.3f}")
    if a.json:
        out = {"model": a.model, "beta": a.beta, "iters": a.iters, "summary": summary,
               "fits": [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows]}
        a.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

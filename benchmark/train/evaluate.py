"""Accuracy of a trained run overall, per factor level and per pair of factors, as tables and heat maps.

Factors come from each sample's record: pose (yaw, pitch, roll, degrees), light (azimuth,
elevation, degrees), age (years), expression, gender, ethnicity. A factor with more than
``max_levels`` distinct values (e.g. a uniformly drawn one) is cut into quantile bins. Held-out
factor combinations are the split 'heldout' of designs with ``splits.by: factors``; the heat maps
show accuracy for every combination of two factors, with the sample count in each cell.

Accuracy = correct / samples (a fraction in [0, 1]); a cell with no samples is NaN (blank). Gender,
ethnicity and age are null in the records of a face model without a factor model: level 'n/a'.
"""
from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import numpy as np
import torch

from facegen.datasets.facts import RECORD_GETTERS

from .data import EvalStream, normalize, open_dataset
from .run import RunPaths, load_run_model

__all__ = [
    "FACTORS",
    "GROUPS",
    "HEATMAPS",
    "accuracy_table",
    "evaluate_run",
    "factor_level",
    "pair_table",
    "predict_split",
]

log = logging.getLogger(__name__)

#: factor name -> how to read it from a sample record
FACTORS = {k: RECORD_GETTERS[k] for k in ("yaw", "pitch", "roll", "light_azimuth", "light_elevation", "age",
                                         "expression", "gender", "ethnicity")}
#: the issue's factor groups
GROUPS = {"pose": ("yaw", "pitch", "roll"), "light": ("light_azimuth", "light_elevation"), "age": ("age",),
          "expression": ("expression",), "gender": ("gender",), "ethnicity": ("ethnicity",)}
#: factor pairs drawn as heat maps (rows, columns)
HEATMAPS = (("pitch", "yaw"), ("light_elevation", "light_azimuth"), ("light_azimuth", "yaw"), ("expression", "age"))


def factor_level(name: str, record: dict):
    """Level of factor ``name`` in a sample record."""
    return FACTORS[name](record)


@torch.no_grad()
def predict_split(model, spec, split: str, *, image_size: int, batch_size: int = 256, device: str = "cpu",
                  workers: int = 0) -> tuple[np.ndarray, list[dict]]:
    """(correct (N,) bool, records) of ``model`` on every sample of ``split``, in manifest order."""
    model = model.to(device).eval()
    ds = EvalStream(spec, split, batch_size=batch_size, image_size=image_size)
    kw = dict(num_workers=workers, multiprocessing_context="fork") if workers > 0 else {}
    correct, recs = [], []
    for x, y, r in torch.utils.data.DataLoader(ds, batch_size=None, **kw):
        pred = model(normalize(x.to(device))).argmax(1).cpu()
        correct.append((pred == y).numpy())
        recs.extend(r)
    return (np.concatenate(correct) if correct else np.zeros(0, bool)), recs


def _levels(name: str, recs: list[dict], max_levels: int) -> np.ndarray:
    """Level label of factor ``name`` per record; null values (gender, ethnicity and age of a face model
    without a factor model) are the level 'n/a'."""
    vals = [factor_level(name, r) for r in recs]
    known = [v is not None for v in vals]
    if not all(known):
        out = np.full(len(vals), "n/a", dtype=object)
        if any(known):
            out[np.flatnonzero(known)] = _bins([v for v in vals if v is not None], max_levels)
        return out
    return _bins(vals, max_levels)


def _bins(vals: list, max_levels: int) -> np.ndarray:
    if isinstance(vals[0], str) or len(set(vals)) <= max_levels:
        return np.asarray(vals, dtype=object)
    v = np.asarray(vals, dtype=float)
    edges = np.unique(np.quantile(v, np.linspace(0, 1, max_levels + 1)))
    idx = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
    labels = np.asarray([f"[{edges[i]:.3g}, {edges[i + 1]:.3g}]" for i in range(len(edges) - 1)], dtype=object)
    return labels[idx]


def _sorted(levels) -> list:
    try:
        return sorted(levels, key=float)
    except (TypeError, ValueError):
        return sorted(levels, key=str)


def accuracy_table(correct: np.ndarray, recs: list[dict], max_levels: int = 12) -> dict[str, dict]:
    """{factor: {level: {"acc": fraction, "n": samples}}} for every factor in :data:`FACTORS`."""
    out = {}
    for name in FACTORS:
        lev = _levels(name, recs, max_levels)
        out[name] = {str(k): {"acc": float(correct[lev == k].mean()), "n": int((lev == k).sum())}
                     for k in _sorted(set(lev))}
    return out


def pair_table(correct: np.ndarray, recs: list[dict], rows: str, cols: str, max_levels: int = 12):
    """(row levels, column levels, accuracy (R, C) with NaN for empty cells, counts (R, C))."""
    a, b = _levels(rows, recs, max_levels), _levels(cols, recs, max_levels)
    ra, cb = _sorted(set(a)), _sorted(set(b))
    acc = np.full((len(ra), len(cb)), np.nan)
    n = np.zeros((len(ra), len(cb)), int)
    for i, u in enumerate(ra):
        for j, v in enumerate(cb):
            m = (a == u) & (b == v)
            n[i, j] = m.sum()
            if n[i, j]:
                acc[i, j] = correct[m].mean()
    return [str(x) for x in ra], [str(x) for x in cb], acc, n


def _heatmap(path: Path, title: str, rows: str, cols: str, table) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rl, cl, acc, n = table
    fig, ax = plt.subplots(figsize=(1.0 + 0.8 * len(cl), 1.0 + 0.6 * len(rl)))
    im = ax.imshow(acc, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(cl)), cl, rotation=45, ha="right")
    ax.set_yticks(range(len(rl)), rl)
    ax.set_xlabel(cols)
    ax.set_ylabel(rows)
    ax.set_title(title, fontsize=9)
    for i in range(len(rl)):
        for j in range(len(cl)):
            if n[i, j]:
                ax.text(j, i, f"{acc[i, j]:.2f}\nn={n[i, j]}", ha="center", va="center", fontsize=6,
                        color="white" if acc[i, j] < 0.6 else "black")
    fig.colorbar(im, ax=ax, label="accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _markdown(summary: dict) -> str:
    lines = ["# Identity accuracy", "", "| split | samples | accuracy |", "|---|---:|---:|"]
    for split, s in summary["splits"].items():
        lines.append(f"| {split} | {s['n']} | {s['accuracy']:.4f} |")
    for split, s in summary["splits"].items():
        lines += ["", f"## {split}: per factor level", ""]
        for group, names in GROUPS.items():
            for name in names:
                t = s["factors"][name]
                lines.append(f"**{group} / {name}**: " + ", ".join(f"{k}: {v['acc']:.3f} (n={v['n']})"
                                                                   for k, v in t.items()))
                lines.append("")
    return "\n".join(lines) + "\n"


def evaluate_run(run: str | Path, *, data: str | None = None, splits: tuple[str, ...] | None = None,
                 batch_size: int = 256, device: str = "cpu", workers: int = 0, max_levels: int = 12) -> dict:
    """Score a finished run on ``splits`` (default: every split but 'train') of ``data`` (default: the
    run's dataset); write RUN/report/{summary.json, accuracy.md, per_factor.csv, heatmap_*.png}."""
    model, cfg = load_run_model(run)
    spec = open_dataset(data or cfg["data"]["source"])
    if tuple(spec.classes) != tuple(cfg["classes"]) and not set(spec.classes) <= set(cfg["classes"]):
        log.warning("dataset identities differ from the run's classes; unknown identities count as errors")
    chosen = splits or tuple(s for s in spec.shards if s != "train")
    missing = [s for s in chosen if s not in spec.shards]
    if missing:
        raise ValueError(f"splits {missing} are not in {spec.source}; it has {sorted(spec.shards)}")
    out = RunPaths(Path(run)).report
    out.mkdir(parents=True, exist_ok=True)
    summary: dict = {"run": str(run), "data": spec.source, "splits": {}}
    rows = []
    for split in chosen:
        correct, recs = predict_split(model, spec, split, image_size=cfg["preprocessing"]["image_size"],
                                      batch_size=batch_size, device=device, workers=workers)
        if not len(correct):
            continue
        table = accuracy_table(correct, recs, max_levels)
        summary["splits"][split] = {"n": len(correct), "accuracy": float(correct.mean()), "factors": table}
        for name, t in table.items():
            group = next(g for g, ns in GROUPS.items() if name in ns)
            rows += [(split, group, name, k, v["n"], v["acc"]) for k, v in t.items()]
        for a, b in HEATMAPS:
            pt = pair_table(correct, recs, a, b, max_levels)
            if len(pt[0]) > 1 or len(pt[1]) > 1:
                _heatmap(out / f"heatmap_{split}_{a}_x_{b}.png",
                         f"{split}: accuracy by {a} x {b} (overall {correct.mean():.3f})", a, b, pt)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out / "accuracy.md").write_text(_markdown(summary))
    with open(out / "per_factor.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["split", "group", "factor", "level", "samples", "accuracy"])
        w.writerows(rows)
    return summary

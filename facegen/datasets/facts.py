"""The numbers behind a datasheet: counts per split, per factor level and per demographic cell.

Two independent ways to get them, with the same result type:

* :func:`facts_from_shards` reads every JSON record in the shards on disk (actual counts);
* :func:`facts_from_design` computes them exactly from the design with the plan functions
  (``plan_shards``, ``factor_values``, the identity cells of ``identity_for``) without rendering:
  expected counts for a preset before it is rendered, or for a huge run without re-reading it.

Level keys are strings: numbers as ``format(round(v, 6), '.10g')`` (``-30.0`` -> ``'-30'``), names
as they are, null as ``'n/a'``. Factors drawn from a distribution (and age = 'base') are summarised by
min, max and mean instead of being counted.

A model without a factor model gives records whose gender, ethnicity, base age and age are null: its
identities fall in the one demographic cell ``(None, None)`` and age is not summarised (from shards:
null values are left out; from the design: ``labels=False``).
"""
from __future__ import annotations

import json
import tarfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..design import FACTORS, DesignConfig, factor_values, parse_config, plan_shards

__all__ = ["DatasetFacts", "facts_from_shards", "facts_from_design", "level_key", "RECORD_GETTERS",
           "counted_factors"]

# factor name -> value in a sample record (also read by facegen.inspect and benchmark.train.evaluate)
RECORD_GETTERS = {
    "gender": lambda r: r["gender"], "ethnicity": lambda r: r["ethnicity"],
    "age": lambda r: r["age"], "expression": lambda r: r["expression"],
    "expression_intensity": lambda r: r["expression_intensity"],
    "yaw": lambda r: r["pose_deg"]["yaw"], "pitch": lambda r: r["pose_deg"]["pitch"],
    "roll": lambda r: r["pose_deg"]["roll"], "light_azimuth": lambda r: r["light"]["azimuth_deg"],
    "light_elevation": lambda r: r["light"]["elevation_deg"], "light_intensity": lambda r: r["light"]["intensity"],
    "ambient": lambda r: r["light"]["ambient"], "scale": lambda r: r["scale"],
    "translation_x": lambda r: r["translation_px"][0], "translation_y": lambda r: r["translation_px"][1],
    "background": lambda r: r["background"],
}


def level_key(v) -> str:
    """The string key of a factor level: names unchanged, numbers rounded to 6 decimals, None 'n/a'."""
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    return format(round(float(v), 6), ".10g")


def counted_factors(cfg: DesignConfig) -> tuple[list[str], list[str]]:
    """(factors counted per level, factors summarised by min/max/mean) in FACTORS order."""
    counted, summarised = [], []
    for k in FACTORS:
        spec = cfg.factors[k]
        if spec.kind == "levels" or (spec.kind == "constant" and spec.values != ("base",)):
            counted.append(k)
        else:
            summarised.append(k)
    return counted, summarised


@dataclass
class DatasetFacts:
    """Counts of one dataset (rendered or planned).

    ``splits`` split -> images; ``shards`` split -> shard files; ``identities`` split -> distinct
    identities; ``levels[factor][level][split]`` images; ``continuous[factor]`` {min, max, mean};
    ``demographics[(gender, ethnicity)]`` {"identities", "images"}; ``image_formats`` extension
    -> images; ``image_sizes`` "HxW" -> images; ``method`` 'shards' or 'design'.
    """

    method: str
    splits: dict[str, int] = field(default_factory=dict)
    shards: dict[str, int] = field(default_factory=dict)
    identities: dict[str, int] = field(default_factory=dict)
    levels: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    continuous: dict[str, dict[str, float]] = field(default_factory=dict)
    demographics: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    image_formats: dict[str, int] = field(default_factory=dict)
    image_sizes: dict[str, int] = field(default_factory=dict)

    @property
    def samples(self) -> int:
        return sum(self.splits.values())

    def n_identities(self) -> int:
        return sum(v["identities"] for v in self.demographics.values())


class _Acc:
    """Accumulates the same statistics from either source."""

    def __init__(self, counted: list[str], summarised: list[str]):
        self.levels = {k: defaultdict(Counter) for k in counted}
        self.cont = {k: [np.inf, -np.inf, 0.0, 0] for k in summarised}
        self.ids: dict[str, set] = defaultdict(set)
        self.demo_ids: dict[tuple, set] = defaultdict(set)
        self.demo_imgs: Counter = Counter()
        self.splits: Counter = Counter()

    def add_cont(self, k: str, v: np.ndarray) -> None:
        if v.size:
            c = self.cont[k]
            c[0], c[1] = min(c[0], float(v.min())), max(c[1], float(v.max()))
            c[2] += float(v.sum())
            c[3] += v.size

    def facts(self, method: str, shards: Counter, formats: Counter, sizes: Counter) -> DatasetFacts:
        return DatasetFacts(
            method=method, splits=dict(self.splits), shards=dict(shards),
            identities={s: len(v) for s, v in self.ids.items()},
            levels={k: {lv: dict(c) for lv, c in sorted(d.items(), key=lambda kv: _sort_level(kv[0]))}
                    for k, d in self.levels.items()},
            continuous={k: {"min": c[0], "max": c[1], "mean": c[2] / c[3]} for k, c in self.cont.items() if c[3]},
            demographics={g: {"identities": len(ids), "images": self.demo_imgs[g]}
                          for g, ids in sorted(self.demo_ids.items(), key=lambda kv: tuple(map(str, kv[0])))},
            image_formats=dict(formats), image_sizes=dict(sizes))


def _sort_level(k: str):
    try:
        return (0, float(k), "")
    except ValueError:
        return (1, 0.0, k)


def facts_from_shards(directory: str | Path, manifest: dict) -> DatasetFacts:
    """Count every record of the shards listed in ``manifest`` that exist under ``directory``."""
    cfg = parse_config(manifest["config"])
    counted, summarised = counted_factors(cfg)
    acc = _Acc(counted, summarised)
    shards, formats, sizes = Counter(), Counter(), Counter()
    cont_vals: dict[str, list] = {k: [] for k in summarised}
    for s in manifest["shards"]:
        p = Path(directory) / s["name"]
        if not p.is_file():
            continue
        shards[s["split"]] += 1
        with tarfile.open(p, "r:") as tf:
            for mem in tf:
                if not mem.isfile():
                    continue
                key, _, ext = mem.name.partition(".")
                if ext in ("png", "jpg"):
                    formats[ext] += 1
                    continue
                if ext != "json":
                    continue
                r = json.loads(tf.extractfile(mem).read())
                split = r["split"]
                acc.splits[split] += 1
                acc.ids[split].add(r["identity"])
                cell = (r["gender"], r["ethnicity"])
                acc.demo_ids[cell].add(r["identity"])
                acc.demo_imgs[cell] += 1
                sizes["x".join(map(str, r["image_size"]))] += 1
                for k in counted:
                    acc.levels[k][level_key(RECORD_GETTERS[k](r))][split] += 1
                for k in summarised:
                    v = RECORD_GETTERS[k](r)
                    if v is not None:  # age of a model without factors
                        cont_vals[k].append(v)
        for k, v in cont_vals.items():
            acc.add_cont(k, np.asarray(v, dtype=np.float64))
            v.clear()
    return acc.facts("shards", shards, formats, sizes)


def _base_ages(cfg: DesignConfig, ids: np.ndarray) -> np.ndarray:
    """Base age of each identity, as :func:`facegen.design.identity_for` draws it (first draw)."""
    return np.array([float(cfg.base_age.draw(np.random.default_rng([cfg.seed, 0, int(i)]))) for i in ids])


def facts_from_design(cfg: DesignConfig, *, limit: int | None = None, names: set[str] | None = None,
                      block: int = 1 << 21, labels: bool = True) -> DatasetFacts:
    """Expected counts of the run of ``cfg`` (optionally ``limit``ed), exactly, without rendering.

    ``names`` keeps only those shard files (the ones a manifest lists); default: every planned shard.
    ``labels=False``: the model has no factor model, so records carry no gender, ethnicity or age
    (one demographic cell ``(None, None)``, age not summarised), as :func:`facts_from_shards` finds.
    """
    counted, summarised = counted_factors(cfg)
    acc = _Acc(counted, summarised)
    cells = [(g, e) for e in cfg.ethnicities for g in cfg.genders] if labels else [(None, None)]
    spi = cfg.samples_per_identity
    shards, by_split = Counter(), defaultdict(list)
    for s in plan_shards(cfg, limit=limit):
        if names is None or s.name in names:
            shards[s.split] += 1
            by_split[s.split].append(s.samples)
    base_cache: dict[int, float] = {}
    for split, parts in by_split.items():
        g_all = np.concatenate(parts)
        for a in range(0, len(g_all), block):
            g = g_all[a:a + block]
            ids, smp = g // spi, g % spi
            vals = factor_values(cfg, ids, smp)
            acc.splits[split] += len(g)
            uid, inv = np.unique(ids, return_inverse=True)
            acc.ids[split].update(uid.tolist())
            per_id = np.bincount(inv, minlength=len(uid))
            for i, n in zip(uid.tolist(), per_id.tolist()):
                cell = cells[i % len(cells)]
                acc.demo_ids[cell].add(i)
                acc.demo_imgs[cell] += n
            for k in counted:
                keys = [level_key(v) for v in _levels_of(cfg, k)]
                n = np.bincount(_level_index(cfg, k, vals[k]), minlength=len(keys))
                for x, c in zip(keys, n.tolist()):
                    if c:
                        acc.levels[k][x][split] += c
            for k in summarised:
                v = vals[k]
                if k == "age" and not labels:
                    continue
                if k == "age":  # 'base': the identity's own base age
                    missing = [i for i in uid.tolist() if i not in base_cache]
                    base_cache.update(zip(missing, _base_ages(cfg, np.asarray(missing, dtype=np.int64)).tolist()))
                    v = np.asarray([base_cache[i] for i in uid.tolist()])[inv]
                acc.add_cont(k, np.asarray(v, dtype=np.float64))
    img = f"{cfg.image_size}x{cfg.image_size}"
    return acc.facts("design", shards, Counter({cfg.image_format: acc.splits.total()}),
                     Counter({img: acc.splits.total()}))


def _levels_of(cfg: DesignConfig, k: str) -> tuple:
    return cfg.factors[k].values


def _level_index(cfg: DesignConfig, k: str, v: np.ndarray) -> np.ndarray:
    """Index of each value of ``v`` among the factor's levels (exact: values are the levels themselves)."""
    levels = _levels_of(cfg, k)
    if k == "expression":
        out = np.zeros(len(v), dtype=np.int64)
        for j, x in enumerate(levels):
            out[v == x] = j
        return out
    arr = np.asarray(levels, dtype=np.float64)
    idx = np.searchsorted(np.sort(arr), v)
    order = np.argsort(arr)
    return order[np.clip(idx, 0, len(arr) - 1)]

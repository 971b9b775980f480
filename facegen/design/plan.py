"""From a design to samples: identities, per-sample factor values, splits and the shard plan.

Every value is a pure function of (seed, identity index, sample index): per-sample randomness comes
from a counter-based hash (splitmix64) rather than a stateful generator, so any sample, shard or
slice can be computed on its own, vectorised over millions of samples, and the output cannot depend
on how work is divided between workers or machines.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from .config import FACTORS, DesignConfig

__all__ = ["ShardSpec", "uniform_hash", "factor_values", "split_labels", "plan_shards", "identity_for",
           "sample_key"]

_STREAM_FACTOR, _STREAM_SPLIT, _STREAM_ORDER = 1, 2, 5
_M1, _M2, _GOLD = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB), np.uint64(0x9E3779B97F4A7C15)


def _mix(x: np.ndarray) -> np.ndarray:
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


def uniform_hash(seed: int, *keys) -> np.ndarray:
    """Uniform numbers in [0, 1) from splitmix64 over (seed, *keys); keys broadcast as integer arrays."""
    with np.errstate(over="ignore"):
        x = _mix(np.asarray(seed % 2**64, dtype=np.uint64) + _GOLD)
        for k in keys:
            x = _mix(x ^ (np.asarray(k, dtype=np.int64).astype(np.uint64) + _GOLD))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


def factor_values(cfg: DesignConfig, identity: np.ndarray, sample: np.ndarray) -> dict[str, np.ndarray]:
    """Values of every factor for arrays of (identity, sample) indices.

    Factorial designs enumerate the grid factors in FACTORS order (the last one varies fastest),
    cycling through the grid ``repeats`` times; random designs draw each grid factor's level
    uniformly. Continuous factors are drawn per sample in both modes. 'age' = 'base' is returned
    as NaN here and resolved to the identity's base age by :func:`identity_for`'s caller.
    """
    identity = np.asarray(identity, dtype=np.int64)
    sample = np.asarray(sample, dtype=np.int64)
    out: dict[str, np.ndarray] = {}
    cell = sample % cfg.n_cells
    strides = {}
    stride = 1
    for k in reversed(cfg.grid_factors):
        strides[k] = stride
        stride *= cfg.factors[k].n_levels
    for j, (k, spec) in enumerate((k, cfg.factors[k]) for k in FACTORS):
        u = uniform_hash(cfg.seed, _STREAM_FACTOR, identity, sample, j)
        if spec.kind == "levels":
            if cfg.mode == "factorial":
                idx = (cell // strides[k]) % spec.n_levels
            else:
                idx = np.minimum((u * spec.n_levels).astype(np.int64), spec.n_levels - 1)
            out[k] = np.asarray(spec.values, dtype=object if k == "expression" else np.float64)[idx]
        elif spec.kind == "constant":
            v = spec.values[0]
            if k == "age" and v == "base":
                out[k] = np.full(sample.shape, np.nan)
            else:
                out[k] = np.full(sample.shape, v, dtype=object if k == "expression" else np.float64)
        elif spec.kind == "uniform":
            lo, hi = spec.values
            out[k] = lo + (hi - lo) * u
        else:
            mu, sd = spec.values
            out[k] = mu + sd * ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    return out


def split_labels(cfg: DesignConfig, identity: np.ndarray, sample: np.ndarray) -> np.ndarray:
    """Split index (into ``split_names(cfg)``) of each sample."""
    names = split_names(cfg)
    if cfg.split_by == "identity":
        u = uniform_hash(cfg.seed, _STREAM_SPLIT, identity)
    else:
        u = uniform_hash(cfg.seed, _STREAM_SPLIT, identity, sample)
    edges = np.cumsum(list(cfg.fractions.values()))
    edges[-1] = np.inf
    lab = np.searchsorted(edges, u, side="right")
    if cfg.split_by == "factors":
        vals = factor_values(cfg, identity, sample)
        held = np.zeros(np.shape(lab), dtype=bool)
        for rule in cfg.heldout:
            m = np.ones(np.shape(lab), dtype=bool)
            for k, levels in rule.items():
                m &= np.isin(vals[k], np.asarray(levels, dtype=vals[k].dtype))
            held |= m
        lab = np.where(held, names.index("heldout"), lab)
    return lab


def split_names(cfg: DesignConfig) -> list[str]:
    return list(cfg.fractions) + (["heldout"] if cfg.split_by == "factors" else [])


def sample_key(identity: int, sample: int) -> str:
    """WebDataset key of a sample: no dots, sortable."""
    return f"{identity:06d}_{sample:08d}"


@dataclass(frozen=True)
class ShardSpec:
    """One shard to write: its file name, split, position in the run, and the global sample indices
    (identity * samples_per_identity + sample) it holds, in order."""

    name: str
    split: str
    index: int
    samples: np.ndarray


def plan_shards(cfg: DesignConfig, *, limit: int | None = None) -> list[ShardSpec]:
    """Every shard of the run, in run order: all shards of the first split, then the next, ...

    Within a split, samples are in a seeded random order (the same for any worker count or slice).

    ``limit`` keeps only the first ``limit`` samples of the design (global order) before splitting.
    """
    n = cfg.n_samples if limit is None else min(limit, cfg.n_samples)
    g = np.arange(n, dtype=np.int64)
    spi = cfg.samples_per_identity
    labels = np.empty(n, dtype=np.int16)
    block = 1 << 22
    for a in range(0, n, block):  # bounded memory for the 26M-sample designs
        gg = g[a:a + block]
        labels[a:a + block] = split_labels(cfg, gg // spi, gg % spi)
    shards = []
    for si, name in enumerate(split_names(cfg)):
        members = g[labels == si]
        # Shuffled once at write time (a seeded permutation), so each shard mixes many identities and
        # factor levels and a streaming reader needs no large shuffle buffer.
        members = members[np.argsort(uniform_hash(cfg.seed, _STREAM_ORDER, members), kind="stable")]
        for j in range(0, len(members), cfg.samples_per_shard):
            shards.append(ShardSpec(f"{name}-{j // cfg.samples_per_shard:06d}.tar", name, len(shards),
                                    members[j:j + cfg.samples_per_shard]))
    return shards


def identity_for(cfg: DesignConfig, model, i: int):
    """The Identity of index ``i``: gender and ethnicity cycle through their crossed cells (balanced),
    base age and coefficients come from a generator seeded by (identities.seed or seed, 0, i).

    Setting ``identities.seed`` keeps the same people while ``seed`` changes everything else, e.g.
    a hidden probe set (secret ``seed``) of the identities a classifier was trained on."""
    cells = [(g, e) for e in cfg.ethnicities for g in cfg.genders]
    gender, ethnicity = cells[i % len(cells)]
    rng = np.random.default_rng([cfg.seed if cfg.identity_seed is None else cfg.identity_seed, 0, i])
    spec = cfg.base_age
    base_age = float(spec.draw(rng))
    return model.sample_identity(rng, gender=gender, ethnicity=ethnicity, base_age=base_age,
                                 truncation=cfg.truncation)

"""The sample plan: pure functions of (seed, identity, sample); every sample in exactly one shard."""
import copy
import itertools

import numpy as np

from facegen.design import PRESETS, factor_values, parse_config, plan_shards, split_labels, split_names


def _cfg(**over):
    raw = copy.deepcopy(PRESETS["mini"])
    raw["identities"]["count"] = 6
    raw["samples"]["per_identity"] = 50
    raw["shards"]["samples_per_shard"] = 37
    for k, v in over.items():
        raw[k] = v
    return parse_config(raw)


def test_factor_values_depend_only_on_indices():
    c = _cfg()
    ids, smp = np.repeat(np.arange(6), 50), np.tile(np.arange(50), 6)
    full = factor_values(c, ids, smp)
    order = np.random.default_rng(1).permutation(len(ids))
    part = factor_values(c, ids[order], smp[order])
    for k in full:
        assert np.array_equal(full[k][order], part[k]), k
    # a different seed gives different draws
    other = factor_values(parse_config({**c.to_dict(), "seed": 1}), ids, smp)
    assert not np.array_equal(full["yaw"], other["yaw"])


def test_random_design_covers_levels_and_ranges():
    c = _cfg()
    v = factor_values(c, np.zeros(4000, int), np.arange(4000))
    assert set(v["yaw"]) == {-30.0, -15.0, 0.0, 15.0, 30.0}
    counts = np.unique(v["expression"], return_counts=True)[1]
    assert len(counts) == 7 and counts.min() > 4000 / 7 * 0.8
    assert 0.9 <= v["scale"].min() and v["scale"].max() <= 1.1 and v["scale"].std() > 0.05


def test_factorial_design_enumerates_every_cell_once_per_repeat():
    raw = c = _cfg().to_dict()
    raw["samples"] = {"mode": "factorial", "repeats": 2}
    raw["intrinsic"]["age"] = {"levels": [25, 65]}
    raw["intrinsic"]["expression"] = {"levels": ["neutral", "happy", "sad"]}
    raw["extrinsic"].update(pitch=0, light_azimuth={"levels": [-30, 30]}, light_elevation=0)
    c = parse_config(raw)
    assert c.n_cells == 2 * 3 * 5 * 2 and c.samples_per_identity == 2 * c.n_cells
    s = np.arange(c.samples_per_identity)
    v = factor_values(c, np.zeros_like(s), s)
    cells = list(zip(v["age"], v["expression"], v["yaw"], v["light_azimuth"]))
    assert len(set(cells[: c.n_cells])) == c.n_cells
    assert cells[: c.n_cells] == cells[c.n_cells:]
    assert set(cells) == set(itertools.product([25.0, 65.0], ["neutral", "happy", "sad"],
                                               [-30.0, -15.0, 0.0, 15.0, 30.0], [-30.0, 30.0]))


def test_shards_partition_the_samples():
    c = _cfg()
    shards = plan_shards(c)
    allg = np.concatenate([s.samples for s in shards])
    assert sorted(allg.tolist()) == list(range(c.n_samples))
    assert all(len(s.samples) <= 37 for s in shards)
    assert [s.index for s in shards] == list(range(len(shards)))
    names = [s.name for s in shards]
    assert names[0] == "train-000000.tar" and len(set(names)) == len(names)
    # splits near their fractions
    lab = split_labels(c, allg // 50, allg % 50)
    frac = np.bincount(lab) / len(lab)
    assert abs(frac[0] - 0.8) < 0.06
    # limit keeps the first N samples in global order
    lim = np.concatenate([s.samples for s in plan_shards(c, limit=100)])
    assert sorted(lim.tolist()) == list(range(100))


def test_identity_split_keeps_each_identity_in_one_split():
    c = _cfg(splits={"by": "identity", "fractions": {"train": 0.5, "test": 0.5}})
    ids = np.repeat(np.arange(6), 50)
    lab = split_labels(c, ids, np.tile(np.arange(50), 6))
    for i in range(6):
        assert len(set(lab[ids == i])) == 1


def test_heldout_factor_combinations_go_to_heldout():
    c = _cfg(splits={"by": "factors", "fractions": {"train": 0.9, "val": 0.1},
                     "heldout": [{"yaw": [-30, 30], "light_azimuth": [-30, 30]}]})
    assert split_names(c) == ["train", "val", "heldout"]
    ids, smp = np.repeat(np.arange(6), 50), np.tile(np.arange(50), 6)
    v = factor_values(c, ids, smp)
    lab = split_labels(c, ids, smp)
    extreme = np.isin(v["yaw"], [-30, 30]) & np.isin(v["light_azimuth"], [-30, 30])
    assert extreme.sum() > 0
    assert np.array_equal(lab == 2, extreme)


def test_shards_mix_identities():
    c = _cfg()
    first = plan_shards(c)[0].samples
    assert len(np.unique(first // c.samples_per_identity)) == c.n_identities  # 37 samples over all 6 identities
    assert not np.all(np.diff(first) > 0)

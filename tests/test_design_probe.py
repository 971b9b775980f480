"""Probe designs: morphs move only the chosen component by the chosen Mahalanobis distance,
cue-conflict hybrids combine one identity's shape with the texture of another of its gender x
ethnicity cell, revcorr noise is recorded."""
import copy
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from facegen.design import PRESETS, ConfigError, identity_for, parse_config, plan_shards
from facegen.design.probe import probe_condition
from facegen.model import load_model, save_npz
from facegen.sampler import render_samples

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model  # noqa: E402


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("m") / "synth.npz"
    save_npz(synthetic_model(), p)
    return str(p)


def _raw(model_path, probe, per, count=4):
    return {"model": model_path, "seed": 5, "identities": {"count": count, "ethnicities": ["a", "b"]},
            "samples": {"mode": "random", "per_identity": per}, "probe": probe,
            "extrinsic": {"yaw": {"levels": [-30, 0, 30]}}, "render": {"image_size": 16, "extras": ["coeffs"]},
            "splits": {"fractions": {"probe": 1.0}}}


def _records(cfg):
    recs = []
    for shard in plan_shards(cfg):
        recs += [json.loads(x["json"]) for x in render_samples(cfg, shard)]
    return recs


def test_morph_moves_one_component_by_the_distance(model_path):
    cfg = parse_config(_raw(model_path, {"kind": "morph", "distances": [0, 1.5, 4], "directions": 2}, 12))
    m = load_model(model_path)
    recs = _records(cfg)
    assert len(recs) == 4 * 12
    seen = set()
    dirs = {}
    for r in recs:
        p = r["probe"]
        ident = identity_for(cfg, m, r["identity"])
        ds = np.array(r["shape_coeffs"]) - ident.shape
        dt = np.array(r["texture_coeffs"]) - ident.texture
        moved, still = (ds, dt) if p["component"] == "shape" else (dt, ds)
        assert np.linalg.norm(moved) == pytest.approx(p["distance"], abs=1e-4)
        assert np.abs(still).max() < 1e-5
        seen.add((p["component"], p["distance"], p["direction"]))
        if p["distance"] > 0:  # one line per (identity, component, direction): distances scale one unit vector
            key = (r["identity"], p["component"], p["direction"])
            u = moved / np.linalg.norm(moved)
            assert np.allclose(dirs.setdefault(key, u), u, atol=1e-4)
    assert len(seen) == 2 * 3 * 2


def test_cue_conflict_combines_shape_and_texture_of_two_identities_of_one_cell(model_path):
    # 2 genders x 2 ethnicities = 4 cells; 11 identities leave cells of 3, 3, 3 and 2 members
    cfg = parse_config(_raw(model_path, {"kind": "cue_conflict", "partners": 1}, 2, count=11))
    m = load_model(model_path)
    recs = _records(cfg)
    assert len(recs) == 22
    donors = []
    for r in recs:
        p = r["probe"]
        assert p["shape_identity"] == r["identity"] != p["texture_identity"]
        tex = identity_for(cfg, m, p["texture_identity"])
        assert (tex.gender, tex.ethnicity) == (r["gender"], r["ethnicity"])   # the record's group is both halves'
        assert np.allclose(r["shape_coeffs"], identity_for(cfg, m, p["shape_identity"]).shape, atol=1e-5)
        assert np.allclose(r["texture_coeffs"], tex.texture, atol=1e-5)
        donors.append(p["texture_identity"])
    assert sorted(donors) == sorted(list(range(11)) * 2)   # every identity lends its texture equally often


def _cells(cfg, m):
    """(gender, ethnicity) of every identity of ``cfg``."""
    return [(x.gender, x.ethnicity) for x in (identity_for(cfg, m, i) for i in range(cfg.n_identities))]


def test_probe_cue_preset_pairs_every_hybrid_within_its_gender_ethnicity_cell(embedded):
    """Shape bias must not be confounded with skin colour: no hybrid crosses a gender x ethnicity cell,
    the partners are every other member of the cell, and each pair is rendered equally often."""
    cfg = parse_config(PRESETS["probe-cue"])
    cells = _cells(cfg, embedded)
    spi, n = cfg.samples_per_identity, cfg.n_identities
    pairs = Counter()
    for i in range(n):
        for s in range(spi):
            p = probe_condition(cfg.probe, n, i, s)
            j = p["texture_identity"]
            assert p["shape_identity"] == i != j and cells[j] == cells[i], (i, s, j, cells[i], cells[j])
            pairs[i, j] += 1
    mates = {(i, j) for i in range(n) for j in range(n) if i != j and cells[i] == cells[j]}
    assert len(set(cells)) == len(cfg.genders) * len(cfg.ethnicities) and len(mates) == n * cfg.probe.partners
    assert set(pairs) == mates and len(set(pairs.values())) == 1


@pytest.mark.parametrize("count, partners", [(8, 1), (13, 2), (40, 4)])
def test_cue_partners_stay_in_cell_and_are_balanced(model_path, count, partners):
    cfg = parse_config(_raw(model_path, {"kind": "cue_conflict", "partners": partners}, partners, count=count))
    cells = _cells(cfg, load_model(model_path))
    donors = Counter()
    for i in range(count):
        js = [probe_condition(cfg.probe, count, i, s)["texture_identity"] for s in range(partners)]
        assert len(set(js)) == partners and i not in js and all(cells[j] == cells[i] for j in js)
        donors.update(js)
    assert set(donors.values()) == {partners}


def test_revcorr_noise_is_independent_and_recorded(model_path):
    cfg = parse_config(_raw(model_path, {"kind": "revcorr", "sigma": 0.5}, 60))
    m = load_model(model_path)
    deltas = []
    for r in _records(cfg):
        ident = identity_for(cfg, m, r["identity"])
        d = np.array(r["shape_coeffs"]) - ident.shape
        assert np.allclose(d, r["probe"]["shape_delta"], atol=2e-6)
        deltas.append(np.concatenate([r["probe"]["shape_delta"], r["probe"]["texture_delta"]]))
    d = np.array(deltas)
    assert d.std() == pytest.approx(0.5, rel=0.1)
    assert np.abs(np.corrcoef(d.T)[np.triu_indices(d.shape[1], 1)]).max() < 0.3


def test_probe_presets_share_the_mini_identities():
    for name in ("probe-morph", "probe-cue", "probe-revcorr"):
        c = parse_config(PRESETS[name])
        assert c.to_dict()["identities"] == parse_config(PRESETS["mini"]).to_dict()["identities"]
        assert c.seed == PRESETS["mini"]["seed"] and c.probe is not None


def test_probe_validation(model_path):
    raw = _raw(model_path, {"kind": "morph", "distances": [0, 1], "directions": 2}, 5)
    with pytest.raises(ConfigError, match="not a multiple of the probe's 8 conditions"):
        parse_config(raw)
    bad = copy.deepcopy(raw)
    bad["probe"] = {"kind": "warp"}
    with pytest.raises(ConfigError, match="probe.kind.*morph"):
        parse_config(bad)
    bad["identities"] = {"count": 9, "ethnicities": ["a", "b"]}   # 4 cells: the smallest has 2 identities
    bad["probe"] = {"kind": "cue_conflict", "partners": 2}
    with pytest.raises(ConfigError, match=r"probe.partners.*\[1, 1\].*gender x ethnicity cell"):
        parse_config(bad)
    bad["identities"] = {"count": 7, "ethnicities": ["a", "b"]}   # a cell of 1: no partner within it
    bad["probe"] = {"kind": "cue_conflict", "partners": 1}
    with pytest.raises(ConfigError, match=r"probe.partners.*identities.count to 4 x \(partners \+ 1\)"):
        parse_config(bad)
    bad["probe"] = {"kind": "revcorr", "sigma": 1, "distances": [1]}
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config(bad)


def test_identity_seed_keeps_the_people_and_changes_the_samples(model_path):
    raw = _raw(model_path, {"kind": "revcorr", "sigma": 0.5}, 4)
    public = parse_config({**raw, "identities": {**raw["identities"], "seed": 5}})
    hidden = parse_config({**raw, "seed": 999, "identities": {**raw["identities"], "seed": 5}})
    other = parse_config({**raw, "seed": 999})
    m = load_model(model_path)
    for i in range(4):
        assert np.array_equal(identity_for(public, m, i).shape, identity_for(hidden, m, i).shape)
        assert not np.array_equal(identity_for(public, m, i).shape, identity_for(other, m, i).shape)
    a, b = _records(public), _records(hidden)
    assert [r["probe"]["shape_delta"] for r in a] != [r["probe"]["shape_delta"] for r in b]
    assert parse_config(hidden.to_dict()).identity_seed == 5

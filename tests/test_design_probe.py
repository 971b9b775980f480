"""Probe designs: morphs move only the chosen component by the chosen Mahalanobis distance,
cue-conflict hybrids combine one identity's shape with another's texture, revcorr noise is recorded."""
import copy
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from facegen.design import PRESETS, ConfigError, identity_for, parse_config, plan_shards
from facegen.model import load_model, save_npz
from facegen.sampler import render_samples

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model  # noqa: E402


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("m") / "synth.npz"
    save_npz(synthetic_model(), p)
    return str(p)


def _raw(model_path, probe, per):
    return {"model": model_path, "seed": 5, "identities": {"count": 4, "ethnicities": ["a", "b"]},
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


def test_cue_conflict_combines_shape_and_texture_of_two_identities(model_path):
    cfg = parse_config(_raw(model_path, {"kind": "cue_conflict", "partners": 3}, 3))
    m = load_model(model_path)
    for r in _records(cfg):
        p = r["probe"]
        assert p["shape_identity"] == r["identity"] != p["texture_identity"]
        assert np.allclose(r["shape_coeffs"], identity_for(cfg, m, p["shape_identity"]).shape, atol=1e-5)
        assert np.allclose(r["texture_coeffs"], identity_for(cfg, m, p["texture_identity"]).texture, atol=1e-5)


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
    bad["probe"] = {"kind": "cue_conflict", "partners": 4}
    with pytest.raises(ConfigError, match=r"probe.partners.*\[1, 3\]"):
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

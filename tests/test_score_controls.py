"""Controls with known answers, scored end to end from probe shards through precomputed outputs:
a model that sees only shape coefficients scores shape reliance and shape bias near 1, one that sees
only texture near 0, and pure noise has MI inside its permutation null. Also the CLI and scores.json.

:func:`probe_sets` (synthetic face model, three small probe designs written as shards) is shared by
the other ``test_score_*`` files.
"""
from __future__ import annotations

import atexit
import functools
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model  # noqa: E402

N_IDS = 6
PROBES = (("probe-morph", {"kind": "morph", "distances": [0, 1, 2, 4], "directions": 2}, 16),
          ("probe-cue", {"kind": "cue_conflict", "partners": 2}, 2),
          ("probe-revcorr", {"kind": "revcorr", "sigma": 1.0}, 60))
FAST = {"n_boot": 200, "n_boot_mi": 40, "n_perm": 200}


def design(model_path: str, name: str, probe: dict, per: int) -> dict:
    return {"name": name, "model": model_path, "seed": 5, "identities": {"count": N_IDS, "ethnicities": ["a"]},
            "samples": {"mode": "random", "per_identity": per}, "probe": probe,
            "extrinsic": {"yaw": {"levels": [-20, 0, 20]}}, "render": {"image_size": 16, "extras": ["coeffs"]},
            "splits": {"fractions": {"probe": 1.0}}}


@functools.lru_cache(maxsize=1)
def probe_sets() -> tuple[str, dict]:
    """(root folder, {name: folder}) of the three probe datasets, generated once per session."""
    from facegen.design import parse_config
    from facegen.generate import generate
    from facegen.model import save_npz

    root = Path(tempfile.mkdtemp(prefix="score-probes-"))
    atexit.register(shutil.rmtree, root, True)
    save_npz(synthetic_model(), root / "synth.npz")
    out = {}
    for name, probe, per in PROBES:
        generate(parse_config(design(str(root / "synth.npz"), name, probe, per)), root / name, progress=False)
        out[name] = str(root / name)
    return str(root), out


def identity_coeffs(probe):
    """(shape (K, Ks), texture (K, Kt)) base coefficients of identities 0..K-1 of a probe design."""
    from facegen.design import identity_for, parse_config
    from facegen.model import load_model

    cfg = parse_config(probe.config)
    m = load_model(cfg.model)
    ids = [identity_for(cfg, m, i) for i in range(N_IDS)]
    return np.stack([i.shape for i in ids]), np.stack([i.texture for i in ids])


def control_outputs(probe, kind: str, rng) -> np.ndarray:
    """Logits of a control: -distance to each identity in shape (or texture) coefficient space
    (plus a little independent noise, so the relation is not exactly deterministic), or pure noise."""
    S, T = identity_coeffs(probe)
    if kind == "noise":
        return rng.standard_normal((len(probe), N_IDS))
    field, base = ("shape_coeffs", S) if kind == "shape" else ("texture_coeffs", T)
    x = np.array([r[field] for r in probe.records])
    return -np.linalg.norm(x[:, None] - base[None], axis=2) + 0.01 * rng.standard_normal((len(probe), N_IDS))


def write_control(folder: Path, kind: str, sets) -> Path:
    from benchmark.outputs import save_outputs

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng({"shape": 1, "texture": 2, "noise": 3}[kind])
    for p in sets:
        save_outputs(folder / f"{p.name}.npz", p.keys, control_outputs(p, kind, rng))
    (folder / "model.json").write_text(json.dumps({"output_kind": "logits", "classes": list(range(N_IDS))}))
    return folder


@pytest.fixture(scope="module")
def sets():
    from benchmark.score import read_probe_set

    _, folders = probe_sets()
    return [read_probe_set(folders[n]) for n, _, _ in PROBES]


@pytest.fixture(scope="module")
def results(sets, tmp_path_factory):
    from benchmark.score import Settings, open_model, score

    root = tmp_path_factory.mktemp("controls")
    out = {}
    for kind in ("shape", "texture", "noise"):
        model = open_model(str(write_control(root / kind, kind, sets)))
        out[kind] = score(model, sets, settings=Settings(**FAST, maps=False))
    return out


@pytest.fixture(scope="module")
def scored(results):
    return {k: r.scores for k, r in results.items()}


def test_shape_only_model_relies_on_shape(scored):
    s = scored["shape"]["scores"]
    assert s["shape_bias"]["value"] == pytest.approx(1.0)
    assert s["shape_reliance"]["value"] > 0.95 and s["shape_reliance"]["ci"][0] > 0.9
    assert s["shape_reliance"]["significant"] and s["I_total"]["significant"] and s["I_total"]["p_perm"] < 0.01
    assert s["accuracy_at_zero"] == 1.0 and s["d50_shape"]["accuracy_at_zero"] == 1.0
    assert scored["shape"]["warnings"] == []
    assert s["I_shape"]["p_perm"] < 0.01 and s["I_texture"]["p_perm"] > 0.05
    assert s["d50_texture"]["beyond_range"] and not s["d50_shape"]["beyond_range"]
    assert s["retention"]["texture"]["p_same_identity"] == [1.0] * 4


def test_texture_only_model_relies_on_texture(scored):
    s = scored["texture"]["scores"]
    assert s["shape_bias"]["value"] == pytest.approx(0.0)
    assert s["shape_reliance"]["value"] < 0.05 and s["shape_reliance"]["ci"][1] < 0.1
    assert s["I_texture"]["p_perm"] < 0.01 and s["I_shape"]["p_perm"] > 0.05
    assert s["d50_shape"]["beyond_range"] and not s["d50_texture"]["beyond_range"]


def test_noise_model_mi_is_inside_its_null(scored):
    s = scored["noise"]["scores"]
    for k in ("I_shape", "I_texture"):
        assert s[k]["p_perm"] > 0.05
        assert s[k]["value"] <= s[k]["null_q95"]
    rel = s["shape_reliance"]
    assert rel["value"] is None and rel["ci"] == [None, None] and rel["significant"] is False
    assert rel["p_perm_total"] == s["I_total"]["p_perm"] > 0.05 and "not_significant" in rel["reason"]
    for k in ("I_shape_distance", "I_texture_distance"):
        assert s["morph_information"][k]["p_perm"] > 0.05


def test_noise_model_is_flagged_low_accuracy_at_zero_in_scores_and_report(results, tmp_path):
    from benchmark.score import format_summary, write_report

    sc = results["noise"].scores
    s = sc["scores"]
    assert s["accuracy_at_zero"] < 0.5  # chance is 1/6
    for c in ("shape", "texture"):
        assert s[f"d50_{c}"]["low_accuracy_at_zero"] and s[f"d50_{c}"]["accuracy_at_zero"] < 0.5
    codes = {w["code"]: w for w in sc["warnings"]}
    assert set(codes) == {"low_accuracy_at_zero", "information_not_significant"}
    w = codes["low_accuracy_at_zero"]
    assert w["scores"] == ["d50_shape", "d50_texture"] and w["threshold"] == 0.8
    assert "chance 0.167 for 6 candidates" in w["message"]
    assert "WARNING (low_accuracy_at_zero)" in format_summary(sc)
    write_report(results["noise"], tmp_path, figures=False)
    html = (tmp_path / "report.html").read_text()
    assert "id='warning-low_accuracy_at_zero'" in html and "n/a (not significant)" in html
    assert json.loads((tmp_path / "scores.json").read_text())["warnings"] == sc["warnings"]
    # what the leaderboard reads still parses: shape reliance null, accuracy a number
    from benchmark.leaderboard.runner import site_metrics

    m = site_metrics(json.loads((tmp_path / "scores.json").read_text()))
    assert m["shape_reliance"]["value"] is None and m["accuracy"]["value"] == s["accuracy_at_zero"]


def test_every_estimate_has_an_interval_and_provenance(scored, sets):
    d = scored["shape"]
    assert d["schema"] == "benchmark.scores/1"
    assert [p["manifest_sha256"] for p in d["probes"]] == [p.manifest_sha256 for p in sets]
    assert len(d["model"]["sha256"]) == 64 and d["model"]["decision_rule"] == "argmax"
    s = d["scores"]
    for k in ("d50_shape", "d50_texture", "shape_bias", "I_shape", "I_texture", "shape_reliance"):
        assert set(s[k]) >= {"value", "ci", "level", "n_boot"} and s[k]["level"] == 0.95
    json.dumps(d, allow_nan=False)


def test_cli_writes_scores_report_and_summary(sets, tmp_path):
    from click.testing import CliRunner

    from benchmark.score.cli import score_command

    _, folders = probe_sets()
    model = write_control(tmp_path / "m", "shape", sets)
    args = ["--model", str(model), "--out", str(tmp_path / "rep"), "--n-boot", "50", "--n-boot-mi", "20",
            "--n-perm", "50", "--no-progress"]
    for n, _, _ in PROBES:
        args += ["--probe", folders[n]]
    res = CliRunner().invoke(score_command, args)
    assert res.exit_code == 0, res.output
    assert "shape_bias" in res.stdout and "shape_reliance" in res.stdout
    d = json.loads((tmp_path / "rep" / "scores.json").read_text())
    assert d["scores"]["maps"]["model"] == "synthetic"
    for c in ("shape", "texture"):  # family-wise threshold and count of significant vertices
        m = d["scores"]["maps"][c]
        assert m["n_perm"] == 50 and m["alpha"] == 0.05 and 0 <= m["n_significant"] <= d["scores"]["maps"]["vertices"]
        assert m["n_significant"] == 0 or m["max"] > m["threshold"]
    assert d["settings"]["alpha"] == 0.05 and "map_shape" in res.stdout
    for f in ("retention", "information", "coefficients", "map_shape", "map_texture"):
        assert (tmp_path / "rep" / d["figures"][f]).is_file()
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "retention.png" in html and d["model"]["sha256"] in html
    # a usage error: exit 2 with the reason, no traceback
    bad = CliRunner().invoke(score_command, ["--model", str(tmp_path / "none.onnx"), "--probe", folders["probe-cue"],
                                             "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "no such file" in bad.output


def test_embedding_model_decides_by_nearest_canonical_gallery_face(sets, tmp_path):
    from benchmark.outputs import save_outputs
    from benchmark.score import Settings, open_model, render_gallery, score

    gallery = render_gallery(sets[0])
    assert gallery.name == "gallery" and sorted(gallery.identity.tolist()) == list(range(N_IDS))
    for r in gallery.records:  # canonical: frontal, neutral, no probe change
        assert r["pose_deg"] == {"yaw": 0.0, "pitch": 0.0, "roll": 0.0} and r["expression"] == "neutral"
        assert "probe" not in r
    rng = np.random.default_rng(4)
    for p in (*sets, gallery):  # an 'embedding' that is the shape coefficients (plus a little noise)
        e = np.array([r["shape_coeffs"] for r in p.records]) + 0.01 * rng.standard_normal((len(p), 6))
        save_outputs(tmp_path / f"{p.name}.npz", p.keys, e)
    (tmp_path / "model.json").write_text(json.dumps({"output_kind": "embedding"}))
    res = score(open_model(str(tmp_path)), sets, gallery=gallery,
                settings=Settings(**FAST, maps=False)).scores
    s = res["scores"]
    assert res["model"]["decision_rule"] == "gallery" and res["gallery"]["samples"] == N_IDS
    assert s["shape_bias"]["value"] == pytest.approx(1.0)
    assert s["accuracy_at_zero"] == pytest.approx(1.0)
    assert s["I_texture"]["p_perm"] > 0.05 and s["shape_reliance"]["value"] > 0.9


def test_probe_sets_are_verified_against_their_manifest(tmp_path):
    import shutil

    from benchmark.score import ProbeError, read_probe_set

    _, folders = probe_sets()
    bad = tmp_path / "cue"
    shutil.copytree(folders["probe-cue"], bad)
    shard = next(bad.glob("*.tar"))
    data = bytearray(shard.read_bytes())
    data[600] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(ProbeError, match="sha256"):
        read_probe_set(bad)
    m = json.loads((bad / "manifest.json").read_text())
    m["complete"] = False
    (bad / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ProbeError, match="incomplete"):
        read_probe_set(bad)


def test_probe_sets_must_share_their_identities(sets, tmp_path):
    import dataclasses

    from benchmark.score import ProbeError, Settings, open_model, score

    other = dataclasses.replace(sets[1], config={**sets[1].config, "seed": 6})
    model = open_model(str(write_control(tmp_path / "m", "shape", sets)))
    with pytest.raises(ProbeError, match="identities differently"):
        score(model, [sets[0], other], settings=Settings(**FAST, maps=False))

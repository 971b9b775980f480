"""The leaderboard runner: valid submissions scored in a child process and ranked, hostile ones rejected
with their message beside them, unchanged ones skipped by hash, slow ones stopped; the CLI commands.

Probe sets: the small synthetic designs of test_score_controls (shared, generated once per session).
"""
from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from test_score_controls import FAST, N_IDS, PROBES, control_outputs, probe_sets

from benchmark.leaderboard.cli import (
    leaderboard_command,
    submit_command,
    validate_command,
)
from benchmark.leaderboard.runner import run_leaderboard, site_metrics
from benchmark.score import Settings, read_probe_set

SETTINGS = Settings(**FAST, maps=False, layers=False)
META = {"schema": "facegen.submission/1", "authors": ["facegen"], "contact": "a@b.org", "licence": "MIT",
        "output_kind": "logits", "classes": list(range(N_IDS)), "payload": "outputs",
        "preprocessing": {"image_size": 16, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}}


@pytest.fixture(scope="module")
def probes():
    _, folders = probe_sets()
    dirs = [folders[n] for n, _, _ in PROBES]
    return dirs, [read_probe_set(d) for d in dirs]


def control_zip(path: Path, kind: str, sets, name: str | None = None, extra: dict | None = None) -> Path:
    rng = np.random.default_rng({"shape": 1, "texture": 2, "noise": 3}[kind])
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("submission.json", json.dumps({**META, "model_name": name or f"{kind}-only control"}))
        for p in sets:
            buf = io.BytesIO()
            np.savez(buf, keys=np.asarray(p.keys, dtype="U"), outputs=control_outputs(p, kind, rng))
            zf.writestr(f"outputs/{p.name}.npz", buf.getvalue())
        for k, v in (extra or {}).items():
            zf.writestr(k, v)
    return path


def tiny_onnx(path: Path, *, metadata: dict | None = None, sidecar: bool = False) -> Path:
    """A tiny ONNX classifier: global average pool of the RGB input, then a 3 x N_IDS linear map."""
    import onnx
    from onnx import TensorProto, helper

    w = helper.make_tensor("w", TensorProto.FLOAT, [3, N_IDS], np.random.default_rng(0).normal(size=3 * N_IDS))
    g = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["input"], ["p"]), helper.make_node("Flatten", ["p"], ["f"]),
         helper.make_node("MatMul", ["f", "w"], ["logits"])], "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["b", 3, "h", "w"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", N_IDS])], [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    if metadata is not None:
        helper.set_model_props(m, {"benchmark.config": json.dumps(metadata)})
    onnx.save(m, str(path))
    if sidecar:
        decl = {k: META[k] for k in ("output_kind", "classes", "preprocessing")}
        path.with_name(path.name + ".json").write_text(json.dumps(decl))
    return path


def onnx_zip(path: Path, model: Path, name: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("submission.json", json.dumps({**META, "model_name": name, "payload": "model.onnx"}))
        zf.writestr("model.onnx", model.read_bytes())
    return path


@pytest.fixture(scope="module")
def board(probes, tmp_path_factory):
    """One folder of valid and hostile submissions, scored once: (submissions dir, site dir, records)."""
    dirs, sets = probes
    root = tmp_path_factory.mktemp("board")
    subs = root / "subs"
    subs.mkdir()
    control_zip(subs / "a-shape.zip", "shape", sets)
    control_zip(subs / "b-escape.zip", "shape", sets, name="escaper", extra={"../evil.txt": b"x"})
    with zipfile.ZipFile(control_zip(subs / "c-texture.zip", "texture", sets)) as zf:
        zf.extractall(subs / "c-texture-folder")  # the same submission as a folder
    (subs / "c-texture.zip").unlink()
    bad = control_zip(root / "d.zip", "noise", sets)
    with zipfile.ZipFile(bad) as zin, zipfile.ZipFile(subs / "d-nan.zip", "w") as zout:
        for i in zin.infolist():
            data = zin.read(i)
            if i.filename == "outputs/probe-cue.npz":
                with np.load(io.BytesIO(data)) as z:
                    k, o = z["keys"], z["outputs"].copy()
                o[0, 0] = np.nan
                buf = io.BytesIO()
                np.savez(buf, keys=k, outputs=o)
                data = buf.getvalue()
            zout.writestr(i, data)
    onnx_zip(subs / "e-onnx.zip", tiny_onnx(root / "m.onnx"), "tiny onnx")
    onnx_zip(subs / "f-liar.zip", tiny_onnx(root / "l.onnx", metadata={**{k: META[k] for k in (
        "output_kind", "classes")}, "preprocessing": {**META["preprocessing"], "image_size": 32}}), "liar onnx")
    (subs / "notes.txt").write_text("not a submission")
    (subs / "g-link").symlink_to(subs / "c-texture-folder", target_is_directory=True)
    site = root / "site"
    records = run_leaderboard(subs, site, dirs, settings=SETTINGS, timeout_s=120, memory_mb=3072)
    return subs, site, records


def _by_entry(records):
    return {r["entry"]: r for r in records}


def test_valid_submissions_scored_and_ranked(board):
    _subs, site, records = board
    r = _by_entry(records)
    assert set(r) == {"a-shape.zip", "b-escape.zip", "c-texture-folder", "d-nan.zip", "e-onnx.zip", "f-liar.zip",
                      "g-link"}
    for e in ("a-shape.zip", "c-texture-folder", "e-onnx.zip"):
        assert r[e]["status"] == "scored", r[e]["messages"]
        saved = json.loads((site / "results" / f"{r[e]['slug']}.json").read_text())
        assert saved["scores"]["schema"] == "benchmark.scores/1" and len(saved["submission_sha256"]) == 64
        assert saved["probes"] == {p["name"]: p["manifest_sha256"] for p in saved["scores"]["probes"]}
        assert saved["figures"] and all((site / f).is_file() for f in saved["figures"])
    s = r["a-shape.zip"]["scores"]["scores"]
    assert s["shape_reliance"]["value"] > 0.9 and s["shape_bias"]["value"] == pytest.approx(1.0)
    m = site_metrics(r["a-shape.zip"]["scores"])
    assert m["d50_texture"]["value"] is None and m["d50_texture"]["beyond_range"]  # texture morphs never fool it
    assert m["accuracy"]["value"] == pytest.approx(1.0)
    index = (site / "index.html").read_text()
    assert index.index("shape-only control") < index.index("tiny onnx") < index.index("texture-only control")
    assert "&gt; 4.00" in index  # d50 beyond the largest tested distance
    md = (site / "leaderboard.md").read_text()
    assert md.count("\n") == 2 + 3 and "| 1 | shape\\-only control |" in md
    slug = r["a-shape.zip"]["slug"]  # the entry's own identity: readable part and a hash of its file name
    assert slug.startswith("a-shape-") and (site / "models" / f"{slug}.html").is_file()


def test_hostile_submissions_rejected_with_their_message_beside_the_others(board):
    _, site, records = board
    r = _by_entry(records)
    assert r["b-escape.zip"]["status"] == "rejected"
    assert any("escapes the submission folder" in m for m in r["b-escape.zip"]["messages"])
    assert r["d-nan.zip"]["status"] == "rejected"
    assert r["d-nan.zip"]["messages"] == ["outputs/probe-cue.npz: outputs contain 1 NaN or inf values"]
    assert r["f-liar.zip"]["status"] == "failed"
    assert "declares preprocessing differently from submission.json" in r["f-liar.zip"]["messages"][0]
    assert r["g-link"]["status"] == "rejected" and "symbolic link" in r["g-link"]["messages"][0]
    index = (site / "index.html").read_text()
    assert "escaper" not in index.split('id="not-ranked"')[0]
    not_ranked = index.split('id="not-ranked"')[1]
    assert "b-escape.zip" in not_ranked and "NaN or inf" in not_ranked and "f-liar.zip" in not_ranked
    assert "notes.txt" not in index


def test_unchanged_submissions_are_skipped_by_hash(board, probes):
    subs, site, _ = board
    dirs, _ = probes
    slug = _by_entry(board[2])["a-shape.zip"]["slug"]
    before = (site / "results" / f"{slug}.json").read_bytes()
    (subs / "c-texture-folder" / "README.md").write_text("changed")  # a new file: new hash, rescored
    again = _by_entry(run_leaderboard(subs, site, dirs, settings=SETTINGS, timeout_s=120, memory_mb=3072))
    assert again["a-shape.zip"]["skipped"] and again["b-escape.zip"]["skipped"]
    assert not again["c-texture-folder"]["skipped"] and again["c-texture-folder"]["status"] == "scored"
    assert not again["f-liar.zip"]["skipped"]  # failures are retried
    assert (site / "results" / f"{slug}.json").read_bytes() == before
    assert (site / "index.html").read_text().count('<tr><td data-v="') == 3


def test_a_submission_over_the_time_limit_fails_and_the_others_still_run(probes, tmp_path):
    dirs, sets = probes
    subs = tmp_path / "subs"
    subs.mkdir()
    control_zip(subs / "slow.zip", "shape", sets)
    (subs / "zz-bad.zip").write_bytes(b"PK\x03\x04garbage")
    r = _by_entry(run_leaderboard(subs, tmp_path / "site", dirs, settings=SETTINGS, timeout_s=1, memory_mb=3072))
    assert r["slow.zip"]["status"] == "failed"
    assert r["slow.zip"]["messages"] == ["scoring exceeded the time limit of 1 s and was stopped"]
    assert r["zz-bad.zip"]["status"] == "rejected" and "not a readable zip" in r["zz-bad.zip"]["messages"][0]
    assert "exceeded the time limit" in (tmp_path / "site" / "index.html").read_text()


def test_a_submission_over_the_memory_limit_fails(probes, tmp_path):
    dirs, sets = probes
    subs = tmp_path / "subs"
    subs.mkdir()
    control_zip(subs / "big.zip", "shape", sets)
    r = run_leaderboard(subs, tmp_path / "site", dirs, settings=SETTINGS, timeout_s=60, memory_mb=256)[0]
    assert r["status"] == "failed" and "memory limit of 256 MiB" in r["messages"][0]


def test_cli_validate_exit_codes(probes, tmp_path):
    dirs, sets = probes
    good = control_zip(tmp_path / "good.zip", "shape", sets)
    args = [a for d in dirs for a in ("--probe", d)]
    res = CliRunner().invoke(validate_command, [str(good), *args])
    assert res.exit_code == 0 and "valid" in res.stdout
    bad = control_zip(tmp_path / "bad.zip", "shape", sets, extra={"../evil": b"x", "/etc/x": b"y"})
    res = CliRunner().invoke(validate_command, [str(bad)])
    assert res.exit_code == 1
    assert "escapes the submission folder" in res.stdout and "absolute path" in res.stdout  # every problem
    res = CliRunner().invoke(validate_command, [str(good), "--probe", dirs[0]])  # only probe-morph is public here
    assert res.exit_code == 1 and "no probe set 'probe-cue'" in res.stdout
    assert CliRunner().invoke(validate_command, [str(tmp_path / "none.zip")]).exit_code == 2


def test_submit_builds_a_valid_zip_that_scores(probes, tmp_path):
    dirs, _ = probes
    model = tiny_onnx(tmp_path / "m.onnx", sidecar=True)
    args = ["--model", str(model), "--out", str(tmp_path / "subs" / "tiny.zip"), "--name", "tiny",
            "--author", "A. Person", "--contact", "a@b.org", "--licence", "MIT"]
    args += [a for d in dirs for a in ("--probe", d)]
    res = CliRunner().invoke(submit_command, args)
    assert res.exit_code == 0, res.output
    with zipfile.ZipFile(tmp_path / "subs" / "tiny.zip") as zf:
        names = sorted(zf.namelist())
        meta = json.loads(zf.read("submission.json"))
    assert names == ["outputs/probe-cue.npz", "outputs/probe-morph.npz", "outputs/probe-revcorr.npz", "submission.json"]
    assert meta["classes"] == list(range(N_IDS)) and meta["preprocessing"]["image_size"] == 16
    res = CliRunner().invoke(leaderboard_command, ["--submissions", str(tmp_path / "subs"), "--out",
                                                   str(tmp_path / "site"), "--n-boot", "50", "--n-boot-mi", "20",
                                                   "--n-perm", "50", "--no-maps", "--timeout", "120", *args[-6:]])
    assert res.exit_code == 0, res.output
    assert "tiny.zip\tscored" in res.stdout
    bad = CliRunner().invoke(submit_command, args[:-6])  # no --probe: usage error
    assert bad.exit_code == 2


def test_embedding_submission_is_scored_against_the_rendered_gallery(probes, tmp_path):
    from benchmark.score import render_gallery

    dirs, sets = probes
    gallery = render_gallery(sets[0])
    subs = tmp_path / "subs"
    subs.mkdir()
    meta = {**{k: v for k, v in META.items() if k != "classes"}, "output_kind": "embedding", "model_name": "emb"}
    rng = np.random.default_rng(4)
    with zipfile.ZipFile(subs / "emb.zip", "w") as zf:
        zf.writestr("submission.json", json.dumps(meta))
        for p in (*sets, gallery):  # an 'embedding' that is the shape coefficients (plus a little noise)
            e = np.array([r["shape_coeffs"] for r in p.records]) + 0.01 * rng.standard_normal((len(p), 6))
            buf = io.BytesIO()
            np.savez(buf, keys=np.asarray(p.keys, dtype="U"), outputs=e)
            zf.writestr(f"outputs/{p.name}.npz", buf.getvalue())
    r = run_leaderboard(subs, tmp_path / "site", dirs, settings=SETTINGS, timeout_s=120, memory_mb=3072)[0]
    assert r["status"] == "scored", r["messages"]
    assert r["scores"]["model"]["decision_rule"] == "gallery"
    assert r["scores"]["scores"]["shape_bias"]["value"] == pytest.approx(1.0)


def test_site_metrics_keep_the_significance_and_accuracy_flags():
    from benchmark.leaderboard.runner import site_metrics

    scores = {"scores": {
        "accuracy_at_zero": 0.31,
        "shape_reliance": {"value": None, "ci": None, "significant": False, "p_perm_total": 0.4, "alpha": 0.05},
        "d50_shape": {"value": 0.0, "ci": [0.0, 0.0], "low_accuracy_at_zero": True, "accuracy_at_zero": 0.31}}}
    m = site_metrics(scores)
    assert m["shape_reliance"] == {"value": None, "ci": None, "significant": False, "p_perm_total": 0.4}
    assert m["d50_shape"]["low_accuracy_at_zero"] is True and m["accuracy"]["value"] == 0.31

"""Hostile submissions: every rule rejects with its own message; valid ones load."""
import io
import json
import stat
import warnings
import zipfile

import numpy as np
import pytest

from benchmark.leaderboard import SubmissionError, load_submission, safezip
from benchmark.outputs import save_outputs

KEYS = [f"{i:06d}_{s:08d}" for i in range(3) for s in range(4)]
NAMES = ("probe-morph", "probe-cue", "probe-revcorr")
PROBES = {n: KEYS for n in NAMES}
META = {"schema": "facegen.submission/1", "model_name": "toy", "authors": ["A. Person"], "contact": "a@b.org",
        "licence": "MIT", "output_kind": "logits", "payload": "outputs", "classes": [0, 1, 2],
        "preprocessing": {"image_size": 64, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}}


def _npz(keys=KEYS, out=None, **arrays):
    buf = io.BytesIO()
    out = np.random.default_rng(0).normal(size=(len(keys), 3)).astype(np.float32) if out is None else out
    np.savez(buf, keys=np.asarray(keys, dtype="U"), outputs=out, **arrays)
    return buf.getvalue()


def _outs(**override):
    """outputs/ members for every probe set; ``override`` replaces (or with None drops) one, by short name."""
    out = {f"outputs/{n}.npz": _npz() for n in NAMES}
    for short, data in override.items():
        name = f"outputs/probe-{short}.npz"
        if data is None:
            out.pop(name)
        else:
            out[name] = data
    return out


def _zip(path, members, meta=META):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        if meta is not None:
            zf.writestr("submission.json", json.dumps(meta))
        for name, data in members.items():
            if isinstance(data, zipfile.ZipInfo):
                zf.writestr(data, b"target")
            else:
                zf.writestr(name, data)
    return path


def _problems(path, **kw):
    with pytest.raises(SubmissionError) as e:
        load_submission(path, probes=PROBES, **kw)
    return "\n".join(e.value.problems)


def test_valid_zip_and_folder_load(tmp_path):
    s = load_submission(_zip(tmp_path / "s.zip", _outs()), probes=PROBES)
    assert set(s.outputs) == set(NAMES) and len(s.sha256) == 64
    keys, out = s.outputs["probe-cue"]
    assert keys == KEYS and out.shape == (12, 3) and out.dtype == np.float64
    assert s.declaration == {"output_kind": "logits", "classes": [0, 1, 2], "preprocessing": META["preprocessing"]}
    d = tmp_path / "folder"
    (d / "outputs").mkdir(parents=True)
    (d / "submission.json").write_text(json.dumps(META))
    for n in NAMES:  # safetensors and npz may be mixed
        save_outputs(d / "outputs" / f"{n}.{'safetensors' if n == 'probe-cue' else 'npz'}", KEYS,
                     np.ones((12, 3), np.float32))
    s2 = load_submission(d, probes=PROBES)
    assert np.array_equal(s2.outputs["probe-cue"][1], np.ones((12, 3)))
    assert load_submission(d).outputs.keys() == s2.outputs.keys()  # no probe keys: form checks only


def test_embedding_submission_needs_a_gallery(tmp_path):
    meta = {**{k: v for k, v in META.items() if k != "classes"}, "output_kind": "embedding"}
    g = {"outputs/gallery.npz": _npz(keys=KEYS[::4], out=np.ones((3, 3), np.float32))}
    s = load_submission(_zip(tmp_path / "e.zip", {**_outs(), **g}, meta=meta), probes={**PROBES, "gallery": KEYS[::4]})
    assert set(s.outputs) == {*NAMES, "gallery"} and "classes" not in s.declaration
    assert "outputs/ lacks gallery.npz" in _problems(_zip(tmp_path / "f.zip", _outs(), meta=meta))
    wide = _outs(cue=_npz(out=np.ones((12, 5), np.float32)))
    assert "embedding widths differ" in _problems(_zip(tmp_path / "g.zip", {**wide, **g}, meta=meta))
    assert "classes is only for logits" in _problems(
        _zip(tmp_path / "h.zip", {**_outs(), **g}, meta={**meta, "classes": [0, 1, 2]}))


def test_onnx_payload(tmp_path):
    from onnx import TensorProto, helper

    meta = {**META, "payload": "model.onnx"}
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph).SerializeToString()
    s = load_submission(_zip(tmp_path / "o.zip", {"model.onnx": model}, meta=meta))
    assert s.onnx == model and s.outputs is None
    assert "not an ONNX protobuf" in _problems(_zip(tmp_path / "p.zip", {"model.onnx": b"import os"}, meta=meta))
    assert "not a readable ONNX protobuf" in _problems(_zip(tmp_path / "r.zip", {"model.onnx": b"\x08\x07rest"},
                                                            meta=meta))
    assert "payload 'model.onnx' named in submission.json is missing" in _problems(
        _zip(tmp_path / "q.zip", _outs(), meta=meta))


@pytest.mark.parametrize("name, words", [
    ("../evil.txt", "escapes the submission folder"),
    ("/etc/passwd", "absolute path"),
    ("a\\b.txt", "backslashes"),
])
def test_paths_escaping_are_refused(tmp_path, name, words):
    p = _zip(tmp_path / "s.zip", {**_outs(), name: b"x"})
    assert words in _problems(p)


def test_symlink_member_is_refused(tmp_path):
    info = zipfile.ZipInfo("link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    p = _zip(tmp_path / "s.zip", {**_outs(), "link": info})
    assert "symbolic link" in _problems(p)


def test_symlink_in_folder_is_refused(tmp_path):
    d = tmp_path / "sub"
    d.mkdir()
    (d / "outputs").mkdir(parents=True)
    (d / "submission.json").write_text(json.dumps(META))
    (d / "outputs" / "probe-morph.npz").symlink_to("/etc/hostname")
    assert "symbolic link" in _problems(d)


def test_zip_bomb_is_refused(tmp_path):
    p = _zip(tmp_path / "s.zip", {**_outs(), "README.md": b"\0" * (20 * 2**20)})
    assert "zip bomb" in _problems(p)


def test_oversized_member_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(safezip, "MAX_MEMBER_BYTES", 1000)
    p = _zip(tmp_path / "s.zip", _outs())
    assert "at most 1000 allowed" in _problems(p)


def test_duplicate_members_are_refused(tmp_path):
    p = tmp_path / "s.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _zip(p, _outs())
        with zipfile.ZipFile(p, "a") as zf:
            zf.writestr("outputs/probe-cue.npz", _npz())
    assert "appears twice" in _problems(p)


def test_pickled_outputs_are_never_loaded(tmp_path):
    buf = io.BytesIO()
    np.savez(buf, keys=np.asarray(KEYS, dtype=object), outputs=np.zeros((12, 3)))
    p = _zip(tmp_path / "s.zip", _outs(cue=buf.getvalue()))
    assert "pickles" in _problems(p)


@pytest.mark.parametrize("make, words", [
    (lambda: _npz(keys=KEYS[:-1], out=np.zeros((11, 3), np.float32)), "1 probe keys missing"),
    (lambda: _npz(keys=KEYS[:-1] + KEYS[:1], out=np.zeros((12, 3), np.float32)), "1 duplicate keys"),
    (lambda: _npz(keys=KEYS[:-1] + ["999999_00000000"], out=np.zeros((12, 3), np.float32)), "not in the probe set"),
    (lambda: _npz(keys=KEYS[:-1] + ["bad.key"], out=np.zeros((12, 3), np.float32)), "malformed keys"),
    (lambda: _npz(out=np.zeros((12, 3), np.int64)), "dtype int64"),
    (lambda: _npz(out=np.zeros(12, np.float32)), "shape (12,)"),
    (lambda: _npz(out=np.zeros((12, 5), np.float32)), "5 columns; expected 3"),  # len(classes) == 3
    (lambda: _npz(out=np.full((12, 3), np.nan, np.float32)), "NaN or inf"),
    (lambda: _npz(out=np.full((12, 3), np.inf, np.float32)), "NaN or inf"),
    (lambda: _npz(extra=np.zeros(2)), "expected exactly ['keys', 'outputs']"),
    (lambda: b"not a zip at all", "not a readable npz"),
])
def test_bad_outputs_each_have_their_message(tmp_path, make, words):
    p = _zip(tmp_path / "s.zip", _outs(revcorr=make()))
    assert words in _problems(p)


@pytest.mark.parametrize("change, words", [
    ({"contact": "nobody"}, "not an e-mail address"),
    ({"output_kind": "probabilities"}, "output_kind"),
    ({"payload": "weights.pt"}, "payload 'weights.pt'"),
    ({"payload": "outputs.npz"}, "payload 'outputs.npz'; allowed: ['outputs', 'model.onnx']"),
    ({"classes": None}, "classes must be a list"),
    ({"classes": [0, 1, "two"]}, "classes must be a non-empty list of facegen identity indices"),
    ({"classes": [0, 1, 1]}, "lists an identity twice"),
    ({"schema": "other/1"}, "schema"),
    ({"preprocessing": {"image_size": 64, "mean": [0.5], "std": [1, 1, 1]}}, "preprocessing.mean"),
    ({"favourite_colour": "blue"}, "unknown field"),
    ({"paper_url": "javascript:alert(1)"}, "paper_url must be an http(s) URL"),
])
def test_bad_metadata_is_named(tmp_path, change, words):
    p = _zip(tmp_path / "s.zip", _outs(), meta={**META, **change})
    assert words in _problems(p)


def test_missing_pieces(tmp_path):
    assert "submission.json is missing" in _problems(_zip(tmp_path / "a.zip", _outs(), meta=None))
    assert "payload 'outputs' named in submission.json is missing" in _problems(_zip(tmp_path / "b.zip", {}))
    assert "lacks required field 'licence'" in _problems(
        _zip(tmp_path / "c.zip", _outs(), meta={k: v for k, v in META.items() if k != "licence"}))
    assert "unexpected file" in _problems(_zip(tmp_path / "d.zip", {**_outs(), "run.sh": b"rm -rf /"}))
    assert "classes is required for logits" in _problems(
        _zip(tmp_path / "c2.zip", _outs(), meta={k: v for k, v in META.items() if k != "classes"}))
    (tmp_path / "e.zip").write_bytes(b"PK\x03\x04garbage")
    assert "not a readable zip" in _problems(tmp_path / "e.zip")


@pytest.mark.parametrize("members, words", [
    (_outs(revcorr=None), "outputs/ lacks probe-revcorr.npz"),
    ({**_outs(), "outputs/probe-other.npz": _npz()}, "no probe set 'probe-other'"),
    ({**_outs(), "outputs/probe-cue.safetensors": b"x"}, "has two outputs files"),
    ({**_outs(), "outputs/probe-cue.pkl": b"x"}, "outputs are outputs/NAME.npz"),
    ({**_outs(), "outputs/sub/probe-cue.npz": _npz()}, "outputs are outputs/NAME.npz"),
])
def test_outputs_folder_rules(tmp_path, members, words):
    assert words in _problems(_zip(tmp_path / "s.zip", members))


def test_keys_checked_against_each_probe_set(tmp_path):
    other = {**PROBES, "probe-cue": KEYS[:6]}  # the public cue set holds fewer samples than submitted
    with pytest.raises(SubmissionError) as e:
        load_submission(_zip(tmp_path / "s.zip", _outs()), probes=other)
    assert e.value.problems == ["outputs/probe-cue.npz: 6 keys not in the probe set, e.g. '000001_00000002'"]

"""Hostile submissions: every rule rejects with its own message; valid ones load."""
import io
import json
import stat
import warnings
import zipfile

import numpy as np
import pytest

from benchmark.leaderboard import SubmissionError, load_submission
from benchmark.leaderboard import safezip
from benchmark.outputs import save_outputs

KEYS = [f"{i:06d}_{s:08d}" for i in range(3) for s in range(4)]
META = {"schema": "facegen.submission/1", "model_name": "toy", "authors": ["A. Person"], "contact": "a@b.org",
        "licence": "MIT", "output_kind": "logits", "payload": "outputs.npz",
        "preprocessing": {"image_size": 64, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}}


def _npz(keys=KEYS, out=None, **arrays):
    buf = io.BytesIO()
    out = np.random.default_rng(0).normal(size=(len(keys), 3)).astype(np.float32) if out is None else out
    np.savez(buf, keys=np.asarray(keys, dtype="U"), outputs=out, **arrays)
    return buf.getvalue()


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
        load_submission(path, expected_keys=KEYS, n_classes=3, **kw)
    return "\n".join(e.value.problems)


def test_valid_zip_and_folder_load(tmp_path):
    s = load_submission(_zip(tmp_path / "s.zip", {"outputs.npz": _npz()}), expected_keys=KEYS, n_classes=3)
    assert s.keys == KEYS and s.outputs.shape == (12, 3) and len(s.sha256) == 64
    d = tmp_path / "folder"
    d.mkdir()
    (d / "submission.json").write_text(json.dumps({**META, "payload": "outputs.safetensors"}))
    save_outputs(d / "outputs.safetensors", KEYS, np.ones((12, 3), np.float32))
    s2 = load_submission(d, expected_keys=KEYS, n_classes=3)
    assert np.array_equal(s2.outputs, np.ones((12, 3)))


@pytest.mark.parametrize("name, words", [
    ("../evil.txt", "escapes the submission folder"),
    ("/etc/passwd", "absolute path"),
    ("a\\b.txt", "backslashes"),
])
def test_paths_escaping_are_refused(tmp_path, name, words):
    p = _zip(tmp_path / "s.zip", {"outputs.npz": _npz(), name: b"x"})
    assert words in _problems(p)


def test_symlink_member_is_refused(tmp_path):
    info = zipfile.ZipInfo("link")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    p = _zip(tmp_path / "s.zip", {"outputs.npz": _npz(), "link": info})
    assert "symbolic link" in _problems(p)


def test_symlink_in_folder_is_refused(tmp_path):
    d = tmp_path / "sub"
    d.mkdir()
    (d / "submission.json").write_text(json.dumps(META))
    (d / "outputs.npz").symlink_to("/etc/hostname")
    assert "symbolic link" in _problems(d)


def test_zip_bomb_is_refused(tmp_path):
    p = _zip(tmp_path / "s.zip", {"outputs.npz": _npz(), "README.md": b"\0" * (20 * 2**20)})
    assert "zip bomb" in _problems(p)


def test_oversized_member_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(safezip, "MAX_MEMBER_BYTES", 1000)
    p = _zip(tmp_path / "s.zip", {"outputs.npz": _npz()})
    assert "at most 1000 allowed" in _problems(p)


def test_duplicate_members_are_refused(tmp_path):
    p = tmp_path / "s.zip"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _zip(p, {"outputs.npz": _npz()})
        with zipfile.ZipFile(p, "a") as zf:
            zf.writestr("outputs.npz", _npz())
    assert "appears twice" in _problems(p)


def test_pickled_outputs_are_never_loaded(tmp_path):
    buf = io.BytesIO()
    np.savez(buf, keys=np.asarray(KEYS, dtype=object), outputs=np.zeros((12, 3)))
    p = _zip(tmp_path / "s.zip", {"outputs.npz": buf.getvalue()})
    assert "pickles" in _problems(p)


@pytest.mark.parametrize("make, words", [
    (lambda: _npz(keys=KEYS[:-1], out=np.zeros((11, 3), np.float32)), "1 probe keys missing"),
    (lambda: _npz(keys=KEYS[:-1] + KEYS[:1], out=np.zeros((12, 3), np.float32)), "1 duplicate keys"),
    (lambda: _npz(keys=KEYS[:-1] + ["999999_00000000"], out=np.zeros((12, 3), np.float32)), "not in the probe set"),
    (lambda: _npz(keys=KEYS[:-1] + ["bad.key"], out=np.zeros((12, 3), np.float32)), "malformed keys"),
    (lambda: _npz(out=np.zeros((12, 3), np.int64)), "dtype int64"),
    (lambda: _npz(out=np.zeros(12, np.float32)), "shape (12,)"),
    (lambda: _npz(out=np.zeros((12, 5), np.float32)), "5 columns; expected 3"),
    (lambda: _npz(out=np.full((12, 3), np.nan, np.float32)), "NaN or inf"),
    (lambda: _npz(out=np.full((12, 3), np.inf, np.float32)), "NaN or inf"),
    (lambda: _npz(extra=np.zeros(2)), "expected exactly ['keys', 'outputs']"),
    (lambda: b"not a zip at all", "not a readable npz"),
])
def test_bad_outputs_each_have_their_message(tmp_path, make, words):
    p = _zip(tmp_path / "s.zip", {"outputs.npz": make()})
    assert words in _problems(p)


@pytest.mark.parametrize("change, words", [
    ({"contact": "nobody"}, "not an e-mail address"),
    ({"output_kind": "probabilities"}, "output_kind"),
    ({"payload": "weights.pt"}, "payload 'weights.pt'"),
    ({"schema": "other/1"}, "schema"),
    ({"preprocessing": {"image_size": 64, "mean": [0.5], "std": [1, 1, 1]}}, "preprocessing.mean"),
    ({"favourite_colour": "blue"}, "unknown field"),
    ({"paper_url": "javascript:alert(1)"}, "paper_url must be an http(s) URL"),
])
def test_bad_metadata_is_named(tmp_path, change, words):
    p = _zip(tmp_path / "s.zip", {"outputs.npz": _npz()}, meta={**META, **change})
    assert words in _problems(p)


def test_missing_pieces(tmp_path):
    assert "submission.json is missing" in _problems(_zip(tmp_path / "a.zip", {"outputs.npz": _npz()}, meta=None))
    assert "payload 'outputs.npz'" in _problems(_zip(tmp_path / "b.zip", {}))
    assert "lacks required field 'licence'" in _problems(
        _zip(tmp_path / "c.zip", {"outputs.npz": _npz()}, meta={k: v for k, v in META.items() if k != "licence"}))
    assert "unexpected file" in _problems(_zip(tmp_path / "d.zip", {"outputs.npz": _npz(), "run.sh": b"rm -rf /"}))
    (tmp_path / "e.zip").write_bytes(b"PK\x03\x04garbage")
    assert "not a readable zip" in _problems(tmp_path / "e.zip")

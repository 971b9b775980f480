"""Hostile inputs to validation and the leaderboard (issue 16): each is refused or shown with its own
message, never a traceback; one entry never stops the others, never takes over another's results or
page, and never damages the previous site; text from submissions never reaches a terminal raw.

Probe sets: the small synthetic designs of test_score_controls (shared, generated once per session).
"""
from __future__ import annotations

import functools
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
import test_leaderboard_submission as ts
from test_leaderboard_runner import SETTINGS, control_zip, onnx_zip, tiny_onnx
from test_score_controls import PROBES, probe_sets

from facegen._safe_text import safe_text
from benchmark.leaderboard import SubmissionError, load_submission
from benchmark.leaderboard import site as site_mod
from benchmark.leaderboard.cli import leaderboard_command, submit_command, validate_command
from benchmark.leaderboard.runner import run_leaderboard, source_sha256
from benchmark.leaderboard.site import entry_id, render_site, write_atomic
from benchmark.outputs import OutputsError, parse_outputs
from benchmark.score import ModelError, open_model, read_probe_set

GiB = 2**30


# ------------------------------------------------------------------------------------------ helpers
def _validate(path) -> str:
    """`benchmark validate PATH`: must exit 1 with messages, no traceback, no raw control characters."""
    res = CliRunner().invoke(validate_command, [str(path)])
    assert isinstance(res.exception, SystemExit) and res.exit_code == 1, (res.output, res.exception)
    assert "Traceback" not in res.output and "\x1b" not in res.output
    res.output.encode("utf-8")  # safe_text: no lone surrogates either
    return res.output


def _meta_zip(path: Path, meta_text: str | bytes) -> Path:
    """A submission with valid outputs and the given raw submission.json text."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("submission.json", meta_text)
        for name, data in ts._outs().items():
            zf.writestr(name, data)
    return path


def _raw_zip(members) -> bytes:
    """A zip of pre-compressed members [(name bytes, flags, method, crc, data, size)], written by hand."""
    out, central = io.BytesIO(), []
    for name, flags, method, crc, data, size in members:
        off = out.tell()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0x21, crc, len(data), size,
                              len(name), 0) + name + data)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, flags, method, 0, 0x21, crc, len(data),
                                   size, len(name), 0, 0, 0, 0, 0, off) + name)
    cd = out.tell()
    out.write(b"".join(central))
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), out.tell() - cd, cd, 0))
    return out.getvalue()


def _stored(name: bytes, data: bytes, flags: int = 0):
    return (name, flags, 0, zlib.crc32(data), data, len(data))


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


_BOMB_KEYS = _npy(np.asarray([f"{i:06d}_00000000" for i in range(3)], dtype="U"))


@functools.lru_cache(maxsize=None)
def _bomb_npz(size: int) -> bytes:
    """A valid npz whose outputs.npy (float32 zeros, shape (rows, 4)) inflates to ``size`` bytes from about
    size/1000: deflate blocks of 16 MiB of zeros, each ended by a full flush, so one block is repeated."""
    chunk = 2**24
    assert size % chunk == 0
    rows = size // 16
    for _ in range(3):  # the header's length depends on the digits of rows
        hbuf = io.BytesIO()
        np.lib.format.write_array_header_1_0(hbuf, {"descr": "<f4", "fortran_order": False, "shape": (rows, 4)})
        rows = (size - len(hbuf.getvalue())) // 16
    header = hbuf.getvalue()
    assert len(header) + rows * 16 == size
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = header + bytes(chunk - len(header))
    head = c.compress(first) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(chunk)) + c.flush(zlib.Z_FULL_FLUSH)
    data = head + block * (size // chunk - 1) + c.flush()
    crc, zeros = zlib.crc32(first), bytes(chunk)
    for _ in range(size // chunk - 1):
        crc = zlib.crc32(zeros, crc)
    return _raw_zip([_stored(b"keys.npy", _BOMB_KEYS), (b"outputs.npy", 0, 8, crc, data, size)])


def _bomb_submission(path: Path, size: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:  # stored: the outer zip's ratio is 1
        zf.writestr("submission.json", json.dumps(ts.META))
        for name, data in ts._outs(morph=_bomb_npz(size)).items():
            zf.writestr(name, data)
    return path


def _deep_folder(root: Path, levels: int = 1100) -> Path:
    root.mkdir()
    d = root
    for _ in range(levels):  # os.makedirs itself recurses too deep for this
        d = d / "a"
        d.mkdir()
    return root


def _remove_deep(root: Path) -> None:
    chain = [root]
    while (chain[-1] / "a").is_dir():
        chain.append(chain[-1] / "a")
    for d in reversed(chain):
        for f in d.iterdir():
            if not f.is_dir():
                f.unlink()
        d.rmdir()


def _long_path_folder(root: Path, levels: int = 20, width: int = 250) -> Path:
    """A folder whose innermost path is over PATH_MAX (4096): made with directory file descriptors."""
    root.mkdir()
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(levels):
            os.mkdir("d" * width, dir_fd=fd)
            inner = os.open("d" * width, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.close(os.open("submission.json", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
    finally:
        os.close(fd)
    assert len(str(root)) + levels * (width + 1) > 4096
    return root


def _evil_op_onnx(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("\x1b[31mEvil", ["input"], ["logits"])], "evil",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["b", 3, "h", "w"])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", 6])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def _external_onnx(folder: Path, *, nested: bool) -> Path:
    """The tiny classifier whose weight tensor lives in an external file beside it (or inside an If branch)."""
    import onnx
    from onnx import TensorProto, helper

    (folder / "weights.bin").write_bytes(np.arange(18, dtype=np.float32).tobytes())
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[3, 6], data_location=TensorProto.EXTERNAL)
    for k, v in (("location", "weights.bin"), ("offset", "0"), ("length", "72")):
        e = w.external_data.add()
        e.key, e.value = k, v
    path = tiny_onnx(folder / "ext.onnx", metadata={k: ts.META[k] for k in ("output_kind", "preprocessing")}
                     | {"classes": list(range(6))})
    m = onnx.load(str(path))
    if nested:
        branch = helper.make_graph([helper.make_node("Constant", [], ["c"], value=w)], "b", [],
                                   [helper.make_tensor_value_info("c", TensorProto.FLOAT, [3, 6])])
        m.graph.node.append(helper.make_node("If", ["cond"], ["unused"], then_branch=branch, else_branch=branch))
        m.graph.input.append(helper.make_tensor_value_info("cond", TensorProto.BOOL, []))
    else:
        m.graph.ClearField("initializer")
        m.graph.initializer.append(w)
    path.write_bytes(m.SerializeToString())
    return path


# ---------------------------------------------------------------------------- submission.json itself
@pytest.mark.parametrize("number, words", [
    ("NaN", "submission.json: NaN is not a JSON number; every number must be finite (no NaN or Infinity)"),
    ("Infinity", "submission.json: Infinity is not a JSON number; every number must be finite"),
    ("-Infinity", "submission.json: -Infinity is not a JSON number; every number must be finite"),
    ("1e999", "submission.json: the number 1e999 is too large to be finite; every number must be finite"),
    ("1" + "0" * 400, "preprocessing.mean must be three finite numbers (no NaN or Infinity)"),
])
def test_nan_and_infinity_in_preprocessing_are_refused(tmp_path, number, words):
    text = json.dumps({**ts.META, "preprocessing": {**ts.META["preprocessing"], "mean": [0.5, "@", 0.5]}})
    assert words in _validate(_meta_zip(tmp_path / "s.zip", text.replace('"@"', number)))


@pytest.mark.parametrize("field, value", [("model_name", "\udcff"), ("authors", ["A. Person", "B\udcffC"])])
def test_lone_surrogates_in_names_are_refused(tmp_path, field, value):
    text = json.dumps({**ts.META, field: value})  # json writes them as \udcff escapes
    out = _validate(_meta_zip(tmp_path / "s.zip", text))
    name = "model_name" if field == "model_name" else "authors[1]"
    assert f"submission.json: {name} holds lone surrogates (U+DCFF), i.e. text that was not UTF-8" in out


def test_submit_with_a_name_that_is_not_utf8_stops_before_running_the_model(tmp_path):
    args = ["--model", str(tmp_path / "none.onnx"), "--probe", str(tmp_path), "--out", str(tmp_path / "s.zip"),
            "--name", "\udcff", "--author", "A", "--contact", "a@b.org", "--licence", "MIT"]
    res = CliRunner().invoke(submit_command, args)  # what `benchmark submit --name $'\xff'` passes on
    assert res.exit_code == 1 and not isinstance(res.exception, UnicodeError), res.exception
    assert "the submission would be invalid: submission.json: model_name holds lone surrogates (U+DCFF)" in res.output
    assert "no such file" not in res.output and not (tmp_path / "s.zip").exists()


@pytest.mark.parametrize("value, char", [("evil\x1b[2J", "U+001B"), ("two\nlines", "U+000A"),
                                         ("abc\u202edcba", "U+202E"), ("csi\x9b31m", "U+009B")])
def test_control_characters_in_names_are_refused_and_never_printed_raw(tmp_path, value, char):
    out = _validate(_meta_zip(tmp_path / "s.zip", json.dumps({**ts.META, "model_name": value})))
    assert f"model_name holds control characters ({char}); it must be one line of safe_text text" in out
    assert all(c not in out for c in "\x1b\x9b\u202e")


def test_submission_json_nested_too_deep_or_too_large(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    assert "submission.json nests arrays or objects too deep to read" in _validate(_meta_zip(tmp_path / "a.zip", deep))
    big = json.dumps({**ts.META, "description": "x" * 2**21})
    assert f"submission.json is {len(big)} bytes; at most 1048576 allowed" in _validate(
        _meta_zip(tmp_path / "b.zip", big))


# ------------------------------------------------------------------------------------ outputs files
def test_npz_header_claiming_2_40_rows(tmp_path):
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False, "shape": (2**40, 3)})
    keys = _npy(np.asarray(ts.KEYS, dtype="U"))
    npz = _raw_zip([_stored(b"keys.npy", keys), _stored(b"outputs.npy", head.getvalue() + bytes(48))])
    out = _validate(ts._zip(tmp_path / "s.zip", ts._outs(cue=npz)))
    assert ("outputs/probe-cue.npz: array 'outputs' declares shape (1099511627776, 3) of float32 (13194139533312 "
            "bytes); at most 536870912 bytes allowed") in out
    small = _raw_zip([_stored(b"keys.npy", keys), _stored(b"outputs.npy", head.getvalue().replace(
        b"1099511627776, 3", b"12, 3" + b" " * 11) + bytes(10))])
    with pytest.raises(OutputsError) as e:
        parse_outputs("x.npz", small)
    assert e.value.problems == ["x.npz: array 'outputs' declares shape (12, 3) of float32 (144 bytes) but holds 10 "
                                "bytes of data"]


def _safetensors(header: dict, data: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


@pytest.mark.parametrize("dtype", ["BF16", "F8_E4M3", "F8_E5M2", "F16"])
def test_safetensors_with_dtypes_numpy_cannot_hold_are_named(tmp_path, dtype):
    st = _safetensors({"outputs": {"dtype": dtype, "shape": [12, 3], "data_offsets": [0, 72]},
                       "__metadata__": {"keys": json.dumps(ts.KEYS)}}, bytes(72))
    out = _validate(ts._zip(tmp_path / "s.zip", {**ts._outs(cue=None), "outputs/probe-cue.safetensors": st}))
    assert (f"outputs/probe-cue.safetensors: tensor 'outputs' has dtype '{dtype}'; allowed: ['F32', 'F64'] "
            "(float32, float64)") in out


def test_safetensors_with_deep_json_metadata(tmp_path):
    st = _safetensors({"outputs": {"dtype": "F32", "shape": [12, 3], "data_offsets": [0, 144]},
                       "__metadata__": {"keys": "[" * 100_000 + "]" * 100_000}}, bytes(144))
    with pytest.raises(OutputsError) as e:
        parse_outputs("p.safetensors", st)
    assert e.value.problems == ["p.safetensors: metadata 'keys' nests too deep; it must be a JSON list of sample keys"]
    deep_header = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(OutputsError) as e:
        parse_outputs("q.safetensors", struct.pack("<Q", len(deep_header)) + deep_header)
    assert e.value.problems == ["q.safetensors: not a readable safetensors file (its header nests too deep)"]


def test_npz_deflate_bomb_is_refused_before_inflating(tmp_path):
    with pytest.raises(OutputsError) as e:  # under the size cap, but 1000x: refused by ratio
        parse_outputs("b.npz", _bomb_npz(2**28))
    (msg,) = e.value.problems
    assert msg.startswith("b.npz: array 'outputs' expands ") and "(a deflate bomb)" in msg
    out = _validate(_bomb_submission(tmp_path / "s.zip", GiB))
    want = f"outputs/probe-morph.npz: arrays unpack to {GiB + len(_BOMB_KEYS)} bytes; at most 536870912 allowed"
    assert want in out


def test_all_outputs_together_are_bounded(tmp_path, monkeypatch):
    from benchmark.leaderboard import submission

    monkeypatch.setattr(submission, "MAX_TOTAL_BYTES", 2 * len(ts._npz()) + 100)
    with pytest.raises(SubmissionError) as e:
        load_submission(ts._zip(tmp_path / "s.zip", ts._outs()), probes=ts.PROBES)
    assert len(e.value.problems) == 1 and "its arrays unpack to" in e.value.problems[0]
    assert "over what is left (" in e.value.problems[0] and "bytes all outputs files may take together" in \
        e.value.problems[0]


_RSS_CHILD = """
import json, resource, sys
import benchmark.score, benchmark.leaderboard.runner  # imported before measuring
from click.testing import CliRunner
from benchmark.leaderboard.cli import validate_command
from benchmark.leaderboard.runner import run_leaderboard
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
before = rss()
res = CliRunner().invoke(validate_command, [sys.argv[1] + "/subs/bomb.zip"])
after_validate = rss()
rec = run_leaderboard(sys.argv[1] + "/subs", sys.argv[1] + "/site", sys.argv[2:])[0]
print(json.dumps({"before": before, "validate": after_validate, "leaderboard": rss(), "output": res.output,
                  "exit": res.exit_code, "status": rec["status"], "messages": rec["messages"]}))
"""


def test_deflate_bomb_keeps_validate_and_the_leaderboard_parent_small(probes, tmp_path):
    dirs, _ = probes
    (tmp_path / "subs").mkdir()
    _bomb_submission(tmp_path / "subs" / "bomb.zip", GiB)  # 1 MB that inflates to 1 GiB (+ 2 GiB as float64)
    got = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(tmp_path), *map(str, dirs)], capture_output=True,
                         text=True, timeout=600)
    assert got.returncode == 0, got.stderr[-3000:]
    r = json.loads(got.stdout.splitlines()[-1])
    assert r["exit"] == 1 and "arrays unpack to" in r["output"]
    assert r["status"] == "rejected" and any("probe-morph.npz: arrays unpack to" in m for m in r["messages"])
    assert r["validate"] - r["before"] < 128 * 2**20 and r["leaderboard"] - r["before"] < 128 * 2**20, r


# ---------------------------------------------------------------------------------- names and paths
def test_zip_member_names_that_are_not_utf8_or_hold_control_characters(tmp_path):
    good = [_stored(b"submission.json", json.dumps(ts.META).encode())]
    good += [_stored(n.encode(), d) for n, d in ts._outs().items()]
    (tmp_path / "a.zip").write_bytes(_raw_zip(good + [_stored(b"README\xff.md", b"x", flags=0x800)]))
    assert "member name b'README\\xff.md' is flagged as UTF-8 but is not UTF-8" in _validate(tmp_path / "a.zip")
    (tmp_path / "b.zip").write_bytes(_raw_zip(good + [_stored(b"README\x1b[31m.md", b"x")]))
    assert ("member 'README\\x1b[31m.md' has control characters (U+001B) in its name; names are safe_text UTF-8 "
            "text") in _validate(tmp_path / "b.zip")
    inner = _raw_zip([_stored(b"keys\xff.npy", b"x", flags=0x800), _stored(b"outputs.npy", b"y")])
    assert "outputs/probe-cue.npz: not a readable npz (an array name is not UTF-8)" in _validate(
        ts._zip(tmp_path / "c.zip", ts._outs(cue=inner)))


def test_folder_file_name_that_is_not_utf8(tmp_path):
    with zipfile.ZipFile(ts._zip(tmp_path / "s.zip", ts._outs())) as zf:
        zf.extractall(tmp_path / "sub")
    (tmp_path / "sub" / "\udcff.md").write_bytes(b"x")  # the file name is the single byte 0xff
    assert os.fsencode("\udcff.md") in os.listdir(os.fsencode(tmp_path / "sub"))
    assert "member '\\udcff.md' has bytes that are not UTF-8 in its name" in _validate(tmp_path / "sub")
    assert len(source_sha256(tmp_path / "sub")) == 64


def test_folder_nested_1100_deep_and_path_over_path_max(tmp_path):
    deep = _deep_folder(tmp_path / "deep")
    long = _long_path_folder(tmp_path / "long")
    try:
        assert "folder 'a/a/a/a/a/a/a/a/a' is nested 9 folders deep; at most 8 allowed" in _validate(deep)
        out = _validate(long)
        assert "is 752 characters long; at most 512 allowed" in out and out.count("problem:") == 1
        assert len(source_sha256(deep)) == 64 and len(source_sha256(long)) == 64
        assert source_sha256(deep) == source_sha256(deep)
    finally:
        _remove_deep(deep)


# ----------------------------------------------------------------------------------------------- ONNX
@pytest.mark.parametrize("nested", [False, True], ids=["initializer", "if-branch-attribute"])
def test_onnx_external_data_is_refused(tmp_path, nested):
    path = _external_onnx(tmp_path, nested=nested)
    with pytest.raises(ModelError) as e:
        open_model(str(path))
    assert "tensor(s) ['w'] keep their data in external files; external data is refused" in str(e.value)
    meta = {**ts.META, "classes": list(range(6)), "payload": "model.onnx"}
    out = _validate(ts._zip(tmp_path / "s.zip", {"model.onnx": path.read_bytes()}, meta=meta))
    assert "model.onnx: tensor(s) ['w'] keep their data in external files; external data is refused" in out
    if not nested:  # local, trusted use may read its own weights file
        m = open_model(str(path), allow_code=True)
        assert m.predict("x", ["k"], np.full((1, 16, 16, 3), 255, np.uint8))["output"].shape == (1, 6)


# ------------------------------------------------------------------------------------- the site itself
def _entry(name, sr, **kw):
    return {"model": name, "authors": ["x"], "metrics": {"shape_reliance": {"value": sr, "ci": [sr - .1, sr + .1]}},
            **kw}


def test_markdown_and_html_escape_every_name(tmp_path):
    names = ["<script>alert(1)</script>", "a | b\n| 9 | fake row |", "[click](javascript:alert(1))",
             "**bold** `code` \x1b[31m"]
    entries = [_entry(n, 0.9 - i / 10, id=f"e{i}") for i, n in enumerate(names)]
    render_site(entries, tmp_path)
    md = (tmp_path / "leaderboard.md").read_text()
    assert md.count("\n") == 2 + len(names) and "<script>" not in md and "\x1b" not in md
    assert "| &lt;script&gt;alert\\(1\\)&lt;/script&gt; |" in md
    assert "| a \\| b\\\\x0a\\| 9 \\| fake row \\| |" in md
    assert "\\[click\\]\\(javascript\\:alert\\(1\\)\\)" in md and "\\*\\*bold\\*\\* \\`code\\`" in md
    for f in (tmp_path / "index.html", *(tmp_path / "models").iterdir()):
        text = f.read_text()
        assert "<script>alert" not in text and "\x1b" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (tmp_path / "index.html").read_text()


def test_identities_are_stable_and_unique():
    assert entry_id("a-shape.zip") == entry_id("a-shape.zip") and entry_id("a-shape.zip").startswith("a-shape-")
    names = ["a shape.zip", "a-shape.zip", "a_shape.zip", "A-Shape.zip", "a-shape", "\udcff.zip", "\udcfe.zip"]
    assert len({entry_id(n) for n in names}) == len(names)
    same = [_entry("same name", 0.5, submission_sha256="1"), _entry("same name", 0.4, submission_sha256="2")]
    assert len({e["slug"] for e in site_mod.rank_entries(same)}) == 2
    with pytest.raises(ValueError, match="share the identity"):
        site_mod.rank_entries([_entry("m", 0.5, id="x"), _entry("n", 0.4, id="x")])


def test_the_site_is_written_atomically(tmp_path, monkeypatch):
    render_site([_entry("first", 0.5, id="first")], tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    bad = _entry("second", 0.4, id="second")
    bad["metrics"]["I_shape"] = {"value": "not a number", "ci": None}
    with pytest.raises(ValueError):
        render_site([_entry("first", 0.5, id="first"), bad], tmp_path)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # nothing written
    monkeypatch.setattr(site_mod.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        write_atomic(tmp_path / "index.html", "<p>half</p>")
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # no temp file left either


def test_safe_text_escapes_what_could_drive_a_terminal():
    assert safe_text("a\x1b[31mb\x9b\x7f\u202e\udcff\nok é") == "a\\x1b[31mb\\x9b\\x7f\\u202e\\udcff\\x0aok é"
    assert safe_text(safe_text("\x1b")) == "\\x1b"


# ----------------------------------------------------------------------------- the leaderboard run
@pytest.fixture(scope="module")
def probes():
    _, folders = probe_sets()
    dirs = [folders[n] for n, _, _ in PROBES]
    return dirs, [read_probe_set(d) for d in dirs]


def _files(site: Path) -> dict:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def board(probes, tmp_path_factory):
    """A site with one good entry; then every hostile entry and a newcomer that reuses its name are added
    and the leaderboard is run twice. Returns (subs, site, first run, second run, third run, site files)."""
    dirs, sets = probes
    root = tmp_path_factory.mktemp("hostile")
    subs, site = root / "subs", root / "site"
    subs.mkdir()
    control_zip(subs / "good.zip", "shape", sets)
    first = run_leaderboard(subs, site, dirs, settings=SETTINGS, timeout_s=120, memory_mb=3072)
    first_files = _files(site)
    control_zip(subs / "\udcff-texture.zip", "texture", sets)  # a file name that is not UTF-8 (byte 0xff)
    control_zip(subs / "good!.zip", "texture", sets, name="shape-only control")  # slugs as good.zip, same name
    text = json.dumps({**ts.META, "model_name": "nan", "preprocessing": {**ts.META["preprocessing"], "std": "@"}})
    _meta_zip(subs / "nan.zip", text.replace('"@"', "[NaN, 1, 1]"))
    _meta_zip(subs / "surrogate.zip", json.dumps({**ts.META, "model_name": "\udcff"}))
    _deep_folder(subs / "deep")
    _long_path_folder(subs / "long")
    _bomb_submission(subs / "bomb.zip", GiB)
    onnx_zip(subs / "evil-op.zip", _evil_op_onnx(root / "evil.onnx"), "evil op")
    second = run_leaderboard(subs, site, dirs, settings=SETTINGS, timeout_s=120, memory_mb=3072)
    second_files = _files(site)
    third = run_leaderboard(subs, site, dirs, settings=SETTINGS, timeout_s=120, memory_mb=3072)
    yield subs, site, first, second, third, (first_files, second_files)
    _remove_deep(subs / "deep")


def _by_entry(records):
    return {r["entry"]: r for r in records}


def test_one_hostile_entry_never_stops_the_others(board):
    _, _, _, second, third, _ = board
    r = _by_entry(second)
    assert r["good.zip"]["status"] == "scored" and r["good.zip"]["skipped"]
    assert r["\udcff-texture.zip"]["status"] == "scored" and r["good!.zip"]["status"] == "scored"
    want = {"nan.zip": "every number must be finite", "surrogate.zip": "model_name holds lone surrogates (U+DCFF)",
            "deep": "is nested 9 folders deep; at most 8 allowed", "long": "characters long; at most 512 allowed",
            "bomb.zip": "outputs/probe-morph.npz: arrays unpack to"}
    for entry, words in want.items():
        assert r[entry]["status"] == "rejected" and any(words in m for m in r[entry]["messages"]), r[entry]
    assert "NaN is not a JSON number" in r["nan.zip"]["messages"][0]
    assert r["evil-op.zip"]["status"] == "failed"
    assert "No Op registered for \\x1b[31mEvil" in r["evil-op.zip"]["messages"][0]
    assert {e: x["status"] for e, x in _by_entry(third).items()} == {e: x["status"] for e, x in r.items()}
    assert all(x["skipped"] for e, x in _by_entry(third).items() if e != "evil-op.zip")  # failures are retried


def test_the_site_is_complete_escaped_and_stable_on_rerun(board):
    _, site, _, second, _, (_, second_files) = board
    assert _files(site)["index.html"] == second_files["index.html"]  # the rerun rewrote the same site
    for name, data in _files(site).items():
        assert not name.endswith(".tmp")
        if name.endswith((".html", ".md", ".json")):
            text = data.decode("utf-8")
            assert "\x1b" not in text and "\x9b" not in text
    index = (site / "index.html").read_text()
    ranked, not_ranked = index.split('id="not-ranked"')
    assert ranked.count('<tr><td data-v="') == 3 and "texture-only control" in ranked
    for entry in ("nan.zip", "surrogate.zip", "deep", "long", "bomb.zip", "evil-op.zip"):
        assert f"<b>{entry}</b>" in not_ranked
    assert "No Op registered for \\x1b[31mEvil" in not_ranked
    slug = _by_entry(second)["\udcff-texture.zip"]["slug"]
    page = (site / "models" / f"{slug}.html").read_text()
    assert "entry \\udcff-texture.zip" in page
    assert (site / "leaderboard.md").read_text().count("\n") == 2 + 3


def test_a_newcomer_cannot_take_over_another_entrys_results_or_page(board):
    _, site, first, second, _, (first_files, _) = board
    old, new = _by_entry(first)["good.zip"], _by_entry(second)
    assert new["good.zip"]["slug"] == old["slug"] != new["good!.zip"]["slug"]
    results = f"results/{old['slug']}.json"
    assert _files(site)[results] == first_files[results]  # never rescored, never overwritten
    page = (site / "models" / f"{old['slug']}.html").read_text()
    assert "entry good.zip" in page and "good!.zip" not in page
    index = (site / "index.html").read_text()
    assert "shape-only control (good.zip)" in index and "shape-only control (good!.zip)" in index


def test_cli_prints_escapes_never_control_characters(board, monkeypatch):
    subs, site, _, second, _, _ = board
    monkeypatch.setattr("benchmark.leaderboard.runner.run_leaderboard", lambda *a, **k: second)
    res = CliRunner().invoke(leaderboard_command, ["--submissions", str(subs), "--out", str(site), "--probe", "x"])
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.output and "\udcff" not in res.output
    assert "\\udcff-texture.zip\tscored" in res.output
    assert "No Op registered for \\x1b[31mEvil" in res.output

"""facegen download against hostile manifests and servers: nothing crashes, leaks or is destroyed.

Every case runs against a real HTTP(S) server on 127.0.0.1 (facegen.datasets.testing) and, where
an output folder already holds a good download, checks that its files' bytes and mtimes are
unchanged and nothing was added afterwards.
"""
import hashlib
import importlib
import json
import shutil
import ssl
import subprocess
import threading
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from facegen._safe_text import safe_text
from facegen.datasets.cli import download_cmd
from facegen.datasets.download import (DeadlineExceeded, DownloadError, ExistingDataError, UnsafeManifestError,
                                       credentials_allowed, download)
from facegen.datasets.testing import FaultyServer

dl_mod = importlib.import_module("facegen.datasets.download")  # the module (the package exports a function too)
FAST = {"backoff": 0.01, "timeout": 5, "progress": False}
ESC = "\x1b"


def _manifest(files: dict[str, bytes], name: str = "fake") -> bytes:
    shards = [{"name": k, "split": "train", "index": i, "samples": 1, "bytes": len(v),
               "sha256": hashlib.sha256(v).hexdigest()} for i, (k, v) in enumerate(files.items())]
    return json.dumps({"schema": "facegen.manifest/1", "name": name, "complete": True, "splits": {},
                       "shards": shards}).encode()


def _files(n: int = 4, size: int = 2000, tag: bytes = b"good") -> dict[str, bytes]:
    return {f"train-{i:06d}.tar": (tag + bytes([i])) * (size // (len(tag) + 1)) for i in range(n)}


GOOD = _files()


def _tree(root: Path) -> dict:
    """Every entry under ``root``: files with (bytes, mtime_ns), folders as None."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(root))] = None if p.is_dir() else (p.read_bytes(), st.st_mtime_ns)
    return out


@pytest.fixture
def server():
    with FaultyServer({"/d/manifest.json": _manifest(GOOD), **{f"/d/{k}": v for k, v in GOOD.items()}}) as srv:
        yield srv


@pytest.fixture
def good_out(server, tmp_path):
    """An output folder holding a finished, verified download of GOOD, and a snapshot of it."""
    out = tmp_path / "out"
    download(server.url("/d/manifest.json"), out, **FAST)
    return out, _tree(out)


def _serve(server, prefix: str, files: dict[str, bytes], manifest: bytes | None = None) -> str:
    server.files[f"{prefix}/manifest.json"] = manifest if manifest is not None else _manifest(files)
    for k, v in files.items():
        server.files[f"{prefix}/{k}"] = v
    return server.url(f"{prefix}/manifest.json")


def _shard_requests(server, prefix: str) -> list[str]:
    return [r["path"] for r in server.requests if r["path"].startswith(prefix + "/")
            and not r["path"].endswith("/manifest.json")]


# ---------------------------------------------------------------- data already in --out


@pytest.mark.parametrize("change", ["size", "sha256"])
def test_other_manifest_with_same_names_never_touches_verified_shards(server, good_out, change):
    """A manifest listing the same names with other sizes (or, same size, other sha256) is refused."""
    out, before = good_out
    bad = {k: (v + b"x" if change == "size" else bytes(reversed(v))) for k, v in GOOD.items()}
    url = _serve(server, "/h", bad)
    with pytest.raises(ExistingDataError) as ei:
        download(url, out, **FAST)
    msg = str(ei.value)
    assert "already holds 4 shard(s) that this manifest lists with another size or sha256" in msg
    assert "train-000000.tar (here: 2,000 bytes, as" in msg and "--replace" in msg
    assert "nothing was fetched or changed" in msg
    assert _tree(out) == before and _shard_requests(server, "/h") == []
    # the CLI says the same, exit 1, no traceback
    r = CliRunner().invoke(download_cmd, [url, "--out", str(out), "-q"])
    assert r.exit_code == 1 and "refused:" in r.output and "--replace" in r.output, r.output
    assert _tree(out) == before


def test_replace_keeps_each_old_shard_until_its_replacement_verifies(server, good_out):
    out, before = good_out
    new = _files(tag=b"v2")
    url = _serve(server, "/h", new)
    for k in new:
        server.faults.corrupt[f"/h/{k}"] = 100  # every body the server sends is damaged
    with pytest.raises(DownloadError, match="sha256 still differs"):
        download(url, out, replace=True, refetch=1, **FAST)
    assert _tree(out) == before  # old shards, old manifest, no leftovers
    server.faults.corrupt.clear()
    res = download(url, out, replace=True, **FAST)
    assert sorted(res.replaced) == sorted(new) and sorted(res.fetched) == sorted(new)
    assert all((out / k).read_bytes() == v for k, v in new.items())
    assert (out / "manifest.json").read_bytes() == server.files["/h/manifest.json"]
    assert not list(out.rglob("*.part"))


def test_unknown_file_under_a_shard_name_needs_replace(server, tmp_path):
    """A file no manifest in --out accounts for (someone's data) is not overwritten by default."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "train-000001.tar").write_bytes(b"my own notes")
    before = _tree(out)
    with pytest.raises(ExistingDataError, match=r"train-000001.tar \(here: 12 bytes, not listed in"):
        download(server.url("/d/manifest.json"), out, **FAST)
    assert _tree(out) == before and _shard_requests(server, "/d") == []


@pytest.mark.parametrize("obstacle,match", [
    ("dir", "train-000002.tar exists and is not a regular file"),
    ("part-dir", "train-000002.tar.part exists and is not a regular file"),
    ("manifest-dir", "manifest.json exists and is not a regular file"),
    ("state-dir", "download.json exists and is not a regular file"),
])
def test_folder_in_a_shards_way_is_refused_even_with_replace(server, tmp_path, obstacle, match):
    """A folder where a shard, its temporary file or the download's own files go: never touched."""
    out = tmp_path / "out"
    target = out / {"dir": "train-000002.tar", "part-dir": "train-000002.tar.part", "manifest-dir": "manifest.json",
                    "state-dir": ".facegen/download.json"}[obstacle]
    target.mkdir(parents=True)
    (target / "keep.txt").write_text("precious")
    before = _tree(out)
    with pytest.raises(ExistingDataError, match=match):
        download(server.url("/d/manifest.json"), out, replace=True, **FAST)
    assert _tree(out) == before and _shard_requests(server, "/d") == []


def test_file_where_a_shard_needs_a_folder_is_refused(server, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file, not a folder")
    before = _tree(out)
    url = _serve(server, "/h", {"sub/a.tar": b"a" * 100})
    with pytest.raises(ExistingDataError, match="sub is a file, but shard sub/a.tar needs it as a folder"):
        download(url, out, replace=True, **FAST)
    assert _tree(out) == before and _shard_requests(server, "/h") == []


def test_damaged_shard_stays_until_its_new_copy_verifies(server, good_out):
    """Same manifest, a shard damaged on disk: fetched again, the damaged file replaced only at the end."""
    out, _ = good_out
    victim = out / "train-000001.tar"
    victim.write_bytes(b"truncated")
    server.faults.fail["/d/train-000001.tar"] = 100
    with pytest.raises(DownloadError, match="HTTP 500"):
        download(server.url("/d/manifest.json"), out, retries=1, **FAST)
    assert victim.read_bytes() == b"truncated"  # not deleted before a verified copy exists
    server.faults.fail.clear()
    res = download(server.url("/d/manifest.json"), out, **FAST)
    assert res.fetched == ["train-000001.tar"] and not res.replaced
    assert victim.read_bytes() == GOOD["train-000001.tar"]


# ---------------------------------------------------------------- names, taken together

_LONG_PATH = "/".join(["d" * 200] * 21) + "/x.tar"
_NAMES = [
    (["a.tar", "a.tar/b.tar"], "needs 'a.tar' as a folder, but that is another shard's file name"),
    (["a.tar/b.tar", "a.tar"], "shard name 'a.tar' is a file, but 'a.tar/b.tar' needs it as a folder"),
    (["manifest.json/x.tar"], "uses 'manifest.json' as a folder"),
    (["datasheet.md/x.tar"], "uses 'datasheet.md' as a folder"),
    (["x.tar", "x.tar.part"], "ends with '.part', reserved for the download's temporary files"),
    (["x.part/a.tar"], "'x.part' ends with '.part'"),
    (["Train-0.tar", "train-0.tar"], "differ only by case or Unicode normalisation"),
    ([unicodedata.normalize("NFC", "caf\u00e9.tar"), unicodedata.normalize("NFD", "caf\u00e9.tar")],
     "differ only by case or Unicode normalisation"),
    (["a" * 300 + ".tar"], "a component of 304 bytes; at most 250 allowed"),
    (["\u00e9" * 126 + ".tar"], "a component of 256 bytes; at most 250 allowed"),  # 130 characters
    (["a" * 247 + ".tar"], "a component of 251 bytes; at most 250 allowed .*'.part' of its temporary file"),
    ([_LONG_PATH], "makes a path of .* the filesystem's PATH_MAX is 4096"),
    (["a\x1b[2J.tar"], r"'a\\x1b\[2J.tar' contains U\+001B, a control character; names may hold printable"),
    (["a\x9b31m.tar"], r"contains U\+009B, a control character"),
    (["a\x7f.tar"], r"contains U\+007F, a control character"),
    (["evil\u202erat.tar"], r"contains U\+202E RIGHT-TO-LEFT OVERRIDE, an invisible format character"),
    (["a\ud800.tar"], r"contains U\+D800, a lone surrogate"),
    (["a\u2028b.tar"], r"contains U\+2028 LINE SEPARATOR, a line separator"),
]


@pytest.mark.parametrize("names,match", _NAMES, ids=[f"names{i}" for i in range(len(_NAMES))])
def test_manifest_names_are_checked_together_before_anything_is_written(server, good_out, names, match):
    out, before = good_out
    files = {**{k: v for k, v in list(GOOD.items())[:2]}, **{n: b"h" * 50 for n in names}}
    url = _serve(server, "/h", files)
    with pytest.raises(UnsafeManifestError, match=match) as ei:
        download(url, out, **FAST)
    assert ESC not in str(ei.value) and "\x9b" not in str(ei.value) and len(str(ei.value)) < 600
    assert _tree(out) == before and _shard_requests(server, "/h") == []
    fresh = out.parent / "fresh"
    with pytest.raises(UnsafeManifestError, match=match):
        download(url, fresh, **FAST)
    assert not fresh.exists() and _shard_requests(server, "/h") == []


def test_cli_names_refusal_is_a_message_not_a_traceback(server, good_out):
    out, before = good_out
    for names in (["a.tar", "a.tar/b.tar"], ["a" * 300 + ".tar"], [_LONG_PATH], ["a\x1b]0;pwned\x07.tar"]):
        url = _serve(server, "/h", {n: b"h" * 50 for n in names})
        r = CliRunner().invoke(download_cmd, [url, "--out", str(out), "-q"])
        assert r.exit_code == 1 and isinstance(r.exception, SystemExit), (names, r.output)
        assert r.output.startswith("Error: refused:") and ESC not in r.output and "\x07" not in r.output
    assert _tree(out) == before and _shard_requests(server, "/h") == []


# ---------------------------------------------------------------- the manifest itself


@pytest.mark.parametrize("raw", [b"[" * 100_000 + b"]" * 100_000,
                                 b'{"schema": "facegen.manifest/1", "shards": [], "x": ' + b"{\"a\": " * 100_000
                                 + b"1" + b"}" * 100_001],
                         ids=["lists", "objects"])
def test_deeply_nested_manifest_is_refused_with_a_message(server, good_out, raw):
    out, before = good_out
    server.files["/h/manifest.json"] = raw
    with pytest.raises(UnsafeManifestError, match="nests lists or objects deeper than the JSON parser can follow"):
        download(server.url("/h/manifest.json"), out, **FAST)
    r = CliRunner().invoke(download_cmd, [server.url("/h/manifest.json"), "--out", str(out), "-q"])
    assert r.exit_code == 1 and "refused:" in r.output and "nests" in r.output
    assert _tree(out) == before


def test_manifest_over_the_size_cap_is_refused(server, good_out, monkeypatch):
    out, before = good_out
    monkeypatch.setattr(dl_mod, "MAX_MANIFEST_BYTES", 100)
    with pytest.raises(UnsafeManifestError, match="manifest larger than 100 bytes; refused"):
        download(server.url("/d/manifest.json"), out, **FAST)
    assert _tree(out) == before


# ---------------------------------------------------------------- time limits

SMALL = {f"train-{i:06d}.tar": bytes([65 + i]) * 40 for i in range(3)}


def _client_hung_up(server, path: str) -> bool:
    """Whether the client cut the trickled response to ``path`` off (the server gives up only after
    ``trickle_for`` = 10 s, ten times the deadline); waits for the server thread to notice."""
    for _ in range(100):
        ends = [t["end"] for t in server.trickled if t["path"] == path]
        if ends:
            return ends == ["client"]
        threading.Event().wait(0.05)
    return False


def test_trickling_shard_hits_the_deadline_and_resumes_after(server, tmp_path):
    url = _serve(server, "/t", SMALL)
    slow = "train-000001.tar"
    server.faults.trickle[f"/t/{slow}"] = 0.2  # 1 byte per 0.2 s: a per-read timeout of 5 s never fires
    out = tmp_path / "out"
    with pytest.raises(DeadlineExceeded) as ei:
        download(url, out, deadline=1.0, workers=3, retries=0, **FAST)
    assert _client_hung_up(server, f"/t/{slow}")
    msg = str(ei.value)
    assert "the overall deadline of 1.0 s (--deadline) passed with 2 of 3 shards to fetch verified" in msg
    assert "partial files stay as NAME.part" in msg and "give a longer --deadline" in msg
    assert not (out / slow).exists() and not (out / "manifest.json").exists()
    assert {p.name for p in out.glob("*.tar")} == set(SMALL) - {slow}
    part = out / f"{slow}.part"
    have = part.read_bytes() if part.exists() else b""
    assert SMALL[slow].startswith(have) and len(have) < len(SMALL[slow])
    server.faults.trickle.clear()
    res = download(url, out, **FAST)
    assert res.fetched == [slow] and (out / slow).read_bytes() == SMALL[slow]
    assert [r["range"] for r in server.requests if r["path"] == f"/t/{slow}"][-1] == (
        f"bytes={len(have)}-" if have else None)


@pytest.mark.parametrize("fault", ["trickle", "trickle_head"])
def test_trickling_manifest_hits_the_deadline(server, tmp_path, fault):
    """Body or status line and headers a byte at a time: the deadline cuts the connection off."""
    getattr(server.faults, fault)["/d/manifest.json"] = 0.2
    with pytest.raises(DeadlineExceeded, match=r"manifest .*/d/manifest.json: the overall deadline of 1.0 s"):
        download(server.url("/d/manifest.json"), tmp_path / "out", deadline=1.0, retries=0, **FAST)
    assert _client_hung_up(server, "/d/manifest.json")
    assert not (tmp_path / "out").exists()


def test_cli_deadline_option(server, tmp_path):
    server.faults.trickle["/d/train-000000.tar"] = 0.2
    r = CliRunner().invoke(download_cmd, [server.url("/d/manifest.json"), "--out", str(tmp_path / "o"), "-q",
                                          "--deadline", "1", "--retries", "0"])
    assert _client_hung_up(server, "/d/train-000000.tar")
    assert r.exit_code == 1 and "the overall deadline of 1.0 s (--deadline) passed" in r.output, r.output
    assert not (tmp_path / "o" / "train-000000.tar").exists()
    for bad in ("0", "-3", "soon", "inf"):
        r = CliRunner().invoke(download_cmd, [server.url("/d/manifest.json"), "--out", str(tmp_path / "p"),
                                              "--deadline", bad])
        assert r.exit_code == 2 and "expected 'auto' or a number of seconds > 0" in r.output, (bad, r.output)
    assert not (tmp_path / "p").exists()


# ---------------------------------------------------------------- escape sequences from servers


def test_reason_phrase_and_manifest_name_reach_the_terminal_escaped(server, tmp_path):
    evil = "\x1b[2J\x1b]0;pwned\x07\x9b31m"
    files = dict(list(GOOD.items())[:2])
    url = _serve(server, "/e", files, manifest=_manifest(files, name=f"mini{evil}"))
    server.faults.status["/e/train-000001.tar"] = (404, f"Not Found{evil}")
    with pytest.raises(DownloadError) as ei:
        download(url, tmp_path / "a", **FAST)
    assert "HTTP 404 Not Found\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m" in str(ei.value)
    r = CliRunner().invoke(download_cmd, [url, "--out", str(tmp_path / "b")])  # with the progress bar
    assert r.exit_code == 1
    for text in (r.stdout, r.stderr):
        assert not any(c in text for c in (ESC, "\x07", "\x9b")), repr(text)
    assert "Not Found\\x1b[2J" in r.stderr and "facegen download mini\\x1b[2J" in r.stderr
    assert not (tmp_path / "b" / "train-000001.tar").exists()


def test_safe_text_escapes_every_control_and_keeps_the_rest():
    assert safe_text("a\x1b[31mb\x00\x7f\x9b\u202e\n\tz") == "a\\x1b[31mb\\x00\\x7f\\x9b\\u202e\\x0a\\x09z"
    assert safe_text("line 1\n\tline 2\r", keep_newlines=True) == "line 1\n\tline 2\\x0d"
    assert safe_text("caf\u00e9 \u4e2d / C:\\x", limit=None) == "caf\u00e9 \u4e2d / C:\\x"
    assert safe_text("\U000e0001x") == "\\U000e0001x" and safe_text("abcdef", limit=5) == "ab..."


# ---------------------------------------------------------------- where the token may go

@pytest.mark.parametrize("origin,url,ok", [
    ("https://hub.example/a", "https://hub.example/b?x=1", True),
    ("https://hub.example:443/a", "https://HUB.example/b", True),
    ("https://hub.example/a", "http://hub.example/a", False),  # same host, https -> http
    ("https://hub.example/a", "https://hub.example:8443/a", False),
    ("https://hub.example/a", "https://cdn.hub.example/a", False),
    ("https://hub.example/a", "ftp://hub.example/a", False),
    ("http://hub.example/a", "http://hub.example/b", False),  # plain http to another machine: never
    ("http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b", True),
    ("http://localhost:8080/a", "http://localhost:8080/b", True),
    ("http://[::1]:8080/a", "http://[::1]:8080/b", True),
    ("http://127.0.0.1:8080/a", "http://127.0.0.1:8081/a", False),
    ("https://hub.example/a", "https://hub.example:99999/a", False),
])
def test_credentials_policy(origin, url, ok):
    assert credentials_allowed(origin, url) is ok


def _hf_setup(monkeypatch, endpoint: str) -> None:
    pytest.importorskip("huggingface_hub")
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setenv("HF_TOKEN", "hf_secret")


def test_token_not_sent_to_another_port_on_redirect(server, tmp_path, monkeypatch):
    files = dict(list(GOOD.items())[:2])
    with FaultyServer({f"/cdn/{k}": v for k, v in files.items()}) as other:
        server.files["/datasets/org/faces/resolve/v1/manifest.json"] = _manifest(files)
        server.faults.redirect["/datasets/org/faces/resolve/v1/train"] = other.url("/cdn/train")
        _hf_setup(monkeypatch, server.base)
        download("hf://datasets/org/faces@v1", tmp_path / "o", **FAST)
        assert [r["authorization"] for r in other.requests] == [None, None]
    first = [r for r in server.requests if r["path"].startswith("/datasets/")]
    assert len(first) == 3 and all(r["authorization"] == "Bearer hf_secret" for r in first)


def test_redirect_to_another_scheme_than_http_is_refused(server, tmp_path):
    server.faults.redirect["/d/train-000000.tar"] = "ftp://127.0.0.1/x"
    with pytest.raises(DownloadError, match="HTTP 302 redirect to a ftp: URL refused"):
        download(server.url("/d/manifest.json"), tmp_path / "o", **FAST)
    assert not (tmp_path / "o" / "train-000000.tar").exists()


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a certificate for the local https server")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


def test_token_not_sent_over_an_https_to_http_redirect_on_the_same_host(tls_cert, tmp_path, monkeypatch):
    cert, key = tls_cert
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts the local certificate
    files = dict(list(GOOD.items())[:2])
    with FaultyServer({f"/plain/{k}": v for k, v in files.items()}) as plain, \
            FaultyServer({"/datasets/org/faces/resolve/v1/manifest.json": _manifest(files)}, ssl_context=ctx) as tls:
        assert tls.base.startswith("https://127.0.0.1:") and plain.base.startswith("http://127.0.0.1:")
        tls.faults.redirect["/datasets/org/faces/resolve/v1/train"] = plain.url("/plain/train")
        _hf_setup(monkeypatch, tls.base)
        res = download("hf://datasets/org/faces@v1", tmp_path / "o", **FAST)
        assert sorted(res.fetched) == sorted(files)
        assert all((tmp_path / "o" / k).read_bytes() == v for k, v in files.items())
        assert [r["authorization"] for r in plain.requests] == [None, None]
        assert [r["authorization"] for r in tls.requests] == ["Bearer hf_secret"] * 3

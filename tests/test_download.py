"""facegen download against a real HTTP server on 127.0.0.1 that drops, corrupts, ignores Range, fails."""
import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from facegen.datasets.cli import download_cmd
from facegen.datasets.download import DownloadError, UnsafeManifestError, download, fetch_manifest, safe_target
from facegen.datasets.testing import FaultyServer

FAST = {"backoff": 0.01, "timeout": 5, "progress": False}


def _dataset(n: int = 5, size: int = 150_000, seed: int = 0) -> tuple[dict[str, bytes], bytes]:
    import random

    rnd = random.Random(seed)
    files, shards = {}, []
    for i in range(n):
        split = "train" if i < n - 1 else "test"
        name = f"{split}-{i:06d}.tar"
        data = bytes(rnd.getrandbits(8) for _ in range(size + 1000 * i))
        files[name] = data
        shards.append({"name": name, "split": split, "index": i, "samples": 10, "bytes": len(data),
                       "sha256": hashlib.sha256(data).hexdigest()})
    m = {"schema": "facegen.manifest/1", "name": "fake", "complete": True, "planned_shards": n,
         "splits": {}, "shards": shards}
    return files, json.dumps(m, indent=1).encode()


@pytest.fixture(scope="module")
def data():
    return _dataset()


@pytest.fixture
def server(data):
    files, manifest = data
    with FaultyServer({"/d/manifest.json": manifest, **{f"/d/{k}": v for k, v in files.items()}}) as srv:
        yield srv


def _assert_all_verified(out: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        assert (out / name).read_bytes() == data, name
    assert not list(out.rglob("*.part")), "a partial file was left behind"
    assert not [p for p in out.iterdir() if p.is_file() and p.name not in files and p.name != "manifest.json"]


def test_clean_download_writes_verified_shards_and_manifest(server, data, tmp_path):
    files, manifest = data
    res = download(server.url("/d/manifest.json"), tmp_path, workers=3, **FAST)
    _assert_all_verified(tmp_path, files)
    assert sorted(res.fetched) == sorted(files) and not res.present
    assert (tmp_path / "manifest.json").read_bytes() == manifest
    again = download(server.url("/d/manifest.json"), tmp_path, **FAST)  # never fetched twice
    assert sorted(again.present) == sorted(files) and not again.fetched
    assert all(server.count(f"/d/{k}") == 1 for k in files)


def test_every_fault_ends_verified(server, data, tmp_path):
    files, _ = data
    names = sorted(files)
    f = server.faults
    f.drop[f"/d/{names[0]}"] = [1000, 60_000]  # two drops mid-file: resumed with Range twice
    f.fail[f"/d/{names[1]}"] = 3  # three 500s, then fine
    f.corrupt[f"/d/{names[2]}"] = 1  # one corrupted body: sha256 fails, fetched again
    f.drop[f"/d/{names[3]}"] = [20_000]
    f.fail[f"/d/{names[3]}"] = 1
    download(server.url("/d/manifest.json"), tmp_path, workers=4, **FAST)
    _assert_all_verified(tmp_path, files)
    ranges = [r["range"] for r in server.requests if r["path"] == f"/d/{names[0]}"]
    assert ranges == [None, "bytes=1000-", "bytes=61000-"]
    assert server.count(f"/d/{names[1]}") == 4 and server.count(f"/d/{names[2]}") == 2


def test_server_ignoring_range_restarts_the_file(server, data, tmp_path):
    files, _ = data
    names = sorted(files)
    server.faults.ignore_range = True
    server.faults.drop[f"/d/{names[0]}"] = [30_000]
    download(server.url("/d/manifest.json"), tmp_path, workers=2, **FAST)
    _assert_all_verified(tmp_path, files)
    assert [r["range"] for r in server.requests if r["path"] == f"/d/{names[0]}"] == [None, "bytes=30000-"]


def test_partial_file_is_resumed_not_refetched(server, data, tmp_path):
    files, _ = data
    name = sorted(files)[0]
    (tmp_path / f"{name}.part").write_bytes(files[name][:77_777])
    download(server.url("/d/manifest.json"), tmp_path, **FAST)
    _assert_all_verified(tmp_path, files)
    assert [r["range"] for r in server.requests if r["path"] == f"/d/{name}"] == ["bytes=77777-"]


def test_whole_or_foreign_part_files(server, data, tmp_path):
    files, _ = data
    a, b, c = sorted(files)[:3]
    (tmp_path / f"{a}.part").write_bytes(files[a])  # complete but never renamed (killed before the rename)
    (tmp_path / f"{b}.part").write_bytes(b"x" * len(files[b]))  # complete size, wrong bytes
    (tmp_path / f"{c}.part").write_bytes(files[c] + b"extra")  # longer than the manifest says
    download(server.url("/d/manifest.json"), tmp_path, **FAST)
    _assert_all_verified(tmp_path, files)
    assert server.count(f"/d/{a}") == 0 and server.count(f"/d/{b}") == 1 and server.count(f"/d/{c}") == 1


def test_server_file_shorter_than_manifest_ends_in_a_clear_error(server, data, tmp_path):
    """416 answers (our partial file is longer than the server's) restart the file; bounded, nothing final."""
    files, _ = data
    name = sorted(files)[0]
    server.files[f"/d/{name}"] = files[name][:5000]
    (tmp_path / f"{name}.part").write_bytes(files[name][:9000])
    with pytest.raises(DownloadError, match="giving up after 3 attempts"):
        download(server.url("/d/manifest.json"), tmp_path, split="test", retries=2, **FAST)
    assert not (tmp_path / name).exists()
    ranges = [r["range"] for r in server.requests if r["path"] == f"/d/{name}"]
    assert ranges == ["bytes=9000-", None, "bytes=5000-"]


def test_persistent_faults_fail_clearly_and_leave_nothing_unverified(server, data, tmp_path):
    files, _ = data
    bad, dead, *good = sorted(files)
    server.faults.corrupt[f"/d/{bad}"] = 100
    server.faults.fail[f"/d/{dead}"] = 100
    with pytest.raises(DownloadError) as ei:
        download(server.url("/d/manifest.json"), tmp_path, retries=2, refetch=1, **FAST)
    msg = str(ei.value)
    assert "2 of 5 shards failed" in msg and f"{bad}: sha256 still differs" in msg and "HTTP 500" in msg
    assert not (tmp_path / bad).exists() and not (tmp_path / dead).exists()
    assert not (tmp_path / "manifest.json").exists()
    assert all((tmp_path / g).read_bytes() == files[g] for g in good)
    assert server.count(f"/d/{bad}") == 2 and server.count(f"/d/{dead}") == 3


def test_verify_rechecks_files_already_there(server, data, tmp_path):
    files, _ = data
    download(server.url("/d/manifest.json"), tmp_path, **FAST)
    victim = tmp_path / sorted(files)[1]
    b = bytearray(victim.read_bytes())
    b[5] ^= 1
    victim.write_bytes(bytes(b))
    res = download(server.url("/d/manifest.json"), tmp_path, **FAST)
    assert not res.fetched  # same size: trusted without --verify
    res = download(server.url("/d/manifest.json"), tmp_path, verify=True, **FAST)
    assert res.fetched == [victim.name]
    _assert_all_verified(tmp_path, files)


def test_split_and_slice_select_shards(server, data, tmp_path):
    files, _ = data
    res = download(server.url("/d/manifest.json"), tmp_path, split="train", shards="1:3", **FAST)
    want = ["train-000001.tar", "train-000002.tar"]
    assert sorted(res.fetched) == want and sorted(p.name for p in tmp_path.glob("*.tar")) == want
    with pytest.raises(ValueError, match="splits \\['test', 'train'\\]"):
        download(server.url("/d/manifest.json"), tmp_path, split="val", **FAST)
    with pytest.raises(ValueError, match="need 0 <= A < B <= 4"):
        download(server.url("/d/manifest.json"), tmp_path, split="train", shards="2:9", **FAST)


def test_local_folder_and_file_url_sources(server, data, tmp_path):
    files, manifest = data
    src = tmp_path / "src"
    src.mkdir()
    (src / "manifest.json").write_bytes(manifest)
    for k, v in files.items():
        (src / k).write_bytes(v)
    download(src, tmp_path / "a", **FAST)
    _assert_all_verified(tmp_path / "a", files)
    download(f"file://{src}/manifest.json", tmp_path / "b", **FAST)
    _assert_all_verified(tmp_path / "b", files)
    with pytest.raises(ValueError, match="source folder itself"):
        download(src, src, **FAST)


_HOSTILE = [
    ({"name": "../evil.tar"}, "outside the output folder"),
    ({"name": "a/../../evil.tar"}, "outside the output folder"),
    ({"name": "/tmp/evil.tar"}, "outside the output folder"),
    ({"name": "..\\evil.tar"}, "outside the output folder"),
    ({"name": "C:/evil.tar"}, "outside the output folder"),
    ({"name": ".facegen/run.json"}, "hidden"),
    ({"name": "manifest.json"}, "reserved"),
    ({"name": 7}, "non-empty relative path"),
    ({"bytes": 10**18}, "expected an integer in \\[0, 1099511627776\\]"),
    ({"bytes": -1}, "expected an integer in"),
    ({"bytes": "12"}, "expected an integer in"),
    ({"sha256": "abc"}, "64 lowercase hex"),
]


@pytest.mark.parametrize("patch,match", _HOSTILE)
def test_hostile_manifest_is_refused_before_writing(server, data, tmp_path, patch, match):
    files, manifest = data
    m = json.loads(manifest)
    m["shards"][2].update(patch)
    server.files["/d/manifest.json"] = json.dumps(m).encode()
    out = tmp_path / "out"
    with pytest.raises(UnsafeManifestError, match=match):
        download(server.url("/d/manifest.json"), out, **FAST)
    assert not out.exists()
    assert not (tmp_path / "evil.tar").exists() and not Path("/tmp/evil.tar").exists()
    assert all(server.count(f"/d/{k}") == 0 for k in files)


def test_duplicates_and_total_size_beyond_free_disk_are_refused(server, data, tmp_path):
    _, manifest = data
    m = json.loads(manifest)
    m["shards"][1]["name"] = m["shards"][0]["name"]
    server.files["/d/manifest.json"] = json.dumps(m).encode()
    with pytest.raises(UnsafeManifestError, match="appears twice"):
        download(server.url("/d/manifest.json"), tmp_path / "o", **FAST)
    m = json.loads(manifest)
    for s in m["shards"]:
        s["bytes"] = 10**12
    m["shards"] = [dict(m["shards"][0], name=f"x{i}.tar") for i in range(200)]
    server.files["/d/manifest.json"] = json.dumps(m).encode()
    with pytest.raises(UnsafeManifestError, match="free"):
        download(server.url("/d/manifest.json"), tmp_path / "o", **FAST)
    assert not list((tmp_path / "o").glob("*"))


def test_symlink_out_of_the_folder_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "out" / "sub")
    with pytest.raises(UnsafeManifestError, match="outside"):
        safe_target(tmp_path / "out", "sub/a.tar")
    assert safe_target(tmp_path / "out", "ok/a.tar") == (tmp_path / "out").resolve() / "ok/a.tar"


def test_manifest_hash_mismatch_is_refused(server):
    with pytest.raises(DownloadError, match="tampered"):
        fetch_manifest(server.url("/d/manifest.json"), expected_sha256="0" * 64)
    server.faults.fail["/d/manifest.json"] = 2
    rm = fetch_manifest(server.url("/d/manifest.json"), backoff=0.01)
    assert rm.manifest["name"] == "fake"


def test_cli_download_and_errors(server, data, tmp_path):
    files, manifest = data
    r = CliRunner().invoke(download_cmd, [server.url("/d/manifest.json"), "--out", str(tmp_path / "o"), "-q"])
    assert r.exit_code == 0, r.output
    _assert_all_verified(tmp_path / "o", files)
    assert "5 shards fetched" in r.output
    r = CliRunner().invoke(download_cmd, [server.url("/d/manifest.json"), "--out", str(tmp_path / "o"), "--verify"])
    assert r.exit_code == 0 and r.stdout.count("\n") == 1 and "5 already present (re-hashed)" in r.stdout
    assert "facegen download fake" in r.stderr  # the progress bar goes to stderr
    r = CliRunner().invoke(download_cmd, [server.url("/d/manifest.json"), "--out", str(tmp_path / "o"),
                                          "--shards", "x", "-q"])
    assert r.exit_code == 2 and "--shards" in r.output
    m = json.loads(manifest)
    m["shards"][0]["name"] = "../../etc/cron.d/evil"
    server.files["/d/manifest.json"] = json.dumps(m).encode()
    r = CliRunner().invoke(download_cmd, [server.url("/d/manifest.json"), "--out", str(tmp_path / "p"), "-q"])
    assert r.exit_code == 1 and "outside the output folder" in r.output and not (tmp_path / "p").exists()


def test_hf_source_through_huggingface_hub_endpoint(server, data, tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    from huggingface_hub import constants

    files, manifest = data
    for k, v in list(server.files.items()):
        server.files[k.replace("/d/", "/cdn/")] = v
    server.files["/datasets/org/faces/resolve/v1/manifest.json"] = manifest
    server.faults.redirect["/datasets/org/faces/resolve/v1/"] = "http://localhost:%d/cdn/" % server.server_address[1]
    monkeypatch.setattr(constants, "ENDPOINT", server.base)
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    res = download("hf://datasets/org/faces@v1", tmp_path, **FAST)
    _assert_all_verified(tmp_path, files)
    assert res.manifest.location == server.url("/datasets/org/faces/resolve/v1/manifest.json")
    first = [r for r in server.requests if r["path"].startswith("/datasets/")]
    cdn = [r for r in server.requests if r["path"].startswith("/cdn/")]
    assert cdn and all(r["authorization"] is None for r in cdn)  # the token stays with the endpoint
    assert first and all(r["authorization"] == "Bearer hf_secret" for r in first)

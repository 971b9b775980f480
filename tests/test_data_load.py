"""benchmark.data.load: local folders, HTTP streaming (verified or not), the download cache, hf://."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmark.data import ShardIntegrityError, load, shard_sources
from facegen.datasets.download import UnsafeManifestError
from facegen.datasets.testing import FaultyServer
from facegen.design import parse_config
from facegen.generate import generate
from facegen.model import save_npz

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model  # noqa: E402

N = 5 * 12


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    p = tmp_path_factory.mktemp("model") / "synth.npz"
    save_npz(synthetic_model(), p)
    cfg = parse_config({
        "name": "loadme", "model": str(p), "seed": 5, "identities": {"count": 5, "ethnicities": ["a", "b", "c"]},
        "samples": {"mode": "random", "per_identity": 12},
        "intrinsic": {"expression": {"levels": ["neutral", "happy"]}},
        "extrinsic": {"yaw": {"levels": [-20, 20]}},
        "render": {"image_size": 32, "format": "png", "extras": ["mask", "coeffs"]},
        "shards": {"samples_per_shard": 10}})
    out = tmp_path_factory.mktemp("ds")
    generate(cfg, out, progress=False)
    return out


@pytest.fixture
def server(ds):
    files = {f"/r/{p.name}": p.read_bytes() for p in ds.iterdir() if p.is_file()}
    with FaultyServer(files) as srv:
        yield srv


def _collect(pipe) -> dict[str, dict]:
    return {s["key"]: s for s in pipe}


def test_local_folder_yields_decoded_samples(ds):
    got = _collect(load(ds))
    assert len(got) == N
    s = next(iter(got.values()))
    assert s["image"].shape == (32, 32, 3) and s["image"].dtype == np.uint8
    assert s["mask"].shape == (32, 32) and s["coeffs"].dtype == np.float32
    assert all(f"{v['record']['identity']:06d}_{v['record']['sample']:08d}" == k for k, v in got.items())
    m = json.loads((ds / "manifest.json").read_text())
    for split, info in m["splits"].items():
        part = _collect(load(ds, split=split, verify=True))
        assert len(part) == info["samples"] and {v["record"]["split"] for v in part.values()} == {split}
    raw = next(iter(load(ds, decode=False)))
    assert isinstance(raw["image"], bytes) and raw["image"][:4] == b"\x89PNG"


def test_http_streaming_equals_local(ds, server):
    local = _collect(load(ds))
    for verify in (False, True):
        remote = _collect(load(server.url("/r/manifest.json"), verify=verify))
        assert remote.keys() == local.keys()
        assert all(np.array_equal(remote[k]["image"], local[k]["image"]) for k in local)
        assert all(remote[k]["record"] == local[k]["record"] for k in local)


def test_verified_streaming_never_yields_a_corrupt_shards_samples(ds, server):
    m = json.loads((ds / "manifest.json").read_text())
    victim = m["shards"][1]
    b = bytearray(server.files[f"/r/{victim['name']}"])
    b[len(b) // 3] ^= 0xFF
    server.files[f"/r/{victim['name']}"] = bytes(b)
    seen = []
    with pytest.raises(ShardIntegrityError, match="sha256"):
        for s in load(server.url("/r/manifest.json"), verify=True):
            seen.append(s["url"])
    assert seen and not any(u.endswith(victim["name"]) for u in seen)
    assert server.count(f"/r/{victim['name']}") == 3  # first fetch + 2 refetches, then refused


def test_verified_streaming_resumes_dropped_connections(ds, server):
    m = json.loads((ds / "manifest.json").read_text())
    name = m["shards"][0]["name"]
    server.faults.drop[f"/r/{name}"] = [3000]
    server.faults.fail[f"/r/{m['shards'][2]['name']}"] = 1
    assert len(_collect(load(server.url("/r/manifest.json"), verify=True))) == N
    assert [r["range"] for r in server.requests if r["path"] == f"/r/{name}"] == [None, "bytes=3000-"]


def test_unverified_streaming_retries_failed_connections(ds, server):
    m = json.loads((ds / "manifest.json").read_text())
    server.faults.fail[f"/r/{m['shards'][0]['name']}"] = 2
    assert len(_collect(load(server.url("/r/manifest.json")))) == N


def test_cache_downloads_once(ds, server, tmp_path):
    url = server.url("/r/manifest.json")
    first = _collect(load(url, cache_dir=tmp_path))
    assert len(first) == N
    folders = list(tmp_path.iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("loadme-")
    assert sorted(p.name for p in folders[0].glob("*.tar")) == sorted(p.name for p in ds.glob("*.tar"))
    gets = sum(1 for r in server.requests if r["path"].endswith(".tar"))
    again = _collect(load(url, cache_dir=tmp_path, split="test"))
    assert gets == sum(1 for r in server.requests if r["path"].endswith(".tar"))  # no shard fetched twice
    assert {v["record"]["split"] for v in again.values()} == {"test"}
    assert all(v["url"].startswith(str(folders[0])) for v in again.values())


def test_hostile_manifest_is_refused_when_streaming(ds, server):
    m = json.loads((ds / "manifest.json").read_text())
    m["shards"][0]["name"] = "../../outside.tar"
    server.files["/r/manifest.json"] = json.dumps(m).encode()
    with pytest.raises(UnsafeManifestError, match="outside the output folder"):
        shard_sources(server.url("/r/manifest.json"))


def test_hf_streaming_through_local_endpoint(ds, server, monkeypatch):
    pytest.importorskip("huggingface_hub")
    from huggingface_hub import constants

    for k, v in list(server.files.items()):
        server.files[k.replace("/r/", "/datasets/lab/faces/resolve/main/")] = v
    monkeypatch.setattr(constants, "ENDPOINT", server.base)
    got = _collect(load("hf://datasets/lab/faces", split="train", verify=True))
    m = json.loads((ds / "manifest.json").read_text())
    assert len(got) == m["splits"]["train"]["samples"]


def test_torch_dataloader_workers_read_each_sample_once(ds):
    torch = pytest.importorskip("torch")
    dl = torch.utils.data.DataLoader(load(ds, decode=False), batch_size=None, num_workers=2)
    keys = [s["key"] for s in dl]
    assert len(keys) == len(set(keys)) == N

"""The release registry: honest preset entries, and real tamper detection against a local server."""
import hashlib
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from facegen.datasets.cli import datasets_group, download_cmd
from facegen.datasets.download import DownloadError, download
from facegen.datasets.registry import (UNPUBLISHED, Registry, RegistryError, Release, config_sha256, default_registry,
                                       load_registry, release_entry)
from facegen.datasets.testing import FaultyServer
from facegen.design import parse_config, plan_shards, preset
from facegen.generate import generate
from facegen.model import save_npz

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model  # noqa: E402


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    p = tmp_path_factory.mktemp("model") / "synth.npz"
    save_npz(synthetic_model(), p)
    cfg = parse_config({"name": "toy", "model": str(p), "seed": 1, "identities": {"count": 3, "ethnicities": ["a"]},
                        "samples": {"mode": "random", "per_identity": 10}, "render": {"image_size": 24},
                        "shards": {"samples_per_shard": 8}})
    out = tmp_path_factory.mktemp("ds")
    generate(cfg, out, progress=False)
    return out


@pytest.fixture
def published(ds, tmp_path):
    """A server holding the release, and a registry file whose entry pins its manifest."""
    files = {f"/rel/{p.name}": p.read_bytes() for p in ds.iterdir() if p.is_file()}
    with FaultyServer(files) as srv:
        entry = release_entry(ds, name="toy", version="1.0", manifest_url=srv.url("/rel/manifest.json"),
                              license="mit", datasheet="datasheets/toy.md")
        reg_file = tmp_path / "releases.json"
        reg_file.write_text(json.dumps({"schema": "facegen.releases/1", "releases": [entry]}))
        yield srv, load_registry(reg_file), reg_file


def test_default_registry_is_honest_about_the_presets():
    reg = default_registry()
    assert reg.names() == ["mini", "xu2018"]
    for r in reg.releases():
        assert r.status == UNPUBLISHED and r.manifest_sha256 is None and "{owner}" in r.manifest_url
        cfg = preset(r.preset)
        assert r.config_sha256 == config_sha256(cfg.to_dict()), "the preset changed: bump the release version"
        assert r.samples == cfg.n_samples and sum(r.splits.values()) == r.samples
        assert (Path(__file__).resolve().parents[1] / r.datasheet).is_file()
    mini = reg.get("mini")
    counts = {}
    for s in plan_shards(preset("mini")):
        counts[s.split] = counts.get(s.split, 0) + len(s.samples)
    assert mini.splits == counts
    with pytest.raises(RegistryError, match="not yet published.*facegen sample --preset mini"):
        mini.require_published()
    with pytest.raises(RegistryError, match="known: \\['mini@1.6', 'xu2018@1.6'\\]"):
        reg.get("imagenet")


def test_load_of_an_unpublished_release_says_what_to_do():
    from benchmark.data import load

    with pytest.raises(RegistryError, match="not yet published"):
        load("xu2018")


def test_published_release_downloads_and_loads(published, ds, tmp_path):
    from benchmark.data import load

    srv, reg, _ = published
    res = download(reg.get("toy").require_published(), tmp_path / "d", progress=False,
                   expected_manifest_sha256=reg.get("toy").manifest_sha256)
    assert len(res.fetched) == len(list(ds.glob("*.tar")))
    assert sum(1 for _ in load("toy", registry=reg, decode=False)) == 30
    assert sum(1 for _ in load("toy@1.0", registry=reg, cache_dir=tmp_path / "c", decode=False)) == 30


def test_changed_manifest_is_detected(published, tmp_path):
    """An attacker swaps a shard and rewrites the manifest to match: the registry's hash catches it."""
    from benchmark.data import load

    srv, reg, reg_file = published
    m = json.loads(srv.files["/rel/manifest.json"])
    evil = b"\0" * 10240
    name = m["shards"][0]["name"]
    srv.files[f"/rel/{name}"] = evil
    m["shards"][0].update(bytes=len(evil), sha256=hashlib.sha256(evil).hexdigest())
    srv.files["/rel/manifest.json"] = json.dumps(m, indent=1).encode()
    with pytest.raises(DownloadError, match="tampered"):
        load("toy", registry=reg)
    r = CliRunner().invoke(download_cmd, ["toy", "--registry", str(reg_file), "--out", str(tmp_path / "x"), "-q"])
    assert r.exit_code == 1 and "tampered" in r.output
    assert not (tmp_path / "x").exists()
    assert srv.count(f"/rel/{name}") == 0  # refused before any shard was requested


def test_changed_shard_is_detected(published, tmp_path):
    from benchmark.data import ShardIntegrityError, load

    srv, reg, _ = published
    name = sorted(k for k in srv.files if k.endswith(".tar"))[0]
    b = bytearray(srv.files[name])
    b[600] ^= 1
    srv.files[name] = bytes(b)
    with pytest.raises(ShardIntegrityError):
        list(load("toy", registry=reg, verify=True))
    with pytest.raises(DownloadError, match="sha256 still differs"):
        download(reg.get("toy").require_published(), tmp_path / "d", progress=False, backoff=0.01)
    assert not (tmp_path / "d" / name.split("/")[-1]).exists()


def test_malformed_registries_are_refused(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps({"schema": "facegen.releases/1", "releases": [
        {"name": "x", "version": "1", "title": "", "status": "published", "manifest_url": "http://h/m.json",
         "manifest_sha256": None, "license": "mit", "datasheet": ""}]}))
    with pytest.raises(RegistryError, match="published release needs"):
        load_registry(bad)
    bad.write_text(json.dumps({"schema": "facegen.releases/1", "releases": [{"name": "x", "colour": 1}]}))
    with pytest.raises(RegistryError, match="unknown key"):
        load_registry(bad)
    bad.write_text("[]")
    with pytest.raises(RegistryError, match="facegen.releases/1"):
        load_registry(bad)
    r = Release("x", "1.0", "", UNPUBLISHED, None, None, "mit", "")
    assert Registry((r, Release("x", "1.10", "", UNPUBLISHED, None, None, "mit", ""))).get("x").version == "1.10"


def test_cli_list_info_and_download_by_name(published, tmp_path):
    srv, reg, reg_file = published
    r = CliRunner().invoke(datasets_group, ["list"])
    assert r.exit_code == 0 and "mini" in r.output and "xu2018" in r.output and "not yet published" in r.output
    assert "26,250,000" in r.output
    r = CliRunner().invoke(datasets_group, ["info", "xu2018", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["splits"]["train"] > 0
    r = CliRunner().invoke(datasets_group, ["info", "nope"])
    assert r.exit_code == 2 and "no release 'nope'" in r.output
    r = CliRunner().invoke(download_cmd, ["mini", "--out", str(tmp_path / "m")])
    assert r.exit_code == 2 and "not yet published" in r.output
    r = CliRunner().invoke(download_cmd, ["toy", "--registry", str(reg_file), "--out", str(tmp_path / "t"), "-q"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "t" / "manifest.json").read_bytes() == srv.files["/rel/manifest.json"]

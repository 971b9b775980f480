"""facegen sample end to end on a small synthetic model: determinism, slices, resume, errors."""
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from facegen.design import ConfigError, parse_config
from facegen.generate import generate
from facegen.model import save_npz

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model  # noqa: E402


@pytest.fixture(scope="module")
def raw_cfg(tmp_path_factory):
    p = tmp_path_factory.mktemp("model") / "synth.npz"
    save_npz(synthetic_model(), p)
    return {
        "name": "synth", "model": str(p), "seed": 7,
        "identities": {"count": 5, "ethnicities": ["a", "b", "c"]},
        "samples": {"mode": "random", "per_identity": 24},
        "intrinsic": {"age": {"levels": [25, 65]}, "expression": {"levels": ["neutral", "happy", "surprise"]},
                      "expression_intensity": {"uniform": [0.5, 1]}},
        "extrinsic": {"yaw": {"levels": [-30, 0, 30]}, "light_azimuth": {"levels": [-30, 30]},
                      "scale": {"uniform": [0.9, 1.1]}, "translation_x": {"uniform": [-2, 2]}},
        "render": {"image_size": 32, "format": "png", "extras": ["mask", "coeffs"]},
        "shards": {"samples_per_shard": 10},
    }


def _shard_bytes(d: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(d.glob("*.tar"))}


@pytest.fixture(scope="module")
def full_run(raw_cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    res = generate(parse_config(raw_cfg), out, workers=1, progress=False)
    return out, res


def test_full_run_writes_manifest_and_records(full_run, raw_cfg):
    out, res = full_run
    m = json.loads((out / "manifest.json").read_text())
    assert m["complete"] and res.written == m["planned_shards"] == len(m["shards"])
    assert sum(s["samples"] for s in m["shards"]) == 5 * 24
    assert m["config"] == parse_config(raw_cfg).to_dict()
    assert m["model"]["sha256"] == synthetic_model().sha256()
    names = [p.name for p in out.glob("*.tar")]
    assert {s["name"] for s in m["shards"]} == set(names)
    with tarfile.open(out / m["shards"][0]["name"]) as tf:
        mem = tf.getmembers()
        assert {x.mtime for x in mem} == {0} and {x.uname for x in mem} == {""}
        rec = json.loads(tf.extractfile([x for x in mem if x.name.endswith(".json")][0]).read())
    assert rec["schema"] == "facegen.sample/1" and len(rec["landmarks_2d"]) == 68
    assert rec["split"] == m["shards"][0]["split"] and rec["image_size"] == [32, 32]
    assert {"yaw", "pitch", "roll"} == set(rec["pose_deg"]) and rec["pose_deg"]["yaw"] in (-30, 0, 30)


def test_two_workers_give_identical_bytes(full_run, raw_cfg, tmp_path):
    out, _ = full_run
    generate(parse_config(raw_cfg), tmp_path, workers=2, progress=False)
    assert _shard_bytes(tmp_path) == _shard_bytes(out)
    assert (tmp_path / "manifest.json").read_bytes() == (out / "manifest.json").read_bytes()


def test_shard_slice_equals_those_shards_of_the_full_run(full_run, raw_cfg, tmp_path):
    out, _ = full_run
    full = json.loads((out / "manifest.json").read_text())["shards"]
    res = generate(parse_config(raw_cfg), tmp_path, shards="3:6", progress=False)
    assert res.written == 3 and not res.manifest["complete"]
    got = _shard_bytes(tmp_path)
    assert set(got) == {s["name"] for s in full[3:6]}
    assert all(got[k] == (out / k).read_bytes() for k in got)
    res = generate(parse_config(raw_cfg), tmp_path, progress=False)  # the rest completes the run
    assert res.skipped == 3 and res.manifest["complete"]
    assert _shard_bytes(tmp_path) == _shard_bytes(out)


def test_corrupted_shard_is_regenerated(full_run, raw_cfg, tmp_path):
    out, _ = full_run
    cfg = parse_config(raw_cfg)
    generate(cfg, tmp_path, progress=False)
    victim = sorted(tmp_path.glob("*.tar"))[1]
    data = bytearray(victim.read_bytes())
    data[700] ^= 0xFF
    victim.write_bytes(bytes(data))
    res = generate(cfg, tmp_path, progress=False)
    assert res.written == 1
    assert _shard_bytes(tmp_path) == _shard_bytes(out)


def test_kill_9_then_rerun_finishes_byte_identical(full_run, raw_cfg, tmp_path):
    out, _ = full_run
    cfg_file = tmp_path / "design.yaml"
    cfg_file.write_text(yaml.safe_dump(raw_cfg))
    dest = tmp_path / "run"
    cmd = [sys.executable, "-m", "facegen.cli", "sample", "--config", str(cfg_file), "--out", str(dest), "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(dest.glob("*.tar"))) < 2:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = len(list(dest.glob("*.tar")))
    assert n_before >= 2, "the run finished or wrote nothing before the kill"
    assert not (dest / "manifest.json").exists() or not json.loads((dest / "manifest.json").read_text())["complete"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "already done" in done.stdout
    assert _shard_bytes(dest) == _shard_bytes(out)
    assert not list(dest.glob("*.tmp-*"))


def test_other_design_in_same_folder_is_refused(full_run, raw_cfg, tmp_path):
    cfg = parse_config(raw_cfg)
    generate(cfg, tmp_path, shards="0:1", progress=False)
    before = _shard_bytes(tmp_path)
    other = parse_config({**raw_cfg, "seed": 8})
    with pytest.raises(ConfigError, match="different design"):
        generate(other, tmp_path, progress=False)
    assert _shard_bytes(tmp_path) == before


def test_resume_under_other_software_versions_is_refused(raw_cfg, tmp_path):
    cfg = parse_config(raw_cfg)
    generate(cfg, tmp_path, shards="0:1", progress=False)
    before = _shard_bytes(tmp_path)
    run_file = tmp_path / ".facegen" / "run.json"
    run = json.loads(run_file.read_text())
    assert set(run["software"]) >= {"facegen", "numba", "simplejpeg", "fast_simplification", "orjson"}
    run["software"]["simplejpeg"] = "0.0.1"
    run_file.write_text(json.dumps(run))
    with pytest.raises(ConfigError, match="simplejpeg 0.0.1 -> .*new --out folder"):
        generate(cfg, tmp_path, progress=False)
    assert _shard_bytes(tmp_path) == before
    run["software"]["simplejpeg"] = __import__("simplejpeg").__version__
    run_file.write_text(json.dumps(run))
    generate(cfg, tmp_path, shards="1:2", progress=False)  # the same versions again: the run goes on
    assert len(_shard_bytes(tmp_path)) > len(before)


def test_model_dependent_errors_come_before_any_work(raw_cfg, tmp_path):
    bad = {**raw_cfg, "intrinsic": {**raw_cfg["intrinsic"], "expression": {"levels": ["neutral", "fear"]}}}
    with pytest.raises(ConfigError, match="'fear' is not defined by model 'synthetic'"):
        generate(parse_config(bad), tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()
    bad = {**raw_cfg, "identities": {**raw_cfg["identities"], "ethnicities": ["a", "martian"]}}
    with pytest.raises(ConfigError, match="martian"):
        generate(parse_config(bad), tmp_path / "x", progress=False)
    with pytest.raises(ConfigError, match="--shards"):
        generate(parse_config(raw_cfg), tmp_path / "x", shards="5:999", progress=False)
    assert not (tmp_path / "x").exists()


def test_shards_read_back_with_webdataset_and_tar(full_run):
    import webdataset as wds

    out, _ = full_run
    urls = [str(p) for p in sorted(out.glob("*.tar"))]
    n = 0
    for s in wds.WebDataset(urls, shardshuffle=False).decode("rgb8"):
        n += 1
        assert s["png"].shape == (32, 32, 3) and s["png"].dtype == np.uint8
        assert s["json"]["identity"] == int(s["__key__"].split("_")[0])
        assert "coeffs.npy" in s and "mask.png" in s
    assert n == 5 * 24
    listing = subprocess.run(["tar", "-tf", urls[0]], capture_output=True, text=True, check=True).stdout.split()
    assert len(listing) == 10 * 4 and listing[0].endswith((".coeffs.npy", ".json", ".mask.png", ".png"))


def test_ray_backend_gives_identical_bytes(full_run, raw_cfg, tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'ray[default]')")
    out, _ = full_run
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        generate(parse_config(raw_cfg), tmp_path, backend="ray", progress=False)
    finally:
        ray.shutdown()
    assert _shard_bytes(tmp_path) == _shard_bytes(out)

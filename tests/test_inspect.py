"""facegen inspect: validates shards against the manifest and the record schema."""
import json
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from facegen.cli import main
from facegen.design import parse_config
from facegen.generate import generate
from facegen.inspect import check_record, inspect_dataset
from facegen.model import save_npz

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model  # noqa: E402


@pytest.fixture()
def dataset(tmp_path):
    p = tmp_path / "synth.npz"
    save_npz(synthetic_model(), p)
    raw = {"model": str(p), "seed": 1, "identities": {"count": 3, "ethnicities": ["a", "b"]},
           "samples": {"mode": "random", "per_identity": 10},
           "extrinsic": {"yaw": {"levels": [-15, 15]}}, "render": {"image_size": 24},
           "shards": {"samples_per_shard": 8}}
    out = tmp_path / "ds"
    generate(parse_config(raw), out, progress=False)
    return out


def test_clean_dataset_passes_and_counts_levels(dataset):
    rep = inspect_dataset(dataset, sheet=dataset / "sheet.png")
    assert rep["problems"] == []
    assert rep["samples"] == 30
    assert sum(rep["counts"]["yaw"].values()) == 30 and set(rep["counts"]["yaw"]) == {"-15.0", "15.0"}
    assert (dataset / "sheet.png").stat().st_size > 0
    r = CliRunner().invoke(main, ["inspect", str(dataset)])
    assert r.exit_code == 0 and "0 problem(s)" in r.output


def test_corrupted_shard_is_caught(dataset):
    victim = sorted(dataset.glob("*.tar"))[0]
    data = bytearray(victim.read_bytes())
    data[600] ^= 0x55
    victim.write_bytes(bytes(data))
    r = CliRunner().invoke(main, ["inspect", str(dataset)])
    assert r.exit_code == 1
    assert f"{victim.name}: size or sha256 differs" in r.output


def test_missing_shard_and_bad_record_are_caught(dataset):
    shards = sorted(dataset.glob("*.tar"))
    shards[0].unlink()
    # rewrite another shard with one record missing its 'gender', keeping the manifest's hash stale
    with tarfile.open(shards[1]) as tf:
        members = [(m, tf.extractfile(m).read()) for m in tf.getmembers()]
    import io
    with tarfile.open(shards[1], "w") as tf:
        for m, data in members:
            if m.name.endswith(".json"):
                rec = json.loads(data)
                rec.pop("gender")
                data = json.dumps(rec).encode()
                m.size = len(data)
            tf.addfile(m, io.BytesIO(data))
    rep = inspect_dataset(dataset)
    text = "\n".join(rep["problems"])
    assert f"{shards[0].name}: listed in the manifest but missing" in text
    assert "record lacks 'gender'" in text


def test_record_checker_rejects_wrong_types():
    assert any("identity" in p for p in check_record({"identity": "7"}, "000007_00000000"))

"""The facegen sample command line: presets, printing configs, usage errors (exit 2, no traceback)."""
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from facegen.cli import main
from facegen.design import preset
from facegen.model import save_npz

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model  # noqa: E402


def test_print_config_is_the_preset_as_yaml():
    r = CliRunner().invoke(main, ["sample", "--preset", "xu2018", "--print-config"])
    assert r.exit_code == 0
    assert yaml.safe_load(r.output) == preset("xu2018").to_dict()


def test_list_presets_shows_sizes():
    r = CliRunner().invoke(main, ["sample", "--list-presets"])
    assert r.exit_code == 0 and "26,250,000 images at 224 px" in r.output and "mini" in r.output


def test_usage_errors_exit_2_with_a_message(tmp_path):
    run = CliRunner().invoke
    r = run(main, ["sample", "--preset", "nope", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "preset 'nope' does not exist" in r.output
    r = run(main, ["sample", "--preset", "mini"])
    assert r.exit_code == 2 and "--out is required" in r.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("extrinsic: {yaw: {levels: [100]}}\n")
    r = run(main, ["sample", "--config", str(bad), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "extrinsic.yaw" in r.output and "[-90.0, 90.0]" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert not (tmp_path / "o").exists()
    r = run(main, ["sample", "--preset", "mini", "--out", str(tmp_path / "o"), "--workers", "0"])
    assert r.exit_code == 2
    r = run(main, ["sample", "--preset", "mini", "--out", str(tmp_path / "o"), "--ray-address", "x:1"])
    assert r.exit_code == 2 and "--backend ray" in r.output


def test_sample_command_writes_a_dataset(tmp_path):
    p = tmp_path / "m.npz"
    save_npz(synthetic_model(), p)
    cfg = tmp_path / "d.yaml"
    cfg.write_text(yaml.safe_dump({"model": str(p), "identities": {"count": 2, "ethnicities": ["a"]},
                                   "samples": {"mode": "random", "per_identity": 5}, "render": {"image_size": 16}}))
    r = CliRunner().invoke(main, ["sample", "--config", str(cfg), "--out", str(tmp_path / "o"), "-q"])
    assert r.exit_code == 0, r.output
    assert "shards written" in r.output and (tmp_path / "o" / "manifest.json").exists()

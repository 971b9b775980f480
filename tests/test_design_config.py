"""Design configs: presets, YAML round trip, and validation errors that name key, value and what is allowed."""
import copy

import pytest
import yaml

from facegen.design import PRESETS, ConfigError, load_config, parse_config, preset


def test_xu2018_preset_is_the_paper_design():
    c = preset("xu2018")
    assert c.n_identities == 2000
    assert c.samples_per_identity == 3 * 7 * 5 * 5 * 5 * 5 == 13125
    assert c.n_samples == 26_250_000
    assert c.factors["age"].values == (25.0, 45.0, 65.0)
    assert c.factors["yaw"].values == c.factors["light_elevation"].values == (-30.0, -15.0, 0.0, 15.0, 30.0)
    assert c.image_size == 224
    assert c.factors["scale"].kind == "uniform" and c.factors["translation_x"].kind == "uniform"


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_print_config_round_trips(name, tmp_path):
    c = preset(name)
    p = tmp_path / "c.yaml"
    p.write_text(c.to_yaml())
    assert load_config(p).to_dict() == c.to_dict()


def _mini():
    return copy.deepcopy(PRESETS["mini"])


@pytest.mark.parametrize("mutate, words", [
    (lambda r: r.update(colour=1), ["unknown top-level key", "colour", "allowed"]),
    (lambda r: r["extrinsic"].update(yaww=3), ["extrinsic", "yaww", "allowed", "yaw"]),
    (lambda r: r["extrinsic"].update(yaw={"levels": [-120, 0]}), ["extrinsic.yaw", "-90", "90"]),
    (lambda r: r["extrinsic"].update(pitch={"uniform": [10, -10]}), ["extrinsic.pitch.uniform", "lo <= hi"]),
    (lambda r: r["extrinsic"].update(roll={"gauss": [0, 1]}), ["extrinsic.roll", "levels", "uniform", "normal"]),
    (lambda r: r["intrinsic"].update(expression={"levels": ["smirk"]}), ["intrinsic.expression", "smirk", "happy"]),
    (lambda r: r["render"].update(format="gif"), ["render.format", "gif", "png", "jpg"]),
    (lambda r: r["render"].update(image_size=8), ["render.image_size", "8", "16"]),
    (lambda r: r["identities"].update(count=0), ["identities.count", "0"]),
    (lambda r: r["splits"].update(fractions={"train": 0.5, "val": 0.2}), ["splits.fractions", "sum to 1"]),
    (lambda r: r["splits"].update(by="rows"), ["splits.by", "rows", "image", "identity", "factors"]),
    (lambda r: r["splits"].update(by="factors"), ["splits.heldout", "rule"]),
    (lambda r: r["splits"].update(by="factors", heldout=[{"roll": [0]}]), ["heldout[0].roll", "grid factors"]),
    (lambda r: r["splits"].update(by="factors", heldout=[{"yaw": [45]}]), ["heldout[0].yaw", "45"]),
    (lambda r: r["samples"].update(repeats=2), ["samples.repeats", "factorial"]),
    (lambda r: r["extrinsic"].update(translation_x={"uniform": [-40, 40]}), ["translation_x", "-32", "32"]),
    (lambda r: r["extrinsic"].update(scale="big"), ["extrinsic.scale", "'big'", "number"]),
    (lambda r: r["render"].update(detail=0.3), ["render.detail", "0.3", "'auto'", "'full'", "0.25"]),
    (lambda r: r["render"].update(detail="half"), ["render.detail", "'half'", "0.5"]),
    (lambda r: r["render"].update(detail=True), ["render.detail", "True"]),
])
def test_validation_errors_name_key_value_and_allowed(mutate, words):
    raw = _mini()
    mutate(raw)
    with pytest.raises(ConfigError) as e:
        parse_config(raw)
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_bad_yaml_file_names_the_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("extrinsic: {yaw: [unclosed")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(p)
    p.write_text(yaml.safe_dump({"extrinsic": {"pitch": {"levels": [90]}}}))
    with pytest.raises(ConfigError, match=r"bad\.yaml: extrinsic\.pitch"):
        load_config(p)


def test_unknown_preset_lists_allowed():
    with pytest.raises(ConfigError, match="allowed.*mini"):
        preset("tiny")

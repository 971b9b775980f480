"""Models without a factor model (ICT-FaceKit, SFM, ...): designs that name gender, ethnicity or age
are refused before any work, and the records of the others carry those labels as null, not false ones.

Uses a real factor-less model (ICT-FaceKit from ../shared/data/models, skipped when absent) and the
synthetic test model with its factors stripped (``dataclasses.replace(model, factors=None)``).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from facegen.cli import main
from facegen.design import ConfigError, parse_config
from facegen.generate import check_design, factor_keys_set, generate
from facegen.model import load_model, save_npz
from facegen.shards.tario import read_shard

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model  # noqa: E402

LABELS = ("gender", "ethnicity", "base_age", "age")
NAME = "synthetic-nofactors"


@pytest.fixture(scope="module")
def bare_path(tmp_path_factory) -> Path:
    """The synthetic model without its factor model, as a facegen .npz."""
    m = dataclasses.replace(synthetic_model(), factors=None, name=NAME)
    assert m.factors is None
    p = tmp_path_factory.mktemp("bare") / "bare.npz"
    save_npz(m, p)
    return p


@pytest.fixture(scope="module")
def with_factors_path(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("synth") / "synth.npz"
    save_npz(synthetic_model(), p)
    return p


def _raw(model: str, **sections) -> dict:
    raw = {"name": "bare", "model": model, "seed": 4, "identities": {"count": 3},
           "samples": {"mode": "random", "per_identity": 4},
           "intrinsic": {"expression": {"levels": ["neutral", "happy"]}},
           "extrinsic": {"yaw": {"levels": [-20, 0, 20]}}, "render": {"image_size": 16},
           "shards": {"samples_per_shard": 5}}
    for sec, kv in sections.items():
        raw[sec] = {**raw.get(sec, {}), **kv}
    return raw


def _records(out: Path) -> list[dict]:
    return [json.loads(s["json"]) for p in sorted(out.glob("*.tar")) for s in read_shard(p)]


# (section, key, value): each sets gender, ethnicity or age for a model that has none
FORBIDDEN = [
    ("identities", "genders", ["female"]),
    ("identities", "genders", ["male", "female"]),  # the default levels, but not the default design
    ("identities", "ethnicities", ["african"]),
    ("identities", "base_age", 30),
    ("identities", "base_age", {"uniform": [20, 60]}),
    ("intrinsic", "age", {"levels": [25, 45, 65]}),
    ("intrinsic", "age", {"uniform": [20, 60]}),
    ("intrinsic", "age", 30),  # a constant age is as false a label as a grid of them
]


@pytest.mark.parametrize("section,key,value", FORBIDDEN, ids=[f"{s}.{k}={v}" for s, k, v in FORBIDDEN])
def test_each_factor_key_is_refused_before_any_shard(bare_path, tmp_path, section, key, value):
    raw = _raw(str(bare_path), **{section: {key: value}})
    out = tmp_path / "out"
    with pytest.raises(ConfigError) as e:
        generate(parse_config(raw), out, progress=False)
    msg = str(e.value)
    assert msg.startswith(f"{section}.{key}:"), msg
    assert f"model {NAME!r} has no factor model" in msg and "change nothing" in msg, msg
    assert f"remove {section}.{key}" in msg and "intrinsic.age only 'base'" in msg, msg
    assert not list(out.glob("*.tar")) and not (out / "manifest.json").exists()


def test_every_key_is_named_at_once(bare_path):
    cfg = parse_config(_raw(str(bare_path), identities={"genders": ["female"], "ethnicities": ["european"],
                                                         "base_age": 40}, intrinsic={"age": {"levels": [30, 50]}}))
    m = load_model(str(bare_path))
    with pytest.raises(ConfigError) as e:
        check_design(cfg, m)
    keys = ["identities.genders", "identities.ethnicities", "identities.base_age", "intrinsic.age"]
    assert str(e.value).startswith(", ".join(keys) + ":"), str(e.value)


def test_ict_refuses_a_copied_preset_config(ict_dir, tmp_path):
    """`facegen sample --preset mini --print-config`, model changed to ICT: refused by the CLI, naming the
    model and the preset's age grid (mini's base_age is the default, so it is not named)."""
    r = CliRunner().invoke(main, ["sample", "--preset", "mini", "--print-config"])
    assert r.exit_code == 0
    text = r.output.replace("model: embedded", f"model: {ict_dir}")
    assert f"model: {ict_dir}" in text
    design = tmp_path / "mini-ict.yaml"
    design.write_text(text)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["sample", "--config", str(design), "--out", str(out), "-q"])
    assert r.exit_code == 2, r.output
    assert "intrinsic.age: model 'ict-facekit' has no factor model" in r.output, r.output
    assert "identities.genders" not in r.output and "identities.base_age" not in r.output
    assert not list(out.glob("*.tar"))
    # and every key of the ICT design at once, by generate itself
    raw = _raw(str(ict_dir), identities={"genders": ["female"], "ethnicities": ["east_asian"],
                                          "base_age": {"uniform": [30, 40]}})
    with pytest.raises(ConfigError, match=r"^identities\.genders, identities\.ethnicities, identities\.base_age: "
                                          r"model 'ict-facekit' has no factor model"):
        generate(parse_config(raw), out, progress=False)
    assert not list(out.glob("*.tar"))


def test_defaults_written_out_are_accepted(bare_path):
    """A config with every default written in (``--print-config``, a manifest's config) stays valid, and so
    do explicit default values and ``age: base``: they ask for nothing the model cannot do."""
    m = load_model(str(bare_path))
    cfg = parse_config(_raw(str(bare_path)))
    assert factor_keys_set(cfg) == []
    check_design(parse_config(cfg.to_dict()), m)
    explicit = _raw(str(bare_path), identities={"genders": ["female", "male"], "base_age": {"uniform": [25, 45]},
                                                "ethnicities": ["african", "east_asian", "european", "south_asian"]},
                    intrinsic={"age": "base"})
    check_design(parse_config(explicit), m)


def test_models_with_factors_keep_their_checks(with_factors_path):
    m = load_model(str(with_factors_path))
    assert m.factors is not None
    # age levels inside the model's range, other genders/ethnicities of the model: fine
    check_design(parse_config(_raw(str(with_factors_path), identities={"genders": ["male"], "ethnicities": ["b"]},
                                   intrinsic={"age": {"levels": [30, 60]}})), m)
    with pytest.raises(ConfigError, match=r"^identities\.genders: \['x'\] not in model 'synthetic'; allowed: "):
        check_design(parse_config(_raw(str(with_factors_path), identities={"genders": ["x"]})), m)
    with pytest.raises(ConfigError, match=r"^intrinsic\.age: .* leaves model 'synthetic''s age range \[20.0, 70.0\]"):
        check_design(parse_config(_raw(str(with_factors_path), identities={"ethnicities": ["a"]},
                                       intrinsic={"age": {"levels": [10, 30]}})), m)


@pytest.fixture(scope="module")
def bare_run(bare_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("bare-run")
    generate(parse_config(_raw(str(bare_path))), out, progress=False)
    return out


def test_clean_design_records_have_null_labels(bare_run):
    recs = _records(bare_run)
    assert len(recs) == 12
    assert all(r[k] is None for r in recs for k in LABELS), recs[0]
    assert {r["model"]["name"] for r in recs} == {NAME}
    assert {r["expression"] for r in recs} <= {"neutral", "happy"}


def test_only_the_labels_differ_from_the_model_with_factors(bare_path, with_factors_path, tmp_path):
    """Same design on the same model with and without factors: the same people and samples; the records
    differ in the labels (and the model) only."""
    # the synthetic factor model's ethnicities are a, b, c; cells decide labels only, not coefficients
    generate(parse_config(_raw(str(with_factors_path), identities={"ethnicities": ["a", "b", "c"]})), tmp_path / "f",
             progress=False)
    generate(parse_config(_raw(str(bare_path))), tmp_path / "b", progress=False)
    with_f, bare = _records(tmp_path / "f"), _records(tmp_path / "b")
    assert len(with_f) == len(bare) == 12
    for a, b in zip(with_f, bare):
        assert a["gender"] in ("female", "male") and a["ethnicity"] in ("a", "b", "c")
        assert isinstance(a["age"], float) and isinstance(a["base_age"], float) and 25 <= a["base_age"] <= 45
        assert all(b[k] is None for k in LABELS)
        skip = set(LABELS) | {"model", "landmarks_2d"}
        assert {k: v for k, v in a.items() if k not in skip} == {k: v for k, v in b.items() if k not in skip}
        assert list(a) == list(b), "field order changed"


def test_embedded_records_keep_their_labels(tmp_path):
    raw = _raw("embedded", intrinsic={"age": {"levels": [25, 65]}})
    generate(parse_config(raw), tmp_path, progress=False)
    recs = _records(tmp_path)
    assert len(recs) == 12
    assert {r["gender"] for r in recs} <= {"female", "male"} and all(r["ethnicity"] for r in recs)
    assert {r["age"] for r in recs} <= {25.0, 65.0} and all(25 <= r["base_age"] <= 45 for r in recs)
    keys = list(recs[0])
    assert keys[keys.index("model") + 1:keys.index("model") + 5] == list(LABELS)


def test_inspect_counts_null_labels_as_na(bare_run):
    from facegen.inspect import inspect_dataset

    rep = inspect_dataset(bare_run, sheet=None)
    assert rep["problems"] == [], rep["problems"]
    for k in ("gender", "ethnicity", "age"):
        assert rep["counts"][k] == {"n/a": 12}
    r = CliRunner().invoke(main, ["inspect", str(bare_run)])
    assert r.exit_code == 0 and "gender: n/a: 12" in r.output, r.output


def test_inspect_flags_half_null_labels():
    from facegen.inspect import check_record

    rec = {"schema": "facegen.sample/1", "identity": 0, "sample": 0, "seed": 0, "model": {}, "gender": None,
           "ethnicity": "a", "base_age": 30.0, "age": 30.0, "expression": "neutral", "expression_intensity": 1.0,
           "pose_deg": {}, "light": {}, "scale": 1.0, "translation_px": [0, 0], "image_size": [16, 16],
           "landmarks_2d": None, "renderer": {}, "split": "train"}
    probs = check_record(rec, "000000_00000000")
    assert len(probs) == 1 and "gender null but ethnicity, base_age, age set" in probs[0], probs
    assert check_record({**rec, "gender": "f"}, "000000_00000000") == []
    assert check_record({**rec, **dict.fromkeys(LABELS)}, "000000_00000000") == []


def test_datasheet_of_a_factorless_run(bare_run):
    from facegen.datasets.datasheet import datasheet_for_design, write_datasheet
    from facegen.datasets.facts import facts_from_design, facts_from_shards

    manifest = json.loads((bare_run / "manifest.json").read_text())
    cfg = parse_config(manifest["config"])
    shards = facts_from_shards(bare_run, manifest)
    design = facts_from_design(cfg, labels=False)
    assert shards.demographics == design.demographics == {(None, None): {"identities": 3, "images": 12}}
    assert "age" not in shards.continuous and "age" not in design.continuous
    assert shards.levels == design.levels and shards.splits == design.splits
    texts = []
    for counts in ("shards", "design"):
        texts.append(write_datasheet(bare_run, counts=counts).read_text())
        t = texts[-1]
        assert "### Demographic coverage\n\nNot applicable: the face model `synthetic-nofactors` has no factor" in t
        assert "| gender | ethnicity |" not in t and "female" not in t and "| None" not in t and "n/a" not in t
        assert "base age uniform" not in t and "drawn from a distribution" not in t
    drop = lambda t: [x for x in t.splitlines() if not x.startswith("Counts ")]  # noqa: E731
    assert drop(texts[0]) == drop(texts[1])
    assert "Not applicable" in datasheet_for_design(cfg)


def test_ict_clean_design_end_to_end(ict_dir, tmp_path):
    """ICT-FaceKit: `facegen sample`, `facegen inspect` and the datasheet on its output."""
    raw = _raw(str(ict_dir), identities={"count": 2}, samples={"mode": "random", "per_identity": 2})
    design = tmp_path / "ict.yaml"
    design.write_text(json.dumps(raw))
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["sample", "--config", str(design), "--out", str(out), "-q"])
    assert r.exit_code == 0, r.output
    recs = _records(out)
    assert len(recs) == 4 and {r["model"]["name"] for r in recs} == {"ict-facekit"}
    assert all(r[k] is None for r in recs for k in LABELS)
    r = CliRunner().invoke(main, ["inspect", str(out)])
    assert r.exit_code == 0 and "ethnicity: n/a: 4" in r.output, r.output
    sheet = (out / "datasheet.md").read_text()
    assert "Not applicable: the face model `ict-facekit` has no factor model" in sheet


def test_cue_conflict_is_allowed_without_factors(bare_path, tmp_path):
    """cue_conflict pairs identities within the design's gender x ethnicity cells (identity i in cell
    i % n_cells); without a factor model those cells are only an index partition (the default 2 x 4),
    no label reaches an image or a record, so the probe runs and its records are as null as any."""
    raw = _raw(str(bare_path), identities={"count": 16}, samples={"mode": "random", "per_identity": 1},
               probe={"kind": "cue_conflict", "partners": 1})
    raw["intrinsic"] = {"expression": "neutral"}
    generate(parse_config(raw), tmp_path, progress=False)
    recs = _records(tmp_path)
    assert len(recs) == 16 and all(r[k] is None for r in recs for k in LABELS)
    pairs = {r["probe"]["shape_identity"]: r["probe"]["texture_identity"] for r in recs}
    assert all(t != s and t % 8 == s % 8 for s, t in pairs.items())


def test_evaluate_groups_null_labels_as_na():
    pytest.importorskip("torch")
    import numpy as np

    from benchmark.train.evaluate import accuracy_table, pair_table

    recs = [{"pose_deg": {"yaw": y, "pitch": 0.0, "roll": 0.0}, "light": {"azimuth_deg": 0.0, "elevation_deg": 0.0},
             "age": None, "gender": None, "ethnicity": None, "expression": "neutral"} for y in (-20.0, 0.0, 20.0, 0.0)]
    correct = np.array([True, False, True, True])
    t = accuracy_table(correct, recs)
    for k in ("gender", "ethnicity", "age"):
        assert t[k] == {"n/a": {"acc": 0.75, "n": 4}}
    rows, cols, acc, n = pair_table(correct, recs, "expression", "age")
    assert rows == ["neutral"] and cols == ["n/a"] and n.tolist() == [[4]]
    mixed = copy.deepcopy(recs)
    mixed[0]["age"] = 30.0
    assert set(accuracy_table(correct, mixed)["age"]) == {"30.0", "n/a"}

"""Datasheet and Croissant: every number equals one counted independently from the shards."""
import importlib.util
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import facegen

from facegen.datasets.cli import datasheet_cmd
from facegen.datasets.datasheet import datasheet_for_design, write_datasheet
from facegen.datasets.facts import facts_from_design, facts_from_shards
from facegen.design import parse_config, preset
from facegen.generate import generate
from facegen.model import save_npz
from facegen.shards.tario import read_shard

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("model") / "synth.npz"
    save_npz(synthetic_model(), p)
    return p


@pytest.fixture(scope="module")
def raw_cfg(model_path):
    return {
        "name": "synthds", "model": str(model_path), "seed": 11, "description": "A test design.",
        "identities": {"count": 5, "ethnicities": ["a", "b"]},
        "samples": {"mode": "random", "per_identity": 24},
        "intrinsic": {"age": {"levels": [25, 65]}, "expression": {"levels": ["neutral", "happy", "surprise"]}},
        "extrinsic": {"yaw": {"levels": [-30, 0, 30]}, "light_azimuth": {"levels": [-15, 15]},
                      "scale": {"uniform": [0.9, 1.1]}},
        "render": {"image_size": 32, "format": "png", "extras": ["mask"]},  # *.mask.png must not count as images
        "shards": {"samples_per_shard": 10},
    }


@pytest.fixture(scope="module")
def ds(raw_cfg, tmp_path_factory):
    out = tmp_path_factory.mktemp("ds")
    generate(parse_config(raw_cfg), out, progress=False)
    write_datasheet(out, counts="shards")
    return out


def _independent_counts(out: Path):
    """Counts straight from the shards with facegen.shards.tario.read_shard (not the datasheet's reader)."""
    m = json.loads((out / "manifest.json").read_text())
    samples = [x for s in m["shards"] for x in read_shard(out / s["name"])]
    splits, ids, levels, demo_ids, demo_imgs = Counter(), defaultdict(set), Counter(), defaultdict(set), Counter()
    fmt = Counter()
    for s in samples:
        r = json.loads(s["json"])
        sp = r["split"]
        splits[sp] += 1
        ids[sp].add(r["identity"])
        fmt[next(e for e in ("png", "jpg") if e in s)] += 1
        for k, v in (("age", r["age"]), ("expression", r["expression"]), ("yaw", r["pose_deg"]["yaw"]),
                     ("light_azimuth", r["light"]["azimuth_deg"]), ("pitch", r["pose_deg"]["pitch"])):
            levels[(k, f"{v:g}" if not isinstance(v, str) else v, sp)] += 1
        demo_ids[(r["gender"], r["ethnicity"])].add(r["identity"])
        demo_imgs[(r["gender"], r["ethnicity"])] += 1
    return splits, ids, levels, demo_ids, demo_imgs, fmt


def _tables(md: str) -> dict[str, list[list[str]]]:
    """Markdown tables keyed by their header row text."""
    out, cur = {}, None
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cur is None:
                cur = out.setdefault(" | ".join(cells), [])
            elif not set("".join(cells)) <= set("-:"):
                cur.append(cells)
        else:
            cur = None
    return out


def _int(s: str) -> int:
    return int(s.replace(",", ""))


def test_datasheet_numbers_equal_independent_counts(ds):
    md = (ds / "datasheet.md").read_text()
    splits, ids, levels, demo_ids, demo_imgs, fmt = _independent_counts(ds)
    t = _tables(md)
    names = [s for s in ("train", "val", "test") if s in splits]
    split_rows = {r[0]: r for r in t["split | images | identities | shards"]}
    m = json.loads((ds / "manifest.json").read_text())
    for s in names:
        assert _int(split_rows[s][1]) == splits[s] and _int(split_rows[s][2]) == len(ids[s])
        assert _int(split_rows[s][3]) == sum(1 for x in m["shards"] if x["split"] == s)
    assert _int(split_rows["total"][1]) == sum(splits.values()) == 120
    level_rows = t["factor | level | " + " | ".join(names) + " | total"]
    seen = 0
    for row in level_rows:
        k, lv = row[0], row[1]
        if k not in ("age", "expression", "yaw", "light_azimuth", "pitch"):
            continue
        for s, cell in zip(names, row[2:]):
            assert _int(cell) == levels[(k, lv, s)], (k, lv, s)
            seen += 1
        assert _int(row[-1]) == sum(levels[(k, lv, s)] for s in names)
    assert seen == len(names) * (2 + 3 + 3 + 2 + 1)
    demo = {(r[0], r[1]): r for r in t["gender | ethnicity | identities | images | share of images"]}
    assert set(demo) == {(g, e) for g in ("female", "male") for e in ("a", "b")}
    for cell, r in demo.items():
        assert _int(r[2]) == len(demo_ids[cell]) and _int(r[3]) == demo_imgs[cell]
    assert f"PNG ({fmt['png']:,})" in md and "32x32 px" in md


def test_front_matter_is_a_hugging_face_card(ds):
    md = (ds / "datasheet.md").read_text()
    assert md.startswith("---\n")
    card = yaml.safe_load(md.split("---\n")[1])
    assert card["pretty_name"] == "facegen synthds" and card["size_categories"] == ["n<1K"]
    assert card["license"] == "unknown"  # the synthetic model's provenance names no licence
    assert "image-classification" in card["task_categories"]
    files = card["configs"][0]["data_files"]
    m = json.loads((ds / "manifest.json").read_text())
    assert [f["split"] for f in files] == [s for s in ("train", "val", "test") if s in m["splits"]]
    assert all(f["path"] == f"{f['split']}-*.tar" for f in files)
    for section in ("Motivation", "Composition", "Collection process", "Preprocessing", "Uses", "Distribution",
                    "Maintenance"):
        assert re.search(rf"^## \d\. {section}", md, re.M), section
    assert "Global seed 11" in md and f"facegen {facegen.__version__}" in md
    assert synthetic_model().sha256() in md
    assert "ethnicity groups ['a', 'b', 'c']; ages 20 to 70 years" in md
    assert "Not used by this design.** ['c']" in md


def test_design_counts_equal_shard_counts(ds, raw_cfg):
    m = json.loads((ds / "manifest.json").read_text())
    a = facts_from_shards(ds, m)
    b = facts_from_design(parse_config(raw_cfg))
    assert (a.splits, a.shards, a.identities, a.levels, a.demographics) == \
           (b.splits, b.shards, b.identities, b.levels, b.demographics)
    for k in a.continuous:
        for stat in ("min", "mean", "max"):
            assert a.continuous[k][stat] == pytest.approx(b.continuous[k][stat], abs=1e-5)


def test_factorial_heldout_and_limited_runs(raw_cfg, tmp_path):
    ids = {"count": 3, "ethnicities": ["a", "c"], "base_age": {"uniform": [30, 40]}}
    cfg = parse_config({**raw_cfg, "identities": ids,
                        "samples": {"mode": "factorial"},
                        "intrinsic": {"expression": {"levels": ["neutral", "happy"]}},
                        "extrinsic": {"yaw": {"levels": [-30, 30]}, "light_azimuth": {"levels": [-15, 15]}},
                        "splits": {"by": "factors", "heldout": [{"yaw": [30], "light_azimuth": [15]}]}})
    generate(cfg, tmp_path / "f", limit=20, progress=False)
    m = json.loads((tmp_path / "f" / "manifest.json").read_text())
    a = facts_from_shards(tmp_path / "f", m)
    b = facts_from_design(cfg, limit=20)
    assert a.samples == 20 and a.splits["heldout"] == b.splits["heldout"] > 0
    assert (a.splits, a.levels, a.demographics, a.identities) == (b.splits, b.levels, b.demographics, b.identities)
    assert a.continuous["age"]["mean"] == pytest.approx(b.continuous["age"]["mean"], abs=1e-4)
    p = write_datasheet(tmp_path / "f", counts="design")
    assert "Limited run:** only the first 20 samples" in p.read_text()
    (tmp_path / "f" / m["shards"][0]["name"]).unlink()  # as after `facegen download --split`
    text = write_datasheet(tmp_path / "f", counts="shards").read_text()
    assert f"Partial copy:** {len(m['shards']) - 1} of the {len(m['shards'])} shards" in text


def test_croissant_lists_every_shard_and_field(ds):
    doc = json.loads((ds / "croissant.json").read_text())
    m = json.loads((ds / "manifest.json").read_text())
    files = {d["@id"]: d for d in doc["distribution"] if d["@type"] == "cr:FileObject"}
    for s in m["shards"]:
        assert files[s["name"]]["sha256"] == s["sha256"] and files[s["name"]]["contentSize"] == f"{s['bytes']} B"
    import hashlib

    assert files["manifest.json"]["sha256"] == hashlib.sha256((ds / "manifest.json").read_bytes()).hexdigest()
    values = next(r for r in doc["recordSet"] if r["@id"] == "samples")
    rec = json.loads(read_shard(ds / m["shards"][0]["name"])[0]["json"])
    paths = [f["source"]["extract"]["jsonPath"] for f in values["field"] if f["@id"] != "samples/key"]
    assert len(paths) == len(values["field"]) - 1 > 20
    for path in paths:  # every JSON path resolves in a real record
        v = rec
        for part in re.findall(r"\.(\w+)|\[(\d+)\]", path):
            v = v[part[0]] if part[0] else v[int(part[1])]
        assert v is not None
    splits = next(r for r in doc["recordSet"] if r["@id"] == "splits")
    assert {d["splits/name"] for d in splits["data"]} == set(m["splits"])


@pytest.fixture(scope="module")
def mlc(tmp_path_factory):
    """mlcroissant, imported once for this module with CROISSANT_CACHE set to a fresh folder: it reads the
    variable at import and caches extracted shards by their relative URL, so another run's cache would
    serve that run's shards. Every test here reads the one module fixture ``ds``, so they share it."""
    if importlib.util.find_spec("mlcroissant") is None:
        pytest.skip("mlcroissant is not installed")
    assert "mlcroissant" not in sys.modules, "its cache (keyed by file path) could hold another run's shards"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CROISSANT_CACHE", str(tmp_path_factory.mktemp("croissant-cache")))
        import mlcroissant

        yield mlcroissant


def test_croissant_validates_and_reads_with_mlcroissant(ds, mlc):
    d = mlc.Dataset(jsonld=str(ds / "croissant.json"))  # raises on any validation error
    keys = [r["images/key"].decode() for r in d.records(record_set="images")]
    assert len(keys) == len(set(keys)) == 120 and all(re.match(r"^\d{6}_\d{8}$", k) for k in keys)


def test_croissant_samples_read_with_mlcroissant_equal_the_shard_records(ds, mlc):
    m = json.loads((ds / "manifest.json").read_text())
    raw = {x["__key__"]: x["json"] for s in m["shards"] for x in read_shard(ds / s["name"])}
    want = {k: json.loads(v) for k, v in raw.items()}
    d = mlc.Dataset(jsonld=str(ds / "croissant.json"))
    got = {r["sample-records/key"].decode(): r for r in d.records(record_set="sample-records")}
    assert len(got) == len(want) == 120 and set(got) == set(want)
    assert set(got) == {r["images/key"].decode() for r in d.records(record_set="images")}
    yaws = set()
    for key, r in got.items():
        assert r["sample-records/record"] == raw[key]  # the whole member, byte for byte
        rec = json.loads(r["sample-records/record"])
        assert r["sample-records/identity"] == want[key]["identity"]
        assert r["sample-records/sample"] == want[key]["sample"]
        assert rec["pose_deg"]["yaw"] == want[key]["pose_deg"]["yaw"]
        yaws.add(rec["pose_deg"]["yaw"])
    assert yaws == {-30.0, 0.0, 30.0}
    assert {r["sample-records/identity"] for r in got.values()} == set(range(5))


def test_mlcroissant_still_cannot_read_the_typed_samples(ds, mlc):
    """croissant.json says mlcroissant cannot read ``samples`` (jsonPath into JSON members of a tar
    FileSet). If this fails, mlcroissant has learnt to: drop the note from the descriptions of
    ``samples`` and ``sample-records``."""
    doc = json.loads((ds / "croissant.json").read_text())
    values = next(r for r in doc["recordSet"] if r["@id"] == "samples")
    assert "Not readable with mlcroissant" in values["description"]
    d = mlc.Dataset(jsonld=str(ds / "croissant.json"))
    with pytest.raises(mlc.GenerationError):
        next(iter(d.records(record_set="samples")))


def test_cli_datasheet(ds, tmp_path):
    r = CliRunner().invoke(datasheet_cmd, [str(ds), "--counts", "design"])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == [str(ds / "datasheet.md"), str(ds / "croissant.json")]
    assert "Counts computed exactly from the design" in (ds / "datasheet.md").read_text()
    write_datasheet(ds, counts="shards")  # leave the module fixture as it was
    r = CliRunner().invoke(datasheet_cmd, [str(tmp_path)])
    assert r.exit_code == 2 and "cannot read manifest" in r.output
    r = CliRunner().invoke(datasheet_cmd, [str(ds), "--preset", "mini"])
    assert r.exit_code == 2 and "one of them" in r.output
    r = CliRunner().invoke(datasheet_cmd, ["--preset", "nope"])
    assert r.exit_code == 2 and "'nope' does not exist" in r.output


def test_model_that_cannot_be_loaded_is_reported_not_guessed(ds, tmp_path):
    from facegen.datasets.datasheet import model_facts

    m = model_facts({"model": str(tmp_path / "gone.npz")}, {"name": "x", "version": "2", "sha256": "ab" * 32})
    assert m.genders is None and "could not be loaded" in m.note and m.sha256 == "ab" * 32
    text = datasheet_for_design(parse_config(json.loads((ds / "manifest.json").read_text())["config"]),
                                load_model_info=False)
    assert "Demographic groups.** Not determined: the model was not loaded" in text


def test_preset_datasheets_in_repo_are_current():
    mini = ROOT / "datasheets" / "mini.md"
    fix = "regenerate with: facegen datasheet --preset mini > datasheets/mini.md"
    assert mini.read_text() == datasheet_for_design(preset("mini")), fix
    r = CliRunner().invoke(datasheet_cmd, ["--preset", "mini"])
    assert r.exit_code == 0 and r.output == mini.read_text()
    releases = json.loads((ROOT / "facegen" / "datasets" / "releases.json").read_text())["releases"]
    for rel in releases:
        md = (ROOT / rel["datasheet"]).read_text()
        rows = {r[0]: r for r in _tables(md)["split | images | identities | shards"]}
        assert {s: _int(rows[s][1]) for s in rel["splits"]} == rel["splits"]
        assert _int(rows["total"][1]) == rel["samples"] == preset(rel["preset"]).n_samples


def test_croissant_of_a_dataset_made_before_render_exposure_declares_no_exposure_field(ds):
    """facegen < 0.4 wrote neither render.exposure nor light.exposure: the field is left out, so
    every declared path still resolves in that dataset's records."""
    from facegen.datasets.croissant import croissant_metadata

    m = json.loads((ds / "manifest.json").read_text())
    fields = lambda doc: {f["@id"] for r in doc["recordSet"] if r["@id"] == "samples"  # noqa: E731
                          for f in r["field"]}
    assert "samples/exposure" in fields(croissant_metadata(m))
    old = json.loads(json.dumps(m))
    del old["config"]["render"]["exposure"]
    assert "samples/exposure" not in fields(croissant_metadata(old))

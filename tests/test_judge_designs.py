"""scripts/judge_faces.py's designs are valid for models with and without factors (dlib itself is
not needed: the script is a benchmark, run by hand; see docs/judge-faces.md)."""
from __future__ import annotations

import dataclasses
import importlib.util
import math
import sys
from pathlib import Path

import pytest

from facegen.design import parse_config
from facegen.design.spec import ConfigError
from facegen.generate import check_design

sys.path.insert(0, str(Path(__file__).parent))
from synth import synthetic_model  # noqa: E402

_spec = importlib.util.spec_from_file_location("judge_faces", Path(__file__).parents[1] / "scripts" / "judge_faces.py")
judge = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(judge)


def test_designs_share_identities_and_pass_the_validator(embedded):
    ages = embedded.factors.age_range
    gal, prb = judge.designs("embedded", 6, 3, 64, 15, ["happy", "neutral"], ages)
    g, p = parse_config(gal), parse_config(prb)
    for cfg in (g, p):
        check_design(cfg, embedded)
    assert g.n_identities == p.n_identities == 6 and g.seed == p.seed
    assert g.base_age == p.base_age and g.base_age.support() == tuple(float(a) for a in ages)
    assert p.samples_per_identity == 3 and g.samples_per_identity == 1
    assert g.exposure == p.exposure == "face"     # photographs are exposed for the face
    assert parse_config(judge.designs("embedded", 6, 3, 64, 15, ["neutral"], ages, "fixed")[1]).exposure == "fixed"


def test_designs_without_factors_name_no_factor():
    m = dataclasses.replace(synthetic_model(), factors=None)
    for raw in judge.designs("synthetic", 4, 2, 64, 15, ["neutral"]):
        check_design(parse_config(raw), m)
    # with ages, the validator refuses them for this model: what the script avoids
    with pytest.raises(ConfigError, match="identities.base_age"):
        check_design(parse_config(judge.designs("synthetic", 4, 2, 64, 15, ["neutral"], (20.0, 70.0))[0]), m)


def test_report_marks_missing_labels_not_applicable():
    r = {"model": "x", "identities": 2, "per_identity": 1, "image_size": 64, "seconds": {"render": 0, "dlib": 0},
         "detection": {"pooled": 1.0}, "nme": 0.05, "nme_jaw": 0.07, "rank1": 0.9,
         "verification": {"balanced_accuracy": 0.7}, "labels": {},
         "distances": {"identities_within_threshold": 0.5, "same_mean": 0.3, "different_mean": 0.5,
                       "nearest_identity_median": 0.4}}
    text = judge.report(r)
    assert math.isnan(judge.TARGETS[1][1](r))
    assert "detection worst ethnicity" in text and "n/a" in text
    assert "NME                            0.050   target <= 0.06   ok" in text
    assert "rank-1                         0.900   target >= 0.97   MISSED" in text


def test_summary_over_seeds_gives_mean_range_and_whether_the_mean_meets_the_target():
    def fig(det, rank1):
        return {"detection": {"pooled": det, "ethnicity": {"a": det - 0.05, "b": 1.0}}, "nme": 0.05,
                "rank1": rank1, "verification": {"balanced_accuracy": 0.7},
                "distances": {"identities_within_threshold": 1.0}}
    s = judge.summarise([fig(0.96, 0.95), fig(0.93, 0.99)])
    assert s["detection pooled"] == pytest.approx({"mean": 0.945, "min": 0.93, "max": 0.96, "n": 2, "met": False})
    assert s["rank-1"]["mean"] == pytest.approx(0.97) and s["rank-1"]["met"]         # >= on the mean
    assert s["detection worst ethnicity"]["mean"] == pytest.approx(0.895) and not s["detection worst ethnicity"]["met"]
    # a model without ethnicity labels: that figure is left out, not averaged as NaN
    r = fig(0.99, 0.9)
    r["detection"].pop("ethnicity")
    assert "detection worst ethnicity" not in judge.summarise([r, r])
    text = judge.summary_report("m", [15, 16], s)
    assert "rank-1" in text and "[0.950, 0.990]" in text and "MISSED" in text


def test_region_shares_swap_one_part_and_keep_the_rest(embedded, monkeypatch):
    """With an 'embedding' that sees only the nose's vertices and albedo, the nose carries all of the
    distance between two people and the scalp none; shape alone and albedo alone split it."""
    import numpy as np

    nose = np.asarray(embedded.regions["nose"])

    def embedder(m, nets, size):
        return lambda v, a, **light: np.concatenate([np.asarray(v)[nose].ravel(), 100 * np.asarray(a)[nose].ravel()])

    monkeypatch.setattr(judge, "_embedder", embedder)
    r = judge.region_shares("embedded", 64, nets=None, pairs=2)
    s = r["shares"]
    assert r["pair_distance"] > 0
    assert s["nose"] == pytest.approx(1.0, abs=1e-6)
    assert s["scalp"] < 0.05 and s["ears and neck"] < 0.05
    assert 0.05 < s["shape only"] < 1.0 and 0.05 < s["albedo only"] < 1.0


def test_pair_distances_group_people_by_what_they_share():
    import numpy as np

    # four people on a line: a 0.0, b 0.5 (same gender and ethnicity as a, 30 years older),
    # c 1.0 (other gender), d 1.2 (other ethnicity); distances are the differences
    emb = np.array([[0.0], [0.5], [1.0], [1.2]]) * np.ones((1, 4)) / 2.0
    recs = [{"gender": "female", "ethnicity": "european", "age": 20.0},
            {"gender": "female", "ethnicity": "european", "age": 50.0},
            {"gender": "male", "ethnicity": "european", "age": 20.0},
            {"gender": "female", "ethnicity": "african", "age": 20.0}]
    out = judge.pair_distances(emb, recs)
    assert out["all"]["pairs"] == 6
    assert out["same gender and ethnicity"] == {"pairs": 1, "mean": 0.5, "over_threshold": 0.0}
    assert out["other gender"]["pairs"] == 2 and np.isclose(out["other gender"]["mean"], (1.0 + 0.5) / 2)
    assert out["other gender"]["over_threshold"] == 0.5                    # a-c is 1.0 apart, b-c 0.5
    assert out["other ethnicity"]["pairs"] == 2 and out["other gender and ethnicity"]["pairs"] == 1
    assert out["same gender and ethnicity, age gap 25-inf y"]["pairs"] == 1
    assert "same gender and ethnicity, age gap 0-10 y" not in out           # no such pair
    # a model without factor labels: only the pooled figure
    bare = judge.pair_distances(emb, [{"gender": None, "ethnicity": None, "age": None}] * 4)
    assert list(bare) == ["all"] and np.isclose(bare["all"]["mean"], np.mean([0.5, 1.0, 1.2, 0.5, 0.7, 0.2]))
